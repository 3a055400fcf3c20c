package firewall

import "testing"

// TestProtocolNumber: protocols by Neutron's names and by number; any
// and 0 match every protocol; icmp and icmpv6 in IPv6 rules are ICMPv6
// (Neutron's legacy names), the number 1 stays 1 as in Neutron.
func TestProtocolNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		v6   bool
		want int
		ok   bool
	}{
		{"", false, -1, true}, {"any", false, -1, true}, {"0", false, -1, true}, {"hopopt", false, -1, true},
		{"tcp", false, 6, true}, {"TCP", false, 6, true}, {"6", false, 6, true}, {"udp", false, 17, true},
		{"icmp", false, 1, true}, {"icmp", true, 58, true}, {"icmpv6", true, 58, true}, {"ipv6-icmp", true, 58, true},
		{"1", true, 1, true}, {"sctp", false, 132, true}, {"132", false, 132, true}, {"gre", false, 47, true},
		{"255", false, 255, true}, {"256", false, 0, false}, {"-1", false, 0, false}, {"bogus", false, 0, false},
	} {
		got, ok := protocolNumber(c.in, c.v6)
		if got != c.want || ok != c.ok {
			t.Errorf("protocolNumber(%q, v6=%v) = %d, %v; want %d, %v", c.in, c.v6, got, ok, c.want, c.ok)
		}
	}
}
