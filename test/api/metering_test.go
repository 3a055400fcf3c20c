package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

const (
	labelsPath = "/v2.0/metering/metering-labels"
	rulesPath  = "/v2.0/metering/metering-label-rules"
)

func (e *env) labelCreate(as *caller, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", labelsPath, map[string]any{"metering_label": attrs})
}

func (e *env) ruleCreate(as *caller, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", rulesPath, map[string]any{"metering_label_rule": attrs})
}

// TestMeteringLabels checks labels against Neutron's metering plugin:
// the shape, admin-only policy, validation and 404s.
func TestMeteringLabels(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		l := e.labelCreate(admin, map[string]any{"name": "web", "description": "d"}).expect(t, 201).obj(t, "metering_label")
		want := map[string]any{"name": "web", "description": "d", "shared": false,
			"project_id": "fake_project_id", "tenant_id": "fake_project_id"}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s = %v, want %v", k, l[k], v)
			}
		}
		for _, absent := range []string{"created_at", "revision_number", "tags"} {
			if _, ok := l[absent]; ok {
				t.Errorf("label shows %s: %v", absent, l)
			}
		}
		id := l["id"].(string)
		e.do(admin, "GET", labelsPath+"/"+id, nil).expect(t, 200)
		if got := e.do(admin, "GET", labelsPath+"?id=33", nil).expect(t, 200).list(t, "metering_labels"); len(got) != 0 {
			t.Errorf("filter id=33: %v", got)
		}
		if got := e.do(admin, "GET", labelsPath+"?id="+id, nil).expect(t, 200).list(t, "metering_labels"); len(got) != 1 {
			t.Errorf("filter by id: %v", got)
		}
		shared := e.labelCreate(admin, map[string]any{"name": "all", "shared": true}).expect(t, 201).obj(t, "metering_label")
		if shared["shared"] != true {
			t.Errorf("shared label: %v", shared)
		}
		if got := e.do(admin, "GET", labelsPath+"?shared=true", nil).expect(t, 200).list(t, "metering_labels"); len(got) != 1 {
			t.Errorf("filter shared: %v", got)
		}
		e.labelCreate(admin, map[string]any{"name": strings.Repeat("x", 256)}).fault(t, 400, "HTTPBadRequest", "exceeds maximum length of 255")
		e.labelCreate(admin, map[string]any{"name": strings.Repeat("x", 255)}).expect(t, 201)
		e.do(admin, "PUT", labelsPath+"/"+id, map[string]any{"metering_label": map[string]any{"name": "n"}}).expect(t, 400)

		// Admins only.
		e.labelCreate(member1, map[string]any{"name": "mine"}).expect(t, 403)
		if got := e.do(member1, "GET", labelsPath, nil).expect(t, 200).list(t, "metering_labels"); len(got) != 0 {
			t.Errorf("a member lists %d labels", len(got))
		}
		e.do(member1, "GET", labelsPath+"/"+id, nil).fault(t, 404, "MeteringLabelNotFound", "Metering label '"+id+"' does not exist.")
		e.do(member1, "DELETE", labelsPath+"/"+id, nil).expect(t, 404)

		e.do(admin, "DELETE", labelsPath+"/"+id, nil).expect(t, 204)
		e.do(admin, "GET", labelsPath+"/"+id, nil).fault(t, 404, "MeteringLabelNotFound", "does not exist")
		e.do(admin, "DELETE", labelsPath+"/"+id, nil).fault(t, 404, "MeteringLabelNotFound", "does not exist")
	})
}

// TestMeteringLabelRules checks rules: remote_ip_prefix against
// source/destination prefixes, overlaps, the label's existence, and that
// a label's rules go with it.
func TestMeteringLabelRules(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		label := e.labelCreate(admin, map[string]any{"name": "l"}).expect(t, 201).obj(t, "metering_label")["id"].(string)
		r := e.ruleCreate(admin, map[string]any{"metering_label_id": label, "direction": "ingress",
			"remote_ip_prefix": "10.0.0.0/24"}).expect(t, 201).obj(t, "metering_label_rule")
		want := map[string]any{"metering_label_id": label, "direction": "ingress", "excluded": false,
			"remote_ip_prefix": "10.0.0.0/24", "source_ip_prefix": nil, "destination_ip_prefix": nil}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %v, want %v", k, r[k], v)
			}
		}
		for _, hidden := range []string{"project_id", "tenant_id"} {
			if _, ok := r[hidden]; ok {
				t.Errorf("rule shows %s: %v", hidden, r)
			}
		}
		rid := r["id"].(string)
		// IPv6, and source/destination prefixes (kept as written).
		e.ruleCreate(admin, map[string]any{"metering_label_id": label, "direction": "ingress",
			"remote_ip_prefix": "fd02::/64"}).expect(t, 201)
		sd := e.ruleCreate(admin, map[string]any{"metering_label_id": label, "direction": "egress", "excluded": true,
			"source_ip_prefix": "10.1.0.5/24", "destination_ip_prefix": "192.0.2.0/24"}).expect(t, 201).obj(t, "metering_label_rule")
		if sd["source_ip_prefix"] != "10.1.0.5/24" || sd["remote_ip_prefix"] != nil || sd["excluded"] != true {
			t.Errorf("source/destination rule: %v", sd)
		}
		// Same prefix, other direction or excluded: no overlap.
		e.ruleCreate(admin, map[string]any{"metering_label_id": label, "direction": "egress",
			"remote_ip_prefix": "10.0.0.0/24"}).expect(t, 201)
		e.ruleCreate(admin, map[string]any{"metering_label_id": label, "direction": "ingress", "excluded": true,
			"remote_ip_prefix": "10.0.0.0/24"}).expect(t, 201)

		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"overlap", map[string]any{"metering_label_id": label, "direction": "ingress", "remote_ip_prefix": "10.0.0.128/25"},
				409, "MeteringLabelRuleOverlaps", "Metering label rule with remote_ip_prefix '10.0.0.128/25' overlaps another."},
			{"remote and source", map[string]any{"metering_label_id": label, "direction": "ingress", "remote_ip_prefix": "10.9.0.0/24",
				"source_ip_prefix": "10.8.0.0/24"}, 400, "Invalid", "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'."},
			{"no prefix", map[string]any{"metering_label_id": label, "direction": "ingress"}, 400, "Invalid",
				"You must define at least one of the following parameters"},
			{"bad prefix", map[string]any{"metering_label_id": label, "direction": "ingress", "destination_ip_prefix": "10.0.0.0/33"},
				400, "Invalid", "destination_ip_prefix: 10.0.0.0/33 is invalid ["},
			{"bad direction", map[string]any{"metering_label_id": label, "direction": "up", "remote_ip_prefix": "10.5.0.0/24"},
				400, "HTTPBadRequest", "up is not in valid_values"},
			{"no direction", map[string]any{"metering_label_id": label, "remote_ip_prefix": "10.5.0.0/24"},
				400, "HTTPBadRequest", "direction"},
			{"no label", map[string]any{"metering_label_id": "5a9c0c8e-3c43-4b57-a5b4-4f0d5b8f2b7e", "direction": "ingress",
				"remote_ip_prefix": "10.5.0.0/24"}, 404, "MeteringLabelNotFound", "Metering label '5a9c0c8e-3c43-4b57-a5b4-4f0d5b8f2b7e' does not exist."},
		} {
			t.Run(tc.name, func(t *testing.T) { e.ruleCreate(admin, tc.body).fault(t, tc.status, tc.typ, tc.msg) })
		}
		e.ruleCreate(member1, map[string]any{"metering_label_id": label, "direction": "ingress",
			"remote_ip_prefix": "10.6.0.0/24"}).expect(t, 403)

		if got := e.do(admin, "GET", rulesPath+"?direction=egress", nil).expect(t, 200).list(t, "metering_label_rules"); len(got) != 2 {
			t.Errorf("egress rules: %d", len(got))
		}
		if got := e.do(admin, "GET", rulesPath+"?id=33", nil).expect(t, 200).list(t, "metering_label_rules"); len(got) != 0 {
			t.Errorf("filter id=33: %v", got)
		}
		e.do(admin, "DELETE", rulesPath+"/"+rid, nil).expect(t, 204)
		e.do(admin, "GET", rulesPath+"/"+rid, nil).fault(t, 404, "MeteringLabelRuleNotFound", "Metering label rule '"+rid+"' does not exist.")
		// The rule gone, its prefix is free again.
		e.ruleCreate(admin, map[string]any{"metering_label_id": label, "direction": "ingress",
			"remote_ip_prefix": "10.0.0.128/25"}).expect(t, 201)

		e.do(admin, "DELETE", labelsPath+"/"+label, nil).expect(t, 204)
		if got := e.do(admin, "GET", rulesPath, nil).expect(t, 200).list(t, "metering_label_rules"); len(got) != 0 {
			t.Errorf("rules outlive their label: %v", got)
		}
	})
}

// TestMeteringSyncData checks get_sync_data_metering: a host's routers
// with their project's labels and every shared label, rules included;
// nothing for a router no label applies to or another host's.
func TestMeteringSyncData(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "meter-a", "", true)
		mine := e.routerCreate(member1, map[string]any{"name": "mine"})["id"].(string)
		theirs := e.routerCreate(member2, map[string]any{"name": "theirs"})["id"].(string)
		e.routerCreate(member1, map[string]any{"name": "down", "admin_state_up": false})
		own := e.labelCreate(admin, map[string]any{"name": "own", "tenant_id": "project-one"}).expect(t, 201).obj(t, "metering_label")["id"].(string)
		e.ruleCreate(admin, map[string]any{"metering_label_id": own, "direction": "egress",
			"destination_ip_prefix": "0.0.0.0/0"}).expect(t, 201)

		call := func(host string) []rpcapi.MeteringRouter {
			t.Helper()
			h := e.srv.RPC.Topics()[rpcapi.TopicMeteringPlugin][rpcapi.MethodGetSyncDataMetering]
			if h == nil {
				t.Fatal("get_sync_data_metering is not served")
			}
			out, err := h(context.Background(), json.RawMessage(`{"host":"`+host+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(out)
			var rs []rpcapi.MeteringRouter
			if err := json.Unmarshal(raw, &rs); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), `"_metering_labels"`) && len(rs) > 0 {
				t.Errorf("no _metering_labels key: %s", raw)
			}
			return rs
		}
		rs := call("meter-a")
		if len(rs) != 1 || rs[0].ID != mine || len(rs[0].Labels) != 1 || rs[0].Labels[0].ID != own ||
			len(rs[0].Labels[0].Rules) != 1 || *rs[0].Labels[0].Rules[0].DestinationIPPrefix != "0.0.0.0/0" {
			t.Fatalf("sync data = %+v", rs)
		}
		e.labelCreate(admin, map[string]any{"name": "all", "shared": true}).expect(t, 201)
		rs = call("meter-a")
		if len(rs) != 2 {
			t.Fatalf("with a shared label: %+v", rs)
		}
		for _, r := range rs {
			if n := len(r.Labels); (r.ID == mine && n != 2) || (r.ID == theirs && n != 1) {
				t.Errorf("router %s has %d labels", r.ID, n)
			}
		}
		if rs := call("elsewhere"); len(rs) != 0 {
			t.Errorf("a host without an L3 agent gets %+v", rs)
		}
	})
}

// TestMeteringNotServed: without the metering service plugin its paths
// are 404 and its extensions are not listed.
func TestMeteringNotServed(t *testing.T) {
	e := newEnv(t, "sqlite://", map[string]string{"DEFAULT.service_plugins": "router"})
	e.do(admin, "GET", labelsPath, nil).expect(t, 404)
	e.do(admin, "GET", "/v2.0/extensions/metering", nil).expect(t, 404)
	r := e.routerCreate(admin, nil)
	if _, ok := r["conntrack_helpers"]; ok {
		t.Errorf("router shows conntrack_helpers without the plugin: %v", r)
	}
	e.do(admin, "GET", "/v2.0/routers/"+r["id"].(string)+"/conntrack_helpers", nil).expect(t, 404)
}

func (e *env) cthPath(router string) string { return "/v2.0/routers/" + router + "/conntrack_helpers" }

// TestConntrackHelpers checks /routers/{id}/conntrack_helpers against
// Neutron's conntrack_helper plugin and the routers' conntrack_helpers.
func TestConntrackHelpers(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		router := e.routerCreate(member1, map[string]any{"name": "r"})
		if hs, ok := router["conntrack_helpers"].([]any); !ok || len(hs) != 0 {
			t.Errorf("new router's conntrack_helpers = %v", router["conntrack_helpers"])
		}
		rid := router["id"].(string)
		c := e.do(member1, "POST", e.cthPath(rid), map[string]any{"conntrack_helper": map[string]any{
			"protocol": "UDP", "port": 69, "helper": "tftp"}}).expect(t, 201).obj(t, "conntrack_helper")
		if c["protocol"] != "udp" || c["port"] != float64(69) || c["helper"] != "tftp" {
			t.Errorf("created %v", c)
		}
		for _, hidden := range []string{"project_id", "router_id", "tenant_id"} {
			if _, ok := c[hidden]; ok {
				t.Errorf("conntrack helper shows %s", hidden)
			}
		}
		id := c["id"].(string)
		e.do(member1, "POST", e.cthPath(rid), map[string]any{"conntrack_helper": map[string]any{
			"protocol": "tcp", "port": "21", "helper": "ftp"}}).expect(t, 201)
		got := e.do(member1, "GET", "/v2.0/routers/"+rid, nil).expect(t, 200).obj(t, "router")
		if hs, _ := got["conntrack_helpers"].([]any); len(hs) != 2 {
			t.Errorf("router shows %v", got["conntrack_helpers"])
		}
		upd := e.do(member1, "PUT", e.cthPath(rid)+"/"+id, map[string]any{"conntrack_helper": map[string]any{"port": 6969}}).
			expect(t, 200).obj(t, "conntrack_helper")
		if upd["port"] != float64(6969) || upd["helper"] != "tftp" {
			t.Errorf("updated %v", upd)
		}
		if l := e.do(member1, "GET", e.cthPath(rid)+"?helper=ftp", nil).expect(t, 200).list(t, "conntrack_helpers"); len(l) != 1 {
			t.Errorf("filter by helper: %v", l)
		}

		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"not allowed", map[string]any{"protocol": "tcp", "port": 80, "helper": "http"}, 400, "ConntrackHelperNotAllowed",
				"Conntrack Helper http is not allowed."},
			{"protocol", map[string]any{"protocol": "tcp", "port": 69, "helper": "tftp"}, 400, "InvalidProtocolForHelper",
				"Conntrack Helper tftp does not support: tcp. Supported protocols are: udp"},
			{"duplicate", map[string]any{"protocol": "tcp", "port": 21, "helper": "ftp"}, 400, "BadRequest",
				"A duplicate conntrack helper entry with same attributes already exists"},
			{"bad protocol", map[string]any{"protocol": "gre", "port": 21, "helper": "ftp"}, 400, "HTTPBadRequest", "gre is not in valid_values"},
			{"bad port", map[string]any{"protocol": "tcp", "port": 70000, "helper": "ftp"}, 400, "HTTPBadRequest", "'70000' is too large"},
			{"long helper", map[string]any{"protocol": "tcp", "port": 21, "helper": strings.Repeat("h", 65)}, 400, "HTTPBadRequest", "exceeds maximum length of 64"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.do(member1, "POST", e.cthPath(rid), map[string]any{"conntrack_helper": tc.body}).fault(t, tc.status, tc.typ, tc.msg)
			})
		}
		// Another project sees neither the router nor its helpers.
		e.do(member2, "GET", e.cthPath(rid), nil).fault(t, 404, "RouterNotFound", rid)
		e.do(member1, "GET", e.cthPath(rid)+"/"+id+"x", nil).expect(t, 404)

		e.do(member1, "DELETE", e.cthPath(rid)+"/"+id, nil).expect(t, 204)
		e.do(member1, "GET", e.cthPath(rid)+"/"+id, nil).fault(t, 404, "ConntrackHelperNotFound", "Conntrack Helper "+id+" could not be found.")
		// Helpers go with their router.
		e.do(member1, "DELETE", "/v2.0/routers/"+rid, nil).expect(t, 204)
		other := e.routerCreate(member1, nil)["id"].(string)
		if l := e.do(member1, "GET", e.cthPath(other), nil).expect(t, 200).list(t, "conntrack_helpers"); len(l) != 0 {
			t.Errorf("a new router lists %v", l)
		}
	})
}
