package firewall

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// TableName is the name of both tables (bridge and inet).
const TableName = "neutrino-sg"

// The packet mark carries the filtered port a packet comes from (upper
// half) and goes to (lower half).
const (
	markIn  uint32 = 0xffff0000
	markOut uint32 = 0x0000ffff
)

// Ethernet types.
const (
	ethIPv4 = 0x0800
	ethARP  = 0x0806
	ethIPv6 = 0x86dd
)

// ICMPv6 types the rules name (RFC 4443, 4861, 2710, 3810).
const (
	icmp6MLDQuery    = 130
	icmp6MLDReport   = 131
	icmp6RA          = 134
	icmp6NS          = 135
	icmp6NA          = 136
	icmp6MLDv2Report = 143
)

// Assignment is the per-host numbering a ruleset uses: each filtered
// port's index in the mark and each bridge's conntrack zone.
type Assignment struct {
	Marks map[string]uint16 // tap device → index (1…65535)
	Zones map[string]uint16 // bridge → conntrack zone (1…65535)
}

// Filtered reports whether the port is filtered: port security on and a
// MAC to check.
func (p *Port) Filtered() bool { return p.PortSecurity && len(p.MAC) == 6 && p.Device != "" }

// Render builds the host's ruleset. Every filtered port and bridge must
// have its number in a.
func Render(h *Host, a Assignment) *Ruleset {
	rs, _ := render(h, a, nil)
	return rs
}

// portRender is what one filtered port adds to the ruleset.
type portRender struct {
	bridge    []*Chain // port-, spoof-, out-
	inet      []*Chain // egress-, ingress-
	stateless []Line   // notrack rules of a stateless port
}

// renderPort renders one filtered port with mark index idx.
func renderPort(h *Host, p *Port, idx uint32) *portRender {
	dev := p.Device
	pr := &portRender{
		bridge: []*Chain{portChain(p, idx), spoofChain(p),
			{Name: "out-" + dev, Rules: []Line{{setMark{mask: markOut, value: idx}}}}},
		inet: []*Chain{egressChain(p), ingressChain(p)},
	}
	if !h.stateful(p) {
		// Before the zone: a conntrack template (ct zone set) makes a
		// later notrack a no-op, and notrack needs its accept to keep
		// the zone from attaching one.
		pr.stateless = []Line{
			{markMatch{mask: markIn, value: idx << 16}, notrack{}, accept},
			{etherAddr(true, false, p.MAC), notrack{}, accept}}
	}
	return pr
}

// render builds the ruleset, taking a port's part from reuse when it
// gives one (the last pass's, for a port whose input did not change),
// and returns the parts by device.
func render(h *Host, a Assignment, reuse func(*Port) *portRender) (*Ruleset, map[string]*portRender) {
	ports := make([]*Port, 0, len(h.Ports))
	for i := range h.Ports {
		if p := &h.Ports[i]; p.Filtered() {
			ports = append(ports, p)
		}
	}
	slices.SortFunc(ports, func(x, y *Port) int { return cmp.Compare(x.Device, y.Device) })

	br := &Table{Family: nftables.TableFamilyBridge, Name: TableName}
	in := &Set{Name: "ports-in", Kind: MapIfname}
	out := &Set{Name: "ports-out", Kind: MapIfname}
	br.Sets = []*Set{in, out}
	br.Chains = []*Chain{
		{Name: "prerouting", Hook: &Hook{Hook: *nftables.ChainHookPrerouting, Name: "prerouting", Priority: -300},
			Rules: []Line{{vmap{key: "iifname", set: in.Name}}}},
		{Name: "forward", Hook: &Hook{Hook: *nftables.ChainHookForward, Name: "forward", Priority: -200},
			Rules: []Line{{vmap{key: "oifname", set: out.Name}}}},
	}

	inet := &Table{Family: nftables.TableFamilyINet, Name: TableName}
	zones := &Set{Name: "zones", Kind: MapIfname}
	egress := &Set{Name: "egress", Kind: MapMark}
	ingress := &Set{Name: "ingress", Kind: MapMark}
	inet.Sets = []*Set{zones, egress, ingress}
	pre := &Chain{Name: "prerouting", Hook: &Hook{Hook: *nftables.ChainHookPrerouting, Name: "prerouting", Priority: -300},
		Rules: []Line{{vmap{key: "iifname", set: zones.Name}}}}
	inet.Chains = []*Chain{pre,
		{Name: "egress", Hook: &Hook{Hook: *nftables.ChainHookForward, Name: "forward", Priority: 0},
			Rules: []Line{{vmap{key: "mark", mask: markIn, set: egress.Name}}}},
		{Name: "ingress", Hook: &Hook{Hook: *nftables.ChainHookForward, Name: "forward", Priority: 1},
			Rules: []Line{{vmap{key: "mark", mask: markOut, set: ingress.Name}}}},
		// What a VM sends to the host itself (an address on the bridge)
		// passes its egress rules too, as Neutron's INPUT jump does.
		{Name: "input", Hook: &Hook{Hook: *nftables.ChainHookInput, Name: "input", Priority: 0},
			Rules: []Line{{vmap{key: "mark", mask: markIn, set: egress.Name}}}},
	}

	bridges := map[string]bool{}
	remote := map[string]bool{} // set names the rules use
	parts := make(map[string]*portRender, len(ports))
	groups := map[string]bool{}
	var portChains []*Chain
	var stateless []Line
	tc := translations{}
	for _, p := range ports {
		idx := uint32(a.Marks[p.Device])
		dev := p.Device
		var pr *portRender
		if reuse != nil {
			pr = reuse(p)
		}
		if pr == nil {
			pr = renderPort(h, p, idx)
		}
		parts[dev] = pr
		in.Elems = append(in.Elems, MapElem{Name: dev, Chain: "port-" + dev})
		out.Elems = append(out.Elems, MapElem{Name: dev, Chain: "out-" + dev})
		br.Chains = append(br.Chains, pr.bridge...)
		if p.Bridge != "" {
			bridges[p.Bridge] = true
		}
		stateless = append(stateless, pr.stateless...)
		egress.Elems = append(egress.Elems, MapElem{Mark: idx << 16, Chain: "egress-" + dev})
		ingress.Elems = append(ingress.Elems, MapElem{Mark: idx, Chain: "ingress-" + dev})
		portChains = append(portChains, pr.inet...)
		for _, g := range p.SecurityGroups {
			groups[g] = true
		}
	}
	pre.Rules = append(stateless, pre.Rules...)
	for _, b := range slices.Sorted(mapsKeys(bridges)) {
		zones.Elems = append(zones.Elems, MapElem{Name: b, Chain: "zone-" + b})
		inet.Chains = append(inet.Chains, &Chain{Name: "zone-" + b, Rules: []Line{{ctZone(a.Zones[b])}}})
	}
	inet.Chains = append(inet.Chains, groupChains(h, slices.Sorted(mapsKeys(groups)), remote, tc)...)
	inet.Chains = append(inet.Chains, portChains...)
	for _, name := range slices.Sorted(mapsKeys(remote)) {
		v6 := strings.HasPrefix(name, "v6-")
		s := &Set{Name: name, Kind: SetIPv4}
		if v6 {
			s.Kind = SetIPv6
		}
		for _, m := range h.Members[name[3:]] {
			if m.Addr().Is6() == v6 {
				s.Prefixes = append(s.Prefixes, m.Masked())
			}
		}
		s.Prefixes = mergePrefixes(s.Prefixes)
		inet.Sets = append(inet.Sets, s)
	}
	return &Ruleset{Tables: []*Table{br, inet}}, parts
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// allowedMACs are the MACs the port may send from: its own and its
// allowed address pairs'.
func allowedMACs(p *Port) []net.HardwareAddr {
	macs := []net.HardwareAddr{p.MAC}
	for _, ap := range p.AllowedAddressPairs {
		if len(ap.MAC) == 6 && !slices.ContainsFunc(macs, func(m net.HardwareAddr) bool { return m.String() == ap.MAC.String() }) {
			macs = append(macs, ap.MAC)
		}
	}
	return macs
}

// portChain marks a packet from the VM with the port's index and sends
// it on to the spoofing checks if its source MAC is one the port may
// use (the Linux bridge agent's MAC spoofing protection).
func portChain(p *Port, idx uint32) *Chain {
	c := &Chain{Name: "port-" + p.Device, Rules: []Line{{setMark{mask: ^uint32(0), value: idx << 16}}}}
	for _, m := range allowedMACs(p) {
		c.Rules = append(c.Rules, Line{etherAddr(false, false, m), verdict{kind: expr.VerdictGoto, chain: "spoof-" + p.Device}})
	}
	c.Rules = append(c.Rules, Line{drop})
	return c
}

type macIP struct {
	mac net.HardwareAddr
	pfx netip.Prefix // invalid: any address (a port without fixed IPs)
}

// pairs are the (MAC, source) pairs the port may send IPv4 or IPv6
// from, as Neutron's _spoofing_rule builds them: allowed address pairs,
// fixed IPs, and each IPv6 MAC's EUI-64 link-local address.
func pairs(p *Port, v6 bool) []macIP {
	var out []macIP
	add := func(mac net.HardwareAddr, pfx netip.Prefix) {
		if pfx.Addr().Is6() != v6 {
			return
		}
		out = append(out, macIP{mac, pfx.Masked()})
		if v6 {
			lla := netip.PrefixFrom(linkLocal(mac), 128)
			if !slices.ContainsFunc(out, func(x macIP) bool { return x.pfx == lla && x.mac.String() == mac.String() }) {
				out = append(out, macIP{mac, lla})
			}
		}
	}
	for _, ap := range p.AllowedAddressPairs {
		mac := ap.MAC
		if len(mac) != 6 {
			mac = p.MAC
		}
		add(mac, ap.Prefix)
	}
	for _, ip := range p.FixedIPs {
		add(p.MAC, netip.PrefixFrom(ip, ip.BitLen()))
	}
	if len(p.FixedIPs) == 0 {
		out = append(out, macIP{mac: p.MAC})
	}
	return out
}

// linkLocal is the EUI-64 IPv6 link-local address of mac.
func linkLocal(mac net.HardwareAddr) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	b[8], b[9], b[10] = mac[0]^0x02, mac[1], mac[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(b)
}

// spoofChain holds the checks on what a VM sends once its MAC is known
// good: Neutron's fixed egress rules that precede the security group
// rules, and the Linux bridge agent's ARP spoofing protection.
func spoofChain(p *Port) *Chain {
	ip4, ip6, arp := etherType(ethIPv4, "ip"), etherType(ethIPv6, "ip6"), etherType(ethARP, "arp")
	udp, icmp6 := l4proto(17), l4proto(58)
	c := &Chain{Name: "spoof-" + p.Device}
	add := func(l ...term) { c.Rules = append(c.Rules, Line(l)) }
	// DHCP servers and router advertisements from a VM are dropped.
	add(ip4, udp, thPort(false, 67, 67), thPort(true, 68, 68), drop)
	add(ip6, udp, thPort(false, 547, 547), thPort(true, 546, 546), drop)
	add(ip6, icmp6, icmpField(true, false, icmp6RA), drop)
	// Sources not yet configured: DHCP discovery, duplicate address
	// detection.
	add(ip4, ipAddr(false, netip.MustParsePrefix("0.0.0.0/32")), ipAddr(true, netip.MustParsePrefix("255.255.255.255/32")),
		udp, thPort(false, 68, 68), thPort(true, 67, 67), accept)
	for _, t := range []int{icmp6MLDReport, icmp6NS, icmp6MLDv2Report} {
		add(ip6, ipAddr(false, netip.MustParsePrefix("::/128")), ipAddr(true, netip.MustParsePrefix("ff02::/16")),
			icmp6, icmpField(true, false, t), accept)
	}
	// ARP: the sender address must be one of the port's IPv4 addresses
	// (arp_protect), anything else is dropped.
	for _, pr := range pairs(p, false) {
		if pr.pfx.IsValid() {
			add(arp, arpSenderIP(pr.pfx), accept)
		}
	}
	add(arp, drop)
	// IP sources: a family the port has no (MAC, address) pair for is
	// not checked, as in Neutron's _setup_spoof_filter_chain.
	for _, x := range []struct {
		v6 bool
		t  term
	}{{false, ip4}, {true, ip6}} {
		prs := pairs(p, x.v6)
		for _, pr := range prs {
			if pr.pfx.IsValid() {
				add(x.t, etherAddr(false, false, pr.mac), ipAddr(false, pr.pfx), accept)
			} else {
				add(x.t, etherAddr(false, false, pr.mac), accept)
			}
		}
		if len(prs) > 0 {
			add(x.t, drop)
		}
	}
	return c
}

func egressChain(p *Port) *Chain {
	udp := l4proto(17)
	c := &Chain{Name: "egress-" + p.Device}
	// What follows the anti-spoofing checks in Neutron's egress chain:
	// DHCP requests and ICMPv6 (router advertisements were dropped).
	c.Rules = []Line{
		{nfproto(false), udp, thPort(false, 68, 68), thPort(true, 67, 67), accept},
		{nfproto(true), l4proto(58), accept},
		{nfproto(true), udp, thPort(false, 546, 546), thPort(true, 547, 547), accept},
	}
	c.Rules = append(c.Rules, groupRules(p, Egress)...)
	return c
}

func ingressChain(p *Port) *Chain {
	c := &Chain{Name: "ingress-" + p.Device}
	for _, t := range []int{icmp6MLDQuery, icmp6NS, icmp6NA} {
		c.Rules = append(c.Rules, Line{nfproto(true), l4proto(58), icmpField(true, false, t), accept})
	}
	c.Rules = append(c.Rules, groupRules(p, Ingress)...)
	return c
}

// groupRules are a port chain's stateful part: established and related
// first, then the port's provider rules and a jump to each of its
// groups' chains of this direction (whose accepts accept: Neutron's
// RETURN to the accepting sg-chain), invalid dropped, the rest dropped.
func groupRules(p *Port, dir string) []Line {
	out := []Line{{ctEstablishedRelated, accept}}
	seen := map[string]bool{}
	for _, e := range translate(p.ProviderRules, dir) {
		if !seen[e.text] {
			seen[e.text] = true
			out = append(out, e.line)
		}
	}
	for _, g := range p.SecurityGroups {
		if !seen[g] {
			seen[g] = true
			out = append(out, Line{verdict{kind: expr.VerdictJump, chain: groupChain(g, dir)}})
		}
	}
	return append(out, Line{ctInvalid, drop}, Line{drop})
}

// groupChain names the chain of a group's rules of one direction,
// shared by every port of the group: a rule change rewrites it alone.
func groupChain(g, dir string) string { return "group-" + g + "-" + dir }

// groupChains renders the chains of the groups' rules, and notes the
// remote-group sets they look up.
func groupChains(h *Host, groups []string, remote map[string]bool, tc translations) []*Chain {
	var out []*Chain
	for _, g := range groups {
		for _, dir := range []string{Ingress, Egress} {
			c := &Chain{Name: groupChain(g, dir)}
			seen := map[string]bool{}
			for _, e := range tc.of(h, g, dir) {
				if seen[e.text] {
					continue
				}
				seen[e.text] = true
				c.Rules = append(c.Rules, e.line)
				if e.set != "" {
					remote[e.set] = true
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// effRule is a rule as one port's chain holds it.
type effRule struct {
	rule Rule
	v6   bool
	line Line
	text string
	set  string
}

// translations caches rules translated once per group and direction:
// a thousand ports of one group share them.
type translations map[string][]effRule

func (tc translations) of(h *Host, g, dir string) []effRule {
	key := g + "\x00" + dir
	if es, ok := tc[key]; ok {
		return es
	}
	es := translate(h.Rules[g], dir)
	tc[key] = es
	return es
}

// translate turns the rules of one direction into lines, IPv4 first.
func translate(rules []Rule, dir string) []effRule {
	var out []effRule
	for _, v6 := range []bool{false, true} {
		for _, r := range rules {
			if r.Direction != dir || (r.Ethertype == IPv6) != v6 {
				continue
			}
			if l, set, ok := ruleLine(r, v6); ok {
				out = append(out, effRule{rule: r, v6: v6, line: l, text: l.String(), set: set})
			}
		}
	}
	return out
}

// effective are the provider and group rules of a port in one direction,
// translated, IPv4 first, each distinct line once (as Neutron prunes
// duplicates coming from several groups); tc may be nil.
func effective(h *Host, p *Port, dir string, tc translations) []effRule {
	if tc == nil {
		tc = translations{}
	}
	lists := [][]effRule{translate(p.ProviderRules, dir)}
	for _, g := range p.SecurityGroups {
		lists = append(lists, tc.of(h, g, dir))
	}
	var out []effRule
	seen := map[string]bool{}
	for _, v6 := range []bool{false, true} {
		for _, l := range lists {
			for _, e := range l {
				if e.v6 == v6 && !seen[e.text] {
					seen[e.text] = true
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// Protocol numbers by the names Neutron accepts (neutron-lib's
// IP_PROTOCOL_MAP).
var protocolNumbers = map[string]int{
	"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ip": 0,
	"ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
	"ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
	"udp": 17, "udplite": 136, "vrrp": 112,
}

// portProtocols have ports (neutron-lib's SG_PORT_PROTO_NAMES).
var portProtocols = map[int]bool{6: true, 17: true, 33: true, 132: true, 136: true}

// protocolNumber is a rule's protocol as a number; -1 for any.
func protocolNumber(s string, v6 bool) (int, bool) {
	s = strings.ToLower(s)
	if s == "" || s == "any" {
		return -1, true
	}
	if v6 && (s == "icmp" || s == "icmpv6") {
		return 58, true // Neutron's legacy names for ICMPv6 in IPv6 rules
	}
	n, ok := protocolNumbers[s]
	if !ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 255 {
			return 0, false
		}
		n = v
	}
	if n == 0 {
		return -1, true // Neutron: protocol 0 matches every protocol
	}
	return n, true
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// ruleLine translates one rule; set is the remote set it names.
func ruleLine(r Rule, v6 bool) (l Line, set string, ok bool) {
	l = Line{nfproto(v6)}
	for _, x := range []struct {
		dst bool
		s   string
	}{{false, r.SourceIPPrefix}, {true, r.DestIPPrefix}} {
		if x.s == "" {
			continue
		}
		p, ok := parsePrefix(x.s)
		if !ok || p.Addr().Is6() != v6 {
			return nil, "", false
		}
		if p.Bits() > 0 {
			l = append(l, ipAddr(x.dst, p))
		}
	}
	if g := cmp.Or(r.RemoteGroupID, r.RemoteAddressGroupID); g != "" {
		set = "v4-" + g
		if v6 {
			set = "v6-" + g
		}
		l = append(l, ipInSet{dst: r.Direction == Egress, v6: v6, set: set})
	}
	proto, ok := protocolNumber(r.Protocol, v6)
	if !ok {
		return nil, "", false
	}
	if proto >= 0 {
		l = append(l, l4proto(byte(proto)))
	}
	switch {
	case portProtocols[proto]:
		if r.SourcePortRangeMin != nil {
			l = append(l, thPort(false, *r.SourcePortRangeMin, *cmp.Or(r.SourcePortRangeMax, r.SourcePortRangeMin)))
		}
		if r.PortRangeMin != nil {
			l = append(l, thPort(true, *r.PortRangeMin, *cmp.Or(r.PortRangeMax, r.PortRangeMin)))
		}
	case proto == 1 || proto == 58:
		// port_range_min/max are the ICMP type and code.
		if t := cmp.Or(r.PortRangeMin, r.SourcePortRangeMin); t != nil {
			l = append(l, icmpField(proto == 58, false, *t))
			if r.PortRangeMin != nil && r.PortRangeMax != nil {
				l = append(l, icmpField(proto == 58, true, *r.PortRangeMax))
			}
		}
	}
	return append(l, accept), set, true
}

// mergePrefixes sorts prefixes and drops those inside another, as an
// interval set needs.
func mergePrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	})
	var out []netip.Prefix
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Overlaps(p) {
			continue // sorted: the earlier one is the wider or equal
		}
		out = append(out, p)
	}
	return out
}
