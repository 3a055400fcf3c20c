package api_test

import (
	"fmt"
	"testing"
)

// TestNetworkReadsScopesAndSharing: a network read fills
// ipv4_address_scope, ipv6_address_scope and shared for the networks it
// returns only, whatever else the cloud holds: networks in scopes, out of
// them, shared with everyone, with one project, or with no one, read
// shown, listed whole and listed a page at a time, as the admin and as
// members.
func TestNetworkReadsScopesAndSharing(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		scope4 := e.spScope(admin, map[string]any{"name": "s4", "ip_version": 4, "shared": true})["id"].(string)
		scope6 := e.spScope(admin, map[string]any{"name": "s6", "ip_version": 6, "shared": true})["id"].(string)
		pool4 := e.spCreate(admin, map[string]any{"name": "p4", "prefixes": []any{"10.0.0.0/16"}, "address_scope_id": scope4, "shared": true})["id"].(string)
		pool6 := e.spCreate(admin, map[string]any{"name": "p6", "prefixes": []any{"2001:db8::/48"}, "address_scope_id": scope6, "shared": true})["id"].(string)
		plain := e.spCreate(admin, map[string]any{"name": "plain", "prefixes": []any{"10.1.0.0/16"}, "shared": true})["id"].(string)

		type want struct{ v4, v6 any }
		scopes := map[string]want{}
		netWith := func(as *caller, name string, attrs map[string]any, pools ...string) string {
			t.Helper()
			if attrs == nil {
				attrs = map[string]any{}
			}
			attrs["name"] = name
			id := e.createNetwork(as, attrs)["id"].(string)
			w := want{}
			for _, p := range pools {
				v, prefixlen := 4, 24
				switch p {
				case pool6:
					v, prefixlen, w.v6 = 6, 64, scope6
				case pool4:
					w.v4 = scope4
				}
				e.snCreate(as, map[string]any{"network_id": id, "ip_version": v, "subnetpool_id": p, "prefixlen": prefixlen})
			}
			scopes[id] = w
			return id
		}
		both := netWith(member1, "both", nil, pool4, pool6)
		sharedV4 := netWith(admin, "shared-v4", map[string]any{"shared": true}, pool4)
		plainNet := netWith(member1, "plain", nil, plain)
		rbacV6 := netWith(admin, "rbac-v6", nil, pool6)
		hidden := netWith(admin, "hidden", nil, pool4, pool6)
		mixed := netWith(member2, "mixed", nil, plain, pool6)
		var empty []string
		for i := range 6 {
			empty = append(empty, netWith(member1, fmt.Sprintf("empty-%d", i), nil))
		}
		e.do(admin, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": rbacV6, "action": "access_as_shared", "target_tenant": member1.project,
		}}).expect(t, 201)

		all := append([]string{both, sharedV4, plainNet, rbacV6, hidden, mixed}, empty...)
		mine1 := append([]string{both, sharedV4, plainNet, rbacV6}, empty...)
		for _, c := range []struct {
			name    string
			as      *caller
			visible []string
			shared  []string
		}{
			{"admin", admin, all, []string{sharedV4}},
			{"member1", member1, mine1, []string{sharedV4, rbacV6}},
			{"member2", member2, []string{sharedV4, mixed}, []string{sharedV4}},
		} {
			t.Run(c.name, func(t *testing.T) {
				check := func(how string, n map[string]any) {
					t.Helper()
					id, _ := n["id"].(string)
					w, ok := scopes[id]
					if !ok {
						t.Errorf("%s: unknown network %v", how, n)
						return
					}
					sh := false
					for _, s := range c.shared {
						sh = sh || s == id
					}
					if n["ipv4_address_scope"] != w.v4 || n["ipv6_address_scope"] != w.v6 || n["shared"] != sh {
						t.Errorf("%s %s (%s): scopes %v/%v shared %v, want %v/%v %v", how, n["name"], id,
							n["ipv4_address_scope"], n["ipv6_address_scope"], n["shared"], w.v4, w.v6, sh)
					}
				}
				listed := e.do(c.as, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks")
				if !sameSet(ids(listed), c.visible) {
					t.Errorf("list: %v, want %v", ids(listed), c.visible)
				}
				for _, n := range listed {
					check("list", n)
				}
				// A page at a time: each page reads its own networks.
				seen := 0
				for marker := ""; ; {
					path := "/v2.0/networks?limit=2&sort_key=name&sort_dir=asc"
					if marker != "" {
						path += "&marker=" + marker
					}
					page := e.do(c.as, "GET", path, nil).expect(t, 200).list(t, "networks")
					if len(page) == 0 {
						break
					}
					for _, n := range page {
						check("page", n)
					}
					seen += len(page)
					marker = page[len(page)-1]["id"].(string)
					if len(page) < 2 || seen > len(all) {
						break
					}
				}
				if seen != len(c.visible) {
					t.Errorf("pages held %d networks, want %d", seen, len(c.visible))
				}
				for _, id := range c.visible {
					check("show", e.do(c.as, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network"))
				}
				// A filter by id reads the networks it names.
				two := e.do(c.as, "GET", "/v2.0/networks?id="+c.visible[0]+"&id="+c.visible[len(c.visible)-1], nil).expect(t, 200).list(t, "networks")
				for _, n := range two {
					check("filtered", n)
				}
			})
		}
	})
}
