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

// PolicyTargeter is implemented by handlers whose policy rules look at a
// parent object, as Neutron's rules for subnets and ports look at their
// network ("network:project_id", the network's "shared"). For a batch of
// objects it returns the extra target keys of each, in one lookup; a
// missing parent is the parent's 404. Objects may share a map (those of
// one parent): callers read the maps, never change them.
type PolicyTargeter interface {
	PolicyTargets(ctx context.Context, objs []*resource.Object) ([]map[string]any, error)
}

// PolicyTargetKeyer is a PolicyTargeter that names the keys its targets
// add to a stored object's, so that a show whose rules do not read them
// (a member's own port) is answered without the lookup.
type PolicyTargetKeyer interface {
	PolicyTargeter
	PolicyTargetKeys() []string
}

// Scoper is implemented by handlers whose objects are visible beyond their
// project through a parent (a subnet of a shared network, a port on the
// caller's network). It returns the list scope for a non-admin project;
// the API still checks policy on every row, so the scope may be wider
// than what policy allows, never narrower.
type Scoper interface {
	Scope(projectID string) *resource.Scope
}

// Actioner is implemented by handlers of resources with member actions.
// Action runs the named action on the object with id; body is the decoded
// request body and the result is written back as JSON (a
// *resource.Object as the resource's show shows it).
type Actioner interface {
	Action(ctx context.Context, id, action string, body map[string]any) (any, error)
}

type parentIDKey struct{}

// WithParent returns ctx carrying the id of the parent object a
// sub-resource request is addressed under (the floating IP of
// /floatingips/{id}/port_forwardings).
func WithParent(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, parentIDKey{}, id)
}

// ParentID returns the parent id WithParent stored, or "" outside a
// sub-resource request.
func ParentID(ctx context.Context) string {
	id, _ := ctx.Value(parentIDKey{}).(string)
	return id
}

// Shower is implemented by handlers whose GET of one object does more than
// read it: an auto-allocated topology is built on its first GET and
// answers ?fields=dry-run with a check. The API first reads the object
// with Get (which must not build anything) and checks the caller may see
// it, then calls Show; Show returns the object to answer with and the
// fields to show of it (nil for all).
type Shower interface {
	Show(ctx context.Context, id string, fields []string) (*resource.Object, []string, error)
}
