package generic

import (
	"context"

	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

func (g *Handler) notify(ctx context.Context, tx *store.Tx, action string, old, updated *resource.Object) error {
	if g.Notify == nil {
		return nil
	}
	return g.Notify.Notify(ctx, tx, change.Event{Resource: g.Res.Name, Action: action, Old: old, New: updated})
}
