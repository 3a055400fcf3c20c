package generic

import (
	"context"

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
