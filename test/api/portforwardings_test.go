package api_test

import (
	"testing"
)

func (e *env) pfPath(fip string) string { return "/v2.0/floatingips/" + fip + "/port_forwardings" }

func (e *env) pfCreate(as *caller, fip string, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", e.pfPath(fip), map[string]any{"port_forwarding": attrs})
}

func TestPortForwardings(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.fipSetup(member1, "172.24.20.0/24", "10.20.0.0/24")
		fip := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).expect(t, 201).obj(t, "floatingip")
		fid := fip["id"].(string)

		pf := e.pfCreate(member1, fid, map[string]any{"protocol": "TCP", "external_port": 2222, "internal_port": 22,
			"internal_port_id": top.vmPort, "description": "ssh"}).expect(t, 201).obj(t, "port_forwarding")
		want := map[string]any{"protocol": "tcp", "external_port": float64(2222), "internal_port": float64(22),
			"internal_port_id": top.vmPort, "internal_ip_address": top.vmIP, "description": "ssh",
			"external_port_range": "2222:2222", "internal_port_range": "22:22"}
		for k, v := range want {
			if pf[k] != v {
				t.Errorf("%s = %v, want %v", k, pf[k], v)
			}
		}
		for _, hidden := range []string{"project_id", "floatingip_id", "external_port_start"} {
			if _, ok := pf[hidden]; ok {
				t.Errorf("%s shown: %v", hidden, pf)
			}
		}
		pid := pf["id"].(string)
		// The floating IP now belongs to the router and shows the forwarding.
		got := e.do(member1, "GET", "/v2.0/floatingips/"+fid, nil).expect(t, 200).obj(t, "floatingip")
		if got["router_id"] != top.router || got["port_id"] != nil {
			t.Errorf("floating IP = %v", got)
		}
		if pfs, _ := got["port_forwardings"].([]any); len(pfs) != 1 || pfs[0].(map[string]any)["external_port"] != float64(2222) {
			t.Errorf("port_forwardings = %v", got["port_forwardings"])
		}
		// A range, N-N.
		rng := e.pfCreate(member1, fid, map[string]any{"protocol": "udp", "external_port_range": "5000:5010",
			"internal_port_range": "6000:6010", "internal_port_id": top.vmPort}).expect(t, 201).obj(t, "port_forwarding")
		if rng["external_port"] != nil || rng["external_port_range"] != "5000:5010" {
			t.Errorf("range forwarding = %v", rng)
		}
		list := e.do(member1, "GET", e.pfPath(fid), nil).expect(t, 200).list(t, "port_forwardings")
		if len(list) != 2 {
			t.Errorf("%d forwardings listed", len(list))
		}
		if l := e.do(member1, "GET", e.pfPath(fid)+"?protocol=udp", nil).expect(t, 200).list(t, "port_forwardings"); len(l) != 1 {
			t.Errorf("filter by protocol: %d", len(l))
		}
		e.do(member1, "GET", e.pfPath(fid)+"/"+pid, nil).expect(t, 200)

		// Refusals.
		other := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).expect(t, 201).obj(t, "floatingip")
		assoc := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).expect(t, 201).obj(t, "floatingip")
		vm2 := e.portCreate(member1, top.net, map[string]any{"device_id": "vm-2"})
		e.do(member1, "PUT", "/v2.0/floatingips/"+assoc["id"].(string), map[string]any{"floatingip": map[string]any{
			"port_id": vm2["id"]}}).expect(t, 200)
		lone := e.createNetwork(member1, map[string]any{})
		e.portSubnet(member1, lone["id"].(string), map[string]any{"cidr": "10.21.0.0/24"})
		lonePort := e.portCreate(member1, lone["id"].(string), nil)
		for _, tc := range []struct {
			name   string
			fip    string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"external collision", fid, map[string]any{"protocol": "tcp", "external_port": 2222, "internal_port": 80,
				"internal_port_id": top.vmPort}, 400, "BadRequest", "There is a port collision with the external_port_range"},
			{"range collision", fid, map[string]any{"protocol": "udp", "external_port": 5005, "internal_port": 7000,
				"internal_port_id": top.vmPort}, 400, "BadRequest", "The following ranges collide: 5000:5010 and 5005:5005"},
			{"internal collision", other["id"].(string), map[string]any{"protocol": "tcp", "external_port": 3333, "internal_port": 22,
				"internal_port_id": top.vmPort}, 400, "BadRequest", "There is a port collision with the internal_port_range"},
			{"bad relation", fid, map[string]any{"protocol": "tcp", "external_port_range": "100:110", "internal_port_range": "200:205",
				"internal_port_id": top.vmPort}, 400, "BadRequest", "must be N-N or 1-N"},
			{"bad address", fid, map[string]any{"protocol": "tcp", "external_port": 4444, "internal_port": 22,
				"internal_port_id": top.vmPort, "internal_ip_address": "10.20.0.250"}, 400, "BadRequest",
				"Requested internal IP address 10.20.0.250 is not suitable for internal neutron port"},
			{"associated fip", assoc["id"].(string), map[string]any{"protocol": "tcp", "external_port": 22, "internal_port": 22,
				"internal_port_id": top.vmPort}, 409, "FloatingIPPortAlreadyAssociated", ""},
			{"port with fip", other["id"].(string), map[string]any{"protocol": "tcp", "external_port": 22, "internal_port": 22,
				"internal_port_id": vm2["id"]}, 409, "PortHasBindingFloatingIP", "as that port already has a binding floating IP"},
			{"unreachable", other["id"].(string), map[string]any{"protocol": "tcp", "external_port": 22, "internal_port": 22,
				"internal_port_id": lonePort["id"]}, 400, "BadRequest", "is not reachable from subnet"},
			{"bad protocol", fid, map[string]any{"protocol": "icmp", "external_port": 22, "internal_port": 22,
				"internal_port_id": top.vmPort}, 400, "HTTPBadRequest", "icmp is not in valid_values"},
			{"port too big", fid, map[string]any{"protocol": "tcp", "external_port": 70000, "internal_port": 22,
				"internal_port_id": top.vmPort}, 400, "HTTPBadRequest", "must be no larger than '65535'"},
			{"no fip", "5f7a6b7e-1f24-4c2e-9d9a-2f0c1b9a0003", map[string]any{"protocol": "tcp", "external_port": 22,
				"internal_port": 22, "internal_port_id": top.vmPort}, 404, "FloatingIPNotFound", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.pfCreate(member1, tc.fip, tc.body).fault(t, tc.status, tc.typ, tc.msg)
			})
		}
		// A floating IP with forwardings is not associated or deleted.
		e.do(member1, "PUT", "/v2.0/floatingips/"+fid, map[string]any{"floatingip": map[string]any{"port_id": top.vmPort}}).
			fault(t, 409, "FipInUseByPortForwarding", "in use by Port Forwarding resources")
		e.do(member1, "DELETE", "/v2.0/floatingips/"+fid, nil).fault(t, 409, "FipInUseByPortForwarding", "")
		// Nor is the interface its forwardings reach removed.
		e.routerAction(member1, top.router, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).
			fault(t, 409, "RouterInterfaceInUseByFloatingIP", "")
		// Another project sees neither the floating IP nor its forwardings.
		e.do(member2, "GET", e.pfPath(fid), nil).fault(t, 404, "FloatingIPNotFound", "")
		e.pfCreate(member2, fid, map[string]any{"protocol": "tcp", "external_port": 9, "internal_port": 9,
			"internal_port_id": top.vmPort}).fault(t, 404, "FloatingIPNotFound", "")
		// A forwarding is found only under its own floating IP.
		e.do(member1, "GET", e.pfPath(other["id"].(string))+"/"+pid, nil).fault(t, 404, "PortForwardingNotFound", "")

		// Update.
		up := e.do(member1, "PUT", e.pfPath(fid)+"/"+pid, map[string]any{"port_forwarding": map[string]any{
			"external_port": 2223, "description": "ssh2"}}).expect(t, 200).obj(t, "port_forwarding")
		if up["external_port"] != float64(2223) || up["internal_port"] != float64(22) || up["description"] != "ssh2" {
			t.Errorf("updated = %v", up)
		}
		e.do(member1, "PUT", e.pfPath(fid)+"/"+pid, map[string]any{"port_forwarding": map[string]any{
			"external_port": 5001, "protocol": "udp"}}).fault(t, 400, "BadRequest", "port collision")

		// Delete; the last one gone, the floating IP leaves the router.
		e.do(member1, "DELETE", e.pfPath(fid)+"/"+pid, nil).expect(t, 204)
		e.do(member1, "GET", e.pfPath(fid)+"/"+pid, nil).fault(t, 404, "PortForwardingNotFound", "")
		e.do(member1, "DELETE", e.pfPath(fid)+"/"+rng["id"].(string), nil).expect(t, 204)
		if got := e.do(member1, "GET", "/v2.0/floatingips/"+fid, nil).obj(t, "floatingip"); got["router_id"] != nil {
			t.Errorf("router_id after the last forwarding = %v", got["router_id"])
		}
		e.do(member1, "DELETE", "/v2.0/floatingips/"+fid, nil).expect(t, 204)

		// Deleting the internal port removes its forwardings.
		f3 := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).expect(t, 201).obj(t, "floatingip")
		vm3 := e.portCreate(member1, top.net, map[string]any{"device_id": "vm-3"})
		e.pfCreate(member1, f3["id"].(string), map[string]any{"protocol": "tcp", "external_port": 80, "internal_port": 8080,
			"internal_port_id": vm3["id"]}).expect(t, 201)
		e.do(member1, "DELETE", "/v2.0/ports/"+vm3["id"].(string), nil).expect(t, 204)
		if l := e.do(member1, "GET", e.pfPath(f3["id"].(string)), nil).list(t, "port_forwardings"); len(l) != 0 {
			t.Errorf("%d forwardings left after their port", len(l))
		}
	})
}

// TestPortForwardingKeepsRouterInterface: a port forwarding alone (its
// floating IP associated with no port) keeps the router interface its
// internal port is reached through; once it is gone the interface goes.
func TestPortForwardingKeepsRouterInterface(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.fipSetup(member1, "172.24.30.0/24", "10.30.0.0/24")
		fid := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet}).expect(t, 201).obj(t, "floatingip")["id"].(string)
		pid := e.pfCreate(member1, fid, map[string]any{"protocol": "tcp", "external_port": 2222, "internal_port": 22,
			"internal_port_id": top.vmPort}).expect(t, 201).obj(t, "port_forwarding")["id"].(string)
		// No floating IP is associated with a port: only the forwarding
		// can hold the interface.
		for _, f := range e.do(member1, "GET", "/v2.0/floatingips", nil).expect(t, 200).list(t, "floatingips") {
			if f["port_id"] != nil {
				t.Fatalf("floating IP %v is associated with a port", f["id"])
			}
		}
		e.routerAction(member1, top.router, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).
			fault(t, 409, "RouterInterfaceInUseByFloatingIP", "")
		e.do(member1, "DELETE", e.pfPath(fid)+"/"+pid, nil).expect(t, 204)
		e.routerAction(member1, top.router, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).expect(t, 200)
	})
}
