package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// fipTopology is an l3Topology with a router between the two networks
// and a VM port on the private network.
type fipTopology struct {
	l3Topology
	router, vmPort, vmIP string
}

func (e *env) fipSetup(as *caller, extCIDR, cidr string) fipTopology {
	e.t.Helper()
	top := fipTopology{l3Topology: e.l3Setup(as, extCIDR, cidr)}
	top.router = e.routerCreate(as, map[string]any{"external_gateway_info": map[string]any{"network_id": top.extNet}})["id"].(string)
	e.routerAction(as, top.router, "add_router_interface", map[string]any{"subnet_id": top.subnet}).expect(e.t, 200)
	vm := e.portCreate(as, top.net, map[string]any{"device_id": "vm-1", "device_owner": "compute:nova"})
	top.vmPort = vm["id"].(string)
	top.vmIP = vm["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	return top
}

func (e *env) fipCreate(as *caller, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/floatingips", map[string]any{"floatingip": attrs})
}

func TestFloatingIPLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.fipSetup(member1, "172.24.10.0/24", "10.10.0.0/24")
		fip := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet, "description": "d"}).expect(t, 201).obj(t, "floatingip")
		want := map[string]any{"status": "DOWN", "router_id": nil, "port_id": nil, "fixed_ip_address": nil,
			"port_details": nil, "floating_network_id": top.extNet, "project_id": "project-one", "tenant_id": "project-one",
			"description": "d", "revision_number": float64(0)}
		for k, v := range want {
			if got, ok := fip[k]; !ok || got != v {
				t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
			}
		}
		if fmt.Sprint(fip["port_forwardings"]) != "[]" {
			t.Errorf("port_forwardings = %v", fip["port_forwardings"])
		}
		if _, ok := fip["subnet_id"]; ok {
			t.Errorf("subnet_id is input only: %v", fip)
		}
		id := fip["id"].(string)
		// The floating IP's port: owned by no project, device_id the floating IP.
		ports := e.do(admin, "GET", "/v2.0/ports?device_id="+id, nil).expect(t, 200).list(t, "ports")
		if len(ports) != 1 || ports[0]["device_owner"] != "network:floatingip" || ports[0]["project_id"] != "" ||
			ports[0]["status"] != "N/A" {
			t.Fatalf("floating IP ports = %v", ports)
		}
		e.do(member1, "DELETE", "/v2.0/ports/"+ports[0]["id"].(string), nil).fault(t, 404, "PortNotFound", "")
		e.do(admin, "DELETE", "/v2.0/ports/"+ports[0]["id"].(string), nil).fault(t, 409, "ServicePortInUse", "network:floatingip")

		// Associate.
		up := e.do(member1, "PUT", "/v2.0/floatingips/"+id, map[string]any{"floatingip": map[string]any{"port_id": top.vmPort}}).
			expect(t, 200).obj(t, "floatingip")
		if up["router_id"] != top.router || up["fixed_ip_address"] != top.vmIP || up["port_id"] != top.vmPort {
			t.Errorf("associated = %v", up)
		}
		pd, _ := up["port_details"].(map[string]any)
		if pd == nil || pd["device_id"] != "vm-1" || pd["device_owner"] != "compute:nova" || pd["network_id"] != top.net ||
			pd["status"] != "DOWN" || pd["admin_state_up"] != true {
			t.Errorf("port_details = %v", up["port_details"])
		}
		if up["revision_number"].(float64) != 1 {
			t.Errorf("revision_number = %v", up["revision_number"])
		}
		// The interface is now needed, and the gateway too.
		e.routerAction(member1, top.router, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).
			fault(t, 409, "RouterInterfaceInUseByFloatingIP", "required by one or more floating IPs")
		e.do(member1, "PUT", "/v2.0/routers/"+top.router, map[string]any{"router": map[string]any{"external_gateway_info": nil}}).
			fault(t, 409, "RouterExternalGatewayInUseByFloatingIp", "")
		// Filters.
		if got := e.do(member1, "GET", "/v2.0/floatingips?port_id="+top.vmPort, nil).expect(t, 200).list(t, "floatingips"); len(got) != 1 {
			t.Errorf("filter by port_id: %d", len(got))
		}
		// A fixed IP has one floating IP per external network.
		e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet, "port_id": top.vmPort}).
			fault(t, 409, "FloatingIPPortAlreadyAssociated", "as that fixed IP already has a floating IP on external network "+top.extNet)
		// Disassociate.
		down := e.do(member1, "PUT", "/v2.0/floatingips/"+id, map[string]any{"floatingip": map[string]any{"port_id": nil}}).
			expect(t, 200).obj(t, "floatingip")
		if down["router_id"] != nil || down["port_id"] != nil || down["fixed_ip_address"] != nil || down["port_details"] != nil {
			t.Errorf("disassociated = %v", down)
		}
		// An update of something else keeps the association; an empty
		// update clears it, as in Neutron.
		e.do(member1, "PUT", "/v2.0/floatingips/"+id, map[string]any{"floatingip": map[string]any{"port_id": top.vmPort}}).
			expect(t, 200)
		kept := e.do(member1, "PUT", "/v2.0/floatingips/"+id, map[string]any{"floatingip": map[string]any{"description": "d2"}}).
			expect(t, 200).obj(t, "floatingip")
		if kept["port_id"] != top.vmPort || kept["description"] != "d2" {
			t.Errorf("after a description update = %v", kept)
		}
		emptied := e.do(member1, "PUT", "/v2.0/floatingips/"+id, map[string]any{"floatingip": map[string]any{}}).
			expect(t, 200).obj(t, "floatingip")
		if emptied["router_id"] != nil || emptied["port_id"] != nil || emptied["fixed_ip_address"] != nil {
			t.Errorf("after an empty update = %v", emptied)
		}
		// Associate at create; deleting the port disassociates.
		fip2 := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet, "port_id": top.vmPort,
			"fixed_ip_address": top.vmIP}).expect(t, 201).obj(t, "floatingip")
		if fip2["router_id"] != top.router {
			t.Errorf("router_id = %v", fip2["router_id"])
		}
		e.do(member1, "DELETE", "/v2.0/ports/"+top.vmPort, nil).expect(t, 204)
		after := e.do(member1, "GET", "/v2.0/floatingips/"+fip2["id"].(string), nil).expect(t, 200).obj(t, "floatingip")
		if after["port_id"] != nil || after["router_id"] != nil {
			t.Errorf("after port delete = %v", after)
		}
		for _, f := range []string{id, fip2["id"].(string)} {
			e.do(member1, "DELETE", "/v2.0/floatingips/"+f, nil).expect(t, 204)
			e.do(member1, "GET", "/v2.0/floatingips/"+f, nil).fault(t, 404, "FloatingIPNotFound", "could not be found")
		}
		if n := len(e.do(admin, "GET", "/v2.0/ports?device_owner=network:floatingip", nil).list(t, "ports")); n != 0 {
			t.Errorf("%d floating IP ports left", n)
		}
		// Pools list the external IPv4 subnets.
		// Neutron's path has dashes, its collection key underscores; its
		// controller lookup takes underscores too.
		pools := e.do(member1, "GET", "/v2.0/floatingip-pools", nil).expect(t, 200).list(t, "floatingip_pools")
		e.do(member1, "GET", "/v2.0/floatingip_pools", nil).expect(t, 200)
		if len(pools) != 1 || pools[0]["subnet_id"] != top.extSubnet || pools[0]["cidr"] != "172.24.10.0/24" ||
			pools[0]["network_id"] != top.extNet || pools[0]["project_id"] != "project-one" {
			t.Errorf("pools = %v", pools)
		}
	})
}

func TestFloatingIPRefusals(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.fipSetup(member1, "172.24.11.0/24", "10.11.0.0/24")
		// A network unreachable from the external one.
		lone := e.createNetwork(member1, map[string]any{})
		e.portSubnet(member1, lone["id"].(string), map[string]any{"cidr": "10.12.0.0/24"})
		lonePort := e.portCreate(member1, lone["id"].(string), nil)
		two := e.portCreate(member1, top.net, map[string]any{"fixed_ips": []any{
			map[string]any{"ip_address": "10.11.0.50"}, map[string]any{"ip_address": "10.11.0.51"}}})
		otherPort := e.portCreate(admin, top.net, map[string]any{"project_id": "project-two"})
		ext6 := e.createNetwork(admin, map[string]any{"router:external": true})
		e.portSubnet(admin, ext6["id"].(string), map[string]any{"cidr": "2001:db8::/64", "ip_version": 6})
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"not external", map[string]any{"floating_network_id": top.net}, 400, "BadRequest",
				"Network " + top.net + " is not a valid external network"},
			{"no network", map[string]any{"floating_network_id": "5f7a6b7e-1f24-4c2e-9d9a-2f0c1b9a0002"}, 404, "NetworkNotFound", ""},
			{"no v4 subnet", map[string]any{"floating_network_id": ext6["id"]}, 400, "BadRequest", "does not contain any IPv4 subnet"},
			{"fixed ip without port", map[string]any{"floating_network_id": top.extNet, "fixed_ip_address": "10.11.0.5"}, 400,
				"BadRequest", "fixed_ip_address cannot be specified without a port_id"},
			{"unreachable", map[string]any{"floating_network_id": top.extNet, "port_id": lonePort["id"]}, 404,
				"ExternalGatewayForFloatingIPNotFound", "is not reachable from subnet"},
			{"several addresses", map[string]any{"floating_network_id": top.extNet, "port_id": two["id"]}, 400, "BadRequest",
				"has multiple fixed IPv4 addresses"},
			{"wrong address", map[string]any{"floating_network_id": top.extNet, "port_id": two["id"], "fixed_ip_address": "10.11.0.99"},
				400, "BadRequest", "does not have fixed ip 10.11.0.99"},
			{"other project's port", map[string]any{"floating_network_id": top.extNet, "port_id": otherPort["id"]}, 400, "BadRequest",
				"since that port is owned by a different project"},
			{"address needs admin", map[string]any{"floating_network_id": top.extNet, "floating_ip_address": "172.24.11.77"}, 403,
				"PolicyNotAuthorized", "create_floatingip:floating_ip_address"},
			{"bad address", map[string]any{"floating_network_id": top.extNet, "floating_ip_address": "nope"}, 400,
				"HTTPBadRequest", "'nope' is not a valid IP address"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.fipCreate(member1, tc.body).fault(t, tc.status, tc.typ, tc.msg)
			})
		}
		// With several addresses, naming one works; an admin chooses the
		// floating address.
		f := e.fipCreate(admin, map[string]any{"floating_network_id": top.extNet, "port_id": two["id"], "project_id": "project-one",
			"fixed_ip_address": "10.11.0.51", "floating_ip_address": "172.24.11.77"}).expect(t, 201).obj(t, "floatingip")
		if f["fixed_ip_address"] != "10.11.0.51" || f["floating_ip_address"] != "172.24.11.77" {
			t.Errorf("floating IP = %v", f)
		}
		e.fipCreate(admin, map[string]any{"floating_network_id": top.extNet, "floating_ip_address": "172.24.11.77"}).
			fault(t, 409, "IpAddressAlreadyAllocated", "172.24.11.77")
		// The associated address stays on its port.
		e.portUpdate(member1, two["id"].(string), map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.11.0.50"}}}).
			fault(t, 400, "BadRequest", "because its original fixed_ip has been associated to a floating ip")
		// Another project's port elsewhere is not found.
		e.fipCreate(member2, map[string]any{"floating_network_id": top.extNet, "port_id": top.vmPort}).
			fault(t, 404, "PortNotFound", top.vmPort)
		// Another project does not see it.
		e.do(member2, "GET", "/v2.0/floatingips/"+f["id"].(string), nil).fault(t, 404, "FloatingIPNotFound", "")
	})
}

// TestFloatingIPHammer takes every address of a small external subnet
// from many goroutines: no address twice, exhaustion is
// IpAddressGenerationFailure.
func TestFloatingIPHammer(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			servers := concurrencyEnvs(t, engine)
			e := servers[0]
			ext := e.createNetwork(admin, map[string]any{"router:external": true})
			// A /28 with the gateway: 13 addresses.
			e.portSubnet(admin, ext["id"].(string), map[string]any{"cidr": "198.51.100.0/28"})
			const workers, each = 8, 3
			var mu sync.Mutex
			seen := map[string]int{}
			var fails failures
			exhausted := 0
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					base := servers[w%len(servers)].url
					for i := 0; i < each; i++ {
						r := call(context.Background(), base, "POST", "/v2.0/floatingips",
							map[string]any{"floatingip": map[string]any{"floating_network_id": ext["id"]}})
						mu.Lock()
						switch {
						case r.status == http.StatusCreated:
							addr := r.body["floatingip"].(map[string]any)["floating_ip_address"].(string)
							seen[addr]++
						case r.status == http.StatusConflict && r.errType() == "IpAddressGenerationFailure":
							exhausted++
						default:
							fails.add("unexpected reply %s", r)
						}
						mu.Unlock()
					}
				}(w)
			}
			wg.Wait()
			fails.report(t)
			if len(seen) != 13 || exhausted != workers*each-13 {
				t.Errorf("%d addresses handed out, %d exhausted; want 13 and %d", len(seen), exhausted, workers*each-13)
			}
			for a, n := range seen {
				if n != 1 {
					t.Errorf("address %s handed out %d times", a, n)
				}
			}
		})
	}
}

// TestRouterInterfaceRace attaches one subnet to two routers at once: the
// subnet's gateway address goes to one interface, the other request gets
// IpAddressAlreadyAllocated, as in Neutron.
func TestRouterInterfaceRace(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			servers := concurrencyEnvs(t, engine)
			e := servers[0]
			for round := 0; round < 5; round++ {
				net := e.createNetwork(admin, map[string]any{})
				sub := e.portSubnet(admin, net["id"].(string), map[string]any{"cidr": fmt.Sprintf("10.%d.0.0/24", 100+round)})
				r1 := e.routerCreate(admin, nil)["id"].(string)
				r2 := e.routerCreate(admin, nil)["id"].(string)
				results := make([]raw, 2)
				var wg sync.WaitGroup
				for i, rid := range []string{r1, r2} {
					wg.Add(1)
					go func(i int, rid string) {
						defer wg.Done()
						results[i] = call(context.Background(), servers[i%len(servers)].url, "PUT",
							"/v2.0/routers/"+rid+"/add_router_interface", map[string]any{"subnet_id": sub["id"]})
					}(i, rid)
				}
				wg.Wait()
				ok, lost := 0, 0
				for _, r := range results {
					switch {
					case r.status == 200:
						ok++
					case r.status == 409 && r.errType() == "IpAddressAlreadyAllocated":
						lost++
					default:
						t.Errorf("unexpected reply %s", r)
					}
				}
				if ok != 1 || lost != 1 {
					t.Errorf("round %d: %d attached, %d refused", round, ok, lost)
				}
			}
		})
	}
}

func TestExternalNetworkWithL3(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.fipSetup(member1, "172.24.12.0/24", "10.13.0.0/24")
		// Gateways keep a network external and in use.
		e.do(admin, "PUT", "/v2.0/networks/"+top.extNet, map[string]any{"network": map[string]any{"router:external": false}}).
			fault(t, 409, "ExternalNetworkInUse", "cannot be updated to be made non-external, since it has existing gateway ports")
		e.do(admin, "DELETE", "/v2.0/networks/"+top.extNet, nil).fault(t, 409, "NetworkInUse", "")
		// An unassociated floating IP goes with its network; an associated
		// one keeps the network in use.
		ext := e.createNetwork(admin, map[string]any{"router:external": true})
		e.portSubnet(admin, ext["id"].(string), map[string]any{"cidr": "198.18.0.0/24"})
		loose := e.fipCreate(member1, map[string]any{"floating_network_id": ext["id"]}).expect(t, 201).obj(t, "floatingip")
		held := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet, "port_id": top.vmPort}).
			expect(t, 201).obj(t, "floatingip")
		e.do(admin, "DELETE", "/v2.0/networks/"+ext["id"].(string), nil).expect(t, 204)
		e.do(member1, "GET", "/v2.0/floatingips/"+loose["id"].(string), nil).fault(t, 404, "FloatingIPNotFound", "")
		e.do(member1, "GET", "/v2.0/floatingips/"+held["id"].(string), nil).expect(t, 200)
	})
}

func TestL3NetworkVisibility(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		private := e.createNetwork(member2, map[string]any{})
		e.portSubnet(member2, private["id"].(string), map[string]any{"cidr": "10.40.0.0/24"})
		mine := e.createNetwork(member1, map[string]any{})
		e.portSubnet(member1, mine["id"].(string), map[string]any{"cidr": "10.41.0.0/24"})
		// Another project's private network is not found; one's own
		// internal network is not external.
		e.fipCreate(member1, map[string]any{"floating_network_id": private["id"]}).fault(t, 404, "NetworkNotFound", "")
		e.fipCreate(member1, map[string]any{"floating_network_id": mine["id"]}).fault(t, 400, "BadRequest", "is not a valid external network")
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"external_gateway_info": map[string]any{
			"network_id": private["id"]}}}).fault(t, 404, "NetworkNotFound", "")
	})
}
