package dhcp

import (
	"reflect"
	"strings"
	"testing"
)

const (
	tNet  = "3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7a"
	tSub  = "5b0f7c9e-1111-4e7a-9a0b-000000000004"
	tSub2 = "5b0f7c9e-2222-4e7a-9a0b-000000000006"
)

func tPort(id, mac string, ips ...FixedIP) Port {
	return Port{ID: id, MAC: mac, FixedIPs: ips, DeviceOwner: "compute:nova"}
}

// TestCheckNetwork feeds inconsistent snapshots to the check every pass
// makes: each bad object is left out and reported, the rest is kept.
func TestCheckNetwork(t *testing.T) {
	good := Subnet{ID: tSub, CIDR: "10.0.0.0/24", IPVersion: 4, GatewayIP: "10.0.0.1", EnableDHCP: true}
	vm := tPort("vm-good", "fa:16:3e:00:00:11", FixedIP{SubnetID: tSub, IPAddress: "10.0.0.11"})
	dp := Port{ID: "dhcp-port", MAC: "fa:16:3e:00:00:02", FixedIPs: []FixedIP{{SubnetID: tSub, IPAddress: "10.0.0.2"}}}
	base := func() Network {
		return Network{ID: tNet, MTU: 1450, Subnets: []Subnet{good}, Ports: []Port{vm}, DHCPPort: dp}
	}
	for _, c := range []struct {
		name    string
		mutate  func(n *Network)
		skipped []string // "kind id" of each skipped object
		check   func(t *testing.T, n Network)
	}{
		{"consistent", func(n *Network) {}, nil, nil},
		{"port also on a subnet not listed (DHCP disabled, or created since)", func(n *Network) {
			n.Ports = append(n.Ports, tPort("vm-stray", "fa:16:3e:00:00:12", FixedIP{SubnetID: "not-listed", IPAddress: "10.0.9.12"}, FixedIP{SubnetID: tSub, IPAddress: "10.0.0.12"}))
		}, nil, func(t *testing.T, n Network) {
			if ips := n.Ports[1].FixedIPs; len(ips) != 1 || ips[0].IPAddress != "10.0.0.12" {
				t.Errorf("stray port keeps %v, want only its address on a listed subnet", ips)
			}
		}},
		{"duplicate address", func(n *Network) {
			n.Ports = append(n.Ports, tPort("vm-dup", "fa:16:3e:00:00:13", FixedIP{SubnetID: tSub, IPAddress: "10.0.0.11"}))
		}, []string{"fixed_ip vm-dup"}, nil},
		{"address of the DHCP port taken by a VM port listed first", func(n *Network) {
			n.Ports = append([]Port{tPort("vm-thief", "fa:16:3e:00:00:14", FixedIP{SubnetID: tSub, IPAddress: "10.0.0.2"})}, n.Ports...)
		}, []string{"fixed_ip vm-thief"}, func(t *testing.T, n Network) {
			if len(n.DHCPPort.FixedIPs) != 1 {
				t.Errorf("DHCP port lost its address: %+v", n.DHCPPort)
			}
		}},
		{"same address twice on one port", func(n *Network) {
			n.Ports[0].FixedIPs = append(n.Ports[0].FixedIPs, FixedIP{SubnetID: tSub, IPAddress: "10.0.0.11"})
		}, []string{"fixed_ip vm-good"}, nil},
		{"address outside its subnet", func(n *Network) {
			n.Ports = append(n.Ports, tPort("vm-out", "fa:16:3e:00:00:15", FixedIP{SubnetID: tSub, IPAddress: "10.9.9.9"}))
		}, []string{"fixed_ip vm-out"}, nil},
		{"unparsable address", func(n *Network) {
			n.Ports = append(n.Ports, tPort("vm-bad", "fa:16:3e:00:00:16", FixedIP{SubnetID: tSub, IPAddress: "10.0.0.300"}))
		}, []string{"fixed_ip vm-bad"}, nil},
		{"subnet with a bad CIDR", func(n *Network) {
			n.Subnets = append(n.Subnets, Subnet{ID: tSub2, CIDR: "10.1.0.0/33", IPVersion: 4, EnableDHCP: true})
			n.Ports = append(n.Ports, tPort("vm-on-bad", "fa:16:3e:00:00:17", FixedIP{SubnetID: tSub2, IPAddress: "10.1.0.5"}))
		}, []string{"subnet " + tSub2, "fixed_ip vm-on-bad"}, func(t *testing.T, n Network) {
			if len(n.Subnets) != 1 {
				t.Errorf("subnets %+v", n.Subnets)
			}
		}},
		{"subnet without a CIDR (missing field)", func(n *Network) {
			n.Subnets = append(n.Subnets, Subnet{ID: tSub2, IPVersion: 4, EnableDHCP: true})
		}, []string{"subnet " + tSub2}, nil},
		{"subnet whose version contradicts its CIDR", func(n *Network) {
			n.Subnets = append(n.Subnets, Subnet{ID: tSub2, CIDR: "2001:db8::/64", IPVersion: 4, EnableDHCP: true})
		}, []string{"subnet " + tSub2}, nil},
		{"subnet without an id", func(n *Network) {
			n.Subnets = append(n.Subnets, Subnet{CIDR: "10.2.0.0/24", IPVersion: 4, EnableDHCP: true})
		}, []string{`subnet ""`}, nil},
		{"subnet listed twice", func(n *Network) { n.Subnets = append(n.Subnets, good) }, []string{"subnet " + tSub}, nil},
		{"subnet attributes dnsmasq cannot use", func(n *Network) {
			n.Subnets[0].GatewayIP = "gw"
			n.Subnets[0].DNSNameservers = []string{"192.0.2.53", "dns.example"}
			n.Subnets[0].HostRoutes = []HostRoute{{Destination: "192.168.0.0/16", Nexthop: "10.0.0.254"}, {Destination: "nowhere", Nexthop: "10.0.0.254"}}
		}, []string{"gateway_ip " + tSub, "dns_nameserver " + tSub, "host_route " + tSub}, func(t *testing.T, n Network) {
			s := n.Subnets[0]
			if s.GatewayIP != "" || len(s.DNSNameservers) != 1 || len(s.HostRoutes) != 1 {
				t.Errorf("subnet %+v", s)
			}
		}},
		{"port without a MAC (missing field)", func(n *Network) {
			n.Ports = append(n.Ports, tPort("vm-nomac", "", FixedIP{SubnetID: tSub, IPAddress: "10.0.0.18"}))
		}, []string{"port vm-nomac"}, nil},
		{"port whose id would inject a line", func(n *Network) {
			n.Ports = append(n.Ports, tPort("x\ndhcp-range=0.0.0.0", "fa:16:3e:00:00:19", FixedIP{SubnetID: tSub, IPAddress: "10.0.0.19"}))
		}, []string{`port "x\ndhcp-range=0.0.0.0"`}, nil},
		{"port listed twice", func(n *Network) { n.Ports = append(n.Ports, vm) }, []string{"port vm-good"}, nil},
		{"dns_assignment with names that would inject a line, or a bad address", func(n *Network) {
			n.Ports[0].DNSAssignment = []DNSAssignment{
				{IPAddress: "10.0.0.11", Hostname: "web", FQDN: "web.example.org."},
				{IPAddress: "10.0.0.11", Hostname: "x\naddress=/evil/1.2.3.4", FQDN: "x.example.org."},
				{IPAddress: "10.0.0.11", Hostname: "a,b", FQDN: "a.example.org."},
				{IPAddress: "10.0.0.999", Hostname: "bad", FQDN: "bad.example.org."},
			}
		}, []string{"dns_assignment vm-good", "dns_assignment vm-good", "dns_assignment vm-good"}, func(t *testing.T, n Network) {
			if d := n.Ports[0].DNSAssignment; len(d) != 1 || d[0].Hostname != "web" {
				t.Errorf("dns_assignment kept %+v, want only web", d)
			}
		}},
		{"negative MTU", func(n *Network) { n.MTU = -1 }, []string{"network " + tNet}, func(t *testing.T, n Network) {
			if n.MTU != 0 {
				t.Errorf("mtu %d", n.MTU)
			}
		}},
		{"DHCP port with a bad MAC", func(n *Network) { n.DHCPPort.MAC = "zz" }, []string{"port dhcp-port"},
			func(t *testing.T, n Network) {
				if n.DHCPPort.ID != "" {
					t.Errorf("DHCP port kept: %+v", n.DHCPPort)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := base()
			n.Subnets = append([]Subnet(nil), n.Subnets...)
			n.Ports = append([]Port(nil), n.Ports...)
			n.Ports[0].FixedIPs = append([]FixedIP(nil), n.Ports[0].FixedIPs...)
			c.mutate(&n)
			out, skipped, ok := checkNetwork(n)
			if !ok {
				t.Fatalf("network skipped whole: %v", skipped)
			}
			var got []string
			for _, s := range skipped {
				got = append(got, s.Kind+" "+s.ID)
				if s.Reason == "" {
					t.Errorf("%v: no reason", s)
				}
			}
			if !reflect.DeepEqual(got, c.skipped) {
				t.Errorf("skipped %q, want %q", got, c.skipped)
			}
			// The consistent part is always kept.
			kept := false
			for _, p := range out.Ports {
				kept = kept || p.ID == vm.ID && reflect.DeepEqual(p.FixedIPs, vm.FixedIPs)
			}
			if len(out.Subnets) == 0 || out.Subnets[0].ID != tSub || !kept {
				t.Errorf("consistent objects lost: %+v", out)
			}
			if c.check != nil {
				c.check(t, out)
			}
			// Whatever is left renders without a panic.
			toRenderConfig(out)
		})
	}
	for _, id := range []string{"", "n1", "../../etc", "3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7z"} {
		if _, skipped, ok := checkNetwork(Network{ID: id}); ok || len(skipped) != 1 || !strings.Contains(skipped[0].Reason, "UUID") {
			t.Errorf("network id %q: ok=%v skipped=%v", id, ok, skipped)
		}
	}
}

func toRenderConfig(n Network) {
	rn := toRender(n)
	New(nil, Config{}, nil).renderConfig().Render(rn)
}
