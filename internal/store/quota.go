package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Quota tables: per-project limits that differ from the defaults, and one
// lock row per project and resource that creates serialize on, so a quota
// holds with many concurrent creates across several servers.

// QuotaLimits returns the limits set for a project, by resource.
func (tx *Tx) QuotaLimits(ctx context.Context, project string) (map[string]int, error) {
	if f := tx.facts; f != nil && f.project == project && f.quotas != nil {
		out := f.quotas
		f.quotas = nil
		return out, nil
	}
	rows, err := tx.query(ctx, "SELECT resource, hard_limit FROM quotas WHERE project_id = ?", project)
	if err != nil {
		return nil, fmt.Errorf("read quotas of %s: %w", project, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}

// QuotaProjects returns the projects that have limits set.
func (tx *Tx) QuotaProjects(ctx context.Context) ([]string, error) {
	return tx.Strings(ctx, "quotas", "DISTINCT project_id", "", nil)
}

// SetQuotaLimit sets one limit of a project.
func (tx *Tx) SetQuotaLimit(ctx context.Context, project, resource string, limit int) error {
	if _, err := tx.exec(ctx, "DELETE FROM quotas WHERE project_id = ? AND resource = ?", project, resource); err != nil {
		return fmt.Errorf("set quota %s of %s: %w", resource, project, err)
	}
	if _, err := tx.exec(ctx, "INSERT INTO quotas (project_id, resource, hard_limit) VALUES (?, ?, ?)", project, resource, limit); err != nil {
		return fmt.Errorf("set quota %s of %s: %w", resource, project, err)
	}
	return nil
}

// ResetQuotaLimits removes a project's limits, so the defaults apply.
func (tx *Tx) ResetQuotaLimits(ctx context.Context, project string) error {
	if _, err := tx.exec(ctx, "DELETE FROM quotas WHERE project_id = ?", project); err != nil {
		return fmt.Errorf("reset quotas of %s: %w", project, err)
	}
	return nil
}

// LockQuota takes the lock row of a project's resource for the rest of
// the transaction (creating it on first use). Creates counted against
// the same quota queue on it. On PostgreSQL that is one statement: an
// upsert that meets the row updates it, which locks it as FOR UPDATE did
// (a second transaction's upsert waits for the first to end, and one
// that races to create the row waits for the other's insert). SQLite runs
// one writer at a time and needs the row only to exist.
func (tx *Tx) LockQuota(ctx context.Context, project, resource string) error {
	q := "INSERT INTO quota_locks (project_id, resource) VALUES (?, ?) ON CONFLICT DO NOTHING"
	if tx.s.dialect.name() == "postgresql" {
		q = "INSERT INTO quota_locks (project_id, resource) VALUES (?, ?)" +
			" ON CONFLICT (project_id, resource) DO UPDATE SET resource = EXCLUDED.resource"
	}
	if _, err := tx.execKeep(ctx, q, project, resource); err != nil {
		return fmt.Errorf("lock quota %s of %s: %w", resource, project, err)
	}
	return nil
}

// CountOwned counts collection's rows owned by project.
func (tx *Tx) CountOwned(ctx context.Context, collection, project string) (int, error) {
	return tx.Count(ctx, collection, "project_id", project)
}

// RBACShared returns which of objectIDs, objects of objectType, an RBAC
// policy with action shares with project or with every project. It reads
// only those objects' policies (one query per chunk, through the unique
// index on object_type, object_id, action, target_tenant), so its cost
// follows the objects asked about, not every object shared with project.
func (tx *Tx) RBACShared(ctx context.Context, objectType, action, project string, objectIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for chunk := range slices.Chunk(objectIDs, maxInList) {
		args := append([]any{objectType, action, project}, anys(chunk)...)
		rows, err := tx.query(ctx, "SELECT object_id FROM rbac_policies WHERE object_type = ? AND action = ? AND target_tenant IN (?, '*')"+
			" AND object_id IN ("+placeholders(len(chunk))+")", args...)
		if err != nil {
			return nil, fmt.Errorf("read RBAC policies: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read RBAC policies: %w", err)
			}
			out[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read RBAC policies: %w", err)
		}
	}
	return out, nil
}

// ProjectsWithPorts returns the projects, other than except, owning ports
// on a network (network-owned ports, with an empty project, excluded).
func (tx *Tx) ProjectsWithPorts(ctx context.Context, networkID string, except []string) ([]string, error) {
	owners, err := tx.Strings(ctx, "ports", "DISTINCT project_id", "network_id", networkID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range owners {
		if p != "" && !slices.Contains(except, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// DeleteWhere deletes collection's rows whose columns equal the given
// values, returning how many it deleted.
func (tx *Tx) DeleteWhere(ctx context.Context, collection string, eq map[string]any) (int64, error) {
	var conds []string
	var args []any
	for col, v := range eq {
		conds = append(conds, col+" = ?")
		args = append(args, v)
	}
	if len(conds) == 0 {
		return 0, fmt.Errorf("store: refusing to delete every row of %s", collection)
	}
	res, err := tx.exec(ctx, "DELETE FROM "+tableName(collection)+" WHERE "+strings.Join(conds, " AND "), args...)
	if err != nil {
		return 0, fmt.Errorf("delete from %s: %w", collection, err)
	}
	return res.RowsAffected()
}

// RBACTargets counts the RBAC policies (of any action) on an object of
// objectType that target project or every project.
func (tx *Tx) RBACTargets(ctx context.Context, objectType, objectID, project string) (int, error) {
	rows, err := tx.query(ctx, "SELECT COUNT(*) FROM rbac_policies WHERE object_type = ? AND object_id = ? AND target_tenant IN (?, '*')",
		objectType, objectID, project)
	if err != nil {
		return 0, fmt.Errorf("read RBAC policies of %s: %w", objectID, err)
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("read RBAC policies of %s: %w", objectID, err)
		}
	}
	return n, rows.Err()
}

// RouterGatewayProjects returns the owners of the routers whose gateway
// port is on a network.
func (tx *Tx) RouterGatewayProjects(ctx context.Context, networkID string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT DISTINCT r.project_id FROM routers r JOIN ports p ON p.id = r.gw_port_id
		WHERE p.network_id = ? ORDER BY r.project_id`, networkID)
	if err != nil {
		return nil, fmt.Errorf("read routers with a gateway on %s: %w", networkID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
