package api_test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// readerFixture makes one object of a resource in project-one and
// returns its member path ("/v2.0/networks/<id>").
type readerFixture func(e *env, t *testing.T) string

// readerFixtures create an object of every resource a project may change.
// TestReaderChangesNothing fails for a resource the API definitions make
// writable and this table does not cover, so a new resource cannot slip
// by untested.
var readerFixtures = map[string]readerFixture{
	"networks": func(e *env, t *testing.T) string {
		return "/v2.0/networks/" + e.createNetwork(member1, map[string]any{"name": "r-net"})["id"].(string)
	},
	"subnets": func(e *env, t *testing.T) string {
		n := e.createNetwork(member1, map[string]any{})["id"].(string)
		return "/v2.0/subnets/" + e.portSubnet(member1, n, map[string]any{"cidr": "10.91.0.0/24"})["id"].(string)
	},
	"ports": func(e *env, t *testing.T) string {
		n := e.createNetwork(member1, map[string]any{})["id"].(string)
		e.portSubnet(member1, n, map[string]any{"cidr": "10.92.0.0/24"})
		return "/v2.0/ports/" + e.portCreate(member1, n, map[string]any{"name": "r-port"})["id"].(string)
	},
	"subnetpools": func(e *env, t *testing.T) string {
		return "/v2.0/subnetpools/" + e.do(member1, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "r-pool", "prefixes": []string{"10.93.0.0/16"}, "default_prefixlen": 24}}).
			expect(t, 201).obj(t, "subnetpool")["id"].(string)
	},
	"address_scopes": func(e *env, t *testing.T) string {
		return "/v2.0/address-scopes/" + e.do(member1, "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{
			"name": "r-scope", "ip_version": 4}}).expect(t, 201).obj(t, "address_scope")["id"].(string)
	},
	"rbac_policies": func(e *env, t *testing.T) string {
		n := e.createNetwork(member1, map[string]any{})["id"].(string)
		return "/v2.0/rbac-policies/" + e.do(member1, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": n, "action": "access_as_shared", "target_tenant": "0c0ffee0000040008000000000000009"}}).
			expect(t, 201).obj(t, "rbac_policy")["id"].(string)
	},
	"security_groups": func(e *env, t *testing.T) string {
		return "/v2.0/security-groups/" + e.do(member1, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{
			"name": "r-sg"}}).expect(t, 201).obj(t, "security_group")["id"].(string)
	},
	"security_group_rules": func(e *env, t *testing.T) string {
		sg := e.do(member1, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{
			"name": "r-sg-rules"}}).expect(t, 201).obj(t, "security_group")["id"].(string)
		return "/v2.0/security-group-rules/" + e.do(member1, "POST", "/v2.0/security-group-rules", map[string]any{
			"security_group_rule": map[string]any{"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4",
				"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "description": "ssh"}}).
			expect(t, 201).obj(t, "security_group_rule")["id"].(string)
	},
	"routers": func(e *env, t *testing.T) string {
		return "/v2.0/routers/" + e.routerCreate(member1, map[string]any{"name": "r-router"})["id"].(string)
	},
	"floatingips": func(e *env, t *testing.T) string {
		top := e.fipSetup(member1, "172.24.91.0/24", "10.94.0.0/24")
		return "/v2.0/floatingips/" + e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).
			expect(t, 201).obj(t, "floatingip")["id"].(string)
	},
	"port_forwardings": func(e *env, t *testing.T) string {
		top := e.fipSetup(member1, "172.24.92.0/24", "10.95.0.0/24")
		fid := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).expect(t, 201).obj(t, "floatingip")["id"].(string)
		return e.pfPath(fid) + "/" + e.pfCreate(member1, fid, map[string]any{"protocol": "tcp", "external_port": 2222,
			"internal_port": 22, "internal_port_id": top.vmPort}).expect(t, 201).obj(t, "port_forwarding")["id"].(string)
	},
	"segments": func(e *env, t *testing.T) string {
		n := e.createNetwork(admin, map[string]any{"project_id": "project-one"})["id"].(string)
		segs := e.do(admin, "GET", "/v2.0/segments?network_id="+n, nil).expect(t, 200).list(t, "segments")
		if len(segs) != 1 {
			t.Fatalf("segments %v", segs)
		}
		return "/v2.0/segments/" + segs[0]["id"].(string)
	},
	"agents": func(e *env, t *testing.T) string {
		e.report("Linux bridge agent", "reader-host", "nova", true)
		return "/v2.0/agents/" + e.agentID("Linux bridge agent", "reader-host")
	},
}

// readerValues are values for writable attributes an admin's GET does
// not show (collection.attribute).
var readerValues = map[string]any{
	// A single-segment network shows provider:* rather than segments.
	"networks.segments": []any{map[string]any{"provider:network_type": "vxlan"}},
}

// readerActionBodies are plausible bodies of the member actions, so that
// a refusal is the policy's and not the body's.
func readerActionBodies(e *env, t *testing.T) map[string]any {
	n := e.createNetwork(member1, map[string]any{})["id"].(string)
	sub := e.portSubnet(member1, n, map[string]any{"cidr": "10.96.0.0/24"})["id"].(string)
	routes := map[string]any{"router": map[string]any{"routes": []any{map[string]any{"destination": "192.0.2.0/24", "nexthop": "10.96.0.9"}}}}
	return map[string]any{
		"add_router_interface":    map[string]any{"subnet_id": sub},
		"remove_router_interface": map[string]any{"subnet_id": sub},
		"add_extraroutes":         routes,
		"remove_extraroutes":      routes,
		"add_prefixes":            map[string]any{"prefixes": []string{"10.97.0.0/16"}},
		"remove_prefixes":         map[string]any{"prefixes": []string{"10.93.0.0/16"}},
	}
}

// TestReaderChangesNothing: a reader of the owning project cannot change
// any attribute of any resource, nor run a resource's actions, nor its
// tags, nor its project's quota. The resources and their writable
// attributes come from the API definitions (internal/apidef), not from a
// list here. Each attempt is refused (403 where the reader sees the
// object, 404 where it does not) and the object is exactly as before.
func TestReaderChangesNothing(t *testing.T) {
	// ML2 (for segments) with VNIs enough for every network made here.
	opts := map[string]string{"ml2_type_vxlan.vni_ranges": "1:100"}
	for k, v := range overlapping {
		opts[k] = v
	}
	ml2Engines(t, opts, func(t *testing.T, e *env) {
		e.srv.ML2.SetAgents(testAgents())
		enabled := map[string]bool{}
		for _, x := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
			enabled[x["alias"].(string)] = true
		}
		defs := apidef.Build()
		var collections []string
		for c, r := range defs {
			if !r.ReadOnly && (r.Extension == "" || enabled[r.Extension]) {
				collections = append(collections, c)
			}
		}
		sort.Strings(collections)
		bodies := readerActionBodies(e, t)
		tried := 0
		for _, c := range collections {
			r := defs[c]
			var attrs []*resource.Attr
			for _, a := range r.Attrs() {
				if a.AllowPut && (a.Extension == "" || enabled[a.Extension]) {
					attrs = append(attrs, a)
				}
			}
			if len(attrs) == 0 && len(r.Actions) == 0 {
				continue
			}
			fixture := readerFixtures[c]
			if fixture == nil {
				t.Errorf("%s has writable attributes %v but no fixture in readerFixtures", c, attrs)
				continue
			}
			member := fixture(e, t)
			before := e.do(admin, "GET", member, nil).expect(t, 200).obj(t, r.Name)
			visible := e.do(reader1, "GET", member, nil).status == 200
			refused := func(what string, rep *reply) {
				t.Helper()
				tried++
				want := 404
				if visible {
					want = 403
				}
				if rep.status != want {
					t.Errorf("%s %s as a reader: %d, want %d: %s", c, what, rep.status, want, rep.raw)
				}
				if after := e.do(admin, "GET", member, nil).expect(t, 200).obj(t, r.Name); !reflect.DeepEqual(after, before) {
					t.Errorf("%s %s as a reader changed it:\nbefore %v\nafter  %v", c, what, before, after)
				}
			}
			for _, a := range attrs {
				v, ok := before[a.Name]
				switch b, isBool := v.(bool); {
				case isBool:
					v = !b
				case a.Name == "name" || a.Name == "description":
					v = "changed by a reader"
				case !ok && readerValues[c+"."+a.Name] != nil:
					v = readerValues[c+"."+a.Name]
				case !ok:
					t.Errorf("%s: writable attribute %s is not shown to an admin; give the test a value for it", c, a.Name)
					continue
				}
				refused("update "+a.Name, e.do(reader1, "PUT", member, map[string]any{r.Name: map[string]any{a.Name: v}}))
			}
			for _, action := range r.Actions {
				body, ok := bodies[action]
				if !ok {
					t.Errorf("%s: action %s has no body in readerActionBodies", c, action)
					continue
				}
				refused(action, e.do(reader1, "PUT", member+"/"+action, body))
			}
			// Tags, where the resource has them (an admin can list them).
			if r.Standard && e.do(admin, "GET", member+"/tags", nil).status == 200 {
				refused("tags", e.do(reader1, "PUT", member+"/tags", map[string]any{"tags": []string{"reader"}}))
				refused("tag", e.do(reader1, "PUT", member+"/tags/reader", nil))
			}
		}
		// Quotas are not an apidef resource.
		e.do(reader1, "PUT", "/v2.0/quotas/project-one", map[string]any{"quota": map[string]any{"network": 1}}).
			fault(t, 403, "PolicyNotAuthorized", "update_quota")
		if tried < 50 {
			t.Errorf("only %d refusals tried: the enumeration found too little", tried)
		}
		for c := range readerFixtures {
			if !slices.Contains(collections, c) {
				t.Errorf("fixture for %s, which the server does not serve writable", c)
			}
		}
		t.Logf("%d refusals over %s", tried, strings.Join(collections, ", "))
	})
}
