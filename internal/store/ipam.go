package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// IP address management tables. Addresses are 16-byte big-endian keys
// (IPv4 as IPv4-mapped IPv6), compared bytewise by both engines.

// Key is an address as 16 big-endian bytes.
type Key [16]byte

// Next is the address after k.
func (k Key) Next() Key {
	for i := 15; i >= 0; i-- {
		k[i]++
		if k[i] != 0 {
			break
		}
	}
	return k
}

// Prev is the address before k.
func (k Key) Prev() Key {
	for i := 15; i >= 0; i-- {
		k[i]--
		if k[i] != 0xff {
			break
		}
	}
	return k
}

// KeyRange is an inclusive range of free addresses.
type KeyRange struct{ First, Last Key }

// ErrAddressTaken is returned when an address is already allocated on the
// subnet.
var ErrAddressTaken = errors.New("address already allocated")

// ErrSubnetFull is returned when a subnet has no free address left.
var ErrSubnetFull = errors.New("no free address")

// SetFreeRanges replaces the free ranges of a subnet.
func (tx *Tx) SetFreeRanges(ctx context.Context, subnetID string, ranges []KeyRange) error {
	if _, err := tx.exec(ctx, "DELETE FROM ip_availability_ranges WHERE subnet_id = ?", subnetID); err != nil {
		return fmt.Errorf("clear free ranges of subnet %s: %w", subnetID, err)
	}
	for _, r := range ranges {
		if bytes.Compare(r.First[:], r.Last[:]) > 0 {
			continue
		}
		if _, err := tx.exec(ctx, "INSERT INTO ip_availability_ranges (subnet_id, first_ip, last_ip) VALUES (?, ?, ?)",
			subnetID, r.First[:], r.Last[:]); err != nil {
			return fmt.Errorf("store free range of subnet %s: %w", subnetID, err)
		}
	}
	return nil
}

// AllocatedKeys returns the allocated addresses of a subnet.
func (tx *Tx) AllocatedKeys(ctx context.Context, subnetID string) ([]Key, error) {
	rows, err := tx.query(ctx, "SELECT ip_key FROM ip_allocations WHERE subnet_id = ? ORDER BY ip_key", subnetID)
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

// LockSubnets locks the rows of the given subnets until the transaction
// ends, in id order so that transactions locking several subnets cannot
// deadlock one another, and returns the first id that names no subnet
// ("" when all exist).
//
// Every change to a subnet's free ranges and allocations happens under
// this lock: TakeFree, TakeSpecific and ReturnFree take it themselves
// when the transaction does not hold it yet. Concurrent allocations on one
// subnet therefore queue on a row that never goes away, and each sees the
// ranges its predecessor committed (PostgreSQL's READ COMMITTED gives
// every statement a fresh snapshot once the lock is granted). Locking
// range rows instead would not do: a range row a waiter queued on may be
// deleted by the holder, and the waiter's query then finds nothing
// although free addresses remain. Updates and deletes of a subnet lock
// the same row (they read it FOR UPDATE), so free ranges are never
// recomputed under an allocation's feet.
//
// SQLite runs one writer at a time and needs no row locks.
func (tx *Tx) LockSubnets(ctx context.Context, ids ...string) (missing string, err error) {
	if tx.s.dialect.forUpdate() == "" {
		return "", nil
	}
	var want []string
	for _, id := range ids {
		if !tx.subnetLocks[id] && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return "", nil
	}
	slices.Sort(want)
	args := make([]any, len(want))
	for i, id := range want {
		args[i] = id
	}
	rows, err := tx.query(ctx, "SELECT id FROM subnets WHERE id IN ("+placeholders(len(want))+") ORDER BY id"+
		tx.s.dialect.forUpdate(), args...)
	if err != nil {
		return "", fmt.Errorf("lock subnets: %w", err)
	}
	defer rows.Close()
	if tx.subnetLocks == nil {
		tx.subnetLocks = map[string]bool{}
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		tx.subnetLocks[id] = true
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("lock subnets: %w", err)
	}
	for _, id := range want {
		if !tx.subnetLocks[id] {
			return id, nil
		}
	}
	return "", nil
}

// lockSubnet takes the subnet's lock (LockSubnets) unless the transaction
// holds it; a subnet that no longer exists is ErrNotFound.
func (tx *Tx) lockSubnet(ctx context.Context, subnetID string) error {
	if tx.subnetLocks[subnetID] {
		return nil
	}
	missing, err := tx.LockSubnets(ctx, subnetID)
	if err != nil {
		return err
	}
	if missing != "" {
		return fmt.Errorf("subnet %s: %w", missing, ErrNotFound)
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// TakeFree removes and returns the lowest free address of a subnet, or
// ErrSubnetFull. It costs the same few indexed statements however many
// addresses the subnet has handed out: the free ranges are a table keyed
// by their first address, and the lowest is the first index entry.
func (tx *Tx) TakeFree(ctx context.Context, subnetID string) (Key, error) {
	if err := tx.lockSubnet(ctx, subnetID); err != nil {
		return Key{}, err
	}
	r, ok, err := tx.freeRange(ctx, "SELECT first_ip, last_ip FROM ip_availability_ranges WHERE subnet_id = ? ORDER BY first_ip LIMIT 1", subnetID)
	if err != nil {
		return Key{}, err
	}
	if !ok {
		return Key{}, ErrSubnetFull
	}
	if err := tx.shrinkRange(ctx, subnetID, r, r.First); err != nil {
		return Key{}, err
	}
	return r.First, nil
}

// TakeSpecific removes k from the subnet's free ranges if it lies in one,
// reporting whether it did (an address outside the allocation pools, or
// already allocated, is in none).
func (tx *Tx) TakeSpecific(ctx context.Context, subnetID string, k Key) (bool, error) {
	if err := tx.lockSubnet(ctx, subnetID); err != nil {
		return false, err
	}
	r, ok, err := tx.freeRange(ctx, "SELECT first_ip, last_ip FROM ip_availability_ranges WHERE subnet_id = ? AND first_ip <= ? ORDER BY first_ip DESC LIMIT 1",
		subnetID, k[:])
	if err != nil || !ok || bytes.Compare(r.Last[:], k[:]) < 0 {
		return false, err
	}
	return true, tx.shrinkRange(ctx, subnetID, r, k)
}

// freeRange reads at most one free range.
func (tx *Tx) freeRange(ctx context.Context, q string, args ...any) (KeyRange, bool, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return KeyRange{}, false, fmt.Errorf("read free ranges: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return KeyRange{}, false, rows.Err()
	}
	var first, last []byte
	if err := rows.Scan(&first, &last); err != nil {
		return KeyRange{}, false, err
	}
	var r KeyRange
	copy(r.First[:], first)
	copy(r.Last[:], last)
	return r, true, rows.Err()
}

// shrinkRange removes k, which lies in r, from the free ranges, in one
// statement unless k splits r in two.
func (tx *Tx) shrinkRange(ctx context.Context, subnetID string, r KeyRange, k Key) error {
	var err error
	switch {
	case k == r.First && k == r.Last:
		_, err = tx.exec(ctx, "DELETE FROM ip_availability_ranges WHERE subnet_id = ? AND first_ip = ?", subnetID, r.First[:])
	case k == r.First:
		_, err = tx.exec(ctx, "UPDATE ip_availability_ranges SET first_ip = ? WHERE subnet_id = ? AND first_ip = ?",
			k.Next().slice(), subnetID, r.First[:])
	case k == r.Last:
		_, err = tx.exec(ctx, "UPDATE ip_availability_ranges SET last_ip = ? WHERE subnet_id = ? AND first_ip = ?",
			k.Prev().slice(), subnetID, r.First[:])
	default:
		if _, err = tx.exec(ctx, "UPDATE ip_availability_ranges SET last_ip = ? WHERE subnet_id = ? AND first_ip = ?",
			k.Prev().slice(), subnetID, r.First[:]); err == nil {
			_, err = tx.exec(ctx, "INSERT INTO ip_availability_ranges (subnet_id, first_ip, last_ip) VALUES (?, ?, ?)",
				subnetID, k.Next().slice(), r.Last[:])
		}
	}
	if err != nil {
		return fmt.Errorf("take address from subnet %s: %w", subnetID, err)
	}
	return nil
}

// ReturnFree gives k back to the subnet's free ranges, merging it with the
// ranges next to it so the table stays small. Both neighbours are found
// through the primary key; an address already free is left alone.
func (tx *Tx) ReturnFree(ctx context.Context, subnetID string, k Key) error {
	if err := tx.lockSubnet(ctx, subnetID); err != nil {
		return err
	}
	before, hasBefore, err := tx.freeRange(ctx, "SELECT first_ip, last_ip FROM ip_availability_ranges WHERE subnet_id = ? AND first_ip <= ? ORDER BY first_ip DESC LIMIT 1",
		subnetID, k[:])
	if err != nil {
		return err
	}
	if hasBefore && bytes.Compare(before.Last[:], k[:]) >= 0 {
		return nil // already free
	}
	hasBefore = hasBefore && before.Last.Next() == k
	after, hasAfter := KeyRange{}, false
	if k != (Key{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		if after, hasAfter, err = tx.freeRange(ctx, "SELECT first_ip, last_ip FROM ip_availability_ranges WHERE subnet_id = ? AND first_ip = ?",
			subnetID, k.Next().slice()); err != nil {
			return err
		}
	}
	switch {
	case hasBefore && hasAfter:
		if _, err = tx.exec(ctx, "DELETE FROM ip_availability_ranges WHERE subnet_id = ? AND first_ip = ?", subnetID, after.First[:]); err == nil {
			_, err = tx.exec(ctx, "UPDATE ip_availability_ranges SET last_ip = ? WHERE subnet_id = ? AND first_ip = ?",
				after.Last[:], subnetID, before.First[:])
		}
	case hasBefore:
		_, err = tx.exec(ctx, "UPDATE ip_availability_ranges SET last_ip = ? WHERE subnet_id = ? AND first_ip = ?",
			k[:], subnetID, before.First[:])
	case hasAfter:
		_, err = tx.exec(ctx, "UPDATE ip_availability_ranges SET first_ip = ? WHERE subnet_id = ? AND first_ip = ?",
			k[:], subnetID, after.First[:])
	default:
		_, err = tx.exec(ctx, "INSERT INTO ip_availability_ranges (subnet_id, first_ip, last_ip) VALUES (?, ?, ?)",
			subnetID, k[:], k[:])
	}
	if err != nil {
		return fmt.Errorf("return address to subnet %s: %w", subnetID, err)
	}
	return nil
}

func (k Key) slice() []byte { return k[:] }

// Allocation is one address held by a port.
type Allocation struct {
	PortID, SubnetID, NetworkID, IPAddress string
	Key                                    Key
}

// AddAllocation records that a port holds an address; ErrAddressTaken if
// another port holds it.
func (tx *Tx) AddAllocation(ctx context.Context, a Allocation) error {
	_, err := tx.exec(ctx, "INSERT INTO ip_allocations (port_id, subnet_id, network_id, ip_address, ip_key) VALUES (?, ?, ?, ?, ?)",
		a.PortID, a.SubnetID, a.NetworkID, a.IPAddress, a.Key[:])
	if errors.Is(err, ErrDuplicate) {
		return ErrAddressTaken
	}
	if err != nil {
		return fmt.Errorf("allocate %s on subnet %s: %w", a.IPAddress, a.SubnetID, err)
	}
	return nil
}

// RemoveAllocation forgets that a port holds an address.
func (tx *Tx) RemoveAllocation(ctx context.Context, portID, subnetID string, k Key) error {
	if _, err := tx.exec(ctx, "DELETE FROM ip_allocations WHERE port_id = ? AND subnet_id = ? AND ip_key = ?",
		portID, subnetID, k[:]); err != nil {
		return fmt.Errorf("release address of port %s: %w", portID, err)
	}
	return nil
}

// PortAllocations returns the addresses a port holds.
func (tx *Tx) PortAllocations(ctx context.Context, portID string) ([]Allocation, error) {
	return tx.allocations(ctx, "port_id", portID)
}

// SubnetAllocations returns the addresses held on a subnet.
func (tx *Tx) SubnetAllocations(ctx context.Context, subnetID string) ([]Allocation, error) {
	return tx.allocations(ctx, "subnet_id", subnetID)
}

func (tx *Tx) allocations(ctx context.Context, col, val string) ([]Allocation, error) {
	rows, err := tx.query(ctx, "SELECT port_id, subnet_id, network_id, ip_address, ip_key FROM ip_allocations WHERE "+col+" = ? ORDER BY ip_key", val)
	if err != nil {
		return nil, fmt.Errorf("read allocations by %s: %w", col, err)
	}
	defer rows.Close()
	var out []Allocation
	for rows.Next() {
		var a Allocation
		var key []byte
		if err := rows.Scan(&a.PortID, &a.SubnetID, &a.NetworkID, &a.IPAddress, &key); err != nil {
			return nil, err
		}
		copy(a.Key[:], key)
		out = append(out, a)
	}
	return out, rows.Err()
}

// LockRow locks the row of collection with id until the transaction ends
// (PostgreSQL; SQLite serializes writers anyway), reporting whether it
// exists. Plugins use it to serialize changes that span rows, such as
// subnet allocation from one subnet pool.
func (tx *Tx) LockRow(ctx context.Context, collection, id string) (bool, error) {
	rows, err := tx.query(ctx, "SELECT id FROM "+tableName(collection)+" WHERE id = ?"+tx.s.dialect.forUpdate(), id)
	if err != nil {
		return false, fmt.Errorf("lock %s %s: %w", collection, id, err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// Strings returns column col of collection's rows whose whereCol equals
// val, or of every row when whereCol is empty; plugins use it for small
// lookups (the CIDRs of a network's subnets).
func (tx *Tx) Strings(ctx context.Context, collection, col, whereCol string, val any) ([]string, error) {
	q, args := "SELECT "+col+" FROM "+tableName(collection), []any(nil)
	if whereCol != "" {
		q, args = q+" WHERE "+whereCol+" = ?", []any{val}
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", collection, col, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CountWhere counts collection's rows whose columns equal the given
// values.
func (tx *Tx) CountWhere(ctx context.Context, collection string, eq map[string]any) (int, error) {
	var conds []string
	var args []any
	for col, v := range eq {
		conds = append(conds, col+" = ?")
		args = append(args, v)
	}
	q := "SELECT COUNT(*) FROM " + tableName(collection)
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", collection, err)
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

// NetworkScope is an address scope a network's subnets belong to.
type NetworkScope struct {
	IPVersion int
	ScopeID   string
}

// NetworkAddressScopes maps network ids to the address scopes of the
// subnet pools their subnets come from, in one query.
func (tx *Tx) NetworkAddressScopes(ctx context.Context) (map[string][]NetworkScope, error) {
	rows, err := tx.query(ctx, `SELECT DISTINCT s.network_id, p.ip_version, p.address_scope_id
		FROM subnets s JOIN subnetpools p ON p.id = s.subnetpool_id
		WHERE p.address_scope_id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read network address scopes: %w", err)
	}
	defer rows.Close()
	out := map[string][]NetworkScope{}
	for rows.Next() {
		var netID, scopeID string
		var v int
		if err := rows.Scan(&netID, &v, &scopeID); err != nil {
			return nil, err
		}
		out[netID] = append(out[netID], NetworkScope{IPVersion: v, ScopeID: scopeID})
	}
	return out, rows.Err()
}

// AllocationCounts maps subnet ids to their number of allocated
// addresses, in one query.
func (tx *Tx) AllocationCounts(ctx context.Context) (map[string]int, error) {
	rows, err := tx.query(ctx, "SELECT subnet_id, COUNT(*) FROM ip_allocations GROUP BY subnet_id")
	if err != nil {
		return nil, fmt.Errorf("count allocations: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// LockName takes a transaction-scoped lock on an arbitrary name
// (PostgreSQL's advisory locks; SQLite serializes writers anyway), so that
// a check and the write it guards are atomic across servers: a port's MAC
// is checked free on its network and then stored, and a concurrent
// request for the same MAC waits, then sees it taken.
func (tx *Tx) LockName(ctx context.Context, name string) error {
	if tx.s.dialect.name() != "postgresql" {
		return nil
	}
	rows, err := tx.query(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", name)
	if err != nil {
		return fmt.Errorf("lock %q: %w", name, err)
	}
	return rows.Close()
}

// LockNames is LockName for many names, in one statement and in one
// (sorted) order, so two transactions locking overlapping sets cannot
// deadlock.
func (tx *Tx) LockNames(ctx context.Context, names []string) error {
	if tx.s.dialect.name() != "postgresql" || len(names) == 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(names))
	// unnest yields the array in order, and each row takes its lock in turn.
	rows, err := tx.query(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(n, 0)) FROM unnest(?::text[]) AS n", sorted)
	if err != nil {
		return fmt.Errorf("lock %d names: %w", len(names), err)
	}
	return rows.Close()
}
