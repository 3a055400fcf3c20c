package ipam

import "testing"

func TestParseCIDR(t *testing.T) {
	const inv = "Invalid input for operation: "
	tests := []struct {
		in      string
		version int
		want    string
		msg     string
	}{
		{"10.0.0.0/24", 4, "10.0.0.0/24", ""},
		// Neutron clears host bits rather than refusing them
		// (test_create_subnet_nonzero_cidr).
		{"10.129.122.5/8", 4, "10.0.0.0/8", ""},
		{"11.129.122.5/15", 4, "11.128.0.0/15", ""},
		{"12.129.122.5/16", 4, "12.129.0.0/16", ""},
		{"13.129.122.5/18", 4, "13.129.64.0/18", ""},
		{"14.129.122.5/22", 4, "14.129.120.0/22", ""},
		{"16.129.122.5/28", 4, "16.129.122.0/28", ""},
		{"17.129.122.5/32", 4, "17.129.122.5/32", ""},
		{"10.0.0.1/24", 4, "10.0.0.0/24", ""},
		{"10.0.0.0/4", 4, "0.0.0.0/4", ""},
		// A bare address is a host prefix, as netaddr.IPNetwork reads it.
		{"10.0.2.0", 4, "10.0.2.0/32", ""},
		{"fe80::", 6, "fe80::/128", ""},
		// Netmask and hostmask forms, and a zero-padded length.
		{"10.0.0.0/255.255.255.0", 4, "10.0.0.0/24", ""},
		{"10.0.0.0/0.0.0.255", 4, "10.0.0.0/24", ""},
		{"10.0.0.0/024", 4, "10.0.0.0/24", ""},
		{"2001:DB8::1/64", 6, "2001:db8::/64", ""},
		{"2001:db8:0:1::/64", 6, "2001:db8:0:1::/64", ""},
		{"cafe:cafe::/127", 6, "cafe:cafe::/127", ""},
		{"0.0.0.0/0", 4, "0.0.0.0/0", ""},
		{"::/0", 6, "::/0", ""},
		{"10.0.0.0/8", 0, "10.0.0.0/8", ""},
		{"fd00::/8", 0, "fd00::/8", ""},
		{"10.0.0.0/33", 4, "", inv + "10.0.0.0/33 is not in a CIDR format."},
		{"2001:db8::/129", 6, "", inv + "2001:db8::/129 is not in a CIDR format."},
		{"abc", 4, "", inv + "abc is not in a CIDR format."},
		{"", 4, "", inv + " is not in a CIDR format."},
		{"10.0.0.0/", 4, "", inv + "10.0.0.0/ is not in a CIDR format."},
		{"10.0.0.0/-1", 4, "", inv + "10.0.0.0/-1 is not in a CIDR format."},
		{"10.0.0.0/255.0.255.0", 4, "", inv + "10.0.0.0/255.0.255.0 is not in a CIDR format."},
		{"10.0.0.256/24", 4, "", inv + "10.0.0.256/24 is not in a CIDR format."},
		{" 10.0.0.0/24", 4, "", inv + " 10.0.0.0/24 is not in a CIDR format."},
		{"fe80::%eth0/64", 6, "", inv + "fe80::%eth0/64 is not in a CIDR format."},
		{"2001:db8::/ffff::", 6, "", inv + "2001:db8::/ffff:: is not in a CIDR format."},
		// test_create_subnet_inconsistent_ipv6_cidrv4 and its mirror; the
		// message quotes the normalized CIDR.
		{"10.0.2.0/24", 6, "", inv + "cidr '10.0.2.0/24' does not match the ip_version '6'."},
		{"10.0.2.7/24", 6, "", inv + "cidr '10.0.2.0/24' does not match the ip_version '6'."},
		{"fe80::/64", 4, "", inv + "cidr 'fe80::/64' does not match the ip_version '4'."},
	}
	for _, tt := range tests {
		p, err := ParseCIDR(tt.in, tt.version)
		if tt.msg != "" {
			wantErr(t, err, "InvalidInput", 400, tt.msg)
			continue
		}
		if err != nil || p.String() != tt.want {
			t.Errorf("ParseCIDR(%q, %d) = %v, %v; want %s", tt.in, tt.version, p, err, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	_, err := ParseCIDR("x", 4)
	if err.Error() != "InvalidInput: Invalid input for operation: x is not in a CIDR format." {
		t.Errorf("Error() = %q", err.Error())
	}
	if _, ok := AsError(nil); ok {
		t.Error("AsError(nil) ok")
	}
}

func TestParseIPAttr(t *testing.T) {
	tests := []struct{ in, want, reason string }{
		{"10.0.0.1", "10.0.0.1", ""},
		{"2001:DB8::1", "2001:db8::1", ""},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1", ""},
		{"10.0.0.256", "", "'10.0.0.256' is not a valid IP address"},
		{"10.0.0.1/32", "", "'10.0.0.1/32' is not a valid IP address"},
		{"1.2.3", "", "'1.2.3' is not a valid IP address"},
		{" 10.0.0.1", "", "' 10.0.0.1' is not a valid IP address"},
		{"fe80::1%eth0", "", "'fe80::1%eth0' is not a valid IP address"},
		{"", "", "'' is not a valid IP address"},
		{"010.000.000.001", "", "'010.000.000.001' is not an accepted IP address, '10.0.0.1' is recommended"},
		{"10.0.0.01", "", "'10.0.0.01' is not an accepted IP address, '10.0.0.1' is recommended"},
	}
	for _, tt := range tests {
		a, err := ParseIPAttr("gateway_ip", tt.in)
		if tt.reason != "" {
			wantErr(t, err, "HTTPBadRequest", 400, "Invalid input for gateway_ip. Reason: "+tt.reason+".")
			continue
		}
		if err != nil || a.String() != tt.want {
			t.Errorf("ParseIPAttr(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
}
