package store

import (
	"context"
	"fmt"
)

// HA router networks (Neutron's ha_router_networks): per project, the
// hidden network its HA routers' keepalived instances talk over. The
// primary key lets one network per project win a race; the loser deletes
// the network it made.
func init() {
	registerMigration(migration{23, "ha router networks", []string{
		`CREATE TABLE ha_router_networks (
			project_id VARCHAR(255) PRIMARY KEY,
			network_id VARCHAR(36) NOT NULL
		)`,
		`CREATE INDEX ha_router_networks_network ON ha_router_networks (network_id)`,
	}})
}

// HARouterNetwork returns the id of project's HA network; ok is false
// when it has none.
func (tx *Tx) HARouterNetwork(ctx context.Context, project string) (networkID string, ok bool, err error) {
	rows, err := tx.query(ctx, "SELECT network_id FROM ha_router_networks WHERE project_id = ?", project)
	if err != nil {
		return "", false, fmt.Errorf("read HA network of %s: %w", project, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", false, rows.Err()
	}
	if err := rows.Scan(&networkID); err != nil {
		return "", false, err
	}
	return networkID, true, rows.Err()
}

// SaveHARouterNetwork records project's HA network unless it already has
// one; saved is false when another request's network won.
func (tx *Tx) SaveHARouterNetwork(ctx context.Context, project, networkID string) (saved bool, err error) {
	res, err := tx.exec(ctx, "INSERT INTO ha_router_networks (project_id, network_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
		project, networkID)
	if err != nil {
		return false, fmt.Errorf("save HA network of %s: %w", project, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteHARouterNetwork forgets the HA network networkID (its network is
// being deleted).
func (tx *Tx) DeleteHARouterNetwork(ctx context.Context, networkID string) error {
	if _, err := tx.exec(ctx, "DELETE FROM ha_router_networks WHERE network_id = ?", networkID); err != nil {
		return fmt.Errorf("delete HA network %s: %w", networkID, err)
	}
	return nil
}
