package api_test

import (
	"context"
	"testing"
)

func (e *env) qosPolicy(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/qos/policies", map[string]any{"policy": attrs}).expect(e.t, 201).obj(e.t, "policy")
}

func (e *env) qosRule(as *caller, policy, kind string, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/qos/policies/"+policy+"/"+kind+"_rules", map[string]any{kind + "_rule": attrs})
}

// TestQoSPolicies drives policies as neutron_tempest_plugin's test_qos
// does: owners, sharing, defaults, tags, deletion of policies in use.
func TestQoSPolicies(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		p := e.qosPolicy(admin, map[string]any{"name": "gold", "description": "d", "shared": false})
		for k, v := range map[string]any{"name": "gold", "description": "d", "shared": false, "is_default": false,
			"revision_number": float64(0)} {
			if p[k] != v {
				t.Errorf("%s = %v, want %v", k, p[k], v)
			}
		}
		if rules, _ := p["rules"].([]any); rules == nil || len(rules) != 0 {
			t.Errorf("rules = %v, want []", p["rules"])
		}
		pid := p["id"].(string)
		// Members may not create policies (admin or project manager).
		e.do(member1, "POST", "/v2.0/qos/policies", map[string]any{"policy": map[string]any{"name": "x"}}).expect(t, 403)
		// A foreign, unshared policy is invisible; shared, it is seen.
		e.do(member1, "GET", "/v2.0/qos/policies/"+pid, nil).fault(t, 404, "QosPolicyNotFound", pid)
		e.do(admin, "PUT", "/v2.0/qos/policies/"+pid, map[string]any{"policy": map[string]any{"shared": true}}).expect(t, 200)
		if got := e.do(member1, "GET", "/v2.0/qos/policies/"+pid, nil).expect(t, 200).obj(t, "policy"); got["shared"] != true {
			t.Errorf("shared policy seen as %v", got)
		}
		if l := e.do(member1, "GET", "/v2.0/qos/policies", nil).expect(t, 200).list(t, "policies"); len(l) != 1 {
			t.Errorf("member lists %v", l)
		}
		// Seen, not owned: updates are forbidden.
		e.do(member1, "PUT", "/v2.0/qos/policies/"+pid, map[string]any{"policy": map[string]any{"name": "x"}}).expect(t, 403)
		// The wildcard RBAC policy follows the flag.
		rbac := e.do(admin, "GET", "/v2.0/rbac-policies?object_id="+pid, nil).expect(t, 200).list(t, "rbac_policies")
		if len(rbac) != 1 || rbac[0]["object_type"] != "qos_policy" || rbac[0]["target_tenant"] != "*" {
			t.Errorf("rbac policies of a shared QoS policy: %v", rbac)
		}

		// One default per project; a project's new network gets it.
		def := e.qosPolicy(admin, map[string]any{"name": "def", "project_id": "project-one", "is_default": true})
		e.do(admin, "POST", "/v2.0/qos/policies", map[string]any{"policy": map[string]any{"name": "def2",
			"project_id": "project-one", "is_default": true}}).fault(t, 409, "QoSPolicyDefaultAlreadyExists", "project-one")
		net := e.createNetwork(member1, map[string]any{})
		if net["qos_policy_id"] != def["id"] {
			t.Errorf("network's policy %v, want the default %v", net["qos_policy_id"], def["id"])
		}
		withOwn := e.createNetwork(member1, map[string]any{"qos_policy_id": pid})
		if withOwn["qos_policy_id"] != pid {
			t.Errorf("network given a policy has %v", withOwn["qos_policy_id"])
		}
		e.do(admin, "DELETE", "/v2.0/qos/policies/"+def["id"].(string), nil).
			fault(t, 409, "QosPolicyInUse", "is used by network "+net["id"].(string))
		// Unsharing a policy another project's network uses is refused.
		e.do(admin, "PUT", "/v2.0/qos/policies/"+pid, map[string]any{"policy": map[string]any{"shared": false}}).
			fault(t, 409, "RbacPolicyInUse", pid)

		// Unknown or invisible policies are not found.
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{
			"qos_policy_id": "9efe63d0-836f-4cc2-b00c-468e63aa614e"}}).fault(t, 404, "QosPolicyNotFound", "9efe63d0")
		private := e.qosPolicy(admin, map[string]any{"name": "private"})["id"].(string)
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"qos_policy_id": private}}).
			fault(t, 404, "QosPolicyNotFound", private)
		// A project may not detach an admin's policy it cannot see.
		adminNet := e.createNetwork(admin, map[string]any{"project_id": "project-one", "qos_policy_id": private})
		e.do(member1, "PUT", "/v2.0/networks/"+adminNet["id"].(string), map[string]any{"network": map[string]any{
			"qos_policy_id": nil}}).fault(t, 403, "PolicyRemoveAuthorizationError", private)

		// RBAC: a policy shared with one project only.
		e.do(member2, "GET", "/v2.0/qos/policies/"+private, nil).fault(t, 404, "QosPolicyNotFound", private)
		rb := e.do(admin, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "qos_policy", "object_id": private, "action": "access_as_shared",
			"target_tenant": "project-two"}}).expect(t, 201).obj(t, "rbac_policy")
		if got := e.do(member2, "GET", "/v2.0/qos/policies/"+private, nil).expect(t, 200).obj(t, "policy"); got["shared"] != true {
			t.Errorf("policy shared with project-two seen by it as %v", got)
		}
		net2 := e.createNetwork(member2, map[string]any{"qos_policy_id": private})
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+rb["id"].(string), nil).fault(t, 409, "RbacPolicyInUse", private)
		e.do(member2, "DELETE", "/v2.0/networks/"+net2["id"].(string), nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+rb["id"].(string), nil).expect(t, 204)
		e.do(member2, "GET", "/v2.0/qos/policies/"+private, nil).fault(t, 404, "QosPolicyNotFound", private)

		// Tags.
		e.do(admin, "PUT", "/v2.0/qos/policies/"+private+"/tags/blue", nil).expect(t, 201)
		if l := e.do(admin, "GET", "/v2.0/qos/policies?tags=blue", nil).expect(t, 200).list(t, "policies"); len(l) != 1 {
			t.Errorf("tag filter: %v", l)
		}
	})
}

// TestQoSRules covers every rule type, the alias collections and
// Neutron's conflict checks.
func TestQoSRules(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		pid := e.qosPolicy(admin, map[string]any{"name": "p"})["id"].(string)
		bw := e.qosRule(admin, pid, "bandwidth_limit", map[string]any{"max_kbps": 200, "max_burst_kbps": 1337,
			"direction": "ingress"}).expect(t, 201).obj(t, "bandwidth_limit_rule")
		want := map[string]any{"max_kbps": float64(200), "max_burst_kbps": float64(1337), "direction": "ingress"}
		for k, v := range want {
			if bw[k] != v {
				t.Errorf("%s = %v, want %v", k, bw[k], v)
			}
		}
		if len(bw) != 4 {
			t.Errorf("rule shows %v, want id and its three parameters", bw)
		}
		bid := bw["id"].(string)
		e.qosRule(admin, pid, "bandwidth_limit", map[string]any{"max_kbps": 1}).expect(t, 201) // egress
		e.qosRule(admin, pid, "bandwidth_limit", map[string]any{"max_kbps": 2}).
			fault(t, 409, "QoSRulesConflict", "Rule bandwidth_limit conflicts with rule")
		e.qosRule(admin, pid, "dscp_marking", map[string]any{"dscp_mark": 9}).expect(t, 400)
		dscp := e.qosRule(admin, pid, "dscp_marking", map[string]any{"dscp_mark": 10}).expect(t, 201).obj(t, "dscp_marking_rule")
		e.qosRule(admin, pid, "dscp_marking", map[string]any{"dscp_mark": 12}).expect(t, 409)
		e.qosRule(admin, pid, "minimum_bandwidth", map[string]any{"min_kbps": 300, "direction": "ingress"}).
			fault(t, 409, "QoSRuleParameterConflict", "the existing rule of type bandwidth_limit has value 200")
		e.qosRule(admin, pid, "minimum_bandwidth", map[string]any{"min_kbps": 100, "direction": "ingress"}).expect(t, 201)
		e.qosRule(admin, pid, "packet_rate_limit", map[string]any{"max_kpps": 1000}).expect(t, 201)
		e.qosRule(admin, pid, "minimum_packet_rate", map[string]any{"min_kpps": 10, "direction": "any"}).expect(t, 201)
		e.qosRule(admin, pid, "minimum_packet_rate", map[string]any{"min_kpps": 10, "direction": "egress"}).
			fault(t, 409, "QoSRuleParameterConflict", "minimum_packet_rate")
		e.qosRule(admin, pid, "bandwidth_limit", map[string]any{"max_kbps": -1}).expect(t, 400)
		e.qosRule(admin, "9efe63d0-836f-4cc2-b00c-468e63aa614e", "bandwidth_limit", map[string]any{"max_kbps": 1}).
			fault(t, 404, "QosPolicyNotFound", "9efe63d0")

		pol := e.do(admin, "GET", "/v2.0/qos/policies/"+pid, nil).expect(t, 200).obj(t, "policy")
		if rules := pol["rules"].([]any); len(rules) != 6 {
			t.Errorf("policy rules %v, want 6", rules)
		}
		if pol["revision_number"] != float64(6) {
			t.Errorf("policy revision %v after 6 rules, want 6", pol["revision_number"])
		}
		for _, r := range pol["rules"].([]any) {
			m := r.(map[string]any)
			if m["qos_policy_id"] != pid || m["type"] == nil {
				t.Errorf("policy rule %v lacks qos_policy_id or type", m)
			}
		}

		// Update, and a rule of another policy is not found.
		e.do(admin, "PUT", "/v2.0/qos/policies/"+pid+"/bandwidth_limit_rules/"+bid,
			map[string]any{"bandwidth_limit_rule": map[string]any{"max_kbps": 500}}).expect(t, 200)
		other := e.qosPolicy(admin, map[string]any{"name": "other"})["id"].(string)
		e.do(admin, "GET", "/v2.0/qos/policies/"+other+"/bandwidth_limit_rules/"+bid, nil).
			fault(t, 404, "QosRuleNotFound", "QoS rule "+bid+" for policy "+other)

		// Aliases reach a rule by id alone.
		alias := "/v2.0/qos/alias-dscp-marking-rules/" + dscp["id"].(string)
		got := e.do(admin, "GET", alias, nil).expect(t, 200).obj(t, "alias_dscp_marking_rule")
		if got["dscp_mark"] != float64(10) || got["tenant_id"] == nil {
			t.Errorf("alias rule %v", got)
		}
		got = e.do(admin, "PUT", alias, map[string]any{"alias_dscp_marking_rule": map[string]any{"dscp_mark": 12}}).
			expect(t, 200).obj(t, "alias_dscp_marking_rule")
		if got["dscp_mark"] != float64(12) {
			t.Errorf("alias update %v", got)
		}
		e.do(admin, "DELETE", alias, nil).expect(t, 204)
		e.do(admin, "GET", alias, nil).fault(t, 404, "QosRuleNotFound", dscp["id"].(string))

		// Rule types: what the linuxbridge driver enforces; details for
		// admins only.
		types := e.do(member1, "GET", "/v2.0/qos/rule-types", nil).expect(t, 200).list(t, "rule_types")
		if len(types) != 2 {
			t.Errorf("with the linuxbridge mechanism driver rule types %v, want bandwidth_limit and dscp_marking", types)
		}
		if all := e.do(admin, "GET", "/v2.0/qos/rule-types?all_rules=true", nil).expect(t, 200).list(t, "rule_types"); len(all) != 5 {
			t.Errorf("all_rules: %v", all)
		}
		e.do(member1, "GET", "/v2.0/qos/rule-types/bandwidth_limit", nil).expect(t, 403)

		// Deleting the policy deletes its rules.
		e.do(admin, "DELETE", "/v2.0/qos/policies/"+pid, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/qos/policies/"+pid+"/bandwidth_limit_rules/"+bid, nil).fault(t, 404, "QosPolicyNotFound", pid)
	})
}

// TestQoSBinding: with the linuxbridge driver, rule types are what it
// enforces; a bound port whose policy has a rule it cannot enforce is
// refused (QosRuleNotSupported), an unbound one too (its vnic_type picks
// the drivers), and the agent's port details carry the effective rules.
func TestQoSBinding(t *testing.T) {
	ml2Engines(t, map[string]string{"ml2.extension_drivers": "port_security,qos"}, func(t *testing.T, e *env) {
		e.srv.ML2.SetAgents(testAgents())
		types := e.do(member1, "GET", "/v2.0/qos/rule-types", nil).expect(t, 200).list(t, "rule_types")
		if len(types) != 2 || types[0]["type"] != "bandwidth_limit" || types[1]["type"] != "dscp_marking" {
			t.Errorf("linuxbridge rule types %v", types)
		}
		details := e.do(admin, "GET", "/v2.0/qos/rule-types/bandwidth_limit", nil).expect(t, 200).obj(t, "rule_type")
		if d := details["drivers"].([]any); len(d) != 1 || d[0].(map[string]any)["name"] != "linuxbridge" {
			t.Errorf("details %v", details)
		}
		limit := e.qosPolicy(admin, map[string]any{"name": "limit", "shared": true})["id"].(string)
		e.qosRule(admin, limit, "bandwidth_limit", map[string]any{"max_kbps": 8000}).expect(t, 201)
		minimum := e.qosPolicy(admin, map[string]any{"name": "min", "shared": true})["id"].(string)
		e.qosRule(admin, minimum, "minimum_bandwidth", map[string]any{"min_kbps": 1000}).expect(t, 201).
			obj(t, "minimum_bandwidth_rule")

		net := e.createNetwork(admin, map[string]any{"name": "vx", "shared": true})["id"].(string)
		port := func(attrs map[string]any) *reply {
			attrs["network_id"] = net
			return e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": attrs})
		}
		bound := port(map[string]any{"binding:host_id": "host1", "qos_policy_id": limit}).expect(t, 201).obj(t, "port")
		if bound["binding:vif_type"] != "bridge" || bound["qos_policy_id"] != limit || bound["resource_request"] != nil {
			t.Errorf("bound port %v", bound)
		}
		port(map[string]any{"binding:host_id": "host1", "qos_policy_id": minimum}).
			fault(t, 409, "QosRuleNotSupported", "Rule minimum_bandwidth is not supported by port")
		// A rule the bound port's driver cannot enforce is refused too.
		e.qosRule(admin, limit, "minimum_packet_rate", map[string]any{"min_kpps": 10}).
			fault(t, 409, "QosRuleNotSupported", bound["id"].(string))

		// Unbound, a port's minimum rules are a request to Placement
		// (resource_request): a minimum bandwidth only on a network with a
		// physical network (neutron_tempest_plugin's
		// test_port_resource_request_no_provider_net_conflict), a minimum
		// packet rate anywhere.
		for _, attrs := range []map[string]any{{"qos_policy_id": minimum},
			{"qos_policy_id": minimum, "binding:vnic_type": "normal"}} {
			port(attrs).fault(t, 409, "QosRuleNotSupported", "Rule minimum_bandwidth is not supported by port")
		}
		unbound := port(map[string]any{}).expect(t, 201).obj(t, "port")
		e.portUpdate(admin, unbound["id"].(string), map[string]any{"qos_policy_id": minimum}).
			fault(t, 409, "QosRuleNotSupported", unbound["id"].(string))
		if unbound["resource_request"] != nil {
			t.Errorf("resource_request without a policy: %v", unbound["resource_request"])
		}
		// Nor may the tunnelled network give it to its unbound ports, nor
		// may a policy they use take a minimum bandwidth.
		e.do(admin, "PUT", "/v2.0/networks/"+net, map[string]any{"network": map[string]any{"qos_policy_id": minimum}}).
			fault(t, 409, "QosRuleNotSupported", unbound["id"].(string))
		e.portUpdate(admin, unbound["id"].(string), map[string]any{"qos_policy_id": limit}).expect(t, 200)
		e.qosRule(admin, limit, "minimum_bandwidth", map[string]any{"min_kbps": 10}).
			fault(t, 409, "QosRuleNotSupported", "Rule minimum_bandwidth is not supported by port")
		e.portUpdate(admin, unbound["id"].(string), map[string]any{"qos_policy_id": nil}).expect(t, 200)
		pps := e.qosPolicy(admin, map[string]any{"name": "pps", "shared": true})["id"].(string)
		e.qosRule(admin, pps, "minimum_packet_rate", map[string]any{"min_kpps": 500, "direction": "any"}).expect(t, 201)
		ppsPort := port(map[string]any{"qos_policy_id": pps}).expect(t, 201).obj(t, "port")
		if rr, _ := ppsPort["resource_request"].(map[string]any); rr == nil {
			t.Errorf("minimum packet rate port %v", ppsPort)
		} else if g := rr["request_groups"].([]any); len(g) != 1 ||
			g[0].(map[string]any)["resources"].(map[string]any)["NET_PACKET_RATE_KILOPACKET_PER_SEC"] != float64(500) {
			t.Errorf("resource_request %v", rr)
		}

		// On a VLAN network the minimum bandwidth is accepted, directly or
		// inherited, and shown to admins only; binding the port to Linux
		// bridge, which cannot enforce it, is refused.
		vlan := e.createNetwork(admin, map[string]any{"name": "vlan", "shared": true,
			"provider:network_type": "vlan", "provider:physical_network": "physnet1"})["id"].(string)
		e.qosRule(admin, minimum, "minimum_packet_rate", map[string]any{"min_kpps": 500, "direction": "any"}).expect(t, 201)
		wantRR := func(p map[string]any) {
			t.Helper()
			rr, _ := p["resource_request"].(map[string]any)
			groups, _ := rr["request_groups"].([]any)
			if len(groups) != 2 || len(rr["same_subtree"].([]any)) != 2 {
				t.Fatalf("resource_request %v", p["resource_request"])
			}
			g := groups[0].(map[string]any)
			if res := g["resources"].(map[string]any); res["NET_BW_EGR_KILOBIT_PER_SEC"] != float64(1000) {
				t.Errorf("resources %v", res)
			}
			if req := g["required"].([]any); len(req) != 2 || req[0] != "CUSTOM_PHYSNET_PHYSNET1" || req[1] != "CUSTOM_VNIC_TYPE_NORMAL" {
				t.Errorf("required %v", req)
			}
		}
		onVLAN := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": vlan,
			"qos_policy_id": minimum, "binding:vnic_type": "normal"}}).expect(t, 201).obj(t, "port")
		wantRR(onVLAN)
		mine := e.portCreate(member1, vlan, map[string]any{"qos_policy_id": minimum})
		if _, shown := mine["resource_request"]; shown {
			t.Errorf("a member sees resource_request: %v", mine)
		}
		e.portUpdate(admin, onVLAN["id"].(string), map[string]any{"binding:host_id": "host1"}).
			fault(t, 409, "QosRuleNotSupported", onVLAN["id"].(string))
		e.do(admin, "PUT", "/v2.0/networks/"+vlan, map[string]any{"network": map[string]any{"qos_policy_id": minimum}}).expect(t, 200)
		inherits := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": vlan}}).
			expect(t, 201).obj(t, "port")
		wantRR(inherits)
		e.portUpdate(admin, onVLAN["id"].(string), map[string]any{"qos_policy_id": nil}).expect(t, 200)
		wantRR(e.do(admin, "GET", "/v2.0/ports/"+onVLAN["id"].(string), nil).expect(t, 200).obj(t, "port"))

		// The network's policy is the port's unless it has its own.
		e.do(admin, "PUT", "/v2.0/networks/"+net, map[string]any{"network": map[string]any{"qos_policy_id": limit}}).expect(t, 200)
		plain := port(map[string]any{"binding:host_id": "host1"}).expect(t, 201).obj(t, "port")
		if plain["qos_network_policy_id"] != limit || plain["qos_policy_id"] != nil {
			t.Errorf("port on a network with a policy: %v", plain)
		}
		dets, err := e.srv.ML2.GetDevicesDetailsList(context.Background(),
			[]string{bound["id"].(string), plain["id"].(string)}, "lb-host1", "host1")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dets {
			if len(d.QoSRules) != 1 || d.QoSRules[0].String("type") != "bandwidth_limit" || d.QoSRules[0].Int("max_kbps") != 8000 {
				t.Errorf("details of %s carry rules %v", d.PortID, d.QoSRules)
			}
		}
		e.do(admin, "DELETE", "/v2.0/qos/policies/"+limit, nil).fault(t, 409, "QosPolicyInUse", "QoS Policy "+limit+" is used by network")
	})
}

// TestQoSFloatingIPsAndGateways: qos-fip and qos-gateway-ip.
func TestQoSFloatingIPsAndGateways(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.l3Setup(member1, "172.24.40.0/24", "10.40.0.0/24")
		pid := e.qosPolicy(admin, map[string]any{"name": "fip", "shared": true})["id"].(string)
		private := e.qosPolicy(admin, map[string]any{"name": "private"})["id"].(string)
		fip := e.fipCreate(member1, map[string]any{"floating_network_id": top.extNet, "qos_policy_id": pid}).expect(t, 201).obj(t, "floatingip")
		if fip["qos_policy_id"] != pid {
			t.Errorf("floating IP %v", fip)
		}
		e.do(member1, "PUT", "/v2.0/floatingips/"+fip["id"].(string), map[string]any{"floatingip": map[string]any{"qos_policy_id": private}}).
			fault(t, 404, "QosPolicyNotFound", private)
		e.do(admin, "DELETE", "/v2.0/qos/policies/"+pid, nil).fault(t, 409, "QosPolicyInUse", "is used by fip "+fip["id"].(string))
		e.do(member1, "PUT", "/v2.0/floatingips/"+fip["id"].(string), map[string]any{"floatingip": map[string]any{"qos_policy_id": nil}}).expect(t, 200)

		r := e.routerCreate(admin, map[string]any{"external_gateway_info": map[string]any{"network_id": top.extNet, "qos_policy_id": pid}})
		if gw := r["external_gateway_info"].(map[string]any); gw["qos_policy_id"] != pid {
			t.Errorf("gateway %v", gw)
		}
		e.do(admin, "DELETE", "/v2.0/qos/policies/"+pid, nil).fault(t, 409, "QosPolicyInUse", "is used by router "+r["id"].(string))
		upd := e.do(admin, "PUT", "/v2.0/routers/"+r["id"].(string), map[string]any{"router": map[string]any{
			"external_gateway_info": map[string]any{"network_id": top.extNet, "qos_policy_id": nil}}}).expect(t, 200).obj(t, "router")
		if gw := upd["external_gateway_info"].(map[string]any); gw["qos_policy_id"] != nil {
			t.Errorf("gateway after clearing %v", gw)
		}
		e.do(admin, "DELETE", "/v2.0/qos/policies/"+pid, nil).expect(t, 204)
	})
}

// TestQoSNotLoaded: without qos in service_plugins nothing of it is
// served.
func TestQoSNotLoaded(t *testing.T) {
	e := newEnv(t, "sqlite://", map[string]string{"DEFAULT.service_plugins": "router"})
	e.do(admin, "GET", "/v2.0/qos/policies", nil).expect(t, 404)
	e.do(admin, "GET", "/v2.0/qos/rule-types", nil).expect(t, 404)
	for _, x := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
		if a := x["alias"].(string); a == "qos" || a == "port-resource-request" {
			t.Errorf("extension %s listed without the qos plugin", a)
		}
	}
	if n := e.createNetwork(admin, map[string]any{}); n["qos_policy_id"] != nil {
		t.Errorf("network shows qos_policy_id without the qos plugin: %v", n)
	}
	if _, shown := e.createNetwork(admin, map[string]any{})["qos_policy_id"]; shown {
		t.Errorf("network shows qos_policy_id without the qos plugin")
	}
}

// TestSubResourceCreateOrder: Neutron's policy hook checks create_<rule>
// before the plugin looks the parent up, so a create the caller's role
// refuses whatever the parent is a 403 even under a parent it cannot
// see (neutron_tempest_plugin's test_rule_create_forbidden_for_regular_
// projects), while a rule that depends on the parent's owner leaves the
// parent's 404.
func TestSubResourceCreateOrder(t *testing.T) {
	manager1 := &caller{project: "project-one", roles: "manager,member,reader"}
	engines(t, func(t *testing.T, e *env) {
		foreign := e.qosPolicy(admin, map[string]any{"name": "two", "project_id": "project-two"})["id"].(string)
		own := e.qosPolicy(admin, map[string]any{"name": "one", "project_id": "project-one"})["id"].(string)
		missing := "9efe63d0-836f-4cc2-b00c-468e63aa614e"
		bw := map[string]any{"bandwidth_limit_rule": map[string]any{"max_kbps": 1, "max_burst_kbps": 2}}
		dscp := map[string]any{"dscp_marking_rule": map[string]any{"dscp_mark": 8}}
		cth := map[string]any{"conntrack_helper": map[string]any{"protocol": "udp", "port": 69, "helper": "tftp"}}
		for _, c := range []struct {
			name      string
			as        *caller
			path      string
			body      map[string]any
			status    int
			typ, text string
		}{
			{"member, foreign policy", member1, "/v2.0/qos/policies/" + foreign + "/bandwidth_limit_rules", bw,
				403, "PolicyNotAuthorized", "create_policy_bandwidth_limit_rule"},
			{"member, foreign policy, dscp", member1, "/v2.0/qos/policies/" + foreign + "/dscp_marking_rules", dscp,
				403, "PolicyNotAuthorized", "create_policy_dscp_marking_rule"},
			{"member, missing policy", member1, "/v2.0/qos/policies/" + missing + "/bandwidth_limit_rules", bw,
				403, "PolicyNotAuthorized", "create_policy_bandwidth_limit_rule"},
			{"member, own policy", member1, "/v2.0/qos/policies/" + own + "/bandwidth_limit_rules", bw,
				403, "PolicyNotAuthorized", "create_policy_bandwidth_limit_rule"},
			{"manager, foreign policy", manager1, "/v2.0/qos/policies/" + foreign + "/bandwidth_limit_rules", bw,
				404, "QosPolicyNotFound", foreign},
			{"admin, missing policy", admin, "/v2.0/qos/policies/" + missing + "/bandwidth_limit_rules", bw,
				404, "QosPolicyNotFound", missing},
			{"member, missing router", member1, "/v2.0/routers/" + missing + "/conntrack_helpers", cth,
				404, "RouterNotFound", missing},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.do(c.as, "POST", c.path, c.body).fault(t, c.status, c.typ, c.text)
			})
		}
		// The policy's owner with the manager role creates rules.
		e.do(manager1, "POST", "/v2.0/qos/policies/"+own+"/bandwidth_limit_rules", bw).expect(t, 201)
	})
}

// TestQoSRuleNotFoundNamesPolicy: a rule the caller may not see, or that
// does not exist, is the QosRuleNotFound of the policy the request is
// under, worded as neutron-lib's ("QoS rule R for policy P could not be
// found.").
func TestQoSRuleNotFoundNamesPolicy(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		shared := e.qosPolicy(admin, map[string]any{"name": "shared", "shared": true})["id"].(string)
		rule := e.qosRule(admin, shared, "dscp_marking", map[string]any{"dscp_mark": 0}).expect(t, 201).
			obj(t, "dscp_marking_rule")["id"].(string)
		missing := "9efe63d0-836f-4cc2-b00c-468e63aa614e"
		for _, c := range []struct {
			name string
			as   *caller
			rule string
		}{
			// get_policy_dscp_marking_rule is the policy owner's (new
			// defaults): a member of another project sees the shared
			// policy but not its rule.
			{"member, shared policy's rule", member1, rule},
			{"admin, missing rule", admin, missing},
			{"member, missing rule", member1, missing},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.do(c.as, "GET", "/v2.0/qos/policies/"+shared+"/dscp_marking_rules/"+c.rule, nil).
					fault(t, 404, "QosRuleNotFound", "QoS rule "+c.rule+" for policy "+shared+" could not be found.")
			})
		}
	})
}
