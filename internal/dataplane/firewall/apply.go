package firewall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	mdnetlink "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
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
	// batch is the number of objects the next transaction writes, which
	// sizes the socket's buffers (see sizeBuffers).
	batch atomic.Int64

	mu        sync.Mutex
	assign    Assignment
	recovered bool
	last      *Ruleset
	lastHost  *Host
	lastZones map[string]uint16
	lastMarks map[string]uint16
	// lastParts are the last pass's ports' parts of the ruleset, reused
	// for ports whose input did not change.
	lastParts map[string]*portRender
}

// New opens the firewall of namespace ns (netns.None() for the caller's
// own); nl is a netlink handle on the same namespace, for conntrack.
func New(ns netns.NsHandle, nl *netlink.Handle, log *slog.Logger) (*Firewall, error) {
	f := &Firewall{nl: nl, log: log, assign: Assignment{Marks: map[string]uint16{}, Zones: map[string]uint16{}}}
	c, err := nftns.Open(ns, nftables.WithSockOptions(f.sizeBuffers))
	if err != nil {
		return nil, err
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.conn = c
	return f, nil
}

// sizeBuffers makes the socket of a transaction big enough for it: the
// library sends a batch in one message and asks an acknowledgement per
// object (each costs the receive buffer about a kilobyte), so a few
// hundred objects overflow the default buffers and a thousand-port host
// needs megabytes both ways (nft sizes its socket the same way). The forced sizes need CAP_NET_ADMIN, which
// the agent has; without it the defaults stay.
func (f *Firewall) sizeBuffers(c *mdnetlink.Conn) error {
	n := int(f.batch.Load()) + 256
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, n*512)
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n*1024)
	})
	return nil
}

// Apply converges the namespace's firewall to h, in one transaction: on
// the first pass (and after Invalidate) both tables are written anew;
// then only what differs from the last pass is written: the chains whose
// rules changed (flushed and refilled), chains and map entries of ports
// that came or went, and the set intervals of remote group members. A
// pass whose input equals the last one's writes nothing. Apply keeps h:
// the caller must not change it afterwards. The connections that lost
// what allowed them are deleted after the transaction.
func (f *Firewall) Apply(ctx context.Context, h *Host) (Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st Stats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if f.last != nil && reflect.DeepEqual(h, f.lastHost) {
		return st, nil
	}
	if !f.recovered {
		f.recover()
		f.recovered = true
	}
	f.number(h)
	var rs *Ruleset
	parts := f.lastParts
	if f.last != nil && sameButMembers(h, f.lastHost) {
		rs = f.last.withMembers(h.Members) // no need to render the rest
	} else {
		rs, parts = render(h, f.assign, f.reuser(h))
	}
	var err error
	if f.last == nil {
		st.Replaced = true
		st.Objects, err = f.replace(rs)
	} else {
		st.Objects, err = f.delta(f.last, rs)
		if errors.Is(err, errNewBaseChain) { // tables of an older version
			st.Replaced = true
			st.Objects, err = f.replace(rs)
		}
	}
	if err != nil {
		f.last, f.lastHost = nil, nil // unknown state: replace next time
		return st, err
	}
	prev, zones := f.lastHost, f.lastZones
	f.last, f.lastHost, f.lastParts = rs, h, parts
	f.lastZones = maps.Clone(f.assign.Zones)
	f.lastMarks = maps.Clone(f.assign.Marks)
	if prev != nil && f.nl != nil {
		n, err := f.forget(prev, h, zones)
		st.ConntrackDeleted = n
		if err != nil {
			return st, fmt.Errorf("deleting connections: %w", err)
		}
	}
	return st, nil
}

// Verify compares the chains of the firewall's tables in the kernel with
// those of the last pass; when they differ (a table or chain removed or
// added behind the firewall's back) it invalidates the firewall, so the
// next Apply writes both tables anew, and reports false. Agents call it
// now and then to repair drift that no notification announces.
func (f *Firewall) Verify() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return true, nil // the next pass writes everything anyway
	}
	for _, t := range f.last.Tables {
		chains, err := f.conn.ListChainsOfTableFamily(t.Family)
		if err != nil {
			return false, fmt.Errorf("listing the %s chains: %w", familyName(t.Family), err)
		}
		have := map[string]bool{}
		for _, c := range chains {
			if c.Table != nil && c.Table.Name == t.Name {
				have[c.Name] = true
			}
		}
		same := len(have) == len(t.Chains)
		for _, c := range t.Chains {
			same = same && have[c.Name]
		}
		if !same {
			f.last, f.lastHost = nil, nil
			return false, nil
		}
	}
	return true, nil
}

// errNewBaseChain: the kernel's tables lack a hook the ruleset has (an
// older version wrote them), so a delta cannot do.
var errNewBaseChain = errors.New("a base chain appeared")

// Invalidate makes the next Apply write both tables anew, repairing
// whatever changed them behind the firewall's back.
func (f *Firewall) Invalidate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.lastHost = nil, nil
}

// reuser gives, for a port whose own input, mark and groups' rules are
// those of the last pass, the part of the ruleset it had then: a rule
// change on a thousand-port host renders the ports of that group only.
func (f *Firewall) reuser(h *Host) func(*Port) *portRender {
	if f.last == nil || f.lastHost == nil || f.lastParts == nil {
		return nil
	}
	changed := map[string]bool{}
	for g, rs := range h.Rules {
		if !reflect.DeepEqual(rs, f.lastHost.Rules[g]) {
			changed[g] = true
		}
	}
	for g := range f.lastHost.Rules {
		if _, ok := h.Rules[g]; !ok {
			changed[g] = true
		}
	}
	old := make(map[string]*Port, len(f.lastHost.Ports))
	for i := range f.lastHost.Ports {
		old[f.lastHost.Ports[i].Device] = &f.lastHost.Ports[i]
	}
	return func(p *Port) *portRender {
		op := old[p.Device]
		if op == nil || f.lastMarks[p.Device] != f.assign.Marks[p.Device] {
			return nil
		}
		for _, g := range p.SecurityGroups {
			if changed[g] {
				return nil
			}
		}
		if !reflect.DeepEqual(op, p) {
			return nil
		}
		return f.lastParts[p.Device]
	}
}

// sameButMembers reports whether a and b differ at most in members.
func sameButMembers(a, b *Host) bool {
	x, y := *a, *b
	x.Members, y.Members = nil, nil
	return reflect.DeepEqual(x, y)
}

// withMembers is rs with its remote-group sets holding members.
func (rs *Ruleset) withMembers(members map[string][]netip.Prefix) *Ruleset {
	out := &Ruleset{}
	for _, t := range rs.Tables {
		nt := *t
		nt.Sets = make([]*Set, len(t.Sets))
		for i, s := range t.Sets {
			if s.Kind != SetIPv4 && s.Kind != SetIPv6 {
				nt.Sets[i] = s
				continue
			}
			ns := *s
			ns.Prefixes = nil
			for _, m := range members[s.Name[3:]] {
				if m.Addr().Is6() == (s.Kind == SetIPv6) {
					ns.Prefixes = append(ns.Prefixes, m.Masked())
				}
			}
			ns.Prefixes = mergePrefixes(ns.Prefixes)
			nt.Sets[i] = &ns
		}
		out.Tables = append(out.Tables, &nt)
	}
	return out
}

// Remove deletes both tables if they exist (filtering disabled); a
// namespace without them is left untouched.
func (f *Firewall) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.lastHost, f.lastParts = nil, nil, nil
	found := false
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyBridge, nftables.TableFamilyINet} {
		if t, err := f.conn.ListTableOfFamily(TableName, fam); err == nil && t != nil {
			f.conn.DelTable(t)
			found = true
		}
	}
	if !found {
		return nil
	}
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

// replace writes both tables in one transaction: an existing table is
// deleted and written anew (so it is replaced, never absent), a missing
// one only created (nftns.Recreate), failing the transaction should it
// appear meanwhile. A transaction that deletes anything waits for an RCU
// grace period (10–20 ms), so a host's first port, or a fresh agent's
// first pass, would pay it for nothing.
func (f *Firewall) replace(rs *Ruleset) (int, error) {
	exists := make([]bool, len(rs.Tables))
	for i, t := range rs.Tables {
		var err error
		if exists[i], err = nftns.Exists(f.conn, &nftables.Table{Family: t.Family, Name: t.Name}); err != nil {
			return 0, err
		}
	}
	f.batch.Store(int64(rs.objects()))
	n := 0
	var setID uint32
	for i, t := range rs.Tables {
		nt := &nftables.Table{Family: t.Family, Name: t.Name}
		nftns.Recreate(f.conn, nt, exists[i])
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
			ns := s.netlinkSet(nt)
			ns.ID = setID
			if err := f.addElements(ns, s.elements(), true); err != nil {
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

// elementsPerMessage bounds the elements of one netlink message: their
// list is one attribute, whose length is 16 bits (64 KiB); a map element
// with its jump takes about 80 bytes.
const elementsPerMessage = 400

// addElements adds elements in messages of elementsPerMessage, creating
// the set with the first when create is set.
func (f *Firewall) addElements(s *nftables.Set, es []nftables.SetElement, create bool) error {
	if create {
		n := min(len(es), elementsPerMessage)
		if err := f.conn.AddSet(s, es[:n]); err != nil {
			return err
		}
		es = es[n:]
	}
	for c := range slices.Chunk(es, elementsPerMessage) {
		if err := f.conn.SetAddElements(s, c); err != nil {
			return err
		}
	}
	return nil
}

// objects counts what a full replacement writes.
func (rs *Ruleset) objects() int {
	n := 0
	for _, t := range rs.Tables {
		n += 3 + len(t.Chains)
		for _, s := range t.Sets {
			n += 1 + 2*len(s.Prefixes) + len(s.Elems)
		}
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
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

// delta writes, in one transaction, what differs between the ruleset in
// the kernel (was) and now: new chains first (map entries and rules may
// jump to them), changed chains flushed, new sets, set elements removed
// and added, the rules of new and changed chains, then removed sets and
// chains (nothing refers to them any more).
func (f *Firewall) delta(was, now *Ruleset) (int, error) {
	// A hook the kernel's tables lack is a new layout: checked before
	// anything is queued.
	for ti, t := range now.Tables {
		for _, c := range t.Chains {
			if c.Hook != nil && !slices.ContainsFunc(was.Tables[ti].Chains, func(o *Chain) bool { return o.Name == c.Name }) {
				return 0, errNewBaseChain
			}
		}
	}
	n := 0
	var setID uint32
	for ti, t := range now.Tables {
		old := was.Tables[ti]
		nt := &nftables.Table{Family: t.Family, Name: t.Name}
		oldChains := map[string]*Chain{}
		for _, c := range old.Chains {
			oldChains[c.Name] = c
		}
		newChains := map[string]bool{}
		var fill []*Chain
		chains := map[string]*nftables.Chain{}
		for _, c := range t.Chains {
			newChains[c.Name] = true
			nc := &nftables.Chain{Table: nt, Name: c.Name}
			chains[c.Name] = nc
			oc, existed := oldChains[c.Name]
			switch {
			case !existed:
				f.conn.AddChain(nc)
				n++
				fill = append(fill, c)
			case !reflect.DeepEqual(oc.Rules, c.Rules):
				f.conn.FlushChain(nc)
				n++
				fill = append(fill, c)
			}
		}
		oldSets := map[string]*Set{}
		for _, s := range old.Sets {
			oldSets[s.Name] = s
		}
		b := &builder{sets: map[string]*nftables.Set{}}
		newSets := map[string]bool{}
		for _, s := range t.Sets {
			newSets[s.Name] = true
			ns := s.netlinkSet(nt)
			b.sets[s.Name] = ns
			os, existed := oldSets[s.Name]
			if !existed {
				setID++
				ns.ID = setID
				if err := f.addElements(ns, s.elements(), true); err != nil {
					return 0, fmt.Errorf("set %s: %w", s.Name, err)
				}
				n += 1 + s.size()
				continue
			}
			// Deletions first: a changed interval or a key jumping
			// elsewhere is deleted and added again.
			add, del := diffElements(os, s)
			for c := range slices.Chunk(del, elementsPerMessage) {
				if err := f.conn.SetDeleteElements(ns, c); err != nil {
					return 0, fmt.Errorf("set %s: %w", s.Name, err)
				}
			}
			if err := f.addElements(ns, add, false); err != nil {
				return 0, fmt.Errorf("set %s: %w", s.Name, err)
			}
			n += intervals(add) + intervals(del)
		}
		for _, c := range fill {
			for _, r := range c.Rules {
				f.conn.AddRule(&nftables.Rule{Table: nt, Chain: chains[c.Name], Exprs: r.exprs(b)})
				n++
			}
		}
		// Removed chains are emptied first, so that neither the sets
		// their rules look up nor the chains they jump to are in use
		// when those go.
		var gone []*nftables.Chain
		for _, c := range old.Chains {
			if !newChains[c.Name] {
				nc := &nftables.Chain{Table: nt, Name: c.Name}
				gone = append(gone, nc)
				f.conn.FlushChain(nc)
				n++
			}
		}
		for _, s := range old.Sets {
			if !newSets[s.Name] {
				f.conn.DelSet(s.netlinkSet(nt))
				n++
			}
		}
		for _, nc := range gone {
			f.conn.DelChain(nc)
		}
	}
	if n == 0 {
		return 0, nil
	}
	f.batch.Store(int64(n))
	if err := f.conn.Flush(); err != nil {
		return 0, fmt.Errorf("updating the %s tables: %w", TableName, err)
	}
	return n, nil
}

// netlinkSet is the library's description of s in table t.
func (s *Set) netlinkSet(t *nftables.Table) *nftables.Set {
	ns := &nftables.Set{Table: t, Name: s.Name, KeyType: s.keyType()}
	switch s.Kind {
	case SetIPv4, SetIPv6:
		ns.Interval = true
	case MapIfname, MapMark:
		ns.IsMap, ns.DataType = true, nftables.TypeVerdict
		if s.Kind == MapMark {
			ns.KeyByteOrder = binaryutil.NativeEndian
		}
	}
	return ns
}

// size counts a set's entries (intervals or map keys).
func (s *Set) size() int { return len(s.Prefixes) + len(s.Elems) }

// diffElements are the elements to add to and delete from was to make
// it now.
func diffElements(was, now *Set) (add, del []nftables.SetElement) {
	switch now.Kind {
	case SetIPv4, SetIPv6:
		a, b := ranges(was.Prefixes), ranges(now.Prefixes)
		for _, r := range a {
			if !slices.Contains(b, r) {
				del = append(del, r.elements()...)
			}
		}
		for _, r := range b {
			if !slices.Contains(a, r) {
				add = append(add, r.elements()...)
			}
		}
		return add, del
	}
	olds := map[MapElem]bool{}
	for _, e := range was.Elems {
		olds[e] = true
	}
	news := map[MapElem]bool{}
	for _, e := range now.Elems {
		news[e] = true
	}
	pick := func(s *Set, es []MapElem, keep map[MapElem]bool) []nftables.SetElement {
		x := &Set{Kind: s.Kind}
		for _, e := range es {
			if !keep[e] {
				x.Elems = append(x.Elems, e)
			}
		}
		return x.elements()
	}
	return pick(now, now.Elems, olds), pick(was, was.Elems, news)
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
