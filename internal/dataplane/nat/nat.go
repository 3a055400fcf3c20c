// Package nat writes a router namespace's address translation — the job
// of the iptables nat table Neutron's L3 agent keeps in each qrouter-
// namespace — as one nftables table, through netlink (no nft or iptables
// processes).
//
// A Ruleset is the whole desired translation of one router: SNAT of its
// internal subnets to the gateway address, a DNAT and the matching SNAT
// per floating IP, DNAT per port forwarding, and no translation between
// the router's own subnets or for sources in the external network's
// address scope. The floating IPs are two maps (external → internal for
// DNAT, internal → external for SNAT), each used by one rule, so that
// associating or moving one changes elements, not rules. Apply writes in
// one netlink transaction, so no packet ever sees half a ruleset: it
// replaces the table when its shape (everything but the floating IPs,
// whose digest rides in the first rule's user data) changed, otherwise
// adds and deletes only the maps' elements that differ, and writes
// nothing when the table already holds exactly this ruleset, so a
// restarted agent changes nothing. IPv6 is routed without translation,
// as in Neutron: the table is of family ip.
//
// With a MetadataPort, instances' requests to 169.254.169.254:80 (and, in
// an ip6 table of the same name, to [fe80::a9fe:a9fe]:80) are redirected
// to the namespace's metadata proxy.
//
// The table also has an empty forward chain, "meter", where per-router
// traffic counters (Neutron's metering agent) belong.
package nat

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
)

// TableName is the table each router namespace gets.
const TableName = "neutrino-l3"

// MeterChain is the table's forward chain kept for traffic counters.
const MeterChain = "meter"

// FloatingIP maps an external address one to one onto an internal one.
type FloatingIP struct {
	External netip.Addr
	Internal netip.Addr
}

// PortForwarding forwards a protocol's external port range on an
// external address to an internal address's range of the same length
// (or to one internal port).
type PortForwarding struct {
	Protocol      string // "tcp" or "udp"
	External      netip.Addr
	ExternalStart uint16
	ExternalEnd   uint16
	Internal      netip.Addr
	InternalStart uint16
	InternalEnd   uint16
}

// Ruleset is one router's translation.
type Ruleset struct {
	// GatewayDevice is the router's external device (qg-…); empty for a
	// router without gateway, which translates nothing.
	GatewayDevice string
	// GatewayIP is the gateway port's IPv4 address: the source of SNAT.
	GatewayIP netip.Addr
	// SNAT is the router's enable_snat.
	SNAT bool
	// NoSNAT are internal sources routed out unchanged: subnets in the
	// address scope of the external network.
	NoSNAT []netip.Prefix
	// FloatingIPs and PortForwardings are DNATed on the way in; floating
	// IPs also SNAT their internal address on the way out.
	FloatingIPs     []FloatingIP
	PortForwardings []PortForwarding
	// MetadataPort, when not zero, is where the namespace's metadata
	// proxy listens: TCP to 169.254.169.254:80 arriving on an internal
	// device (qr-…) is redirected there, and anything reaching that port
	// without the redirect is dropped, as Neutron's L3 agent does with its
	// REDIRECT to metadata_port and the mark that guards it. It applies
	// with or without a gateway.
	MetadataPort uint16
}

// MetadataAddress is where instances reach the metadata service, and
// MetadataAddressV6 its IPv6 twin (Neutron's METADATA_V6_IP).
var (
	MetadataAddress   = netip.MustParseAddr("169.254.169.254")
	MetadataAddressV6 = netip.MustParseAddr("fe80::a9fe:a9fe")
)

// internalPrefix names a router's internal devices (link.RouterInterfacePrefix).
const internalPrefix = "qr-"

// maxOffsetRange bounds a forwarding whose ports shift (external range
// onto a different internal range of the same length): such a range is
// one rule per port, since nftables' NAT expression takes no port
// offset.
const maxOffsetRange = 4096

// Validate reports a ruleset the kernel could not be given.
func (rs Ruleset) Validate() error {
	if rs.GatewayDevice == "" {
		return nil
	}
	if !rs.GatewayIP.Is4() && rs.SNAT {
		return fmt.Errorf("nat: SNAT needs an IPv4 gateway address, have %v", rs.GatewayIP)
	}
	for _, f := range rs.FloatingIPs {
		if !f.External.Is4() || !f.Internal.Is4() {
			return fmt.Errorf("nat: floating IP %v → %v: IPv4 only", f.External, f.Internal)
		}
	}
	for _, pf := range rs.PortForwardings {
		if pf.Protocol != "tcp" && pf.Protocol != "udp" {
			return fmt.Errorf("nat: port forwarding protocol %q", pf.Protocol)
		}
		if !pf.External.Is4() || !pf.Internal.Is4() {
			return fmt.Errorf("nat: port forwarding %v → %v: IPv4 only", pf.External, pf.Internal)
		}
		ext, in := int(pf.ExternalEnd)-int(pf.ExternalStart), int(pf.InternalEnd)-int(pf.InternalStart)
		if ext < 0 || in < 0 || (in != 0 && in != ext) {
			return fmt.Errorf("nat: port forwarding %d:%d → %d:%d: ranges must match", pf.ExternalStart, pf.ExternalEnd, pf.InternalStart, pf.InternalEnd)
		}
		if in != 0 && pf.InternalStart != pf.ExternalStart && ext >= maxOffsetRange {
			return fmt.Errorf("nat: port forwarding %d:%d → %d:%d: a shifted range is limited to %d ports", pf.ExternalStart, pf.ExternalEnd, pf.InternalStart, pf.InternalEnd, maxOffsetRange)
		}
	}
	return nil
}

// Fingerprint identifies the ruleset's content: equal rulesets give
// equal fingerprints whatever the order of their lists. It is the
// digest of its shape (all but the floating IPs), which the table's
// first rule carries, followed by the digest of the floating IP maps'
// elements, which Current reads from the maps.
func (rs Ruleset) Fingerprint() []byte {
	return append(rs.shape(), elementsDigest(rs.elements())...)
}

// shape is the user data of the table's first rule: the layout's name
// (the floating IPs in maps, so that a table an older layout wrote is
// replaced, not patched) and the digest of the ruleset but its floating
// IPs.
func (rs Ruleset) shape() []byte {
	c := rs.canonical()
	c.FloatingIPs = nil
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return append([]byte("neutrino-nat2:"), sum[:16]...)
}

// elementsDigest digests the maps' elements.
func elementsDigest(dnat, snat map[netip.Addr]netip.Addr) []byte {
	h := sha256.New()
	for _, m := range []map[netip.Addr]netip.Addr{dnat, snat} {
		for _, k := range slices.SortedFunc(maps.Keys(m), netip.Addr.Compare) {
			b, _ := k.MarshalBinary()
			h.Write(b)
			b, _ = m[k].MarshalBinary()
			h.Write(b)
		}
		h.Write([]byte{0})
	}
	return h.Sum(nil)[:16]
}

// canonical is rs with its lists sorted (and the floating IPs kept
// once per external and per internal address, as the maps hold them).
func (rs Ruleset) canonical() Ruleset {
	c := rs
	c.NoSNAT = slices.Clone(rs.NoSNAT)
	slices.SortFunc(c.NoSNAT, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr())*2 + (a.Bits() - b.Bits()) })
	c.FloatingIPs = slices.Clone(rs.FloatingIPs)
	slices.SortFunc(c.FloatingIPs, func(a, b FloatingIP) int {
		if d := a.External.Compare(b.External); d != 0 {
			return d
		}
		return a.Internal.Compare(b.Internal)
	})
	ext, in := map[netip.Addr]bool{}, map[netip.Addr]bool{}
	c.FloatingIPs = slices.DeleteFunc(c.FloatingIPs, func(f FloatingIP) bool {
		dup := ext[f.External] || in[f.Internal]
		ext[f.External], in[f.Internal] = true, true
		return dup
	})
	c.PortForwardings = slices.Clone(rs.PortForwardings)
	slices.SortFunc(c.PortForwardings, func(a, b PortForwarding) int {
		if d := a.External.Compare(b.External); d != 0 {
			return d
		}
		if a.Protocol != b.Protocol {
			if a.Protocol < b.Protocol {
				return -1
			}
			return 1
		}
		return int(a.ExternalStart) - int(b.ExternalStart)
	})
	return c
}

// The floating IPs' maps.
const (
	dnatMap = "fip-dnat" // external → internal
	snatMap = "fip-snat" // internal → external
)

func fipMap(t *nftables.Table, name string) *nftables.Set {
	return &nftables.Set{Table: t, Name: name, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: nftables.TypeIPAddr}
}

// elements are the maps' elements for rs's floating IPs, keyed by the
// map's key.
func (rs Ruleset) elements() (dnat, snat map[netip.Addr]netip.Addr) {
	dnat, snat = map[netip.Addr]netip.Addr{}, map[netip.Addr]netip.Addr{}
	if rs.GatewayDevice == "" {
		return dnat, snat
	}
	for _, f := range rs.canonical().FloatingIPs {
		dnat[f.External], snat[f.Internal] = f.Internal, f.External
	}
	return dnat, snat
}

func element(k, v netip.Addr) nftables.SetElement {
	kb, vb := k.As4(), v.As4()
	return nftables.SetElement{Key: kb[:], Val: vb[:]}
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
}

// table6 holds the IPv6 half of the metadata redirect (IPv6 is routed
// without translation otherwise); it exists only with a MetadataPort.
func table6() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv6}
}

// Current returns the fingerprint of the ruleset the namespace's table
// holds, nil when there is no table (or not one Apply wrote).
func Current(ns netns.NsHandle) ([]byte, error) {
	c, err := nftns.Open(ns, nftables.AsLasting())
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	t := table()
	fp, err := nftns.Fingerprint(c, t, "postrouting")
	if err != nil || fp == nil {
		return nil, err
	}
	dnat, snat, err := readMaps(c, t)
	if err != nil {
		return nil, err
	}
	return append(fp, elementsDigest(dnat, snat)...), nil
}

// readMaps reads the floating IP maps (empty when absent: a router
// without gateway has none).
func readMaps(c *nftables.Conn, t *nftables.Table) (dnat, snat map[netip.Addr]netip.Addr, err error) {
	read := func(name string) (map[netip.Addr]netip.Addr, error) {
		elems, err := c.GetSetElements(fipMap(t, name))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("nftables: read map %s: %w", name, err)
		}
		m := map[netip.Addr]netip.Addr{}
		for _, e := range elems {
			k, ok1 := netip.AddrFromSlice(e.Key)
			v, ok2 := netip.AddrFromSlice(e.Val)
			if ok1 && ok2 {
				m[k] = v
			}
		}
		return m, nil
	}
	if dnat, err = read(dnatMap); err != nil {
		return nil, nil, err
	}
	snat, err = read(snatMap)
	return dnat, snat, err
}

// Apply makes the namespace's table hold exactly rs, in one transaction;
// it reports whether it wrote (false: the table already held rs). When
// only the floating IPs changed it adds and deletes only the maps'
// elements: replacing the table costs the kernel 10–15 ms whatever its
// size, as does any transaction that deletes (an RCU grace period), while
// adding elements takes well under a millisecond — what a burst of
// associations, converging its router once per round, waits for.
func Apply(ns netns.NsHandle, rs Ruleset) (bool, error) {
	if err := rs.Validate(); err != nil {
		return false, err
	}
	// One socket for the reads and the write (each new one is opened
	// from a thread switched into the namespace).
	c, err := nftns.Open(ns, nftables.AsLasting())
	if err != nil {
		return false, err
	}
	defer c.CloseLasting()
	t := table()
	shape := rs.shape()
	cur, err := nftns.Fingerprint(c, t, "postrouting")
	if err != nil {
		return false, err
	}
	if !bytes.Equal(cur, shape) {
		return true, replace(c, rs, shape, cur != nil)
	}
	haveD, haveS, err := readMaps(c, t)
	if err != nil {
		return false, err
	}
	wantD, wantS := rs.elements()
	wrote := false
	for _, m := range []struct {
		name       string
		have, want map[netip.Addr]netip.Addr
	}{{dnatMap, haveD, wantD}, {snatMap, haveS, wantS}} {
		var del, add []nftables.SetElement
		for k, v := range m.have {
			if w, ok := m.want[k]; !ok || w != v {
				del = append(del, element(k, v))
			}
		}
		for k, v := range m.want {
			if h, ok := m.have[k]; !ok || h != v {
				add = append(add, element(k, v))
			}
		}
		set := fipMap(t, m.name)
		if len(del) > 0 {
			if err := c.SetDeleteElements(set, del); err != nil {
				return false, fmt.Errorf("nftables: map %s: %w", m.name, err)
			}
		}
		if len(add) > 0 {
			if err := c.SetAddElements(set, add); err != nil {
				return false, fmt.Errorf("nftables: map %s: %w", m.name, err)
			}
		}
		wrote = wrote || len(del)+len(add) > 0
	}
	if !wrote {
		return false, nil
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables: update the floating IPs of %s: %w", TableName, err)
	}
	return true, nil
}

// firstRule is the postrouting chain's first rule, which carries the
// fingerprint: traffic that neither enters nor leaves by the gateway and
// was not DNATed (east-west between the router's subnets) is not
// translated.
func firstRule(rs Ruleset) []expr.Any {
	if rs.GatewayDevice == "" {
		return verdict(expr.VerdictAccept)
	}
	return slices.Concat(ifname(expr.MetaKeyIIFNAME, rs.GatewayDevice, expr.CmpOpNeq), ifname(expr.MetaKeyOIFNAME, rs.GatewayDevice, expr.CmpOpNeq),
		ctStatusDNAT(expr.CmpOpEq), verdict(expr.VerdictAccept))
}

// replace writes the whole table (and the IPv6 one) in one transaction,
// exists telling whether the table is known to exist. A table that does
// not is only created: deleting anything would cost the transaction an
// RCU grace period, which every new router paid.
func replace(c *nftables.Conn, rs Ruleset, fp []byte, exists bool) error {
	t, t6 := table(), table6()
	var err error
	if !exists {
		if exists, err = nftns.Exists(c, t); err != nil {
			return err
		}
	}
	exists6, err := nftns.Exists(c, t6)
	if err != nil {
		return err
	}
	nftns.Recreate(c, t, exists)
	pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	c.AddChain(&nftables.Chain{Name: MeterChain, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
	var input *nftables.Chain
	if rs.MetadataPort != 0 {
		input = c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	}

	add := func(ch *nftables.Chain, ud []byte, groups ...[]expr.Any) {
		var all []expr.Any
		for _, g := range groups {
			all = append(all, g...)
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: all, UserData: ud})
	}
	// The first postrouting rule always exists and carries the
	// fingerprint.
	gw := rs.GatewayDevice
	add(post, fp, firstRule(rs))
	if rs.MetadataPort != 0 {
		// Instances' metadata requests go to the proxy listening in the
		// namespace; only redirected connections may reach it (a floating
		// IP's or the gateway's port of that number is not the proxy's).
		add(pre, nil, ifnamePrefix(expr.MetaKeyIIFNAME, internalPrefix), ipMatch(16, MetadataAddress),
			tcpPort(80), redirect(rs.MetadataPort))
		add(input, nil, tcpPort(rs.MetadataPort), ctStatusDNAT(expr.CmpOpEq), verdict(expr.VerdictDrop))
	}
	if gw != "" {
		wantD, wantS := rs.elements()
		dm, sm := fipMap(t, dnatMap), fipMap(t, snatMap)
		for _, m := range []struct {
			set  *nftables.Set
			want map[netip.Addr]netip.Addr
		}{{dm, wantD}, {sm, wantS}} {
			var elems []nftables.SetElement
			for k, v := range m.want {
				elems = append(elems, element(k, v))
			}
			if err := c.AddSet(m.set, elems); err != nil {
				return fmt.Errorf("nftables: map %s: %w", m.set.Name, err)
			}
		}
		for _, ch := range []*nftables.Chain{pre, out} {
			add(ch, nil, mapNAT(16, dm, expr.NATTypeDestNAT))
		}
		for _, pf := range rs.PortForwardings {
			for _, ch := range []*nftables.Chain{pre, out} {
				for _, r := range forwardingRules(pf) {
					add(ch, nil, r)
				}
			}
		}
		for _, p := range rs.NoSNAT {
			if p.Addr().Is4() {
				add(post, nil, ifname(expr.MetaKeyOIFNAME, gw, expr.CmpOpEq), prefixMatch(12, p), verdict(expr.VerdictAccept))
			}
		}
		add(post, nil, mapNAT(12, sm, expr.NATTypeSourceNAT))
		if rs.SNAT {
			add(post, nil, ifname(expr.MetaKeyOIFNAME, gw, expr.CmpOpEq), snat(rs.GatewayIP, true))
			// Hairpin: an internal host reaching a floating IP of the same
			// router must see the reply come back through the router.
			add(post, nil, ifname(expr.MetaKeyIIFNAME, gw, expr.CmpOpNeq), ctStatusDNAT(expr.CmpOpNeq), snat(rs.GatewayIP, true))
		}
	}
	// IPv6: the same redirect for fe80::a9fe:a9fe, as Neutron's agent
	// adds it to ip6tables, in a table of its own.
	if exists6 {
		c.DelTable(t6)
	}
	if rs.MetadataPort != 0 {
		c.AddTable(t6)
		pre6 := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t6, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
		in6 := c.AddChain(&nftables.Chain{Name: "input", Table: t6, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
		b := MetadataAddressV6.As16()
		c.AddRule(&nftables.Rule{Table: t6, Chain: pre6, Exprs: slices.Concat(ifnamePrefix(expr.MetaKeyIIFNAME, internalPrefix),
			exprs(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]}),
			tcpPort(80), redirect(rs.MetadataPort))})
		c.AddRule(&nftables.Rule{Table: t6, Chain: in6, Exprs: slices.Concat(tcpPort(rs.MetadataPort),
			ctStatusDNAT(expr.CmpOpEq), verdict(expr.VerdictDrop))})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: write %s: %w", TableName, err)
	}
	return nil
}

// mapNAT translates the address at offset (12 source, 16 destination)
// to what the map m holds for it (nft's "dnat to ip daddr map @m"); an
// address the map lacks does not match.
func mapNAT(offset uint32, m *nftables.Set, typ expr.NATType) []expr.Any {
	return exprs(
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: m.Name, SetID: m.ID},
		&expr.NAT{Type: typ, Family: unix.NFPROTO_IPV4, RegAddrMin: 1},
	)
}

// Remove deletes the namespace's table; absent is not an error.
func Remove(ns netns.NsHandle) error { return nftns.RemoveTables(ns, table(), table6()) }

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

// ifname compares the input or output interface name.
func ifname(key expr.MetaKey, name string, op expr.CmpOp) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: b},
	}
}

// ifnamePrefix matches an input or output interface whose name starts
// with prefix (nft's "qr-*").
func ifnamePrefix(key expr.MetaKey, prefix string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(prefix)},
	}
}

// tcpPort matches TCP segments to port.
func tcpPort(port uint16) []expr.Any {
	return exprs(
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	)
}

// redirect sends the packet to port on the address of the device it
// came in by (iptables' REDIRECT).
func redirect(port uint16) []expr.Any {
	return exprs(
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Redir{RegisterProtoMin: 1},
	)
}

// ctStatusDNAT compares the connection's "destination NATed" bit with
// zero: CmpOpEq matches connections that were not DNATed.
func ctStatusDNAT(op expr.CmpOp) []expr.Any {
	return exprs(
		&expr.Ct{Key: expr.CtKeySTATUS, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: op, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	)
}

func exprs(e ...expr.Any) []expr.Any { return e }

// ipsDstNAT is the conntrack status bit of a destination-NATed
// connection (IPS_DST_NAT).
const ipsDstNAT = 1 << 5

// ipMatch matches the IPv4 header's address at offset (12 source, 16
// destination).
func ipMatch(offset uint32, a netip.Addr) []expr.Any {
	b := a.As4()
	return exprs(
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]},
	)
}

func prefixMatch(offset uint32, p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := make([]byte, 4)
	binary.BigEndian.PutUint32(mask, ^uint32(0)<<(32-p.Bits()))
	if p.Bits() == 0 {
		mask = []byte{0, 0, 0, 0}
	}
	b := p.Addr().As4()
	return exprs(
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]},
	)
}

func snat(to netip.Addr, fullyRandom bool) []expr.Any {
	b := to.As4()
	return exprs(
		&expr.Immediate{Register: 1, Data: b[:]},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, FullyRandom: fullyRandom},
	)
}

// dnat translates the destination to addr and, when port > 0, to port
// (portEnd > port for a range).
func dnat(to netip.Addr, port, portEnd uint16) []expr.Any {
	b := to.As4()
	e := []expr.Any{&expr.Immediate{Register: 1, Data: b[:]}}
	n := &expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1}
	if port > 0 {
		e = append(e, &expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)})
		n.RegProtoMin = 2
		if portEnd > port {
			e = append(e, &expr.Immediate{Register: 3, Data: binaryutil.BigEndian.PutUint16(portEnd)})
			n.RegProtoMax = 3
		}
	}
	return append(e, n)
}

// forwardingRules are a port forwarding's DNAT rules: one when the
// ports are kept or all go to one port, one per port when they shift.
func forwardingRules(pf PortForwarding) [][]expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if pf.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	match := func(start, end uint16) []expr.Any {
		e := append(ipMatch(16, pf.External),
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		)
		if start == end {
			return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(start)})
		}
		return append(e, &expr.Range{Op: expr.CmpOpEq, Register: 1,
			FromData: binaryutil.BigEndian.PutUint16(start), ToData: binaryutil.BigEndian.PutUint16(end)})
	}
	switch {
	case pf.InternalStart == pf.InternalEnd:
		return [][]expr.Any{append(match(pf.ExternalStart, pf.ExternalEnd), dnat(pf.Internal, pf.InternalStart, 0)...)}
	case pf.InternalStart == pf.ExternalStart:
		return [][]expr.Any{append(match(pf.ExternalStart, pf.ExternalEnd), dnat(pf.Internal, 0, 0)...)}
	}
	var out [][]expr.Any
	for i := 0; i <= int(pf.ExternalEnd-pf.ExternalStart); i++ {
		out = append(out, append(match(pf.ExternalStart+uint16(i), pf.ExternalStart+uint16(i)), dnat(pf.Internal, pf.InternalStart+uint16(i), 0)...))
	}
	return out
}
