package core

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Port bindings of binding-extended (/v2.0/ports/{id}/bindings), as
// ML2's create_port_binding, get_port_bindings, update_port_binding,
// activate and delete_port_binding serve them: a port's active binding is
// its binding:* attributes; inactive bindings (one per other host, made
// while a live migration prepares its destination) are rows of their
// own, bound by the mechanism drivers without touching the port, until
// activate swaps the two.

// Binding statuses.
const (
	bindingActive   = "ACTIVE"
	bindingInactive = "INACTIVE"
)

func portBindingNotFound(portID, host string) error {
	return fault.NotFound("PortBindingNotFound", fmt.Sprintf("Binding for port %s for host %s could not be found.", portID, host))
}

func portBindingAlreadyExists(portID, host string) error {
	return fault.Conflict("PortBindingAlreadyExists", "Binding for port %s on host %s already exists.", portID, host)
}

func portBindingAlreadyActive(portID, host string) error {
	return fault.Conflict("PortBindingAlreadyActive", "Binding for port %s on host %s is already active.", portID, host)
}

func portBindingError(portID, host string) error {
	return fault.New(500, "PortBindingError", "Binding for port %s on host %s could not be created or updated.", portID, host)
}

// checkMultipleBindings is _validate_port_supports_multiple_bindings:
// only instances' and shared file systems' ports have several bindings.
func checkMultipleBindings(port *resource.Object) error {
	owner := port.String("device_owner")
	if strings.HasPrefix(owner, "compute:") || strings.HasPrefix(owner, "manila:") {
		return nil
	}
	return fault.NeutronBadRequest("port", fmt.Sprintf("Invalid port %s. Operation only valid on compute and shared filesystem ports", port.ID()))
}

// portBindings serves the bindings of the port a request is under.
type portBindings struct {
	p   *Plugin
	res *resource.Resource
}

var (
	_ plugin.Handler  = (*portBindings)(nil)
	_ plugin.Actioner = (*portBindings)(nil)
)

func (h *portBindings) portDef() *resource.Resource { return h.p.defs[apidef.Ports] }

// port reads the parent port, locked for a write.
func (h *portBindings) port(ctx context.Context, tx *store.Tx, forUpdate bool) (*resource.Object, error) {
	id := plugin.ParentID(ctx)
	port, err := tx.Get(ctx, h.portDef(), id, forUpdate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, PortNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return port, checkMultipleBindings(port)
}

func (h *portBindings) object(port *resource.Object, host, status, vnic, vifType string, profile, details map[string]any) *resource.Object {
	o := resource.New(h.res)
	set := func(name string, v any) {
		if h.res.Attr(name) != nil {
			o.Set(name, v)
		}
	}
	set("id", host)
	set("port_id", port.ID())
	set("host", host)
	set("vif_type", vifType)
	set("vif_details", orEmpty(details))
	set("vnic_type", vnic)
	set("profile", orEmpty(profile))
	set("status", status)
	set("project_id", port.String("project_id"))
	return o
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return orEmpty(m)
}

// active is the port's active binding.
func (h *portBindings) active(port *resource.Object) *resource.Object {
	return h.object(port, port.String("binding:host_id"), bindingActive, port.String("binding:vnic_type"),
		port.String("binding:vif_type"), mapOf(port.Get("binding:profile")), mapOf(port.Get("binding:vif_details")))
}

func (h *portBindings) inactive(port *resource.Object, b store.InactiveBinding) *resource.Object {
	return h.object(port, b.Host, bindingInactive, b.VNICType, b.VIFType, b.Profile, b.VIFDetails)
}

// all returns every binding of port, the active one first.
func (h *portBindings) all(ctx context.Context, tx *store.Tx, port *resource.Object) ([]*resource.Object, []store.InactiveBinding, error) {
	rows, err := tx.InactiveBindings(ctx, port.ID())
	if err != nil {
		return nil, nil, err
	}
	out := []*resource.Object{h.active(port)}
	for _, b := range rows {
		out = append(out, h.inactive(port, b))
	}
	return out, rows, nil
}

// List implements plugin.Handler: the port's bindings matching q's
// filters.
func (h *portBindings) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	var out []*resource.Object
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		port, err := h.port(ctx, tx, false)
		if err != nil {
			return err
		}
		all, _, err := h.all(ctx, tx, port)
		if err != nil {
			return err
		}
		for _, b := range all {
			if bindingMatches(b, q) {
				out = append(out, b)
			}
		}
		return nil
	})
	return out, err
}

func bindingMatches(o *resource.Object, q *resource.Query) bool {
	if q == nil {
		return true
	}
	for _, f := range q.Filters {
		ok := false
		for _, v := range f.Values {
			if reflect.DeepEqual(o.Get(f.Attr.Name), v) || fmt.Sprint(o.Get(f.Attr.Name)) == fmt.Sprint(v) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Get implements plugin.Handler: the binding on host id.
func (h *portBindings) Get(ctx context.Context, host string) (*resource.Object, error) {
	var out *resource.Object
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		port, err := h.port(ctx, tx, false)
		if err != nil {
			return err
		}
		out, err = h.find(ctx, tx, port, host)
		return err
	})
	return out, err
}

func (h *portBindings) find(ctx context.Context, tx *store.Tx, port *resource.Object, host string) (*resource.Object, error) {
	all, _, err := h.all(ctx, tx, port)
	if err != nil {
		return nil, err
	}
	for _, b := range all {
		if b.String("host") == host {
			return b, nil
		}
	}
	return nil, portBindingNotFound(port.ID(), host)
}

// Create implements plugin.Handler: a new binding, INACTIVE because every
// port has an active one (an unbound port's is on host ""); it must bind.
func (h *portBindings) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	if len(objs) != 1 {
		return nil, fault.BadRequest("Bulk operation not supported")
	}
	req := objs[0]
	host := req.String("host")
	var out *resource.Object
	err := h.p.store.Write(ctx, func(tx *store.Tx) error {
		port, err := h.port(ctx, tx, true)
		if err != nil {
			return err
		}
		if _, err := h.find(ctx, tx, port, host); err == nil {
			return portBindingAlreadyExists(port.ID(), host)
		} else if !fault.Is(err, "PortBindingNotFound") {
			return err
		}
		vnic := req.String("vnic_type")
		if vnic == "" {
			vnic = "normal"
		}
		b := store.InactiveBinding{PortID: port.ID(), Host: host, VNICType: vnic, Profile: mapOf(req.Get("profile"))}
		if err := h.bind(ctx, tx, port, &b); err != nil {
			return err
		}
		out = h.inactive(port, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*resource.Object{out}, nil
}

// bind binds an inactive binding through ML2 and stores it; a binding
// the drivers refuse is PortBindingError and is not stored.
func (h *portBindings) bind(ctx context.Context, tx *store.Tx, port *resource.Object, b *store.InactiveBinding) error {
	b.VIFType, b.VIFDetails = vifTypeUnbound, map[string]any{}
	if h.p.opts.ML2 != nil {
		vifType, details, err := h.p.opts.ML2.TryBind(ctx, tx, port, b.Host, b.VNICType, b.Profile)
		if err != nil {
			return err
		}
		b.VIFType, b.VIFDetails = vifType, details
	}
	if b.VIFType == vifTypeBindingFails {
		return portBindingError(port.ID(), b.Host)
	}
	return tx.PutInactiveBinding(ctx, *b)
}

// Update implements plugin.Handler: a new VNIC type or profile for the
// binding on host; the active binding is the port's and changes as a
// port update would.
func (h *portBindings) Update(ctx context.Context, host string, patch *resource.Object, _ int) (*resource.Object, error) {
	var out *resource.Object
	err := h.p.store.Write(ctx, func(tx *store.Tx) error {
		port, err := h.port(ctx, tx, true)
		if err != nil {
			return err
		}
		cur, err := h.find(ctx, tx, port, host)
		if err != nil {
			return err
		}
		vnic, profile := cur.String("vnic_type"), mapOf(cur.Get("profile"))
		if patch.Has("vnic_type") {
			vnic = patch.String("vnic_type")
		}
		if patch.Has("profile") {
			profile = mapOf(patch.Get("profile"))
		}
		if cur.String("status") == bindingActive {
			pp := resource.New(h.portDef())
			pp.Set("binding:vnic_type", vnic)
			pp.Set("binding:profile", profile)
			updated, err := h.p.UpdatePortIn(ctx, tx, port, pp)
			if err != nil {
				return err
			}
			if updated.String("binding:vif_type") == vifTypeBindingFails {
				return portBindingError(port.ID(), host)
			}
			out = h.active(updated)
			return nil
		}
		b := store.InactiveBinding{PortID: port.ID(), Host: host, VNICType: vnic, Profile: profile}
		if err := h.bind(ctx, tx, port, &b); err != nil {
			return err
		}
		out = h.inactive(port, b)
		return nil
	})
	return out, err
}

// Delete implements plugin.Handler. Deleting the active binding unbinds
// the port, as removing Neutron's active binding row leaves it unbound.
func (h *portBindings) Delete(ctx context.Context, host string, _ int) error {
	return h.p.store.Write(ctx, func(tx *store.Tx) error {
		port, err := h.port(ctx, tx, true)
		if err != nil {
			return err
		}
		cur, err := h.find(ctx, tx, port, host)
		if err != nil {
			return err
		}
		if cur.String("status") == bindingInactive {
			return tx.DeleteInactiveBinding(ctx, port.ID(), host)
		}
		pp := resource.New(h.portDef())
		pp.Set("binding:host_id", "")
		pp.Set("binding:profile", map[string]any{})
		_, err = h.p.UpdatePortIn(ctx, tx, port, pp)
		return err
	})
}

// Action implements plugin.Actioner: activate makes the inactive binding
// on host the port's active binding, and keeps the previous active one as
// an inactive binding (Nova deletes it once the migration is done).
func (h *portBindings) Action(ctx context.Context, host, action string, _ map[string]any) (any, error) {
	if action != "activate" {
		return nil, fmt.Errorf("binding action %q not implemented", action)
	}
	var out *resource.Object
	err := h.p.store.Write(ctx, func(tx *store.Tx) error {
		port, err := h.port(ctx, tx, true)
		if err != nil {
			return err
		}
		oldHost := port.String("binding:host_id")
		if host == oldHost {
			return portBindingAlreadyActive(port.ID(), host)
		}
		_, rows, err := h.all(ctx, tx, port)
		if err != nil {
			return err
		}
		var next *store.InactiveBinding
		for i := range rows {
			if rows[i].Host == host {
				next = &rows[i]
			}
		}
		if next == nil {
			return portBindingNotFound(port.ID(), host)
		}
		if err := tx.DeleteInactiveBinding(ctx, port.ID(), host); err != nil {
			return err
		}
		if oldHost != "" {
			prev := store.InactiveBinding{PortID: port.ID(), Host: oldHost, VNICType: port.String("binding:vnic_type"),
				Profile: mapOf(port.Get("binding:profile")), VIFType: port.String("binding:vif_type"),
				VIFDetails: mapOf(port.Get("binding:vif_details"))}
			if err := tx.PutInactiveBinding(ctx, prev); err != nil {
				return err
			}
		}
		pp := resource.New(h.portDef())
		pp.Set("binding:host_id", host)
		pp.Set("binding:vnic_type", next.VNICType)
		pp.Set("binding:profile", next.Profile)
		updated, err := h.p.UpdatePortIn(ctx, tx, port, pp)
		if err != nil {
			return err
		}
		if updated.String("binding:vif_type") == vifTypeBindingFails {
			return portBindingError(port.ID(), host)
		}
		out = h.active(updated)
		return nil
	})
	if err != nil {
		return nil, err
	}
	view := map[string]any{}
	for _, a := range h.res.Attrs() {
		if a.Visible && out.Has(a.Name) {
			view[a.Name] = out.Get(a.Name)
		}
	}
	return view, nil
}
