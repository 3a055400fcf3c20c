// Package cthelper assigns conntrack helpers to a router's connections —
// the job of the CT --helper rules Neutron's L3 agent conntrack_helper
// extension adds to each qrouter- namespace's raw table — as one nftables
// table of its own in the namespace ("neutrino-cthelper", family inet),
// written through netlink. The L3 part's NAT table is never touched.
//
// Each (helper, protocol) is an nftables ct helper object; the table's
// prerouting chain, after connection tracking, sets a connection's helper
// when its first packet goes to one of the helper's ports with its
// protocol, so the helper (FTP, TFTP, SIP …) sees the connection and
// opens the related flows it announces, NATed as the connection is.
// Apply replaces the table in one transaction, and skips the write when
// the table already holds the same helpers.
package cthelper

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
)

// TableName is the table a router namespace with helpers gets.
const TableName = "neutrino-cthelper"

const chainName = "prerouting"

// Helper is one conntrack helper of a router: connections of Protocol
// to Port get the kernel helper Name.
type Helper struct {
	Protocol string
	Port     uint16
	Name     string
}

// protocols are the IP protocols a helper may be bound to (neutron-lib's
// iptables protocol names); ICMP carries no ports, so a helper on it
// matches nothing.
var protocols = map[string]uint8{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP,
	"dccp": unix.IPPROTO_DCCP, "icmp": unix.IPPROTO_ICMP, "ipv6-icmp": unix.IPPROTO_ICMPV6}

// Validate reports a helper list the kernel could not be given.
func Validate(hs []Helper) error {
	for _, h := range hs {
		if _, ok := protocols[h.Protocol]; !ok {
			return fmt.Errorf("cthelper: protocol %q", h.Protocol)
		}
		if h.Name == "" || h.Port == 0 {
			return fmt.Errorf("cthelper: helper %q on port %d", h.Name, h.Port)
		}
	}
	return nil
}

func sorted(hs []Helper) []Helper {
	out := slices.Clone(hs)
	slices.SortFunc(out, func(a, b Helper) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	})
	return slices.Compact(out)
}

// Fingerprint identifies a helper list whatever its order.
func Fingerprint(hs []Helper) []byte {
	b, _ := json.Marshal(sorted(hs))
	sum := sha256.Sum256(b)
	return append([]byte("neutrino-cthelper:"), sum[:16]...)
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// Current returns the fingerprint of the helpers the namespace's table
// holds, nil when it has no table.
func Current(ns netns.NsHandle) ([]byte, error) {
	c, err := nftns.Open(ns)
	if err != nil {
		return nil, err
	}
	t := table()
	return nftns.Fingerprint(c, t, chainName)
}

// objectName names the ct helper object of a helper on a protocol.
func objectName(h Helper) string { return h.Name + "-" + h.Protocol }

// Apply makes the namespace's table assign exactly hs (none: no table),
// in one transaction; it reports whether it wrote.
func Apply(ns netns.NsHandle, hs []Helper) (bool, error) {
	if err := Validate(hs); err != nil {
		return false, err
	}
	var fp []byte
	if len(hs) > 0 {
		fp = Fingerprint(hs)
	}
	return nftns.Replace(ns, table(), chainName, fp, func(c *nftables.Conn, t *nftables.Table) error {
		ch := c.AddChain(&nftables.Chain{Name: chainName, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityFilter})
		// The first rule always exists and carries the fingerprint.
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: fp, Exprs: []expr.Any{&expr.Counter{}}})
		made := map[string]bool{}
		for _, h := range sorted(hs) {
			proto := protocols[h.Protocol]
			name := objectName(h)
			if !made[name] {
				c.AddObj(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCtHelper,
					Obj: &expr.CtHelper{Name: h.Name, L4Proto: proto}})
				made[name] = true
			}
			if proto == unix.IPPROTO_ICMP || proto == unix.IPPROTO_ICMPV6 {
				continue
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(h.Port)},
				&expr.Counter{},
				// nft's "ct helper set": a reference to the helper object.
				&expr.Objref{Type: int(nftables.ObjTypeCtHelper), Name: name},
			}})
		}
		return nil
	})
}

// Remove deletes the namespace's table; absent is not an error.
func Remove(ns netns.NsHandle) error { return nftns.RemoveTables(ns, table()) }
