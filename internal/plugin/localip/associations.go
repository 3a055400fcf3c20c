package localip

import (
	"context"
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// associations serves /v2.0/local_ips/{id}/port_associations. An
// association is addressed by its fixed port under its local IP; the
// stored key joins both, as Neutron's LocalIPAssociation id does.
type associations struct {
	*generic.Handler
	p *Plugin
}

var _ plugin.Handler = (*associations)(nil)

func associationKey(localIPID, portID string) string { return localIPID + "_" + portID }

// Get implements plugin.Handler; id is the fixed port's.
func (h *associations) Get(ctx context.Context, id string) (*resource.Object, error) {
	parent := plugin.ParentID(ctx)
	o, err := h.Handler.Get(ctx, associationKey(parent, id))
	if fault.Is(err, "HTTPNotFound") {
		return nil, AssociationNotFound(parent, id)
	}
	return o, err
}

// NotFound is the association's 404, for the API to hide one the caller
// may not see.
func (h *associations) NotFound(id string) error { return fault.HTTPNotFound() }

// Create implements plugin.Handler.
func (h *associations) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	for _, o := range objs {
		o.Set("id", associationKey(o.String("local_ip_id"), o.String("fixed_port_id")))
	}
	return h.Handler.Create(ctx, objs)
}

// Update implements plugin.Handler: associations have nothing to update.
func (h *associations) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, fault.New(405, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
}

// Delete implements plugin.Handler; id is the fixed port's.
func (h *associations) Delete(ctx context.Context, id string, _ int) error {
	parent := plugin.ParentID(ctx)
	return h.p.store.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.Get(ctx, h.p.assocDef, associationKey(parent, id), true)
		if errors.Is(err, store.ErrNotFound) {
			return AssociationNotFound(parent, id)
		}
		if err != nil {
			return err
		}
		return h.DeleteIn(ctx, tx, old)
	})
}

func (p *Plugin) beforeCreateAssociation(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	lipID := o.String("local_ip_id")
	if _, err := tx.Get(ctx, p.lipDef, lipID, true); errors.Is(err, store.ErrNotFound) {
		return LocalIPNotFound(lipID)
	} else if err != nil {
		return err
	}
	portID := o.String("fixed_port_id")
	port, err := p.visiblePort(ctx, tx, portID)
	if err != nil {
		return err
	}
	if port == nil {
		return fault.NeutronBadRequest("local_ip_port_association", fmt.Sprintf("Port %s not found", portID))
	}
	requested, _ := o.Get("fixed_ip").(string)
	addr, err := pickAddress(port, requested)
	if err != nil {
		return err
	}
	o.Set("fixed_ip", addr)
	n, err := tx.CountWhere(ctx, "port_associations", map[string]any{"id": o.ID()})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("LocalIPAssociationExists",
			"Local IP %s association to port %s already exists.", lipID, portID)
	}
	return nil
}

// afterReadAssociations shows each association's local IP address and
// the host its fixed port is bound to ("" when unbound).
func (p *Plugin) afterReadAssociations(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	var lipIDs, portIDs []any
	for _, o := range objs {
		lipIDs = append(lipIDs, o.String("local_ip_id"))
		portIDs = append(portIDs, o.String("fixed_port_id"))
	}
	lips, err := tx.List(ctx, p.lipDef, &resource.Query{
		Filters: []resource.Filter{{Attr: p.lipDef.Attr("id"), Values: lipIDs}}})
	if err != nil {
		return fmt.Errorf("read local IPs of associations: %w", err)
	}
	addr := map[string]string{}
	for _, l := range lips {
		addr[l.ID()] = l.String("local_ip_address")
	}
	host := map[string]string{}
	if p.portDef.Attr("binding:host_id") != nil {
		ports, err := tx.List(ctx, p.portDef, &resource.Query{
			Filters: []resource.Filter{{Attr: p.portDef.Attr("id"), Values: portIDs}}})
		if err != nil {
			return fmt.Errorf("read fixed ports of associations: %w", err)
		}
		for _, port := range ports {
			h, _ := port.Get("binding:host_id").(string)
			host[port.ID()] = h
		}
	}
	for _, o := range objs {
		o.Set("local_ip_address", addr[o.String("local_ip_id")])
		o.Set("host", host[o.String("fixed_port_id")])
	}
	return nil
}
