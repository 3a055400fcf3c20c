package api_test

import (
	"fmt"
	"testing"
)

// l3Topology is an external network with a subnet and a project's
// network with a subnet: what most L3 tests start from.
type l3Topology struct {
	extNet, extSubnet string
	net, subnet       string
	subnetCIDR        string
}

// l3Setup creates the external network (as admin) and a private network
// and subnet owned by as.
func (e *env) l3Setup(as *caller, extCIDR, cidr string) l3Topology {
	e.t.Helper()
	ext := e.createNetwork(admin, map[string]any{"name": "public", "router:external": true})
	extSub := e.portSubnet(admin, ext["id"].(string), map[string]any{"cidr": extCIDR})
	net := e.createNetwork(as, map[string]any{"name": "private"})
	sub := e.portSubnet(as, net["id"].(string), map[string]any{"cidr": cidr})
	return l3Topology{extNet: ext["id"].(string), extSubnet: extSub["id"].(string),
		net: net["id"].(string), subnet: sub["id"].(string), subnetCIDR: cidr}
}

// overlapping lets subnets of different networks overlap, as router
// tests need.
var overlapping = map[string]string{"DEFAULT.allow_overlapping_ips": "true"}

func (e *env) routerCreate(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	if attrs == nil {
		attrs = map[string]any{}
	}
	return e.do(as, "POST", "/v2.0/routers", map[string]any{"router": attrs}).expect(e.t, 201).obj(e.t, "router")
}

func (e *env) routerAction(as *caller, id, action string, body any) *reply {
	e.t.Helper()
	return e.do(as, "PUT", "/v2.0/routers/"+id+"/"+action, body)
}

func TestRouterCreateShape(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.l3Setup(member1, "172.24.4.0/24", "10.0.0.0/24")
		r := e.routerCreate(member1, map[string]any{"name": "r1",
			"external_gateway_info": map[string]any{"network_id": top.extNet}})
		want := map[string]any{"name": "r1", "status": "ACTIVE", "admin_state_up": true, "project_id": "project-one",
			"tenant_id": "project-one", "description": "", "revision_number": float64(1)}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %v, want %v", k, r[k], v)
			}
		}
		for _, k := range []string{"id", "routes", "external_gateway_info", "availability_zone_hints",
			"availability_zones", "created_at", "updated_at"} {
			if _, ok := r[k]; !ok {
				t.Errorf("router has no %s: %v", k, r)
			}
		}
		// distributed and ha are admin-only attributes.
		for _, k := range []string{"distributed", "ha", "gw_port_id", "enable_snat"} {
			if _, ok := r[k]; ok {
				t.Errorf("member sees %s", k)
			}
		}
		gw := r["external_gateway_info"].(map[string]any)
		if gw["network_id"] != top.extNet || gw["enable_snat"] != true {
			t.Errorf("external_gateway_info = %v", gw)
		}
		ips := gw["external_fixed_ips"].([]any)
		if len(ips) != 1 || ips[0].(map[string]any)["subnet_id"] != top.extSubnet {
			t.Errorf("external_fixed_ips = %v", ips)
		}
		// The gateway port: owned by no project, device_owner router_gateway.
		ports := e.do(admin, "GET", "/v2.0/ports?device_id="+r["id"].(string), nil).expect(t, 200).list(t, "ports")
		if len(ports) != 1 || ports[0]["device_owner"] != "network:router_gateway" || ports[0]["project_id"] != "" {
			t.Fatalf("gateway ports = %v", ports)
		}
		// Admin sees the defaults of distributed and ha.
		got := e.do(admin, "GET", "/v2.0/routers/"+r["id"].(string), nil).expect(t, 200).obj(t, "router")
		if got["distributed"] != false || got["ha"] != false {
			t.Errorf("distributed/ha = %v/%v", got["distributed"], got["ha"])
		}
		// Clearing the gateway deletes its port.
		up := e.do(member1, "PUT", "/v2.0/routers/"+r["id"].(string), map[string]any{"router": map[string]any{
			"external_gateway_info": map[string]any{}}}).expect(t, 200).obj(t, "router")
		if up["external_gateway_info"] != nil {
			t.Errorf("gateway not cleared: %v", up["external_gateway_info"])
		}
		if n := len(e.do(admin, "GET", "/v2.0/ports?device_id="+r["id"].(string), nil).list(t, "ports")); n != 0 {
			t.Errorf("%d ports left after clearing the gateway", n)
		}
		e.do(member1, "DELETE", "/v2.0/routers/"+r["id"].(string), nil).expect(t, 204)
		e.do(member1, "GET", "/v2.0/routers/"+r["id"].(string), nil).fault(t, 404, "RouterNotFound", "could not be found")
	})
}

func TestRouterGatewayRefusals(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.l3Setup(member1, "172.24.5.0/24", "10.1.0.0/24")
		for _, tc := range []struct {
			name   string
			as     *caller
			gw     any
			status int
			typ    string
			msg    string
		}{
			{"not external", member1, map[string]any{"network_id": top.net}, 400, "BadRequest",
				"Network " + top.net + " is not an external network"},
			{"no such network", member1, map[string]any{"network_id": "5f7a6b7e-1f24-4c2e-9d9a-2f0c1b9a0001"}, 404,
				"NetworkNotFound", "could not be found"},
			{"no network_id", member1, map[string]any{"enable_snat": false}, 400, "HTTPBadRequest",
				"Expected keys: {'network_id'}"},
			{"unknown key", member1, map[string]any{"network_id": top.extNet, "foo": 1}, 400, "HTTPBadRequest",
				"Unexpected keys supplied: foo"},
			{"enable_snat needs admin", member1, map[string]any{"network_id": top.extNet, "enable_snat": false}, 403,
				"PolicyNotAuthorized", "external_gateway_info:enable_snat"},
			{"gateway IP", admin, map[string]any{"network_id": top.extNet,
				"external_fixed_ips": []any{map[string]any{"ip_address": "172.24.5.1"}}}, 400, "BadRequest",
				"External IP 172.24.5.1 is the same as the gateway IP"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.do(tc.as, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{
					"external_gateway_info": tc.gw}}).fault(t, tc.status, tc.typ, tc.msg)
			})
		}
		// An admin may choose the address and turn SNAT off.
		r := e.routerCreate(admin, map[string]any{"external_gateway_info": map[string]any{"network_id": top.extNet,
			"enable_snat": false, "external_fixed_ips": []any{map[string]any{"ip_address": "172.24.5.50"}}}})
		gw := r["external_gateway_info"].(map[string]any)
		ip := gw["external_fixed_ips"].([]any)[0].(map[string]any)["ip_address"]
		if gw["enable_snat"] != false || ip != "172.24.5.50" {
			t.Errorf("external_gateway_info = %v", gw)
		}
		// New addresses on the same network keep the gateway port.
		before := e.do(admin, "GET", "/v2.0/ports?device_owner=network:router_gateway&device_id="+r["id"].(string), nil).list(t, "ports")
		up := e.do(admin, "PUT", "/v2.0/routers/"+r["id"].(string), map[string]any{"router": map[string]any{
			"external_gateway_info": map[string]any{"network_id": top.extNet, "enable_snat": false,
				"external_fixed_ips": []any{map[string]any{"ip_address": "172.24.5.60"}}}}}).expect(t, 200).obj(t, "router")
		ips := up["external_gateway_info"].(map[string]any)["external_fixed_ips"].([]any)
		if len(ips) != 1 || ips[0].(map[string]any)["ip_address"] != "172.24.5.60" {
			t.Errorf("external_fixed_ips after update = %v", ips)
		}
		after := e.do(admin, "GET", "/v2.0/ports?device_owner=network:router_gateway&device_id="+r["id"].(string), nil).list(t, "ports")
		if len(before) != 1 || len(after) != 1 || before[0]["id"] != after[0]["id"] {
			t.Errorf("gateway port replaced: %v → %v", ids(before), ids(after))
		}
		// The old address is free again.
		e.portCreate(admin, top.extNet, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "172.24.5.50"}}})
	})
}

func TestRouterDistributedHAAdminOnly(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"distributed": true}}).
			fault(t, 403, "PolicyNotAuthorized", "create_router:distributed")
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"ha": true}}).
			fault(t, 403, "PolicyNotAuthorized", "create_router:ha")
		r := e.routerCreate(admin, map[string]any{"distributed": true, "ha": true,
			"availability_zone_hints": []string{"nova"}})
		if r["distributed"] != true || r["ha"] != true || fmt.Sprint(r["availability_zone_hints"]) != "[nova]" {
			t.Errorf("router = %v", r)
		}
		path := "/v2.0/routers/" + r["id"].(string)
		e.do(admin, "PUT", path, map[string]any{"router": map[string]any{"ha": false}}).
			fault(t, 400, "BadRequest", "Cannot change HA attribute of active routers")
		e.do(admin, "PUT", path, map[string]any{"router": map[string]any{"distributed": false}}).
			fault(t, 400, "BadRequest", "Cannot change the 'distributed' attribute of active routers")
		up := e.do(admin, "PUT", path, map[string]any{"router": map[string]any{"admin_state_up": false, "ha": false,
			"distributed": false}}).expect(t, 200).obj(t, "router")
		if up["ha"] != false || up["distributed"] != false {
			t.Errorf("after migration: %v", up)
		}
	})
}

func TestRouterInterfaces(t *testing.T) {
	enginesWith(t, overlapping, func(t *testing.T, e *env) {
		top := e.l3Setup(member1, "172.24.6.0/24", "10.2.0.0/24")
		r := e.routerCreate(member1, map[string]any{"name": "r"})
		rid := r["id"].(string)

		info := e.routerAction(member1, rid, "add_router_interface", map[string]any{"subnet_id": top.subnet}).
			expect(t, 200).body
		for _, k := range []string{"id", "tenant_id", "project_id", "port_id", "network_id", "subnet_id", "subnet_ids"} {
			if _, ok := info[k]; !ok {
				t.Errorf("interface info has no %s: %v", k, info)
			}
		}
		if info["id"] != rid || info["subnet_id"] != top.subnet || info["network_id"] != top.net || info["project_id"] != "project-one" {
			t.Errorf("interface info = %v", info)
		}
		port := e.do(member1, "GET", "/v2.0/ports/"+info["port_id"].(string), nil).expect(t, 200).obj(t, "port")
		if port["device_owner"] != "network:router_interface" || port["device_id"] != rid {
			t.Errorf("interface port = %v", port)
		}
		if ip := port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"]; ip != "10.2.0.1" {
			t.Errorf("interface address %v, want the gateway IP", ip)
		}
		if got := e.do(member1, "GET", "/v2.0/routers/"+rid, nil).obj(t, "router"); got["revision_number"].(float64) <= r["revision_number"].(float64) {
			t.Errorf("revision not bumped by an interface: %v", got["revision_number"])
		}

		// Refusals.
		other := e.createNetwork(member1, map[string]any{})
		overlap := e.portSubnet(member1, other["id"].(string), map[string]any{"cidr": "10.2.0.0/16"})
		noGW := e.portSubnet(member1, other["id"].(string), map[string]any{"cidr": "10.9.0.0/24", "gateway_ip": nil})
		used := e.portCreate(member1, top.net, map[string]any{"device_id": "vm-1"})
		free := e.portCreate(member1, other["id"].(string), map[string]any{"fixed_ips": []any{
			map[string]any{"subnet_id": overlap["id"]}}})
		for _, tc := range []struct {
			name   string
			action string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"neither", "add_router_interface", map[string]any{}, 400, "BadRequest", "Either subnet_id or port_id must be specified"},
			{"both", "add_router_interface", map[string]any{"subnet_id": top.subnet, "port_id": used["id"]}, 400, "BadRequest",
				"Cannot specify both subnet-id and port-id"},
			{"bad uuid", "add_router_interface", map[string]any{"subnet_id": "nope"}, 400, "BadRequest", "'nope' is not a valid UUID"},
			{"no gateway", "add_router_interface", map[string]any{"subnet_id": noGW["id"]}, 400, "BadRequest",
				"Subnet for router interface must have a gateway IP"},
			{"already attached", "add_router_interface", map[string]any{"subnet_id": top.subnet}, 400, "BadRequest",
				"Router already has a port on subnet " + top.subnet},
			{"overlap", "add_router_interface", map[string]any{"subnet_id": overlap["id"]}, 400, "BadRequest",
				"Cidr 10.2.0.0/16 of subnet " + overlap["id"].(string) + " overlaps with cidr 10.2.0.0/24 of subnet " + top.subnet},
			{"overlap by port", "add_router_interface", map[string]any{"port_id": free["id"]}, 400, "BadRequest", "overlaps with cidr"},
			{"port in use", "add_router_interface", map[string]any{"port_id": used["id"]}, 409, "PortInUse",
				"Port already has an attached device vm-1"},
			{"remove unknown subnet", "remove_router_interface", map[string]any{"subnet_id": noGW["id"]}, 404,
				"RouterInterfaceNotFoundForSubnet", "has no interface on subnet"},
			{"remove unknown port", "remove_router_interface", map[string]any{"port_id": used["id"]}, 404,
				"RouterInterfaceNotFound", "does not have an interface with id"},
			{"remove mismatch", "remove_router_interface", map[string]any{"port_id": info["port_id"], "subnet_id": noGW["id"]}, 400,
				"SubnetMismatchForPort", "does not match the requested subnet"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.routerAction(member1, rid, tc.action, tc.body).fault(t, tc.status, tc.typ, tc.msg)
			})
		}

		// Another project may not attach what it cannot see.
		r2 := e.routerCreate(member2, nil)["id"].(string)
		e.routerAction(member2, r2, "add_router_interface", map[string]any{"subnet_id": thirdFree(e, t)}).
			fault(t, 404, "SubnetNotFound", "could not be found")
		e.routerAction(member2, r2, "add_router_interface", map[string]any{"port_id": free["id"]}).
			fault(t, 404, "PortNotFound", "could not be found")

		// The router's ports are not deleted through the port API, and the
		// router is not deleted while it has interfaces.
		e.do(member1, "DELETE", "/v2.0/ports/"+info["port_id"].(string), nil).
			fault(t, 409, "ServicePortInUse", "cannot be deleted directly via the port API: has device owner network:router_interface")
		e.do(member1, "DELETE", "/v2.0/routers/"+rid, nil).fault(t, 409, "RouterInUse", "has ports still attached: "+info["port_id"].(string))
		e.do(member1, "DELETE", "/v2.0/subnets/"+top.subnet, nil).fault(t, 409, "SubnetInUse", "")
		e.do(member1, "DELETE", "/v2.0/networks/"+top.net, nil).fault(t, 409, "NetworkInUse", "")

		// A route through the interface keeps it attached.
		e.do(member1, "PUT", "/v2.0/routers/"+rid, map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "192.168.0.0/24", "nexthop": "10.2.0.10"}}}}).expect(t, 200)
		e.routerAction(member1, rid, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).
			fault(t, 409, "RouterInterfaceInUseByRoute", "required by one or more routes")
		e.do(member1, "PUT", "/v2.0/routers/"+rid, map[string]any{"router": map[string]any{"routes": nil}}).expect(t, 200)

		// Attach by port, then detach both ways.
		byPort := e.routerAction(member1, rid, "add_router_interface", map[string]any{"port_id": free["id"]})
		if byPort.status == 200 {
			t.Fatalf("overlapping port attached: %s", byPort.raw)
		}
		third := e.createNetwork(member1, map[string]any{})
		thirdSub := e.portSubnet(member1, third["id"].(string), map[string]any{"cidr": "10.3.0.0/24"})
		p3 := e.portCreate(member1, third["id"].(string), nil)
		info3 := e.routerAction(member1, rid, "add_router_interface", map[string]any{"port_id": p3["id"]}).expect(t, 200).body
		if info3["port_id"] != p3["id"] || info3["subnet_id"] != thirdSub["id"] {
			t.Errorf("interface by port = %v", info3)
		}
		p3got := e.do(member1, "GET", "/v2.0/ports/"+p3["id"].(string), nil).obj(t, "port")
		if p3got["device_owner"] != "network:router_interface" || p3got["device_id"] != rid {
			t.Errorf("attached port = %v", p3got)
		}
		out := e.routerAction(member1, rid, "remove_router_interface", map[string]any{"port_id": p3["id"]}).expect(t, 200).body
		if out["port_id"] != p3["id"] || fmt.Sprint(out["subnet_ids"]) != fmt.Sprint([]any{thirdSub["id"]}) {
			t.Errorf("removal info = %v", out)
		}
		e.do(member1, "GET", "/v2.0/ports/"+p3["id"].(string), nil).fault(t, 404, "PortNotFound", "")
		e.routerAction(member1, rid, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).expect(t, 200)
		e.do(member1, "GET", "/v2.0/ports/"+info["port_id"].(string), nil).fault(t, 404, "PortNotFound", "")
		e.do(member1, "DELETE", "/v2.0/routers/"+rid, nil).expect(t, 204)
	})
}

// thirdFree makes a subnet of project-one on a private network.
func thirdFree(e *env, t *testing.T) string {
	net := e.createNetwork(member1, map[string]any{})
	return e.portSubnet(member1, net["id"].(string), map[string]any{"cidr": "10.77.0.0/24"})["id"].(string)
}

func TestRouterRoutes(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.l3Setup(member1, "172.24.7.0/24", "10.4.0.0/24")
		rid := e.routerCreate(member1, nil)["id"].(string)
		e.routerAction(member1, rid, "add_router_interface", map[string]any{"subnet_id": top.subnet}).expect(t, 200)
		put := func(routes any) *reply {
			return e.do(member1, "PUT", "/v2.0/routers/"+rid, map[string]any{"router": map[string]any{"routes": routes}})
		}
		put([]any{map[string]any{"destination": "8.8.8.0/24", "nexthop": "10.5.0.1"}}).fault(t, 400, "InvalidRoutes",
			"Invalid format for routes: [{'destination': '8.8.8.0/24', 'nexthop': '10.5.0.1'}], the nexthop is not connected with router")
		put([]any{map[string]any{"destination": "8.8.8.0/24", "nexthop": "10.4.0.1"}}).fault(t, 400, "InvalidRoutes",
			"the nexthop is used by router")
		put([]any{map[string]any{"destination": "8.8.8.0/24"}}).fault(t, 400, "HTTPBadRequest", "Invalid input for routes")
		r := put([]any{map[string]any{"destination": "8.8.8.0/24", "nexthop": "10.4.0.5"}}).expect(t, 200).obj(t, "router")
		if fmt.Sprint(r["routes"]) != "[map[destination:8.8.8.0/24 nexthop:10.4.0.5]]" {
			t.Errorf("routes = %v", r["routes"])
		}
		// extraroute-atomic.
		add := e.routerAction(member1, rid, "add_extraroutes", map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "9.9.9.0/24", "nexthop": "10.4.0.6"},
			map[string]any{"destination": "8.8.8.0/24", "nexthop": "10.4.0.5"}}}}).expect(t, 200).obj(t, "router")
		if n := len(add["routes"].([]any)); n != 2 {
			t.Errorf("after add_extraroutes %d routes: %v", n, add["routes"])
		}
		rm := e.routerAction(member1, rid, "remove_extraroutes", map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "8.8.8.0/24", "nexthop": "10.4.0.5"},
			map[string]any{"destination": "1.1.1.0/24", "nexthop": "10.4.0.7"}}}}).expect(t, 200).obj(t, "router")
		if fmt.Sprint(rm["routes"]) != "[map[destination:9.9.9.0/24 nexthop:10.4.0.6]]" {
			t.Errorf("after remove_extraroutes: %v", rm["routes"])
		}
		if rm["revision_number"].(float64) <= r["revision_number"].(float64) {
			t.Errorf("revision not bumped: %v", rm["revision_number"])
		}
		e.routerAction(member1, rid, "add_extraroutes", map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "7.7.7.0/24", "nexthop": "192.0.2.1"}}}}).fault(t, 400, "InvalidRoutes", "not connected")
	})
}

func TestRouterQuotaAndRouteLimit(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.do(admin, "PUT", "/v2.0/quotas/project-two", map[string]any{"quota": map[string]any{"router": 1, "floatingip": 1}}).expect(t, 200)
		e.routerCreate(member2, nil)
		e.do(member2, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{}}).fault(t, 409, "OverQuota", "['router']")
		ext := e.createNetwork(admin, map[string]any{"router:external": true})
		e.portSubnet(admin, ext["id"].(string), map[string]any{"cidr": "192.0.2.0/24"})
		e.fipCreate(member2, map[string]any{"floating_network_id": ext["id"]}).expect(t, 201)
		e.fipCreate(member2, map[string]any{"floating_network_id": ext["id"]}).fault(t, 409, "OverQuota", "['floatingip']")
		usage := e.do(admin, "GET", "/v2.0/quotas/project-two/details", nil).expect(t, 200).obj(t, "quota")
		if fip := usage["floatingip"].(map[string]any); fip["used"] != float64(1) {
			t.Errorf("floatingip usage = %v", fip)
		}
	})
	t.Run("routes", func(t *testing.T) {
		e := newEnv(t, "sqlite:///"+t.TempDir()+"/n.sqlite", map[string]string{"quotas.quota_router_route": "1"})
		top := e.l3Setup(member1, "172.24.8.0/24", "10.6.0.0/24")
		rid := e.routerCreate(member1, nil)["id"].(string)
		e.routerAction(member1, rid, "add_router_interface", map[string]any{"subnet_id": top.subnet}).expect(t, 200)
		e.do(member1, "PUT", "/v2.0/routers/"+rid, map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "8.8.8.0/24", "nexthop": "10.6.0.5"},
			map[string]any{"destination": "9.9.9.0/24", "nexthop": "10.6.0.5"}}}}).fault(t, 409, "OverQuota", "router_route")
	})
}

func TestRouterExtensionsListed(t *testing.T) {
	e := newEnv(t, "sqlite:///"+t.TempDir()+"/n.sqlite", nil)
	exts := e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions")
	have := map[string]bool{}
	for _, x := range exts {
		have[x["alias"].(string)] = true
	}
	for _, alias := range []string{"router", "ext-gw-mode", "extraroute", "extraroute-atomic", "l3-ha", "dvr",
		"router_availability_zone", "fip-port-details", "floating-ip-port-forwarding", "expose-port-forwarding-in-fip",
		"floatingip-pools"} {
		if !have[alias] {
			t.Errorf("extension %s not listed", alias)
		}
	}
}

func TestRouterIPv6Prefixes(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{})
		nid := net["id"].(string)
		a := e.portSubnet(member1, nid, map[string]any{"ip_version": 6, "cidr": "2001:db8:1::/64"})["id"].(string)
		b := e.portSubnet(member1, nid, map[string]any{"ip_version": 6, "cidr": "2001:db8:2::/64"})["id"].(string)
		rid := e.routerCreate(member1, nil)["id"].(string)
		first := e.routerAction(member1, rid, "add_router_interface", map[string]any{"subnet_id": a}).expect(t, 200).body
		second := e.routerAction(member1, rid, "add_router_interface", map[string]any{"subnet_id": b}).expect(t, 200).body
		if first["port_id"] != second["port_id"] || fmt.Sprint(second["subnet_ids"]) != "["+b+"]" {
			t.Errorf("second prefix: %v (first %v)", second, first)
		}
		portPath := "/v2.0/ports/" + first["port_id"].(string)
		if n := len(e.do(member1, "GET", portPath, nil).obj(t, "port")["fixed_ips"].([]any)); n != 2 {
			t.Errorf("interface port has %d addresses, want 2", n)
		}
		// A second IPv6 port on the network is refused.
		extra := e.portCreate(member1, nid, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": a}}})
		e.routerAction(member1, rid, "add_router_interface", map[string]any{"port_id": extra["id"]}).
			fault(t, 400, "BadRequest", "Only one IPv6 port from the same network subnet can be connected to a router.")
		e.routerAction(member1, rid, "remove_router_interface", map[string]any{"subnet_id": a}).expect(t, 200)
		ips := e.do(member1, "GET", portPath, nil).expect(t, 200).obj(t, "port")["fixed_ips"].([]any)
		if len(ips) != 1 || ips[0].(map[string]any)["subnet_id"] != b {
			t.Errorf("after removing a prefix: %v", ips)
		}
		e.routerAction(member1, rid, "remove_router_interface", map[string]any{"subnet_id": b}).expect(t, 200)
		e.do(member1, "GET", portPath, nil).fault(t, 404, "PortNotFound", "")
	})
}
