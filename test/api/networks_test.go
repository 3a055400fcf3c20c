package api_test

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRootDocuments(t *testing.T) {
	e := newEnv(t, "sqlite://", nil)

	v := e.do(nil, "GET", "/", nil).expect(t, 200)
	versions := v.list(t, "versions")
	if len(versions) != 1 || versions[0]["id"] != "v2.0" || versions[0]["status"] != "CURRENT" {
		t.Fatalf("versions: %s", v.raw)
	}
	links := versions[0]["links"].([]any)
	if href := links[0].(map[string]any)["href"]; href != e.url+"/v2.0/" {
		t.Errorf("version link %v, want %s/v2.0/", href, e.url)
	}

	idx := e.do(nil, "GET", "/v2.0/", nil).expect(t, 200)
	var found bool
	for _, r := range idx.list(t, "resources") {
		if r["name"] == "network" && r["collection"] == "networks" {
			found = true
			l := r["links"].([]any)[0].(map[string]any)
			if l["rel"] != "self" || l["href"] != e.url+"/v2.0/networks" {
				t.Errorf("networks link %v", l)
			}
		}
	}
	if !found {
		t.Errorf("no networks in resource index: %s", idx.raw)
	}

	exts := e.do(nil, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions")
	aliases := map[string]bool{}
	for _, x := range exts {
		aliases[x["alias"].(string)] = true
		for _, k := range []string{"name", "description", "updated", "links"} {
			if _, ok := x[k]; !ok {
				t.Errorf("extension %v lacks %s", x["alias"], k)
			}
		}
	}
	for _, want := range []string{"net-mtu", "external-net", "pagination", "sorting", "filter-validation", "revision-if-match", "project-id", "agent", "dhcp_agent_scheduler", "trunk", "trunk-details", "binding-extended"} {
		if !aliases[want] {
			t.Errorf("extension %s not listed", want)
		}
	}
	// Extensions that are not implemented must not be listed.
	for _, absent := range []string{"bgp"} {
		if aliases[absent] {
			t.Errorf("extension %s listed but not implemented", absent)
		}
	}
	one := e.do(nil, "GET", "/v2.0/extensions/net-mtu", nil).expect(t, 200).obj(t, "extension")
	if one["name"] != "Network MTU" {
		t.Errorf("net-mtu: %v", one)
	}
	e.do(nil, "GET", "/v2.0/extensions/no-such", nil).fault(t, 404, "HTTPNotFound", "Extension with alias no-such does not exist")

	hc := e.do(nil, "GET", "/healthcheck", nil).expect(t, 200)
	if string(hc.raw) != "OK" {
		t.Errorf("healthcheck body %q", hc.raw)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, "sqlite://", nil)
	pattern := regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	a := e.do(nil, "GET", "/v2.0/networks", nil).header.Get("X-Openstack-Request-Id")
	b := e.do(nil, "GET", "/v2.0/nothing", nil).header.Get("X-Openstack-Request-Id")
	if !pattern.MatchString(a) || !pattern.MatchString(b) || a == b {
		t.Errorf("request ids %q, %q", a, b)
	}
}

func TestNetworkLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		before := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
		n := e.createNetwork(admin, map[string]any{"name": "net1", "description": "first"})
		want := map[string]any{
			"name": "net1", "description": "first", "admin_state_up": true, "status": "ACTIVE",
			"shared": false, "router:external": false, "mtu": float64(1500), "subnets": []any{},
			"port_security_enabled": true, "availability_zone_hints": []any{}, "availability_zones": []any{},
			"ipv4_address_scope": nil, "ipv6_address_scope": nil,
			"tenant_id": "fake_project_id", "project_id": "fake_project_id", "revision_number": float64(1),
			"l2_adjacency": true,
		}
		for k, v := range want {
			if !reflect.DeepEqual(n[k], v) {
				t.Errorf("%s = %#v, want %#v", k, n[k], v)
			}
		}
		// is_default shows on external networks only, as in Neutron.
		if v, ok := n["is_default"]; ok {
			t.Errorf("internal network shows is_default %v", v)
		}
		created, err := time.Parse(time.RFC3339, n["created_at"].(string))
		if err != nil || created.Before(before) || !strings.HasSuffix(n["created_at"].(string), "Z") {
			t.Errorf("created_at %v (%v)", n["created_at"], err)
		}
		id := n["id"].(string)

		got := e.do(admin, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network")
		if !reflect.DeepEqual(got, n) {
			t.Errorf("show differs from create:\n%v\n%v", got, n)
		}

		up := e.do(admin, "PUT", "/v2.0/networks/"+id, map[string]any{"network": map[string]any{
			"name": "renamed", "admin_state_up": false, "description": "second"}}).expect(t, 200).obj(t, "network")
		if up["name"] != "renamed" || up["admin_state_up"] != false || up["revision_number"] != float64(2) {
			t.Errorf("update: %v", up)
		}
		// An update that changes nothing does not bump the revision.
		same := e.do(admin, "PUT", "/v2.0/networks/"+id, map[string]any{"network": map[string]any{"name": "renamed"}}).
			expect(t, 200).obj(t, "network")
		if same["revision_number"] != float64(2) {
			t.Errorf("no-op update bumped revision to %v", same["revision_number"])
		}

		// fields= narrows the reply.
		f := e.do(admin, "GET", "/v2.0/networks/"+id+"?fields=id&fields=name", nil).expect(t, 200).obj(t, "network")
		if len(f) != 2 || f["name"] != "renamed" {
			t.Errorf("fields: %v", f)
		}

		e.do(admin, "DELETE", "/v2.0/networks/"+id, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", "Network "+id+" could not be found.")
		e.do(admin, "DELETE", "/v2.0/networks/"+id, nil).fault(t, 404, "NetworkNotFound", id)
		e.do(admin, "PUT", "/v2.0/networks/"+id, map[string]any{"network": map[string]any{"name": "x"}}).
			fault(t, 404, "NetworkNotFound", id)
	})
}

func TestNetworkWritableAttributes(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{"name": "ext", "shared": true, "router:external": true,
			"mtu": 1400, "port_security_enabled": false, "availability_zone_hints": []string{"nova"}, "is_default": true,
			"admin_state_up": "false"})
		for k, v := range map[string]any{"shared": true, "router:external": true, "mtu": float64(1400),
			"port_security_enabled": false, "is_default": true, "admin_state_up": false} {
			if n[k] != v {
				t.Errorf("%s = %v, want %v", k, n[k], v)
			}
		}
		if !reflect.DeepEqual(n["availability_zone_hints"], []any{"nova"}) {
			t.Errorf("availability_zone_hints %v", n["availability_zone_hints"])
		}
		// The owner may be set by an admin, and tenant_id follows it.
		o := e.createNetwork(admin, map[string]any{"tenant_id": "another"})
		if o["project_id"] != "another" || o["tenant_id"] != "another" {
			t.Errorf("owner: %v / %v", o["project_id"], o["tenant_id"])
		}
	})
}

func TestInputErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{"name": "n"})
		id := n["id"].(string)
		long := strings.Repeat("x", 256)
		cases := []struct {
			name, method, path string
			body               any
			status             int
			typ, msg           string
		}{
			{"unknown attribute", "POST", "/v2.0/networks", `{"network": {"name": "a", "bogus": 1, "alpha": 2}}`,
				400, "HTTPBadRequest", "Unrecognized attribute(s) 'alpha, bogus'"},
			{"read-only on create", "POST", "/v2.0/networks", `{"network": {"status": "DOWN"}}`,
				400, "HTTPBadRequest", "Attribute 'status' not allowed in POST"},
			{"bad bool", "POST", "/v2.0/networks", `{"network": {"admin_state_up": "maybe"}}`,
				400, "InvalidInput", "Invalid input for operation: 'maybe' cannot be converted to boolean."},
			{"name not a string", "POST", "/v2.0/networks", `{"network": {"name": 123}}`,
				400, "HTTPBadRequest", "Invalid input for name. Reason: '123' is not a valid string."},
			{"name too long", "POST", "/v2.0/networks", `{"network": {"name": "` + long + `"}}`,
				400, "HTTPBadRequest", "exceeds maximum length of 255"},
			{"mtu not an int", "POST", "/v2.0/networks", `{"network": {"mtu": "big"}}`,
				400, "InvalidInput", "'big' is not an integer"},
			{"mtu too big", "POST", "/v2.0/networks", `{"network": {"mtu": 9000}}`,
				400, "InvalidInput", "Requested MTU is too big, maximum is 1500"},
			{"duplicate az hints", "POST", "/v2.0/networks", `{"network": {"availability_zone_hints": ["a", "a"]}}`,
				400, "HTTPBadRequest", "Invalid input for availability_zone_hints"},
			{"not JSON", "POST", "/v2.0/networks", `{"network": `,
				400, "HTTPBadRequest", "Body contains invalid data"},
			{"JSON but not an object", "POST", "/v2.0/networks", `[1, 2]`,
				400, "HTTPBadRequest", "Body contains invalid data"},
			{"empty body", "POST", "/v2.0/networks", ``,
				400, "HTTPBadRequest", "Resource body required"},
			{"wrong resource key", "POST", "/v2.0/networks", `{"port": {}}`,
				400, "HTTPBadRequest", "Unable to find 'network' in request body"},
			{"resource not an object", "POST", "/v2.0/networks", `{"network": "x"}`,
				400, "HTTPBadRequest", "Object 'network' contains invalid data"},
			{"tenant and project differ", "POST", "/v2.0/networks", `{"network": {"tenant_id": "a", "project_id": "b"}}`,
				400, "HTTPBadRequest", "'project_id' and 'tenant_id' do not match"},
			{"empty bulk", "POST", "/v2.0/networks", `{"networks": []}`,
				400, "HTTPBadRequest", "Resources required"},
			{"read-only on update", "PUT", "/v2.0/networks/" + id, `{"network": {"status": "DOWN"}}`,
				400, "HTTPBadRequest", "Cannot update read-only attribute status"},
			{"owner on update", "PUT", "/v2.0/networks/" + id, `{"network": {"tenant_id": "fake_project_id"}}`,
				400, "HTTPBadRequest", "Cannot update read-only attribute"},
			{"az hints on update", "PUT", "/v2.0/networks/" + id, `{"network": {"availability_zone_hints": []}}`,
				400, "HTTPBadRequest", "Cannot update read-only attribute availability_zone_hints"},
			{"unknown filter", "GET", "/v2.0/networks?bogus=1", nil,
				400, "HTTPBadRequest", "['bogus'] is invalid attribute for filtering"},
			{"non-filter attribute", "GET", "/v2.0/networks?port_security_enabled=true", nil,
				400, "HTTPBadRequest", "['port_security_enabled'] is invalid attribute for filtering"},
			{"bad filter value", "GET", "/v2.0/networks?shared=perhaps", nil,
				400, "InvalidInput", "'perhaps' cannot be converted to boolean"},
			{"bad sort key", "GET", "/v2.0/networks?sort_key=bogus&sort_dir=asc", nil,
				400, "HTTPBadRequest", "['bogus'] is invalid attribute for sort_keys"},
			{"bad sort dir", "GET", "/v2.0/networks?sort_key=name&sort_dir=up", nil,
				400, "HTTPBadRequest", "['up'] is invalid value for sort_dirs"},
			{"unpaired sort", "GET", "/v2.0/networks?sort_key=name", nil,
				400, "HTTPBadRequest", "The number of sort_keys and sort_dirs must be same"},
			{"bad limit", "GET", "/v2.0/networks?limit=-2", nil,
				400, "BadRequest", "Limit must be an integer 0 or greater and not '-2'"},
			{"unknown collection", "GET", "/v2.0/bogus", nil, 404, "HTTPNotFound", "The resource could not be found."},
			{"unknown path", "GET", "/v3/networks", nil, 404, "HTTPNotFound", "The resource could not be found."},
			{"bad method", "PATCH", "/v2.0/networks", nil, 405, "HTTPMethodNotAllowed", ""},
			{"bad member method", "POST", "/v2.0/networks/" + id, `{}`, 405, "HTTPMethodNotAllowed", ""},
			// Neutron fetches the object a PUT or DELETE names before
			// anything else; on a collection there is no id.
			{"delete a collection", "DELETE", "/v2.0/networks", nil, 404, "NetworkNotFound", "Network None could not be found."},
			{"update a collection", "PUT", "/v2.0/networks", `{"network": {"name": "x"}}`,
				404, "NetworkNotFound", "Network None could not be found."},
			{"update a collection, no body", "PUT", "/v2.0/networks", nil, 404, "NetworkNotFound", "Network None could not be found."},
			{"update a collection, other key", "PUT", "/v2.0/networks", `{"port": {}}`,
				404, "NetworkNotFound", "Network None could not be found."},
			{"update a collection, bad attribute", "PUT", "/v2.0/networks", `{"network": {"status": "DOWN"}}`,
				400, "HTTPBadRequest", "Cannot update read-only attribute status"},
			{"update a collection, not JSON", "PUT", "/v2.0/networks", `{"network"`,
				400, "HTTPBadRequest", "Body contains invalid data"},
			{"delete ports", "DELETE", "/v2.0/ports", nil, 404, "PortNotFound", "Port None could not be found."},
			{"delete subnets", "DELETE", "/v2.0/subnets", nil, 404, "SubnetNotFound", "Subnet None could not be found."},
			{"delete routers", "DELETE", "/v2.0/routers", nil, 404, "RouterNotFound", "Router None could not be found"},
			{"update security groups", "PUT", "/v2.0/security-groups", nil,
				404, "SecurityGroupNotFound", "Security group None does not exist"},
			{"delete floating IPs", "DELETE", "/v2.0/floatingips", nil, 404, "FloatingIPNotFound", "Floating IP None could not be found"},
			{"delete subnet pools", "DELETE", "/v2.0/subnetpools", nil, 404, "SubnetPoolNotFound", "Subnet pool None could not be found."},
			{"body on delete", "DELETE", "/v2.0/networks/" + id, `{"network": {}}`,
				400, "HTTPBadRequest", "Request body is not supported in DELETE."},
			{"malformed if-match", "PUT", "/v2.0/networks/" + id, `{"network": {"name": "z"}}`,
				400, "BadRequest", "Revision number etag must be in the format of revision_number=<int>"},
		}
		count := func() int { return len(e.do(admin, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks")) }
		before := count()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var headers []string
				if c.name == "malformed if-match" {
					headers = []string{"If-Match", "revision_number=abc"}
				}
				e.do(admin, c.method, c.path, c.body, headers...).fault(t, c.status, c.typ, c.msg)
			})
		}
		// Bad input changes nothing.
		if after := count(); after != before {
			t.Errorf("failed requests changed the network count from %d to %d", before, after)
		}
		got := e.do(admin, "GET", "/v2.0/networks/"+id, nil).expect(t, 200).obj(t, "network")
		if got["revision_number"] != n["revision_number"] || got["name"] != "n" {
			t.Errorf("failed requests changed the network: %v", got)
		}
	})
}

func TestBodySizeLimit(t *testing.T) {
	e := newEnv(t, "sqlite://", map[string]string{"oslo_middleware.max_request_body_size": "1024"})
	big := fmt.Sprintf(`{"network": {"name": "n", "description": %q}}`, strings.Repeat("d", 2000))
	e.do(admin, "POST", "/v2.0/networks", big).fault(t, 413, "HTTPRequestEntityTooLarge", "Request is too large.")
	if n := len(e.do(admin, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks")); n != 0 {
		t.Errorf("%d networks after a refused request", n)
	}
}

func TestIfMatch(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{"name": "rev"})
		id := n["id"].(string)
		rev := int(n["revision_number"].(float64))
		body := map[string]any{"network": map[string]any{"name": "rev2"}}

		e.do(admin, "PUT", "/v2.0/networks/"+id, body, "If-Match", fmt.Sprintf("revision_number=%d", rev+5)).
			fault(t, 412, "RevisionNumberConstraintFailed", fmt.Sprintf("Constrained to %d, but current revision is %d", rev+5, rev))
		up := e.do(admin, "PUT", "/v2.0/networks/"+id, body, "If-Match", fmt.Sprintf(`"revision_number=%d"`, rev)).
			expect(t, 200).obj(t, "network")
		if up["revision_number"] != float64(rev+1) {
			t.Fatalf("revision after update: %v", up["revision_number"])
		}
		// The stale revision no longer matches, for delete too.
		e.do(admin, "DELETE", "/v2.0/networks/"+id, nil, "If-Match", fmt.Sprintf("revision_number=%d", rev)).
			fault(t, 412, "RevisionNumberConstraintFailed", "")
		e.do(admin, "DELETE", "/v2.0/networks/"+id, nil, "If-Match", fmt.Sprintf("revision_number=%d", rev+1)).expect(t, 204)
	})
}

func TestBulkCreate(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		r := e.do(admin, "POST", "/v2.0/networks", map[string]any{"networks": []any{
			map[string]any{"name": "b1"},
			map[string]any{"network": map[string]any{"name": "b2"}},
			map[string]any{"name": "b3", "shared": true},
		}}).expect(t, 201)
		items := r.list(t, "networks")
		if len(items) != 3 || items[0]["name"] != "b1" || items[1]["name"] != "b2" || items[2]["shared"] != true {
			t.Fatalf("bulk reply: %s", r.raw)
		}
		total := func() int { return len(e.do(admin, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks")) }
		if total() != 3 {
			t.Fatalf("want 3 networks")
		}
		// A bad item fails validation: nothing is created.
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"networks": []any{
			map[string]any{"name": "ok"}, map[string]any{"name": "bad", "bogus": true},
		}}).fault(t, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'")
		// An item the plugin refuses inside the transaction, after earlier
		// items were written: the whole bulk rolls back.
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"networks": []any{
			map[string]any{"name": "ok1"}, map[string]any{"name": "ok2"}, map[string]any{"name": "toobig", "mtu": 65000},
		}}).fault(t, 400, "InvalidInput", "Requested MTU is too big")
		if n := total(); n != 3 {
			t.Errorf("failed bulk left %d networks, want 3", n)
		}
	})
}

func TestFilters(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		a := e.createNetwork(admin, map[string]any{"name": "alpha", "shared": true})
		b := e.createNetwork(admin, map[string]any{"name": "beta", "admin_state_up": false})
		c := e.createNetwork(admin, map[string]any{"name": "", "tenant_id": "other"})
		names := func(q string) []string {
			var out []string
			for _, n := range e.do(admin, "GET", "/v2.0/networks?"+q, nil).expect(t, 200).list(t, "networks") {
				out = append(out, n["id"].(string))
			}
			return out
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"name=alpha", []string{a["id"].(string)}},
			{"name=alpha&name=beta", []string{a["id"].(string), b["id"].(string)}},
			{"name=", []string{c["id"].(string)}},
			{"shared=true", []string{a["id"].(string)}},
			{"shared=True&name=beta", nil},
			{"admin_state_up=False", []string{b["id"].(string)}},
			{"tenant_id=other", []string{c["id"].(string)}},
			{"project_id=other", []string{c["id"].(string)}},
			{"id=" + b["id"].(string), []string{b["id"].(string)}},
			{"mtu=1500&name=beta", []string{b["id"].(string)}},
			{"router:external=false&name=alpha", []string{a["id"].(string)}},
			{"revision_number=1&name=beta", []string{b["id"].(string)}},
			{"description=&name=alpha", []string{a["id"].(string)}},
		}
		for _, tc := range cases {
			got := names(tc.query)
			if !sameSet(got, tc.want) {
				t.Errorf("?%s: got %v, want %v", tc.query, got, tc.want)
			}
		}
		// fields= on a list.
		for _, n := range e.do(admin, "GET", "/v2.0/networks?fields=name", nil).expect(t, 200).list(t, "networks") {
			if len(n) != 1 {
				t.Errorf("fields=name gave %v", n)
			}
		}
	})
}

func TestSortOnTwoKeys(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		for _, spec := range []struct {
			name string
			up   bool
		}{{"b", true}, {"a", false}, {"b", false}, {"a", true}, {"c", true}} {
			e.createNetwork(admin, map[string]any{"name": spec.name, "admin_state_up": spec.up})
		}
		got := e.do(admin, "GET", "/v2.0/networks?sort_key=name&sort_dir=desc&sort_key=admin_state_up&sort_dir=asc", nil).
			expect(t, 200).list(t, "networks")
		var order []string
		for _, n := range got {
			order = append(order, fmt.Sprintf("%s/%v", n["name"], n["admin_state_up"]))
		}
		want := []string{"c/true", "b/false", "b/true", "a/false", "a/true"}
		if !reflect.DeepEqual(order, want) {
			t.Errorf("order %v, want %v", order, want)
		}
	})
}

func TestPagination(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		var all []string
		for i := 0; i < 7; i++ {
			n := e.createNetwork(admin, map[string]any{"name": fmt.Sprintf("p%d", i%3)})
			all = append(all, n["id"].(string))
		}
		// Walk forward by next links, sorted by name then id.
		query := "/v2.0/networks?limit=3&sort_key=name&sort_dir=asc"
		var pages [][]string
		var seen []string
		var lastLinks []any
		for path := query; path != ""; {
			r := e.do(admin, "GET", path, nil).expect(t, 200)
			page := ids(r.list(t, "networks"))
			if len(page) == 0 {
				break
			}
			pages = append(pages, page)
			seen = append(seen, page...)
			lastLinks, _ = r.body["networks_links"].([]any)
			path = linkPath(t, e, lastLinks, "next")
			if len(pages) > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if len(pages) != 3 || len(pages[2]) != 1 {
			t.Errorf("pages %v", pages)
		}
		if !sameSet(seen, all) || len(seen) != len(all) {
			t.Errorf("forward walk saw %v, want %v", seen, all)
		}
		full := ids(e.do(admin, "GET", "/v2.0/networks?sort_key=name&sort_dir=asc&sort_key=id&sort_dir=asc", nil).
			expect(t, 200).list(t, "networks"))
		if !reflect.DeepEqual(seen, full) {
			t.Errorf("paged order %v differs from sorted list %v", seen, full)
		}
		// The last page going forward has no next link.
		if linkPath(t, e, lastLinks, "next") != "" {
			t.Errorf("last page has a next link: %v", lastLinks)
		}

		// Walk backward from the last page by previous links.
		prev := linkPath(t, e, lastLinks, "previous")
		r := e.do(admin, "GET", prev, nil).expect(t, 200)
		if got := ids(r.list(t, "networks")); !reflect.DeepEqual(got, pages[1]) {
			t.Errorf("previous page %v, want %v", got, pages[1])
		}
		r = e.do(admin, "GET", linkPath(t, e, r.body["networks_links"].([]any), "previous"), nil).expect(t, 200)
		if got := ids(r.list(t, "networks")); !reflect.DeepEqual(got, pages[0]) {
			t.Errorf("first page backward %v, want %v", got, pages[0])
		}
		// A full page cannot know it is the first; the page before it is
		// empty and has no previous link.
		r = e.do(admin, "GET", linkPath(t, e, r.body["networks_links"].([]any), "previous"), nil).expect(t, 200)
		if got := r.list(t, "networks"); len(got) != 0 {
			t.Errorf("page before the first has %d items", len(got))
		}
		if linkPath(t, e, r.body["networks_links"].([]any), "previous") != "" {
			t.Errorf("empty reverse page has a previous link")
		}

		// page_reverse from a marker gives the items before it.
		r = e.do(admin, "GET", query+"&marker="+full[5]+"&page_reverse=True", nil).expect(t, 200)
		if got := ids(r.list(t, "networks")); !reflect.DeepEqual(got, full[2:5]) {
			t.Errorf("reverse page %v, want %v", got, full[2:5])
		}

		// pagination_max_limit caps limit.
		capped := newEnv(t, "sqlite://", map[string]string{"DEFAULT.pagination_max_limit": "2"})
		for i := 0; i < 3; i++ {
			capped.createNetwork(admin, map[string]any{"name": "c"})
		}
		cr := capped.do(admin, "GET", "/v2.0/networks", nil).expect(t, 200)
		if n := len(cr.list(t, "networks")); n != 2 || cr.body["networks_links"] == nil {
			t.Errorf("capped list has %d items, links %v", n, cr.body["networks_links"])
		}
		// An unknown marker is the resource's 404.
		e.do(admin, "GET", "/v2.0/networks?limit=2&marker=00000000-0000-0000-0000-000000000000", nil).
			fault(t, 404, "NetworkNotFound", "00000000-0000-0000-0000-000000000000")
	})
}

// linkPath returns the path and query of the link with rel, or "".
func linkPath(t *testing.T, e *env, links []any, rel string) string {
	t.Helper()
	for _, l := range links {
		m := l.(map[string]any)
		if m["rel"] != rel {
			continue
		}
		u, err := url.Parse(m["href"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m["href"].(string), e.url+"/v2.0/networks") {
			t.Errorf("link %s does not point at the server", m["href"])
		}
		return u.RequestURI()
	}
	return ""
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}
