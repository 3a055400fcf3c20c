package firewall

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The ruleset is rendered first as a small typed model (Ruleset, Table,
// Chain, Set, term): its text (nft's syntax) is what golden files hold
// and what passes compare, and the same terms build the netlink
// expressions, so what is tested is what is sent.

// Ruleset is the host's whole firewall: one table per family.
type Ruleset struct {
	Tables []*Table
}

// Table is one nftables table.
type Table struct {
	Family nftables.TableFamily
	Name   string
	Sets   []*Set
	Chains []*Chain
}

// Chain is a chain; a base chain has a Hook.
type Chain struct {
	Name  string
	Hook  *Hook
	Rules []Line
}

// Hook attaches a base chain (type filter, policy accept).
type Hook struct {
	Hook     nftables.ChainHook
	Name     string // nft's name of the hook
	Priority int
}

// Line is one nftables rule: matches and statements ending with a
// verdict.
type Line []term

// SetKind is what a set holds.
type SetKind int

// Set kinds.
const (
	SetIPv4   SetKind = iota // interval set of IPv4 prefixes
	SetIPv6                  // interval set of IPv6 prefixes
	MapIfname                // ifname → verdict
	MapMark                  // mark → verdict
)

// Set is a named set or verdict map.
type Set struct {
	Name     string
	Kind     SetKind
	Prefixes []netip.Prefix // SetIPv4, SetIPv6
	Elems    []MapElem      // MapIfname, MapMark
}

// MapElem maps a key (an interface name or a mark) to a jump.
type MapElem struct {
	Name  string
	Mark  uint32
	Chain string
}

func (s *Set) keyType() nftables.SetDatatype {
	switch s.Kind {
	case SetIPv4:
		return nftables.TypeIPAddr
	case SetIPv6:
		return nftables.TypeIP6Addr
	case MapIfname:
		return nftables.TypeIFName
	}
	return nftables.TypeMark
}

// String renders the ruleset as nft would list it.
func (rs *Ruleset) String() string {
	var b strings.Builder
	for _, t := range rs.Tables {
		t.write(&b)
	}
	return b.String()
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyINet:
		return "inet"
	}
	return fmt.Sprint(f)
}

func (t *Table) write(b *strings.Builder) {
	fmt.Fprintf(b, "table %s %s {\n", familyName(t.Family), t.Name)
	for _, s := range t.Sets {
		s.write(b)
	}
	for _, c := range t.Chains {
		fmt.Fprintf(b, "\tchain %s {\n", c.Name)
		if c.Hook != nil {
			fmt.Fprintf(b, "\t\ttype filter hook %s priority %d; policy accept;\n", c.Hook.Name, c.Hook.Priority)
		}
		for _, r := range c.Rules {
			b.WriteString("\t\t" + r.String() + "\n")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
}

func (s *Set) write(b *strings.Builder) {
	kind := "set"
	if s.Kind == MapIfname || s.Kind == MapMark {
		kind = "map"
	}
	fmt.Fprintf(b, "\t%s %s {\n\t\ttype %s", kind, s.Name, s.keyType().Name)
	var elems []string
	switch s.Kind {
	case SetIPv4, SetIPv6:
		b.WriteString("\n\t\tflags interval\n")
		for _, p := range s.Prefixes {
			elems = append(elems, p.String())
		}
	case MapIfname:
		b.WriteString(" : verdict\n")
		for _, e := range s.Elems {
			elems = append(elems, fmt.Sprintf("%q : jump %s", e.Name, e.Chain))
		}
	case MapMark:
		b.WriteString(" : verdict\n")
		for _, e := range s.Elems {
			elems = append(elems, fmt.Sprintf("0x%08x : jump %s", e.Mark, e.Chain))
		}
	}
	if len(elems) > 0 {
		b.WriteString("\t\telements = { " + strings.Join(elems, ",\n\t\t\t     ") + " }\n")
	}
	b.WriteString("\t}\n")
}

// String renders the rule in nft's syntax.
func (r Line) String() string {
	parts := make([]string, len(r))
	for i, t := range r {
		parts[i] = t.text()
	}
	return strings.Join(parts, " ")
}

// builder turns terms into expressions; sets are looked up by name.
type builder struct {
	sets map[string]*nftables.Set
}

// term is one match or statement.
type term interface {
	text() string
	exprs(b *builder) []expr.Any
}

func (r Line) exprs(b *builder) []expr.Any {
	var out []expr.Any
	for _, t := range r {
		out = append(out, t.exprs(b)...)
	}
	return out
}

// ifnameBytes is an interface name as the kernel compares it.
func ifnameBytes(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

func cmpReg(op expr.CmpOp, data []byte) *expr.Cmp {
	return &expr.Cmp{Op: op, Register: 1, Data: data}
}

func opText(neg bool) string {
	if neg {
		return "!= "
	}
	return ""
}

func opOf(neg bool) expr.CmpOp {
	if neg {
		return expr.CmpOpNeq
	}
	return expr.CmpOpEq
}

// meta l4proto / meta nfproto.
type metaByte struct {
	key  expr.MetaKey
	name string
	val  byte
	show string
}

func (m metaByte) text() string { return fmt.Sprintf("meta %s %s", m.name, m.show) }
func (m metaByte) exprs(*builder) []expr.Any {
	return []expr.Any{&expr.Meta{Key: m.key, Register: 1}, cmpReg(expr.CmpOpEq, []byte{m.val})}
}

func nfproto(v6 bool) term {
	if v6 {
		return metaByte{expr.MetaKeyNFPROTO, "nfproto", unix.NFPROTO_IPV6, "ipv6"}
	}
	return metaByte{expr.MetaKeyNFPROTO, "nfproto", unix.NFPROTO_IPV4, "ipv4"}
}

var protoNames = map[byte]string{1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp"}

func l4proto(p byte) term {
	show := protoNames[p]
	if show == "" {
		show = fmt.Sprint(p)
	}
	return metaByte{expr.MetaKeyL4PROTO, "l4proto", p, show}
}

// payload compares bytes of a header, optionally under a mask, or checks
// them against a range.
type payload struct {
	show   string
	base   expr.PayloadBase
	offset uint32
	data   []byte
	mask   []byte // nil: whole field
	hi     []byte // non-nil: data..hi range
	neg    bool
}

func (p payload) text() string { return p.show }
func (p payload) exprs(*builder) []expr.Any {
	out := []expr.Any{&expr.Payload{DestRegister: 1, Base: p.base, Offset: p.offset, Len: uint32(len(p.data))}}
	if p.mask != nil {
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(len(p.data)),
			Mask: p.mask, Xor: make([]byte, len(p.data))})
	}
	if p.hi != nil {
		return append(out, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: p.data, ToData: p.hi})
	}
	return append(out, cmpReg(opOf(p.neg), p.data))
}

// ipAddr matches the source or destination address against a prefix
// (nfproto or ether type must come first).
func ipAddr(dst bool, pfx netip.Prefix) term {
	v6 := pfx.Addr().Is6()
	name, off := "ip", uint32(12)
	if v6 {
		name, off = "ip6", 8
	}
	dir := "saddr"
	if dst {
		dir = "daddr"
		off += uint32(pfx.Addr().BitLen() / 8)
	}
	pfx = pfx.Masked()
	show := pfx.String()
	if pfx.IsSingleIP() {
		show = pfx.Addr().String()
	}
	p := payload{show: fmt.Sprintf("%s %s %s", name, dir, show), base: expr.PayloadBaseNetworkHeader, offset: off,
		data: pfx.Addr().AsSlice()}
	if !pfx.IsSingleIP() {
		p.mask = net.CIDRMask(pfx.Bits(), pfx.Addr().BitLen())
	}
	return p
}

// ipInSet matches the source or destination address against a named
// set.
type ipInSet struct {
	dst, v6 bool
	set     string
}

func (s ipInSet) text() string {
	name, dir := "ip", "saddr"
	if s.v6 {
		name = "ip6"
	}
	if s.dst {
		dir = "daddr"
	}
	return fmt.Sprintf("%s %s @%s", name, dir, s.set)
}

func (s ipInSet) exprs(b *builder) []expr.Any {
	off, l := uint32(12), uint32(4)
	if s.v6 {
		off, l = 8, 16
	}
	if s.dst {
		off += l
	}
	set := b.sets[s.set]
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: l},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
	}
}

// thPort matches the transport source or destination port (l4proto must
// come first).
func thPort(dst bool, lo, hi int) term {
	dir, off := "sport", uint32(0)
	if dst {
		dir, off = "dport", 2
	}
	p := payload{base: expr.PayloadBaseTransportHeader, offset: off, data: binaryutil.BigEndian.PutUint16(uint16(lo))}
	if lo == hi {
		p.show = fmt.Sprintf("th %s %d", dir, lo)
	} else {
		p.show = fmt.Sprintf("th %s %d-%d", dir, lo, hi)
		p.hi = binaryutil.BigEndian.PutUint16(uint16(hi))
	}
	return p
}

// icmpField matches the ICMP(v6) type or code (l4proto must come first).
func icmpField(v6, code bool, v int) term {
	name, field, off := "icmp", "type", uint32(0)
	if v6 {
		name = "icmpv6"
	}
	if code {
		field, off = "code", 1
	}
	return payload{show: fmt.Sprintf("%s %s %d", name, field, v), base: expr.PayloadBaseTransportHeader,
		offset: off, data: []byte{byte(v)}}
}

// etherType matches the frame's ether type (bridge family; untagged).
func etherType(t uint16, show string) term {
	return payload{show: "ether type " + show, base: expr.PayloadBaseLLHeader, offset: 12,
		data: binaryutil.BigEndian.PutUint16(t)}
}

// etherAddr matches the frame's source or destination MAC.
func etherAddr(dst, neg bool, mac net.HardwareAddr) term {
	dir, off := "saddr", uint32(6)
	if dst {
		dir, off = "daddr", 0
	}
	return payload{show: fmt.Sprintf("ether %s %s%s", dir, opText(neg), mac), base: expr.PayloadBaseLLHeader,
		offset: off, data: []byte(mac), neg: neg}
}

// arpSenderIP matches an Ethernet/IPv4 ARP packet's sender address
// (ether type arp must come first).
func arpSenderIP(pfx netip.Prefix) term {
	pfx = pfx.Masked()
	p := payload{show: "arp saddr ip " + pfx.String(), base: expr.PayloadBaseNetworkHeader, offset: 14,
		data: pfx.Addr().AsSlice()}
	if pfx.IsSingleIP() {
		p.show = "arp saddr ip " + pfx.Addr().String()
	} else {
		p.mask = net.CIDRMask(pfx.Bits(), 32)
	}
	return p
}

// ctState matches when the connection's state is one of mask's.
type ctState struct {
	mask uint32
	show string
}

func (c ctState) text() string { return "ct state " + c.show }
func (c ctState) exprs(*builder) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(c.mask), Xor: binaryutil.NativeEndian.PutUint32(0)},
		cmpReg(expr.CmpOpNeq, binaryutil.NativeEndian.PutUint32(0)),
	}
}

var (
	ctEstablishedRelated = ctState{expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED, "established,related"}
	ctInvalid            = ctState{expr.CtStateBitINVALID, "invalid"}
)

// markMatch matches the packet mark under a mask.
type markMatch struct{ mask, value uint32 }

func (m markMatch) text() string { return fmt.Sprintf("meta mark & 0x%08x == 0x%08x", m.mask, m.value) }
func (m markMatch) exprs(*builder) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(m.mask), Xor: binaryutil.NativeEndian.PutUint32(0)},
		cmpReg(expr.CmpOpEq, binaryutil.NativeEndian.PutUint32(m.value)),
	}
}

// setMark sets the bits of mask in the packet mark to value, keeping the
// others.
type setMark struct{ mask, value uint32 }

func (m setMark) text() string {
	if m.mask == ^uint32(0) {
		return fmt.Sprintf("meta mark set 0x%08x", m.value)
	}
	return fmt.Sprintf("meta mark set meta mark & 0x%08x | 0x%08x", ^m.mask, m.value)
}

func (m setMark) exprs(*builder) []expr.Any {
	if m.mask == ^uint32(0) {
		return []expr.Any{
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(m.value)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
		}
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(^m.mask), Xor: binaryutil.NativeEndian.PutUint32(m.value)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// vmap jumps through a verdict map keyed by iifname, oifname or the mark
// under a mask.
type vmap struct {
	key  string // "iifname", "oifname", "mark"
	mask uint32
	set  string
}

func (v vmap) text() string {
	if v.key == "mark" {
		return fmt.Sprintf("meta mark & 0x%08x vmap @%s", v.mask, v.set)
	}
	return fmt.Sprintf("%s vmap @%s", v.key, v.set)
}

func (v vmap) exprs(b *builder) []expr.Any {
	var out []expr.Any
	switch v.key {
	case "iifname":
		out = append(out, &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1})
	case "oifname":
		out = append(out, &expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1})
	default:
		out = append(out, &expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(v.mask), Xor: binaryutil.NativeEndian.PutUint32(0)})
	}
	set := b.sets[v.set]
	return append(out, &expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: set.Name, SetID: set.ID})
}

// ctZone sets the conntrack zone.
type ctZone uint16

func (z ctZone) text() string { return fmt.Sprintf("ct zone set %d", uint16(z)) }
func (z ctZone) exprs(*builder) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint16(uint16(z))},
		&expr.Ct{Key: expr.CtKeyZONE, Register: 1, SourceRegister: true},
	}
}

// notrack keeps the packet out of conntrack.
type notrack struct{}

func (notrack) text() string              { return "notrack" }
func (notrack) exprs(*builder) []expr.Any { return []expr.Any{&expr.Notrack{}} }

// verdict ends a rule.
type verdict struct {
	kind  expr.VerdictKind
	chain string
}

func (v verdict) text() string {
	switch v.kind {
	case expr.VerdictAccept:
		return "accept"
	case expr.VerdictDrop:
		return "drop"
	case expr.VerdictReturn:
		return "return"
	case expr.VerdictGoto:
		return "goto " + v.chain
	}
	return "jump " + v.chain
}

func (v verdict) exprs(*builder) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: v.kind, Chain: v.chain}}
}

var (
	accept = verdict{kind: expr.VerdictAccept}
	drop   = verdict{kind: expr.VerdictDrop}
)
