package api_test

import (
	"strings"
	"testing"
)

// Projects with UUID-like ids, as RBAC target_tenant requires.
var (
	ownerP = &caller{project: "aaaaaaaa-0000-4000-8000-000000000001", roles: "member,reader"}
	guestP = &caller{project: "aaaaaaaa-0000-4000-8000-000000000002", roles: "member,reader"}
	thirdP = &caller{project: "aaaaaaaa-0000-4000-8000-000000000003", roles: "member,reader"}
)

func TestRBACNetworkSharing(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(ownerP, map[string]any{"name": "private"})
		id := net["id"].(string)
		e.do(guestP, "GET", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", id)

		pol := e.do(ownerP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": id, "action": "access_as_shared", "target_tenant": guestP.project,
		}}).expect(t, 201).obj(t, "rbac_policy")
		if _, ok := pol["target_project"]; ok || pol["target_tenant"] != guestP.project || pol["project_id"] != ownerP.project {
			t.Errorf("policy %v (Neutron 21 shows target_tenant and no target_project)", pol)
		}
		polID := pol["id"].(string)

		// The guest now sees the network, as shared; the third project does not.
		got := e.do(guestP, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network")
		if got["shared"] != true {
			t.Errorf("network shared with guest shows shared=%v", got["shared"])
		}
		if !containsID(e.do(guestP, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks"), id) {
			t.Errorf("guest's list lacks the shared network")
		}
		e.do(thirdP, "GET", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", id)
		if own := e.do(ownerP, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network"); own["shared"] != false {
			t.Errorf("owner sees shared=%v for a network shared with one project", own["shared"])
		}

		// Duplicates and foreign networks are refused.
		e.do(ownerP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": id, "action": "access_as_shared", "target_tenant": guestP.project,
		}}).fault(t, 409, "DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
		// Any project id string up to 255 characters is a target.
		e.do(ownerP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": id, "action": "access_as_shared", "target_tenant": strings.Repeat("p", 256),
		}}).fault(t, 400, "HTTPBadRequest", "exceeds maximum length of 255")
		other := e.do(ownerP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": id, "action": "access_as_shared", "target_tenant": "not-a-uuid",
		}}).expect(t, 201).obj(t, "rbac_policy")
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+other["id"].(string), nil).expect(t, 204)
		e.do(ownerP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "bogus", "object_id": id, "action": "access_as_shared", "target_tenant": guestP.project,
		}}).fault(t, 400, "InvalidInput", "'bogus' is not a valid RBAC object type")
		// Only admins share with everyone.
		e.do(ownerP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": id, "action": "access_as_shared", "target_tenant": "*",
		}}).fault(t, 403, "PolicyNotAuthorized", "target")

		// Once the guest uses the network, its access cannot be withdrawn.
		port := e.do(guestP, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": id}}).
			expect(t, 201).obj(t, "port")
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+polID, nil).fault(t, 409, "RbacPolicyInUse", id)
		e.do(guestP, "DELETE", "/v2.0/ports/"+port["id"].(string), nil).expect(t, 204)
		e.do(ownerP, "DELETE", "/v2.0/rbac-policies/"+polID, nil).expect(t, 204)
		e.do(guestP, "GET", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", id)
	})
}

func TestSharedFlagIsAWildcardPolicy(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(admin, map[string]any{"name": "public", "shared": true, "tenant_id": ownerP.project})
		id := net["id"].(string)
		pols := e.do(admin, "GET", "/v2.0/rbac-policies?object_id="+id, nil).expect(t, 200).list(t, "rbac_policies")
		if len(pols) != 1 || pols[0]["target_tenant"] != "*" || pols[0]["action"] != "access_as_shared" {
			t.Fatalf("policies for a shared network: %v", pols)
		}
		e.do(guestP, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": id}}).expect(t, 201)
		// Unsharing while another project uses it is refused.
		e.do(admin, "PUT", "/v2.0/networks/"+id, map[string]any{"network": map[string]any{"shared": false}}).
			fault(t, 409, "InvalidSharedSetting", "Unable to reconfigure sharing settings for network")
		// Deleting the wildcard policy is refused likewise.
		e.do(admin, "DELETE", "/v2.0/rbac-policies/"+pols[0]["id"].(string), nil).fault(t, 409, "RbacPolicyInUse", id)

		ext := e.createNetwork(admin, map[string]any{"name": "ext", "router:external": true})
		pols = e.do(admin, "GET", "/v2.0/rbac-policies?object_id="+ext["id"].(string), nil).expect(t, 200).list(t, "rbac_policies")
		if len(pols) != 1 || pols[0]["action"] != "access_as_external" {
			t.Errorf("policies for an external network: %v", pols)
		}
		e.do(admin, "PUT", "/v2.0/networks/"+ext["id"].(string), map[string]any{"network": map[string]any{"router:external": false}}).expect(t, 200)
		if pols := e.do(admin, "GET", "/v2.0/rbac-policies?object_id="+ext["id"].(string), nil).expect(t, 200).list(t, "rbac_policies"); len(pols) != 0 {
			t.Errorf("policies after clearing router:external: %v", pols)
		}
		// Deleting a network deletes its policies.
		e.do(admin, "DELETE", "/v2.0/networks/"+ext["id"].(string), nil).expect(t, 204)
	})
}

func containsID(items []map[string]any, id string) bool {
	for _, it := range items {
		if it["id"] == id {
			return true
		}
	}
	return false
}
