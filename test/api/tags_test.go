package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestTags drives /v2.0/{collection}/{id}/tags on every taggable resource:
// Neutron's status codes, bodies and revision bumps.
func TestTags(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{"name": "tagged"})
		subnet := e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": net["id"], "cidr": "10.7.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
		port := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{
			"network_id": net["id"]}}).expect(t, 201).obj(t, "port")
		pool := e.do(member1, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "p", "prefixes": []string{"10.200.0.0/16"}, "default_prefixlen": 24}}).expect(t, 201).obj(t, "subnetpool")
		router := e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r"}}).
			expect(t, 201).obj(t, "router")
		group := e.do(member1, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "g"}}).
			expect(t, 201).obj(t, "security_group")

		for _, c := range []struct{ coll, key, id string }{
			{"networks", "network", net["id"].(string)},
			{"subnets", "subnet", subnet["id"].(string)},
			{"ports", "port", port["id"].(string)},
			{"subnetpools", "subnetpool", pool["id"].(string)},
			{"routers", "router", router["id"].(string)},
			{"security-groups", "security_group", group["id"].(string)},
		} {
			t.Run(c.coll, func(t *testing.T) {
				base := "/v2.0/" + c.coll + "/" + c.id
				rev := func() float64 {
					return e.do(member1, "GET", base, nil).expect(t, 200).obj(t, c.key)["revision_number"].(float64)
				}
				tagsNow := func() []string {
					var out []string
					for _, v := range e.do(member1, "GET", base+"/tags", nil).expect(t, 200).body["tags"].([]any) {
						out = append(out, v.(string))
					}
					slices.Sort(out)
					return out
				}
				r0 := rev()

				e.do(member1, "PUT", base+"/tags/red", nil).expect(t, 201)
				if got := tagsNow(); !slices.Equal(got, []string{"red"}) {
					t.Fatalf("tags after PUT red: %v", got)
				}
				if r1 := rev(); r1 <= r0 {
					t.Errorf("revision_number %v after adding a tag, was %v", r1, r0)
				}
				e.do(member1, "GET", base+"/tags/red", nil).expect(t, 204)
				e.do(member1, "GET", base+"/tags/blue", nil).fault(t, 404, "TagNotFound", "Tag blue could not be found.")

				// Adding a tag that is there changes nothing.
				r1 := rev()
				e.do(member1, "PUT", base+"/tags/red", nil).expect(t, 201)
				if rev() != r1 {
					t.Error("re-adding an existing tag bumped the revision")
				}

				put := e.do(member1, "PUT", base+"/tags", map[string]any{"tags": []string{"a", "b", "c"}}).expect(t, 200)
				if fmt.Sprint(put.body["tags"]) != "[a b c]" {
					t.Errorf("PUT /tags answered %s", put.raw)
				}
				if got := tagsNow(); !slices.Equal(got, []string{"a", "b", "c"}) {
					t.Fatalf("tags after replace: %v", got)
				}
				e.do(member1, "POST", base+"/tags", map[string]any{"tags": []string{"c", "d"}}).expect(t, 200)
				if got := tagsNow(); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
					t.Fatalf("tags after POST: %v", got)
				}
				shown := e.do(member1, "GET", base, nil).expect(t, 200).obj(t, c.key)["tags"].([]any)
				if len(shown) != 4 {
					t.Errorf("%s shows tags %v", c.key, shown)
				}
				e.do(member1, "DELETE", base+"/tags/a", nil).expect(t, 204)
				e.do(member1, "DELETE", base+"/tags/a", nil).fault(t, 404, "TagNotFound", "Tag a could not be found.")
				if got := tagsNow(); !slices.Equal(got, []string{"b", "c", "d"}) {
					t.Fatalf("tags after DELETE a: %v", got)
				}

				// Filters on the collection.
				for _, f := range []struct {
					query string
					found bool
				}{
					{"tags=b,c", true},
					// A tag given twice is one tag (the store counts
					// matches), and repeated parameters add up.
					{"tags=b,b,c", true},
					{"tags=b&tags=c,d", true},
					{"tags=b&tags=zz", false},
					{"not-tags=c,c", false},
					{"tags=b,zz", false},
					{"tags-any=zz,d", true},
					{"not-tags=b,zz", true},
					{"not-tags=b,c", false},
					{"not-tags-any=zz,d", false},
				} {
					items := e.do(member1, "GET", "/v2.0/"+c.coll+"?"+f.query, nil).expect(t, 200).list(t, strings.ReplaceAll(c.coll, "-", "_"))
					if got := slices.Contains(ids(items), c.id); got != f.found {
						t.Errorf("?%s: found=%v, want %v", f.query, got, f.found)
					}
				}

				e.do(member1, "DELETE", base+"/tags", nil).expect(t, 204)
				if got := tagsNow(); len(got) != 0 {
					t.Fatalf("tags after DELETE all: %v", got)
				}

				// Someone else's resource is not found; a reader may look
				// but not change.
				e.do(member2, "GET", base+"/tags", nil).fault(t, 404, "TagResourceNotFound", "could not be found")
				e.do(member2, "PUT", base+"/tags/x", nil).fault(t, 404, "TagResourceNotFound", "could not be found")
				e.do(reader1, "GET", base+"/tags", nil).expect(t, 200)
				e.do(reader1, "PUT", base+"/tags/x", nil).fault(t, 403, "PolicyNotAuthorized", "disallowed by policy")
			})
		}
	})
}

func TestTagRefusals(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{"name": "n"})
		base := "/v2.0/networks/" + net["id"].(string)
		many := make([]string, 51)
		for i := range many {
			many[i] = fmt.Sprintf("t%d", i)
		}
		for _, c := range []struct {
			name, method, path string
			body               any
			status             int
			typ, msg           string
		}{
			{"duplicate", "PUT", "/tags", map[string]any{"tags": []string{"a", "a"}}, 400, "InvalidInput", "Duplicate items in the list: 'a'"},
			{"not a list", "PUT", "/tags", map[string]any{"tags": "a"}, 400, "InvalidInput", "'a' is not a list"},
			{"not a string", "PUT", "/tags", map[string]any{"tags": []any{1}}, 400, "InvalidInput", "'1' is not a valid string"},
			{"no tags key", "PUT", "/tags", map[string]any{"tag": []string{"a"}}, 400, "InvalidInput", "Invalid tags body"},
			{"too long", "PUT", "/tags", map[string]any{"tags": []string{strings.Repeat("x", 256)}}, 400, "InvalidInput", "exceeds maximum length of 255"},
			{"too many", "PUT", "/tags", map[string]any{"tags": many}, 400, "BadRequest", "The number of tags exceed the per-resource limit of 50"},
			{"missing network", "GET", "/../00000000-0000-0000-0000-000000000000/tags", nil, 404, "TagResourceNotFound",
				"Resource networks 00000000-0000-0000-0000-000000000000 could not be found."},
			{"missing network, set", "PUT", "/../00000000-0000-0000-0000-000000000000/tags", map[string]any{"tags": []string{"a"}},
				404, "TagResourceNotFound", "Resource networks 00000000-0000-0000-0000-000000000000 could not be found."},
			{"missing network, one tag", "PUT", "/../00000000-0000-0000-0000-000000000000/tags/a", nil,
				404, "TagResourceNotFound", "Resource networks 00000000-0000-0000-0000-000000000000 could not be found."},
		} {
			t.Run(c.name, func(t *testing.T) {
				path := base + c.path
				if strings.HasPrefix(c.path, "/..") {
					path = "/v2.0/networks" + strings.TrimPrefix(c.path, "/..")
				}
				e.do(member1, c.method, path, c.body).fault(t, c.status, c.typ, c.msg)
			})
		}
		if tags := e.do(member1, "GET", base+"/tags", nil).expect(t, 200).body["tags"].([]any); len(tags) != 0 {
			t.Errorf("refused requests left tags %v", tags)
		}

		// Only ports take tags on create; elsewhere tags go through /tags.
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"tags": []string{"a"}}}).
			fault(t, 400, "HTTPBadRequest", "Attribute 'tags' not allowed in POST")
		port := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{
			"network_id": net["id"], "tags": []string{"p1", "p2"}}}).expect(t, 201).obj(t, "port")
		if fmt.Sprint(port["tags"]) != "[p1 p2]" && fmt.Sprint(port["tags"]) != "[p2 p1]" {
			t.Errorf("port created with tags shows %v", port["tags"])
		}
		// Security group rules are standard resources Neutron does not tag.
		rule := e.do(member1, "GET", "/v2.0/security-group-rules", nil).expect(t, 200).list(t, "security_group_rules")[0]
		if _, ok := rule["tags"]; ok {
			t.Errorf("security group rules show tags: %v", rule)
		}
		e.do(member1, "GET", "/v2.0/security-group-rules/"+rule["id"].(string)+"/tags", nil).expect(t, 404)
		// Resources without standard attributes have no /tags.
		scope := e.do(member1, "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{
			"name": "s", "ip_version": 4}}).expect(t, 201).obj(t, "address_scope")
		e.do(member1, "GET", "/v2.0/address-scopes/"+scope["id"].(string)+"/tags", nil).expect(t, 404)
	})
}
