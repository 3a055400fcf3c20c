package api_test

import (
	"sync"
	"testing"
)

// TestAutoAllocatedTopology: a project asks for "a network" and gets one
// network with a subnet from each default pool, routed to the default
// external network; asking again returns the same; DELETE removes it.
func TestAutoAllocatedTopology(t *testing.T) {
	enginesWith(t, overlapping, func(t *testing.T, e *env) {
		const path = "/v2.0/auto-allocated-topology/"

		// Without a default external network the check fails, and
		// nothing is built.
		e.do(member1, "GET", path+"project-one?fields=dry-run", nil).
			fault(t, 409, "AutoAllocationFailure", "Deployment error: No default router:external network.")
		e.do(member1, "GET", path+"project-one", nil).
			fault(t, 409, "AutoAllocationFailure", "Deployment error: No default router:external network.")
		ext := e.createNetwork(admin, map[string]any{"name": "public", "router:external": true, "is_default": true})
		e.portSubnet(admin, ext["id"].(string), map[string]any{"cidr": "172.24.4.0/24"})
		// A second default external network is refused, as in Neutron.
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{
			"name": "public2", "router:external": true, "is_default": true}}).
			fault(t, 409, "DefaultExternalNetworkExists", "A default external network already exists: "+ext["id"].(string)+".")

		e.do(member1, "GET", path+"project-one?fields=dry-run", nil).
			fault(t, 409, "AutoAllocationFailure", "Deployment error: No default subnetpools defined.")
		e.spCreate(admin, map[string]any{"name": "default-v4", "prefixes": []string{"10.100.0.0/16"},
			"default_prefixlen": 26, "is_default": true, "shared": true})

		dry := e.do(member1, "GET", path+"project-one?fields=dry-run", nil).expect(t, 200).obj(t, "auto_allocated_topology")
		if dry["id"] != "dry-run=pass" || dry["tenant_id"] != "project-one" {
			t.Errorf("dry run = %v, want id dry-run=pass for project-one", dry)
		}
		if n := len(e.do(admin, "GET", "/v2.0/networks?name=auto_allocated_network", nil).expect(t, 200).list(t, "networks")); n != 0 {
			t.Fatalf("a dry run built %d networks", n)
		}

		// Concurrent first requests agree on one topology.
		var wg sync.WaitGroup
		got := make([]string, 4)
		for i := range got {
			wg.Go(func() {
				r := e.do(member1, "GET", path+"project-one", nil)
				if r.status == 200 {
					got[i], _ = r.obj(t, "auto_allocated_topology")["id"].(string)
				} else {
					t.Errorf("GET %d: status %d: %s", i, r.status, r.raw)
				}
			})
		}
		wg.Wait()
		netID := got[0]
		for i, id := range got {
			if id != netID || id == "" {
				t.Fatalf("request %d got network %q, request 0 %q", i, id, netID)
			}
		}
		nets := e.do(admin, "GET", "/v2.0/networks?name=auto_allocated_network", nil).expect(t, 200).list(t, "networks")
		if len(nets) != 1 || nets[0]["id"] != netID || nets[0]["project_id"] != "project-one" || nets[0]["admin_state_up"] != true {
			t.Fatalf("auto-allocated networks = %v, want one, up, of project-one with id %s", nets, netID)
		}
		subnets := e.do(admin, "GET", "/v2.0/subnets?network_id="+netID, nil).expect(t, 200).list(t, "subnets")
		if len(subnets) != 1 || subnets[0]["name"] != "auto_allocated_subnet_v4" || subnets[0]["cidr"] == nil {
			t.Fatalf("subnets = %v, want auto_allocated_subnet_v4 from the default pool", subnets)
		}
		routers := e.do(admin, "GET", "/v2.0/routers?name=auto_allocated_router", nil).expect(t, 200).list(t, "routers")
		if len(routers) != 1 || routers[0]["project_id"] != "project-one" {
			t.Fatalf("routers = %v, want one of project-one", routers)
		}
		if gw, _ := routers[0]["external_gateway_info"].(map[string]any); gw == nil || gw["network_id"] != ext["id"] {
			t.Errorf("router gateway = %v, want the default external network", routers[0]["external_gateway_info"])
		}
		ifaces := e.do(admin, "GET", "/v2.0/ports?device_owner=network:router_interface&network_id="+netID, nil).expect(t, 200).list(t, "ports")
		if len(ifaces) != 1 || ifaces[0]["device_id"] != routers[0]["id"] {
			t.Errorf("router interfaces on the network = %v", ifaces)
		}
		if again := e.do(member1, "GET", path+"project-one", nil).expect(t, 200).obj(t, "auto_allocated_topology"); again["id"] != netID {
			t.Errorf("second GET = %v, want network %s", again, netID)
		}
		// "None" is the caller's own project; another project's is not
		// the caller's to ask for.
		if own := e.do(member1, "GET", path+"None", nil).expect(t, 200).obj(t, "auto_allocated_topology"); own["id"] != netID {
			t.Errorf("GET None = %v, want network %s", own, netID)
		}
		e.do(member2, "GET", path+"project-one", nil).fault(t, 403, "NotAuthorized", "Not authorized.")
		e.do(member1, "GET", path+"project-one?fields=id", nil).fault(t, 400, "BadRequest", "Bad auto_allocate request: Unrecognized field.")
		e.do(member1, "GET", "/v2.0/auto-allocated-topology", nil).expect(t, 404)

		e.do(member1, "DELETE", path+"project-one", nil).expect(t, 204)
		for coll, q := range map[string]string{"networks": "name=auto_allocated_network",
			"routers": "name=auto_allocated_router", "subnets": "name=auto_allocated_subnet_v4"} {
			if left := e.do(admin, "GET", "/v2.0/"+coll+"?"+q, nil).expect(t, 200).list(t, coll); len(left) != 0 {
				t.Errorf("after DELETE, %s left: %v", coll, left)
			}
		}
		e.do(member1, "DELETE", path+"project-one", nil).expect(t, 204)
	})
}

// TestAutoAllocatedTopologyNeedsRouter: without the router service plugin
// the extension is not served, as in Neutron (it requires router).
func TestAutoAllocatedTopologyNeedsRouter(t *testing.T) {
	e := newEnv(t, "sqlite://", map[string]string{"DEFAULT.service_plugins": ""})
	e.do(admin, "GET", "/v2.0/auto-allocated-topology/x", nil).expect(t, 404)
	e.do(admin, "GET", "/v2.0/routers", nil).expect(t, 404)
	for _, ext := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
		switch ext["alias"] {
		case "router", "auto-allocated-topology", "segment", "floating-ip-port-forwarding", "l3_agent_scheduler":
			t.Errorf("extension %s listed without the plugin serving it", ext["alias"])
		}
	}
	if n := e.createNetwork(admin, map[string]any{"name": "n"}); n["is_default"] != nil {
		t.Errorf("network shows is_default = %v without auto-allocated-topology", n["is_default"])
	}
}
