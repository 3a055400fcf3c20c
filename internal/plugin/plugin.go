// Package plugin defines the boundary between the API and what a resource
// means: a Handler per collection. Core and service plugins implement it,
// usually on top of generic.Handler; the API calls it.
package plugin

import (
	"context"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// NoRevision means a write carries no If-Match revision constraint.
const NoRevision = -1

// Handler serves one resource collection. The API has already converted
// and validated attributes and checked policy; the handler applies the
// resource's meaning and persists it. Errors are *fault.Error where the
// client should see them.
type Handler interface {
	List(ctx context.Context, q *resource.Query) ([]*resource.Object, error)
	Get(ctx context.Context, id string) (*resource.Object, error)
	// Create stores all objects or none.
	Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error)
	// Update applies the present attributes of patch; ifRevision, unless
	// NoRevision, must equal the stored revision_number.
	Update(ctx context.Context, id string, patch *resource.Object, ifRevision int) (*resource.Object, error)
	Delete(ctx context.Context, id string, ifRevision int) error
}
