package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// Security groups and rules: Neutron's default group, its refusals,
// rule validation and normalisation, duplicates, bulk atomicity, RBAC
// sharing and the security groups of ports.

// sgURL and ruleURL are the collections' paths.
const (
	sgURL   = "/v2.0/security-groups"
	ruleURL = "/v2.0/security-group-rules"
)

// createSG creates a security group as the caller.
func (e *env) createSG(as *caller, name string, attrs map[string]any) map[string]any {
	e.t.Helper()
	body := map[string]any{"name": name}
	for k, v := range attrs {
		body[k] = v
	}
	return e.do(as, "POST", sgURL, map[string]any{"security_group": body}).expect(e.t, 201).obj(e.t, "security_group")
}

// defaultSG lists the caller's groups and returns its default group.
func (e *env) defaultSG(as *caller) map[string]any {
	e.t.Helper()
	for _, g := range e.do(as, "GET", sgURL+"?name=default", nil).expect(e.t, 200).list(e.t, "security_groups") {
		if g["name"] == "default" && (as == nil || g["project_id"] == as.project) {
			return g
		}
	}
	e.t.Fatalf("no default security group for %v", as)
	return nil
}

func rulesOf(g map[string]any) []map[string]any {
	items, _ := g["security_group_rules"].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// ruleShapes summarises rules as "direction/ethertype/remote" with remote
// "self" for the group itself.
func ruleShapes(g map[string]any) []string {
	var out []string
	for _, r := range rulesOf(g) {
		remote := "-"
		if r["remote_group_id"] == g["id"] {
			remote = "self"
		} else if r["remote_group_id"] != nil {
			remote = fmt.Sprint(r["remote_group_id"])
		}
		out = append(out, fmt.Sprintf("%s/%s/%s", r["direction"], r["ethertype"], remote))
	}
	slices.Sort(out)
	return out
}

func TestSecurityGroupDefault(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		def := e.defaultSG(member1)
		if got, want := ruleShapes(def), []string{"egress/IPv4/-", "egress/IPv6/-", "ingress/IPv4/self", "ingress/IPv6/self"}; !slices.Equal(got, want) {
			t.Errorf("default rules %v, want %v", got, want)
		}
		if def["description"] != "Default security group" || def["stateful"] != true || def["shared"] != false {
			t.Errorf("default group %v", def)
		}
		for _, r := range rulesOf(def) {
			if _, ok := r["belongs_to_default_sg"]; ok || r["protocol"] != nil || r["project_id"] != "project-one" {
				t.Errorf("default rule %v", r)
			}
		}
		// Listing again creates nothing more.
		groups := e.do(member1, "GET", sgURL, nil).expect(t, 200).list(t, "security_groups")
		if len(groups) != 1 || groups[0]["id"] != def["id"] {
			t.Fatalf("groups after second list: %v", ids(groups))
		}
		id := def["id"].(string)
		e.do(member1, "DELETE", sgURL+"/"+id, nil).fault(t, 409, "SecurityGroupCannotRemoveDefault",
			"Insufficient rights for removing default security group.")
		e.do(member1, "PUT", sgURL+"/"+id, map[string]any{"security_group": map[string]any{"name": "other"}}).
			fault(t, 409, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
		e.do(member1, "PUT", sgURL+"/"+id, map[string]any{"security_group": map[string]any{"description": "mine"}}).expect(t, 200)
		e.do(member1, "POST", sgURL, map[string]any{"security_group": map[string]any{"name": "Default"}}).
			fault(t, 409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
		web := e.createSG(member1, "web", nil)
		e.do(member1, "PUT", sgURL+"/"+web["id"].(string), map[string]any{"security_group": map[string]any{"name": "default"}}).
			fault(t, 409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")

		// Neutron 21 has no belongs_to_default_sg (a later extension).
		e.do(member1, "GET", ruleURL+"?belongs_to_default_sg=true", nil).
			fault(t, 400, "HTTPBadRequest", "['belongs_to_default_sg'] is invalid attribute for filtering")
		// An admin may delete it; the next need creates a new one.
		e.do(admin, "DELETE", sgURL+"/"+id, nil).expect(t, 204)
		if again := e.defaultSG(member1); again["id"] == id {
			t.Errorf("default group not recreated")
		}
		// A project's first port creates its default group as well.
		net := e.createNetwork(member2, map[string]any{"name": "n2"})
		port := e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"]}}).
			expect(t, 201).obj(t, "port")
		if sgs := port["security_groups"].([]any); len(sgs) != 1 || sgs[0] != e.defaultSG(member2)["id"] {
			t.Errorf("port groups %v", sgs)
		}
	})
}

// TestDefaultSecurityGroupWithFirstNetwork: as in Neutron, a project's
// first network (or port, or port update) creates its default group
// before anything lists groups, so quota details count it; the rules a
// group is created with have no description (null), those created
// through the API an empty one.
func TestDefaultSecurityGroupWithFirstNetwork(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		sgUsed := func(as *caller) any {
			d := e.do(admin, "GET", "/v2.0/quotas/"+as.project+"/details", nil).expect(t, 200).obj(t, "quota")
			return d["security_group"].(map[string]any)["used"]
		}
		if used := sgUsed(member1); used != float64(0) {
			t.Fatalf("security groups used before any network: %v", used)
		}
		e.createNetwork(member1, map[string]any{"name": "first"})
		if used := sgUsed(member1); used != float64(1) {
			t.Errorf("security groups used after the first network: %v", used)
		}
		d := e.do(admin, "GET", "/v2.0/quotas/"+member1.project+"/details", nil).expect(t, 200).obj(t, "quota")
		if used := d["security_group_rule"].(map[string]any)["used"]; used != float64(4) {
			t.Errorf("security group rules used after the first network: %v", used)
		}
		// An admin creating a network for another project makes that
		// project's group too.
		e.createNetwork(admin, map[string]any{"name": "for-two", "tenant_id": member2.project})
		if used := sgUsed(member2); used != float64(1) {
			t.Errorf("security groups of a project given a network by an admin: %v", used)
		}
		// A project whose first port is on another project's shared
		// network gets its group from the port.
		shared := e.createNetwork(admin, map[string]any{"name": "shared", "shared": true})
		third := &caller{project: "project-three", roles: "member,reader"}
		e.do(third, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": shared["id"]}}).expect(t, 201)
		if used := sgUsed(third); used != float64(1) {
			t.Errorf("security groups after a first port: %v", used)
		}
		// So does a port an admin makes for a project, whatever its
		// groups.
		fourth := &caller{project: "project-four", roles: "member,reader"}
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": shared["id"],
			"tenant_id": fourth.project, "port_security_enabled": false}}).expect(t, 201)
		if used := sgUsed(fourth); used != float64(1) {
			t.Errorf("security groups after a first port without port security: %v", used)
		}

		def := e.defaultSG(member1)
		for _, r := range rulesOf(def) {
			if v, ok := r["description"]; !ok || v != nil {
				t.Errorf("default group's rule in the group: description %#v", v)
			}
		}
		web := e.createSG(member1, "web", nil)
		for _, r := range e.do(member1, "GET", ruleURL+"?security_group_id="+web["id"].(string), nil).expect(t, 200).
			list(t, "security_group_rules") {
			if v, ok := r["description"]; !ok || v != nil {
				t.Errorf("a new group's own rule: description %#v", v)
			}
		}
		made := e.do(member1, "POST", ruleURL, map[string]any{"security_group_rule": map[string]any{
			"security_group_id": web["id"], "direction": "ingress", "protocol": "tcp"}}).expect(t, 201).obj(t, "security_group_rule")
		if made["description"] != "" {
			t.Errorf("rule created without a description: %#v", made["description"])
		}
		e.do(member1, "POST", ruleURL, map[string]any{"security_group_rule": map[string]any{
			"security_group_id": web["id"], "direction": "ingress", "protocol": "udp", "description": nil}}).
			fault(t, 400, "HTTPBadRequest", "Invalid input for description")
	})
}

func TestSecurityGroupCRUD(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		g := e.createSG(member1, "web", map[string]any{"description": "web servers"})
		if got, want := ruleShapes(g), []string{"egress/IPv4/-", "egress/IPv6/-"}; !slices.Equal(got, want) {
			t.Errorf("new group rules %v, want %v", got, want)
		}
		for _, k := range []string{"id", "name", "description", "project_id", "tenant_id", "stateful", "shared",
			"security_group_rules", "created_at", "updated_at", "revision_number"} {
			if _, ok := g[k]; !ok {
				t.Errorf("group has no %s: %v", k, g)
			}
		}
		if g["stateful"] != true || g["shared"] != false || g["project_id"] != "project-one" {
			t.Errorf("group %v", g)
		}
		// Creating the group created the project's default one too.
		if n := len(e.do(admin, "GET", sgURL+"?project_id=project-one", nil).expect(t, 200).list(t, "security_groups")); n != 2 {
			t.Errorf("%d groups of project-one, want 2", n)
		}
		id := g["id"].(string)
		upd := e.do(member1, "PUT", sgURL+"/"+id, map[string]any{"security_group": map[string]any{
			"name": "web2", "stateful": false}}).expect(t, 200).obj(t, "security_group")
		if upd["name"] != "web2" || upd["stateful"] != false {
			t.Errorf("updated %v", upd)
		}
		if n := len(e.do(member1, "GET", sgURL+"?stateful=false", nil).expect(t, 200).list(t, "security_groups")); n != 1 {
			t.Errorf("stateful=false lists %d groups", n)
		}
		e.do(member2, "GET", sgURL+"/"+id, nil).fault(t, 404, "SecurityGroupNotFound", "Security group "+id+" does not exist")
		e.do(member2, "DELETE", sgURL+"/"+id, nil).expect(t, 404)
		// A rule of another group naming this one as remote goes with it.
		other := e.createSG(member1, "other", nil)["id"].(string)
		remoteRule := e.postRule(member1, map[string]any{"security_group_id": other, "direction": "ingress",
			"remote_group_id": id}).expect(t, 201).obj(t, "security_group_rule")["id"].(string)
		e.do(member1, "DELETE", sgURL+"/"+id, nil).expect(t, 204)
		e.do(member1, "GET", sgURL+"/"+id, nil).fault(t, 404, "SecurityGroupNotFound", "does not exist")
		e.do(member1, "GET", ruleURL+"/"+remoteRule, nil).fault(t, 404, "SecurityGroupRuleNotFound", "does not exist")
		// Its rules went with it.
		if n := len(e.do(admin, "GET", ruleURL+"?security_group_id="+id, nil).expect(t, 200).list(t, "security_group_rules")); n != 0 {
			t.Errorf("%d rules left of a deleted group", n)
		}
	})
}

func TestSecurityGroupQuota(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.do(admin, "PUT", "/v2.0/quotas/project-one", map[string]any{"quota": map[string]any{
			"security_group": 3, "security_group_rule": 8}}).expect(t, 200)
		e.createSG(member1, "a", nil) // and the default group: 2 groups, 6 rules
		g := e.createSG(member1, "b", nil)
		e.do(member1, "POST", sgURL, map[string]any{"security_group": map[string]any{"name": "c"}}).
			fault(t, 409, "OverQuota", "Quota exceeded for resources: ['security_group'].")
		e.do(member1, "POST", ruleURL, map[string]any{"security_group_rule": map[string]any{
			"security_group_id": g["id"], "direction": "ingress", "protocol": "tcp"}}).
			fault(t, 409, "OverQuota", "Quota exceeded for resources: ['security_group_rule'].")
	})
}

// rule posts one rule as member1 and returns the reply.
func (e *env) postRule(as *caller, attrs map[string]any) *reply {
	return e.do(as, "POST", ruleURL, map[string]any{"security_group_rule": attrs})
}

func TestSecurityGroupRuleValidation(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		g := e.createSG(member1, "v", nil)
		other := e.createSG(member1, "o", nil)
		sg := g["id"]
		cases := []struct {
			name   string
			attrs  map[string]any
			status int
			typ    string
			msg    string
		}{
			{"protocol name", map[string]any{"protocol": "tcpx"}, 400, "SecurityGroupRuleInvalidProtocol",
				"Security group rule protocol tcpx not supported. Only protocol values (None, 'any', 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp') and integer representations [0 to 255] are supported."},
			{"protocol number", map[string]any{"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol", "protocol 256 not supported"},
			{"protocol negative", map[string]any{"protocol": "-1"}, 400, "SecurityGroupRuleInvalidProtocol", "protocol -1 not supported"},
			{"ethertype", map[string]any{"ethertype": "IPv5"}, 400, "SecurityGroupRuleInvalidEtherType",
				"Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6']."},
			{"direction", map[string]any{"direction": "sideways"}, 400, "HTTPBadRequest",
				"Invalid input for direction. Reason: sideways is not in valid_values."},
			{"port value", map[string]any{"protocol": "tcp", "port_range_min": 70000}, 400, "SecurityGroupInvalidPortValue",
				"Invalid value for port 70000"},
			{"port text", map[string]any{"protocol": "tcp", "port_range_min": "ssh"}, 400, "SecurityGroupInvalidPortValue",
				"Invalid value for port ssh"},
			{"port zero", map[string]any{"protocol": "tcp", "port_range_min": 0, "port_range_max": 10}, 400,
				"SecurityGroupInvalidPortValue", "Invalid value for port 0"},
			{"port range", map[string]any{"protocol": "udp", "port_range_min": 90, "port_range_max": 80}, 400,
				"SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max"},
			{"port range open", map[string]any{"protocol": "tcp", "port_range_min": 90}, 400,
				"SecurityGroupInvalidPortRange", "port_range_min must be <= port_range_max"},
			{"ports need protocol", map[string]any{"port_range_min": 22, "port_range_max": 22}, 400,
				"SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given."},
			{"icmp type", map[string]any{"protocol": "icmp", "port_range_min": 256}, 400, "SecurityGroupInvalidIcmpValue",
				"Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255."},
			{"icmp code", map[string]any{"protocol": "icmp", "port_range_min": 8, "port_range_max": 300}, 400,
				"SecurityGroupInvalidIcmpValue", "Invalid value for ICMP code (port_range_max) 300. It must be 0 to 255."},
			{"icmp code without type", map[string]any{"protocol": "icmp", "port_range_max": 0}, 400,
				"SecurityGroupMissingIcmpType", "ICMP code (port-range-max) 0 is provided but ICMP type (port-range-min) is missing."},
			{"ports on gre", map[string]any{"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, 400,
				"SecurityGroupInvalidProtocolForPort",
				"Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP."},
			{"prefix ethertype", map[string]any{"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, 400,
				"SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8"},
			{"prefix invalid", map[string]any{"remote_ip_prefix": "10.0.0.300/8"}, 400, "InvalidCIDR",
				"Invalid CIDR 10.0.0.300/8 given as IP prefix."},
			{"ipv6 protocol on IPv4", map[string]any{"protocol": "ipv6-icmp"}, 400,
				"SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype IPv4 for protocol ipv6-icmp."},
			{"remote group and prefix", map[string]any{"remote_group_id": other["id"], "remote_ip_prefix": "10.0.0.0/8"}, 400,
				"SecurityGroupMultipleRemoteEntites",
				"Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."},
			{"missing group", map[string]any{"security_group_id": "9b3f0d6a-2b60-4f5e-8f44-0c9b1b1c9d77"}, 404,
				"SecurityGroupNotFound", "Security group 9b3f0d6a-2b60-4f5e-8f44-0c9b1b1c9d77 does not exist"},
			{"missing remote group", map[string]any{"remote_group_id": "9b3f0d6a-2b60-4f5e-8f44-0c9b1b1c9d77"}, 404,
				"SecurityGroupNotFound", "Security group 9b3f0d6a-2b60-4f5e-8f44-0c9b1b1c9d77 does not exist"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				attrs := map[string]any{"security_group_id": sg, "direction": "ingress"}
				for k, v := range c.attrs {
					attrs[k] = v
				}
				e.postRule(member1, attrs).fault(t, c.status, c.typ, c.msg)
			})
		}
		// Nothing was stored by the refusals.
		got := e.do(member1, "GET", sgURL+"/"+sg.(string), nil).expect(t, 200).obj(t, "security_group")
		if n := len(rulesOf(got)); n != 2 {
			t.Errorf("group has %d rules after refusals, want 2", n)
		}
	})
}

func TestSecurityGroupRuleNormalisation(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		sg := e.createSG(member1, "n", nil)["id"]
		cases := []struct {
			name  string
			attrs map[string]any
			want  map[string]any
		}{
			{"protocol case", map[string]any{"protocol": "TCP", "port_range_min": 22, "port_range_max": 22},
				map[string]any{"protocol": "tcp", "port_range_min": 22.0, "port_range_max": 22.0, "ethertype": "IPv4"}},
			{"protocol number kept", map[string]any{"protocol": 17}, map[string]any{"protocol": "17"}},
			{"protocol any", map[string]any{"protocol": "any", "direction": "egress", "remote_ip_prefix": "192.0.2.0/24"},
				map[string]any{"protocol": nil}},
			{"whole port range", map[string]any{"protocol": "sctp", "port_range_min": 1, "port_range_max": 65535},
				map[string]any{"port_range_min": nil, "port_range_max": nil}},
			{"legacy icmpv6", map[string]any{"protocol": "icmpv6", "ethertype": "ipv6"},
				map[string]any{"protocol": "ipv6-icmp", "ethertype": "IPv6"}},
			{"icmp on IPv6", map[string]any{"protocol": "1", "ethertype": "IPv6", "remote_ip_prefix": "2001:db8::/64"},
				map[string]any{"protocol": "58"}},
			{"icmp type only", map[string]any{"protocol": "icmp", "port_range_min": 8},
				map[string]any{"port_range_min": 8.0, "port_range_max": nil}},
			{"host bits kept", map[string]any{"remote_ip_prefix": "10.0.0.5/24"},
				map[string]any{"remote_ip_prefix": "10.0.0.5/24", "normalized_cidr": "10.0.0.0/24"}},
			{"address gains length", map[string]any{"remote_ip_prefix": "10.1.2.3"},
				map[string]any{"remote_ip_prefix": "10.1.2.3/32", "normalized_cidr": "10.1.2.3/32"}},
			{"remote group", map[string]any{"remote_group_id": sg, "protocol": "tcp"},
				map[string]any{"remote_group_id": sg, "remote_ip_prefix": nil}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				attrs := map[string]any{"security_group_id": sg, "direction": "ingress"}
				for k, v := range c.attrs {
					attrs[k] = v
				}
				r := e.postRule(member1, attrs).expect(t, 201).obj(t, "security_group_rule")
				for k, v := range c.want {
					if r[k] != v {
						t.Errorf("%s = %v, want %v", k, r[k], v)
					}
				}
				shown := e.do(member1, "GET", ruleURL+"/"+r["id"].(string), nil).expect(t, 200).obj(t, "security_group_rule")
				if shown["protocol"] != r["protocol"] || shown["tenant_id"] != "project-one" {
					t.Errorf("shown %v, created %v", shown, r)
				}
			})
		}
		// Inline rules carry the same attributes as the rules API.
		g := e.do(member1, "GET", sgURL+"/"+sg.(string), nil).expect(t, 200).obj(t, "security_group")
		for _, r := range rulesOf(g) {
			shown := e.do(member1, "GET", ruleURL+"/"+r["id"].(string), nil).expect(t, 200).obj(t, "security_group_rule")
			for k, v := range shown {
				if fmt.Sprint(r[k]) != fmt.Sprint(v) {
					t.Errorf("inline %s = %v, rules API %v", k, r[k], v)
				}
			}
		}
	})
}

func TestSecurityGroupRuleDuplicatesAndBulk(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		sg := e.createSG(member1, "d", nil)["id"]
		first := e.postRule(member1, map[string]any{"security_group_id": sg, "direction": "ingress", "protocol": "tcp",
			"port_range_min": 80, "port_range_max": 80}).expect(t, 201).obj(t, "security_group_rule")
		// By number, and with the any-address prefix, it is the same rule.
		e.postRule(member1, map[string]any{"security_group_id": sg, "direction": "ingress", "protocol": "6",
			"port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"}).
			fault(t, 409, "SecurityGroupRuleExists", fmt.Sprintf("Security group rule already exists. Rule id is %s.", first["id"]))
		// The group's own egress rules count too.
		e.postRule(member1, map[string]any{"security_group_id": sg, "direction": "egress"}).
			fault(t, 409, "SecurityGroupRuleExists", "Rule id is")

		count := func() int {
			return len(e.do(member1, "GET", ruleURL+"?security_group_id="+sg.(string), nil).expect(t, 200).list(t, "security_group_rules"))
		}
		before := count()
		rule := func(port int) map[string]any {
			return map[string]any{"security_group_id": sg, "direction": "ingress", "protocol": "udp",
				"port_range_min": port, "port_range_max": port}
		}
		bad := rule(53)
		bad["port_range_max"] = 1
		e.do(member1, "POST", ruleURL, map[string]any{"security_group_rules": []any{rule(53), rule(54), bad}}).
			fault(t, 400, "SecurityGroupInvalidPortRange", "port_range_min must be <= port_range_max")
		e.do(member1, "POST", ruleURL, map[string]any{"security_group_rules": []any{rule(53), rule(54), rule(53)}}).
			fault(t, 409, "DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.")
		dup := rule(80)
		dup["protocol"] = "tcp"
		e.do(member1, "POST", ruleURL, map[string]any{"security_group_rules": []any{rule(53), dup}}).
			fault(t, 409, "SecurityGroupRuleExists", "Rule id is")
		other := e.createSG(member1, "other", nil)["id"]
		elsewhere := rule(55)
		elsewhere["security_group_id"] = other
		e.do(member1, "POST", ruleURL, map[string]any{"security_group_rules": []any{rule(53), elsewhere}}).
			fault(t, 400, "SecurityGroupNotSingleGroupRules", "Only allowed to update rules for one security profile at a time")
		if n := count(); n != before {
			t.Fatalf("refused bulks stored rules: %d, want %d", n, before)
		}
		created := e.do(member1, "POST", ruleURL, map[string]any{"security_group_rules": []any{rule(53), rule(54)}}).
			expect(t, 201).list(t, "security_group_rules")
		if len(created) != 2 || count() != before+2 {
			t.Errorf("bulk created %d, group has %d rules", len(created), count())
		}
		// Rules are not updatable but for their description.
		id := first["id"].(string)
		e.do(member1, "PUT", ruleURL+"/"+id, map[string]any{"security_group_rule": map[string]any{"protocol": "udp"}}).
			fault(t, 400, "HTTPBadRequest", "Cannot update read-only attribute protocol")
		e.do(member1, "PUT", ruleURL+"/"+id, map[string]any{"security_group_rule": map[string]any{"description": "http"}}).expect(t, 200)
		// Another project may neither see nor delete the rule.
		e.do(member2, "GET", ruleURL+"/"+id, nil).fault(t, 404, "SecurityGroupRuleNotFound", "Security group rule "+id+" does not exist")
		e.do(member2, "DELETE", ruleURL+"/"+id, nil).expect(t, 404)
		if r := e.postRule(member2, map[string]any{"security_group_id": sg, "direction": "ingress", "protocol": "tcp"}); r.status == 201 {
			t.Errorf("another project added a rule to the group: %s", r.raw)
		}
		if rules := e.do(member2, "GET", ruleURL, nil).expect(t, 200).list(t, "security_group_rules"); slices.Contains(ids(rules), id) {
			t.Errorf("another project lists the rule")
		}
		e.do(member1, "DELETE", ruleURL+"/"+id, nil).expect(t, 204)
		e.do(member1, "GET", ruleURL+"/"+id, nil).fault(t, 404, "SecurityGroupRuleNotFound", "does not exist")
	})
}

func TestSecurityGroupSharing(t *testing.T) {
	// RBAC targets are project UUIDs.
	member2 := &caller{project: "5f0c2f38-8a8e-4c53-9f38-7ad3cf3b1b62", roles: "member,reader"}
	engines(t, func(t *testing.T, e *env) {
		g := e.createSG(member1, "shared", nil)
		id := g["id"].(string)
		e.do(member2, "GET", sgURL+"/"+id, nil).expect(t, 404)
		net := e.createNetwork(member2, map[string]any{"name": "n"})
		port := map[string]any{"port": map[string]any{"network_id": net["id"], "security_groups": []string{id}}}
		e.do(member2, "POST", "/v2.0/ports", port).fault(t, 404, "SecurityGroupNotFound", "Security group "+id+" does not exist")

		e.do(member2, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "security_group", "object_id": id, "action": "access_as_shared",
			"target_tenant": member2.project}}).
			fault(t, 400, "InvalidInput", "Invalid input for operation: Only admins can manipulate policies on objects they do not own.")
		e.do(member1, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "security_group", "object_id": id, "action": "access_as_external",
			"target_tenant": member2.project}}).
			fault(t, 400, "InvalidInput", "Action 'access_as_external' for object type security_group is not supported")
		pol := e.do(member1, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "security_group", "object_id": id, "action": "access_as_shared",
			"target_tenant": member2.project}}).expect(t, 201).obj(t, "rbac_policy")
		seen := e.do(member2, "GET", sgURL+"/"+id, nil).expect(t, 200).obj(t, "security_group")
		if seen["shared"] != true || len(rulesOf(seen)) != 2 {
			t.Errorf("shared group as its target sees it: %v", seen)
		}
		p := e.do(member2, "POST", "/v2.0/ports", port).expect(t, 201).obj(t, "port")
		if sgs := p["security_groups"].([]any); len(sgs) != 1 || sgs[0] != id {
			t.Errorf("port groups %v", sgs)
		}
		// The target may not change or add rules to it.
		if r := e.do(member2, "PUT", sgURL+"/"+id, map[string]any{"security_group": map[string]any{"name": "x"}}); r.status == 200 {
			t.Errorf("target renamed a shared group")
		}
		e.do(member1, "DELETE", sgURL+"/"+id, nil).fault(t, 409, "SecurityGroupInUse", "Security Group "+id+" in use.")
		e.do(member1, "DELETE", "/v2.0/rbac-policies/"+pol["id"].(string), nil).fault(t, 409, "RbacPolicyInUse",
			"RBAC policy on object "+id+" cannot be removed because other objects depend on it.\nDetails: project_id="+member2.project)
		e.do(member2, "DELETE", "/v2.0/ports/"+p["id"].(string), nil).expect(t, 204)
		e.do(member1, "DELETE", "/v2.0/rbac-policies/"+pol["id"].(string), nil).expect(t, 204)
		e.do(member2, "GET", sgURL+"/"+id, nil).expect(t, 404)

		// A wildcard policy shares with everyone and is what shared=true
		// filters on.
		e.do(admin, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "security_group", "object_id": id, "action": "access_as_shared",
			"target_tenant": "*"}}).expect(t, 201)
		listed := e.do(member2, "GET", sgURL+"?shared=true", nil).expect(t, 200).list(t, "security_groups")
		if !slices.Equal(ids(listed), []string{id}) {
			t.Errorf("shared=true lists %v, want [%s]", ids(listed), id)
		}
		notShared := e.do(member2, "GET", sgURL+"?shared=false", nil).expect(t, 200).list(t, "security_groups")
		if slices.Contains(ids(notShared), id) {
			t.Errorf("shared=false lists the shared group")
		}
	})
}

func TestSecurityGroupPorts(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{"name": "p"})
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": net["id"], "ip_version": 4, "cidr": "10.9.0.0/24"}}).expect(t, 201)
		def := e.defaultSG(member1)["id"]
		web := e.createSG(member1, "web", nil)["id"].(string)
		db := e.createSG(member1, "db", nil)["id"].(string)
		stateless := e.createSG(member1, "raw", map[string]any{"stateful": false})["id"].(string)
		foreign := e.createSG(member2, "theirs", nil)["id"].(string)
		createPort := func(attrs map[string]any) *reply {
			body := map[string]any{"network_id": net["id"]}
			for k, v := range attrs {
				body[k] = v
			}
			return e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": body})
		}
		groups := func(p map[string]any) []string {
			var out []string
			for _, g := range p["security_groups"].([]any) {
				out = append(out, g.(string))
			}
			slices.Sort(out)
			return out
		}
		sorted := func(s ...string) []string { slices.Sort(s); return s }

		if p := createPort(nil).expect(t, 201).obj(t, "port"); !slices.Equal(groups(p), []string{def.(string)}) {
			t.Errorf("default port groups %v", groups(p))
		}
		p := createPort(map[string]any{"security_groups": []string{web, db}}).expect(t, 201).obj(t, "port")
		if !slices.Equal(groups(p), sorted(web, db)) {
			t.Errorf("port groups %v", groups(p))
		}
		if p := createPort(map[string]any{"security_groups": []string{}}).expect(t, 201).obj(t, "port"); len(groups(p)) != 0 {
			t.Errorf("port asked for no groups got %v", groups(p))
		}
		if p := createPort(map[string]any{"port_security_enabled": false}).expect(t, 201).obj(t, "port"); len(groups(p)) != 0 {
			t.Errorf("port without port security got %v", groups(p))
		}
		createPort(map[string]any{"port_security_enabled": false, "security_groups": []string{web}}).
			fault(t, 400, "PortSecurityAndIPRequiredForSecurityGroups",
				"Port security must be enabled and port must have an IP address in order to use security groups.")
		createPort(map[string]any{"port_security_enabled": false, "allowed_address_pairs": []any{map[string]any{"ip_address": "10.9.0.200"}}}).
			fault(t, 409, "AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
		createPort(map[string]any{"security_groups": []string{foreign}}).
			fault(t, 404, "SecurityGroupNotFound", "Security group "+foreign+" does not exist")
		createPort(map[string]any{"security_groups": []string{web, stateless}}).
			fault(t, 409, "SecurityGroupConflict",
				"Error Cannot apply both stateful and stateless security groups on the same port at the same time while attempting the operation.")
		createPort(map[string]any{"security_groups": []string{"not-a-uuid"}}).
			fault(t, 400, "HTTPBadRequest", "Invalid input for security_groups. Reason: 'not-a-uuid' is not a valid UUID.")
		// Network devices' ports take no groups.
		dhcp := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"],
			"device_owner": "network:dhcp", "project_id": "project-one"}}).expect(t, 201).obj(t, "port")
		if len(groups(dhcp)) != 0 {
			t.Errorf("DHCP port groups %v", groups(dhcp))
		}

		id := p["id"].(string)
		update := func(attrs map[string]any) *reply {
			return e.do(member1, "PUT", "/v2.0/ports/"+id, map[string]any{"port": attrs})
		}
		if u := update(map[string]any{"security_groups": []string{db}}).expect(t, 200).obj(t, "port"); !slices.Equal(groups(u), []string{db}) {
			t.Errorf("updated groups %v", groups(u))
		}
		// Ports filter by group (any of the groups given).
		if inWeb := e.do(member1, "GET", "/v2.0/ports?security_groups="+web, nil).expect(t, 200).list(t, "ports"); len(inWeb) != 0 {
			t.Errorf("ports in web: %v", ids(inWeb))
		}
		inDB := e.do(member1, "GET", "/v2.0/ports?security_groups="+db+"&security_groups="+web, nil).expect(t, 200).list(t, "ports")
		if !slices.Equal(ids(inDB), []string{id}) {
			t.Errorf("ports in db or web: %v, want [%s]", ids(inDB), id)
		}
		e.do(member1, "DELETE", sgURL+"/"+db, nil).fault(t, 409, "SecurityGroupInUse", "Security Group "+db+" in use.")
		e.do(member1, "PUT", sgURL+"/"+db, map[string]any{"security_group": map[string]any{"stateful": false}}).
			fault(t, 409, "SecurityGroupInUse", "in use")
		update(map[string]any{"port_security_enabled": false}).fault(t, 409, "PortSecurityPortHasSecurityGroup",
			"Port has security group associated. Cannot disable port security or IP address until security group is removed.")
		update(map[string]any{"port_security_enabled": false, "security_groups": []string{web}}).
			fault(t, 400, "PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled")
		u := update(map[string]any{"port_security_enabled": false, "security_groups": []string{}}).expect(t, 200).obj(t, "port")
		if len(groups(u)) != 0 || u["port_security_enabled"] != false {
			t.Errorf("port after disabling security: %v", u)
		}
		update(map[string]any{"security_groups": []string{web}}).fault(t, 400, "PortSecurityAndIPRequiredForSecurityGroups", "")
		e.do(member1, "DELETE", sgURL+"/"+db, nil).expect(t, 204)

		// Lists show every port's groups.
		ports := e.do(member1, "GET", "/v2.0/ports?fields=id&fields=security_groups", nil).expect(t, 200).list(t, "ports")
		withDefault := 0
		for _, p := range ports {
			if slices.Equal(groups(p), []string{def.(string)}) {
				withDefault++
			}
		}
		if withDefault != 1 {
			t.Errorf("%d ports listed with the default group, want 1: %v", withDefault, ports)
		}
	})
}

// TestConcurrentDefaultSecurityGroup has many clients, on two servers
// sharing PostgreSQL, be first to need a project's default group; exactly
// one must exist after.
func TestConcurrentDefaultSecurityGroup(t *testing.T) {
	for _, engine := range []string{"postgresql", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			envs := concurrencyEnvs(t, engine)
			ctx := context.Background()
			var f failures
			var wg sync.WaitGroup
			for round := 0; round < 4; round++ {
				project := fmt.Sprintf("race-%d", round)
				for i := 0; i < 16; i++ {
					wg.Add(1)
					go func(e *env, i int) {
						defer wg.Done()
						path := sgURL + "?project_id=" + project
						method, body := "GET", any(nil)
						if i%4 == 3 {
							method, path = "POST", sgURL
							body = map[string]any{"security_group": map[string]any{"name": fmt.Sprintf("g%d", i), "project_id": project}}
						}
						if r := call(ctx, e.url, method, path, body); r.err != nil || r.status >= 300 {
							f.add("%s %s: %v", method, path, r)
						}
					}(envs[i%len(envs)], i)
				}
			}
			wg.Wait()
			f.report(t)
			for round := 0; round < 4; round++ {
				project := fmt.Sprintf("race-%d", round)
				defaults := envs[0].do(admin, "GET", sgURL+"?name=default&project_id="+project, nil).expect(t, 200).list(t, "security_groups")
				if len(defaults) != 1 {
					t.Errorf("project %s has %d default groups, want 1", project, len(defaults))
				}
			}
		})
	}
}

// TestConcurrentDuplicateRules has many clients add the same rule at
// once: exactly one succeeds, the others are told it exists.
func TestConcurrentDuplicateRules(t *testing.T) {
	for _, engine := range []string{"postgresql", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			envs := concurrencyEnvs(t, engine)
			sg := envs[0].createSG(admin, "race", nil)["id"]
			ctx := context.Background()
			var mu sync.Mutex
			var created, exists int
			var f failures
			var wg sync.WaitGroup
			for i := 0; i < 24; i++ {
				wg.Add(1)
				go func(e *env, port int) {
					defer wg.Done()
					r := call(ctx, e.url, "POST", ruleURL, map[string]any{"security_group_rule": map[string]any{
						"security_group_id": sg, "direction": "ingress", "protocol": "tcp",
						"port_range_min": port, "port_range_max": port}})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case r.status == 201:
						created++
					case r.status == 409 && r.errType() == "SecurityGroupRuleExists":
						exists++
					default:
						f.add("rule create: %v", r)
					}
				}(envs[i%len(envs)], 443+i%3)
			}
			wg.Wait()
			f.report(t)
			if created != 3 || exists != 21 {
				t.Errorf("%d created, %d refused as existing; want 3 and 21", created, exists)
			}
		})
	}
}

// TestSecurityGroupReadsFixedQueries checks that reads cost the same
// number of queries however many objects they return: lists of groups
// (rules inline), of rules, of ports (their groups), and the agents'
// security_group_info_for_devices.
func TestSecurityGroupReadsFixedQueries(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.do(admin, "PUT", "/v2.0/quotas/project-one", map[string]any{"quota": map[string]any{
			"security_group": -1, "security_group_rule": -1, "port": -1}}).expect(t, 200)
		net := e.createNetwork(member1, map[string]any{"name": "q"})
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": net["id"], "ip_version": 4, "cidr": "10.7.0.0/24"}}).expect(t, 201)
		var groups, ports []string
		grow := func(n int) {
			for i := 0; i < n; i++ {
				g := e.createSG(member1, fmt.Sprintf("g%d", len(groups)), nil)["id"].(string)
				e.postRule(member1, map[string]any{"security_group_id": g, "direction": "ingress", "protocol": "tcp",
					"remote_group_id": g}).expect(t, 201)
				groups = append(groups, g)
				p := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"],
					"security_groups": []string{g}}}).expect(t, 201).obj(t, "port")
				ports = append(ports, p["id"].(string))
			}
		}
		cost := func(f func()) int64 {
			before := e.srv.Store.Queries()
			f()
			return e.srv.Store.Queries() - before
		}
		reads := map[string]func(){
			"groups": func() { e.do(member1, "GET", sgURL, nil).expect(t, 200) },
			"rules":  func() { e.do(member1, "GET", ruleURL, nil).expect(t, 200) },
			"ports":  func() { e.do(member1, "GET", "/v2.0/ports", nil).expect(t, 200) },
			"info": func() {
				if _, err := e.srv.SecurityGroups.SecurityGroupInfoForDevices(context.Background(), ports); err != nil {
					t.Fatal(err)
				}
			},
			// As Linux bridge agents ask: by tap name.
			"info by tap": func() {
				taps := make([]string, len(ports))
				for i, id := range ports {
					taps[i] = "tap" + id[:11]
				}
				info, err := e.srv.SecurityGroups.SecurityGroupInfoForDevices(context.Background(), taps)
				if err != nil || len(info.Devices) != len(ports) {
					t.Fatalf("info by tap: %d devices for %d taps, %v", len(info.Devices), len(taps), err)
				}
			},
		}
		grow(2)
		small := map[string]int64{}
		for name, f := range reads {
			f() // warm: the default group exists from here on
			small[name] = cost(f)
			if small[name] == 0 {
				t.Fatalf("%s: no queries counted", name)
			}
			t.Logf("%s: %d queries", name, small[name])
		}
		grow(15)
		for name, f := range reads {
			if got := cost(f); got != small[name] {
				t.Errorf("%s: %d queries for 17 groups and ports, %d for 2", name, got, small[name])
			}
		}
	})
}
