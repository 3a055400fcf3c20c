package ipam

import (
	"net"
	"net/netip"
	"testing"
)

func TestCheckSubnetIP(t *testing.T) {
	tests := []struct {
		cidr, ip, owner string
		want            bool
	}{
		// neutron/tests/unit/ipam/test_utils.py
		{"1.1.1.0/24", "1.1.1.0", "", false},
		{"1.1.1.0/24", "1.1.1.255", "", false},
		{"1.1.1.0/24", "1.1.1.1", "", true},
		{"1.1.1.0/24", "1.1.1.254", "", true},
		{"1.1.1.0/24", "1.1.2.1", "", false},
		{"f111::/64", "f111::", "nova:compute", false},
		{"f111::/64", "f111::ffff:ffff:ffff:ffff", "nova:compute", true},
		{"f111::/64", "f111::50", "nova:compute", true},
		{"f111::/64", "f112::50", "nova:compute", false},
		// /31: no broadcast, but the first address is still the network.
		{"10.14.0.20/31", "10.14.0.20", "", false},
		{"10.14.0.20/31", "10.14.0.21", "", true},
		{"10.14.0.20/32", "10.14.0.20", "", false},
		{"10.0.0.0/24", "::ffff:10.0.0.5", "", false},
		{"2001:db8::/64", "10.0.0.5", "", false},
	}
	for _, tt := range tests {
		if got := CheckSubnetIP(pfx(tt.cidr), ip(tt.ip), tt.owner); got != tt.want {
			t.Errorf("CheckSubnetIP(%s, %s, %q) = %v", tt.cidr, tt.ip, tt.owner, got)
		}
	}
	for _, owner := range []string{DeviceOwnerRouterInterface, DeviceOwnerHAReplicatedIntf, DeviceOwnerDVRInterface,
		DeviceOwnerRouterSNAT, DeviceOwnerRouterGateway, ""} {
		for _, s := range []string{"f111::", "f111::ffff:ffff:ffff:ffff", "f111::50"} {
			if !CheckSubnetIP(pfx("f111::/64"), ip(s), owner) {
				t.Errorf("CheckSubnetIP(f111::/64, %s, %q) = false", s, owner)
			}
		}
		if CheckSubnetIP(pfx("f111::/64"), ip("f112::50"), owner) {
			t.Errorf("CheckSubnetIP outside, owner %q", owner)
		}
	}
	if !IsRouterPortOwner(DeviceOwnerRouterGateway) || IsRouterInterfaceOwner(DeviceOwnerRouterGateway) ||
		IsRouterPortOwner(DeviceOwnerDHCP) || !IsRouterInterfaceOwner(DeviceOwnerDVRInterface) {
		t.Error("owner classification")
	}
}

func TestFixedIPErrors(t *testing.T) {
	wantErr(t, ValidateFixedIP(pfx("10.0.0.0/24"), ip("10.0.0.10"), "compute:nova"), "", 0, "")
	wantErr(t, ValidateFixedIP(pfx("10.0.0.0/24"), ip("10.0.0.255"), "compute:nova"), "InvalidIpForSubnet", 400,
		"IP address 10.0.0.255 is not a valid IP for the specified subnet.")
	wantErr(t, ValidateFixedIP(pfx("2001:db8::/64"), ip("2001:db8::"), "compute:nova"), "InvalidIpForSubnet", 400,
		"IP address 2001:db8:: is not a valid IP for the specified subnet.")

	subnets := pfxs("10.0.0.0/24", "2001:db8::/64", "10.0.1.0/24")
	if i, err := SubnetForFixedIP(subnets, ip("10.0.1.7"), ""); i != 2 || err != nil {
		t.Errorf("SubnetForFixedIP = %d, %v", i, err)
	}
	if i, err := SubnetForFixedIP(subnets, ip("2001:db8::"), DeviceOwnerRouterInterface); i != 1 || err != nil {
		t.Errorf("SubnetForFixedIP router v6 anycast = %d, %v", i, err)
	}
	_, err := SubnetForFixedIP(subnets, ip("10.0.2.1"), "")
	wantErr(t, err, "InvalidIpForNetwork", 400, "IP address 10.0.2.1 is not a valid IP for any of the subnets on the specified network.")
	_, err = SubnetForFixedIP(subnets, ip("10.0.0.0"), "")
	wantErr(t, err, "InvalidIpForNetwork", 400, "IP address 10.0.0.0 is not a valid IP for any of the subnets on the specified network.")

	wantErr(t, VerifySpecificIP(pfx("10.0.0.0/24"), ip("10.0.0.5"), "sub-1", false), "", 0, "")
	wantErr(t, VerifySpecificIP(pfx("10.0.0.0/24"), ip("10.0.0.5"), "sub-1", true), "IpAddressAlreadyAllocated", 409,
		"IP address 10.0.0.5 already allocated in subnet sub-1")
	wantErr(t, VerifySpecificIP(pfx("10.0.0.0/24"), ip("10.0.1.5"), "sub-1", false), "InvalidIpForSubnet", 400,
		"IP address 10.0.1.5 does not belong to subnet sub-1")
	// The driver knows no owner, so the IPv6 anycast address passes.
	wantErr(t, VerifySpecificIP(pfx("2001:db8::/64"), ip("2001:db8::"), "sub-2", false), "", 0, "")
}

func TestCheckAutoAddressIP(t *testing.T) {
	mac, _ := net.ParseMAC("fa:16:3e:12:34:56")
	p := pfx("2001:db8:1:2::/64")
	wantErr(t, CheckAutoAddressIP(p, ip("2001:db8:1:2:f816:3eff:fe12:3456"), mac, "compute:nova", "sub-6"), "", 0, "")
	wantErr(t, CheckAutoAddressIP(p, ip("2001:db8:1:2::10"), mac, "compute:nova", "sub-6"), "AllocationOnAutoAddressSubnet", 400,
		"IPv6 address 2001:db8:1:2::10 cannot be directly assigned to a port on subnet sub-6 as the subnet is configured for automatic addresses")
	// test_requested_fixed_ip_address_v6_slaac_router_iface
	wantErr(t, CheckAutoAddressIP(p, ip("2001:db8:1:2::1"), mac, DeviceOwnerRouterInterface, "sub-6"), "", 0, "")
	// The router gateway is not a router interface.
	wantErr(t, CheckAutoAddressIP(p, ip("2001:db8:1:2::1"), mac, DeviceOwnerRouterGateway, "sub-6"), "AllocationOnAutoAddressSubnet", 400,
		"IPv6 address 2001:db8:1:2::1 cannot be directly assigned to a port on subnet sub-6 as the subnet is configured for automatic addresses")
	wantErr(t, CheckAutoAddressIP(ProvisionalPDPrefix, ip("::5"), mac, "compute:nova", "sub-pd"), "", 0, "")
}

func TestPickAddress(t *testing.T) {
	pools := []Range{rg("10.0.0.2", "10.0.0.4"), rg("10.0.0.10", "10.0.0.254")}
	first := func(int) int { return 0 }
	last := func(n int) int { return n - 1 }
	tests := []struct {
		allocated  []string
		preferNext bool
		rnd        func(int) int
		want       string
	}{
		{nil, true, nil, "10.0.0.2"},
		{[]string{"10.0.0.2"}, true, nil, "10.0.0.3"},
		{[]string{"10.0.0.3", "10.0.0.2", "10.0.0.3"}, true, nil, "10.0.0.4"},
		{[]string{"10.0.0.2", "10.0.0.3", "10.0.0.4"}, true, nil, "10.0.0.10"},
		{[]string{"10.0.0.2", "10.0.0.4", "10.0.0.1", "10.0.0.200"}, false, first, "10.0.0.3"},
		// Random picks stay within the first pool that has room.
		{nil, false, last, "10.0.0.4"},
		{[]string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.254", "10.0.0.11"}, false, last, "10.0.0.253"},
	}
	for _, tt := range tests {
		var alloc []netip.Addr
		for _, s := range tt.allocated {
			alloc = append(alloc, ip(s))
		}
		got, err := PickAddress(pools, alloc, tt.preferNext, tt.rnd, "sub-1")
		if err != nil || got.String() != tt.want {
			t.Errorf("PickAddress(%v, %v) = %v, %v; want %s", tt.allocated, tt.preferNext, got, err, tt.want)
		}
	}
	// The random window is the first 1000 free addresses of the pool.
	big := []Range{rg("10.0.0.1", "10.0.255.254")}
	var seen int
	got, err := PickAddress(big, []netip.Addr{ip("10.0.0.5")}, false, func(n int) int { seen = n; return n - 1 }, "sub-1")
	if err != nil || seen != 1000 || got != ip("10.0.3.233") {
		t.Errorf("PickAddress window: n=%d got %v, %v", seen, got, err)
	}
	v6 := []Range{rg("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")}
	got, err = PickAddress(v6, []netip.Addr{ip("2001:db8::1")}, false, func(n int) int { seen = n; return 0 }, "sub-1")
	if err != nil || seen != 1000 || got != ip("2001:db8::2") {
		t.Errorf("PickAddress v6: n=%d got %v, %v", seen, got, err)
	}
	// Default randomness stays inside the pools.
	for i := 0; i < 50; i++ {
		got, err := PickAddress(pools, nil, false, nil, "sub-1")
		if err != nil || !(pools[0].Contains(got)) {
			t.Fatalf("PickAddress random = %v, %v", got, err)
		}
	}
	_, err = PickAddress([]Range{rg("10.0.0.2", "10.0.0.3")}, []netip.Addr{ip("10.0.0.3"), ip("10.0.0.2")}, false, nil, "sub-1")
	wantErr(t, err, "IpAddressGenerationFailure", 409, "No more IP addresses available for subnet sub-1.")
	wantErr(t, NoMoreAddresses(), "IpAddressGenerationFailureAllSubnets", 409, "No more IP addresses available.")
	_, err = PickAddress(nil, nil, true, nil, "sub-2")
	wantErr(t, err, "IpAddressGenerationFailure", 409, "No more IP addresses available for subnet sub-2.")
}
