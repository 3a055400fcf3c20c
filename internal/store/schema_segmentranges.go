package store

import (
	"context"
	"fmt"
)

// Network segment ranges (the network_segment_range service plugin,
// Neutron's network_segment_ranges): the default ranges made from the ML2
// configuration, and shared and project ranges made through the API.
func init() {
	registerMigration(migration{22, "network segment ranges", []string{
		`CREATE TABLE network_segment_ranges (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			is_default BOOLEAN NOT NULL DEFAULT FALSE,
			shared BOOLEAN NOT NULL DEFAULT TRUE,
			network_type VARCHAR(32) NOT NULL,
			physical_network VARCHAR(64) NOT NULL DEFAULT '',
			minimum BIGINT NOT NULL,
			maximum BIGINT NOT NULL,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX network_segment_ranges_type ON network_segment_ranges (network_type, physical_network)`,
	}})
}

// SegmentsInRange maps the segmentation ids of networkType's segments
// on physnet ("" for the tunnel types) between lo and hi to the project
// of the network holding each: a range's "used".
func (tx *Tx) SegmentsInRange(ctx context.Context, networkType, physnet string, lo, hi int) (map[int]string, error) {
	rows, err := tx.query(ctx, `SELECT s.segmentation_id, n.project_id FROM segments s JOIN networks n ON n.id = s.network_id
		WHERE s.network_type = ? AND COALESCE(s.physical_network, '') = ? AND s.segmentation_id >= ? AND s.segmentation_id <= ?`,
		networkType, physnet, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read %s segments in %d:%d: %w", networkType, lo, hi, err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var id int
		var project string
		if err := rows.Scan(&id, &project); err != nil {
			return nil, fmt.Errorf("read %s segments in %d:%d: %w", networkType, lo, hi, err)
		}
		out[id] = project
	}
	return out, rows.Err()
}

// AllocatedSegmentIDs are the segmentation ids of networkType on physnet
// ("" for the tunnel types) between lo and hi that are taken.
func (tx *Tx) AllocatedSegmentIDs(ctx context.Context, networkType, physnet string, lo, hi int) (map[int]bool, error) {
	rows, err := tx.query(ctx, `SELECT segmentation_id FROM ml2_segment_allocations
		WHERE network_type = ? AND physical_network = ? AND segmentation_id >= ? AND segmentation_id <= ?`,
		networkType, physnet, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read %s allocations in %d:%d: %w", networkType, lo, hi, err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read %s allocations in %d:%d: %w", networkType, lo, hi, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
