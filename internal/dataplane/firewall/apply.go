package firewall

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Stats says what a pass touched.
type Stats struct {
	// Replaced: both tables were rewritten in one transaction.
	Replaced bool
	// Objects are the tables, chains, sets, set elements (intervals,
	// map entries) and rules written (a full replacement), or the set
	// intervals added and removed (a membership change); 0 when nothing
	// changed.
	Objects int
	// ConntrackDeleted are the connections deleted because what allowed
	// them went away.
	ConntrackDeleted int
}

// Firewall applies a host's ruleset in one network namespace. It is safe
// for use by one pass at a time.
type Firewall struct {
	conn *nftables.Conn
	nl   *netlink.Handle
	log  *slog.Logger

	mu        sync.Mutex
	assign    Assignment
	recovered bool
	last      *Ruleset
	lastText  string
	lastShape string
	lastHost  *Host
	lastZones map[string]uint16
}

// New opens the firewall of namespace ns (netns.None() for the caller's
// own); nl is a netlink handle on the same namespace, for conntrack.
func New(ns netns.NsHandle, nl *netlink.Handle, log *slog.Logger) (*Firewall, error) {
	var opts []nftables.ConnOption
	if ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Firewall{conn: c, nl: nl, log: log,
		assign: Assignment{Marks: map[string]uint16{}, Zones: map[string]uint16{}}}, nil
}

// Apply converges the namespace's firewall to h: nothing when the
// ruleset is unchanged, set elements in place when only remote group
// members changed, both tables replaced in one transaction otherwise;
// then the connections that lost what allowed them are deleted.
func (f *Firewall) Apply(ctx context.Context, h *Host) (Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st Stats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if !f.recovered {
		f.recover()
		f.recovered = true
	}
	f.number(h)
	rs := Render(h, f.assign)
	text := rs.String()
	if text == f.lastText {
		return st, nil
	}
	shape := rs.shape()
	var err error
	if f.last != nil && shape == f.lastShape {
		st.Objects, err = f.updateSets(rs)
	} else {
		st.Replaced = true
		st.Objects, err = f.replace(rs)
	}
	if err != nil {
		f.lastText, f.lastShape = "", "" // unknown: replace next time
		return st, err
	}
	prev, zones := f.lastHost, f.lastZones
	f.last, f.lastText, f.lastShape, f.lastHost = rs, text, shape, h
	f.lastZones = maps.Clone(f.assign.Zones)
	if prev != nil && f.nl != nil {
		n, err := f.forget(prev, h, zones)
		st.ConntrackDeleted = n
		if err != nil {
			return st, fmt.Errorf("deleting connections: %w", err)
		}
	}
	return st, nil
}

// Remove deletes both tables (filtering disabled).
func (f *Firewall) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyBridge, nftables.TableFamilyINet} {
		t := &nftables.Table{Family: fam, Name: TableName}
		f.conn.AddTable(t)
		f.conn.DelTable(t)
	}
	f.last, f.lastText, f.lastShape, f.lastHost = nil, "", "", nil
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("removing the %s tables: %w", TableName, err)
	}
	return nil
}

// number gives new filtered ports a mark index and new bridges a zone,
// and frees those of ports and bridges gone.
func (f *Firewall) number(h *Host) {
	devs, bridges := map[string]bool{}, map[string]bool{}
	for i := range h.Ports {
		if p := &h.Ports[i]; p.Filtered() {
			devs[p.Device] = true
			if p.Bridge != "" {
				bridges[p.Bridge] = true
			}
		}
	}
	assign := func(m map[string]uint16, want map[string]bool) {
		for k := range m {
			if !want[k] {
				delete(m, k)
			}
		}
		used := map[uint16]bool{}
		for _, v := range m {
			used[v] = true
		}
		next := uint16(1)
		for _, k := range slices.Sorted(mapsKeys(want)) {
			if _, ok := m[k]; ok {
				continue
			}
			for used[next] {
				next++
			}
			m[k], used[next] = next, true
		}
	}
	assign(f.assign.Marks, devs)
	assign(f.assign.Zones, bridges)
}

// recover reads the numbering a previous run left in the kernel, so that
// a restarted agent writes the same rules and keeps the same zones.
func (f *Firewall) recover() {
	read := func(fam nftables.TableFamily, prefix string, val func([]expr.Any) (uint16, bool), into map[string]uint16) {
		t := &nftables.Table{Family: fam, Name: TableName}
		chains, err := f.conn.ListChainsOfTableFamily(fam)
		if err != nil {
			return
		}
		for _, c := range chains {
			if c.Table.Name != TableName || !strings.HasPrefix(c.Name, prefix) {
				continue
			}
			rules, err := f.conn.GetRules(t, c)
			if err != nil || len(rules) != 1 {
				continue
			}
			if v, ok := val(rules[0].Exprs); ok && v != 0 {
				into[strings.TrimPrefix(c.Name, prefix)] = v
			}
		}
	}
	read(nftables.TableFamilyINet, "zone-", func(es []expr.Any) (uint16, bool) {
		for _, e := range es {
			if im, ok := e.(*expr.Immediate); ok && len(im.Data) == 2 {
				return binaryutil.NativeEndian.Uint16(im.Data), true
			}
		}
		return 0, false
	}, f.assign.Zones)
	read(nftables.TableFamilyBridge, "out-", func(es []expr.Any) (uint16, bool) {
		for _, e := range es {
			if b, ok := e.(*expr.Bitwise); ok && len(b.Xor) == 4 {
				return uint16(binaryutil.NativeEndian.Uint32(b.Xor)), true
			}
		}
		return 0, false
	}, f.assign.Marks)
	if len(f.assign.Zones)+len(f.assign.Marks) > 0 {
		f.log.Info("firewall numbering read back from the kernel", "zones", len(f.assign.Zones), "ports", len(f.assign.Marks))
	}
}

// shape is the ruleset without the members of remote-group sets.
func (rs *Ruleset) shape() string {
	c := &Ruleset{}
	for _, t := range rs.Tables {
		nt := *t
		nt.Sets = make([]*Set, len(t.Sets))
		for i, s := range t.Sets {
			ns := *s
			if s.Kind == SetIPv4 || s.Kind == SetIPv6 {
				ns.Prefixes = nil
			}
			nt.Sets[i] = &ns
		}
		c.Tables = append(c.Tables, &nt)
	}
	return c.String()
}

// replace writes both tables in one transaction: each table is created
// if missing, deleted and written anew.
func (f *Firewall) replace(rs *Ruleset) (int, error) {
	n := 0
	var setID uint32
	for _, t := range rs.Tables {
		nt := &nftables.Table{Family: t.Family, Name: t.Name}
		f.conn.AddTable(nt)
		f.conn.DelTable(nt)
		f.conn.AddTable(nt)
		n++
		chains := map[string]*nftables.Chain{}
		accept := nftables.ChainPolicyAccept
		for _, c := range t.Chains {
			nc := &nftables.Chain{Table: nt, Name: c.Name}
			if c.Hook != nil {
				hook := c.Hook.Hook
				prio := nftables.ChainPriority(int32(c.Hook.Priority))
				nc.Hooknum, nc.Priority, nc.Type, nc.Policy = &hook, &prio, nftables.ChainTypeFilter, &accept
			}
			chains[c.Name] = f.conn.AddChain(nc)
			n++
		}
		b := &builder{sets: map[string]*nftables.Set{}}
		for _, s := range t.Sets {
			setID++
			ns := &nftables.Set{Table: nt, ID: setID, Name: s.Name, KeyType: s.keyType()}
			switch s.Kind {
			case SetIPv4, SetIPv6:
				ns.Interval = true
			case MapIfname, MapMark:
				ns.IsMap, ns.DataType = true, nftables.TypeVerdict
				if s.Kind == MapMark {
					ns.KeyByteOrder = binaryutil.NativeEndian
				}
			}
			if err := f.conn.AddSet(ns, s.elements()); err != nil {
				return 0, fmt.Errorf("set %s: %w", s.Name, err)
			}
			b.sets[s.Name] = ns
			n += 1 + len(s.Prefixes) + len(s.Elems)
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				f.conn.AddRule(&nftables.Rule{Table: nt, Chain: chains[c.Name], Exprs: r.exprs(b)})
				n++
			}
		}
	}
	if err := f.conn.Flush(); err != nil {
		return 0, fmt.Errorf("replacing the %s tables: %w", TableName, err)
	}
	return n, nil
}

// elements are the set's netlink elements: a verdict per map key, or
// the start and (exclusive) end of each merged range of prefixes.
func (s *Set) elements() []nftables.SetElement {
	var out []nftables.SetElement
	switch s.Kind {
	case MapIfname:
		for _, e := range s.Elems {
			out = append(out, nftables.SetElement{Key: ifnameBytes(e.Name),
				VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: e.Chain}})
		}
	case MapMark:
		for _, e := range s.Elems {
			out = append(out, nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(e.Mark),
				VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: e.Chain}})
		}
	default:
		for _, r := range ranges(s.Prefixes) {
			out = append(out, r.elements()...)
		}
	}
	return out
}

// addrRange is [first, last] of addresses.
type addrRange struct{ first, last netip.Addr }

func (r addrRange) elements() []nftables.SetElement {
	out := []nftables.SetElement{{Key: r.first.AsSlice()}}
	if end := r.last.Next(); end.IsValid() {
		out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
	}
	return out
}

// ranges are the prefixes (sorted, none inside another) as address
// ranges, one interval each: a member joining or leaving is one
// interval added or removed, whatever its neighbours.
func ranges(ps []netip.Prefix) []addrRange {
	out := make([]addrRange, len(ps))
	for i, p := range ps {
		out[i] = addrRange{p.Addr(), lastAddr(p)}
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// updateSets changes, in place and in one transaction, the elements of
// the remote-group sets that differ from the last pass.
func (f *Firewall) updateSets(rs *Ruleset) (int, error) {
	n := 0
	for ti, t := range rs.Tables {
		old := f.last.Tables[ti]
		nt := &nftables.Table{Family: t.Family, Name: t.Name}
		for si, s := range t.Sets {
			if s.Kind != SetIPv4 && s.Kind != SetIPv6 {
				continue
			}
			was, now := ranges(old.Sets[si].Prefixes), ranges(s.Prefixes)
			var del, add []nftables.SetElement
			for _, r := range was {
				if !slices.Contains(now, r) {
					del = append(del, r.elements()...)
				}
			}
			for _, r := range now {
				if !slices.Contains(was, r) {
					add = append(add, r.elements()...)
				}
			}
			ns := &nftables.Set{Table: nt, Name: s.Name, KeyType: s.keyType(), Interval: true}
			if len(del) > 0 {
				if err := f.conn.SetDeleteElements(ns, del); err != nil {
					return 0, fmt.Errorf("set %s: %w", s.Name, err)
				}
			}
			if len(add) > 0 {
				if err := f.conn.SetAddElements(ns, add); err != nil {
					return 0, fmt.Errorf("set %s: %w", s.Name, err)
				}
			}
			n += intervals(del) + intervals(add)
		}
	}
	if err := f.conn.Flush(); err != nil {
		return 0, fmt.Errorf("updating the %s sets: %w", TableName, err)
	}
	return n, nil
}

// intervals counts the intervals among elements (their starts).
func intervals(es []nftables.SetElement) int {
	n := 0
	for _, e := range es {
		if !e.IntervalEnd {
			n++
		}
	}
	return n
}
