// Package localip is Neutron's local_ip service plugin
// (neutron/services/local_ip and neutron/db/local_ip_db.py): node-local
// virtual IPs and their associations with ports, the API and its
// validations. A local IP takes its address from a port of the project's,
// or from a port the plugin makes for it on a network (device_owner
// network:local_ip, never shown to its project as its own); that port
// cannot be deleted while the local IP lives. Neutrino's agents do not
// plumb local IPs (Neutron's OVS agent extension does).
package localip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// DeviceOwner is the device_owner of the ports local IPs make.
const DeviceOwner = "network:local_ip"

// Core is what local IPs need of the core plugin: making and removing
// their ports inside the local IP's transaction.
type Core interface {
	CreatePortIn(ctx context.Context, tx *store.Tx, o *resource.Object) (*resource.Object, error)
	UpdatePortIn(ctx context.Context, tx *store.Tx, port, patch *resource.Object) (*resource.Object, error)
	DeletePortIn(ctx context.Context, tx *store.Tx, port *resource.Object) error
}

// Plugin is the local_ip service plugin.
type Plugin struct {
	store *store.Store
	core  Core

	lipDef, assocDef           *resource.Resource
	portDef, netDef, subnetDef *resource.Resource
	lips, assocs               *generic.Handler
	handlers                   map[string]plugin.Handler
}

// New returns the plugin serving the (already restricted) definitions in
// defs; core is set by Wire.
func New(s *store.Store, defs map[string]*resource.Resource) *Plugin {
	p := &Plugin{store: s, handlers: map[string]plugin.Handler{},
		lipDef: defs[apidef.LocalIPs], assocDef: defs[apidef.LocalIPPortAssociations],
		portDef: defs[apidef.Ports], netDef: defs[apidef.Networks], subnetDef: defs[apidef.Subnets]}
	if p.lipDef == nil {
		return p
	}
	p.lips = generic.New(p.lipDef, s, generic.Hooks{
		NotFound:        LocalIPNotFound,
		BeforeCreate:    p.beforeCreateLocalIP,
		InitialRevision: 0,
	})
	p.handlers[apidef.LocalIPs] = &localIPs{Handler: p.lips, p: p}
	if p.assocDef != nil {
		p.assocs = generic.New(p.assocDef, s, generic.Hooks{
			BeforeCreate: p.beforeCreateAssociation,
			AfterRead:    p.afterReadAssociations,
		})
		p.handlers[apidef.LocalIPPortAssociations] = &associations{Handler: p.assocs, p: p}
	}
	return p
}

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler { return p.handlers }

// LocalIPNotFound is neutron-lib's LocalIPNotFound.
func LocalIPNotFound(id string) error {
	return fault.NotFound("LocalIPNotFound", fmt.Sprintf("Local IP %s could not be found.", id))
}

// AssociationNotFound is neutron-lib's LocalIPAssociationNotFound.
func AssociationNotFound(localIPID, portID string) error {
	return fault.NotFound("LocalIPAssociationNotFound",
		fmt.Sprintf("Local IP %s association with port %s could not be found.", localIPID, portID))
}

func invalid(typ, format string, args ...any) error {
	return fault.New(400, typ, "Invalid input for operation: %s.", fmt.Sprintf(format, args...))
}

func noIP(portID string) error {
	return invalid("LocalIPNoIP", "Specified Port %s has no fixed IPs configured", portID)
}

func requestedIPNotFound(portID, ip string) error {
	return invalid("LocalIPRequestedIPNotFound", "Specified Port %s does not have requested IP address: %s", portID, ip)
}

func noRequestedIP(portID string) error {
	return invalid("LocalIPNoRequestedIP", "Specified Port %s has several IPs, should specify exact IP address to use for Local IP", portID)
}

// portAddresses are a port's fixed IP addresses, in order.
func portAddresses(port *resource.Object) []string {
	items, _ := port.Get("fixed_ips").([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		if ip, _ := m["ip_address"].(string); ip != "" {
			out = append(out, ip)
		}
	}
	return out
}

// pickAddress chooses the address of port a local IP or an association
// uses, as Neutron does: the requested one, which the port must have;
// else the port's only one.
func pickAddress(port *resource.Object, requested string) (string, error) {
	ips := portAddresses(port)
	if requested != "" {
		for _, ip := range ips {
			if sameIP(ip, requested) {
				return ip, nil
			}
		}
		if len(ips) == 0 {
			return "", noIP(port.ID())
		}
		return "", requestedIPNotFound(port.ID(), requested)
	}
	switch len(ips) {
	case 0:
		return "", noIP(port.ID())
	case 1:
		return ips[0], nil
	}
	return "", noRequestedIP(port.ID())
}

func sameIP(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x == y
}

// visiblePort reads a port the caller may use: an admin any, others
// their project's, as Neutron's project-scoped Port.get_object finds
// them; nil when there is none.
func (p *Plugin) visiblePort(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	port, err := tx.Get(ctx, p.portDef, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read port %s: %w", id, err)
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && port.String("project_id") != caller.ProjectID {
		return nil, nil
	}
	return port, nil
}

func (p *Plugin) beforeCreateLocalIP(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	requested, _ := o.Get("local_ip_address").(string)
	portID, _ := o.Get("local_port_id").(string)
	netID, _ := o.Get("network_id").(string)
	switch {
	case portID != "":
		port, err := p.visiblePort(ctx, tx, portID)
		if err != nil {
			return err
		}
		if port == nil {
			return fault.NeutronBadRequest("local_ip", fmt.Sprintf("Port %s not found", portID))
		}
		addr, err := pickAddress(port, requested)
		if err != nil {
			return err
		}
		o.Set("local_ip_address", addr)
		o.Set("network_id", port.String("network_id"))
	case netID != "":
		port, err := p.createLocalPort(ctx, tx, o, netID, requested)
		if err != nil {
			return err
		}
		addrs := portAddresses(port)
		if len(addrs) == 0 {
			return noIP(port.ID())
		}
		o.Set("local_port_id", port.ID())
		o.Set("local_ip_address", addrs[0])
	default:
		return invalid("LocalIPPortOrNetworkRequired", "Either Port ID or Network ID must be specified for Local IP create")
	}
	return nil
}

// createLocalPort makes the local IP's own port on network netID, which
// must have an IPv4 subnet; its status is N/A, as no agent wires it.
func (p *Plugin) createLocalPort(ctx context.Context, tx *store.Tx, lip *resource.Object, netID, requested string) (*resource.Object, error) {
	network, err := tx.Get(ctx, p.netDef, netID, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.NotFound("NetworkNotFound", fmt.Sprintf("Network %s could not be found.", netID))
	}
	if err != nil {
		return nil, fmt.Errorf("read network %s: %w", netID, err)
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && network.String("project_id") != caller.ProjectID && !network.Bool("shared") {
		return nil, fault.NotFound("NetworkNotFound", fmt.Sprintf("Network %s could not be found.", netID))
	}
	n, err := tx.CountWhere(ctx, "subnets", map[string]any{"network_id": netID, "ip_version": 4})
	if err != nil {
		return nil, fmt.Errorf("count IPv4 subnets of network %s: %w", netID, err)
	}
	if n == 0 {
		return nil, fault.NeutronBadRequest("local_ip", fmt.Sprintf("Network %s does not contain any IPv4 subnet", netID))
	}
	port := resource.New(p.portDef)
	for _, a := range p.portDef.Attrs() {
		if a.AllowPost && a.Default != resource.NotSpecified && a.Storage == resource.Column {
			port.SetAt(a.Index(), a.Default)
		}
	}
	port.Set("network_id", netID)
	port.Set("project_id", lip.String("project_id"))
	port.Set("name", "")
	port.Set("admin_state_up", true)
	port.Set("device_id", lip.ID())
	port.Set("device_owner", DeviceOwner)
	if requested != "" {
		port.Set("fixed_ips", []any{map[string]any{"ip_address": requested}})
	}
	created, err := p.core.CreatePortIn(ctx, tx, port)
	if err != nil {
		return nil, err
	}
	patch := resource.New(p.portDef)
	patch.Set("status", "N/A")
	return p.core.UpdatePortIn(ctx, tx, created, patch)
}

// localIPs serves /v2.0/local_ips.
type localIPs struct {
	*generic.Handler
	p *Plugin
}

// Delete implements plugin.Handler: a local IP with associations is in
// use; its own port goes with it.
func (h *localIPs) Delete(ctx context.Context, id string, ifRevision int) error {
	return h.p.store.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.Get(ctx, h.p.lipDef, id, true)
		if errors.Is(err, store.ErrNotFound) {
			return LocalIPNotFound(id)
		}
		if err != nil {
			return err
		}
		if ifRevision != plugin.NoRevision && old.Int("revision_number") != ifRevision {
			return fault.RevisionConstraintFailed(ifRevision, old.Int("revision_number"))
		}
		n, err := tx.CountWhere(ctx, "port_associations", map[string]any{"local_ip_id": id})
		if err != nil {
			return fmt.Errorf("count associations of local IP %s: %w", id, err)
		}
		if n > 0 {
			return fault.Conflict("LocalIPInUse", "Local IP %s is still associated with one or more ports.", id)
		}
		if err := h.DeleteIn(ctx, tx, old); err != nil {
			return err
		}
		port, err := tx.Get(ctx, h.p.portDef, old.String("local_port_id"), true)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if port.String("device_owner") != DeviceOwner {
			return nil
		}
		return h.p.core.DeletePortIn(ctx, tx, port)
	})
}

var _ plugin.Handler = (*localIPs)(nil)

// PortDeleting is the core's port deletion hook: a local IP's port
// cannot be deleted directly (ServicePortInUse), and a deleted port's
// associations go with it, as the database's cascade does in Neutron.
func (p *Plugin) PortDeleting(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if p.lipDef == nil {
		return nil
	}
	n, err := tx.CountWhere(ctx, "local_ips", map[string]any{"local_port_id": port.ID()})
	if err != nil {
		return fmt.Errorf("count local IPs of port %s: %w", port.ID(), err)
	}
	if n > 0 {
		return fault.Conflict("ServicePortInUse",
			"Port %s cannot be deleted directly via the port API: still referenced by Local IPs.", port.ID())
	}
	if p.assocDef == nil {
		return nil
	}
	assocs, err := tx.List(ctx, p.assocDef, &resource.Query{
		Filters: []resource.Filter{{Attr: p.assocDef.Attr("fixed_port_id"), Values: []any{port.ID()}}}})
	if err != nil {
		return fmt.Errorf("list local IP associations of port %s: %w", port.ID(), err)
	}
	for _, a := range assocs {
		if err := p.assocs.DeleteIn(ctx, tx, a); err != nil {
			return err
		}
	}
	return nil
}
