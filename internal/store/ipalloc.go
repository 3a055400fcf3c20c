package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Address allocation without a lock per subnet.
//
// An address belongs to a port once its ip_allocations row exists: the
// row's primary key (subnet_id, ip_key) lets exactly one transaction
// insert it, and an insert that finds the key taken does nothing
// (INSERT … ON CONFLICT DO NOTHING) and tries another candidate, as
// Neutron's IPAM picks a free address and retries when it loses it. On
// PostgreSQL an insert that meets a key another open transaction inserted
// waits for that transaction to end, so the last free address goes to
// exactly one of the transactions that want it.
//
// Candidates come from a small window per subnet and process (ipWindow):
// the lowest free addresses from a cursor on, read from the allocations'
// primary key in one indexed scan and handed to this process's
// transactions one each, lowest first, so concurrent creates in one
// process never try the same address and a quiet subnet hands out its
// addresses in order, as before. Another process may try an address of
// the same window; one of the two inserts wins and the other moves on.
//
// What the subnet's row lock used to protect, its allocation pools and
// its existence, now takes a shared lock on the subnet (ShareSubnets, an
// advisory lock on PostgreSQL): allocations on one subnet run side by
// side, while an update or delete of the subnet, which takes the lock
// exclusively (LockSubnet), waits for them and they for it, and an
// allocation that waited reads the pools the update committed.

// windowSize is how many candidate addresses one scan collects.
const windowSize = 64

// scanBatch is how many allocation keys one query of a scan reads.
const scanBatch = 512

// maxClaims bounds the candidates one allocation tries before giving up.
const maxClaims = 10000

// maxWindows bounds how many subnets' windows a process keeps. A window
// is dropped when its subnet is deleted by this process (ForgetSubnet),
// but a subnet deleted by another server, or merely no longer used, would
// keep its window for good; past the bound the least recently used idle
// windows go. Dropping one is always safe: its addresses are found again
// by the next scan, and a claim it held still settles on the dropped
// window, while the allocation row's key keeps an address from being
// taken twice.
const maxWindows = 4096

// ipWindow is one subnet's candidates in this process.
type ipWindow struct {
	mu    sync.Mutex
	pools []KeyRange // the pools the window was filled for, ascending
	// free are candidates believed free, ascending; none is claimed.
	free []Key
	// claimed are candidates this process's open transactions hold.
	claimed map[Key]bool
	// cursor is where the next scan starts; addresses below it were
	// allocated when the window passed them (this process's own releases
	// go back into free; other processes' are found when a scan wraps).
	cursor Key
	// used is when the window was last asked for, in ipWindows.clock
	// ticks (guarded by ipWindows.mu).
	used uint64
}

type ipWindows struct {
	mu    sync.Mutex
	m     map[string]*ipWindow
	clock uint64
	// max is the bound, maxWindows unless a test set another.
	max int
}

// window returns the subnet's window, emptied when its pools changed.
func (s *Store) window(subnetID string, pools []KeyRange) *ipWindow {
	s.ipWindows.mu.Lock()
	if s.ipWindows.m == nil {
		s.ipWindows.m = map[string]*ipWindow{}
	}
	w := s.ipWindows.m[subnetID]
	if w == nil {
		if s.ipWindows.max == 0 {
			s.ipWindows.max = maxWindows
		}
		if len(s.ipWindows.m) >= s.ipWindows.max {
			s.ipWindows.evict()
		}
		w = &ipWindow{claimed: map[Key]bool{}}
		s.ipWindows.m[subnetID] = w
	}
	s.ipWindows.clock++
	w.used = s.ipWindows.clock
	s.ipWindows.mu.Unlock()
	w.mu.Lock()
	if !slices.Equal(w.pools, pools) {
		w.pools = slices.Clone(pools)
		w.free = nil
		if len(pools) > 0 {
			w.cursor = pools[0].First
		}
	}
	w.mu.Unlock()
	return w
}

// evict drops the least recently used idle windows (no claim, not being
// filled) until a quarter of the bound is free, so that a burst of new
// subnets sorts the windows once per a quarter of the bound of them. The caller
// holds ws.mu.
func (ws *ipWindows) evict() {
	type aged struct {
		id   string
		used uint64
	}
	idle := make([]aged, 0, len(ws.m))
	for id, w := range ws.m {
		if !w.mu.TryLock() {
			continue // a transaction is taking from it or filling it
		}
		if len(w.claimed) == 0 {
			idle = append(idle, aged{id, w.used})
		}
		w.mu.Unlock()
	}
	slices.SortFunc(idle, func(a, b aged) int { return cmp.Compare(a.used, b.used) })
	for _, a := range idle {
		if len(ws.m) <= ws.max-max(1, ws.max/4) {
			break
		}
		delete(ws.m, a.id)
	}
}

// sortedPools returns the pools in address order, empty ones left out.
func sortedPools(pools []KeyRange) []KeyRange {
	out := make([]KeyRange, 0, len(pools))
	for _, r := range pools {
		if bytes.Compare(r.First[:], r.Last[:]) <= 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b KeyRange) int { return bytes.Compare(a.First[:], b.First[:]) })
	return out
}

func (w *ipWindow) inPools(k Key) bool {
	for _, r := range w.pools {
		if bytes.Compare(r.First[:], k[:]) <= 0 && bytes.Compare(k[:], r.Last[:]) <= 0 {
			return true
		}
	}
	return false
}

// insertFree puts k into free, keeping it ascending and without repeats.
func (w *ipWindow) insertFree(k Key) {
	i, found := slices.BinarySearchFunc(w.free, k, func(a, b Key) int { return bytes.Compare(a[:], b[:]) })
	if !found {
		w.free = slices.Insert(w.free, i, k)
	}
}

// take claims the lowest candidate, scanning for more when there are
// none; ErrSubnetFull when the pools hold no address that is neither
// allocated nor claimed.
func (w *ipWindow) take(ctx context.Context, tx *Tx, subnetID string) (Key, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.free) == 0 {
		if err := w.fill(ctx, tx, subnetID); err != nil {
			return Key{}, err
		}
		if len(w.free) == 0 {
			return Key{}, ErrSubnetFull
		}
	}
	k := w.free[0]
	w.free = w.free[1:]
	w.claimed[k] = true
	return k, nil
}

// settle ends a claim: a committed address is allocated, a rolled back
// one is a candidate again.
func (w *ipWindow) settle(k Key, keep bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.claimed, k)
	if keep && w.inPools(k) {
		w.insertFree(k)
	}
}

// released makes an address this process freed a candidate again.
func (w *ipWindow) released(k Key) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.claimed[k] && w.inPools(k) {
		w.insertFree(k)
	}
}

// fill collects up to windowSize free, unclaimed addresses of the pools
// from the cursor on, and from the pools' start when that finds none.
func (w *ipWindow) fill(ctx context.Context, tx *Tx, subnetID string) error {
	if len(w.pools) == 0 {
		return nil
	}
	start := w.pools[0].First
	from := w.cursor
	for pass := 0; pass < 2 && len(w.free) == 0; pass++ {
		if pass == 1 {
			if from == start {
				break
			}
			from = start
		}
		if err := w.scan(ctx, tx, subnetID, from); err != nil {
			return err
		}
	}
	return nil
}

// scan walks the pools from `from` on, next to the subnet's allocations
// in key order, adding the gaps to free until the window is full.
func (w *ipWindow) scan(ctx context.Context, tx *Tx, subnetID string, from Key) error {
	less := func(a, b Key) bool { return bytes.Compare(a[:], b[:]) < 0 }
	// add takes k as a candidate; it reports whether the window is full.
	add := func(k Key) bool {
		if !w.claimed[k] {
			w.free = append(w.free, k)
		}
		if len(w.free) >= windowSize {
			w.cursor = k.Next()
			return true
		}
		return false
	}
	for _, r := range w.pools {
		if less(r.Last, from) {
			continue
		}
		next := r.First
		if less(next, from) {
			next = from
		}
		for {
			keys, err := tx.allocatedFrom(ctx, subnetID, next, r.Last)
			if err != nil {
				return err
			}
			poolDone := false
			for _, k := range keys {
				for less(next, k) {
					if add(next) {
						return nil
					}
					next = next.Next()
				}
				if k == r.Last {
					poolDone = true
					break
				}
				next = k.Next()
			}
			if poolDone {
				break
			}
			if len(keys) < scanBatch {
				// No allocation between next and the pool's end.
				for {
					if add(next) {
						return nil
					}
					if next == r.Last {
						break
					}
					next = next.Next()
				}
				break
			}
		}
	}
	// Every pool scanned to its end: start over from the beginning next
	// time.
	w.cursor = w.pools[0].First
	return nil
}

// allocatedFrom reads up to scanBatch allocated keys of a subnet from
// first to last, ascending.
func (tx *Tx) allocatedFrom(ctx context.Context, subnetID string, first, last Key) ([]Key, error) {
	rows, err := tx.query(ctx, "SELECT ip_key FROM ip_allocations WHERE subnet_id = ? AND ip_key >= ? AND ip_key <= ? ORDER BY ip_key LIMIT ?",
		subnetID, first[:], last[:], scanBatch)
	if err != nil {
		return nil, fmt.Errorf("read allocations of subnet %s: %w", subnetID, err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var k Key
		copy(k[:], b)
		out = append(out, k)
	}
	return out, rows.Err()
}

// ShareSubnets keeps the given subnets from changing until the
// transaction ends and returns each one's allocation_pools as stored, by
// id; a subnet that does not exist is absent. Allocations share the lock,
// a subnet's update or delete takes it exclusively (LockSubnet), and the
// pools are read once the lock is granted, so an allocation that waited
// for an update sees the pools the update committed.
//
// On PostgreSQL the lock is a shared advisory lock on the subnet's name,
// not FOR SHARE on its row: row locks let new sharers pass an exclusive
// locker that waits, so a steady stream of allocations on a subnet kept
// its delete waiting for a minute, while the lock manager queues a
// sharer behind a waiting exclusive request. SQLite runs one writer at a
// time and needs no lock.
func (tx *Tx) ShareSubnets(ctx context.Context, ids ...string) (map[string]string, error) {
	want := slices.Compact(slices.Sorted(slices.Values(ids)))
	out := make(map[string]string, len(want))
	if len(want) == 0 {
		return out, nil
	}
	if err := tx.lockSubnets(ctx, want, true); err != nil {
		return nil, err
	}
	if err := tx.readPools(ctx, out, "id IN ("+placeholders(len(want))+")", anys(want)...); err != nil {
		return nil, fmt.Errorf("read subnets' pools: %w", err)
	}
	return out, nil
}

// readPools adds the allocation pools of the subnets where selects to
// out, by subnet id.
func (tx *Tx) readPools(ctx context.Context, out map[string]string, where string, args ...any) error {
	rows, err := tx.query(ctx, "SELECT id, allocation_pools FROM subnets WHERE "+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, pools string
		if err := rows.Scan(&id, &pools); err != nil {
			return err
		}
		out[id] = pools
	}
	return rows.Err()
}

// ShareNetworkSubnets is ShareSubnets for every subnet of a network, and
// reads those subnets (the columns of r, the subnets resource; no tags)
// in creation order, once the locks are granted. A port create takes it
// before it inserts the port: the insert's foreign key locks the
// network's row, and a subnet delete or update takes the subnet's lock
// and then the network's row (to revise it), so taking the subnets' locks
// first keeps the two in one order instead of deadlocking. A subnet
// created after the locks were taken is left out, as if created after
// the port; ShareSubnets locks it when an allocation names it.
//
// On PostgreSQL that is one statement, a call of the function
// share_network_subnets (migration 32): it finds the subnets and takes
// their locks in id order, then reads them with a query of its own, which
// (the function being VOLATILE, under READ COMMITTED) takes its snapshot
// after the locks were granted, so what it reads is what the subnets'
// updates and deletes committed before the locks; a single plain SELECT
// would read the rows as of its start, before it waited. On SQLite,
// which needs no lock, it is one plain read.
func (tx *Tx) ShareNetworkSubnets(ctx context.Context, r *resource.Resource, networkID string) ([]*resource.Object, error) {
	t, err := tx.s.table(r)
	if err != nil {
		return nil, err
	}
	from := " FROM " + t.name + " t"
	if tx.s.dialect.name() == "postgresql" {
		from = " FROM share_network_subnets(?) t"
	} else {
		from += " WHERE t.network_id = ?"
	}
	rows, err := tx.query(ctx, "SELECT "+t.selectList+from+" ORDER BY t.created_at, t.id", networkID)
	if err != nil {
		return nil, fmt.Errorf("read subnets of network %s: %w", networkID, err)
	}
	defer rows.Close()
	return tx.scanRows(t, nil, false, rows)
}

// LockSubnet takes the subnet's lock exclusively until the transaction
// ends, waiting for the allocations that share it (ShareSubnets) and
// keeping new ones waiting. A subnet's update and delete take it before
// they lock the subnet's row.
func (tx *Tx) LockSubnet(ctx context.Context, id string) error {
	return tx.lockSubnets(ctx, []string{id}, false)
}

// lockSubnets takes the sorted subnets' advisory locks on PostgreSQL,
// shared or exclusive, in one statement and in order.
func (tx *Tx) lockSubnets(ctx context.Context, sorted []string, shared bool) error {
	if tx.s.dialect.name() != "postgresql" {
		return nil
	}
	names := make([]string, len(sorted))
	for i, id := range sorted {
		names[i] = "subnet/" + id
	}
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	// unnest yields the array in order, and each row takes its lock in turn.
	rows, err := tx.query(ctx, "SELECT "+fn+"(hashtextextended(n, 0)) FROM unnest(?::text[]) AS n", names)
	if err != nil {
		return fmt.Errorf("lock subnets %v: %w", sorted, err)
	}
	return rows.Close()
}

// TakeFree gives a port a free address of the subnet's allocation pools:
// it records a (with Key and IPAddress, named by addr, filled in) and
// returns it, or ErrSubnetFull when every address of the pools is held.
// The caller holds the subnet's shared lock (ShareSubnets) and passes the
// pools read under it.
func (tx *Tx) TakeFree(ctx context.Context, a Allocation, pools []KeyRange, addr func(Key) string) (Allocation, error) {
	pools = sortedPools(pools)
	if len(pools) == 0 {
		return a, ErrSubnetFull
	}
	w := tx.s.window(a.SubnetID, pools)
	for range maxClaims {
		k, err := w.take(ctx, tx, a.SubnetID)
		if err != nil {
			return a, err
		}
		a.Key, a.IPAddress = k, addr(k)
		res, err := tx.exec(ctx, "INSERT INTO ip_allocations (port_id, subnet_id, network_id, ip_address, ip_key) VALUES (?, ?, ?, ?, ?)"+
			" ON CONFLICT (subnet_id, ip_key) DO NOTHING", a.PortID, a.SubnetID, a.NetworkID, a.IPAddress, k[:])
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			w.settle(k, true)
			return a, fmt.Errorf("allocate %s on subnet %s: %w", a.IPAddress, a.SubnetID, err)
		}
		if n == 1 {
			tx.onEnd = append(tx.onEnd, func(committed bool) { w.settle(k, !committed) })
			return a, nil
		}
		// Another process, or a request for this very address, has it.
		w.settle(k, false)
	}
	return a, fmt.Errorf("allocate on subnet %s: %d candidate addresses all taken under us", a.SubnetID, maxClaims)
}

// ForgetSubnet drops this process's candidates of a subnet once the
// transaction deleting it commits.
func (tx *Tx) ForgetSubnet(subnetID string) {
	tx.AfterCommit(func() {
		tx.s.ipWindows.mu.Lock()
		delete(tx.s.ipWindows.m, subnetID)
		tx.s.ipWindows.mu.Unlock()
	})
}

// returnedAfterCommit makes k a candidate of this process's window again
// once the transaction that freed it commits.
func (tx *Tx) returnedAfterCommit(subnetID string, k Key) {
	tx.AfterCommit(func() {
		tx.s.ipWindows.mu.Lock()
		w := tx.s.ipWindows.m[subnetID]
		tx.s.ipWindows.mu.Unlock()
		if w != nil {
			w.released(k)
		}
	})
}

// share_network_subnets(network) takes the shared advisory locks of a
// network's subnets in id order (as lockSubnets takes them) and returns
// those subnets, read by a query whose snapshot comes after the locks:
// see ShareNetworkSubnets.
func init() {
	registerMigration(migration{32, "a network's subnets share-locked and read in one statement", []string{
		postgresOnly + `CREATE FUNCTION share_network_subnets(net TEXT) RETURNS SETOF subnets
		LANGUAGE plpgsql VOLATILE AS $$
		DECLARE
			ids TEXT[];
			id TEXT;
		BEGIN
			SELECT array_agg(s.id ORDER BY s.id COLLATE "C") INTO ids FROM subnets s WHERE s.network_id = net;
			IF ids IS NULL THEN
				RETURN;
			END IF;
			FOREACH id IN ARRAY ids LOOP
				PERFORM pg_advisory_xact_lock_shared(hashtextextended('subnet/' || id, 0));
			END LOOP;
			RETURN QUERY SELECT * FROM subnets s WHERE s.id = ANY(ids);
		END
		$$`,
	}})
}

// Free ranges are no longer kept: allocation finds free addresses next
// to the allocations themselves.
func init() {
	registerMigration(migration{28, "addresses allocated without free ranges", []string{
		`DROP TABLE ip_availability_ranges`,
	}})
}
