package api_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIsolationMatrix checks, for every resource and verb, that another
// project cannot see, change or delete a project's objects (404), that a
// reader cannot write (403), and that an admin can do all, with noauth
// identity headers. test/keystone runs the same matrix with real tokens.
func TestIsolationMatrix(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		owner := &caller{project: ownerP.project, roles: "member,reader"}
		reader := &caller{project: ownerP.project, roles: "reader"}
		other := &caller{project: guestP.project, roles: "member,reader"}

		net := e.createNetwork(owner, map[string]any{"name": "iso"})
		netID := net["id"].(string)
		type row struct {
			path, key, collection string
			create, update        map[string]any
		}
		rows := []row{
			{"networks", "network", "networks", map[string]any{"name": "n"}, map[string]any{"name": "n2"}},
			{"subnets", "subnet", "subnets", map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.9.0.0/24"},
				map[string]any{"name": "s2"}},
			{"ports", "port", "ports", map[string]any{"network_id": netID}, map[string]any{"name": "p2"}},
			{"subnetpools", "subnetpool", "subnetpools", map[string]any{"name": "sp", "prefixes": []string{"10.200.0.0/16"}},
				map[string]any{"name": "sp2"}},
			{"address-scopes", "address_scope", "address_scopes", map[string]any{"name": "as", "ip_version": 4},
				map[string]any{"name": "as2"}},
			{"rbac-policies", "rbac_policy", "rbac_policies", map[string]any{"object_type": "network", "object_id": netID,
				"action": "access_as_shared", "target_tenant": thirdP.project}, map[string]any{"target_tenant": thirdP.project}},
		}
		for _, r := range rows {
			t.Run(r.path, func(t *testing.T) {
				obj := e.do(owner, "POST", "/v2.0/"+r.path, map[string]any{r.key: r.create}).expect(t, 201).obj(t, r.key)
				id := obj["id"].(string)
				member := "/v2.0/" + r.path + "/" + id
				body := map[string]any{r.key: r.update}

				// Another project: 404 for every verb, and absent from lists.
				for _, m := range []string{"GET", "PUT", "DELETE"} {
					var b any
					if m == "PUT" {
						b = body
					}
					if got := e.do(other, m, member, b).status; got != 404 {
						t.Errorf("other project %s %s: %d, want 404", m, member, got)
					}
				}
				if containsID(e.do(other, "GET", "/v2.0/"+r.path, nil).expect(t, 200).list(t, r.collection), id) {
					t.Errorf("other project lists %s %s", r.key, id)
				}
				// A reader of the owning project reads but does not write.
				e.do(reader, "GET", member, nil).expect(t, 200)
				if got := e.do(reader, "PUT", member, body).status; got != 403 {
					t.Errorf("reader PUT %s: %d, want 403", member, got)
				}
				if got := e.do(reader, "DELETE", member, nil).status; got != 403 {
					t.Errorf("reader DELETE %s: %d, want 403", member, got)
				}
				if got := e.do(reader, "POST", "/v2.0/"+r.path, map[string]any{r.key: r.create}).status; got != 403 {
					t.Errorf("reader POST %s: %d, want 403", r.path, got)
				}
				// The admin does all.
				e.do(admin, "GET", member, nil).expect(t, 200)
				e.do(admin, "PUT", member, body).expect(t, 200)
				e.do(admin, "DELETE", member, nil).expect(t, 204)
			})
		}
	})
}

// TestPolicyFileHotReload changes the policy file under a running server:
// the change takes effect without a restart, and a broken file leaves the
// rules in force.
func TestPolicyFileHotReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	write := func(content string, age time.Duration) {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(age)
		if err := os.Chtimes(file, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	write("{}\n", -time.Minute)
	e := newEnv(t, "sqlite://", map[string]string{"oslo_policy.policy_file": file})
	e.createNetwork(member1, map[string]any{"name": "allowed"})

	write(`"create_network": "role:admin"`+"\n", 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "x"}})
		if r.status == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy change not applied after 5 s: %d", r.status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	write(`"create_network": "role:admin and (" `+"\n", time.Minute)
	time.Sleep(1200 * time.Millisecond)
	e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "y"}}).
		fault(t, 403, "PolicyNotAuthorized", "create_network")
	e.createNetwork(admin, map[string]any{"name": "admin-still-can"})
}
