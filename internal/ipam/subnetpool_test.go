package ipam

import (
	"net/netip"
	"strconv"
	"testing"
)

func TestValidatePrefixes(t *testing.T) {
	const attr = "Invalid input for prefixes. Reason: "
	tests := []struct {
		in      []string
		version int
		want    string
		typ     string
		msg     string
	}{
		{[]string{"10.10.10.0/24"}, 0, "[10.10.10.0/24]", "", ""},
		// test_update_subnetpool_prefix_list_compaction / _append
		{[]string{"10.10.10.0/24", "10.10.11.0/24"}, 0, "[10.10.10.0/23]", "", ""},
		{[]string{"10.10.8.0/21", "3.3.3.0/24", "2.2.2.0/24"}, 4, "[2.2.2.0/24 3.3.3.0/24 10.10.8.0/21]", "", ""},
		{[]string{"10.0.0.0/8", "10.1.0.0/16"}, 0, "[10.0.0.0/8]", "", ""},
		{[]string{"10.0.0.1/8"}, 0, "[10.0.0.0/8]", "", ""},
		{[]string{"fe80::/48", "2001:db8::/32"}, 6, "[2001:db8::/32 fe80::/48]", "", ""},
		{[]string{"2001:DB8::1/64"}, 0, "[2001:db8::/64]", "", ""},
		// test_create_subnetpool_empty_prefix_list
		{[]string{}, 0, "", "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list."},
		// test_create_subnetpool_mixed_ip_version
		{[]string{"10.10.10.0/21", "fe80::/48"}, 0, "", "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."},
		{[]string{"10.10.10.0/21"}, 6, "", "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."},
		{[]string{"10.0.0.0/8", "10.0.0.0/8", "10.1.0.0/16", "10.1.0.0/16", "10.0.0.0/8"}, 0, "", "HTTPBadRequest",
			attr + "Duplicate items in the list: '10.0.0.0/8, 10.1.0.0/16'."},
		{[]string{"10.0.0.0"}, 0, "", "HTTPBadRequest", attr + "'10.0.0.0' is not a valid IP subnet."},
		{[]string{"10.0.0.0/33"}, 0, "", "HTTPBadRequest", attr + "'10.0.0.0/33' is not a valid IP subnet."},
		{[]string{"10.0.0.0/255.0.0.0"}, 0, "", "HTTPBadRequest", attr + "'10.0.0.0/255.0.0.0' is not a valid IP subnet."},
		{[]string{"10.0.0.0/08"}, 0, "", "HTTPBadRequest", attr + "'10.0.0.0/08' is not a valid IP subnet."},
		{[]string{"x"}, 0, "", "HTTPBadRequest", attr + "'x' is not a valid IP subnet."},
	}
	for _, tt := range tests {
		got, err := ValidatePrefixes(tt.in, tt.version)
		if tt.typ != "" {
			wantErr(t, err, tt.typ, 400, tt.msg)
			continue
		}
		if err != nil || prefixesString(got) != tt.want {
			t.Errorf("ValidatePrefixes(%v) = %s, %v; want %s", tt.in, prefixesString(got), err, tt.want)
		}
	}
	_, v, err := CheckPoolPrefixes(pfxs("fe80::/48"), 0)
	if v != 6 || err != nil {
		t.Errorf("CheckPoolPrefixes version = %d, %v", v, err)
	}
}

func TestMergePrefixes(t *testing.T) {
	got := MergePrefixes([]netip.Prefix{pfx("2001:db8:1::/48"), pfx("10.0.1.0/24"), pfx("10.0.0.7/24"), pfx("10.0.3.0/24"),
		pfx("2001:db8::/48"), pfx("10.0.3.128/25"), pfx("0.0.0.0/32")})
	want := "[0.0.0.0/32 10.0.0.0/23 10.0.3.0/24 2001:db8::/47]"
	if s := prefixesString(got); s != want {
		t.Errorf("MergePrefixes = %s, want %s", s, want)
	}
	if s := prefixesString(MergePrefixes(pfxs("0.0.0.0/1", "128.0.0.0/1"))); s != "[0.0.0.0/0]" {
		t.Errorf("MergePrefixes halves = %s", s)
	}
	if s := prefixesString(MergePrefixes(pfxs("10.0.0.0/24", "10.0.2.0/23"))); s != "[10.0.0.0/24 10.0.2.0/23]" {
		t.Errorf("MergePrefixes unaligned = %s", s)
	}
}

func TestUpdatePrefixes(t *testing.T) {
	got, err := UpdatePrefixes(pfxs("10.10.10.0/24"), pfxs("10.10.10.0/24", "10.10.11.0/24"), 4)
	if err != nil || prefixesString(got) != "[10.10.10.0/23]" {
		t.Errorf("UpdatePrefixes compaction = %v, %v", got, err)
	}
	// A prefix replaced by a covering one is still covered.
	if _, err := UpdatePrefixes(pfxs("10.10.10.0/24"), pfxs("10.10.0.0/16"), 4); err != nil {
		t.Errorf("UpdatePrefixes supernet: %v", err)
	}
	// test_illegal_subnetpool_prefix_list_update
	_, err = UpdatePrefixes(pfxs("10.10.10.0/24"), pfxs("10.10.11.0/24"), 4)
	wantErr(t, err, "IllegalSubnetPoolPrefixUpdate", 400, "Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.")
	// test_update_subnetpool_prefix_list_mixed_ip_version: the subset test passes first.
	_, err = UpdatePrefixes(pfxs("10.10.10.0/24"), pfxs("10.10.10.0/24", "fe80::/48"), 4)
	wantErr(t, err, "PrefixVersionMismatch", 400, "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
	_, err = UpdatePrefixes(pfxs("10.10.10.0/24"), pfxs("fe80::/48"), 4)
	wantErr(t, err, "IllegalSubnetPoolPrefixUpdate", 400, "Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.")
}

func TestParseActionPrefixes(t *testing.T) {
	got, err := ParseActionPrefixes([]string{"10.0.1.7/24", "10.2.0.0"})
	if err != nil || prefixesString(got) != "[10.0.1.0/24 10.2.0.0/32]" {
		t.Errorf("ParseActionPrefixes = %v, %v", got, err)
	}
	_, err = ParseActionPrefixes(nil)
	wantErr(t, err, "HTTPBadRequest", 400, "Request body contains invalid data")
	_, err = ParseActionPrefixes([]string{"10.0.0.0/8", "nope"})
	wantErr(t, err, "AddrFormatError", 400, "invalid IPNetwork nope")
}

func TestRemovePrefixes(t *testing.T) {
	current := pfxs("10.10.0.0/16", "192.168.0.0/24")
	used := pfxs("10.10.5.0/24")
	tests := []struct {
		remove []netip.Prefix
		want   string
		msg    string
	}{
		{nil, "[10.10.0.0/16 192.168.0.0/24]", ""},
		// Disjoint: a no-op that returns the list untouched.
		{pfxs("172.16.0.0/12", "2001:db8::/32"), "[10.10.0.0/16 192.168.0.0/24]", ""},
		{pfxs("192.168.0.0/24"), "[10.10.0.0/16]", ""},
		{pfxs("10.10.128.0/17"), "[10.10.0.0/17 192.168.0.0/24]", ""},
		{pfxs("10.10.0.0/24", "192.168.0.128/25"), "[10.10.1.0/24 10.10.2.0/23 10.10.4.0/22 10.10.8.0/21 10.10.16.0/20 10.10.32.0/19 10.10.64.0/18 10.10.128.0/17 192.168.0.0/25]", ""},
		{pfxs("10.10.5.128/25"), "", "Illegal update to prefixes: One or more the prefixes to be removed is in use by a subnet.."},
		{pfxs("10.0.0.0/8"), "", "Illegal update to prefixes: One or more the prefixes to be removed is in use by a subnet.."},
	}
	for _, tt := range tests {
		got, err := RemovePrefixes(current, tt.remove, used)
		if tt.msg != "" {
			wantErr(t, err, "IllegalSubnetPoolPrefixUpdate", 400, tt.msg)
			continue
		}
		if err != nil || prefixesString(got) != tt.want {
			t.Errorf("RemovePrefixes(%v) = %s, %v; want %s", tt.remove, prefixesString(got), err, tt.want)
		}
	}
	got, err := RemovePrefixes(pfxs("10.0.0.0/24"), pfxs("10.0.0.0/24"), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("RemovePrefixes everything = %v, %v", got, err)
	}
}

func TestPrefixLens(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		min, def, max *int
		version       int
		want          PrefixLens
		msg           string
	}{
		// test_create_subnetpool_ipv4_default_prefix_bounds / ipv6_
		{nil, nil, nil, 4, PrefixLens{8, 8, 32}, ""},
		{nil, nil, nil, 6, PrefixLens{64, 64, 128}, ""},
		// test_create_subnetpool_ipv4_24_with_defaults, _supported_min_prefix
		{n(21), nil, nil, 4, PrefixLens{21, 21, 32}, ""},
		{n(26), nil, nil, 4, PrefixLens{26, 26, 32}, ""},
		{n(21), n(26), nil, 4, PrefixLens{21, 26, 32}, ""},
		{n(48), nil, nil, 6, PrefixLens{48, 48, 128}, ""},
		{nil, n(24), n(28), 4, PrefixLens{8, 24, 28}, ""},
		// test_create_subnetpool_ipv4_default_prefix_too_small / _too_large / _smaller_than_min
		{n(21), n(20), nil, 4, PrefixLens{}, "Illegal prefix bounds: default_prefixlen=20, min_prefixlen=21."},
		{nil, n(32), n(24), 4, PrefixLens{}, "Illegal prefix bounds: default_prefixlen=32, max_prefixlen=24."},
		{n(23), n(22), nil, 4, PrefixLens{}, "Illegal prefix bounds: default_prefixlen=22, min_prefixlen=23."},
		// test_update_subnetpool_min_prefix_larger_than_max, _max_prefix_less_than_min
		{n(30), n(30), n(24), 4, PrefixLens{}, "Illegal prefix bounds: min_prefixlen=30, max_prefixlen=24."},
		{nil, nil, n(33), 4, PrefixLens{}, "Illegal prefix bounds: max_prefixlen=33, ip_version_max=32."},
		{nil, nil, n(129), 6, PrefixLens{}, "Illegal prefix bounds: max_prefixlen=129, ip_version_max=128."},
		{n(0), n(0), n(32), 4, PrefixLens{0, 0, 32}, ""},
	}
	for _, tt := range tests {
		got, err := ResolvePrefixLens(tt.min, tt.def, tt.max, tt.version)
		if tt.msg != "" {
			wantErr(t, err, "IllegalSubnetPoolPrefixBounds", 400, tt.msg)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolvePrefixLens = %+v, %v; want %+v", got, err, tt.want)
		}
	}
	// Neutron's quirk: min 0 without a default fails with a 500.
	_, err := ResolvePrefixLens(n(0), nil, nil, 4)
	wantErr(t, err, "HTTPInternalServerError", 500, "Request Failed: internal server error while processing your request.")
	wantErr(t, ValidatePrefixLens(-1, 8, 32, 6), "UnsupportedMinSubnetPoolPrefix", 400, "Prefix '-1' not supported in IPv4 pool.")
	if DefaultPrefixLens(4) != (PrefixLens{8, 8, 32}) {
		t.Error("DefaultPrefixLens(4)")
	}
}

func TestCheckPrefixLenBounds(t *testing.T) {
	wantErr(t, CheckPrefixLenBounds(24, 21, 32), "", 0, "")
	wantErr(t, CheckPrefixLenBounds(21, 21, 21), "", 0, "")
	// test_allocate_specific_subnet_prefix_too_small / _too_large
	wantErr(t, CheckPrefixLenBounds(20, 21, 32), "MinPrefixSubnetAllocationError", 400,
		"Unable to allocate subnet with prefix length 20, minimum allowed prefix is 21.")
	wantErr(t, CheckPrefixLenBounds(24, 21, 21), "MaxPrefixSubnetAllocationError", 400,
		"Unable to allocate subnet with prefix length 24, maximum allowed prefix is 21.")
}

func TestAllocatePrefix(t *testing.T) {
	tests := []struct {
		pool, used []netip.Prefix
		len        int
		want       string
	}{
		// test_subnet_alloc.py test_allocate_any_subnet: the /16 is the only
		// free CIDR that can hold a /21.
		{pfxs("10.1.0.0/16", "192.168.1.0/24"), nil, 21, "10.1.0.0/21"},
		{pfxs("10.1.0.0/16", "192.168.1.0/24"), nil, 24, "192.168.1.0/24"},
		{pfxs("10.1.0.0/16", "192.168.1.0/24"), nil, 26, "192.168.1.0/26"},
		{pfxs("10.10.0.0/16"), pfxs("10.10.0.0/24"), 24, "10.10.1.0/24"},
		{pfxs("10.10.0.0/16"), pfxs("10.10.0.0/24", "10.10.1.0/24"), 24, "10.10.2.0/24"},
		// Best fit, not lowest address: the /26 hole beats the /25 one.
		{pfxs("10.0.0.0/24"), pfxs("10.0.0.128/26"), 27, "10.0.0.192/27"},
		{pfxs("10.0.0.0/24"), pfxs("10.0.0.128/26"), 25, "10.0.0.0/25"},
		{pfxs("10.0.0.0/16"), pfxs("10.0.1.0/24", "10.0.3.0/25"), 25, "10.0.3.128/25"},
		{pfxs("10.0.0.0/16"), pfxs("10.0.1.0/24", "10.0.3.0/25"), 24, "10.0.0.0/24"},
		// Adjacent pool prefixes merge before being split.
		{pfxs("10.0.0.0/25", "10.0.0.128/25"), nil, 24, "10.0.0.0/24"},
		// Used space outside the pool, or of the other family, is ignored.
		{pfxs("10.0.0.0/24"), pfxs("10.0.1.0/24", "2001:db8::/32"), 24, "10.0.0.0/24"},
		{pfxs("2001:db8::/48"), pfxs("2001:db8::/64"), 64, "2001:db8:0:1::/64"},
		{pfxs("2001:db8::/32"), pfxs("2001:db8::/48", "2001:db8:1::/64"), 64, "2001:db8:1:1::/64"},
		{pfxs("2001:db8::/32"), pfxs("2001:db8::/48", "2001:db8:1::/64"), 48, "2001:db8:2::/48"},
		{pfxs("0.0.0.0/0"), nil, 0, "0.0.0.0/0"},
		{pfxs("0.0.0.0/0"), pfxs("0.0.0.0/1"), 32, "128.0.0.0/32"},
		{pfxs("::/0"), pfxs("8000::/1"), 128, "::/128"},
		{pfxs("::/0"), nil, 0, "::/0"},
		{pfxs("10.0.0.0/30"), pfxs("10.0.0.0/32", "10.0.0.1/32", "10.0.0.3/32"), 32, "10.0.0.2/32"},
	}
	for _, tt := range tests {
		got, err := AllocatePrefix(tt.pool, tt.used, tt.len)
		if err != nil || got.String() != tt.want {
			t.Errorf("AllocatePrefix(%v, %v, /%d) = %v, %v; want %s", tt.pool, tt.used, tt.len, got, err, tt.want)
		}
	}
	fails := []struct {
		pool, used []netip.Prefix
		len        int
	}{
		// test_insufficient_prefix_space_for_any_allocation
		{pfxs("10.1.1.0/24", "192.168.1.0/24"), nil, 21},
		{pfxs("10.0.0.0/24"), pfxs("10.0.0.0/24"), 32},
		{pfxs("10.0.0.0/24"), pfxs("10.0.0.0/26", "10.0.0.128/26"), 25},
		{nil, nil, 24},
		{pfxs("10.0.0.0/8"), nil, 33},
	}
	for _, tt := range fails {
		_, err := AllocatePrefix(tt.pool, tt.used, tt.len)
		wantErr(t, err, "SubnetAllocationError", 500,
			"Failed to allocate subnet: Insufficient prefix space to allocate subnet size /"+strconv.Itoa(tt.len)+".")
	}
}

func TestRequestSpecificPrefix(t *testing.T) {
	const msg = "Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes."
	pool := pfxs("10.1.0.0/16", "192.168.1.0/24")
	tests := []struct {
		used []netip.Prefix
		want string
		ok   bool
	}{
		{nil, "10.1.2.0/24", true},
		{nil, "10.1.0.0/16", true},
		{nil, "192.168.1.128/25", true},
		{pfxs("10.1.2.0/24"), "10.1.3.0/24", true},
		// test_allocate_specific_subnet_non_existent_prefix / _already_allocated
		{nil, "192.168.2.0/24", false},
		{pfxs("10.1.2.0/24"), "10.1.2.0/24", false},
		{pfxs("10.1.2.0/26"), "10.1.2.0/24", false},
		{pfxs("10.1.2.128/26"), "10.1.2.0/24", false},
		// test_insufficient_prefix_space_for_specific_allocation: bigger than the pool.
		{nil, "10.1.0.0/15", false},
		{nil, "192.168.0.0/23", false},
		{nil, "2001:db8::/64", false},
	}
	for _, tt := range tests {
		err := RequestSpecificPrefix(pool, tt.used, pfx(tt.want))
		if tt.ok {
			wantErr(t, err, "", 0, "")
		} else {
			wantErr(t, err, "SubnetAllocationError", 500, msg)
		}
	}
	// A CIDR spanning two adjacent pool prefixes fits.
	wantErr(t, RequestSpecificPrefix(pfxs("10.0.0.0/25", "10.0.0.128/25"), nil, pfx("10.0.0.0/24")), "", 0, "")
	wantErr(t, RequestSpecificPrefix(nil, nil, pfx("10.0.0.0/24")), "SubnetAllocationError", 500, msg)
}

func TestQuota(t *testing.T) {
	if QuotaUnits(24, 4) != 256 || QuotaUnits(32, 4) != 1 || QuotaUnits(64, 6) != 1 || QuotaUnits(48, 6) != 65536 || QuotaUnits(65, 6) != 0.5 {
		t.Error("QuotaUnits")
	}
	const exceeded = "Per-project subnet pool prefix quota exceeded."
	wantErr(t, CheckQuota(256, pfxs("10.0.0.0/25"), 25, 4), "", 0, "")
	wantErr(t, CheckQuota(256, pfxs("10.0.0.0/25"), 24, 4), "SubnetPoolQuotaExceeded", 409, exceeded)
	wantErr(t, CheckQuota(1, nil, 64, 6), "", 0, "")
	wantErr(t, CheckQuota(1, pfxs("2001:db8::/64"), 64, 6), "SubnetPoolQuotaExceeded", 409, exceeded)
	wantErr(t, CheckQuota(1, pfxs("2001:db8::/65"), 65, 6), "", 0, "")
	wantErr(t, CheckQuota(0, pfxs("10.0.0.0/8"), 8, 4), "", 0, "")
}

func TestSubnetPool(t *testing.T) {
	sp := SubnetPool{
		Prefixes:     pfxs("10.10.0.0/16"),
		MinPrefixLen: 21, MaxPrefixLen: 28,
		DefaultQuota: 4096,
		Allocated:    pfxs("10.10.0.0/21", "10.10.8.0/24"),
		QuotaCounted: pfxs("10.10.0.0/21"),
	}
	got, err := sp.AllocateAny(24)
	if err != nil || got.String() != "10.10.9.0/24" {
		t.Errorf("AllocateAny(24) = %v, %v", got, err)
	}
	_, err = sp.AllocateAny(20)
	wantErr(t, err, "MinPrefixSubnetAllocationError", 400, "Unable to allocate subnet with prefix length 20, minimum allowed prefix is 21.")
	_, err = sp.AllocateAny(29)
	wantErr(t, err, "MaxPrefixSubnetAllocationError", 400, "Unable to allocate subnet with prefix length 29, maximum allowed prefix is 28.")
	// 2048 counted + a /21 (2048) fits 4096 exactly; two would not.
	_, err = sp.AllocateAny(21)
	wantErr(t, err, "", 0, "")
	sp.QuotaCounted = append(sp.QuotaCounted, pfx("10.10.8.0/24"))
	_, err = sp.AllocateAny(21)
	wantErr(t, err, "SubnetPoolQuotaExceeded", 409, "Per-project subnet pool prefix quota exceeded.")
	// Quota is checked before space.
	err = sp.AllocateSpecific(pfx("10.10.0.0/21"))
	wantErr(t, err, "SubnetPoolQuotaExceeded", 409, "Per-project subnet pool prefix quota exceeded.")
	sp.DefaultQuota = 0
	wantErr(t, sp.AllocateSpecific(pfx("10.10.0.0/21")), "SubnetAllocationError", 500,
		"Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes.")
	wantErr(t, sp.AllocateSpecific(pfx("10.10.16.0/21")), "", 0, "")
	wantErr(t, sp.AllocateSpecific(pfx("10.10.16.0/20")), "MinPrefixSubnetAllocationError", 400,
		"Unable to allocate subnet with prefix length 20, minimum allowed prefix is 21.")

	v6 := SubnetPool{Prefixes: pfxs("2001:db8::/48"), MinPrefixLen: 64, MaxPrefixLen: 64, DefaultQuota: 2,
		Allocated: pfxs("2001:db8::/64"), QuotaCounted: pfxs("2001:db8::/64")}
	if got, err := v6.AllocateAny(64); err != nil || got != pfx("2001:db8:0:1::/64") {
		t.Errorf("v6 AllocateAny = %v, %v", got, err)
	}
	v6.QuotaCounted = pfxs("2001:db8::/64", "2001:db8:0:1::/64")
	wantErr(t, v6.AllocateSpecific(pfx("2001:db8:0:2::/64")), "SubnetPoolQuotaExceeded", 409, "Per-project subnet pool prefix quota exceeded.")

	wantErr(t, ValidateIPVersionWithPool(4, 4), "", 0, "")
	wantErr(t, ValidateIPVersionWithPool(6, 4), "BadRequest", 400, "Bad subnets request: Cannot allocate IPv6 subnet from IPv4 subnet pool.")
}
