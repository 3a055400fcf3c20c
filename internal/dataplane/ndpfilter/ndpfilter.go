// Package ndpfilter keeps the external network out of a router's IPv6
// subnets but for the addresses the router proxies neighbour discovery
// for — the job of the NDP chain Neutron's L3 agent ndp_proxy extension
// adds to each qrouter- namespace's ip6tables filter table — as one
// nftables table of its own in the namespace ("neutrino-ndp", family
// ip6), written through netlink. The L3 part's NAT table is never
// touched.
//
// The table's forward chain accepts packets that come in by the gateway
// device for a proxied address, and drops those that come in by it for
// any other address of the router's IPv6 subnets in the external
// network's address scope. Apply replaces the table in one transaction,
// and skips the write when the table already holds the same ruleset.
package ndpfilter

import (
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
)

// TableName is the table a router namespace with NDP proxies enabled
// gets.
const TableName = "neutrino-ndp"

const chainName = "forward"

// Ruleset is what one router's table enforces: on GatewayDevice, Proxied
// addresses pass and the rest of Subnets is dropped. An empty
// GatewayDevice means no table.
type Ruleset struct {
	GatewayDevice string
	Proxied       []netip.Addr
	Subnets       []netip.Prefix
}

func (rs Ruleset) normal() Ruleset {
	out := Ruleset{GatewayDevice: rs.GatewayDevice}
	for _, a := range rs.Proxied {
		if a.Is6() {
			out.Proxied = append(out.Proxied, a)
		}
	}
	for _, p := range rs.Subnets {
		if p.Addr().Is6() {
			out.Subnets = append(out.Subnets, p.Masked())
		}
	}
	slices.SortFunc(out.Proxied, func(a, b netip.Addr) int { return a.Compare(b) })
	out.Proxied = slices.Compact(out.Proxied)
	slices.SortFunc(out.Subnets, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out.Subnets = slices.Compact(out.Subnets)
	return out
}

// Fingerprint identifies a ruleset whatever its order.
func Fingerprint(rs Ruleset) []byte {
	b, _ := json.Marshal(rs.normal())
	sum := sha256.Sum256(b)
	return append([]byte("neutrino-ndp:"), sum[:16]...)
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv6}
}

// Current returns the fingerprint of the ruleset the namespace's table
// holds, nil when it has no table.
func Current(ns netns.NsHandle) ([]byte, error) {
	c, err := nftns.Open(ns)
	if err != nil {
		return nil, err
	}
	return nftns.Fingerprint(c, table(), chainName)
}

// Apply makes the namespace's table enforce rs (no gateway device: no
// table), in one transaction; it reports whether it wrote.
func Apply(ns netns.NsHandle, rs Ruleset) (bool, error) {
	rs = rs.normal()
	var fp []byte
	if rs.GatewayDevice != "" {
		fp = Fingerprint(rs)
	}
	return nftns.Replace(ns, table(), chainName, fp, func(c *nftables.Conn, t *nftables.Table) error {
		policy := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{Name: chainName, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &policy})
		// The first rule always exists and carries the fingerprint.
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: fp, Exprs: []expr.Any{&expr.Counter{}}})
		for _, a := range rs.Proxied {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(match(rs.GatewayDevice, netip.PrefixFrom(a, 128)),
				&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept})})
		}
		for _, p := range rs.Subnets {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(match(rs.GatewayDevice, p),
				&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})})
		}
		return nil
	})
}

// Remove deletes the namespace's table; absent is not an error.
func Remove(ns netns.NsHandle) error { return nftns.RemoveTables(ns, table()) }

// match selects packets that come in by dev for an address in p.
func match(dev string, p netip.Prefix) []expr.Any {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, dev)
	mask := make([]byte, 16)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
		// The IPv6 destination address.
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16, Mask: mask, Xor: make([]byte, 16)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}
