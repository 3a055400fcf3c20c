package api_test

import (
	"reflect"
	"sort"
	"testing"
)

// spCreate creates a subnet pool as the caller and returns it.
func (e *env) spCreate(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": attrs}).expect(e.t, 201).obj(e.t, "subnetpool")
}

// spScope creates an address scope as the caller and returns it.
func (e *env) spScope(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/address-scopes", map[string]any{"address_scope": attrs}).expect(e.t, 201).obj(e.t, "address_scope")
}

// spAction runs add_prefixes or remove_prefixes.
func (e *env) spAction(as *caller, id, action string, body any) *reply {
	e.t.Helper()
	return e.do(as, "PUT", "/v2.0/subnetpools/"+id+"/"+action, body)
}

func spPrefixes(v any) []string {
	out := []string{}
	for _, p := range v.([]any) {
		out = append(out, p.(string))
	}
	return out
}

func TestSubnetPoolCreate(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		p := e.spCreate(admin, map[string]any{"name": "p4", "prefixes": []any{"10.10.0.0/16"}})
		want := map[string]any{
			"name": "p4", "prefixes": []any{"10.10.0.0/16"}, "ip_version": float64(4),
			// Neutron 21 shows the prefix lengths as strings.
			"min_prefixlen": "8", "default_prefixlen": "8", "max_prefixlen": "32",
			"shared": false, "is_default": false, "default_quota": nil, "address_scope_id": nil,
			"description": "", "revision_number": float64(0),
			"tenant_id": "fake_project_id", "project_id": "fake_project_id",
		}
		for k, v := range want {
			if !reflect.DeepEqual(p[k], v) {
				t.Errorf("%s = %#v, want %#v", k, p[k], v)
			}
		}
		var keys []string
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		wantKeys := []string{"address_scope_id", "created_at", "default_prefixlen", "default_quota", "description", "id",
			"ip_version", "is_default", "max_prefixlen", "min_prefixlen", "name", "prefixes", "project_id",
			"revision_number", "shared", "tags", "tenant_id", "updated_at"}
		if !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("keys %v, want %v", keys, wantKeys)
		}
		if got := e.snShow("subnetpools", "subnetpool", p["id"].(string)); !reflect.DeepEqual(got, p) {
			t.Errorf("show differs from create:\n%v\n%v", got, p)
		}

		cases := []struct {
			name     string
			attrs    map[string]any
			prefixes []string
			version  float64
			lens     [3]string // min, default, max
		}{
			{"ipv6 defaults", map[string]any{"prefixes": []any{"2001:DB8::/48"}}, []string{"2001:db8::/48"}, 6, [3]string{"64", "64", "128"}},
			{"adjacent prefixes are merged", map[string]any{"prefixes": []any{"10.20.11.0/24", "10.20.10.0/24"}},
				[]string{"10.20.10.0/23"}, 4, [3]string{"8", "8", "32"}},
			{"overlapping prefixes are merged, host bits cleared", map[string]any{"prefixes": []any{"10.30.0.0/16", "10.30.5.7/24", "10.31.0.0/16"}},
				[]string{"10.30.0.0/15"}, 4, [3]string{"8", "8", "32"}},
			{"default follows min", map[string]any{"prefixes": []any{"10.40.0.0/16"}, "min_prefixlen": 24},
				[]string{"10.40.0.0/16"}, 4, [3]string{"24", "24", "32"}},
			{"all three given as strings", map[string]any{"prefixes": []any{"10.50.0.0/16"}, "min_prefixlen": "20",
				"default_prefixlen": "26", "max_prefixlen": "28"}, []string{"10.50.0.0/16"}, 4, [3]string{"20", "26", "28"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := e.spCreate(admin, snWith(c.attrs, "name", c.name))
				if got := spPrefixes(p["prefixes"]); !reflect.DeepEqual(got, c.prefixes) {
					t.Errorf("prefixes %v, want %v", got, c.prefixes)
				}
				if p["ip_version"] != c.version {
					t.Errorf("ip_version %v", p["ip_version"])
				}
				if got := [3]any{p["min_prefixlen"], p["default_prefixlen"], p["max_prefixlen"]}; got != [3]any{c.lens[0], c.lens[1], c.lens[2]} {
					t.Errorf("prefix lengths %v, want %v", got, c.lens)
				}
			})
		}
		q := e.spCreate(admin, map[string]any{"name": "q", "prefixes": []any{"10.60.0.0/16"}, "default_quota": 1024,
			"shared": true, "description": "quota'd"})
		if q["default_quota"] != float64(1024) || q["shared"] != true || q["description"] != "quota'd" {
			t.Errorf("quota pool %v", q)
		}
	})
}

func TestSubnetPoolCreateErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.spCreate(admin, map[string]any{"name": "default4", "prefixes": []any{"10.0.0.0/16"}, "is_default": true})
		scope6 := e.spScope(admin, map[string]any{"name": "s6", "ip_version": 6})["id"].(string)
		scope4 := e.spScope(admin, map[string]any{"name": "s4", "ip_version": 4})["id"].(string)
		e.spCreate(admin, map[string]any{"name": "in-scope", "prefixes": []any{"192.168.0.0/16"}, "address_scope_id": scope4})
		pool := func(kv ...any) map[string]any {
			return snWith(map[string]any{"name": "p", "prefixes": []any{"10.1.0.0/16"}}, kv...)
		}
		cases := []struct {
			name     string
			attrs    map[string]any
			status   int
			typ, msg string
		}{
			{"no prefixes", map[string]any{"name": "p"}, 400, "HTTPBadRequest",
				"Failed to parse request. Required attribute 'prefixes' not specified"},
			{"no name", map[string]any{"prefixes": []any{"10.1.0.0/16"}}, 400, "HTTPBadRequest",
				"Failed to parse request. Required attribute 'name' not specified"},
			{"blank name", pool("name", " "), 400, "HTTPBadRequest", "Invalid input for name. Reason: ' ' Blank strings are not permitted."},
			{"prefix without a length", pool("prefixes", []any{"10.1.0.0"}), 400, "HTTPBadRequest",
				"Invalid input for prefixes. Reason: '10.1.0.0' is not a valid IP subnet."},
			{"prefix garbage", pool("prefixes", []any{"ten/8"}), 400, "HTTPBadRequest",
				"Invalid input for prefixes. Reason: 'ten/8' is not a valid IP subnet."},
			{"duplicate prefixes", pool("prefixes", []any{"10.1.0.0/16", "10.1.0.0/16"}), 400, "HTTPBadRequest",
				"Invalid input for prefixes. Reason: Duplicate items in the list: '10.1.0.0/16'."},
			{"prefixes not a list", pool("prefixes", "10.1.0.0/16"), 400, "HTTPBadRequest",
				"Invalid input for prefixes. Reason: '10.1.0.0/16' is not a list."},
			{"empty prefix list", pool("prefixes", []any{}), 400, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list."},
			{"mixed families", pool("prefixes", []any{"10.1.0.0/16", "2001:db8::/48"}), 400, "PrefixVersionMismatch",
				"Cannot mix IPv4 and IPv6 prefixes in a subnet pool."},
			{"min above max", pool("min_prefixlen", 30, "max_prefixlen", 24), 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: min_prefixlen=30, max_prefixlen=24."},
			{"max beyond the family", pool("max_prefixlen", 33), 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: max_prefixlen=33, ip_version_max=32."},
			{"default below min", pool("min_prefixlen", 21, "default_prefixlen", 20), 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: default_prefixlen=20, min_prefixlen=21."},
			{"default above max", pool("default_prefixlen", 30, "max_prefixlen", 28), 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: default_prefixlen=30, max_prefixlen=28."},
			{"negative min", pool("min_prefixlen", -1), 400, "HTTPBadRequest",
				"Invalid input for min_prefixlen. Reason: '-1' should be non-negative."},
			{"min not a number", pool("min_prefixlen", "abc"), 400, "InvalidInput", "Invalid input for operation: 'abc' is not an integer."},
			{"negative quota", pool("default_quota", -1), 400, "HTTPBadRequest",
				"Invalid input for default_quota. Reason: '-1' should be non-negative."},
			{"null quota", pool("default_quota", nil), 400, "InvalidInput", "Invalid input for operation: 'None' is not an integer."},
			{"ip_version is derived", pool("ip_version", 4), 400, "HTTPBadRequest", "Attribute 'ip_version' not allowed in POST"},
			{"a second IPv4 default", pool("is_default", true), 400, "InvalidInput",
				"Invalid input for operation: A default subnetpool for this IP family has already been set. Only one default may exist per IP family."},
			{"unknown address scope", pool("address_scope_id", "00000000-0000-0000-0000-000000000003"), 404, "AddressScopeNotFound",
				"Address scope 00000000-0000-0000-0000-000000000003 could not be found."},
			{"address scope not a uuid", pool("address_scope_id", "scope"), 400, "HTTPBadRequest",
				"Invalid input for address_scope_id. Reason: 'scope' is not a valid UUID."},
			{"address scope of the other family", pool("address_scope_id", scope6), 400, "IllegalSubnetPoolIpVersionAssociationToAddressScope",
				"cannot associate with address scope " + scope6 + " because subnetpool ip_version is not 6."},
			{"prefixes overlap another pool of the scope", pool("prefixes", []any{"192.168.10.0/24"}, "address_scope_id", scope4), 409,
				"AddressScopePrefixConflict", "Failed to associate address scope: subnetpools within an address scope must have unique prefixes."},
		}
		before := e.snCount("subnetpools")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do(admin, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": c.attrs}).fault(t, c.status, c.typ, c.msg)
			})
		}
		if after := e.snCount("subnetpools"); after != before {
			t.Errorf("failed requests changed the pool count from %d to %d", before, after)
		}
		// One default per IP version: an IPv6 default is fine, and a pool
		// outside the scope's prefixes joins it.
		e.spCreate(admin, map[string]any{"name": "default6", "prefixes": []any{"2001:db8::/32"}, "is_default": true})
		e.spCreate(admin, map[string]any{"name": "also-in-scope", "prefixes": []any{"192.169.0.0/16"}, "address_scope_id": scope4})
	})
}

func TestSubnetPoolUpdate(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		p := e.spCreate(admin, map[string]any{"name": "p", "prefixes": []any{"10.10.0.0/16"}})
		id := p["id"].(string)
		put := func(attrs map[string]any) *reply {
			return e.do(admin, "PUT", "/v2.0/subnetpools/"+id, map[string]any{"subnetpool": attrs})
		}
		up := put(map[string]any{"prefixes": []any{"10.10.0.0/16", "10.20.0.0/16", "10.11.0.0/16"}, "name": "grown"}).
			expect(t, 200).obj(t, "subnetpool")
		if got := spPrefixes(up["prefixes"]); !reflect.DeepEqual(got, []string{"10.10.0.0/15", "10.20.0.0/16"}) {
			t.Errorf("prefixes after growing: %v", got)
		}
		if up["name"] != "grown" || up["revision_number"] != float64(1) {
			t.Errorf("update: %v", up)
		}
		up = put(map[string]any{"min_prefixlen": 16, "default_prefixlen": 24, "max_prefixlen": 28, "default_quota": 4096,
			"description": "d"}).expect(t, 200).obj(t, "subnetpool")
		// Neutron's update reply keeps the integers; show and list give
		// strings.
		if up["min_prefixlen"] != float64(16) || up["default_prefixlen"] != float64(24) || up["max_prefixlen"] != float64(28) ||
			up["default_quota"] != float64(4096) || up["description"] != "d" {
			t.Errorf("update: %v", up)
		}
		shown := e.snShow("subnetpools", "subnetpool", id)
		if shown["min_prefixlen"] != "16" || shown["default_prefixlen"] != "24" || shown["max_prefixlen"] != "28" {
			t.Errorf("show after update: %v", shown)
		}
		for _, l := range e.do(admin, "GET", "/v2.0/subnetpools?id="+id, nil).expect(t, 200).list(t, "subnetpools") {
			if l["min_prefixlen"] != "16" {
				t.Errorf("list: %v", l)
			}
		}
		// is_default may be set while no other default exists.
		up = put(map[string]any{"is_default": true}).expect(t, 200).obj(t, "subnetpool")
		if up["is_default"] != true {
			t.Errorf("is_default %v", up["is_default"])
		}
		other := e.spCreate(admin, map[string]any{"name": "other", "prefixes": []any{"172.16.0.0/12"}})["id"].(string)

		cases := []struct {
			name     string
			id       string
			attrs    map[string]any
			status   int
			typ, msg string
		}{
			{"prefixes may not shrink", id, map[string]any{"prefixes": []any{"10.10.0.0/16"}}, 400, "IllegalSubnetPoolPrefixUpdate",
				"Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes."},
			{"prefixes may not change family", id, map[string]any{"prefixes": []any{"10.10.0.0/15", "10.20.0.0/16", "2001:db8::/32"}}, 400,
				"PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."},
			{"bad prefix", id, map[string]any{"prefixes": []any{"10.10.0.0"}}, 400, "HTTPBadRequest",
				"Invalid input for prefixes. Reason: '10.10.0.0' is not a valid IP subnet."},
			{"min above max", id, map[string]any{"min_prefixlen": 29}, 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: min_prefixlen=29, max_prefixlen=28."},
			{"default below min", id, map[string]any{"default_prefixlen": 12}, 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: default_prefixlen=12, min_prefixlen=16."},
			{"max below default", id, map[string]any{"max_prefixlen": 20}, 400, "IllegalSubnetPoolPrefixBounds",
				"Illegal prefix bounds: default_prefixlen=24, max_prefixlen=20."},
			{"a second default", other, map[string]any{"is_default": true}, 400, "InvalidInput",
				"A default subnetpool for this IP family has already been set. Only one default may exist per IP family"},
			{"shared is read-only", id, map[string]any{"shared": true}, 400, "HTTPBadRequest", "Cannot update read-only attribute shared"},
			{"ip_version is read-only", id, map[string]any{"ip_version": 6}, 400, "HTTPBadRequest", "Cannot update read-only attribute ip_version"},
			{"null quota", id, map[string]any{"default_quota": nil}, 400, "InvalidInput", "'None' is not an integer"},
			{"unknown pool", "00000000-0000-0000-0000-000000000004", map[string]any{"name": "x"}, 404, "SubnetPoolNotFound",
				"Subnet pool 00000000-0000-0000-0000-000000000004 could not be found."},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do(admin, "PUT", "/v2.0/subnetpools/"+c.id, map[string]any{"subnetpool": c.attrs}).fault(t, c.status, c.typ, c.msg)
			})
		}
		got := e.snShow("subnetpools", "subnetpool", id)
		if got["revision_number"] != up["revision_number"] || !reflect.DeepEqual(got["prefixes"], up["prefixes"]) ||
			got["min_prefixlen"] != "16" {
			t.Errorf("failed updates changed the pool: %v", got)
		}
		// Once the default is cleared another pool may take its place.
		put(map[string]any{"is_default": false}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/subnetpools/"+other, map[string]any{"subnetpool": map[string]any{"is_default": true}}).expect(t, 200)
	})
}

func TestSubnetPoolPrefixActions(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		p := e.spCreate(admin, map[string]any{"name": "p", "prefixes": []any{"10.10.0.0/16"}})
		id := p["id"].(string)
		r := e.spAction(admin, id, "add_prefixes", map[string]any{"prefixes": []any{"10.11.0.0/16", "192.168.0.0/24"}}).expect(t, 200)
		if !reflect.DeepEqual(r.body, map[string]any{"prefixes": []any{"10.10.0.0/15", "192.168.0.0/24"}}) {
			t.Errorf("add_prefixes replied %s", r.raw)
		}
		got := e.snShow("subnetpools", "subnetpool", id)
		if !reflect.DeepEqual(spPrefixes(got["prefixes"]), []string{"10.10.0.0/15", "192.168.0.0/24"}) {
			t.Errorf("pool after add_prefixes: %v", got["prefixes"])
		}
		// Adding what is there already changes nothing.
		r = e.spAction(admin, id, "add_prefixes", map[string]any{"prefixes": []any{"10.10.5.0/24"}}).expect(t, 200)
		if !reflect.DeepEqual(r.body["prefixes"], []any{"10.10.0.0/15", "192.168.0.0/24"}) {
			t.Errorf("add_prefixes of a covered prefix: %s", r.raw)
		}
		// A subnet takes part of the pool.
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "subnetpool_id": id, "cidr": "10.11.1.0/24"})
		r = e.spAction(admin, id, "remove_prefixes", map[string]any{"prefixes": []any{"192.168.0.0/24", "10.10.0.0/16"}}).expect(t, 200)
		if !reflect.DeepEqual(r.body, map[string]any{"prefixes": []any{"10.11.0.0/16"}}) {
			t.Errorf("remove_prefixes replied %s", r.raw)
		}
		// Removing what the pool does not have is a no-op.
		r = e.spAction(admin, id, "remove_prefixes", map[string]any{"prefixes": []any{"172.16.0.0/12"}}).expect(t, 200)
		if !reflect.DeepEqual(r.body, map[string]any{"prefixes": []any{"10.11.0.0/16"}}) {
			t.Errorf("remove_prefixes no-op replied %s", r.raw)
		}
		cases := []struct {
			name, action string
			body         any
			status       int
			typ, msg     string
		}{
			{"remove a prefix in use", "remove_prefixes", map[string]any{"prefixes": []any{"10.11.1.128/25"}}, 400, "IllegalSubnetPoolPrefixUpdate",
				"Illegal update to prefixes: One or more the prefixes to be removed is in use by a subnet.."},
			{"add of the other family", "add_prefixes", map[string]any{"prefixes": []any{"2001:db8::/32"}}, 400, "PrefixVersionMismatch",
				"Cannot mix IPv4 and IPv6 prefixes in a subnet pool."},
			{"add garbage", "add_prefixes", map[string]any{"prefixes": []any{"bogus"}}, 400, "AddrFormatError", "invalid IPNetwork bogus"},
			{"remove garbage", "remove_prefixes", map[string]any{"prefixes": []any{"bogus"}}, 400, "AddrFormatError", "invalid IPNetwork bogus"},
			{"no prefixes key", "add_prefixes", map[string]any{"subnetpool": map[string]any{}}, 400, "HTTPBadRequest", "Request body contains invalid data"},
			{"empty list", "add_prefixes", map[string]any{"prefixes": []any{}}, 400, "HTTPBadRequest", "Request body contains invalid data"},
			{"not a list", "remove_prefixes", map[string]any{"prefixes": "10.11.0.0/16"}, 400, "HTTPBadRequest", "Request body contains invalid data"},
			{"unknown action", "bogus_prefixes", map[string]any{"prefixes": []any{"10.0.0.0/8"}}, 404, "HTTPNotFound", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.spAction(admin, id, c.action, c.body).fault(t, c.status, c.typ, c.msg)
			})
		}
		e.spAction(admin, "00000000-0000-0000-0000-000000000005", "add_prefixes", map[string]any{"prefixes": []any{"10.0.0.0/8"}}).
			fault(t, 404, "SubnetPoolNotFound", "Subnet pool 00000000-0000-0000-0000-000000000005 could not be found.")
		if got := spPrefixes(e.snShow("subnetpools", "subnetpool", id)["prefixes"]); !reflect.DeepEqual(got, []string{"10.11.0.0/16"}) {
			t.Errorf("failed actions changed the prefixes: %v", got)
		}
		// The actions are listed as an extension.
		e.do(admin, "GET", "/v2.0/extensions/subnetpool-prefix-ops", nil).expect(t, 200)
	})
}

func TestSubnetAllocationFromPool(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		pool := e.spCreate(admin, map[string]any{"name": "p", "prefixes": []any{"10.10.0.0/16", "10.20.0.0/24"},
			"default_prefixlen": 26, "min_prefixlen": 20, "max_prefixlen": 28})
		pid := pool["id"].(string)
		sub := func(kv ...any) *reply {
			return e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": snWith(map[string]any{
				"network_id": netID, "ip_version": 4, "subnetpool_id": pid}, kv...)})
		}
		// Neutron's allocator takes the smallest free block that fits: the /24 first.
		s1 := sub("prefixlen", 24).expect(t, 201).obj(t, "subnet")
		if s1["cidr"] != "10.20.0.0/24" || s1["gateway_ip"] != "10.20.0.1" || s1["subnetpool_id"] != pid ||
			!reflect.DeepEqual(snPools(s1["allocation_pools"]), []string{"10.20.0.2-10.20.0.254"}) {
			t.Errorf("first allocation: %v %v %v %v", s1["cidr"], s1["gateway_ip"], s1["subnetpool_id"], snPools(s1["allocation_pools"]))
		}
		s2 := sub("prefixlen", 24).expect(t, 201).obj(t, "subnet")
		if s2["cidr"] != "10.10.0.0/24" {
			t.Errorf("second allocation %v", s2["cidr"])
		}
		// The default prefix length, then the smallest free block again.
		s3 := sub().expect(t, 201).obj(t, "subnet")
		if s3["cidr"] != "10.10.1.0/26" {
			t.Errorf("default-length allocation %v", s3["cidr"])
		}
		// No gateway.
		s4 := sub("prefixlen", 28, "gateway_ip", nil).expect(t, 201).obj(t, "subnet")
		if s4["cidr"] != "10.10.1.64/28" || s4["gateway_ip"] != nil ||
			!reflect.DeepEqual(snPools(s4["allocation_pools"]), []string{"10.10.1.65-10.10.1.78"}) {
			t.Errorf("no-gateway allocation %v %v %v", s4["cidr"], s4["gateway_ip"], snPools(s4["allocation_pools"]))
		}
		// A specific CIDR inside the pool, with its own pools.
		s5 := sub("cidr", "10.10.128.0/24", "allocation_pools", snPoolBody("10.10.128.10-10.10.128.20")).expect(t, 201).obj(t, "subnet")
		if s5["cidr"] != "10.10.128.0/24" || s5["gateway_ip"] != "10.10.128.1" || s5["subnetpool_id"] != pid ||
			!reflect.DeepEqual(snPools(s5["allocation_pools"]), []string{"10.10.128.10-10.10.128.20"}) {
			t.Errorf("specific allocation %v", s5)
		}
		// A gateway without a CIDR picks the block of the default length around it.
		s6 := sub("gateway_ip", "10.10.200.1").expect(t, 201).obj(t, "subnet")
		if s6["cidr"] != "10.10.200.0/26" || s6["gateway_ip"] != "10.10.200.1" {
			t.Errorf("allocation around a gateway %v %v", s6["cidr"], s6["gateway_ip"])
		}
		cases := []struct {
			name     string
			attrs    []any
			status   int
			typ, msg string
		}{
			{"cidr outside the pool", []any{"cidr", "10.30.0.0/24"}, 500, "SubnetAllocationError",
				"Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes."},
			{"cidr already allocated", []any{"cidr", "10.10.0.128/25"}, 500, "SubnetAllocationError",
				"Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes."},
			{"prefix too long", []any{"prefixlen", 29}, 400, "MaxPrefixSubnetAllocationError",
				"Unable to allocate subnet with prefix length 29, maximum allowed prefix is 28."},
			{"prefix too short", []any{"prefixlen", 19}, 400, "MinPrefixSubnetAllocationError",
				"Unable to allocate subnet with prefix length 19, minimum allowed prefix is 20."},
			{"specific cidr too long", []any{"cidr", "10.10.50.0/29"}, 400, "MaxPrefixSubnetAllocationError",
				"Unable to allocate subnet with prefix length 29, maximum allowed prefix is 28."},
			{"prefixlen beyond the family", []any{"prefixlen", 33}, 400, "AddrFormatError", "invalid IPNetwork 0.0.0.0/33"},
			{"pools need a cidr", []any{"prefixlen", 24, "allocation_pools", snPoolBody("10.10.9.5-10.10.9.9")}, 400, "BadRequest",
				"Bad subnets request: allocation_pools allowed only for specific subnet requests."},
			{"ipv6 from an ipv4 pool", []any{"ip_version", 6}, 400, "BadRequest",
				"Bad subnets request: Cannot allocate IPv6 subnet from IPv4 subnet pool."},
			{"unknown pool", []any{"subnetpool_id", "00000000-0000-0000-0000-000000000006"}, 404, "SubnetPoolNotFound",
				"Subnet pool 00000000-0000-0000-0000-000000000006 could not be found."},
			{"pool and use_default_subnetpool", []any{"use_default_subnetpool", true}, 400, "BadRequest",
				"Bad subnets request: subnetpool_id and use_default_subnetpool cannot both be specified."},
			{"no default pool", []any{"subnetpool_id", nil, "use_default_subnetpool", true}, 400, "BadRequest",
				"Bad subnets request: No default subnetpool found for IPv4."},
		}
		before := e.snCount("subnets")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				sub(c.attrs...).fault(t, c.status, c.typ, c.msg)
			})
		}
		if after := e.snCount("subnets"); after != before {
			t.Errorf("failed allocations changed the subnet count from %d to %d", before, after)
		}
		// A subnet not from the pool on the same network breaks affinity;
		// an IPv6 one without a pool does not.
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netID, "ip_version": 4, "cidr": "192.168.0.0/24"}}).fault(t, 400, "NetworkSubnetPoolAffinityError",
			"Subnets hosted on the same network must be allocated from the same subnet pool.")
		other := e.spCreate(admin, map[string]any{"name": "other", "prefixes": []any{"172.16.0.0/12"}})["id"].(string)
		sub("subnetpool_id", other, "prefixlen", 24).fault(t, 400, "NetworkSubnetPoolAffinityError",
			"Subnets hosted on the same network must be allocated from the same subnet pool.")
		e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64"})
		// And on a network without pooled subnets, a pooled one may not join plain ones.
		plainNet := e.createNetwork(admin, map[string]any{"name": "plain"})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": plainNet, "ip_version": 4, "cidr": "192.168.1.0/24"})
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": plainNet, "ip_version": 4, "subnetpool_id": pid, "prefixlen": 24}}).
			fault(t, 400, "NetworkSubnetPoolAffinityError", "same subnet pool")

		// A pool in use cannot be deleted.
		e.do(admin, "DELETE", "/v2.0/subnetpools/"+pid, nil).fault(t, 400, "SubnetPoolDeleteError",
			"Unable to delete subnet pool: Subnet pool has existing allocations.")
		for _, s := range []map[string]any{s1, s2, s3, s4, s5, s6} {
			e.do(admin, "DELETE", "/v2.0/subnets/"+s["id"].(string), nil).expect(t, 204)
		}
		e.do(admin, "DELETE", "/v2.0/subnetpools/"+pid, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/subnetpools/"+pid, nil).fault(t, 404, "SubnetPoolNotFound", pid)
	})
}

func TestSubnetPoolExhaustionAndQuota(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netA := e.createNetwork(admin, map[string]any{"name": "a"})["id"].(string)
		small := e.spCreate(admin, map[string]any{"name": "small", "prefixes": []any{"10.0.0.0/24"}, "min_prefixlen": 24})["id"].(string)
		for _, want := range []string{"10.0.0.0/25", "10.0.0.128/25"} {
			s := e.snCreate(admin, map[string]any{"network_id": netA, "ip_version": 4, "subnetpool_id": small, "prefixlen": 25})
			if s["cidr"] != want {
				t.Errorf("allocated %v, want %v", s["cidr"], want)
			}
		}
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netA, "ip_version": 4, "subnetpool_id": small, "prefixlen": 25}}).
			fault(t, 500, "SubnetAllocationError", "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /25.")

		// default_quota counts addresses (IPv4) of the pool owner's subnets.
		netB := e.createNetwork(admin, map[string]any{"name": "b", "tenant_id": "quota-project"})["id"].(string)
		quota := e.spCreate(admin, map[string]any{"name": "quota", "prefixes": []any{"10.50.0.0/16"}, "default_quota": 320,
			"min_prefixlen": 24, "tenant_id": "quota-project"})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": netB, "ip_version": 4, "subnetpool_id": quota, "prefixlen": 24,
			"tenant_id": "quota-project"})
		e.snCreate(admin, map[string]any{"network_id": netB, "ip_version": 4, "subnetpool_id": quota, "prefixlen": 26,
			"tenant_id": "quota-project"})
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netB, "ip_version": 4, "subnetpool_id": quota, "prefixlen": 30, "tenant_id": "quota-project"}}).
			fault(t, 409, "SubnetPoolQuotaExceeded", "Per-project subnet pool prefix quota exceeded.")
	})
}

func TestDefaultSubnetPool(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		d4 := e.spCreate(admin, map[string]any{"name": "d4", "prefixes": []any{"10.0.0.0/8"}, "is_default": true,
			"default_prefixlen": 24, "shared": true})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "use_default_subnetpool": true})
		if s["subnetpool_id"] != d4 || s["cidr"] != "10.0.0.0/24" {
			t.Errorf("default pool allocation: %v %v", s["subnetpool_id"], s["cidr"])
		}
		if _, shown := s["use_default_subnetpool"]; shown {
			t.Errorf("use_default_subnetpool is shown: %v", s)
		}
		// A CIDR without use_default_subnetpool does not come from the default pool.
		other := e.createNetwork(admin, map[string]any{"name": "other"})["id"].(string)
		plain := e.snCreate(admin, map[string]any{"network_id": other, "ip_version": 4, "cidr": "192.168.0.0/24"})
		if plain["subnetpool_id"] != nil {
			t.Errorf("plain subnet got pool %v", plain["subnetpool_id"])
		}
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": other, "ip_version": 6, "use_default_subnetpool": true}}).
			fault(t, 400, "BadRequest", "Bad subnets request: No default subnetpool found for IPv6.")
		// Any project may allocate from a shared default pool.
		own := e.createNetwork(member1, map[string]any{"name": "own"})["id"].(string)
		m := e.snCreate(member1, map[string]any{"network_id": own, "ip_version": 4, "use_default_subnetpool": true})
		if m["subnetpool_id"] != d4 || m["project_id"] != "project-one" {
			t.Errorf("member's default allocation: %v", m)
		}
	})
}

func TestAddressScopes(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		s := e.spScope(admin, map[string]any{"name": "s4", "ip_version": 4})
		id := s["id"].(string)
		want := map[string]any{"name": "s4", "ip_version": float64(4), "shared": false,
			"tenant_id": "fake_project_id", "project_id": "fake_project_id"}
		for k, v := range want {
			if s[k] != v {
				t.Errorf("%s = %v, want %v", k, s[k], v)
			}
		}
		var keys []string
		for k := range s {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"id", "ip_version", "name", "project_id", "shared", "tenant_id"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("keys %v, want %v", keys, want)
		}
		got := e.do(admin, "GET", "/v2.0/address-scopes/"+id, nil).expect(t, 200).obj(t, "address_scope")
		if !reflect.DeepEqual(got, s) {
			t.Errorf("show differs from create:\n%v\n%v", got, s)
		}
		s6 := e.spScope(admin, map[string]any{"name": "s6", "ip_version": "6", "shared": true})
		list := e.do(admin, "GET", "/v2.0/address-scopes?ip_version=6", nil).expect(t, 200).list(t, "address_scopes")
		if len(list) != 1 || list[0]["id"] != s6["id"] {
			t.Errorf("filtered list %v", list)
		}
		up := e.do(admin, "PUT", "/v2.0/address-scopes/"+id, map[string]any{"address_scope": map[string]any{"name": "renamed", "shared": true}}).
			expect(t, 200).obj(t, "address_scope")
		if up["name"] != "renamed" || up["shared"] != true {
			t.Errorf("update %v", up)
		}
		errs := []struct {
			name, method, path string
			body               any
			status             int
			typ, msg           string
		}{
			{"no ip_version", "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{"name": "x"}}, 400,
				"HTTPBadRequest", "Failed to parse request. Required attribute 'ip_version' not specified"},
			{"bad ip_version", "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{"ip_version": 5}}, 400,
				"HTTPBadRequest", "Invalid input for ip_version. Reason: 5 is not in valid_values."},
			{"unshare", "PUT", "/v2.0/address-scopes/" + id, map[string]any{"address_scope": map[string]any{"shared": false}}, 400,
				"AddressScopeUpdateError", "Unable to update address scope " + id + " : Shared address scope can't be unshared."},
			{"ip_version is read-only", "PUT", "/v2.0/address-scopes/" + id, map[string]any{"address_scope": map[string]any{"ip_version": 6}}, 400,
				"HTTPBadRequest", "Cannot update read-only attribute ip_version"},
			{"unknown scope", "GET", "/v2.0/address-scopes/00000000-0000-0000-0000-000000000007", nil, 404,
				"AddressScopeNotFound", "Address scope 00000000-0000-0000-0000-000000000007 could not be found."},
		}
		for _, c := range errs {
			t.Run(c.name, func(t *testing.T) {
				e.do(admin, c.method, c.path, c.body).fault(t, c.status, c.typ, c.msg)
			})
		}

		// A pool in the scope puts networks whose subnets come from it in
		// the scope.
		pool := e.spCreate(admin, map[string]any{"name": "p", "prefixes": []any{"10.0.0.0/16"}, "address_scope_id": id})["id"].(string)
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "subnetpool_id": pool, "prefixlen": 24})
		n := e.snShow("networks", "network", netID)
		if n["ipv4_address_scope"] != id || n["ipv6_address_scope"] != nil {
			t.Errorf("network scopes %v/%v, want %v/nil", n["ipv4_address_scope"], n["ipv6_address_scope"], id)
		}
		listed := e.do(admin, "GET", "/v2.0/networks?id="+netID, nil).expect(t, 200).list(t, "networks")
		if len(listed) != 1 || listed[0]["ipv4_address_scope"] != id {
			t.Errorf("listed network %v", listed)
		}
		// Another pool of the same scope may serve the same network; a pool
		// of another scope, or none, may not.
		sibling := e.spCreate(admin, map[string]any{"name": "sibling", "prefixes": []any{"10.1.0.0/16"}, "address_scope_id": id})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "subnetpool_id": sibling, "prefixlen": 24})
		otherScope := e.spScope(admin, map[string]any{"name": "other", "ip_version": 4})["id"].(string)
		foreign := e.spCreate(admin, map[string]any{"name": "foreign", "prefixes": []any{"10.2.0.0/16"}, "address_scope_id": otherScope})["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netID, "ip_version": 4, "subnetpool_id": foreign, "prefixlen": 24}}).fault(t, 400,
			"NetworkAddressScopeAffinityError",
			"Subnets of the same address family hosted on the same network must all participate in the same address scope.")
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netID, "ip_version": 4, "cidr": "192.168.0.0/24"}}).fault(t, 400, "NetworkSubnetPoolAffinityError", "")
		// Moving a pool to another scope while its network has subnets of
		// the scope's other pool would split the network.
		e.do(admin, "PUT", "/v2.0/subnetpools/"+pool, map[string]any{"subnetpool": map[string]any{"address_scope_id": otherScope}}).
			fault(t, 400, "NetworkAddressScopeAffinityError", "must all participate in the same address scope")
		// The scope is in use while pools are in it.
		e.do(admin, "DELETE", "/v2.0/address-scopes/"+otherScope, nil).fault(t, 409, "AddressScopeInUse",
			"Unable to complete operation on address scope "+otherScope+". There are one or more subnet pools in use on the address scope.")
		e.do(admin, "PUT", "/v2.0/subnetpools/"+foreign, map[string]any{"subnetpool": map[string]any{"address_scope_id": nil}}).expect(t, 200)
		e.do(admin, "DELETE", "/v2.0/address-scopes/"+otherScope, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/address-scopes/"+otherScope, nil).fault(t, 404, "AddressScopeNotFound", otherScope)
	})
}

func TestSubnetPoolAndScopeVisibility(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		shared := e.spCreate(admin, map[string]any{"name": "shared", "prefixes": []any{"10.0.0.0/16"}, "shared": true})["id"].(string)
		mine := e.spCreate(member1, map[string]any{"name": "mine", "prefixes": []any{"10.1.0.0/16"}})
		if mine["project_id"] != "project-one" || mine["shared"] != false {
			t.Errorf("member's pool %v", mine)
		}
		mineID := mine["id"].(string)
		// Pools: own and shared ones are visible, others' are not.
		got := ids(e.do(member2, "GET", "/v2.0/subnetpools", nil).expect(t, 200).list(t, "subnetpools"))
		if !sameSet(got, []string{shared}) {
			t.Errorf("member2 sees pools %v", got)
		}
		got = ids(e.do(member1, "GET", "/v2.0/subnetpools", nil).expect(t, 200).list(t, "subnetpools"))
		if !sameSet(got, []string{shared, mineID}) {
			t.Errorf("member1 sees pools %v", got)
		}
		e.do(member2, "GET", "/v2.0/subnetpools/"+mineID, nil).fault(t, 404, "SubnetPoolNotFound", mineID)
		e.spAction(member2, mineID, "add_prefixes", map[string]any{"prefixes": []any{"10.2.0.0/16"}}).fault(t, 404, "SubnetPoolNotFound", mineID)
		e.do(member2, "DELETE", "/v2.0/subnetpools/"+mineID, nil).fault(t, 404, "SubnetPoolNotFound", mineID)
		// Shared and default pools are the admin's to make.
		e.do(member1, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "s", "prefixes": []any{"10.3.0.0/16"}, "shared": true}}).fault(t, 403, "PolicyNotAuthorized", "create_subnetpool:shared")
		e.do(member1, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "d", "prefixes": []any{"10.3.0.0/16"}, "is_default": true}}).fault(t, 403, "PolicyNotAuthorized", "create_subnetpool:is_default")
		// Others may allocate from a shared pool, not from a private one.
		net2 := e.createNetwork(member2, map[string]any{"name": "n2"})["id"].(string)
		s := e.snCreate(member2, map[string]any{"network_id": net2, "ip_version": 4, "subnetpool_id": shared, "prefixlen": 24})
		if s["subnetpool_id"] != shared || s["project_id"] != "project-two" {
			t.Errorf("allocation from a shared pool: %v", s)
		}
		e.do(member2, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": net2, "ip_version": 4, "subnetpool_id": mineID, "prefixlen": 24}}).fault(t, 404, "SubnetPoolNotFound", mineID)
		// The owner of a shared pool alone changes it.
		e.do(member2, "PUT", "/v2.0/subnetpools/"+shared, map[string]any{"subnetpool": map[string]any{"name": "x"}}).
			fault(t, 403, "PolicyNotAuthorized", "update_subnetpool")

		// Address scopes: the same visibility.
		privScope := e.spScope(member1, map[string]any{"name": "priv", "ip_version": 4})["id"].(string)
		pubScope := e.spScope(admin, map[string]any{"name": "pub", "ip_version": 4, "shared": true})["id"].(string)
		got = ids(e.do(member2, "GET", "/v2.0/address-scopes", nil).expect(t, 200).list(t, "address_scopes"))
		if !sameSet(got, []string{pubScope}) {
			t.Errorf("member2 sees scopes %v", got)
		}
		e.do(member2, "GET", "/v2.0/address-scopes/"+privScope, nil).fault(t, 404, "AddressScopeNotFound", privScope)
		e.do(member1, "POST", "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{
			"name": "s", "ip_version": 4, "shared": true}}).fault(t, 403, "PolicyNotAuthorized", "create_address_scope:shared")
		// A pool may join the caller's own scope or a shared one, not
		// another project's private one.
		e.do(member2, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{
			"name": "x", "prefixes": []any{"10.9.0.0/16"}, "address_scope_id": privScope}}).fault(t, 404, "AddressScopeNotFound", privScope)
		inPub := e.spCreate(member2, map[string]any{"name": "in-pub", "prefixes": []any{"10.9.0.0/16"}, "address_scope_id": pubScope})["id"].(string)
		e.spCreate(member1, map[string]any{"name": "in-priv", "prefixes": []any{"10.8.0.0/16"}, "address_scope_id": privScope})
		// A pool in another project's shared scope cannot be changed by
		// its owner.
		e.do(member2, "PUT", "/v2.0/subnetpools/"+inPub, map[string]any{"subnetpool": map[string]any{"name": "renamed"}}).fault(t, 400,
			"IllegalSubnetPoolUpdate", "Illegal subnetpool update : subnetpool "+inPub+" cannot be updated when associated with shared address scope "+pubScope+".")
	})
}

// TestSubnetAllocationFromIPv6Pool: a subnet allocated by prefix length
// gets its first host as gateway in both families (subnet_alloc), unlike
// a subnet given a CIDR, whose IPv6 gateway is the subnet-router anycast
// address.
func TestSubnetAllocationFromIPv6Pool(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		pool := e.spCreate(admin, map[string]any{"name": "v6", "prefixes": []any{"2001:db8::/48"}})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "subnetpool_id": pool})
		if s["cidr"] != "2001:db8::/64" || s["gateway_ip"] != "2001:db8::1" ||
			!reflect.DeepEqual(snPools(s["allocation_pools"]), []string{"2001:db8::2-2001:db8::ffff:ffff:ffff:ffff"}) {
			t.Errorf("allocated %v gateway %v pools %v", s["cidr"], s["gateway_ip"], snPools(s["allocation_pools"]))
		}
		c := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "subnetpool_id": pool, "cidr": "2001:db8:0:5::/64"})
		if c["gateway_ip"] != "2001:db8:0:5::" {
			t.Errorf("specific CIDR gateway %v", c["gateway_ip"])
		}
		// Without a CIDR Neutron skips the /64 rule of SLAAC.
		l := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "subnetpool_id": pool, "prefixlen": 80,
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
		if l["cidr"] != "2001:db8:0:1::/80" {
			t.Errorf("slaac /80 from the pool: %v", l["cidr"])
		}
	})
}
