package api_test

import (
	"slices"
	"testing"
)

func addresses(t *testing.T, ag map[string]any) []string {
	t.Helper()
	raw, _ := ag["addresses"].([]any)
	out := make([]string, len(raw))
	for i, a := range raw {
		out[i], _ = a.(string)
	}
	slices.Sort(out)
	return out
}

func TestAddressGroups(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		ag := e.do(member1, "POST", "/v2.0/address-groups", map[string]any{"address_group": map[string]any{
			"name": "ag", "description": "d", "addresses": []string{"10.10.10.3/32", "192.168.0.10/24", "2001:db8::f00/64"}}}).
			expect(t, 201).obj(t, "address_group")
		id := ag["id"].(string)
		want := []string{"10.10.10.3/32", "192.168.0.0/24", "2001:db8::/64"}
		if got := addresses(t, ag); !slices.Equal(got, want) {
			t.Errorf("addresses %v, want %v (normalized)", got, want)
		}
		for _, k := range []string{"id", "name", "description", "project_id", "tenant_id", "addresses",
			"created_at", "updated_at", "revision_number"} {
			if _, ok := ag[k]; !ok {
				t.Errorf("reply lacks %s: %v", k, ag)
			}
		}
		for _, k := range []string{"shared", "tags"} {
			if _, ok := ag[k]; ok {
				t.Errorf("reply shows %s: %v", k, ag)
			}
		}
		e.do(member1, "POST", "/v2.0/address-groups", map[string]any{"address_group": map[string]any{
			"addresses": []string{"10.20.30.40"}}}).fault(t, 400, "HTTPBadRequest", "'10.20.30.40' isn't a recognized IP subnet cidr, '10.20.30.40/32' is recommended")
		e.do(member1, "POST", "/v2.0/address-groups", map[string]any{"address_group": map[string]any{
			"addresses": []string{"this is bad IP address"}}}).fault(t, 400, "HTTPBadRequest", "is not a valid IP subnet")
		e.do(member1, "POST", "/v2.0/address-groups", map[string]any{"address_group": map[string]any{
			"addresses": nil}}).expect(t, 201)

		up := e.do(member1, "PUT", "/v2.0/address-groups/"+id, map[string]any{"address_group": map[string]any{
			"description": "new"}}).expect(t, 200).obj(t, "address_group")
		if up["description"] != "new" || !slices.Equal(addresses(t, up), want) {
			t.Errorf("updated %v", up)
		}
		e.do(member1, "PUT", "/v2.0/address-groups/"+id, map[string]any{"address_group": map[string]any{
			"addresses": []string{}}}).fault(t, 400, "HTTPBadRequest", "addresses")

		// The actions.
		got := e.do(member1, "PUT", "/v2.0/address-groups/"+id+"/add_addresses", map[string]any{
			"addresses": []string{"10.20.30.40/32"}}).expect(t, 200).obj(t, "address_group")
		if a := addresses(t, got); !slices.Contains(a, "10.20.30.40/32") || len(a) != 4 {
			t.Errorf("after add_addresses: %v", a)
		}
		e.do(member1, "PUT", "/v2.0/address-groups/"+id+"/add_addresses", map[string]any{
			"addresses": []string{"10.20.30.40"}}).fault(t, 400, "AddressesAlreadyExist",
			"Addresses ['10.20.30.40/32'] already exist in the address group "+id+".")
		e.do(member1, "PUT", "/v2.0/address-groups/"+id+"/add_addresses", map[string]any{
			"addresses": []string{"this is bad IP address"}}).fault(t, 400, "AddrFormatError", "this is bad IP address")
		e.do(member1, "PUT", "/v2.0/address-groups/"+id+"/remove_addresses", map[string]any{
			"addresses": []string{"10.200.200.200"}}).fault(t, 404, "AddressesNotFound",
			"Addresses ['10.200.200.200/32'] not found in the address group "+id+".")
		got = e.do(member1, "PUT", "/v2.0/address-groups/"+id+"/remove_addresses", map[string]any{
			"addresses": []string{"10.10.10.3/32"}}).expect(t, 200).obj(t, "address_group")
		if a := addresses(t, got); slices.Contains(a, "10.10.10.3/32") || len(a) != 3 {
			t.Errorf("after remove_addresses: %v", a)
		}
		e.do(member2, "GET", "/v2.0/address-groups/"+id, nil).fault(t, 404, "AddressGroupNotFound", id)
		e.do(member2, "PUT", "/v2.0/address-groups/"+id+"/add_addresses", map[string]any{
			"addresses": []string{"10.0.0.1/32"}}).fault(t, 404, "AddressGroupNotFound", id)

		// Rules name a group as their remote, one remote at most.
		sg := e.createSG(member1, "sg", nil)
		rule := map[string]any{"security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4",
			"protocol": "tcp", "remote_address_group_id": id}
		r := e.do(member1, "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": rule}).
			expect(t, 201).obj(t, "security_group_rule")
		if r["remote_address_group_id"] != id || r["remote_group_id"] != nil || r["remote_ip_prefix"] != nil {
			t.Errorf("rule %v", r)
		}
		e.do(member1, "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": rule}).
			fault(t, 409, "SecurityGroupRuleExists", "")
		both := map[string]any{"security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4",
			"remote_ip_prefix": "10.0.0.0/8", "remote_address_group_id": id}
		e.do(member1, "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": both}).
			fault(t, 400, "SecurityGroupMultipleRemoteEntites",
				"Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
		other := e.createSG(member2, "other", nil)
		e.do(member2, "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{
			"security_group_id": other["id"], "direction": "ingress", "remote_address_group_id": id}}).
			fault(t, 404, "AddressGroupNotFound", id)
		if rs := e.do(member1, "GET", "/v2.0/security-group-rules?remote_address_group_id="+id, nil).
			expect(t, 200).list(t, "security_group_rules"); len(rs) != 1 {
			t.Errorf("rules filtered by remote_address_group_id: %v", rs)
		}

		e.do(member1, "DELETE", "/v2.0/address-groups/"+id, nil).fault(t, 409, "AddressGroupInUse",
			"Address group "+id+" is in use on one or more security group rules.")
		e.do(member1, "DELETE", "/v2.0/security-group-rules/"+r["id"].(string), nil).expect(t, 204)
		e.do(member1, "DELETE", "/v2.0/address-groups/"+id, nil).expect(t, 204)
		e.do(member1, "GET", "/v2.0/address-groups/"+id, nil).fault(t, 404, "AddressGroupNotFound", id)
	})
}

func TestRBACAddressGroup(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		ag := e.do(admin, "POST", "/v2.0/address-groups", map[string]any{"address_group": map[string]any{
			"name": "shared-ag", "addresses": []string{"10.1.0.0/16"}}}).expect(t, 201).obj(t, "address_group")
		id := ag["id"].(string)
		e.do(guestP, "GET", "/v2.0/address-groups/"+id, nil).fault(t, 404, "AddressGroupNotFound", id)
		pol := e.rbacPolicy(admin, "address_group", id, "access_as_shared", guestP.project).expect(t, 201).obj(t, "rbac_policy")
		e.do(guestP, "GET", "/v2.0/address-groups/"+id, nil).expect(t, 200)
		if !containsID(e.do(guestP, "GET", "/v2.0/address-groups", nil).expect(t, 200).list(t, "address_groups"), id) {
			t.Error("guest's list lacks the shared group")
		}
		e.do(thirdP, "GET", "/v2.0/address-groups/"+id, nil).fault(t, 404, "AddressGroupNotFound", id)
		// The guest may use it but not change it (404, as Neutron: shared
		// is not shown, so the refused update hides the group).
		e.do(guestP, "PUT", "/v2.0/address-groups/"+id, map[string]any{"address_group": map[string]any{"name": "x"}}).
			fault(t, 404, "AddressGroupNotFound", id)
		e.rbacPolicy(guestP, "address_group", id, "access_as_shared", thirdP.project).
			fault(t, 400, "InvalidInput", "Only admins can manipulate policies on objects they do not own")

		sg := e.createSG(guestP, "guest-sg", nil)
		r := e.do(guestP, "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{
			"security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp", "remote_address_group_id": id}}).
			expect(t, 201).obj(t, "security_group_rule")
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pol["id"].(string), nil).fault(t, 409, "RbacPolicyInUse", id)
		e.do(guestP, "DELETE", "/v2.0/security-group-rules/"+r["id"].(string), nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pol["id"].(string), nil).expect(t, 204)
		e.do(guestP, "GET", "/v2.0/address-groups/"+id, nil).fault(t, 404, "AddressGroupNotFound", id)
	})
}
