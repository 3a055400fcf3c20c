// Package trunk is Neutrino's trunk service plugin, Neutron's
// neutron.services.trunk.plugin.TrunkPlugin with its Linux bridge driver:
// trunks (a parent port carrying sub-ports, each tagged with a VLAN), the
// add_subports, remove_subports and get_subports actions, trunk_details
// on parent ports, and the rules of neutron/services/trunk/rules.py (a
// port is the parent or a sub-port of one trunk at most, sub-ports are
// unused ports whose MTU fits the parent's, segmentations are unique and
// in range, a disabled trunk cannot be changed, a trunk's ports cannot
// be deleted).
//
// When a trunk's parent port is bound by the linuxbridge mechanism driver
// the plugin does what Neutron's Linux bridge agent asks of the server
// (update_subport_bindings): it binds the sub-ports to the parent's host
// with device_owner trunk:subport and moves the trunk to BUILD. The agent
// would then create a VLAN sub-interface per sub-port; Neutrino's agent
// cannot (that needs the kernel's 802.1Q support), so the trunk ends
// DEGRADED, the status Neutron's agent reports when wiring sub-ports
// fails. A parent port unbound takes its trunk back to DOWN.
//
// Options read: [ml2] mechanism_drivers (the plugin loads only with
// linuxbridge, as Neutron's does only with a trunk-capable driver).
package trunk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/core"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Trunk statuses (neutron-lib's services/trunk/constants).
const (
	StatusActive   = "ACTIVE"
	StatusDown     = "DOWN"
	StatusBuild    = "BUILD"
	StatusDegraded = "DEGRADED"
	StatusError    = "ERROR"
)

// Segmentation types and the device owner of bound sub-ports.
const (
	SegmentationVLAN    = "vlan"
	SegmentationInherit = "inherit"
	SubPortOwner        = "trunk:subport"
)

// The Linux bridge trunk driver: the mechanism driver it needs and the
// VIF type of the parent ports it serves (its segmentation types follow).
const (
	driverName    = "linuxbridge"
	driverVIFType = "bridge"
)

// segmentationTypes are the supported segmentation types and their id
// validators (neutron/services/trunk/seg_types: VLAN tags 1-4094).
var segmentationTypes = map[string]func(int) bool{
	SegmentationVLAN: func(id int) bool { return id >= 1 && id <= 4094 },
}

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "trunk",
		Aliases:    []string{"neutron.services.trunk.plugin.TrunkPlugin"},
		Extensions: []string{"trunk", "trunk-details"},
		Configure:  configure,
	})
}

func configure(cfg *config.Config, _ *slog.Logger) (registry.Build, error) {
	if !slices.Contains(ml2.MechanismDrivers(cfg), driverName) {
		// IncompatibleTrunkPluginConfiguration: Neutron refuses to start.
		return nil, errors.New("config: Cannot load trunk plugin: no compatible core plugin configuration is found ([ml2] mechanism_drivers must include linuxbridge)")
	}
	return func(env registry.Env) (registry.Plugin, error) {
		return New(env.Store, env.Defs, env.Logger), nil
	}, nil
}

// Core is what the trunk plugin needs of the core plugin: binding
// sub-ports inside the trunk's transactions.
type Core interface {
	UpdatePortIn(ctx context.Context, tx *store.Tx, port, patch *resource.Object) (*resource.Object, error)
}

// Plugin is the trunk service plugin.
type Plugin struct {
	store  *store.Store
	log    *slog.Logger
	core   Core
	ml2    *ml2.Plugin
	trunks *generic.Handler

	trunkDef, portDef, netDef *resource.Resource
}

var (
	_ registry.Wirer     = (*Plugin)(nil)
	_ core.PortExtension = (*Plugin)(nil)
)

// New returns the trunk plugin over the (already restricted) definitions;
// defs must hold trunks, ports and networks.
func New(s *store.Store, defs map[string]*resource.Resource, logger *slog.Logger) *Plugin {
	if logger == nil {
		logger = slog.Default()
	}
	p := &Plugin{store: s, log: logger, trunkDef: defs[apidef.Trunks], portDef: defs[apidef.Ports], netDef: defs[apidef.Networks]}
	p.trunks = generic.New(p.trunkDef, s, generic.Hooks{
		NotFound:        TrunkNotFound,
		BeforeCreate:    p.beforeCreate,
		AfterCreate:     p.afterCreate,
		AfterRead:       p.afterRead,
		BeforeDelete:    p.beforeDelete,
		InitialRevision: 1,
	})
	return p
}

// Wire implements registry.Wirer: sub-ports are bound through the core
// plugin, and inherited segmentations come from ML2's segments.
func (p *Plugin) Wire(all registry.Set) error {
	c, ok := registry.Find[Core](all)
	if !ok {
		return errors.New("trunk: the core plugin does not update ports for service plugins")
	}
	p.core = c
	p.ml2, _ = registry.Find[*ml2.Plugin](all)
	return nil
}

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	return map[string]plugin.Handler{apidef.Trunks: &trunks{Handler: p.trunks, p: p}}
}

// trunks serves /v2.0/trunks and its member actions.
type trunks struct {
	*generic.Handler
	p *Plugin
}

var _ plugin.Actioner = (*trunks)(nil)

// Action implements plugin.Actioner.
func (h *trunks) Action(ctx context.Context, id, action string, body map[string]any) (any, error) {
	switch action {
	case "add_subports":
		return h.p.AddSubPorts(ctx, id, body)
	case "remove_subports":
		return h.p.RemoveSubPorts(ctx, id, body)
	case "get_subports":
		t, err := h.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"sub_ports": t.Get("sub_ports")}, nil
	}
	return nil, fmt.Errorf("trunk action %q not implemented", action)
}

// Errors of neutron/services/trunk/exceptions.py and neutron-lib.

// TrunkNotFound is the 404 of a trunk.
func TrunkNotFound(id string) error {
	return fault.NotFound("TrunkNotFound", fmt.Sprintf("Trunk %s could not be found.", id))
}

func portNotFound(id string) error {
	return fault.NotFound("PortNotFound", fmt.Sprintf("Port %s could not be found.", id))
}

func subPortNotFound(trunkID, portID string) error {
	return fault.NotFound("SubPortNotFound", fmt.Sprintf("SubPort %s on trunk %s could not be found.", portID, trunkID))
}

func trunkPortInUse(portID string) error {
	return fault.Conflict("TrunkPortInUse", "Port %s is in use by another trunk.", portID)
}

func parentPortInUse(portID string) error {
	return fault.Conflict("ParentPortInUse", "Port %s is currently in use and is not eligible for use as a parent port.", portID)
}

func duplicateSubPort(segType string, segID int, trunkID string) error {
	return fault.Conflict("DuplicateSubPort", "segmentation_type %s and segmentation_id %d already in use on trunk %s.",
		segType, segID, trunkID)
}

func trunkDisabled(id string) error {
	return fault.Conflict("TrunkDisabled", "Trunk %s is currently disabled.", id)
}

func trunkInUse(id string) error {
	return fault.Conflict("TrunkInUse", "Trunk %s is currently in use.", id)
}

func trunkInErrorState(id string) error {
	return fault.Conflict("TrunkInErrorState", "Trunk %s is in error state. Attempt to resolve the error condition before proceeding.", id)
}

func mtuTooLarge(portID string, portMTU int, trunkPortID string, trunkMTU int) error {
	// Neutron names the trunk's parent port where it says trunk.
	return fault.Conflict("SubPortMtuGreaterThanTrunkPortMtu", "MTU %d of subport %s cannot be greater than MTU %d of trunk %s.",
		portMTU, portID, trunkMTU, trunkPortID)
}

// subPort is one requested or stored sub-port.
type subPort struct {
	portID  string
	segType string
	segID   int
}

func (s subPort) value() map[string]any {
	return map[string]any{"segmentation_id": s.segID, "segmentation_type": s.segType, "port_id": s.portID}
}

func subPortValues(subs []store.SubPort) []any {
	out := make([]any, 0, len(subs))
	for _, s := range subs {
		out = append(out, subPort{s.PortID, s.SegmentationType, s.SegmentationID}.value())
	}
	return out
}

// afterRead shows each trunk's sub-ports, in one query for a list.
func (p *Plugin) afterRead(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID()
	}
	subs, err := tx.TrunkSubPorts(ctx, ids)
	if err != nil {
		return err
	}
	for _, o := range objs {
		o.Set("sub_ports", subPortValues(subs[o.ID()]))
	}
	return nil
}

// visiblePort reads a port as the caller's get_port would: admins see
// every port, a project its own and those on its networks.
func (p *Plugin) visiblePort(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	port, err := tx.Get(ctx, p.portDef, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, portNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	caller := reqctx.CallerFrom(ctx)
	if caller.IsAdmin || port.String("project_id") == caller.ProjectID {
		return port, nil
	}
	net, err := tx.Get(ctx, p.netDef, port.String("network_id"), false)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if net == nil || net.String("project_id") != caller.ProjectID {
		return nil, portNotFound(id)
	}
	return port, nil
}

// checkPortFree is TrunkPortValidator's first checks: the port is neither
// a sub-port nor a parent already.
func (p *Plugin) checkPortFree(ctx context.Context, tx *store.Tx, portID string) error {
	if _, ok, err := tx.SubPortOf(ctx, portID); err != nil {
		return err
	} else if ok {
		return trunkPortInUse(portID)
	}
	if id, err := tx.TrunkOfPort(ctx, portID); err != nil {
		return err
	} else if id != "" {
		return parentPortInUse(portID)
	}
	return nil
}

// canTrunk is can_be_trunked_or_untrunked: an unbound port always can; a
// bound one only when the Linux bridge driver serves it (a bridge VIF on
// a host with a Linux bridge agent).
func (p *Plugin) canTrunk(ctx context.Context, tx *store.Tx, port *resource.Object) (bool, error) {
	host := port.String("binding:host_id")
	if host == "" {
		return true, nil
	}
	if port.String("binding:vif_type") != driverVIFType {
		return false, nil
	}
	agents, err := tx.Agents(ctx, rpcapi.AgentTypeLinuxBridge, host)
	if err != nil {
		return false, err
	}
	return len(agents) > 0, nil
}

// validateParent is TrunkPortValidator.validate for a parent port.
func (p *Plugin) validateParent(ctx context.Context, tx *store.Tx, portID string) (*resource.Object, error) {
	if err := p.checkPortFree(ctx, tx, portID); err != nil {
		return nil, err
	}
	port, err := p.visiblePort(ctx, tx, portID)
	if err != nil {
		return nil, err
	}
	ok, err := p.canTrunk(ctx, tx, port)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, parentPortInUse(portID)
	}
	return port, nil
}

// networkMTU is the MTU of the port's network, 0 when unknown.
func (p *Plugin) networkMTU(ctx context.Context, tx *store.Tx, port *resource.Object) (int, error) {
	if port == nil || p.netDef.Attr("mtu") == nil {
		return 0, nil
	}
	net, err := tx.Get(ctx, p.netDef, port.String("network_id"), false)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return net.Int("mtu"), nil
}

// validateSubPorts is SubPortsValidator.validate with trunk validation:
// inherited segmentations resolved, then for each sub-port in order: not
// the parent, an MTU within the parent's, both segmentation details, a
// known type and an id in its range, and a port free and unused.
func (p *Plugin) validateSubPorts(ctx context.Context, tx *store.Tx, raw []any, parentID string) ([]subPort, error) {
	var parentMTU int
	if parent, err := p.visiblePort(ctx, tx, parentID); err == nil {
		if parentMTU, err = p.networkMTU(ctx, tx, parent); err != nil {
			return nil, err
		}
	} else if _, ok := fault.As(err); !ok {
		return nil, err
	}
	// _prepare_subports: the sub-ports' networks, their MTUs, and the
	// segmentation of those that inherit it.
	items := make([]map[string]any, len(raw))
	mtus := map[string]int{}
	for i, it := range raw {
		m := it.(map[string]any)
		items[i] = m
		id, _ := m["port_id"].(string)
		port, err := p.visiblePort(ctx, tx, id)
		if err != nil {
			if _, ok := fault.As(err); ok {
				continue // checked below, in order
			}
			return nil, err
		}
		net, err := tx.Get(ctx, p.netDef, port.String("network_id"), false)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m["segmentation_type"] == SegmentationInherit {
			if p.ml2 == nil || p.netDef.Attr("provider:network_type") == nil {
				return nil, fault.InvalidInput("Cannot accept segmentation type " + SegmentationInherit)
			}
			if err := p.ml2.AfterReadNetworks(ctx, tx, []*resource.Object{net}); err != nil {
				return nil, err
			}
			items[i] = map[string]any{"port_id": id, "segmentation_type": net.Get("provider:network_type"),
				"segmentation_id": net.Get("provider:segmentation_id")}
		}
		if p.netDef.Attr("mtu") != nil {
			mtus[id] = net.Int("mtu")
		}
	}
	out := make([]subPort, 0, len(items))
	for _, m := range items {
		id, _ := m["port_id"].(string)
		if id == parentID {
			return nil, parentPortInUse(id)
		}
		if parentMTU > 0 && mtus[id] > parentMTU {
			return nil, mtuTooLarge(id, mtus[id], parentID, parentMTU)
		}
		rawType, hasType := m["segmentation_type"]
		rawID, hasID := m["segmentation_id"]
		if !hasType || !hasID {
			return nil, fault.InvalidInput(fmt.Sprintf("Invalid subport details '%s': missing segmentation information. Must specify both segmentation_id and segmentation_type",
				resource.PyStr(m)))
		}
		n, err := resource.ToInt(rawID)
		if err != nil {
			return nil, fault.InvalidInput(fmt.Sprintf("Invalid subport details: segmentation_id '%s' is not an integer", resource.PyStr(rawID)))
		}
		segType, _ := rawType.(string)
		valid, known := segmentationTypes[segType]
		if !known {
			return nil, fault.InvalidInput(fmt.Sprintf("Unknown segmentation_type '%s'", resource.PyStr(rawType)))
		}
		segID := n.(int)
		if !valid(segID) {
			return nil, fault.InvalidInput(fmt.Sprintf("Segmentation ID '%d' is not in range", segID))
		}
		// TrunkPortValidator for a sub-port: free, visible, no device.
		if err := p.checkPortFree(ctx, tx, id); err != nil {
			return nil, err
		}
		port, err := p.visiblePort(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if d := port.String("device_id"); d != "" {
			return nil, fault.Conflict("PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.",
				id, port.String("network_id"), d)
		}
		out = append(out, subPort{portID: id, segType: segType, segID: segID})
	}
	return out, nil
}

// subPortsBody reads the sub_ports of an add_subports or
// remove_subports body and checks them as the API's validator would.
func subPortsBody(body map[string]any) ([]any, error) {
	raw, ok := body["sub_ports"]
	if !ok {
		return nil, fault.BadRequest("Invalid request body: sub_ports is required")
	}
	if err := apidef.ValidateSubPorts(raw); err != nil {
		return nil, fault.InvalidInput(err.Error())
	}
	return raw.([]any), nil
}

func (p *Plugin) beforeCreate(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	parentID := o.String("port_id")
	if _, err := p.validateParent(ctx, tx, parentID); err != nil {
		return err
	}
	raw, _ := o.Get("sub_ports").([]any)
	subs, err := p.validateSubPorts(ctx, tx, raw, parentID)
	if err != nil {
		return err
	}
	// A trunk starts DOWN; a bound parent's sub-ports are bound once the
	// trunk's row is in (afterCreate).
	o.Set("status", StatusDown)
	o.Set("sub_ports", subPortList(subs))
	return nil
}

func subPortList(subs []subPort) []any {
	out := make([]any, len(subs))
	for i, s := range subs {
		out[i] = s.value()
	}
	return out
}

func bound(port *resource.Object) bool {
	return port.String("binding:host_id") != "" && port.String("binding:vif_type") == driverVIFType
}

func (p *Plugin) afterCreate(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	subs := requestedSubPorts(o)
	if err := p.insertSubPorts(ctx, tx, o.ID(), subs); err != nil {
		return err
	}
	parent, err := tx.Get(ctx, p.portDef, o.String("port_id"), true)
	if err != nil {
		return fmt.Errorf("read parent port of trunk %s: %w", o.ID(), err)
	}
	if bound(parent) && len(subs) > 0 {
		status, err := p.bindSubPorts(ctx, tx, parent, subs)
		if err != nil {
			return err
		}
		next, err := p.setStatus(ctx, tx, o, status)
		if err != nil {
			return err
		}
		o.Merge(next)
	}
	return nil
}

func requestedSubPorts(o *resource.Object) []subPort {
	raw, _ := o.Get("sub_ports").([]any)
	out := make([]subPort, 0, len(raw))
	for _, it := range raw {
		m := it.(map[string]any)
		out = append(out, subPort{portID: m["port_id"].(string), segType: m["segmentation_type"].(string), segID: m["segmentation_id"].(int)})
	}
	return out
}

func (p *Plugin) insertSubPorts(ctx context.Context, tx *store.Tx, trunkID string, subs []subPort) error {
	for _, s := range subs {
		if _, taken, err := tx.SubPortWithSegmentation(ctx, trunkID, s.segType, s.segID); err != nil {
			return err
		} else if taken {
			return duplicateSubPort(s.segType, s.segID, trunkID)
		}
		err := tx.AddSubPort(ctx, store.SubPort{PortID: s.portID, TrunkID: trunkID, SegmentationType: s.segType, SegmentationID: s.segID})
		if errors.Is(err, store.ErrDuplicate) {
			return duplicateSubPort(s.segType, s.segID, trunkID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *Plugin) beforeDelete(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if !o.Bool("admin_state_up") {
		return trunkDisabled(o.ID())
	}
	parent, err := tx.Get(ctx, p.portDef, o.String("port_id"), false)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if parent != nil {
		ok, err := p.canTrunk(ctx, tx, parent)
		if err != nil {
			return err
		}
		if !ok {
			return trunkInUse(o.ID())
		}
	}
	return tx.RemoveTrunkSubPorts(ctx, o.ID())
}

// lockTrunk reads a trunk for a change, with its sub-ports.
func (p *Plugin) lockTrunk(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	t, err := tx.Get(ctx, p.trunkDef, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, TrunkNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return t, p.afterRead(ctx, tx, []*resource.Object{t})
}

// setStatus writes a trunk's status, bumping its revision when it
// changes.
func (p *Plugin) setStatus(ctx context.Context, tx *store.Tx, t *resource.Object, status string) (*resource.Object, error) {
	patch := resource.New(p.trunkDef)
	patch.Set("status", status)
	return p.trunks.Write(ctx, tx, t, patch)
}

// AddSubPorts is the add_subports action: it answers with the trunk.
func (p *Plugin) AddSubPorts(ctx context.Context, id string, body map[string]any) (any, error) {
	var out *resource.Object
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		t, err := p.lockTrunk(ctx, tx, id)
		if err != nil {
			return err
		}
		raw, err := subPortsBody(body)
		if err != nil {
			return err
		}
		subs, err := p.validateSubPorts(ctx, tx, raw, t.String("port_id"))
		if err != nil {
			return err
		}
		if !t.Bool("admin_state_up") {
			return trunkDisabled(id)
		}
		if t.String("status") == StatusError {
			return trunkInErrorState(id)
		}
		if t, err = p.setStatus(ctx, tx, t, StatusDown); err != nil {
			return err
		}
		if err := p.insertSubPorts(ctx, tx, id, subs); err != nil {
			return err
		}
		if parent, err := tx.Get(ctx, p.portDef, t.String("port_id"), true); err != nil {
			return fmt.Errorf("read parent port of trunk %s: %w", id, err)
		} else if bound(parent) && len(subs) > 0 {
			status, err := p.bindSubPorts(ctx, tx, parent, subs)
			if err != nil {
				return err
			}
			if t, err = p.setStatus(ctx, tx, t, status); err != nil {
				return err
			}
		}
		out = t
		return p.afterRead(ctx, tx, []*resource.Object{out})
	})
	if err != nil {
		return nil, err
	}
	return p.view(out), nil
}

// RemoveSubPorts is the remove_subports action: it answers with the
// trunk.
func (p *Plugin) RemoveSubPorts(ctx context.Context, id string, body map[string]any) (any, error) {
	var out *resource.Object
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		t, err := p.lockTrunk(ctx, tx, id)
		if err != nil {
			return err
		}
		if !t.Bool("admin_state_up") {
			return trunkDisabled(id)
		}
		raw, err := subPortsBody(body)
		if err != nil {
			return err
		}
		current := map[string]bool{}
		for _, it := range t.Get("sub_ports").([]any) {
			current[it.(map[string]any)["port_id"].(string)] = true
		}
		var removed []string
		for _, it := range raw {
			portID := it.(map[string]any)["port_id"].(string)
			if !current[portID] {
				return subPortNotFound(id, portID)
			}
			delete(current, portID)
			if err := tx.RemoveSubPort(ctx, id, portID); err != nil {
				return err
			}
			removed = append(removed, portID)
		}
		if err := p.unbindSubPorts(ctx, tx, removed); err != nil {
			return err
		}
		if t, err = p.setStatus(ctx, tx, t, StatusDown); err != nil {
			return err
		}
		out = t
		return p.afterRead(ctx, tx, []*resource.Object{out})
	})
	if err != nil {
		return nil, err
	}
	return p.view(out), nil
}

// view is a trunk as the API shows it.
func (p *Plugin) view(t *resource.Object) map[string]any {
	out := map[string]any{}
	for _, a := range p.trunkDef.Attrs() {
		if !a.Visible {
			continue
		}
		v := t.Get(a.Name)
		switch {
		case a.Name == "tenant_id":
			v = t.Get("project_id")
		case a.Kind == resource.Time:
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(store.TimeFormat)
			}
		}
		if v == nil && !t.Has(a.Name) && a.Name != "tenant_id" {
			continue
		}
		out[a.Name] = v
	}
	return out
}

// bindSubPorts is the server's half of the Linux bridge agent's trunk
// wiring (update_subport_bindings): sub-ports are bound to the parent's
// host as trunk:subport ports. It returns the trunk's resulting status:
// ERROR when a sub-port cannot be bound, else DEGRADED, because the
// agent cannot make the VLAN sub-interfaces that would carry them.
func (p *Plugin) bindSubPorts(ctx context.Context, tx *store.Tx, parent *resource.Object, subs []subPort) (string, error) {
	host := parent.String("binding:host_id")
	if prof, ok := parent.Get("binding:profile").(map[string]any); ok {
		if to, ok := prof["migrating_to"].(string); ok && to != "" {
			host = to
		}
	}
	for _, s := range subs {
		port, err := tx.Get(ctx, p.portDef, s.portID, true)
		if err != nil {
			return "", fmt.Errorf("read sub-port %s: %w", s.portID, err)
		}
		patch := resource.New(p.portDef)
		patch.Set("binding:host_id", host)
		patch.Set("device_owner", SubPortOwner)
		updated, err := p.core.UpdatePortIn(ctx, tx, port, patch)
		if err != nil {
			return "", fmt.Errorf("bind sub-port %s to %s: %w", s.portID, host, err)
		}
		if updated.String("binding:vif_type") == "binding_failed" {
			p.log.Error("failed to bind subport", "port", s.portID, "host", host)
			return StatusError, nil
		}
	}
	p.log.Warn("trunk sub-ports bound but not wired: the Linux bridge agent cannot make VLAN sub-interfaces (802.1Q)",
		"parent_port", parent.ID(), "host", host, "subports", len(subs))
	return StatusDegraded, nil
}

// unbindSubPorts clears the binding and owner of ports leaving a trunk
// that were bound as its sub-ports, as Neutron's agent-side driver does.
func (p *Plugin) unbindSubPorts(ctx context.Context, tx *store.Tx, portIDs []string) error {
	for _, id := range portIDs {
		port, err := tx.Get(ctx, p.portDef, id, true)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if port.String("device_owner") != SubPortOwner {
			continue
		}
		patch := resource.New(p.portDef)
		patch.Set("binding:host_id", "")
		patch.Set("device_owner", "")
		if _, err := p.core.UpdatePortIn(ctx, tx, port, patch); err != nil {
			return fmt.Errorf("unbind sub-port %s: %w", id, err)
		}
	}
	return nil
}

// ExtendPorts implements core.PortExtension: trunk_details on parent
// ports, with each sub-port's MAC address.
func (p *Plugin) ExtendPorts(ctx context.Context, tx *store.Tx, ports []*resource.Object) error {
	if p.portDef.Attr("trunk_details") == nil || len(ports) == 0 {
		return nil
	}
	ids := make([]string, len(ports))
	for i, o := range ports {
		ids[i] = o.ID()
	}
	byPort, err := tx.TrunksOfPorts(ctx, ids)
	if err != nil || len(byPort) == 0 {
		return err
	}
	trunkIDs := make([]string, 0, len(byPort))
	for _, id := range byPort {
		trunkIDs = append(trunkIDs, id)
	}
	subs, err := tx.TrunkSubPorts(ctx, trunkIDs)
	if err != nil {
		return err
	}
	var subIDs []string
	for _, ss := range subs {
		for _, s := range ss {
			subIDs = append(subIDs, s.PortID)
		}
	}
	macs := map[string]string{}
	if len(subIDs) > 0 {
		got, err := tx.GetMany(ctx, p.portDef, subIDs, false)
		if err != nil {
			return err
		}
		for id, o := range got {
			macs[id] = o.String("mac_address")
		}
	}
	for _, o := range ports {
		trunkID, ok := byPort[o.ID()]
		if !ok {
			continue
		}
		list := make([]any, 0, len(subs[trunkID]))
		for _, s := range subs[trunkID] {
			v := subPort{s.PortID, s.SegmentationType, s.SegmentationID}.value()
			v["mac_address"] = macs[s.PortID]
			list = append(list, v)
		}
		o.Set("trunk_details", map[string]any{"trunk_id": trunkID, "sub_ports": list})
	}
	return nil
}

// CheckPortDelete implements core.PortExtension: a trunk's ports cannot
// be deleted (enforce_port_deletion_rules).
func (p *Plugin) CheckPortDelete(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if s, ok, err := tx.SubPortOf(ctx, port.ID()); err != nil {
		return err
	} else if ok {
		return fault.Conflict("PortInUseAsSubPort", "Port %s is currently a subport for trunk %s.", port.ID(), s.TrunkID)
	}
	if id, err := tx.TrunkOfPort(ctx, port.ID()); err != nil {
		return err
	} else if id != "" {
		return fault.Conflict("PortInUseAsTrunkParent", "Port %s is currently a parent port for trunk %s.", port.ID(), id)
	}
	return nil
}

// PortUpdated implements core.PortExtension: a parent port's binding
// drives its trunk's status. Bound by the Linux bridge driver, the
// sub-ports are bound to its host; unbound, the trunk goes DOWN.
func (p *Plugin) PortUpdated(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	oldVIF, newVIF := old.String("binding:vif_type"), updated.String("binding:vif_type")
	if oldVIF == newVIF && old.String("binding:host_id") == updated.String("binding:host_id") {
		return nil
	}
	trunkID, err := tx.TrunkOfPort(ctx, old.ID())
	if err != nil || trunkID == "" {
		return err
	}
	t, err := p.lockTrunk(ctx, tx, trunkID)
	if err != nil {
		return err
	}
	status := ""
	switch {
	case newVIF == "unbound" || updated.String("binding:host_id") == "":
		status = StatusDown
	case bound(updated):
		subs := requestedSubPorts(t)
		if len(subs) == 0 {
			status = StatusActive // nothing to wire: the parent's tap is the trunk
			break
		}
		if _, err := p.setStatus(ctx, tx, t, StatusBuild); err != nil {
			return err
		}
		if t, err = p.lockTrunk(ctx, tx, trunkID); err != nil {
			return err
		}
		if status, err = p.bindSubPorts(ctx, tx, updated, subs); err != nil {
			return err
		}
	}
	if status == "" || status == t.String("status") {
		return nil
	}
	_, err = p.setStatus(ctx, tx, t, status)
	return err
}
