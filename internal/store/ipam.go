package store

import (
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
	tx.returnedAfterCommit(subnetID, k)
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
	tx.forgetFacts()
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
// subnet pools their subnets come from, for the networks given.
func (tx *Tx) NetworkAddressScopes(ctx context.Context, networkIDs []string) (map[string][]NetworkScope, error) {
	out := map[string][]NetworkScope{}
	// One query per chunk of ids, each reading only its networks' subnets
	// (subnets_network_id): the cost follows the networks asked for, not
	// every network in the cloud.
	for chunk := range slices.Chunk(networkIDs, maxInList) {
		rows, err := tx.query(ctx, `SELECT DISTINCT s.network_id, p.ip_version, p.address_scope_id
		FROM subnets s JOIN subnetpools p ON p.id = s.subnetpool_id
		WHERE s.network_id IN (`+placeholders(len(chunk))+`) AND p.address_scope_id IS NOT NULL`, anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("read network address scopes: %w", err)
		}
		for rows.Next() {
			var netID, scopeID string
			var v int
			if err := rows.Scan(&netID, &v, &scopeID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read network address scopes: %w", err)
			}
			out[netID] = append(out[netID], NetworkScope{IPVersion: v, ScopeID: scopeID})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read network address scopes: %w", err)
		}
	}
	return out, nil
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
	tx.forgetFacts()
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
	tx.forgetFacts()
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

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
