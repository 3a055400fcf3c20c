// Package qos enforces ports' QoS rules on a Linux bridge host, as
// Neutron's linuxbridge agent QoS extension does: a bandwidth limit on
// traffic to the VM (Neutron's "ingress") is a token bucket (TBF) as the
// tap's root qdisc, through netlink as Neutron's tc_lib sets it. Traffic
// from the VM ("egress") is policed: Neutron attaches a tc police action
// to the tap's ingress qdisc, which needs act_police, a kernel option
// many kernels (this project's test machines among them) leave out; here
// the same policer (rate, burst, drop above) is nftables' limit in the
// bridge family, in one table with the DSCP marks of the VMs' IPv4 and
// IPv6 packets, rewritten whole in one transaction when either changes.
// Apply is level-triggered: a tap without rules loses what an earlier
// pass set.
package qos

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
)

// Port is one tap's desired QoS. Rates are in kbit/s and bursts in kbit,
// as Neutron's rules give them; 0 means no limit.
type Port struct {
	Tap string
	// EgressKbps limits traffic from the VM (the tap's ingress).
	EgressKbps, EgressBurstKbit uint64
	// IngressKbps limits traffic to the VM (the tap's egress).
	IngressKbps, IngressBurstKbit uint64
	// DSCP marks the VM's IP packets when HasDSCP.
	DSCP    uint8
	HasDSCP bool
}

// TableName is the nftables table (bridge family) holding the policers
// and DSCP marks.
const TableName = "neutrino-qos"

// tbfLatencyUS is the time a packet may wait in the token bucket, as
// Neutron's tc_lib sets it (50 ms).
const tbfLatencyUS = 50000

// defaultBurstRatio is Neutron's burst for a rule without max_burst_kbps:
// 80% of the rate (one tenth of a second's worth would starve TCP).
const defaultBurstRatio = 0.8

// Enforcer applies ports' QoS in one network namespace. One pass at a
// time.
type Enforcer struct {
	nl   *netlink.Handle
	conn *nftables.Conn

	mu sync.Mutex
	// table is the nftables table's content as last written; nil before
	// the first pass, so the first pass writes it.
	table map[string]tableEntry
}

// tableEntry is one tap's part of the nftables table.
type tableEntry struct {
	rate, burst uint64 // policer, bytes/s and bytes; 0 for none
	dscp        uint8
	hasDSCP     bool
}

// New opens the enforcer of namespace ns (netns.None() for the caller's
// own); nl is a netlink handle on the same namespace.
func New(ns netns.NsHandle, nl *netlink.Handle) (*Enforcer, error) {
	c, err := nftns.Open(ns)
	if err != nil {
		return nil, fmt.Errorf("qos: %w", err)
	}
	return &Enforcer{nl: nl, conn: c}, nil
}

// Apply converges every given tap to its QoS. A tap that does not exist
// (yet) is no error: it gets no token bucket, but its policer and marks
// are written, to match its packets once it appears. The nftables table
// holds exactly the given ports' policers and marks.
func (e *Enforcer) Apply(ports []Port) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	table := map[string]tableEntry{}
	for _, p := range ports {
		te := tableEntry{dscp: p.DSCP, hasDSCP: p.HasDSCP}
		if p.EgressKbps > 0 {
			te.rate, te.burst = p.EgressKbps*1000/8, uint64(burstBytes(p.EgressKbps, p.EgressBurstKbit))
		}
		if te.rate > 0 || te.hasDSCP {
			table[p.Tap] = te
		}
		link, err := e.nl.LinkByName(p.Tap)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				continue
			}
			errs = append(errs, fmt.Errorf("qos: %s: %w", p.Tap, err))
			continue
		}
		if err := e.applyTBF(link, p.IngressKbps, p.IngressBurstKbit); err != nil {
			errs = append(errs, fmt.Errorf("qos: %s: limit to the VM: %w", p.Tap, err))
		}
	}
	if err := e.applyTable(table); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// burstBytes is the bucket size in bytes for a rate and burst in kbit.
func burstBytes(kbps, burstKbit uint64) uint32 {
	if burstKbit == 0 {
		burstKbit = uint64(float64(kbps) * defaultBurstRatio)
	}
	b := burstKbit * 1000 / 8
	// At least one full frame, or nothing passes.
	if b < 1600 {
		b = 1600
	}
	return uint32(b)
}

// applyTBF makes the tap's root qdisc a token bucket of kbps, or removes
// it for no limit.
func (e *Enforcer) applyTBF(link netlink.Link, kbps, burstKbit uint64) error {
	qdiscs, err := e.nl.QdiscList(link)
	if err != nil {
		return err
	}
	var cur *netlink.Tbf
	for _, q := range qdiscs {
		if t, ok := q.(*netlink.Tbf); ok && q.Attrs().Parent == netlink.HANDLE_ROOT {
			cur = t
		}
	}
	if kbps == 0 {
		if cur != nil {
			return e.nl.QdiscDel(cur)
		}
		return nil
	}
	rate := kbps * 1000 / 8
	burst := burstBytes(kbps, burstKbit)
	want := &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate:       rate,
		Buffer:     netlink.Xmittime(rate, burst),
		Limit:      uint32(rate*tbfLatencyUS/1000000) + burst,
	}
	if cur != nil && cur.Rate == want.Rate && cur.Limit == want.Limit && cur.Buffer == want.Buffer {
		return nil
	}
	return e.nl.QdiscReplace(want)
}

// applyTable writes the nftables table (tap → policer and mark) when it
// differs from what the last pass wrote, in one transaction; an empty
// table is removed.
func (e *Enforcer) applyTable(want map[string]tableEntry) error {
	if e.table != nil && maps.Equal(e.table, want) {
		return nil
	}
	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyBridge}
	exists, err := nftns.Exists(e.conn, table)
	if err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	switch {
	case len(want) == 0 && exists:
		e.conn.DelTable(table)
	case len(want) > 0:
		// A missing table is only created: deleting would cost the
		// transaction an RCU grace period.
		nftns.Recreate(e.conn, table, exists)
		chain := e.conn.AddChain(&nftables.Chain{Name: "qos", Table: table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityFilter})
		taps := slices.Sorted(maps.Keys(want))
		// Policers first: a dropped packet needs no mark.
		for _, tap := range taps {
			if te := want[tap]; te.rate > 0 {
				e.conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: policeRule(tap, te.rate, te.burst)})
			}
		}
		for _, tap := range taps {
			if te := want[tap]; te.hasDSCP {
				for _, r := range markRules(tap, te.dscp) {
					e.conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: r})
				}
			}
		}
	}
	if err := e.conn.Flush(); err != nil {
		return fmt.Errorf("qos: write table %s: %w", TableName, err)
	}
	e.table = want
	return nil
}

// policeRule is "iifname <tap> limit rate over <rate> bytes/second burst
// <burst> bytes drop": Neutron's police action, in nftables.
func policeRule(tap string, rate, burst uint64) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(tap)},
		&expr.Limit{Type: expr.LimitTypePktBytes, Rate: rate, Unit: expr.LimitTimeSecond, Burst: uint32(burst), Over: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// Remove deletes the nftables table (when QoS is not enforced here).
func (e *Enforcer) Remove() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.table = nil
	return e.applyTable(map[string]tableEntry{})
}

// ifname is an interface name as nftables compares it: NUL-padded.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// markRules are "iifname <tap> ether type ip ip dscp set <mark>" and its
// IPv6 counterpart: the DSCP bits are rewritten and the ECN bits kept,
// with the IPv4 header checksum updated.
func markRules(tap string, mark uint8) [][]expr.Any {
	iif := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(tap)},
	}
	etherType := func(t uint16) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(t >> 8), byte(t)}},
		}
	}
	v4 := append(append(slices.Clone(iif), etherType(unix.ETH_P_IP)...),
		// The TOS byte is rewritten with the version/IHL byte before it,
		// as nft does: the header checksum is updated over 16-bit words.
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 2},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 2, Mask: []byte{0xff, 0x03}, Xor: []byte{0, mark << 2}},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader,
			Offset: 0, Len: 2, CsumType: expr.CsumTypeInet, CsumOffset: 10},
	)
	tc := uint16(mark) << 6
	v6 := append(append(slices.Clone(iif), etherType(unix.ETH_P_IPV6)...),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 2},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 2, Mask: []byte{0xf0, 0x3f}, Xor: []byte{byte(tc >> 8), byte(tc)}},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader,
			Offset: 0, Len: 2},
	)
	return [][]expr.Any{v4, v6}
}
