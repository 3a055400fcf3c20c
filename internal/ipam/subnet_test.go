package ipam

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
)

const inv = "Invalid input for operation: "

func TestValidateSubnetCIDR(t *testing.T) {
	const (
		dhcpLen   = inv + "Subnet has a prefix length that is incompatible with DHCP service enabled."
		multicast = inv + "Multicast IP subnet is not supported if enable_dhcp is True."
		loopback  = inv + "Loopback IP subnet is not supported if enable_dhcp is True."
		firstIP   = inv + "First IP '0.0.0.0' of network is not supported if enable_dhcp is True.."
		v6Any     = inv + "IPv6 subnet '::' is not supported."
	)
	tests := []struct {
		cidr       string
		dhcp, pd   bool
		wantMsg    string
		wantNoDHCP string // the result with DHCP off, when it differs
	}{
		{"10.0.0.0/24", true, false, "", ""},
		{"10.0.0.0/30", true, false, "", ""},
		{"10.0.0.0/8", true, false, "", ""},
		// test_create_subnet_with_invalid_netmask_returns_400_ipv4/ipv6
		{"10.0.0.0/31", true, false, dhcpLen, ""},
		{"10.0.0.0/32", true, false, dhcpLen, ""},
		{"cafe:cafe::/126", true, false, "", ""},
		{"cafe:cafe::/127", true, false, dhcpLen, ""},
		{"cafe:cafe::/128", true, false, dhcpLen, ""},
		{"fe80::/128", true, false, dhcpLen, ""}, // test_create_subnet_bad_V6_cidr
		{"2001:db8::/64", true, false, "", ""},
		// test_unsupported_subnet_cidr_multicast / _loopback
		{"224.0.0.0/24", true, false, multicast, ""},
		{"239.255.0.0/16", true, false, multicast, ""},
		{"224.0.0.0/3", true, false, "", ""},
		{"ff02::/64", true, false, multicast, ""},
		{"127.0.0.0/8", true, false, loopback, ""},
		{"127.0.0.0/24", true, false, loopback, ""},
		// test_create_subnet_invalid_gw_V4_cidr: 10.0.0.0/4 is 0.0.0.0/4.
		{"0.0.0.0/4", true, false, firstIP, ""},
		{"0.0.0.0/24", true, false, firstIP, ""},
		{"0.0.0.0/0", true, false, firstIP, ""},
		// The unspecified IPv6 network is refused with or without DHCP,
		// unless it is a prefix delegation subnet.
		{"::/64", true, false, v6Any, v6Any},
		{"::/0", false, false, v6Any, v6Any},
		{"::/64", true, true, "", ""},
	}
	for _, tt := range tests {
		err := ValidateSubnetCIDR(pfx(tt.cidr), tt.dhcp, tt.pd)
		if tt.wantMsg == "" {
			wantErr(t, err, "", 0, "")
		} else {
			wantErr(t, err, "InvalidInput", 400, tt.wantMsg)
		}
		err = ValidateSubnetCIDR(pfx(tt.cidr), false, tt.pd)
		if tt.wantNoDHCP == "" {
			wantErr(t, err, "", 0, "")
		} else {
			wantErr(t, err, "InvalidInput", 400, tt.wantNoDHCP)
		}
	}
}

func TestValidateCIDRForNetwork(t *testing.T) {
	const net1 = "6c5c2e4b-8e8f-4c65-9d0e-0f4c3b2a1d00"
	wantErr(t, ValidateCIDRForNetwork(pfx("0.0.0.0/0"), nil, net1), "InvalidInput", 400, inv+"0 is not allowed as CIDR prefix length.")
	wantErr(t, ValidateCIDRForNetwork(pfx("::/0"), nil, net1), "InvalidInput", 400, inv+"0 is not allowed as CIDR prefix length.")
	// test_create_two_subnets_same_cidr_returns_400
	wantErr(t, ValidateCIDRForNetwork(pfx("10.0.0.0/24"), pfxs("10.0.0.0/24"), net1), "InvalidInput", 400,
		inv+"Requested subnet with cidr: 10.0.0.0/24 for network: "+net1+" overlaps with another subnet.")
	wantErr(t, ValidateCIDRForNetwork(pfx("10.0.1.0/24"), pfxs("192.168.0.0/16", "10.0.0.0/23"), net1), "InvalidInput", 400,
		inv+"Requested subnet with cidr: 10.0.1.0/24 for network: "+net1+" overlaps with another subnet.")
	wantErr(t, ValidateCIDRForNetwork(pfx("10.0.1.0/24"), pfxs("10.0.0.0/24", "10.0.2.0/24", "2001:db8::/64"), net1), "", 0, "")
	// A provisional prefix-delegation subnet overlaps nothing.
	wantErr(t, ValidateCIDRForNetwork(pfx("::/64"), pfxs("::/64"), net1), "", 0, "")
	wantErr(t, ValidateCIDRForNetwork(pfx("2001:db8::/64"), pfxs("2001:db8::/48"), net1), "InvalidInput", 400,
		inv+"Requested subnet with cidr: 2001:db8::/64 for network: "+net1+" overlaps with another subnet.")
}

func TestDefaultGateway(t *testing.T) {
	tests := []struct{ cidr, gw, first string }{
		{"10.0.0.0/24", "10.0.0.1", "10.0.0.1"},
		{"10.0.0.0/8", "10.0.0.1", "10.0.0.1"},
		{"10.14.0.20/31", "10.14.0.21", "10.14.0.21"},
		{"10.14.0.20/32", "10.14.0.21", "10.14.0.21"},
		{"255.255.255.255/32", "invalid IP", "invalid IP"},
		// IPv6: the subnet-router anycast address
		// (test_create_subnet_ipv6_gw_values), but network+1 from pools.
		{"fd77::/64", "fd77::", "fd77::1"},
		{"2001::/64", "2001::", "2001::1"},
		{"::/64", "::", "::1"},
		{"2001:db8::/128", "2001:db8::", "2001:db8::1"},
	}
	for _, tt := range tests {
		if got := DefaultGateway(pfx(tt.cidr)); got.String() != tt.gw {
			t.Errorf("DefaultGateway(%s) = %s, want %s", tt.cidr, got, tt.gw)
		}
		if got := FirstHostIP(pfx(tt.cidr)); got.String() != tt.first {
			t.Errorf("FirstHostIP(%s) = %s, want %s", tt.cidr, got, tt.first)
		}
	}
}

func TestDefaultAllocationPools(t *testing.T) {
	tests := []struct {
		cidr string
		gw   string
		want string
	}{
		// neutron/tests/unit/ipam/test_utils.py
		{"192.168.0.0/24", "", "[192.168.0.1-192.168.0.254]"},
		{"192.168.0.0/24", "192.168.0.1", "[192.168.0.2-192.168.0.254]"},
		{"192.168.0.0/24", "192.168.0.254", "[192.168.0.1-192.168.0.253]"},
		{"192.168.0.0/24", "192.168.0.128", "[192.168.0.1-192.168.0.127 192.168.0.129-192.168.0.254]"},
		{"192.168.0.0/32", "", "[192.168.0.0-192.168.0.0]"},
		{"192.168.0.0/31", "", "[192.168.0.0-192.168.0.1]"},
		{"f111::/64", "", "[f111::1-f111::ffff:ffff:ffff:ffff]"},
		{"::/64", "", "[::1-::ffff:ffff:ffff:ffff]"},
		// test_create_subnet_defaults, _gw_values, _ipv6_gw_values
		{"10.0.0.0/24", "10.0.0.1", "[10.0.0.2-10.0.0.254]"},
		{"2001::/64", "2001::ffff:ffff:ffff:ffff", "[2001::1-2001::ffff:ffff:ffff:fffe]"},
		{"2001::/64", "2001::1", "[2001::2-2001::ffff:ffff:ffff:ffff]"},
		{"2001::/64", "2001::", "[2001::1-2001::ffff:ffff:ffff:ffff]"},
		{"::/64", "::ffff:ffff:ffff:ffff", "[::1-::ffff:ffff:ffff:fffe]"},
		// A gateway outside the subnet, or of the other family, changes nothing.
		{"10.0.0.0/24", "100.0.0.1", "[10.0.0.1-10.0.0.254]"},
		{"10.0.0.0/24", "::ffff:10.0.0.7", "[10.0.0.1-10.0.0.254]"},
		{"10.14.0.20/31", "10.14.0.19", "[10.14.0.20-10.14.0.21]"},
		{"10.14.0.20/31", "10.14.0.21", "[10.14.0.20-10.14.0.20]"},
		{"10.14.0.20/32", "10.14.0.19", "[10.14.0.20-10.14.0.20]"},
		// A single-address subnet keeps its address, gateway or not.
		{"10.14.0.20/32", "10.14.0.20", "[10.14.0.20-10.14.0.20]"},
		{"2001:db8::5/128", "2001:db8::5", "[2001:db8::5-2001:db8::5]"},
		{"10.0.0.0/30", "", "[10.0.0.1-10.0.0.2]"},
		{"10.0.0.0/30", "10.0.0.1", "[10.0.0.2-10.0.0.2]"},
		{"10.0.0.0/8", "10.0.0.1", "[10.0.0.2-10.255.255.254]"},
		{"2001:db8::/127", "", "[2001:db8::1-2001:db8::1]"},
		{"2001:db8::/127", "2001:db8::1", "[]"},
		{"0.0.0.0/0", "0.0.0.1", "[0.0.0.2-255.255.255.254]"},
		{"::/0", "", "[::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]"},
	}
	for _, tt := range tests {
		var gw *netip.Addr
		if tt.gw != "" {
			gw = ipp(tt.gw)
		}
		if got := rangesString(DefaultAllocationPools(pfx(tt.cidr), gw)); got != tt.want {
			t.Errorf("DefaultAllocationPools(%s, %s) = %s, want %s", tt.cidr, tt.gw, got, tt.want)
		}
	}
}

func TestValidateAllocationPools(t *testing.T) {
	const (
		oob = "OutOfBoundsAllocationPool"
		ovl = "OverlappingAllocationPools"
		gwc = "GatewayConflictWithAllocationPools"
		bad = "InvalidAllocationPool"
	)
	tests := []struct {
		name   string
		cidr   string
		gw     string
		pools  []Range
		typ    string
		status int
		msg    string
	}{
		{"in bounds", "10.0.0.0/24", "10.0.0.1", []Range{rg("10.0.0.2", "10.0.0.100")}, "", 0, ""},
		{"two pools", "10.0.0.0/24", "10.0.0.1", []Range{rg("10.0.0.2", "10.0.0.100"), rg("10.0.0.110", "10.0.0.150")}, "", 0, ""},
		{"large", "10.0.0.0/8", "10.0.0.1", []Range{rg("10.0.0.2", "10.0.0.100"), rg("10.1.0.0", "10.200.0.100")}, "", 0, ""},
		{"no gateway, fully allocated", "10.0.0.0/24", "", []Range{rg("10.0.0.1", "10.0.0.254")}, "", 0, ""},
		{"v6", "fe80::/80", "fe80::1", []Range{rg("fe80::2", "fe80::ffff:fffa:ffff")}, "", 0, ""},
		{"v6 last address", "2001:db8::/64", "", []Range{rg("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")}, "", 0, ""},
		{"/31 both addresses", "10.14.0.20/31", "10.14.0.19", []Range{rg("10.14.0.20", "10.14.0.21")}, "", 0, ""},
		{"/32", "10.14.0.20/32", "", []Range{rg("10.14.0.20", "10.14.0.20")}, "", 0, ""},
		{"gateway outside", "10.0.0.0/24", "100.0.0.1", []Range{rg("10.0.0.1", "10.0.0.254")}, "", 0, ""},
		// test_create_subnet_bad_pools on 10.0.2.0/24
		{"below and above", "10.0.2.0/24", "10.0.2.1", []Range{rg("10.0.0.200", "10.0.3.20")}, oob, 400,
			"The allocation pool 10.0.0.200-10.0.3.20 spans beyond the subnet cidr 10.0.2.0/24."},
		{"above", "10.0.2.0/24", "10.0.2.1", []Range{rg("10.0.2.250", "10.0.3.5")}, oob, 400,
			"The allocation pool 10.0.2.250-10.0.3.5 spans beyond the subnet cidr 10.0.2.0/24."},
		// Bounds are checked for every pool before overlaps.
		{"duplicates out of bounds", "10.0.2.0/24", "10.0.2.1", []Range{rg("10.0.0.2", "10.0.0.3"), rg("10.0.0.2", "10.0.0.3")}, oob, 400,
			"The allocation pool 10.0.0.2-10.0.0.3 spans beyond the subnet cidr 10.0.2.0/24."},
		{"network address", "10.0.0.0/24", "", []Range{rg("10.0.0.0", "10.0.0.5")}, oob, 400,
			"The allocation pool 10.0.0.0-10.0.0.5 spans beyond the subnet cidr 10.0.0.0/24."},
		{"broadcast address", "10.0.0.0/24", "", []Range{rg("10.0.0.200", "10.0.0.255")}, oob, 400,
			"The allocation pool 10.0.0.200-10.0.0.255 spans beyond the subnet cidr 10.0.0.0/24."},
		{"out of range", "10.0.0.0/24", "10.0.0.1", []Range{rg("10.0.0.2", "10.0.1.6")}, oob, 400,
			"The allocation pool 10.0.0.2-10.0.1.6 spans beyond the subnet cidr 10.0.0.0/24."},
		{"v6 anycast address", "2001:db8::/64", "", []Range{rg("2001:db8::", "2001:db8::5")}, oob, 400,
			"The allocation pool 2001:db8::-2001:db8::5 spans beyond the subnet cidr 2001:db8::/64."},
		{"v6 /128", "2001:db8::5/128", "", []Range{rg("2001:db8::5", "2001:db8::5")}, oob, 400,
			"The allocation pool 2001:db8::5-2001:db8::5 spans beyond the subnet cidr 2001:db8::5/128."},
		{"other family", "10.0.0.0/24", "", []Range{rg("fe80::1", "fe80::5")}, bad, 400,
			"The allocation pool fe80::1-fe80::5 is not valid."},
		{"overlap", "10.0.0.0/24", "10.0.0.1", []Range{rg("10.0.0.2", "10.0.0.150"), rg("10.0.0.140", "10.0.0.180")}, ovl, 409,
			"Found overlapping allocation pools: 10.0.0.2-10.0.0.150 10.0.0.140-10.0.0.180 for subnet 10.0.0.0/24."},
		{"overlap update", "10.0.0.0/24", "", []Range{rg("10.0.0.20", "10.0.0.40"), rg("10.0.0.30", "10.0.0.50")}, ovl, 409,
			"Found overlapping allocation pools: 10.0.0.20-10.0.0.40 10.0.0.30-10.0.0.50 for subnet 10.0.0.0/24."},
		// The first pool overlapping a later one, paired with the first such.
		{"overlap order", "10.0.0.0/24", "", []Range{rg("10.0.0.100", "10.0.0.110"), rg("10.0.0.10", "10.0.0.20"),
			rg("10.0.0.30", "10.0.0.40"), rg("10.0.0.15", "10.0.0.35"), rg("10.0.0.105", "10.0.0.105")}, ovl, 409,
			"Found overlapping allocation pools: 10.0.0.100-10.0.0.110 10.0.0.105-10.0.0.105 for subnet 10.0.0.0/24."},
		{"adjacent is fine", "10.0.0.0/24", "", []Range{rg("10.0.0.10", "10.0.0.20"), rg("10.0.0.21", "10.0.0.30")}, "", 0, ""},
		// test_create_subnet_default_gw_conflict_allocation_pool_returns_409
		{"default gateway in pool", "10.0.0.0/24", "10.0.0.1", []Range{rg("10.0.0.1", "10.0.0.5")}, gwc, 409,
			"Gateway ip 10.0.0.1 conflicts with allocation pool 10.0.0.1-10.0.0.5."},
		// test_create_subnet_gateway_in_allocation_pool_returns_409
		{"gateway in pool", "10.0.0.0/24", "10.0.0.50", []Range{rg("10.0.0.1", "10.0.0.100")}, gwc, 409,
			"Gateway ip 10.0.0.50 conflicts with allocation pool 10.0.0.1-10.0.0.100."},
		{"v6 gateway in pool", "2001:db8::/64", "2001:db8::1", []Range{rg("2001:db8::1", "2001:db8::ff")}, gwc, 409,
			"Gateway ip 2001:db8::1 conflicts with allocation pool 2001:db8::1-2001:db8::ff."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gw *netip.Addr
			if tt.gw != "" {
				gw = ipp(tt.gw)
			}
			wantErr(t, ValidateAllocationPools(tt.pools, pfx(tt.cidr), gw), tt.typ, tt.status, tt.msg)
		})
	}
	wantErr(t, CheckGatewayOutOfPools(ip("10.0.0.101"), []Range{rg("10.0.0.1", "10.0.0.100")}), "", 0, "")
}

func TestValidateGateway(t *testing.T) {
	const notValid = inv + "Gateway is not valid on subnet."
	tests := []struct{ cidr, gw, msg string }{
		{"10.0.0.0/24", "10.0.0.1", ""},
		{"10.0.0.0/24", "10.0.0.254", ""},
		{"10.0.0.0/24", "100.0.0.1", ""}, // test_create_subnet_gw_outside_cidr_returns_201
		{"10.0.0.0/24", "10.0.0.0", notValid},
		{"10.0.0.0/24", "10.0.0.255", notValid},
		// neutron/tests/unit/ipam/test_utils.py test_check_gateway_invalid_in_subnet
		{"10.0.0.0/8", "10.0.0.1", ""},
		{"10.0.0.0/8", "10.255.255.255", notValid},
		{"10.0.0.0/8", "10.0.0.0", notValid},
		{"10.0.0.0/8", "192.168.100.10", ""},
		{"2001:db8::/64", "2001:db8::1", ""},
		// IPv6 has no refused gateway, not even the first or last address.
		{"2001:db8::/64", "2001:db8::", ""},
		{"2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", ""},
		{"2001:db8:0:1::/64", "fe80::1", ""},
		// /31 and /32: both ends are refused.
		{"10.14.0.20/31", "10.14.0.20", notValid},
		{"10.14.0.20/31", "10.14.0.21", notValid},
		{"10.14.0.20/31", "10.14.0.19", ""},
		{"10.14.0.20/32", "10.14.0.20", notValid},
		// test_create_subnet_inconsistent_ipv4_gatewayv6 and its mirror
		{"10.0.0.0/24", "fe80::1", inv + "gateway_ip 'fe80::1' does not match the ip_version '4'."},
		{"fe80::/64", "10.0.0.1", inv + "gateway_ip '10.0.0.1' does not match the ip_version '6'."},
	}
	for _, tt := range tests {
		err := ValidateGateway(ip(tt.gw), pfx(tt.cidr))
		if tt.msg == "" {
			wantErr(t, err, "", 0, "")
		} else {
			wantErr(t, err, "InvalidInput", 400, tt.msg)
		}
		if IsGatewayInvalidInSubnet(pfx(tt.cidr), ip(tt.gw)) != (tt.msg == notValid) {
			t.Errorf("IsGatewayInvalidInSubnet(%s, %s) wrong", tt.cidr, tt.gw)
		}
	}
}

func TestValidateDNSNameservers(t *testing.T) {
	const attr = "Invalid input for dns_nameservers. Reason: "
	tests := []struct {
		servers []string
		version int
		id      string
		typ     string
		msg     string
	}{
		{[]string{"1.2.3.4", "8.8.8.8"}, 4, "", "", ""},
		{nil, 4, "", "", ""},
		{[]string{"2001:4860:4860::8888"}, 6, "", "", ""},
		// test_create_subnet_bad_nameserver
		{[]string{"1100.0.0.2"}, 4, "", "HTTPBadRequest", attr + "'1100.0.0.2' is not a valid nameserver. '1100.0.0.2' is not a valid IP address."},
		{[]string{"1.1.1.2", "1.1000.1.3"}, 4, "", "HTTPBadRequest", attr + "'1.1000.1.3' is not a valid nameserver. '1.1000.1.3' is not a valid IP address."},
		{[]string{"1.1.1.2", "1.1.1.2"}, 4, "", "HTTPBadRequest", attr + "Duplicate nameserver '1.1.1.2'."},
		{[]string{"01.1.1.2"}, 4, "", "HTTPBadRequest", attr + "'01.1.1.2' is not a valid nameserver. '01.1.1.2' is not an accepted IP address, '1.1.1.2' is recommended."},
		// test_create_subnet_with_too_many_dns, test_update_subnet_dns_with_too_many_entries
		{[]string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5", "1.1.1.6"}, 4, "", "DNSNameServersExhausted",
			"Unable to complete operation for new subnet. The number of DNS nameservers exceeds the limit 5."},
		{[]string{"1.1.1.1", "1.1.1.2", "1.1.1.3"}, 4, "0f2a47d8-2a12-4e6b-8b3a-7e3f6a0b9c11", "DNSNameServersExhausted",
			"Unable to complete operation for 0f2a47d8-2a12-4e6b-8b3a-7e3f6a0b9c11. The number of DNS nameservers exceeds the limit 2."},
		// test_create_subnet_inconsistent_ipv6_dns_v4, test_update_subnet_inconsistent_ipv4_dns_v6
		{[]string{"8.8.8.8"}, 6, "", "InvalidInput", inv + "dns_nameserver '8.8.8.8' does not match the ip_version '6'."},
		{[]string{"1.2.3.4", "FE80::1"}, 4, "", "InvalidInput", inv + "dns_nameserver 'FE80::1' does not match the ip_version '4'."},
	}
	for _, tt := range tests {
		max := DefaultMaxDNSNameservers
		if tt.id != "" {
			max = 2
		}
		wantErr(t, ValidateDNSNameservers(tt.servers, tt.version, max, tt.id), tt.typ, 400, tt.msg)
	}
}

func TestValidateHostRoutes(t *testing.T) {
	const attr = "Invalid input for host_routes. Reason: "
	tests := []struct {
		routes  []HostRoute
		version int
		typ     string
		msg     string
	}{
		{[]HostRoute{{"12.0.0.0/8", "4.3.2.1"}, {"0.0.0.0/0", "10.0.2.20"}}, 4, "", ""},
		{[]HostRoute{{"2001:db8::/64", "fe80::1"}}, 6, "", ""},
		// test_create_subnet_bad_hostroutes
		{[]HostRoute{{"100.0.0.0/24", ""}}, 4, "HTTPBadRequest", attr + "'' is not a valid IP address."},
		{[]HostRoute{{"", "10.0.2.20"}}, 4, "HTTPBadRequest", attr + "'' is not a valid CIDR."},
		{[]HostRoute{{"100.0.0.0/8", "10.0.2.20"}, {"100.0.0.0/8", "10.0.2.20"}}, 4, "HTTPBadRequest",
			attr + "Duplicate hostroute '{'destination': '100.0.0.0/8', 'nexthop': '10.0.2.20'}'."},
		{[]HostRoute{{"100.1.1.1/8", "10.0.2.20"}}, 4, "HTTPBadRequest", attr + "'100.1.1.1/8' is not a valid CIDR."},
		{[]HostRoute{{"100.0.0.0", "10.0.2.20"}}, 4, "HTTPBadRequest", attr + "'100.0.0.0' is not a valid CIDR."},
		{[]HostRoute{{"127.0.0.0/8", "10.0.2.20"}}, 4, "HTTPBadRequest", attr + "'127.0.0.0/8' is not a routable CIDR."},
		{[]HostRoute{{"::1/128", "fe80::1"}}, 6, "HTTPBadRequest", attr + "'::1/128' is not a routable CIDR."},
		// test_create_subnet_inconsistent_ipv4_hostroute_dst_v6 / _np_v6
		{[]HostRoute{{"fe80::/48", "10.0.2.20"}}, 4, "InvalidInput", inv + "destination 'fe80::/48' does not match the ip_version '4'."},
		{[]HostRoute{{"192.168.0.0/16", "fe80::1"}}, 4, "InvalidInput", inv + "nexthop 'fe80::1' does not match the ip_version '4'."},
		{[]HostRoute{{"192.168.0.0/16", "fe80::1"}}, 6, "InvalidInput", inv + "destination '192.168.0.0/16' does not match the ip_version '6'."},
	}
	for _, tt := range tests {
		wantErr(t, ValidateHostRoutes(tt.routes, tt.version, DefaultMaxHostRoutes, ""), tt.typ, 400, tt.msg)
	}
	var many []HostRoute
	for i := 0; i <= DefaultMaxHostRoutes; i++ {
		many = append(many, HostRoute{fmt.Sprintf("10.%d.0.0/16", i), "10.0.2.20"})
	}
	wantErr(t, ValidateHostRoutes(many, 4, DefaultMaxHostRoutes, ""), "HostRoutesExhausted", 400,
		"Unable to complete operation for new subnet. The number of host routes exceeds the limit 20.")
	wantErr(t, ValidateHostRoutes(many[:3], 4, 2, "subnet-1"), "HostRoutesExhausted", 400,
		"Unable to complete operation for subnet-1. The number of host routes exceeds the limit 2.")
	wantErr(t, ValidateHostRoutes(many[:DefaultMaxHostRoutes], 4, DefaultMaxHostRoutes, ""), "", 0, "")
}

func TestValidateIPv6Modes(t *testing.T) {
	const (
		noDHCP = inv + "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False."
		eui    = inv + "Invalid CIDR %s for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64."
	)
	tests := []struct {
		ra, addr string
		version  int
		dhcp     bool
		cidr     string
		typ      string
		msg      string
	}{
		{"", "", 4, true, "10.0.0.0/24", "", ""},
		{"", "", 6, false, "2001:db8::/80", "", ""},
		{IPv6SLAAC, IPv6SLAAC, 6, true, "2001:db8::/64", "", ""},
		{DHCPv6Stateful, DHCPv6Stateful, 6, true, "2001:db8::/80", "", ""},
		{DHCPv6Stateless, "", 6, true, "2001:db8::/64", "", ""},
		{"", DHCPv6Stateful, 6, true, "2001:db8::/120", "", ""},
		{IPv6SLAAC, "", 6, true, "", "", ""},
		// test_create_subnet_invalid_ipv6_ra_mode / _address_mode
		{"foo", "slaac", 6, true, "2001:db8::/64", "HTTPBadRequest", "Invalid input for ipv6_ra_mode. Reason: foo is not in valid_values."},
		{"slaac", "baz", 6, true, "2001:db8::/64", "HTTPBadRequest", "Invalid input for ipv6_address_mode. Reason: baz is not in valid_values."},
		// test_create_subnet_ipv6_ra_mode_ip_version_4 / _address_mode_
		{DHCPv6Stateful, "", 4, true, "10.0.0.0/24", "InvalidInput", inv + "ipv6_ra_mode is not valid when ip_version is 4."},
		{"", IPv6SLAAC, 4, true, "10.0.0.0/24", "InvalidInput", inv + "ipv6_address_mode is not valid when ip_version is 4."},
		// test_create_subnet_ipv6_attributes_no_dhcp_enabled
		{IPv6SLAAC, IPv6SLAAC, 6, false, "2001:db8::/64", "InvalidInput", noDHCP},
		{"", DHCPv6Stateless, 6, false, "2001:db8::/64", "InvalidInput", noDHCP},
		// test_create_subnet_ipv6_different_ra_and_addr_modes
		{IPv6SLAAC, DHCPv6Stateful, 6, true, "2001:db8::/64", "InvalidInput", inv + "ipv6_ra_mode set to 'slaac' with ipv6_address_mode set to 'dhcpv6-stateful' is not valid. If both attributes are set, they must be the same value."},
		// test_create_subnet_V6_slaac_big_prefix
		{"", IPv6SLAAC, 6, true, "2014::/65", "InvalidInput", fmt.Sprintf(eui, "2014::/65")},
		{DHCPv6Stateless, "", 6, true, "2001:db8::/56", "InvalidInput", fmt.Sprintf(eui, "2001:db8::/56")},
	}
	for _, tt := range tests {
		var cidr netip.Prefix
		if tt.cidr != "" {
			cidr = pfx(tt.cidr)
		}
		wantErr(t, ValidateIPv6Modes(tt.ra, tt.addr, tt.version, tt.dhcp, cidr), tt.typ, 400, tt.msg)
	}
	// test_update_subnet_ipv6_cannot_disable_dhcp
	wantErr(t, ValidateIPv6DHCPUpdate(true, IPv6SLAAC, IPv6SLAAC), "InvalidInput", 400, inv+"Cannot disable enable_dhcp with ipv6 attributes set.")
	wantErr(t, ValidateIPv6DHCPUpdate(true, "", ""), "", 0, "")
	wantErr(t, ValidateIPv6DHCPUpdate(false, IPv6SLAAC, ""), "", 0, "")
}

func TestValidatePrefixDelegation(t *testing.T) {
	wantErr(t, ValidatePrefixDelegation(6, IPv6SLAAC, IPv6SLAAC), "", 0, "")
	wantErr(t, ValidatePrefixDelegation(6, DHCPv6Stateless, DHCPv6Stateless), "", 0, "")
	wantErr(t, ValidatePrefixDelegation(4, IPv6SLAAC, IPv6SLAAC), "BadRequest", 400, "Bad subnets request: Prefix Delegation can only be used with IPv6 subnets..")
	wantErr(t, ValidatePrefixDelegation(6, DHCPv6Stateful, IPv6SLAAC), "BadRequest", 400, "Bad subnets request: IPv6 RA Mode must be SLAAC or Stateless for Prefix Delegation..")
	wantErr(t, ValidatePrefixDelegation(6, IPv6SLAAC, ""), "BadRequest", 400, "Bad subnets request: IPv6 Address Mode must be SLAAC or Stateless for Prefix Delegation..")
}

func TestIsAutoAddressSubnet(t *testing.T) {
	tests := []struct {
		addr, ra string
		want     bool
	}{
		{"", "", false},
		{IPv6SLAAC, "", true},
		{"", IPv6SLAAC, true},
		{DHCPv6Stateless, DHCPv6Stateless, true},
		{DHCPv6Stateful, DHCPv6Stateful, false},
		{DHCPv6Stateful, IPv6SLAAC, true},
	}
	for _, tt := range tests {
		if got := IsAutoAddressSubnet(tt.addr, tt.ra); got != tt.want {
			t.Errorf("IsAutoAddressSubnet(%q, %q) = %v", tt.addr, tt.ra, got)
		}
	}
}

func TestEUI64(t *testing.T) {
	tests := []struct{ prefix, mac, want string }{
		{"2001:db8:1:2::/64", "fa:16:3e:12:34:56", "2001:db8:1:2:f816:3eff:fe12:3456"},
		{"2001:db8::/64", "00:16:3e:33:44:55", "2001:db8::216:3eff:fe33:4455"},
		{"fe80::/80", "fa:16:3e:33:44:55", "fe80::f816:3eff:fe33:4455"},
		// netaddr adds the identifier to the prefix's first address.
		{"2001:db8:0:0:1::/80", "fa:16:3e:12:34:56", "2001:db8::f817:3eff:fe12:3456"},
		{"2001:db8::ff/64", "fa:16:3e:12:34:56", "2001:db8::f816:3eff:fe12:3456"},
		{"2001:db8::/64", "02:00:00:00:00:00:00:01", "2001:db8::1"},
	}
	for _, tt := range tests {
		mac, err := net.ParseMAC(tt.mac)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EUI64(pfx(tt.prefix), mac)
		if err != nil || got.String() != tt.want {
			t.Errorf("EUI64(%s, %s) = %v, %v; want %s", tt.prefix, tt.mac, got, err, tt.want)
		}
		if len(mac) == 6 && !IsEUI64Address(got) {
			t.Errorf("IsEUI64Address(%s) = false", got)
		}
	}
	mac, _ := net.ParseMAC("fa:16:3e:12:34:56")
	if _, err := EUI64(pfx("10.0.0.0/24"), mac); err == nil || !strings.Contains(err.Error(), "IPv4") {
		t.Errorf("EUI64 on IPv4: %v", err)
	}
	if _, err := EUI64(pfx("2001:db8::/64"), net.HardwareAddr{1, 2, 3}); err == nil {
		t.Error("EUI64 with a 3-byte MAC succeeded")
	}
	for _, s := range []string{"2001:db8::1", "10.0.0.1", "2001:db8::ff:fe00:0:1"} {
		if IsEUI64Address(ip(s)) {
			t.Errorf("IsEUI64Address(%s) = true", s)
		}
	}
}
