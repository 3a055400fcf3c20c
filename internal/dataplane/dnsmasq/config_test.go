package dnsmasq

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	net1 = "9a1e0c4e-5e4b-4f0c-8d5a-2f6f3c1d0001"
	sub4 = "5b0f7c9e-1111-4e7a-9a0b-000000000004"
	sub6 = "5b0f7c9e-2222-4e7a-9a0b-000000000006"
	sub2 = "5b0f7c9e-3333-4e7a-9a0b-000000000002"
)

func dhcpPort(ips ...FixedIP) Port {
	return Port{ID: "d0d0d0d0-0000-0000-0000-000000000001", MAC: "fa:16:3e:00:00:02", FixedIPs: ips, DeviceOwner: OwnerDHCP}
}

func vmPort(n int, mac string, ips ...FixedIP) Port {
	return Port{ID: strings.Repeat(string(rune('a'+n)), 8) + "-0000-0000-0000-000000000000", MAC: mac, FixedIPs: ips, DeviceOwner: "compute:nova"}
}

var cases = []struct {
	name string
	cfg  func(*Config)
	net  Network
}{
	{
		// Router interface on the gateway: not isolated, so the metadata
		// route goes via the gateway; host routes + default; floating IP
		// and DHCP ports get no host entry.
		name: "ipv4-routed",
		net: Network{ID: net1, MTU: 1450,
			Subnets: []Subnet{{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4, GatewayIP: "10.0.0.1", EnableDHCP: true,
				HostRoutes: []HostRoute{{"192.168.0.0/16", "10.0.0.254"}}}},
			Ports: []Port{
				dhcpPort(FixedIP{sub4, "10.0.0.2"}),
				vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"}),
				vmPort(1, "fa:16:3e:00:00:12", FixedIP{sub4, "10.0.0.12"}),
				{ID: "rrrrrrrr-0000-0000-0000-000000000000", MAC: "fa:16:3e:00:00:01", DeviceOwner: "network:router_interface", FixedIPs: []FixedIP{{sub4, "10.0.0.1"}}},
				{ID: "ffffffff-0000-0000-0000-000000000000", MAC: "fa:16:3e:00:00:99", DeviceOwner: "network:floatingip", FixedIPs: []FixedIP{{sub4, "10.0.0.99"}}},
			}},
	},
	{
		// Isolated subnet with enable_isolated_metadata: the metadata route
		// points at the DHCP port; explicit DNS servers; no gateway.
		name: "ipv4-isolated-metadata",
		cfg:  func(c *Config) { c.EnableIsolatedMetadata = true; c.LeaseDuration = -1 },
		net: Network{ID: net1, MTU: 1500,
			Subnets: []Subnet{{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4, EnableDHCP: true, DNSNameservers: []string{"8.8.8.8", "1.1.1.1"}}},
			Ports: []Port{
				dhcpPort(FixedIP{sub4, "10.0.0.2"}),
				vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"}),
			}},
	},
	{
		// extra_dhcp_opts: tags in the hosts file, options per port, a
		// client-id, an option for an IP version the port lacks, a numeric
		// option and one with its own tag.
		name: "extra-dhcp-opts",
		net: Network{ID: net1,
			Subnets: []Subnet{{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4, GatewayIP: "10.0.0.1", EnableDHCP: true}},
			Ports: []Port{
				dhcpPort(FixedIP{sub4, "10.0.0.2"}),
				func() Port {
					p := vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"})
					p.ExtraDHCPOpts = []ExtraDHCPOpt{{OptName: "bootfile-name", OptValue: "pxelinux.0"},
						{OptName: "tag:ipxe,bootfile-name", OptValue: "http://boot/ipxe"},
						{OptName: "150", OptValue: "10.0.0.50"},
						{OptName: "dns-server", OptValue: "2001:db8::1", IPVersion: 6}}
					return p
				}(),
				func() Port {
					p := vmPort(1, "fa:16:3e:00:00:12", FixedIP{sub4, "10.0.0.12"})
					p.ExtraDHCPOpts = []ExtraDHCPOpt{{OptName: "client-id", OptValue: "cid-12"}}
					return p
				}(),
				func() Port {
					p := vmPort(2, "fa:16:3e:00:00:13", FixedIP{sub4, "10.0.0.13"})
					p.ExtraDHCPOpts = []ExtraDHCPOpt{{OptName: "client-id", OptValue: "cid-13"}, {OptName: "server-ip-address", OptValue: "10.0.0.5"}}
					return p
				}(),
			}},
	},
	{
		// Dual stack: DHCPv6 stateful gets a range and [addr] entries, SLAAC
		// none; two v4 subnets on one segment route to each other on-link;
		// a subnet with DHCP disabled gets no range and no host entries, but
		// its names are still resolvable; 0.0.0.0 as DNS means "announce
		// none".
		name: "dual-stack-multi-subnet",
		net: Network{ID: net1, MTU: 9000,
			Subnets: []Subnet{
				{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4, GatewayIP: "10.0.0.1", EnableDHCP: true, DNSNameservers: []string{"0.0.0.0"}},
				{ID: sub2, CIDR: "10.0.1.0/24", IPVersion: 4, GatewayIP: "10.0.1.1", EnableDHCP: false},
				{ID: sub6, CIDR: "2001:db8::/64", IPVersion: 6, GatewayIP: "2001:db8::1", EnableDHCP: true, IPv6AddressMode: "dhcpv6-stateful", IPv6RAMode: "dhcpv6-stateful"},
			},
			Ports: []Port{
				dhcpPort(FixedIP{sub4, "10.0.0.2"}, FixedIP{sub6, "2001:db8::2"}),
				vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"}, FixedIP{sub6, "2001:db8::11"}),
				vmPort(1, "fa:16:3e:00:00:12", FixedIP{sub2, "10.0.1.12"}),
			}},
	},
	{
		// dns-integration: the server's dns_assignment names a port's
		// addresses (fqdn in the hosts files, fqdn then hostname in
		// addn_hosts, as Neutron writes them); an address it does not name
		// (the second VM's IPv6 one) is host-<address> in the agent's
		// domain; --domain is [DEFAULT] dns_domain as given.
		name: "dns-assignment",
		cfg:  func(c *Config) { c.DNSDomain = "example.org." },
		net: Network{ID: net1, MTU: 1450,
			Subnets: []Subnet{
				{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4, GatewayIP: "10.0.0.1", EnableDHCP: true},
				{ID: sub6, CIDR: "2001:db8::/64", IPVersion: 6, GatewayIP: "2001:db8::1", EnableDHCP: true, IPv6AddressMode: "dhcpv6-stateful", IPv6RAMode: "dhcpv6-stateful"},
			},
			Ports: []Port{
				dhcpPort(FixedIP{sub4, "10.0.0.2"}),
				func() Port {
					p := vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"}, FixedIP{sub6, "2001:db8::11"})
					p.DNSAssignment = []DNSAssignment{{"10.0.0.11", "web", "web.example.org."}, {"2001:db8::11", "web", "web.example.org."}}
					return p
				}(),
				func() Port {
					p := vmPort(1, "fa:16:3e:00:00:12", FixedIP{sub4, "10.0.0.12"}, FixedIP{sub6, "2001:db8::12"})
					p.DNSAssignment = []DNSAssignment{{"10.0.0.12", "host-10-0-0-12", "host-10-0-0-12.example.org."}}
					return p
				}(),
			}},
	},
}

func TestRenderGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			f := cfg.Render(&c.net)
			args, ok := cfg.Args(&c.net, PathsFor("/var/lib/neutrino/dhcp", c.net.ID))
			if !ok {
				t.Fatal("Args: DHCP reported disabled")
			}
			got := map[string]string{"host": f.Hosts, "addn_hosts": f.AddnHosts, "opts": f.Opts, "leases": f.Leases,
				"args": strings.Join(args, "\n") + "\n"}
			for name, content := range got {
				path := filepath.Join("testdata", c.name, name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if string(want) != content {
					t.Errorf("%s differs\n--- want\n%s\n--- got\n%s", path, want, content)
				}
			}
		})
	}
}

func TestArgsDisabled(t *testing.T) {
	n := &Network{ID: net1, Subnets: []Subnet{{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4}}}
	if _, ok := DefaultConfig().Args(n, PathsFor("/x", net1)); ok {
		t.Fatal("a network without DHCP-enabled subnets must not run dnsmasq")
	}
}

func TestFormatOption(t *testing.T) {
	for _, c := range []struct {
		v        int
		tag, opt string
		args     []string
		want     string
	}{
		{4, "subnet-x", "router", []string{"10.0.0.1"}, "tag:subnet-x,option:router,10.0.0.1"},
		{4, "subnet-x", "router", nil, "tag:subnet-x,option:router"},
		{4, "port-p", "249", []string{"a,b"}, "tag:port-p,249,a,b"},
		{6, "port-p", "dns-server", []string{"[::1]"}, "tag:port-p,option6:dns-server,[::1]"},
		{4, "port-p", "tag:ipxe,bootfile-name", []string{"x"}, "tag:port-p,tag:ipxe,option:bootfile-name,x"},
		{4, "port-p", "mtu\nevil", []string{"1400\nevil"}, "tag:port-p,option:mtu,1400"},
	} {
		if got := formatOption(c.v, c.tag, c.opt, c.args...); got != c.want {
			t.Errorf("formatOption(%d, %q, %q, %q) = %q, want %q", c.v, c.tag, c.opt, c.args, got, c.want)
		}
	}
}

func TestWriteFileReportsChange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for i, c := range []struct {
		content string
		changed bool
	}{{"a", true}, {"a", false}, {"b", true}} {
		got, err := WriteFile(p, c.content)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.changed {
			t.Errorf("write %d (%q): changed=%v, want %v", i, c.content, got, c.changed)
		}
	}
}

func TestStaleLeases(t *testing.T) {
	p := filepath.Join(t.TempDir(), "leases")
	content := "duid 00:01:00:01:2c:aa:bb:cc\n" +
		"1700000000 fa:16:3e:00:00:11 10.0.0.11 host-10-0-0-11 *\n" +
		"1700000000 fa:16:3e:00:00:12 10.0.0.12 * 01:fa:16:3e:00:00:12\n" +
		"1700000000 FA:16:3E:00:00:13 10.0.0.13 * *\n" +
		"1700000000 1234 2001:db8::11 * 00:01\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	leases, err := ReadLeases(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != 3 || leases[1].ClientID != "01:fa:16:3e:00:00:12" || leases[0].ClientID != "" {
		t.Fatalf("ReadLeases = %+v", leases)
	}
	n := &Network{Ports: []Port{
		vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"}), // unchanged
		vmPort(1, "fa:16:3e:00:00:99", FixedIP{sub4, "10.0.0.12"}), // address moved to a new MAC
		vmPort(2, "fa:16:3e:00:00:13", FixedIP{sub4, "10.0.0.13"}), // MAC case differs only
	}}
	stale := StaleLeases(n, leases)
	if len(stale) != 1 || stale[0].IP != "10.0.0.12" || stale[0].MAC != "fa:16:3e:00:00:12" {
		t.Fatalf("StaleLeases = %+v", stale)
	}
	if l, err := ReadLeases(filepath.Join(t.TempDir(), "absent")); err != nil || l != nil {
		t.Fatalf("absent file: %v %v", l, err)
	}
}

// TestRenderAddressOnUnknownSubnet: an address on a subnet missing from
// the network (a snapshot taken while a subnet was added) gets no entry,
// and the rest of the network renders as without it.
func TestRenderAddressOnUnknownSubnet(t *testing.T) {
	good := vmPort(0, "fa:16:3e:00:00:11", FixedIP{sub4, "10.0.0.11"})
	n := Network{ID: net1, Subnets: []Subnet{{ID: sub4, CIDR: "10.0.0.0/24", IPVersion: 4, EnableDHCP: true}},
		Ports: []Port{dhcpPort(FixedIP{sub4, "10.0.0.2"}), good}}
	want := DefaultConfig().Render(&n)
	for _, stray := range []Port{
		vmPort(1, "fa:16:3e:00:00:12", FixedIP{"unknown-subnet", "10.0.9.12"}),
		{ID: "cccccccc-0000-0000-0000-000000000000", MAC: "fa:16:3e:00:00:13", DeviceOwner: "compute:nova",
			FixedIPs: []FixedIP{{"unknown-subnet", "10.0.9.13"}}, ExtraDHCPOpts: []ExtraDHCPOpt{{OptName: "mtu", OptValue: "1400"}}},
	} {
		n2 := n
		n2.Ports = append(slicesClone(n.Ports), stray)
		got := DefaultConfig().Render(&n2)
		if got.Hosts != want.Hosts || got.AddnHosts != want.AddnHosts || got.Leases != want.Leases {
			t.Errorf("port %s on an unknown subnet changed the files:\n%+v\nwant\n%+v", stray.ID, got, want)
		}
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }
