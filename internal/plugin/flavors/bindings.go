package flavors

import (
	"context"
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// flavorProfiles serves /v2.0/flavors/{id}/service_profiles: binding a
// service profile to a flavor (POST {"service_profile": {"id": …}}),
// checking and removing a binding.
type flavorProfiles struct{ p *Plugin }

var _ plugin.Handler = (*flavorProfiles)(nil)

func bindingKey(flavorID, profileID string) string { return flavorID + "_" + profileID }

func (h *flavorProfiles) object(flavorID, profileID string) *resource.Object {
	o := resource.New(h.p.subDef)
	o.Set("id", profileID)
	o.Set("flavor_id", flavorID)
	return o
}

// NotFound is a binding's 404.
func (h *flavorProfiles) NotFound(id string) error { return BindingNotFound(id, "") }

// List implements plugin.Handler: the profiles bound to the flavor.
func (h *flavorProfiles) List(ctx context.Context, _ *resource.Query) ([]*resource.Object, error) {
	flavorID := plugin.ParentID(ctx)
	var out []*resource.Object
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		binds, err := h.p.bindingsOf(ctx, tx, flavorID)
		out = out[:0]
		for _, b := range binds {
			out = append(out, h.object(flavorID, b.String("service_profile_id")))
		}
		return err
	})
	return out, err
}

// Get implements plugin.Handler; id is the service profile's.
func (h *flavorProfiles) Get(ctx context.Context, id string) (*resource.Object, error) {
	flavorID := plugin.ParentID(ctx)
	var n int
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.CountWhere(ctx, bindings, map[string]any{"id": bindingKey(flavorID, id)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read binding of service profile %s to flavor %s: %w", id, flavorID, err)
	}
	if n == 0 {
		return nil, BindingNotFound(id, flavorID)
	}
	return h.object(flavorID, id), nil
}

// Create implements plugin.Handler. As in Neutron, the reply is the
// flavor's view through the binding's attributes: its id is the
// flavor's.
func (h *flavorProfiles) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	out := make([]*resource.Object, 0, len(objs))
	err := h.p.store.Write(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, o := range objs {
			flavorID, profileID := o.String("flavor_id"), o.ID()
			if _, err := tx.Get(ctx, h.p.flavorDef, flavorID, true); errors.Is(err, store.ErrNotFound) {
				return FlavorNotFound(flavorID)
			} else if err != nil {
				return err
			}
			if _, err := tx.Get(ctx, h.p.profileDef, profileID, false); errors.Is(err, store.ErrNotFound) {
				return ProfileNotFound(profileID)
			} else if err != nil {
				return err
			}
			key := bindingKey(flavorID, profileID)
			if n, err := tx.CountWhere(ctx, bindings, map[string]any{"id": key}); err != nil {
				return err
			} else if n > 0 {
				return fault.Conflict("FlavorServiceProfileBindingExists",
					"Service Profile %s is already associated with flavor %s.", profileID, flavorID)
			}
			b := resource.New(h.p.bindDef)
			b.Set("id", key)
			b.Set("flavor_id", flavorID)
			b.Set("service_profile_id", profileID)
			if _, err := h.p.binds.CreateIn(ctx, tx, b); err != nil {
				return err
			}
			out = append(out, h.object(flavorID, flavorID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Update implements plugin.Handler: a binding has nothing to update.
func (h *flavorProfiles) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, fault.New(405, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
}

// Delete implements plugin.Handler; id is the service profile's.
func (h *flavorProfiles) Delete(ctx context.Context, id string, _ int) error {
	flavorID := plugin.ParentID(ctx)
	return h.p.store.Write(ctx, func(tx *store.Tx) error {
		b, err := tx.Get(ctx, h.p.bindDef, bindingKey(flavorID, id), true)
		if errors.Is(err, store.ErrNotFound) {
			return BindingNotFound(id, flavorID)
		}
		if err != nil {
			return err
		}
		return h.p.binds.DeleteIn(ctx, tx, b)
	})
}
