package api_test

import (
	"path/filepath"
	"testing"
)

func (e *env) lipCreate(as *caller, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/local_ips", map[string]any{"local_ip": attrs})
}

func (e *env) lipAssocPath(lip string) string { return "/v2.0/local_ips/" + lip + "/port_associations" }

// TestLocalIPs drives the local_ip extension as neutron_tempest_plugin's
// test_local_ip does, and Neutron's validations.
func TestLocalIPs(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{})["id"].(string)
		e.portSubnet(member1, net, map[string]any{"cidr": "10.30.0.0/24"})
		port := e.portCreate(member1, net, nil)
		portIP := port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)

		// From a port of the project's.
		lip := e.lipCreate(member1, map[string]any{"name": "lip", "description": "d", "local_port_id": port["id"],
			"local_ip_address": portIP}).expect(t, 201).obj(t, "local_ip")
		want := map[string]any{"name": "lip", "description": "d", "local_port_id": port["id"], "network_id": net,
			"local_ip_address": portIP, "ip_mode": "translate", "project_id": "project-one", "tenant_id": "project-one",
			"revision_number": float64(0)}
		for k, v := range want {
			if lip[k] != v {
				t.Errorf("%s = %v, want %v", k, lip[k], v)
			}
		}
		for _, k := range []string{"created_at", "updated_at", "tags"} {
			if _, ok := lip[k]; !ok {
				t.Errorf("no %s in %v", k, lip)
			}
		}
		lid := lip["id"].(string)
		if got := e.do(member1, "PUT", "/v2.0/local_ips/"+lid, map[string]any{"local_ip": map[string]any{"name": "n2"}}).
			expect(t, 200).obj(t, "local_ip"); got["name"] != "n2" || got["revision_number"] != float64(1) {
			t.Errorf("updated = %v", got)
		}
		e.do(member1, "PUT", "/v2.0/local_ips/"+lid, map[string]any{"local_ip": map[string]any{"ip_mode": "passthrough"}}).expect(t, 400)
		if l := e.do(member1, "GET", "/v2.0/local_ips?name=n2", nil).expect(t, 200).list(t, "local_ips"); len(l) != 1 {
			t.Errorf("list by name: %v", l)
		}
		if l := e.do(member2, "GET", "/v2.0/local_ips", nil).expect(t, 200).list(t, "local_ips"); len(l) != 0 {
			t.Errorf("another project sees %v", l)
		}
		e.do(member2, "GET", "/v2.0/local_ips/"+lid, nil).fault(t, 404, "LocalIPNotFound", "Local IP "+lid+" could not be found.")

		// On a network: the local IP makes its own port.
		onNet := e.lipCreate(member1, map[string]any{"network_id": net, "ip_mode": "passthrough"}).expect(t, 201).obj(t, "local_ip")
		own := e.do(nil, "GET", "/v2.0/ports/"+onNet["local_port_id"].(string), nil).expect(t, 200).obj(t, "port")
		if own["device_owner"] != "network:local_ip" || own["device_id"] != onNet["id"] || own["status"] != "N/A" ||
			onNet["local_ip_address"] != own["fixed_ips"].([]any)[0].(map[string]any)["ip_address"] {
			t.Errorf("local IP %v, its port %v", onNet, own)
		}
		e.do(member1, "DELETE", "/v2.0/ports/"+own["id"].(string), nil).
			fault(t, 409, "ServicePortInUse", "cannot be deleted directly via the port API: still referenced by Local IPs.")
		fixed := e.lipCreate(member1, map[string]any{"network_id": net, "local_ip_address": "10.30.0.77"}).
			expect(t, 201).obj(t, "local_ip")
		if fixed["local_ip_address"] != "10.30.0.77" {
			t.Errorf("requested address: %v", fixed)
		}

		// Refusals.
		v6 := e.createNetwork(member1, map[string]any{})["id"].(string)
		e.portSubnet(member1, v6, map[string]any{"cidr": "fd00:30::/64", "ip_version": 6})
		two := e.portCreate(member1, net, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.30.0.10"},
			map[string]any{"ip_address": "10.30.0.11"}}})
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"neither", map[string]any{"name": "x"}, 400, "LocalIPPortOrNetworkRequired",
				"Either Port ID or Network ID must be specified for Local IP create."},
			{"no IPv4 subnet", map[string]any{"network_id": v6}, 400, "BadRequest",
				"Bad local_ip request: Network " + v6 + " does not contain any IPv4 subnet."},
			{"unknown port", map[string]any{"local_port_id": "7d2c5dd4-9a54-4b83-a04b-7b6b3a3a0b7e"}, 400, "BadRequest",
				"Port 7d2c5dd4-9a54-4b83-a04b-7b6b3a3a0b7e not found"},
			{"wrong address", map[string]any{"local_port_id": port["id"], "local_ip_address": "10.30.0.250"}, 400,
				"LocalIPRequestedIPNotFound", "does not have requested IP address: 10.30.0.250."},
			{"several addresses", map[string]any{"local_port_id": two["id"]}, 400, "LocalIPNoRequestedIP",
				"has several IPs, should specify exact IP address to use for Local IP."},
			{"bad mode", map[string]any{"network_id": net, "ip_mode": "nat"}, 400, "HTTPBadRequest", "nat is not in valid_values"},
			{"bad address", map[string]any{"network_id": net, "local_ip_address": "x"}, 400, "HTTPBadRequest", "local_ip_address"},
		} {
			t.Run(tc.name, func(t *testing.T) { e.lipCreate(member1, tc.body).fault(t, tc.status, tc.typ, tc.msg) })
		}
		// Another project's port is not found.
		e.lipCreate(member2, map[string]any{"local_port_id": port["id"]}).fault(t, 400, "BadRequest", "not found")

		// Associations, addressed by their fixed port.
		vm := e.portCreate(member1, net, nil)
		vmIP := vm["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		a := e.do(member1, "POST", e.lipAssocPath(lid), map[string]any{"port_association": map[string]any{
			"fixed_port_id": vm["id"]}}).expect(t, 201).obj(t, "port_association")
		wantA := map[string]any{"local_ip_id": lid, "fixed_port_id": vm["id"], "fixed_ip": vmIP,
			"local_ip_address": portIP, "host": ""}
		for k, v := range wantA {
			if a[k] != v {
				t.Errorf("association %s = %v, want %v", k, a[k], v)
			}
		}
		if len(a) != len(wantA) {
			t.Errorf("association shows %v", a)
		}
		if l := e.do(member1, "GET", e.lipAssocPath(lid), nil).expect(t, 200).list(t, "port_associations"); len(l) != 1 || l[0]["fixed_port_id"] != vm["id"] {
			t.Errorf("associations %v", l)
		}
		e.do(member1, "GET", e.lipAssocPath(lid)+"/"+vm["id"].(string), nil).expect(t, 200)
		e.do(member1, "POST", e.lipAssocPath(lid), map[string]any{"port_association": map[string]any{
			"fixed_port_id": two["id"]}}).fault(t, 400, "LocalIPNoRequestedIP", "has several IPs")
		e.do(member1, "POST", e.lipAssocPath(lid), map[string]any{"port_association": map[string]any{
			"fixed_port_id": two["id"], "fixed_ip": "10.30.0.11"}}).expect(t, 201)
		e.do(member1, "DELETE", "/v2.0/local_ips/"+lid, nil).
			fault(t, 409, "LocalIPInUse", "Local IP "+lid+" is still associated with one or more ports.")
		e.do(member2, "GET", e.lipAssocPath(lid), nil).fault(t, 404, "LocalIPNotFound", lid)

		// Deleting the fixed port deletes its association.
		e.do(member1, "DELETE", "/v2.0/ports/"+two["id"].(string), nil).expect(t, 204)
		e.do(member1, "DELETE", e.lipAssocPath(lid)+"/"+vm["id"].(string), nil).expect(t, 204)
		e.do(member1, "GET", e.lipAssocPath(lid)+"/"+vm["id"].(string), nil).
			fault(t, 404, "LocalIPAssociationNotFound", "Local IP "+lid+" association with port "+vm["id"].(string)+" could not be found.")
		e.do(member1, "DELETE", "/v2.0/local_ips/"+lid, nil).expect(t, 204)
		// The project's own port stays; the local IP's own port goes with it.
		e.do(member1, "GET", "/v2.0/ports/"+port["id"].(string), nil).expect(t, 200)
		e.do(member1, "DELETE", "/v2.0/local_ips/"+onNet["id"].(string), nil).expect(t, 204)
		e.do(nil, "GET", "/v2.0/ports/"+own["id"].(string), nil).expect(t, 404)
	})
}

// TestLocalIPPluginNotLoaded: without the local_ip service plugin its
// paths are not served and the extension is not listed.
func TestLocalIPPluginNotLoaded(t *testing.T) {
	e := newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), map[string]string{"DEFAULT.service_plugins": "router"})
	e.do(nil, "GET", "/v2.0/local_ips", nil).expect(t, 404)
	e.do(nil, "GET", "/v2.0/extensions/local_ip", nil).expect(t, 404)
}
