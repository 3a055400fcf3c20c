package firewall

import (
	"cmp"
	"net"
	"net/netip"
	"reflect"

	"github.com/vishvananda/netlink"
)

// ctKill selects the connections of one port that lost what allowed
// them, as Neutron's ip_conntrack manager selects them: by zone,
// family, protocol, the port's address on its side and, when the rule
// had one, the remote prefixes on the other side.
type ctKill struct {
	zone    uint16
	v6      bool
	proto   int // -1: any
	local   []netip.Prefix
	ingress bool // the port is the original destination
	both    bool // either direction
	remote  []netip.Prefix
}

var _ netlink.CustomConntrackFilter = ctKill{}

func inAny(ip net.IP, ps []netip.Prefix) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// MatchConntrackFlow implements netlink.CustomConntrackFilter.
func (k ctKill) MatchConntrackFlow(fl *netlink.ConntrackFlow) bool {
	if fl.Zone != k.zone || (k.proto >= 0 && int(fl.Forward.Protocol) != k.proto) {
		return false
	}
	match := func(local, remote net.IP) bool {
		return inAny(local, k.local) && (k.remote == nil || inAny(remote, k.remote))
	}
	src, dst := fl.Forward.SrcIP, fl.Forward.DstIP
	switch {
	case k.both:
		return match(dst, src) || match(src, dst)
	case k.ingress:
		return match(dst, src)
	}
	return match(src, dst)
}

// localPrefixes are the addresses a port owns: fixed IPs and allowed
// address pairs.
func localPrefixes(p *Port) []netip.Prefix {
	var out []netip.Prefix
	for _, ip := range p.FixedIPs {
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	for _, ap := range p.AllowedAddressPairs {
		out = append(out, ap.Prefix)
	}
	return out
}

// forget deletes the connections that prev's ruleset allowed and h's
// does not: those of ports gone, those a removed rule matched, and those
// with remote group members gone. Only ports whose own input or groups'
// rules changed are compared rule by rule.
func (f *Firewall) forget(prev, h *Host, zones map[string]uint16) (int, error) {
	now := map[string]*Port{}
	for i := range h.Ports {
		now[h.Ports[i].Device] = &h.Ports[i]
	}
	gone := map[string][]netip.Prefix{}
	for g, was := range prev.Members {
		if r := removed(was, h.Members[g]); len(r) > 0 {
			gone[g] = r
		}
	}
	var kills []ctKill
	tcNow, tcPrev := translations{}, translations{}
	for i := range prev.Ports {
		old := &prev.Ports[i]
		if !old.Filtered() {
			continue
		}
		zone := zones[old.Bridge]
		local := localPrefixes(old)
		cur, ok := now[old.Device]
		if !ok {
			for _, v6 := range []bool{false, true} {
				kills = append(kills, ctKill{zone: zone, v6: v6, proto: -1, local: local, both: true})
			}
			continue
		}
		if !cur.Filtered() {
			continue // port security off: everything is allowed now
		}
		// Members gone from a remote group the port's rules name.
		for _, g := range cur.SecurityGroups {
			for _, r := range h.Rules[g] {
				rg := cmp.Or(r.RemoteGroupID, r.RemoteAddressGroupID)
				if ips := gone[rg]; len(ips) > 0 {
					kills = append(kills, ctKill{zone: zone, v6: r.Ethertype == IPv6, proto: -1, local: local, both: true, remote: ips})
				}
			}
		}
		if reflect.DeepEqual(old, cur) && sameRules(prev, h, cur.SecurityGroups) {
			continue
		}
		for _, dir := range []string{Ingress, Egress} {
			keep := map[string]bool{}
			for _, e := range effective(h, cur, dir, tcNow) {
				keep[e.text] = true
			}
			for _, e := range effective(prev, old, dir, tcPrev) {
				if keep[e.text] {
					continue
				}
				k := ctKill{zone: zone, v6: e.v6, proto: -1, local: local, ingress: dir == Ingress}
				if n, ok := protocolNumber(e.rule.Protocol, e.v6); ok {
					k.proto = n
				}
				remote := e.rule.SourceIPPrefix
				if dir == Egress {
					remote = e.rule.DestIPPrefix
				}
				if p, ok := parsePrefix(remote); ok && p.Bits() > 0 {
					k.remote = []netip.Prefix{p}
				} else if g := e.set; g != "" {
					k.remote = prev.Members[g[3:]]
					if k.remote == nil {
						k.remote = []netip.Prefix{}
					}
				}
				kills = append(kills, k)
			}
		}
	}
	if len(kills) == 0 {
		return 0, nil
	}
	var v4, v6 []netlink.CustomConntrackFilter
	for _, k := range kills {
		if k.v6 {
			v6 = append(v6, k)
		} else {
			v4 = append(v4, k)
		}
	}
	total := 0
	for _, x := range []struct {
		fam     netlink.InetFamily
		filters []netlink.CustomConntrackFilter
	}{{netlink.FAMILY_V4, v4}, {netlink.FAMILY_V6, v6}} {
		if len(x.filters) == 0 {
			continue
		}
		n, err := f.nl.ConntrackDeleteFilters(netlink.ConntrackTable, x.fam, x.filters...)
		total += int(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// sameRules reports whether the groups have the same rules in a and b.
func sameRules(a, b *Host, groups []string) bool {
	for _, g := range groups {
		if !reflect.DeepEqual(a.Rules[g], b.Rules[g]) {
			return false
		}
	}
	return true
}

// removed are the prefixes of was not in now.
func removed(was, now []netip.Prefix) []netip.Prefix {
	keep := map[netip.Prefix]bool{}
	for _, p := range now {
		keep[p] = true
	}
	var out []netip.Prefix
	for _, p := range was {
		if !keep[p] {
			out = append(out, p)
		}
	}
	return out
}
