package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// l3Call calls one of the L3 agents' RPC methods the way the bus
// delivers it (JSON keyword arguments) and returns the JSON answer.
func (e *env) l3Call(method string, args any) (map[string]any, []any, error) {
	e.t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		e.t.Fatal(err)
	}
	h := e.srv.RPC.Topics()[rpcapi.TopicL3Plugin][method]
	if h == nil {
		e.t.Fatalf("no %s handler", method)
	}
	out, err := h(context.Background(), raw)
	if err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	var l []any
	if strings.HasPrefix(string(b), "[") {
		err = json.Unmarshal(b, &l)
	} else if strings.HasPrefix(string(b), "{") {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return m, l, nil
}

// TestL3AgentRPC checks the L3 agents' calls against Neutron's
// l3_rpc.py: sync_routers returns only the asking host's routers and
// binds their ports to that host (_ensure_host_set_on_ports), the
// payload's subnets carry Neutron's keys with nulls, routers_updated is
// cast to the hosting agent's host, and get_host_ha_router_count answers.
func TestL3AgentRPC(t *testing.T) {
	enginesWith(t, map[string]string{"ml2.mechanism_drivers": "linuxbridge"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeLinuxBridge, "l3-a", "", true)
		e.report(rpcapi.AgentTypeL3, "l3-a", "", true)
		ext := e.createNetwork(admin, map[string]any{"router:external": true})["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "198.51.100.0/24", "ip_version": 4}}).expect(t, 201)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "2001:db8:e::/64", "ip_version": 6}}).expect(t, 201)
		net := e.createNetwork(admin, map[string]any{"name": "inside"})["id"].(string)
		sub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net,
			"cidr": "10.77.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
			"external_gateway_info": map[string]any{"network_id": ext}}}).expect(t, 201).obj(t, "router")["id"].(string)
		e.do(admin, "PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": sub}).expect(t, 200)
		down := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "down",
			"admin_state_up": false}}).expect(t, 201).obj(t, "router")["id"].(string)

		// Another host's L3 agent sees none of them, even by id.
		e.report(rpcapi.AgentTypeL3, "l3-b", "", true)
		if _, l, err := e.l3Call("sync_routers", map[string]any{"host": "l3-b", "router_ids": []string{router}}); err != nil || len(l) != 0 {
			t.Errorf("sync_routers from another host: %v, %v", l, err)
		}
		if _, _, err := e.l3Call("sync_routers", map[string]any{"host": "nowhere"}); err == nil {
			t.Error("sync_routers from a host without an L3 agent: no error")
		} else if !fault.Is(err, "AgentNotFoundByTypeHost") {
			t.Errorf("sync_routers from a host without an L3 agent: %v", err)
		}

		_, l, err := e.l3Call("sync_routers", map[string]any{"host": "l3-a"})
		if err != nil {
			t.Fatal(err)
		}
		// A subnet from a pool of an address scope shows the scope (the
		// agent routes such subnets out without NAT).
		scope := e.do(admin, "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{
			"name": "s", "ip_version": 4, "shared": true}}).expect(t, 201).obj(t, "address_scope")["id"].(string)
		pool := e.do(admin, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{"name": "p",
			"prefixes": []string{"10.200.0.0/16"}, "default_prefixlen": 24, "address_scope_id": scope}}).expect(t, 201).obj(t, "subnetpool")["id"].(string)
		scoped := e.createNetwork(admin, map[string]any{"name": "scoped"})["id"].(string)
		scopedSub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": scoped,
			"subnetpool_id": pool, "ip_version": 4}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		e.do(admin, "PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": scopedSub}).expect(t, 200)
		_, byID, err := e.l3Call("sync_routers", map[string]any{"host": "l3-a", "router_ids": []string{router}})
		if err != nil || len(byID) != 1 {
			t.Fatalf("sync_routers by id: %v, %v", byID, err)
		}
		found := false
		for _, it := range byID[0].(map[string]any)["_interfaces"].([]any) {
			port := it.(map[string]any)
			if port["network_id"] != scoped {
				continue
			}
			found = true
			if sc := port["address_scopes"].(map[string]any); sc["4"] != scope || sc["6"] != nil {
				t.Errorf("address_scopes of the scoped interface: %v, want 4: %s", sc, scope)
			}
			if sub := port["subnets"].([]any)[0].(map[string]any); sub["subnetpool_id"] != pool {
				t.Errorf("subnetpool_id of the scoped subnet: %v", sub["subnetpool_id"])
			}
		}
		if !found {
			t.Error("no interface on the scoped network")
		}
		e.do(admin, "PUT", "/v2.0/routers/"+router+"/remove_router_interface", map[string]any{"subnet_id": scopedSub}).expect(t, 200)

		// The admin-down router is scheduled here but not synced.
		if hosted, _ := e.srv.Agents.HostedRouterIDs(context.Background(), "l3-a", nil); !slices.Contains(hosted, down) {
			t.Errorf("router %s not hosted on l3-a: %v", down, hosted)
		}
		if len(l) != 1 {
			t.Fatalf("sync_routers: %d routers, want 1: %v", len(l), l)
		}
		r := l[0].(map[string]any)
		gw := r["gw_port"].(map[string]any)
		ifaces := r["_interfaces"].([]any)
		if r["id"] != router || len(ifaces) != 1 || r["gw_port_id"] != gw["id"] {
			t.Fatalf("router payload: %v", r)
		}
		iface := ifaces[0].(map[string]any)
		for _, port := range []map[string]any{gw, iface} {
			if port["binding:host_id"] != "l3-a" {
				t.Errorf("port %s of the router bound to %q, want l3-a", port["id"], port["binding:host_id"])
			}
			scopes, ok := port["address_scopes"].(map[string]any)
			if !ok || len(scopes) != 2 || scopes["4"] != nil || scopes["6"] != nil {
				t.Errorf("address_scopes of %s: %v", port["id"], port["address_scopes"])
			}
			if _, ok := port["extra_subnets"].([]any); !ok {
				t.Errorf("no extra_subnets on %s", port["id"])
			}
			for _, s := range port["subnets"].([]any) {
				sm := s.(map[string]any)
				for _, k := range []string{"ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "gateway_ip", "dns_nameservers", "cidr", "id"} {
					if _, ok := sm[k]; !ok {
						t.Errorf("subnet %v lacks %s", sm["id"], k)
					}
				}
				if sm["ipv6_ra_mode"] != nil || sm["ipv6_address_mode"] != nil || sm["subnetpool_id"] != nil {
					t.Errorf("subnet %v: IPv6 modes and pool should be null", sm)
				}
			}
		}
		// The gateway holds one address per external subnet; an IPv4-only
		// gateway would show the IPv6 subnet as extra.
		if n := len(gw["subnets"].([]any)) + len(gw["extra_subnets"].([]any)); n != 2 {
			t.Errorf("gateway port subnets: %v extra %v", gw["subnets"], gw["extra_subnets"])
		}
		// ML2 bound them: the API shows the host and a bound vif_type.
		p := e.do(admin, "GET", "/v2.0/ports/"+iface["id"].(string), nil).expect(t, 200).obj(t, "port")
		if p["binding:host_id"] != "l3-a" || p["binding:vif_type"] != "bridge" {
			t.Errorf("interface port after sync: host %v vif_type %v", p["binding:host_id"], p["binding:vif_type"])
		}

		// Moved to another agent, the router's ports follow it on that
		// agent's first sync (Neutron binds them again on reschedule).
		e.report(rpcapi.AgentTypeLinuxBridge, "l3-b", "", true)
		e.do(admin, "DELETE", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "l3-a")+"/l3-routers/"+router, nil).expect(t, 204)
		e.do(admin, "POST", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "l3-b")+"/l3-routers", map[string]any{"router_id": router}).expect(t, 201)
		if _, l, err := e.l3Call("sync_routers", map[string]any{"host": "l3-a", "router_ids": []string{router}}); err != nil || len(l) != 0 {
			t.Errorf("the old host still syncs the router: %v, %v", l, err)
		}
		if _, l, err := e.l3Call("sync_routers", map[string]any{"host": "l3-b", "router_ids": []string{router}}); err != nil || len(l) != 1 {
			t.Fatalf("sync_routers on the new host: %v, %v", l, err)
		}
		for _, id := range []string{iface["id"].(string), gw["id"].(string)} {
			if p := e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port"); p["binding:host_id"] != "l3-b" {
				t.Errorf("port %s bound to %v after the move, want l3-b", id, p["binding:host_id"])
			}
		}
		e.do(admin, "DELETE", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "l3-b")+"/l3-routers/"+router, nil).expect(t, 204)
		e.do(admin, "POST", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "l3-a")+"/l3-routers", map[string]any{"router_id": router}).expect(t, 201)

		// routers_updated goes to the hosting agent's host only.
		before := e.outboxCount(`%"method":"routers_updated"%` + router + `%`)
		e.do(admin, "PUT", "/v2.0/routers/"+router, map[string]any{"router": map[string]any{"name": "r2"}}).expect(t, 200)
		if n := e.outboxCount(`%"topic":"l3_agent.l3-a","method":"routers_updated"%` + router + `%`); n != before+1 {
			t.Errorf("%d routers_updated cast to l3_agent.l3-a, want %d", n, before+1)
		}
		if n := e.outboxCount(`%"topic":"l3_agent","method":"routers_updated"%`); n != 0 {
			t.Errorf("%d routers_updated fanned out to every L3 agent", n)
		}

		h := e.srv.RPC.Topics()[rpcapi.TopicL3Plugin][rpcapi.MethodGetHostHARouterCount]
		if n, err := h(context.Background(), json.RawMessage(`{"host":"l3-a"}`)); err != nil || n != 0 {
			t.Errorf("get_host_ha_router_count = %v, %v; want 0", n, err)
		}
	})
}

// TestL3ExternalGatewayIPChangeNotifies: changing the gateway_ip of the
// external subnet a router's gateway port is on casts routers_updated to
// the hosting agent (its default route moves), as Neutron's
// _notify_subnet_gateway_ip_update does; a change that keeps the gateway,
// or a gateway change on another network, does not.
func TestL3ExternalGatewayIPChangeNotifies(t *testing.T) {
	enginesWith(t, map[string]string{"ml2.mechanism_drivers": "linuxbridge"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "l3-gw", "", true)
		ext := e.createNetwork(admin, map[string]any{"router:external": true})["id"].(string)
		extSub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "198.51.100.0/24", "ip_version": 4,
			"allocation_pools": []map[string]any{{"start": "198.51.100.10", "end": "198.51.100.100"}}}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		other := e.createNetwork(admin, map[string]any{"name": "other"})["id"].(string)
		otherSub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": other,
			"cidr": "10.78.0.0/24", "ip_version": 4,
			"allocation_pools": []map[string]any{{"start": "10.78.0.10", "end": "10.78.0.100"}}}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
			"external_gateway_info": map[string]any{"network_id": ext}}}).expect(t, 201).obj(t, "router")["id"].(string)
		count := func() int64 {
			return e.outboxCount(`%"topic":"l3_agent.l3-gw","method":"routers_updated"%` + router + `%`)
		}
		before := count()
		e.do(admin, "PUT", "/v2.0/subnets/"+extSub, map[string]any{"subnet": map[string]any{"name": "renamed"}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/subnets/"+otherSub, map[string]any{"subnet": map[string]any{"gateway_ip": "10.78.0.254"}}).expect(t, 200)
		if n := count(); n != before {
			t.Errorf("%d routers_updated after changes that keep the router's gateway, want %d", n, before)
		}
		e.do(admin, "PUT", "/v2.0/subnets/"+extSub, map[string]any{"subnet": map[string]any{"gateway_ip": "198.51.100.254"}}).expect(t, 200)
		if n := count(); n != before+1 {
			t.Errorf("%d routers_updated after the external gateway moved, want %d", n, before+1)
		}
	})
}

// TestL3SyncRoutersFloatingIPDicts: sync_routers' floating IPs are whole
// dicts as Neutron's _make_floatingip_dict makes them (tenant_id,
// description, tags, timestamps, revision_number), and a router with a
// floating IP that carries port forwardings also has Neutron's
// _pf_floatingips, port_forwardings_fip_set and
// fip_managed_by_port_forwardings; one without has none of them.
func TestL3SyncRoutersFloatingIPDicts(t *testing.T) {
	enginesWith(t, map[string]string{"ml2.mechanism_drivers": "linuxbridge"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "l3-fd", "", true)
		ext := e.createNetwork(admin, map[string]any{"router:external": true})["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "198.51.100.0/24", "ip_version": 4}}).expect(t, 201)
		in := e.createNetwork(admin, map[string]any{"name": "inside"})["id"].(string)
		sub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": in,
			"cidr": "10.79.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
			"external_gateway_info": map[string]any{"network_id": ext}}}).expect(t, 201).obj(t, "router")["id"].(string)
		e.do(admin, "PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": sub}).expect(t, 200)
		port := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": in}}).expect(t, 201).obj(t, "port")
		fip := e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": ext,
			"port_id": port["id"], "description": "web"}}).expect(t, 201).obj(t, "floatingip")

		sync := func() map[string]any {
			_, l, err := e.l3Call("sync_routers", map[string]any{"host": "l3-fd", "router_ids": []string{router}})
			if err != nil || len(l) != 1 {
				t.Fatalf("sync_routers: %v, %v", l, err)
			}
			return l[0].(map[string]any)
		}
		r := sync()
		for _, k := range []string{"_pf_floatingips", "port_forwardings_fip_set", "fip_managed_by_port_forwardings"} {
			if _, ok := r[k]; ok {
				t.Errorf("%s on a router without port forwardings", k)
			}
		}
		got := r["_floatingips"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "tenant_id", "project_id", "floating_ip_address", "floating_network_id", "router_id",
			"port_id", "fixed_ip_address", "status", "description", "tags", "created_at", "updated_at", "revision_number",
			"fixed_ip_address_scope"} {
			if _, ok := got[k]; !ok {
				t.Errorf("floating IP dict lacks %s: %v", k, got)
			}
		}
		if got["tenant_id"] != fip["tenant_id"] || got["description"] != "web" || got["created_at"] != fip["created_at"] {
			t.Errorf("floating IP dict %v, the API shows %v", got, fip)
		}

		pfFIP := e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
			"floating_network_id": ext}}).expect(t, 201).obj(t, "floatingip")
		// Another port: one with a floating IP takes no port forwarding.
		port2 := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": in}}).expect(t, 201).obj(t, "port")
		fixed := port2["fixed_ips"].([]any)[0].(map[string]any)["ip_address"]
		e.do(admin, "POST", "/v2.0/floatingips/"+pfFIP["id"].(string)+"/port_forwardings", map[string]any{"port_forwarding": map[string]any{
			"protocol": "tcp", "external_port": 2222, "internal_port": 22, "internal_port_id": port2["id"],
			"internal_ip_address": fixed}}).expect(t, 201)
		r = sync()
		pfs, _ := r["_pf_floatingips"].([]any)
		if len(pfs) != 1 || pfs[0].(map[string]any)["id"] != pfFIP["id"] {
			t.Fatalf("_pf_floatingips %v, want the port forwarding's floating IP", r["_pf_floatingips"])
		}
		if set := r["port_forwardings_fip_set"]; fmt.Sprint(set) != fmt.Sprintf("[%s/32]", pfFIP["floating_ip_address"]) {
			t.Errorf("port_forwardings_fip_set %v", set)
		}
		if ids := r["fip_managed_by_port_forwardings"]; fmt.Sprint(ids) != fmt.Sprintf("[%s]", pfFIP["id"]) {
			t.Errorf("fip_managed_by_port_forwardings %v", ids)
		}
		pf := pfs[0].(map[string]any)["port_forwardings"].([]any)[0].(map[string]any)
		if pf["external_port"] != float64(2222) || pf["internal_port"] != float64(22) || pf["internal_ip_address"] != fixed {
			t.Errorf("port forwarding in the floating IP dict: %v", pf)
		}
	})
}

// TestL3RouterPortsBoundWhenScheduled: a router's ports are bound to its
// L3 agent's host when the host changes — the router scheduled there,
// moved to another agent, or given a port while hosted — rather than by
// sync_routers, which then writes nothing (the ports' revisions stay),
// however often the agent asks.
func TestL3RouterPortsBoundWhenScheduled(t *testing.T) {
	enginesWith(t, map[string]string{"ml2.mechanism_drivers": "linuxbridge"}, func(t *testing.T, e *env) {
		for _, h := range []string{"bind-a", "bind-b"} {
			e.report(rpcapi.AgentTypeLinuxBridge, h, "", true)
		}
		e.report(rpcapi.AgentTypeL3, "bind-a", "", true)
		ext := e.createNetwork(admin, map[string]any{"router:external": true})["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "198.51.100.0/24", "ip_version": 4}}).expect(t, 201)
		inside := func(cidr string) string {
			n := e.createNetwork(admin, map[string]any{"name": cidr})["id"].(string)
			return e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": n,
				"cidr": cidr, "ip_version": 4}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		}
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
			"external_gateway_info": map[string]any{"network_id": ext}}}).expect(t, 201).obj(t, "router")
		id := router["id"].(string)
		e.do(admin, "PUT", "/v2.0/routers/"+id+"/add_router_interface", map[string]any{"subnet_id": inside("10.81.0.0/24")}).expect(t, 200)
		ports := func() map[string]map[string]any {
			out := map[string]map[string]any{}
			for _, p := range e.do(admin, "GET", "/v2.0/ports?device_id="+id, nil).expect(t, 200).list(t, "ports") {
				out[p["id"].(string)] = p
			}
			return out
		}
		boundTo := func(when, host string, want int) map[string]map[string]any {
			t.Helper()
			ps := ports()
			if len(ps) != want {
				t.Fatalf("%s: %d router ports, want %d", when, len(ps), want)
			}
			for pid, p := range ps {
				if p["binding:host_id"] != host || p["binding:vif_type"] != "bridge" {
					t.Errorf("%s: port %s (%s) host %v vif_type %v, want bound to %s", when, pid, p["device_owner"],
						p["binding:host_id"], p["binding:vif_type"], host)
				}
			}
			return ps
		}
		before := boundTo("scheduled, before any sync_routers", "bind-a", 2)

		for range 3 {
			if _, l, err := e.l3Call("sync_routers", map[string]any{"host": "bind-a", "router_ids": []string{id}}); err != nil || len(l) != 1 {
				t.Fatalf("sync_routers: %v, %v", l, err)
			}
			if _, _, err := e.l3Call("sync_routers", map[string]any{"host": "bind-a"}); err != nil {
				t.Fatal(err)
			}
		}
		for pid, p := range ports() {
			if p["revision_number"] != before[pid]["revision_number"] {
				t.Errorf("port %s revision %v after sync_routers, was %v: sync_routers wrote", pid, p["revision_number"], before[pid]["revision_number"])
			}
		}

		// A port the hosted router gains is bound as it is made.
		e.do(admin, "PUT", "/v2.0/routers/"+id+"/add_router_interface", map[string]any{"subnet_id": inside("10.82.0.0/24")}).expect(t, 200)
		boundTo("an interface added to the hosted router", "bind-a", 3)

		// Moved to another agent, the ports follow before that agent asks.
		e.report(rpcapi.AgentTypeL3, "bind-b", "", true)
		e.do(admin, "DELETE", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "bind-a")+"/l3-routers/"+id, nil).expect(t, 204)
		e.do(admin, "POST", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "bind-b")+"/l3-routers", map[string]any{"router_id": id}).expect(t, 201)
		boundTo("moved to bind-b", "bind-b", 3)
	})
}

// TestL3GatewayPortIPChangeNotifies: changing a router gateway port's
// fixed IP through the port API casts routers_updated to the router's
// agent, as Neutron's _notify_gateway_port_ip_changed does; an update of
// the port that keeps its addresses (its name) does not.
func TestL3GatewayPortIPChangeNotifies(t *testing.T) {
	enginesWith(t, map[string]string{"ml2.mechanism_drivers": "linuxbridge"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "l3-gwp", "", true)
		ext := e.createNetwork(admin, map[string]any{"router:external": true})["id"].(string)
		extSub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "198.51.100.0/24", "ip_version": 4,
			"allocation_pools": []map[string]any{{"start": "198.51.100.10", "end": "198.51.100.100"}}}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
			"external_gateway_info": map[string]any{"network_id": ext}}}).expect(t, 201).obj(t, "router")
		id := router["id"].(string)
		gw := e.do(admin, "GET", "/v2.0/ports?device_owner=network:router_gateway&device_id="+id, nil).expect(t, 200).list(t, "ports")
		if len(gw) != 1 {
			t.Fatalf("gateway ports of the router: %v", gw)
		}
		gwID := gw[0]["id"].(string)
		count := func() int64 {
			return e.outboxCount(`%"topic":"l3_agent.l3-gwp","method":"routers_updated"%` + id + `%`)
		}
		before := count()
		e.do(admin, "PUT", "/v2.0/ports/"+gwID, map[string]any{"port": map[string]any{"name": "renamed"}}).expect(t, 200)
		if n := count(); n != before {
			t.Errorf("%d routers_updated after renaming the gateway port, want %d", n, before)
		}
		e.do(admin, "PUT", "/v2.0/ports/"+gwID, map[string]any{"port": map[string]any{
			"fixed_ips": []map[string]any{{"subnet_id": extSub, "ip_address": "198.51.100.77"}}}}).expect(t, 200)
		if n := count(); n != before+1 {
			t.Errorf("%d routers_updated after the gateway port's address changed, want %d", n, before+1)
		}
		// The agent's next sync_routers shows the new address.
		_, l, err := e.l3Call("sync_routers", map[string]any{"host": "l3-gwp", "router_ids": []string{id}})
		if err != nil || len(l) != 1 {
			t.Fatalf("sync_routers: %v, %v", l, err)
		}
		ips := l[0].(map[string]any)["gw_port"].(map[string]any)["fixed_ips"].([]any)
		if len(ips) != 1 || ips[0].(map[string]any)["ip_address"] != "198.51.100.77" {
			t.Errorf("gateway port's fixed_ips in sync_routers: %v", ips)
		}
	})
}

// TestL3FloatingIPStatusSweepsLastKnownRouter: a floating IP keeps the
// router it was on before its last association change
// (last_known_router_id, never shown by the API); when that router's
// agent reports statuses — even none — the floating IPs last known there
// that no router serves now go DOWN, as Neutron's
// update_floatingip_statuses sweeps them; one still associated, or last
// known on another router, keeps its status.
func TestL3FloatingIPStatusSweepsLastKnownRouter(t *testing.T) {
	enginesWith(t, map[string]string{"ml2.mechanism_drivers": "linuxbridge"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "l3-lk", "", true)
		ext := e.createNetwork(admin, map[string]any{"router:external": true})["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext,
			"cidr": "198.51.100.0/24", "ip_version": 4}}).expect(t, 201)
		net := e.createNetwork(admin, map[string]any{"name": "inside"})["id"].(string)
		sub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net,
			"cidr": "10.83.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")["id"].(string)
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r",
			"external_gateway_info": map[string]any{"network_id": ext}}}).expect(t, 201).obj(t, "router")["id"].(string)
		e.do(admin, "PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": sub}).expect(t, 200)
		fip := func() string {
			port := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net}}).expect(t, 201).obj(t, "port")["id"].(string)
			return e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
				"floating_network_id": ext, "port_id": port}}).expect(t, 201).obj(t, "floatingip")["id"].(string)
		}
		gone, kept, never := fip(), fip(), e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
			"floating_network_id": ext}}).expect(t, 201).obj(t, "floatingip")["id"].(string)
		report := func(statuses map[string]string) {
			t.Helper()
			if _, _, err := e.l3Call("update_floatingip_statuses", map[string]any{"router_id": router, "fip_statuses": statuses}); err != nil {
				t.Fatal(err)
			}
		}
		status := func(id string) any {
			f := e.do(admin, "GET", "/v2.0/floatingips/"+id, nil).expect(t, 200).obj(t, "floatingip")
			if _, shown := f["last_known_router_id"]; shown {
				t.Errorf("the API shows last_known_router_id: %v", f)
			}
			return f["status"]
		}
		report(map[string]string{gone: "ACTIVE", kept: "ACTIVE"})
		// An unassociated floating IP is DOWN already; make it ACTIVE to
		// see that the sweep leaves what was never on the router alone.
		report(map[string]string{never: "ACTIVE"})
		if status(gone) != "ACTIVE" || status(kept) != "ACTIVE" || status(never) != "ACTIVE" {
			t.Fatalf("statuses after the report: %v %v %v", status(gone), status(kept), status(never))
		}

		e.do(admin, "PUT", "/v2.0/floatingips/"+gone, map[string]any{"floatingip": map[string]any{"port_id": nil}}).expect(t, 200)
		if st := status(gone); st != "ACTIVE" {
			t.Errorf("status %v right after the disassociation, want ACTIVE until the agent reports", st)
		}
		report(map[string]string{})
		if st := status(gone); st != "DOWN" {
			t.Errorf("disassociated floating IP last known on the router: %v after the router's report, want DOWN", st)
		}
		if st := status(kept); st != "ACTIVE" {
			t.Errorf("floating IP still on the router: %v, want ACTIVE", st)
		}
		if st := status(never); st != "ACTIVE" {
			t.Errorf("floating IP never on the router: %v, want ACTIVE", st)
		}
	})
}
