package firewall_test

import (
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/neutrino-net/neutrino/internal/dataplane/firewall"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// dhcpProvider is the provider rule set Neutron gives a port with one
// IPv4 address (see securitygroups_rpc_base._apply_provider_rule).
func dhcpProvider(ip string) []firewall.Rule {
	var out []firewall.Rule
	for _, d := range []string{ip + "/32", "255.255.255.255/32"} {
		out = append(out, firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp",
			PortRangeMin: ptr(68), PortRangeMax: ptr(68), SourcePortRangeMin: ptr(67), SourcePortRangeMax: ptr(67), DestIPPrefix: d})
	}
	return out
}

// TestRenderGolden renders hosts covering each kind of rule and port and
// compares the ruleset with testdata/<case>.nft (go test -update
// rewrites them).
func TestRenderGolden(t *testing.T) {
	no := false
	yes := true
	cases := []struct {
		name string
		host firewall.Host
	}{
		{"default-group", firewall.Host{
			Ports: []firewall.Port{{ID: "p1", Device: "tapp1", Bridge: "brqnet1", NetworkID: "net1", MAC: mac("fa:16:3e:00:00:01"),
				FixedIPs: addrs("10.0.0.5", "2001:db8::5"), PortSecurity: true, SecurityGroups: []string{"sg-default"},
				ProviderRules: append(dhcpProvider("10.0.0.5"), firewall.Rule{Direction: "ingress", Ethertype: "IPv6",
					Protocol: "ipv6-icmp", SourcePortRangeMin: ptr(134)})}},
			Rules: map[string][]firewall.Rule{"sg-default": {
				{Direction: "ingress", Ethertype: "IPv4", RemoteGroupID: "sg-default", Stateful: &yes},
				{Direction: "ingress", Ethertype: "IPv6", RemoteGroupID: "sg-default", Stateful: &yes},
				{Direction: "egress", Ethertype: "IPv4", Stateful: &yes},
				{Direction: "egress", Ethertype: "IPv6", Stateful: &yes},
			}},
			Members: map[string][]netip.Prefix{"sg-default": {netip.MustParsePrefix("10.0.0.5/32"),
				netip.MustParsePrefix("10.0.0.6/32"), netip.MustParsePrefix("10.0.0.0/30"), netip.MustParsePrefix("2001:db8::5/128")}},
		}},
		{"rule-kinds", firewall.Host{
			Ports: []firewall.Port{
				{ID: "p2", Device: "tapp2", Bridge: "brqnet2", MAC: mac("fa:16:3e:00:00:02"), FixedIPs: addrs("10.1.0.5"),
					PortSecurity: true, SecurityGroups: []string{"sg-a", "sg-b"},
					AllowedAddressPairs: []firewall.AddressPair{{Prefix: netip.MustParsePrefix("10.1.0.128/25")},
						{Prefix: netip.MustParsePrefix("10.1.0.99/32"), MAC: mac("fa:16:3e:00:00:99")}}},
				{ID: "p3", Device: "tapp3", Bridge: "brqnet2", MAC: mac("fa:16:3e:00:00:03"), PortSecurity: false},
				{ID: "p4", Device: "tapp4", Bridge: "brqnet3", MAC: mac("fa:16:3e:00:00:04"), PortSecurity: true},
			},
			Rules: map[string][]firewall.Rule{
				"sg-a": {
					{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(22), PortRangeMax: ptr(22), SourceIPPrefix: "192.0.2.0/24"},
					{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp", PortRangeMin: ptr(1000), PortRangeMax: ptr(2000)},
					{Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp", PortRangeMin: ptr(8), PortRangeMax: ptr(0)},
					{Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp", PortRangeMin: ptr(3)},
					{Direction: "ingress", Ethertype: "IPv6", Protocol: "icmp"},
					{Direction: "ingress", Ethertype: "IPv4", Protocol: "132"},
					{Direction: "ingress", Ethertype: "IPv4", Protocol: "any", SourceIPPrefix: "0.0.0.0/0"},
					{Direction: "egress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(443), PortRangeMax: ptr(443), DestIPPrefix: "198.51.100.7"},
					{Direction: "egress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(80), PortRangeMax: ptr(80), RemoteGroupID: "sg-web"},
				},
				// A duplicate of sg-a's rule, kept once.
				"sg-b": {{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(22), PortRangeMax: ptr(22), SourceIPPrefix: "192.0.2.0/24"}},
			},
			Members: map[string][]netip.Prefix{"sg-web": {netip.MustParsePrefix("10.1.0.7/32")}},
		}},
		{"stateless", firewall.Host{
			Ports: []firewall.Port{{ID: "p5", Device: "tapp5", Bridge: "brqnet5", MAC: mac("fa:16:3e:00:00:05"), FixedIPs: addrs("10.5.0.5"),
				PortSecurity: true, SecurityGroups: []string{"sg-sl"}}},
			Rules: map[string][]firewall.Rule{"sg-sl": {
				{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(80), PortRangeMax: ptr(80), Stateful: &no},
				{Direction: "egress", Ethertype: "IPv4", Stateful: &no},
			}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := firewall.Assignment{Marks: map[string]uint16{}, Zones: map[string]uint16{}}
			for i, p := range tc.host.Ports {
				a.Marks[p.Device] = uint16(i + 1)
				if _, ok := a.Zones[p.Bridge]; !ok {
					a.Zones[p.Bridge] = uint16(len(a.Zones) + 1)
				}
			}
			got := firewall.Render(&tc.host, a).String()
			path := filepath.Join("testdata", tc.name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("ruleset differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}
