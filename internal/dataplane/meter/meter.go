// Package meter counts a router's traffic per metering label — the job
// of the iptables chains Neutron's metering agent (iptables driver) keeps
// in each qrouter- namespace — as one nftables table of its own in the
// namespace, written through netlink. The L3 agent's NAT table is never
// touched: the two tables hook the same packets independently.
//
// The table, "neutrino-meter" (family inet, so IPv4 and IPv6 rules both
// count), has a base chain on the forward hook, after destination NAT and
// before source NAT as Neutron's filter FORWARD chain is, that jumps to
// one chain per label. A label's chain returns at its first excluded rule
// that matches, and counts a packet in the label's named counter at every
// included rule that matches, as Neutron's iptables driver does (each of
// a label's rules jumps to the label's counting chain, which returns to
// the next rule): a packet two rules of a label select counts twice.
// A rule's direction is the router's gateway device: ingress packets come
// in by it, egress packets leave by it. Its remote_ip_prefix (deprecated)
// matches the destination of ingress and the source of egress packets,
// as Neutron's legacy rules do; source_ip_prefix and
// destination_ip_prefix match the packet's source and destination.
//
// Apply rewrites the chains in one transaction but keeps the counters of
// labels that stay, so a rule change loses no count; it skips the write
// when the table already holds the ruleset (its fingerprint rides in the
// base chain's first rule). Counters reads the counters.
package meter

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
)

// TableName is the table each metered router namespace gets.
const TableName = "neutrino-meter"

const baseChain = "forward"

// labelChainPrefix prefixes each label's chain.
const labelChainPrefix = "label-"

// Rule is one metering label rule.
type Rule struct {
	// Ingress counts packets entering by the gateway device; otherwise
	// packets leaving by it.
	Ingress  bool
	Excluded bool
	// Remote is remote_ip_prefix; Source and Destination the newer
	// prefixes. Invalid (zero) prefixes are unset.
	Remote, Source, Destination netip.Prefix
}

// Label is a metering label on one router: its id names its counter.
type Label struct {
	ID    string
	Rules []Rule
}

// Ruleset is one router's metering.
type Ruleset struct {
	// GatewayDevice is the router's external device (qg-…); a router
	// without one counts nothing, though its labels' counters exist.
	GatewayDevice string
	Labels        []Label
}

// Count is a label's counter on one router.
type Count struct {
	Packets, Bytes uint64
}

// Fingerprint identifies the ruleset's content.
func (rs Ruleset) Fingerprint() []byte {
	c := rs
	c.Labels = slices.Clone(rs.Labels)
	slices.SortFunc(c.Labels, func(a, b Label) int { return strings.Compare(a.ID, b.ID) })
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return append([]byte("neutrino-meter:"), sum[:16]...)
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// current returns the fingerprint the table holds, nil for none.
func current(c *nftables.Conn) ([]byte, error) {
	t := table()
	return nftns.Fingerprint(c, t, baseChain)
}

// counterNames lists the table's counters.
func counterNames(c *nftables.Conn) ([]string, error) {
	counts, err := readCounters(c)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	return names, nil
}

func readCounters(c *nftables.Conn) (map[string]Count, error) {
	objs, err := c.GetObjects(table())
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return map[string]Count{}, nil
		}
		return nil, fmt.Errorf("nftables: read counters of %s: %w", TableName, err)
	}
	out := map[string]Count{}
	for _, o := range objs {
		switch o := o.(type) {
		case *nftables.CounterObj:
			if o.Table == nil || o.Table.Name == TableName {
				out[o.Name] = Count{Packets: o.Packets, Bytes: o.Bytes}
			}
		case *nftables.NamedObj:
			if cnt, ok := o.Obj.(*expr.Counter); ok && o.Type == nftables.ObjTypeCounter && (o.Table == nil || o.Table.Name == TableName) {
				out[o.Name] = Count{Packets: cnt.Packets, Bytes: cnt.Bytes}
			}
		}
	}
	return out, nil
}

// Counters returns the namespace's label counters by label id; none when
// the namespace has no metering table.
func Counters(ns netns.NsHandle) (map[string]Count, error) {
	c, err := nftns.Open(ns)
	if err != nil {
		return nil, err
	}
	return readCounters(c)
}

// Apply makes the namespace's table hold exactly rs, in one transaction;
// it reports whether it wrote (false: the table already held rs).
func Apply(ns netns.NsHandle, rs Ruleset) (bool, error) {
	c, err := nftns.Open(ns)
	if err != nil {
		return false, err
	}
	fp := rs.Fingerprint()
	if cur, err := current(c); err == nil && bytes.Equal(cur, fp) {
		return false, nil
	}
	t := table()
	have, err := counterNames(c)
	if err != nil {
		return false, err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return false, fmt.Errorf("nftables: list chains: %w", err)
	}
	c.AddTable(t)
	// Empty every chain first (rules refer to chains and counters), then
	// drop the label chains and the counters of labels that went.
	for _, ch := range chains {
		if ch.Table.Name == TableName {
			c.FlushChain(ch)
		}
	}
	for _, ch := range chains {
		if ch.Table.Name == TableName && ch.Name != baseChain {
			c.DelChain(ch)
		}
	}
	want := map[string]bool{}
	for _, l := range rs.Labels {
		want[l.ID] = true
	}
	for _, n := range have {
		if !want[n] {
			c.DeleteObject(&nftables.NamedObj{Table: t, Name: n, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
		}
	}
	policy := nftables.ChainPolicyAccept
	base := c.AddChain(&nftables.Chain{Name: baseChain, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	// The first rule always exists and carries the fingerprint.
	c.AddRule(&nftables.Rule{Table: t, Chain: base, UserData: fp, Exprs: []expr.Any{&expr.Counter{}}})
	labels := slices.Clone(rs.Labels)
	slices.SortFunc(labels, func(a, b Label) int { return strings.Compare(a.ID, b.ID) })
	for _, l := range labels {
		if !slices.Contains(have, l.ID) {
			c.AddObj(&nftables.NamedObj{Table: t, Name: l.ID, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
		}
		lc := c.AddChain(&nftables.Chain{Name: labelChainPrefix + l.ID, Table: t})
		c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: []expr.Any{
			&expr.Verdict{Kind: expr.VerdictJump, Chain: lc.Name}}})
		if rs.GatewayDevice == "" {
			continue
		}
		// Excluded rules first: they take their packets out of the label.
		rules := slices.Clone(l.Rules)
		slices.SortStableFunc(rules, func(a, b Rule) int {
			if a.Excluded == b.Excluded {
				return 0
			}
			if a.Excluded {
				return -1
			}
			return 1
		})
		for _, r := range rules {
			match, ok := r.match(rs.GatewayDevice)
			if !ok {
				continue
			}
			if r.Excluded {
				match = append(match, &expr.Verdict{Kind: expr.VerdictReturn})
			} else {
				match = append(match, &expr.Objref{Type: int(nftables.ObjTypeCounter), Name: l.ID})
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: lc, Exprs: match})
		}
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables: write %s: %w", TableName, err)
	}
	return true, nil
}

// Remove deletes the namespace's table; absent is not an error.
func Remove(ns netns.NsHandle) error { return nftns.RemoveTables(ns, table()) }

// match is the rule's match expressions; ok is false for a rule that
// cannot match (source and destination of different IP versions).
func (r Rule) match(gw string) ([]expr.Any, bool) {
	key := expr.MetaKeyOIFNAME
	if r.Ingress {
		key = expr.MetaKeyIIFNAME
	}
	src, dst := r.Source, r.Destination
	if r.Remote.IsValid() {
		if r.Ingress {
			dst = r.Remote
		} else {
			src = r.Remote
		}
	}
	out := ifname(key, gw)
	is4 := -1 // unknown
	for _, p := range []netip.Prefix{src, dst} {
		if !p.IsValid() {
			continue
		}
		v := 0
		if p.Addr().Is4() {
			v = 1
		}
		if is4 >= 0 && is4 != v {
			return nil, false
		}
		is4 = v
	}
	switch is4 {
	case 1:
		out = append(out, &expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}})
	case 0:
		out = append(out, &expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}})
	}
	if src.IsValid() {
		out = append(out, prefixMatch(src, true)...)
	}
	if dst.IsValid() {
		out = append(out, prefixMatch(dst, false)...)
	}
	return out, true
}

func ifname(key expr.MetaKey, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

// prefixMatch matches the source or destination address against p; the
// caller has matched the IP version.
func prefixMatch(p netip.Prefix, source bool) []expr.Any {
	p = p.Masked()
	var offset, n uint32 = 16, 4
	if p.Addr().Is4() {
		if source {
			offset = 12
		}
	} else {
		offset, n = 24, 16
		if source {
			offset = 8
		}
	}
	addr := p.Addr().AsSlice()
	mask := make([]byte, n)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: n},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: mask, Xor: make([]byte, n)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr},
	}
}
