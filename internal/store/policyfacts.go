package store

import (
	"context"
	"fmt"
	"slices"
)

// NetworkFacts is what policy rules about a port or subnet ask of its
// network: the owner, and whether it is shared with the caller or
// external.
type NetworkFacts struct {
	ProjectID string
	// Shared is the network's shared flag, or an access_as_shared RBAC
	// policy sharing it with the project asked about.
	Shared   bool
	External bool
}

// NetworkFacts reads the facts of the networks with the given ids, by
// id, in one query per maxInList networks: only the columns policy needs,
// with the RBAC policies (when rbac is set) that share each with project
// or with every project. ids not found are missing from the map.
func (tx *Tx) NetworkFacts(ctx context.Context, ids []string, project string, rbac bool) (map[string]NetworkFacts, error) {
	out := make(map[string]NetworkFacts, len(ids))
	sharedBy := "FALSE"
	if rbac {
		sharedBy = "EXISTS (SELECT 1 FROM rbac_policies r WHERE r.object_id = n.id AND r.object_type = 'network'" +
			" AND r.action = 'access_as_shared' AND r.target_tenant IN (?, '*'))"
	}
	for chunk := range slices.Chunk(ids, maxInList) {
		args := anys(chunk)
		if rbac {
			args = append([]any{project}, args...)
		}
		rows, err := tx.query(ctx, "SELECT n.id, n.project_id, n.shared, n.router_external, "+sharedBy+
			" FROM networks n WHERE n.id IN ("+placeholders(len(chunk))+")", args...)
		if err != nil {
			return nil, fmt.Errorf("read networks' owners: %w", err)
		}
		for rows.Next() {
			var id string
			var f NetworkFacts
			var rbacShared bool
			if err := rows.Scan(&id, &f.ProjectID, &f.Shared, &f.External, &rbacShared); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read networks' owners: %w", err)
			}
			f.Shared = f.Shared || rbacShared
			out[id] = f
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read networks' owners: %w", err)
		}
	}
	return out, nil
}
