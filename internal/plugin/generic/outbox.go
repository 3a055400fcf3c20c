package generic

import (
	"context"

	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Outbox records notifications to agents inside the transaction that makes
// the change they describe, so a committed change is never left
// unannounced: a publisher sends them after commit, and again after a
// crash. A nil Outbox records nothing (a server without agents).
type Outbox interface {
	Record(ctx context.Context, tx *store.Tx, ns ...rpcapi.Notification) error
}

// Actions a Notifier hears of.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Event is one committed-to-be change of a handler's resource.
type Event struct {
	// Resource is the resource's singular name ("port").
	Resource string
	// Action is ActionCreate, ActionUpdate or ActionDelete.
	Action string
	// Old is the object before an update or delete; nil on create.
	Old *resource.Object
	// New is the object after a create or update; nil on delete.
	New *resource.Object
}

// Notifier hears of a Handler's changes inside the write transaction,
// after the plugin's hooks, so it sees the objects as the API returns
// them; it records notifications to agents through an Outbox. An error
// rolls the change back.
type Notifier interface {
	Notify(ctx context.Context, tx *store.Tx, ev Event) error
}

func (g *Handler) notify(ctx context.Context, tx *store.Tx, action string, old, updated *resource.Object) error {
	if g.Notify == nil {
		return nil
	}
	return g.Notify.Notify(ctx, tx, Event{Resource: g.Res.Name, Action: action, Old: old, New: updated})
}
