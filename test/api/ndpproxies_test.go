package api_test

import (
	"testing"
)

// ndpTopology is an external network whose IPv6 subnet comes from a pool
// in an address scope, a router with its gateway there and
// enable_ndp_proxy, and a private network in the same scope attached to
// the router.
type ndpTopology struct {
	scope, pool    string
	extNet, router string
	net, subnet    string
	port, portIP   string
	noScopeExtNet  string
}

func (e *env) ndpSetup(as *caller) ndpTopology {
	e.t.Helper()
	var top ndpTopology
	top.scope = e.spScope(as, map[string]any{"name": "as6", "ip_version": 6})["id"].(string)
	top.pool = e.spCreate(as, map[string]any{"name": "sp6", "address_scope_id": top.scope,
		"prefixes": []string{"2001:db8:100::/48"}, "default_prefixlen": 64})["id"].(string)
	top.extNet = e.createNetwork(admin, map[string]any{"name": "ext6", "router:external": true})["id"].(string)
	e.portSubnet(admin, top.extNet, map[string]any{"ip_version": 6, "subnetpool_id": top.pool, "cidr": "2001:db8:100:1::/64"})
	top.router = e.routerCreate(as, map[string]any{"name": "ndp", "enable_ndp_proxy": true,
		"external_gateway_info": map[string]any{"network_id": top.extNet}})["id"].(string)
	top.net = e.createNetwork(as, map[string]any{"name": "int6"})["id"].(string)
	top.subnet = e.portSubnet(as, top.net, map[string]any{"ip_version": 6, "subnetpool_id": top.pool,
		"cidr": "2001:db8:100:2::/64"})["id"].(string)
	e.routerAction(as, top.router, "add_router_interface", map[string]any{"subnet_id": top.subnet}).expect(e.t, 200)
	port := e.portCreate(as, top.net, nil)
	top.port = port["id"].(string)
	top.portIP = port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	top.noScopeExtNet = e.createNetwork(admin, map[string]any{"name": "ext6-noscope", "router:external": true})["id"].(string)
	e.portSubnet(admin, top.noScopeExtNet, map[string]any{"ip_version": 6, "cidr": "2001:db8:200::/64"})
	return top
}

func (e *env) ndpCreate(as *caller, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/ndp_proxies", map[string]any{"ndp_proxy": attrs})
}

func routerNDP(t *testing.T, e *env, as *caller, id string) any {
	t.Helper()
	return e.do(as, "GET", "/v2.0/routers/"+id, nil).expect(t, 200).obj(t, "router")["enable_ndp_proxy"]
}

// TestNDPProxies drives the l3-ndp-proxy and l3-ext-ndp-proxy extensions
// as neutron_tempest_plugin's test_ndp_proxy and test_ndp_proxy_negative
// do, with every refusal of Neutron's ndp_proxy plugin.
func TestNDPProxies(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.ndpSetup(member1)
		if got := routerNDP(t, e, member1, top.router); got != true {
			t.Fatalf("router enable_ndp_proxy = %v, want true", got)
		}

		// Lifecycle; the address defaults to the port's on the router's
		// subnet.
		np := e.ndpCreate(member1, map[string]any{"name": "np", "description": "d", "router_id": top.router,
			"port_id": top.port}).expect(t, 201).obj(t, "ndp_proxy")
		want := map[string]any{"name": "np", "description": "d", "router_id": top.router, "port_id": top.port,
			"ip_address": top.portIP, "project_id": "project-one", "tenant_id": "project-one", "revision_number": float64(0)}
		for k, v := range want {
			if np[k] != v {
				t.Errorf("%s = %v, want %v", k, np[k], v)
			}
		}
		for _, k := range []string{"id", "created_at", "updated_at", "tags"} {
			if _, ok := np[k]; !ok {
				t.Errorf("no %s in %v", k, np)
			}
		}
		id := np["id"].(string)
		if got := e.do(member1, "GET", "/v2.0/ndp_proxies/"+id, nil).expect(t, 200).obj(t, "ndp_proxy"); got["ip_address"] != top.portIP {
			t.Errorf("show = %v", got)
		}
		if l := e.do(member1, "GET", "/v2.0/ndp_proxies?router_id="+top.router, nil).expect(t, 200).list(t, "ndp_proxies"); len(l) != 1 {
			t.Errorf("list = %v", l)
		}
		if l := e.do(member2, "GET", "/v2.0/ndp_proxies", nil).expect(t, 200).list(t, "ndp_proxies"); len(l) != 0 {
			t.Errorf("another project sees %v", l)
		}
		e.do(member2, "GET", "/v2.0/ndp_proxies/"+id, nil).fault(t, 404, "NDPProxyNotFound", "NDP proxy "+id+" could not be found.")
		up := e.do(member1, "PUT", "/v2.0/ndp_proxies/"+id, map[string]any{"ndp_proxy": map[string]any{"name": "n2"}}).
			expect(t, 200).obj(t, "ndp_proxy")
		if up["name"] != "n2" || up["description"] != "d" || up["revision_number"] != float64(1) {
			t.Errorf("updated = %v", up)
		}
		e.do(member1, "PUT", "/v2.0/ndp_proxies/"+id, map[string]any{"ndp_proxy": map[string]any{"ip_address": top.portIP}}).expect(t, 400)

		// While it exists the router keeps its interface and gateway.
		e.routerAction(member1, top.router, "remove_router_interface", map[string]any{"subnet_id": top.subnet}).
			fault(t, 409, "RouterInterfaceInUseByNDPProxy", "Unable to remove subnet "+top.subnet+" from router "+top.router+
				", There are one or more ndp proxies still in use on the subnet.")
		e.do(member1, "PUT", "/v2.0/routers/"+top.router, map[string]any{"router": map[string]any{"external_gateway_info": map[string]any{}}}).
			fault(t, 409, "RouterGatewayInUseByNDPProxy", "Unable to unset external gateway of router "+top.router+
				", There are one or more ndp proxies still in use on the router.")
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": top.port}).
			fault(t, 409, "NeutronDbObjectDuplicateEntry", "Failed to create a duplicate NDPProxy")
		e.do(member1, "DELETE", "/v2.0/ndp_proxies/"+id, nil).expect(t, 204)
		e.do(member1, "GET", "/v2.0/ndp_proxies/"+id, nil).expect(t, 404)

		// Refusals of the proxy.
		v4 := e.portSubnet(member1, top.net, map[string]any{"cidr": "10.60.0.0/24"})["id"].(string)
		v4only := e.portCreate(member1, top.net, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": v4}}})["id"].(string)
		other := e.createNetwork(member1, map[string]any{})["id"].(string)
		e.portSubnet(member1, other, map[string]any{"ip_version": 6, "cidr": "2001:db8:300::/64"})
		otherPort := e.portCreate(member1, other, nil)["id"].(string)
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": otherPort}).
			fault(t, 409, "PortUnreachableRouter", "The port "+otherPort+" cannot reach the router "+top.router+" by IPv6 subnet.")
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": v4only}).
			fault(t, 400, "BadRequest", "Bad ndp_proxy request: Requested port "+v4only+" must allocate one IPv6 address at least.")
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": top.port, "ip_address": "2001:db8:100:2::dead"}).
			fault(t, 400, "InvalidAddress", "The address 2001:db8:100:2::dead is invalid, reason: This address not belong to the port "+top.port+".")
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": top.port, "ip_address": "not-an-ip"}).expect(t, 400)
		e.ndpCreate(member1, map[string]any{"router_id": top.router}).expect(t, 400)
		e.ndpCreate(member2, map[string]any{"router_id": top.router, "port_id": top.port}).expect(t, 404)

		// A private network in another address scope.
		scope2 := e.spScope(member1, map[string]any{"name": "as6b", "ip_version": 6})["id"].(string)
		pool2 := e.spCreate(member1, map[string]any{"name": "sp6b", "address_scope_id": scope2,
			"prefixes": []string{"2001:db8:400::/48"}, "default_prefixlen": 64})["id"].(string)
		net2 := e.createNetwork(member1, map[string]any{})["id"].(string)
		sub2 := e.portSubnet(member1, net2, map[string]any{"ip_version": 6, "subnetpool_id": pool2})["id"].(string)
		e.routerAction(member1, top.router, "add_router_interface", map[string]any{"subnet_id": sub2}).expect(t, 200)
		port2 := e.portCreate(member1, net2, nil)["id"].(string)
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": port2}).
			fault(t, 409, "AddressScopeConflict", "The IPv6 address scope "+top.scope+" of external network conflict with internal network's IPv6 address scope "+scope2+".")

		// Disabled on the router.
		setNDP := func(r string, body map[string]any) *reply {
			return e.do(member1, "PUT", "/v2.0/routers/"+r, map[string]any{"router": body})
		}
		setNDP(top.router, map[string]any{"enable_ndp_proxy": false}).expect(t, 200)
		if got := routerNDP(t, e, member1, top.router); got != false {
			t.Errorf("disabled router enable_ndp_proxy = %v", got)
		}
		e.ndpCreate(member1, map[string]any{"router_id": top.router, "port_id": top.port}).
			fault(t, 409, "RouterNDPProxyNotEnable", "The enable_ndp_proxy parameter of router "+top.router+" must be set as True while create ndp proxy entry on it.")

		// enable_ndp_proxy needs a gateway on a network with an IPv6
		// subnet in an address scope.
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"enable_ndp_proxy": true}}).
			fault(t, 409, "RouterGatewayNotValid", "The request body not contain external gateway information.")
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"enable_ndp_proxy": true,
			"external_gateway_info": map[string]any{"network_id": top.noScopeExtNet}}}).
			fault(t, 409, "RouterGatewayNotValid", "The external network "+top.noScopeExtNet+" don't support IPv6 ndp proxy")
		plain := e.routerCreate(member1, map[string]any{"external_gateway_info": map[string]any{"network_id": top.extNet}})
		if plain["enable_ndp_proxy"] != false {
			t.Errorf("router without enable_ndp_proxy: %v (enable_ndp_proxy_by_default is false)", plain["enable_ndp_proxy"])
		}
		setNDP(top.router, map[string]any{"enable_ndp_proxy": true, "external_gateway_info": map[string]any{}}).
			fault(t, 409, "RouterGatewayNotValid", "The router's external gateway will be unset.")
		setNDP(top.router, map[string]any{"external_gateway_info": map[string]any{}}).expect(t, 200)
		if got := routerNDP(t, e, member1, top.router); got != false {
			t.Errorf("router without a gateway: enable_ndp_proxy = %v", got)
		}
		setNDP(top.router, map[string]any{"enable_ndp_proxy": true}).
			fault(t, 409, "RouterGatewayNotValid", "The router has no external gateway or the external gateway port has no IPv6 address or IPv6 address scope.")
		setNDP(top.router, map[string]any{"enable_ndp_proxy": true, "external_gateway_info": map[string]any{"network_id": top.noScopeExtNet}}).
			expect(t, 409)
		setNDP(top.router, map[string]any{"enable_ndp_proxy": true, "external_gateway_info": map[string]any{"network_id": top.extNet}}).
			expect(t, 200)
		if got := routerNDP(t, e, member1, top.router); got != true {
			t.Errorf("re-enabled: enable_ndp_proxy = %v", got)
		}
	})
}

// TestNDPProxyByDefault: [DEFAULT] enable_ndp_proxy_by_default enables
// NDP proxies on new routers whose gateway's network supports them.
func TestNDPProxyByDefault(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.enable_ndp_proxy_by_default": "true"}, func(t *testing.T, e *env) {
		top := e.ndpSetup(member1)
		r := e.routerCreate(member1, map[string]any{"external_gateway_info": map[string]any{"network_id": top.extNet}})
		if r["enable_ndp_proxy"] != true {
			t.Errorf("gateway supporting NDP proxies: enable_ndp_proxy = %v", r["enable_ndp_proxy"])
		}
		r = e.routerCreate(member1, map[string]any{"external_gateway_info": map[string]any{"network_id": top.noScopeExtNet}})
		if r["enable_ndp_proxy"] != false {
			t.Errorf("gateway without an IPv6 address scope: enable_ndp_proxy = %v", r["enable_ndp_proxy"])
		}
		if r = e.routerCreate(member1, nil); r["enable_ndp_proxy"] != false {
			t.Errorf("no gateway: enable_ndp_proxy = %v", r["enable_ndp_proxy"])
		}
	})
}
