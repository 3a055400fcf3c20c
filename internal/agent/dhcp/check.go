package dhcp

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Skipped is an object of a network snapshot the reconciler left out
// because it contradicts the rest of the snapshot: the server's view moved
// while the snapshot was taken (a subnet added and an address taken from
// it during a pass), or a bug sent it. One bad object never stops the
// network, nor the other networks: the rest is served, and the next pass,
// with a fresh snapshot, picks the object up once it is consistent.
type Skipped struct {
	Kind   string // "network", "subnet", "port", "fixed_ip", "dns_assignment", "dns_nameserver", "host_route", "gateway_ip"
	ID     string // the object's id (for a fixed IP, its port's id)
	Reason string
}

func (s Skipped) String() string {
	return fmt.Sprintf("%s %s: %s", s.Kind, s.ID, s.Reason)
}

// safeID reports whether id can be written into dnsmasq's files and
// tags, and into file and device names, as it is: ids are UUIDs, but a
// comma, a newline or a slash in one would change what dnsmasq reads or
// where a file goes.
func safeID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// safeDNSName reports whether a host name can be written into dnsmasq's
// hosts files as it is: letters, digits, hyphens and dots only (what the
// server's dns_name validation allows), so no comma, space or newline can
// change what dnsmasq reads.
func safeDNSName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// checkDNSAssignment keeps the entries of a port's dns_assignment that
// name an address of the port with usable names; an address left
// without one is named host-<address> as before dns-integration.
func checkDNSAssignment(p Port, skip func(kind, id, format string, args ...any)) []DNSAssignment {
	var out []DNSAssignment
	for _, d := range p.DNSAssignment {
		a, err := netip.ParseAddr(d.IPAddress)
		switch {
		case err != nil:
			skip("dns_assignment", p.ID, "ip_address %q is not an address", d.IPAddress)
		case !safeDNSName(d.Hostname) || !safeDNSName(d.FQDN):
			skip("dns_assignment", p.ID, "%q / %q is not a DNS name", d.Hostname, d.FQDN)
		default:
			d.IPAddress = a.String()
			out = append(out, d)
		}
	}
	return out
}

// checkNetwork returns n without the objects that contradict the rest of
// it, and what it left out. ok is false when the network itself cannot be
// served (its id is unusable): it is then skipped whole.
func checkNetwork(n Network) (out Network, skipped []Skipped, ok bool) {
	if !uuidLike(n.ID) {
		return Network{}, []Skipped{{"network", fmt.Sprintf("%q", n.ID), "id is not a UUID"}}, false
	}
	skip := func(kind, id, format string, args ...any) {
		skipped = append(skipped, Skipped{kind, id, fmt.Sprintf(format, args...)})
	}
	out = Network{ID: n.ID, MTU: n.MTU}
	if n.MTU < 0 {
		skip("network", n.ID, "mtu %d is negative; serving without an MTU option", n.MTU)
		out.MTU = 0
	}

	prefixes := map[string]netip.Prefix{}
	leftOut := map[string]bool{} // subnets listed but skipped
	for _, s := range n.Subnets {
		leftOut[s.ID] = true
		switch p, err := netip.ParsePrefix(s.CIDR); {
		case !safeID(s.ID):
			skip("subnet", fmt.Sprintf("%q", s.ID), "id is not usable")
		case prefixes[s.ID].IsValid():
			skip("subnet", s.ID, "listed twice")
		case err != nil:
			skip("subnet", s.ID, "cidr %q: %v", s.CIDR, err)
		case s.IPVersion != 4 && s.IPVersion != 6:
			skip("subnet", s.ID, "ip_version %d", s.IPVersion)
		case (s.IPVersion == 4) != p.Addr().Is4():
			skip("subnet", s.ID, "cidr %s is not IPv%d", s.CIDR, s.IPVersion)
		default:
			delete(leftOut, s.ID)
			prefixes[s.ID] = p.Masked()
			out.Subnets = append(out.Subnets, checkSubnet(s, p.Masked(), skip))
		}
	}

	// The DHCP port's addresses come first: when a snapshot shows an
	// address twice, dnsmasq's own address is the one that must hold.
	taken := map[netip.Addr]string{}
	seenPorts := map[string]bool{}
	checkPort := func(p Port) (Port, bool) {
		if !safeID(p.ID) {
			skip("port", fmt.Sprintf("%q", p.ID), "id is not usable")
			return Port{}, false
		}
		if _, err := net.ParseMAC(p.MAC); err != nil || len(p.MAC) != len("fa:16:3e:00:00:00") {
			skip("port", p.ID, "mac_address %q is not a MAC address", p.MAC)
			return Port{}, false
		}
		q := p
		q.FixedIPs = nil
		q.DNSAssignment = checkDNSAssignment(p, skip)
		for _, ip := range p.FixedIPs {
			pfx, known := prefixes[ip.SubnetID]
			a, err := netip.ParseAddr(ip.IPAddress)
			switch {
			case !known && leftOut[ip.SubnetID]:
				skip("fixed_ip", p.ID, "%s is on subnet %s, which was left out", ip.IPAddress, ip.SubnetID)
			case !known:
				// Not this agent's to serve: get_active_networks_info
				// lists DHCP-enabled subnets only, as Neutron's does, so a
				// port may well hold addresses on others (SLAAC, static).
				// A subnet created during the pass shows up in the next.
			case err != nil:
				skip("fixed_ip", p.ID, "ip_address %q: %v", ip.IPAddress, err)
			case !pfx.Contains(a):
				skip("fixed_ip", p.ID, "%s is outside its subnet %s (%s)", ip.IPAddress, ip.SubnetID, pfx)
			case taken[a] == p.ID:
				skip("fixed_ip", p.ID, "%s listed twice", ip.IPAddress)
			case taken[a] != "":
				skip("fixed_ip", p.ID, "%s is also port %s's address", ip.IPAddress, taken[a])
			default:
				taken[a] = p.ID
				q.FixedIPs = append(q.FixedIPs, FixedIP{SubnetID: ip.SubnetID, IPAddress: a.String()})
			}
		}
		return q, true
	}
	if n.DHCPPort.ID != "" {
		if dp, ok := checkPort(n.DHCPPort); ok {
			out.DHCPPort = dp
		}
	}
	for _, p := range n.Ports {
		if p.ID != "" && p.ID == n.DHCPPort.ID {
			// The DHCP port listed among the ports too: its checked copy.
			if out.DHCPPort.ID != "" {
				dp := out.DHCPPort
				dp.DeviceOwner, dp.ExtraDHCPOpts = p.DeviceOwner, p.ExtraDHCPOpts
				out.Ports = append(out.Ports, dp)
			}
			continue
		}
		if seenPorts[p.ID] {
			skip("port", p.ID, "listed twice")
			continue
		}
		seenPorts[p.ID] = true
		if q, ok := checkPort(p); ok {
			out.Ports = append(out.Ports, q)
		}
	}
	return out, skipped, true
}

// checkSubnet drops a subnet's attributes that dnsmasq could not use
// (an unparsable gateway, DNS server or host route); the subnet itself is
// still served.
func checkSubnet(s Subnet, pfx netip.Prefix, skip func(kind, id, format string, args ...any)) Subnet {
	out := s
	out.CIDR = pfx.String()
	if s.GatewayIP != "" {
		if a, err := netip.ParseAddr(s.GatewayIP); err != nil || a.Is4() != pfx.Addr().Is4() {
			skip("gateway_ip", s.ID, "%q is not an IPv%d address; serving without a gateway", s.GatewayIP, s.IPVersion)
			out.GatewayIP = ""
		}
	}
	out.DNSNameservers = slices.DeleteFunc(slices.Clone(s.DNSNameservers), func(d string) bool {
		if _, err := netip.ParseAddr(d); err != nil {
			skip("dns_nameserver", s.ID, "%q is not an address", d)
			return true
		}
		return false
	})
	out.HostRoutes = slices.DeleteFunc(slices.Clone(s.HostRoutes), func(r HostRoute) bool {
		_, derr := netip.ParsePrefix(r.Destination)
		_, nerr := netip.ParseAddr(r.Nexthop)
		if derr != nil || nerr != nil {
			skip("host_route", s.ID, "%s via %s is not a route", r.Destination, r.Nexthop)
			return true
		}
		return false
	})
	return out
}
