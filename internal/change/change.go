// Package change describes committed-to-be changes of resources and the
// interfaces that hear of them inside the write transaction: a Notifier
// turns a change into notifications to agents, an Outbox records them so
// a publisher sends them after commit. Plugins produce changes and the
// bus side (internal/rpc/notify) consumes them; both import this package
// and neither imports the other.
package change

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
	// ActionStatus is a port status the server changed itself, not an
	// API request: an agent reported the port up or down, or its last
	// provisioning block was lifted. Only status listeners hear it
	// (Neutron's Nova notifier watches every status change; agents are
	// not told of these).
	ActionStatus = "status"
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

// Notifier hears of a handler's changes inside the write transaction,
// after the plugin's hooks, so it sees the objects as the API returns
// them; it records notifications to agents through an Outbox. An error
// rolls the change back.
type Notifier interface {
	Notify(ctx context.Context, tx *store.Tx, ev Event) error
}

// Batcher is a Notifier that can hear several events of one transaction
// at once, and record them with one write: ML2 reports the status changes
// of an agent's batch of ports this way, so a hundred ports cost what two
// do.
type Batcher interface {
	Notifier
	NotifyBatch(ctx context.Context, tx *store.Tx, evs []Event) error
}

// Notifiers is several Notifiers heard in order; the first error stops
// the rest and rolls the change back.
type Notifiers []Notifier

// Notify implements Notifier.
func (ns Notifiers) Notify(ctx context.Context, tx *store.Tx, ev Event) error {
	for _, n := range ns {
		if err := n.Notify(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
