package store

import (
	"context"
	"fmt"
)

// Auto-allocated topologies: per project, the network (and router) that
// GET /v2.0/auto-allocated-topology/{project_id} built. The primary key
// lets only one topology per project win a race; the loser cleans up.
func init() {
	registerMigration(migration{11, "auto-allocated topologies", []string{
		`CREATE TABLE auto_allocated_topologies (
			project_id VARCHAR(255) PRIMARY KEY,
			network_id VARCHAR(36) NOT NULL,
			router_id VARCHAR(36) NOT NULL DEFAULT ''
		)`,
	}})
}

// AutoAllocatedTopology returns the network and router of project's
// topology; ok is false when it has none.
func (tx *Tx) AutoAllocatedTopology(ctx context.Context, project string) (networkID, routerID string, ok bool, err error) {
	rows, err := tx.query(ctx, "SELECT network_id, router_id FROM auto_allocated_topologies WHERE project_id = ?", project)
	if err != nil {
		return "", "", false, fmt.Errorf("read auto-allocated topology of %s: %w", project, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", "", false, rows.Err()
	}
	if err := rows.Scan(&networkID, &routerID); err != nil {
		return "", "", false, err
	}
	return networkID, routerID, true, rows.Err()
}

// SaveAutoAllocatedTopology records project's topology unless it already
// has one; saved is false when another request's topology won.
func (tx *Tx) SaveAutoAllocatedTopology(ctx context.Context, project, networkID, routerID string) (saved bool, err error) {
	res, err := tx.exec(ctx, "INSERT INTO auto_allocated_topologies (project_id, network_id, router_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		project, networkID, routerID)
	if err != nil {
		return false, fmt.Errorf("save auto-allocated topology of %s: %w", project, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteAutoAllocatedTopology forgets project's topology.
func (tx *Tx) DeleteAutoAllocatedTopology(ctx context.Context, project string) error {
	if _, err := tx.exec(ctx, "DELETE FROM auto_allocated_topologies WHERE project_id = ?", project); err != nil {
		return fmt.Errorf("delete auto-allocated topology of %s: %w", project, err)
	}
	return nil
}
