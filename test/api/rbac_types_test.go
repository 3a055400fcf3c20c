package api_test

import (
	"testing"
)

// rbacPolicy creates an RBAC policy as a caller and returns the reply.
func (e *env) rbacPolicy(as *caller, objectType, id, action, target string) *reply {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
		"object_type": objectType, "object_id": id, "action": action, "target_tenant": target}})
}

func TestRBACPolicyQuota(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.do(admin, "PUT", "/v2.0/quotas/"+ownerP.project, map[string]any{"quota": map[string]any{"rbac_policy": 2}}).expect(t, 200)
		id := e.createNetwork(ownerP, map[string]any{"name": "q"})["id"].(string)
		e.rbacPolicy(ownerP, "network", id, "access_as_shared", guestP.project).expect(t, 201)
		e.rbacPolicy(ownerP, "network", id, "access_as_shared", thirdP.project).expect(t, 201)
		e.rbacPolicy(ownerP, "network", id, "access_as_shared", "another-project").
			fault(t, 409, "OverQuota", "Quota exceeded for resources: ['rbac_policy'].")
	})
}

func TestRBACAddressScopeAndSubnetPool(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		scope := e.do(ownerP, "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{
			"name": "scope", "ip_version": 4}}).expect(t, 201).obj(t, "address_scope")
		scopeID := scope["id"].(string)
		pool := e.do(ownerP, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "pool", "prefixes": []string{"10.80.0.0/16"}, "default_prefixlen": 24, "address_scope_id": scopeID}}).
			expect(t, 201).obj(t, "subnetpool")
		poolID := pool["id"].(string)
		e.do(guestP, "GET", "/v2.0/subnetpools/"+poolID, nil).fault(t, 404, "SubnetPoolNotFound", poolID)

		// A pool in a scope may be shared only with projects that see the scope.
		e.rbacPolicy(ownerP, "subnetpool", poolID, "access_as_shared", guestP.project).
			fault(t, 400, "RbacPolicyInitError", "target project doesn't have access to associated address scope")
		e.rbacPolicy(ownerP, "address_scope", scopeID, "access_as_external", guestP.project).
			fault(t, 400, "InvalidInput", "Action 'access_as_external' for object type address_scope is not supported")
		scopePol := e.rbacPolicy(ownerP, "address_scope", scopeID, "access_as_shared", guestP.project).expect(t, 201).obj(t, "rbac_policy")
		got := e.do(guestP, "GET", "/v2.0/address-scopes/"+scopeID, nil).expect(t, 200).obj(t, "address_scope")
		if got["shared"] != true {
			t.Errorf("scope shared with the guest shows shared=%v", got["shared"])
		}
		if own := e.do(ownerP, "GET", "/v2.0/address-scopes/"+scopeID, nil).expect(t, 200).obj(t, "address_scope"); own["shared"] != false {
			t.Errorf("owner sees shared=%v for a scope shared with one project", own["shared"])
		}
		e.do(thirdP, "GET", "/v2.0/address-scopes/"+scopeID, nil).fault(t, 404, "AddressScopeNotFound", scopeID)
		poolPol := e.rbacPolicy(ownerP, "subnetpool", poolID, "access_as_shared", guestP.project).expect(t, 201).obj(t, "rbac_policy")
		if !containsID(e.do(guestP, "GET", "/v2.0/subnetpools", nil).expect(t, 200).list(t, "subnetpools"), poolID) {
			t.Errorf("guest's list lacks the shared pool")
		}
		e.do(thirdP, "GET", "/v2.0/subnetpools/"+poolID, nil).fault(t, 404, "SubnetPoolNotFound", poolID)

		// The guest allocates a subnet from the pool: the pool's policy is
		// then in use.
		net := e.createNetwork(guestP, map[string]any{"name": "guest-net"})
		sub := e.do(guestP, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": net["id"], "ip_version": 4, "subnetpool_id": poolID}}).expect(t, 201).obj(t, "subnet")
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+poolPol["id"].(string), nil).fault(t, 409, "RbacPolicyInUse", poolID)
		e.do(ownerP, "PUT", "/v2.0/rbac-policies/"+poolPol["id"].(string), map[string]any{"rbac_policy": map[string]any{
			"target_tenant": thirdP.project}}).fault(t, 409, "RbacPolicyInUse", poolID)
		e.do(guestP, "DELETE", "/v2.0/subnets/"+sub["id"].(string), nil).expect(t, 204)
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+poolPol["id"].(string), nil).expect(t, 204)
		e.do(guestP, "GET", "/v2.0/subnetpools/"+poolID, nil).fault(t, 404, "SubnetPoolNotFound", poolID)

		// The guest may put its own pool in the scope shared with it (an
		// RBAC policy makes the scope accessible, as Neutron's
		// AddressScope.is_accessible), and the pool keeps the scope's
		// policy in use; a project the scope is not shared with does not
		// find it.
		e.do(thirdP, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "third-pool", "prefixes": []string{"10.83.0.0/16"}, "address_scope_id": scopeID}}).
			fault(t, 404, "AddressScopeNotFound", scopeID)
		guestPool := e.do(guestP, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "guest-pool", "prefixes": []string{"10.81.0.0/16"}, "address_scope_id": scopeID}}).
			expect(t, 201).obj(t, "subnetpool")
		if guestPool["address_scope_id"] != scopeID {
			t.Errorf("guest's pool %v", guestPool)
		}
		moved := e.do(guestP, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "guest-pool-2", "prefixes": []string{"10.84.0.0/16"}}}).expect(t, 201).obj(t, "subnetpool")
		e.do(guestP, "PUT", "/v2.0/subnetpools/"+moved["id"].(string), map[string]any{"subnetpool": map[string]any{
			"address_scope_id": scopeID}}).expect(t, 200)
		e.do(guestP, "DELETE", "/v2.0/subnetpools/"+moved["id"].(string), nil).expect(t, 204)
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+scopePol["id"].(string), nil).fault(t, 409, "RbacPolicyInUse", scopeID)
		e.do(admin, "DELETE", "/v2.0/subnetpools/"+guestPool["id"].(string), nil).expect(t, 204)
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+scopePol["id"].(string), nil).expect(t, 204)

		// shared=true on create is the wildcard policy; deleting the
		// pool deletes its policies.
		shared := e.do(admin, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "shared-pool", "prefixes": []string{"10.82.0.0/16"}, "shared": true}}).expect(t, 201).obj(t, "subnetpool")
		pols := e.do(admin, "GET", "/v2.0/rbac-policies?object_id="+shared["id"].(string), nil).expect(t, 200).list(t, "rbac_policies")
		if len(pols) != 1 || pols[0]["target_tenant"] != "*" || pols[0]["object_type"] != "subnetpool" {
			t.Fatalf("policies of a shared pool: %v", pols)
		}
		if g := e.do(thirdP, "GET", "/v2.0/subnetpools/"+shared["id"].(string), nil).expect(t, 200).obj(t, "subnetpool"); g["shared"] != true {
			t.Errorf("shared pool shows shared=%v", g["shared"])
		}
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pols[0]["id"].(string), nil).expect(t, 204)
		if g := e.do(admin, "GET", "/v2.0/subnetpools/"+shared["id"].(string), nil).expect(t, 200).obj(t, "subnetpool"); g["shared"] != false {
			t.Errorf("pool after its wildcard policy went shows shared=%v", g["shared"])
		}
		e.do(thirdP, "GET", "/v2.0/subnetpools/"+shared["id"].(string), nil).fault(t, 404, "SubnetPoolNotFound", shared["id"].(string))
		e.rbacPolicy(admin, "subnetpool", shared["id"].(string), "access_as_shared", guestP.project).expect(t, 201)
		e.do(admin, "DELETE", "/v2.0/subnetpools/"+shared["id"].(string), nil).expect(t, 204)
		if pols := e.do(admin, "GET", "/v2.0/rbac-policies?object_id="+shared["id"].(string), nil).expect(t, 200).list(t, "rbac_policies"); len(pols) != 0 {
			t.Errorf("policies of a deleted pool: %v", pols)
		}
	})
}

func TestRBACExternalForOneProject(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(admin, map[string]any{"name": "ext-one"})
		id := net["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": id, "ip_version": 4, "cidr": "198.51.100.0/24", "enable_dhcp": false}}).expect(t, 201)

		pol := e.rbacPolicy(admin, "network", id, "access_as_external", guestP.project).expect(t, 201).obj(t, "rbac_policy")
		if got := e.do(admin, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network"); got["router:external"] != true {
			t.Errorf("a network external for one project shows router:external=%v", got["router:external"])
		}
		g := e.do(guestP, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network")
		if g["router:external"] != true || g["shared"] != false {
			t.Errorf("target project sees %v", g)
		}
		if !containsID(e.do(guestP, "GET", "/v2.0/networks?router:external=true", nil).expect(t, 200).list(t, "networks"), id) {
			t.Errorf("target project's list of external networks lacks it")
		}
		e.do(thirdP, "GET", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", id)
		if containsID(e.do(thirdP, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks"), id) {
			t.Errorf("another project lists the network")
		}
		e.do(thirdP, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": id}}).
			fault(t, 404, "NetworkNotFound", id)
		// A port on it: create_port's "rule:shared" looks the network up
		// as the port's project (neutron.policy.FieldCheck), which finds
		// it only where the policy targets; there it is not shared, so
		// the rule refuses.
		for _, c := range []struct {
			as        *caller
			status    int
			typ, text string
		}{
			{guestP, 403, "PolicyNotAuthorized", "create_port"},
			{thirdP, 404, "NetworkNotFound", id},
		} {
			e.do(c.as, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": id}}).
				fault(t, c.status, c.typ, c.text)
		}
		// The target project sets a gateway and allocates a floating IP.
		router := e.do(guestP, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{
			"name": "r", "external_gateway_info": map[string]any{"network_id": id}}}).expect(t, 201).obj(t, "router")
		fip := e.do(guestP, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": id}}).
			expect(t, 201).obj(t, "floatingip")

		// Its policy is in use while its router has the gateway; a
		// wildcard policy lets it go, and is itself in use then.
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pol["id"].(string), nil).fault(t, 409, "RbacPolicyInUse",
			"There are routers attached to this network that depend on this policy for access.")
		wild := e.rbacPolicy(admin, "network", id, "access_as_external", "*").expect(t, 201).obj(t, "rbac_policy")
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pol["id"].(string), nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+wild["id"].(string), nil).fault(t, 409, "RbacPolicyInUse", id)
		e.do(guestP, "DELETE", "/v2.0/floatingips/"+fip["id"].(string), nil).expect(t, 204)
		e.do(guestP, "DELETE", "/v2.0/routers/"+router["id"].(string), nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+wild["id"].(string), nil).expect(t, 204)
		// The last external policy gone, the network is internal again.
		if got := e.do(admin, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network"); got["router:external"] != false {
			t.Errorf("network without external policies shows router:external=%v", got["router:external"])
		}
		e.do(guestP, "GET", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", id)

		// The default external network's wildcard policy stays while it is
		// the default.
		pub := e.createNetwork(admin, map[string]any{"name": "public", "router:external": true, "is_default": true})
		pols := e.do(admin, "GET", "/v2.0/rbac-policies?action=access_as_external&object_id="+pub["id"].(string), nil).
			expect(t, 200).list(t, "rbac_policies")
		if len(pols) != 1 {
			t.Fatalf("policies of an external network: %v", pols)
		}
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pols[0]["id"].(string), nil).fault(t, 409, "RbacPolicyInUse",
			"Default external networks must be shared to everyone.")
		if got := e.do(guestP, "GET", "/v2.0/networks/"+pub["id"].(string), nil).expect(t, 200).obj(t, "network"); got["router:external"] != true {
			t.Errorf("public network after the refused delete: %v", got)
		}
	})
}
