package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
)

// FilterThrough declares that filtering collection by the virtual
// attribute attr keeps the objects with a row of childTable whose fkCol is
// the object's id and whose col is among the filter's values (networks
// by provider:network_type: a segment of that type).
func (s *Store) FilterThrough(collection, attr, childTable, fkCol, col string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throughFilters[collection] == nil {
		s.throughFilters[collection] = map[string]relation{}
	}
	s.throughFilters[collection][attr] = relation{attr: attr, childTable: childTable, fkCol: fkCol, valueCols: []string{col}}
}

func (s *Store) throughFilter(collection, attr string) (relation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.throughFilters[collection][attr]
	return r, ok
}

// IDRange is an inclusive range of segmentation ids.
type IDRange struct{ Min, Max int }

// randomProbes is how many ids drawn at random an allocation tries before
// it asks the database for a free one: in a range mostly free (a VNI
// range) the first draw nearly always wins; in a crowded one the search
// for a free id costs one query.
const randomProbes = 3

// maxAllocationTries bounds an allocation's attempts: each failed one
// means another transaction took the id first, so a long run of failures
// only happens when concurrent creates crowd the last few free ids.
const maxAllocationTries = 200

// insertAllocation takes one id, reporting false when a row already holds
// it. No lock is taken: the primary key is the arbiter. A transaction
// inserting an id another one holds uncommitted waits for that one (and
// only that one), then sees the id taken, or free if it rolled back.
func (tx *Tx) insertAllocation(ctx context.Context, networkType, physnet string, id int) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO ml2_segment_allocations (network_type, physical_network, segmentation_id)
		VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, networkType, physnet, id)
	if err != nil {
		return false, fmt.Errorf("take %s id %d: %w", networkType, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("take %s id %d: %w", networkType, id, err)
	}
	return n == 1, nil
}

// SegmentIDTaken reports whether the segmentation id is allocated.
func (tx *Tx) SegmentIDTaken(ctx context.Context, networkType, physnet string, id int) (bool, error) {
	rows, err := tx.query(ctx, `SELECT 1 FROM ml2_segment_allocations
		WHERE network_type = ? AND physical_network = ? AND segmentation_id = ?`, networkType, physnet, id)
	if err != nil {
		return false, fmt.Errorf("read %s allocation %d: %w", networkType, id, err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// ReserveSegmentID takes a given segmentation id (a provider network's),
// reporting false when it is already taken.
func (tx *Tx) ReserveSegmentID(ctx context.Context, networkType, physnet string, id int) (bool, error) {
	return tx.insertAllocation(ctx, networkType, physnet, id)
}

// AllocateSegmentID takes a free id of the ranges, chosen at random as
// Neutron's type drivers do, reporting false when every id is taken.
// Concurrent creates, on this server or others sharing the database,
// then rarely want the same id, and none waits for a lock held by the
// others: the allocation table's primary key keeps an id from being
// handed out twice, and a lost race just draws again. Only allocated ids
// have rows, so after a few draws that hit taken ids the free id is
// searched for from a random point (one query per range).
func (tx *Tx) AllocateSegmentID(ctx context.Context, networkType, physnet string, ranges []IDRange) (int, bool, error) {
	size := 0
	for _, r := range ranges {
		if r.Max >= r.Min {
			size += r.Max - r.Min + 1
		}
	}
	if size == 0 {
		return 0, false, nil
	}
	for try := range maxAllocationTries {
		id := randomID(ranges, size)
		if try >= randomProbes {
			var ok bool
			var err error
			id, ok, err = tx.freeIDFrom(ctx, networkType, physnet, ranges, id)
			if err != nil {
				return 0, false, err
			}
			if !ok {
				return 0, false, nil
			}
		}
		ok, err := tx.insertAllocation(ctx, networkType, physnet, id)
		if err != nil {
			return 0, false, err
		}
		if ok {
			return id, true, nil
		}
	}
	return 0, false, fmt.Errorf("allocate %s id: %w", networkType, errAllocationContended)
}

// errAllocationContended is returned when every attempt to take a free id
// lost it to another transaction; the store retries the transaction.
var errAllocationContended = errors.New("every free id drawn was taken concurrently")

func isContended(err error) bool { return errors.Is(err, errAllocationContended) }

// randomID draws an id uniformly from the ranges, which hold size ids.
func randomID(ranges []IDRange, size int) int {
	n := rand.IntN(size)
	for _, r := range ranges {
		if r.Max < r.Min {
			continue
		}
		if w := r.Max - r.Min + 1; n >= w {
			n -= w
			continue
		}
		return r.Min + n
	}
	return ranges[len(ranges)-1].Max
}

// freeIDFrom finds a free id at or after start (which lies in one of the
// ranges), going on through the following ranges and wrapping around to
// the first, reporting false when the committed allocations fill every
// range.
func (tx *Tx) freeIDFrom(ctx context.Context, networkType, physnet string, ranges []IDRange, start int) (int, bool, error) {
	first := 0
	for i, r := range ranges {
		if start >= r.Min && start <= r.Max {
			first = i
			break
		}
	}
	// The range holding start is searched twice: from start, and at the
	// end of the wrap from its beginning up to start.
	for k := 0; k <= len(ranges); k++ {
		r := ranges[(first+k)%len(ranges)]
		switch {
		case r.Max < r.Min:
			continue
		case k == 0:
			r.Min = start
		case k == len(ranges):
			r.Max = start
		}
		id, ok, err := tx.lowestFree(ctx, networkType, physnet, r)
		if err != nil || ok {
			return id, ok, err
		}
	}
	return 0, false, nil
}

func (tx *Tx) lowestFree(ctx context.Context, networkType, physnet string, r IDRange) (int, bool, error) {
	taken, err := tx.SegmentIDTaken(ctx, networkType, physnet, r.Min)
	if err != nil {
		return 0, false, err
	}
	if !taken {
		return r.Min, true, nil
	}
	rows, err := tx.query(ctx, `SELECT MIN(a.segmentation_id) + 1 FROM ml2_segment_allocations a
		WHERE a.network_type = ? AND a.physical_network = ? AND a.segmentation_id >= ? AND a.segmentation_id < ?
		AND NOT EXISTS (SELECT 1 FROM ml2_segment_allocations b
			WHERE b.network_type = a.network_type AND b.physical_network = a.physical_network
			AND b.segmentation_id = a.segmentation_id + 1)`, networkType, physnet, r.Min, r.Max)
	if err != nil {
		return 0, false, fmt.Errorf("find free %s id: %w", networkType, err)
	}
	defer rows.Close()
	var next sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&next); err != nil {
			return 0, false, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	if !next.Valid || int(next.Int64) > r.Max {
		return 0, false, nil
	}
	return int(next.Int64), true, nil
}

// ReleaseSegmentID frees a segmentation id.
func (tx *Tx) ReleaseSegmentID(ctx context.Context, networkType, physnet string, id int) error {
	if _, err := tx.exec(ctx, `DELETE FROM ml2_segment_allocations
		WHERE network_type = ? AND physical_network = ? AND segmentation_id = ?`, networkType, physnet, id); err != nil {
		return fmt.Errorf("release %s id %d: %w", networkType, id, err)
	}
	return nil
}

// PortBindingLevel is the segment a port is bound with on a host.
type PortBindingLevel struct {
	PortID, Host, SegmentID, Driver string
}

// SetPortBindingLevel records (or, with an empty segment, clears) the
// segment a port is bound with.
func (tx *Tx) SetPortBindingLevel(ctx context.Context, l PortBindingLevel) error {
	if _, err := tx.exec(ctx, "DELETE FROM ml2_port_binding_levels WHERE port_id = ?", l.PortID); err != nil {
		return fmt.Errorf("clear binding of port %s: %w", l.PortID, err)
	}
	if l.SegmentID == "" {
		return nil
	}
	if _, err := tx.exec(ctx, "INSERT INTO ml2_port_binding_levels (port_id, host, segment_id, driver) VALUES (?, ?, ?, ?)",
		l.PortID, l.Host, l.SegmentID, l.Driver); err != nil {
		return fmt.Errorf("bind port %s: %w", l.PortID, err)
	}
	return nil
}

// PortBindingLevels returns the binding levels of the given ports, or of
// every port bound on host when ids is empty and host is not.
func (tx *Tx) PortBindingLevels(ctx context.Context, host string, ids ...string) (map[string]PortBindingLevel, error) {
	q := "SELECT port_id, host, segment_id, driver FROM ml2_port_binding_levels"
	var args []any
	switch {
	case len(ids) > maxInList:
		out := map[string]PortBindingLevel{}
		for chunk := range slices.Chunk(ids, maxInList) {
			part, err := tx.PortBindingLevels(ctx, "", chunk...)
			if err != nil {
				return nil, err
			}
			maps.Copy(out, part)
		}
		return out, nil
	case len(ids) > 0:
		q += " WHERE port_id IN (" + placeholders(len(ids)) + ")"
		args = anys(ids)
	case host != "":
		q += " WHERE host = ?"
		args = append(args, host)
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read port binding levels: %w", err)
	}
	defer rows.Close()
	out := map[string]PortBindingLevel{}
	for rows.Next() {
		var l PortBindingLevel
		var seg sql.NullString
		if err := rows.Scan(&l.PortID, &l.Host, &seg, &l.Driver); err != nil {
			return nil, err
		}
		l.SegmentID = seg.String
		out[l.PortID] = l
	}
	return out, rows.Err()
}

// AddProvisioningBlock records that entity must report before the object
// is provisioned; adding it twice is harmless.
func (tx *Tx) AddProvisioningBlock(ctx context.Context, objectID, entity string) error {
	if err := tx.LockName(ctx, "provisioning:"+objectID); err != nil {
		return err
	}
	n, err := tx.CountWhere(ctx, "provisioning_blocks", map[string]any{"object_id": objectID, "entity": entity})
	if err != nil || n > 0 {
		return err
	}
	if _, err := tx.exec(ctx, "INSERT INTO provisioning_blocks (object_id, entity) VALUES (?, ?)", objectID, entity); err != nil {
		return fmt.Errorf("add provisioning block %s of %s: %w", entity, objectID, err)
	}
	return nil
}

// RemoveProvisioningBlock removes entity's block and returns how many
// blocks of the object remain.
func (tx *Tx) RemoveProvisioningBlock(ctx context.Context, objectID, entity string) (int, error) {
	if err := tx.LockName(ctx, "provisioning:"+objectID); err != nil {
		return 0, err
	}
	q, args := "DELETE FROM provisioning_blocks WHERE object_id = ?", []any{objectID}
	if entity != "" {
		q, args = q+" AND entity = ?", append(args, entity)
	}
	if _, err := tx.exec(ctx, q, args...); err != nil {
		return 0, fmt.Errorf("remove provisioning block %s of %s: %w", entity, objectID, err)
	}
	return tx.CountWhere(ctx, "provisioning_blocks", map[string]any{"object_id": objectID})
}

// RemoveProvisioningBlocks removes entity's blocks of the given objects
// and returns those still blocked by another entity.
func (tx *Tx) RemoveProvisioningBlocks(ctx context.Context, objectIDs []string, entity string) (map[string]bool, error) {
	ids := slices.Sorted(slices.Values(objectIDs))
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = "provisioning:" + id
	}
	if err := tx.LockNames(ctx, names); err != nil {
		return nil, err
	}
	blocked := map[string]bool{}
	for chunk := range slices.Chunk(ids, maxInList) {
		in := "object_id IN (" + placeholders(len(chunk)) + ")"
		if _, err := tx.exec(ctx, "DELETE FROM provisioning_blocks WHERE entity = ? AND "+in, append([]any{entity}, anys(chunk)...)...); err != nil {
			return nil, fmt.Errorf("remove %s provisioning blocks: %w", entity, err)
		}
		rows, err := tx.query(ctx, "SELECT DISTINCT object_id FROM provisioning_blocks WHERE "+in, anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("read provisioning blocks: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			blocked[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return blocked, nil
}

// PortIDsByPrefix returns the ids of ports whose id starts with prefix
// (at most two: callers only need to know whether it is unique).
func (tx *Tx) PortIDsByPrefix(ctx context.Context, prefix string) ([]string, error) {
	prefix = strings.NewReplacer("%", "", "_", "").Replace(prefix)
	rows, err := tx.query(ctx, "SELECT id FROM ports WHERE id LIKE ? ORDER BY id LIMIT 2", prefix+"%")
	if err != nil {
		return nil, fmt.Errorf("find port %s: %w", prefix, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PortIDsByPrefixes returns the ids of the ports that start with any of
// the prefixes, by prefix: one query (a scan per distinct prefix length)
// for the hundreds of tap names a firewall agent asks about, where a
// LIKE per name would be hundreds of queries.
func (tx *Tx) PortIDsByPrefixes(ctx context.Context, prefixes []string) (map[string][]string, error) {
	byLen := map[int][]any{}
	for _, p := range prefixes {
		if p != "" {
			byLen[len(p)] = append(byLen[len(p)], p)
		}
	}
	out := map[string][]string{}
	if len(byLen) == 0 {
		return out, nil
	}
	var conds []string
	var args []any
	for _, n := range slices.Sorted(maps.Keys(byLen)) {
		conds = append(conds, fmt.Sprintf("substr(id, 1, %d) IN (%s)", n, placeholders(len(byLen[n]))))
		args = append(args, byLen[n]...)
	}
	rows, err := tx.query(ctx, "SELECT id FROM ports WHERE "+strings.Join(conds, " OR ")+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("find ports by prefix: %w", err)
	}
	defer rows.Close()
	want := map[string]bool{}
	for _, p := range prefixes {
		want[p] = true
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		for n := range byLen {
			if n <= len(id) && want[id[:n]] {
				out[id[:n]] = append(out[id[:n]], id)
			}
		}
	}
	return out, rows.Err()
}

// SetPortStatus sets a port's status, bumping its revision when it
// changes; it reports whether the port exists.
func (tx *Tx) SetPortStatus(ctx context.Context, portID, status, now string) (bool, error) {
	if _, err := tx.exec(ctx, `UPDATE ports SET status = ?, revision_number = revision_number + 1, updated_at = ?
		WHERE id = ? AND status <> ?`, status, now, portID, status); err != nil {
		return false, fmt.Errorf("set status of port %s: %w", portID, err)
	}
	n, err := tx.CountWhere(ctx, "ports", map[string]any{"id": portID})
	return n > 0, err
}

// SegmentRow is what ML2 reads of a segment to show and bind networks.
type SegmentRow struct {
	ID, NetworkID, NetworkType, PhysicalNetwork string
	SegmentationID                              *int
	Index                                       int
	IsDynamic                                   bool
}

// NetworkSegments returns the segments of the given networks, each
// network's in segment_index order; with no ids, every network's (for
// long lists, one scan beats many IN lists).
func (tx *Tx) NetworkSegments(ctx context.Context, netIDs ...string) (map[string][]SegmentRow, error) {
	q := `SELECT id, network_id, network_type, physical_network, segmentation_id, segment_index, is_dynamic FROM segments`
	var args []any
	switch {
	case len(netIDs) > 0 && tx.s.dialect.name() == "postgresql":
		// One array parameter: PostgreSQL plans a long IN list of
		// parameters anew on every call, which costs more than the scan.
		q += " WHERE network_id = ANY(?)"
		args = append(args, netIDs)
	case len(netIDs) > 0:
		q += " WHERE network_id IN (" + placeholders(len(netIDs)) + ")"
		for _, id := range netIDs {
			args = append(args, id)
		}
	}
	q += " ORDER BY network_id, segment_index, id"
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read segments: %w", err)
	}
	defer rows.Close()
	out := map[string][]SegmentRow{}
	for rows.Next() {
		var r SegmentRow
		var physnet sql.NullString
		var segID sql.NullInt64
		if err := rows.Scan(&r.ID, &r.NetworkID, &r.NetworkType, &physnet, &segID, &r.Index, &r.IsDynamic); err != nil {
			return nil, fmt.Errorf("read segments: %w", err)
		}
		r.PhysicalNetwork = physnet.String
		if segID.Valid {
			v := int(segID.Int64)
			r.SegmentationID = &v
		}
		out[r.NetworkID] = append(out[r.NetworkID], r)
	}
	return out, rows.Err()
}
