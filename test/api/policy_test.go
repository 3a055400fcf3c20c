package api_test

import (
	"testing"
)

func TestPolicyAndVisibility(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		own := e.createNetwork(member1, map[string]any{"name": "private-one"})
		if own["project_id"] != "project-one" || own["tenant_id"] != "project-one" {
			t.Fatalf("owner taken from the caller: %v", own)
		}
		shared := e.createNetwork(admin, map[string]any{"name": "shared", "shared": true, "tenant_id": "project-one"})
		external := e.createNetwork(admin, map[string]any{"name": "public", "router:external": true})
		other := e.createNetwork(member2, map[string]any{"name": "private-two"})
		ownID, sharedID, otherID := own["id"].(string), shared["id"].(string), other["id"].(string)

		// Attribute rules: only admins share, make external or default networks.
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"shared": true}}).
			fault(t, 403, "PolicyNotAuthorized", "rule:create_network:shared")
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"router:external": true}}).
			fault(t, 403, "PolicyNotAuthorized", "create_network:router:external")
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"shared": false}}).expect(t, 201)
		e.do(member1, "PUT", "/v2.0/networks/"+ownID, map[string]any{"network": map[string]any{"shared": true}}).
			fault(t, 403, "PolicyNotAuthorized", "update_network:shared")
		// Readers read but do not write.
		e.do(reader1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "r"}}).
			fault(t, 403, "PolicyNotAuthorized", "rule:create_network")
		e.do(reader1, "GET", "/v2.0/networks/"+ownID, nil).expect(t, 200)
		// Acting for another project is refused for non-admins.
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"tenant_id": "project-two"}}).
			fault(t, 400, "HTTPBadRequest", "Specifying 'project_id' other than the authenticated project")

		// What a project may not see is a 404, never a 403.
		e.do(member2, "GET", "/v2.0/networks/"+ownID, nil).fault(t, 404, "NetworkNotFound", ownID)
		e.do(member2, "PUT", "/v2.0/networks/"+ownID, map[string]any{"network": map[string]any{"name": "x"}}).
			fault(t, 404, "NetworkNotFound", ownID)
		e.do(member2, "DELETE", "/v2.0/networks/"+ownID, nil).fault(t, 404, "NetworkNotFound", ownID)
		// A shared network is visible to all, but only its owner changes it.
		e.do(member2, "GET", "/v2.0/networks/"+sharedID, nil).expect(t, 200)
		e.do(member2, "PUT", "/v2.0/networks/"+sharedID, map[string]any{"network": map[string]any{"name": "x"}}).
			fault(t, 403, "PolicyNotAuthorized", "update_network")
		e.do(member2, "DELETE", "/v2.0/networks/"+sharedID, nil).fault(t, 403, "PolicyNotAuthorized", "delete_network")

		got := map[string]bool{}
		for _, n := range e.do(member2, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks") {
			got[n["id"].(string)] = true
		}
		want := map[string]bool{sharedID: true, external["id"].(string): true, otherID: true}
		if len(got) != len(want) {
			t.Errorf("member2 sees %v, want %v", got, want)
		}
		for id := range want {
			if !got[id] {
				t.Errorf("member2 does not see %s", id)
			}
		}
		// The admin sees everything.
		if n := len(e.do(admin, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks")); n != 5 {
			t.Errorf("admin sees %d networks, want 5", n)
		}
		// The owner deletes its own network.
		e.do(member1, "DELETE", "/v2.0/networks/"+ownID, nil).expect(t, 204)
	})
}
