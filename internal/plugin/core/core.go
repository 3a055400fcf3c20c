// Package core is Neutrino's core plugin: networks today, and the
// addressing resources (subnets, ports) as they arrive. It plays the part
// of Neutron's ML2 plugin's database layer; type and mechanism drivers
// hook in here.
package core

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Options are the core plugin's settings, from the configuration.
type Options struct {
	// BaseMAC is [DEFAULT] base_mac, the prefix of generated MACs.
	BaseMAC string
	// AllowOverlappingIPs is [DEFAULT] allow_overlapping_ips: whether
	// subnets of different networks may overlap.
	AllowOverlappingIPs bool
	// MaxDNSNameservers is [DEFAULT] max_dns_nameservers.
	MaxDNSNameservers int
	// SegmentHostRoutes is whether the segments plugin's
	// segments-peer-subnet-host-routes is served: subnets of routed
	// networks get host routes to their peers on other segments.
	SegmentHostRoutes bool
	// MaxSubnetHostRoutes is [DEFAULT] max_subnet_host_routes.
	MaxSubnetHostRoutes int
	// DNSDomain is [DEFAULT] dns_domain: the domain of ports'
	// dns_assignment, and whether their dns_name is kept (see dns.go).
	DNSDomain string
	// Quota enforces per-project limits on creates; nil for none.
	Quota generic.Quota
	// ML2 gives networks their segments and MTU and binds ports; nil
	// (for tests of the core alone) leaves networks without segments and
	// ports unbound.
	ML2 *ml2.Plugin
	// NetworkZones, when set, gives networks' availability_zones: the
	// zones of the DHCP agents hosting each (the agents plugin).
	NetworkZones func(ctx context.Context, tx *store.Tx, networkIDs []string) (map[string][]string, error)
}

// Plugin is the core plugin.
type Plugin struct {
	opts     Options
	store    *store.Store
	defs     map[string]*resource.Resource
	handlers map[string]plugin.Handler
	// portSGs gives ports their security groups; nil without them.
	portSGs PortSecurityGroups
	// guard is the service plugins' say in API port and network
	// changes.
	guard ServiceGuard
	// deletionHooks are service plugins that hold ports of their own
	// (local IPs): asked before any port is deleted.
	deletionHooks []PortDeletionHook
	// rbac holds the object types RBAC policies may target.
	rbac        *rbac.Registry
	subnetHooks []SubnetUpdateHook
	// portExts are the service plugins' port extensions.
	portExts []PortExtension
	// extDrivers process their attributes of networks and ports.
	extDrivers []ExtensionDriver
}

// New returns the core plugin serving the given (already restricted)
// resource definitions.
func New(s *store.Store, defs map[string]*resource.Resource, opts Options) *Plugin {
	p := &Plugin{opts: opts, store: s, defs: defs, handlers: map[string]plugin.Handler{},
		rbac: rbac.NewRegistry(defs[apidef.RBACPolicies])}
	p.handlers[apidef.Networks] = &networks{generic.New(defs[apidef.Networks], s, generic.Hooks{
		NotFound:        func(id string) error { return NetworkNotFound(id) },
		BeforeCreate:    p.beforeCreateNetwork,
		AfterCreate:     p.afterCreateNetwork,
		BeforeUpdate:    p.beforeUpdateNetwork,
		AfterUpdate:     p.afterUpdateNetwork,
		BeforeDelete:    p.beforeDeleteNetwork,
		AfterRead:       p.afterReadNetworks,
		InitialRevision: 1,
	})}
	if p.rbac.Enabled() {
		p.handlers[apidef.RBACPolicies] = p.rbac.Handler(s, opts.Quota)
	}
	if defs[apidef.AddressScopes] != nil {
		p.handlers[apidef.AddressScopes] = &rbacShared{objectType: "address_scope", p: p, Handler: generic.New(defs[apidef.AddressScopes], s, generic.Hooks{
			NotFound:     func(id string) error { return AddressScopeNotFound(id) },
			AfterCreate:  p.afterCreateShareable("address_scope"),
			BeforeUpdate: p.beforeUpdateAddressScope,
			AfterUpdate:  p.afterUpdateShareable("address_scope"),
			BeforeDelete: p.beforeDeleteAddressScope,
			AfterRead:    p.afterReadShareable("address_scope"),
		})}
	}
	p.handlers[apidef.SubnetPools] = &subnetPools{p: p, Handler: generic.New(defs[apidef.SubnetPools], s, generic.Hooks{
		NotFound:     func(id string) error { return SubnetPoolNotFound(id) },
		BeforeCreate: p.beforeCreateSubnetPool,
		AfterCreate:  p.afterCreateShareable("subnetpool"),
		BeforeUpdate: p.beforeUpdateSubnetPool,
		AfterUpdate:  p.afterUpdateShareable("subnetpool"),
		BeforeDelete: p.beforeDeleteSubnetPool,
		AfterRead:    p.afterReadShareable("subnetpool"),
	})}
	p.handlers[apidef.Subnets] = &onNetwork{p: p, Handler: generic.New(defs[apidef.Subnets], s, generic.Hooks{
		NotFound:     func(id string) error { return SubnetNotFound(id) },
		BeforeCreate: p.beforeCreateSubnet,
		AfterCreate:  p.afterCreateSubnet,
		BeforeUpdate: p.beforeUpdateSubnet,
		AfterUpdate:  p.afterUpdateSubnet,
		BeforeDelete: p.beforeDeleteSubnet,
		// Allocations share the subnet's lock (store.ShareSubnets).
		BeforeLock: func(ctx context.Context, tx *store.Tx, id string) error { return tx.LockSubnet(ctx, id) },
	}), sharedBy: []string{"shared"}}
	p.handlers[apidef.Ports] = &portHandler{&onNetwork{p: p, Handler: generic.New(defs[apidef.Ports], s, generic.Hooks{
		NotFound:        func(id string) error { return PortNotFound(id) },
		Prefetch:        p.prefetchPorts,
		BeforeCreate:    p.beforeCreatePort,
		InsertFailed:    p.portInsertFailed,
		AfterCreate:     p.afterCreatePort,
		BeforeUpdate:    p.beforeUpdatePort,
		AfterRead:       p.portAfterRead,
		BeforeDelete:    p.beforeDeletePort,
		InitialRevision: 1,
	})}}
	if def := defs[apidef.PortBindings]; def != nil {
		p.handlers[apidef.PortBindings] = &portBindings{p: p, res: def}
	}
	if def := defs[apidef.IPAvailability]; def != nil {
		p.handlers[apidef.IPAvailability] = &ipAvailability{p: p, res: def}
	}
	if opts.Quota != nil {
		for coll, name := range map[string]string{apidef.Networks: "network", apidef.Subnets: "subnet",
			apidef.Ports: "port", apidef.SubnetPools: "subnetpool"} {
			if g := genericOf(p.handlers[coll]); g != nil {
				g.Quota = opts.Quota
				g.Hooks.QuotaResource = name
			}
		}
	}
	if err := p.registerRBACTypes(); err != nil {
		panic(err) // the core's own types: a programming error
	}
	s.Relate(apidef.Networks, "subnets", "subnets", "network_id", "id")
	s.Relate(apidef.Ports, "fixed_ips", "ip_allocations", "port_id", "subnet_id", "ip_address")
	return p
}

// genericOf returns the store-backed handler inside h, if any.
func genericOf(h plugin.Handler) *generic.Handler {
	if g, ok := h.(interface{ Generic() *generic.Handler }); ok {
		return g.Generic()
	}
	return nil
}

// Handlers returns the core plugin's handler for each collection it serves.
func (p *Plugin) Handlers() map[string]plugin.Handler { return p.handlers }

// onNetwork serves a resource that lives on a network (subnets, ports):
// policy rules look at the network's owner and sharing, and a project
// sees the objects on networks it may see.
type onNetwork struct {
	*generic.Handler
	p *Plugin
	// sharedBy are the network attributes that make its objects visible
	// to every project.
	sharedBy []string
}

var (
	_ plugin.PolicyTargeter = (*onNetwork)(nil)
	_ plugin.Scoper         = (*onNetwork)(nil)
)

// Scope implements plugin.Scoper: objects of the project, and those on
// networks it owns or (for subnets) that are shared with it.
func (h *onNetwork) Scope(projectID string) *resource.Scope {
	parent := &resource.ParentScope{FK: h.Res.Attr("network_id"), Collection: apidef.Networks, SharedBy: h.sharedBy}
	if len(h.sharedBy) > 0 && h.p.defs[apidef.RBACPolicies] != nil {
		parent.RBACType = "network"
	}
	return &resource.Scope{ProjectID: projectID, Parent: parent}
}

// List implements plugin.Handler. A "shared" filter (subnets) selects by
// the network's sharing with the caller, as Neutron's filter on the
// network's RBAC policies does; of repeated values the first counts, as
// there.
func (h *onNetwork) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	for i, f := range q.Filters {
		if f.Attr.Name != "shared" || f.Attr.Storage != resource.Virtual {
			continue
		}
		narrowed := *q
		narrowed.Filters = slices.Delete(slices.Clone(q.Filters), i, i+1)
		if len(f.Values) > 0 {
			shared, _ := f.Values[0].(bool)
			narrowed.ParentShared = &resource.ParentShared{FK: h.Res.Attr("network_id"), Collection: apidef.Networks,
				SharedBy: "shared", RBACType: "network", ProjectID: reqctx.CallerFrom(ctx).ProjectID, Shared: shared}
		}
		q = &narrowed
		break
	}
	return h.Handler.List(ctx, q)
}

// networks serves networks: a project sees its own, shared and external
// ones, and those RBAC policies share with it.
type networks struct{ *generic.Handler }

var _ plugin.Scoper = (*networks)(nil)

// Get answers NetworkNotFound for a network no policy opens to the
// caller's project, as Neutron's RBAC-filtered query does before any
// policy rule (get_network's "rule:external" would otherwise show a
// network external for another project only).
func (h *networks) Get(ctx context.Context, id string) (*resource.Object, error) {
	o, err := h.Handler.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c := reqctx.CallerFrom(ctx)
	if c.IsAdmin || c.HasRole("advsvc") || c.HasRole("service") || o.String("project_id") == c.ProjectID || o.Bool("shared") {
		return o, nil
	}
	var visible bool
	err = h.Store.Read(ctx, func(tx *store.Tx) error {
		n, err := tx.RBACTargets(ctx, "network", id, c.ProjectID)
		visible = n > 0
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("visibility of network %s: %w", id, err)
	}
	if !visible {
		return nil, NetworkNotFound(id)
	}
	return o, nil
}

// Scope implements plugin.Scoper.
func (h *networks) Scope(projectID string) *resource.Scope {
	// A network external for some projects only is visible to those
	// (Neutron's rbac_actions of networks: access_as_shared and
	// access_as_external), so router:external alone shows nothing.
	sc := &resource.Scope{ProjectID: projectID}
	if a := h.Res.Attr("shared"); a != nil {
		sc.SharedBy = append(sc.SharedBy, a)
	}
	if h.Res.Attr("shared") != nil || h.Res.Attr("router:external") != nil {
		sc.RBACType = "network"
	}
	return sc
}

func (p *Plugin) afterReadNetworks(ctx context.Context, tx *store.Tx, nets []*resource.Object) error {
	// Networks this transaction created have no subnets, hence no
	// address scopes and no DHCP agents, and no RBAC policy but the
	// wildcard their own shared flag stands for.
	created := !slices.ContainsFunc(nets, func(n *resource.Object) bool {
		_, ok := tx.Memo(newNetworkMemo(n.ID()))
		return !ok
	})
	if created {
		if def := p.defs[apidef.Networks]; def.Attr("ipv4_address_scope") != nil {
			for _, n := range nets {
				n.Set("ipv4_address_scope", nil)
				n.Set("ipv6_address_scope", nil)
			}
		}
	} else if err := p.networkAddressScopes(ctx, tx, nets); err != nil {
		return err
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.AfterReadNetworks(ctx, tx, nets); err != nil {
			return err
		}
	}
	if created {
		// No DHCP agent hosts a network being created (agents are
		// scheduled networks with DHCP-enabled subnets, in transactions
		// of their own).
		if p.opts.NetworkZones != nil && nets[0].Resource().Attr("availability_zones") != nil {
			for _, n := range nets {
				n.Set("availability_zones", []string{})
			}
		}
	} else if err := p.networkZones(ctx, tx, nets); err != nil {
		return err
	}
	if !created {
		if err := p.networkSharing(ctx, tx, nets); err != nil {
			return err
		}
	}
	// Neutron shows is_default only on external networks (its
	// auto-allocate extension reads it from the external network's row).
	for _, n := range nets {
		if n.Has("is_default") && !n.Bool("router:external") {
			n.Unset("is_default")
		}
	}
	return nil
}

// newNetworkMemo is the Memo key that marks a network created in the
// transaction.
func newNetworkMemo(id string) string { return "new-network/" + id }

// afterCreateNetwork records the wildcard RBAC policies that shared and
// router:external stand for.
func (p *Plugin) afterCreateNetwork(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if o.Bool("shared") {
		if err := p.syncWildcardPolicy(ctx, tx, o, accessAsShared, true); err != nil {
			return err
		}
	}
	if o.Bool("router:external") {
		return p.syncWildcardPolicy(ctx, tx, o, accessAsExternal, true)
	}
	return nil
}

// afterUpdateNetwork follows changes of shared and router:external with
// their wildcard RBAC policies; unsharing a network other projects use
// is refused.
func (p *Plugin) afterUpdateNetwork(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	if old.Bool("shared") != updated.Bool("shared") {
		if err := p.syncWildcardPolicy(ctx, tx, updated, accessAsShared, updated.Bool("shared")); err != nil {
			return err
		}
	}
	if updated.Resource().Attr("router:external") != nil && old.Bool("router:external") != updated.Bool("router:external") {
		return p.syncWildcardPolicy(ctx, tx, updated, accessAsExternal, updated.Bool("router:external"))
	}
	return nil
}

// PolicyTargets implements plugin.PolicyTargeter: it adds the network's
// owner and its shared and external flags, as Neutron's policy engine
// does for "network:project_id" and "field:networks:shared=True".
// PolicyTargetKeys implements plugin.PolicyTargetKeyer: the keys of
// the network's facts PolicyTargets adds.
func (h *onNetwork) PolicyTargetKeys() []string { return networkTargetKeys }

var networkTargetKeys = []string{"network:project_id", "network:tenant_id", "shared", "router:external",
	"network:shared", "network:router:external"}

func (h *onNetwork) PolicyTargets(ctx context.Context, objs []*resource.Object) ([]map[string]any, error) {
	seen := make(map[string]bool, 1)
	ids := make([]string, 0, 1)
	for _, o := range objs {
		if id := o.String("network_id"); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	netDef := h.p.defs[apidef.Networks]
	var facts map[string]store.NetworkFacts
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		// Sharing is per caller: an RBAC policy may share the network
		// with this project only.
		facts, err = tx.NetworkFacts(ctx, ids, reqctx.CallerFrom(ctx).ProjectID, h.p.rbac.Enabled())
		return err
	})
	if err != nil {
		return nil, err
	}
	external := netDef.Attr("router:external") != nil
	// Objects on one network share its target entries: callers only
	// read them.
	byNet := make(map[string]map[string]any, len(facts))
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		id := o.String("network_id")
		t, ok := byNet[id]
		if !ok {
			n, found := facts[id]
			if !found {
				return nil, NetworkNotFound(id)
			}
			ext := external && n.External
			t = map[string]any{
				"network:project_id":      n.ProjectID,
				"network:tenant_id":       n.ProjectID,
				"shared":                  n.Shared,
				"router:external":         ext,
				"network:shared":          n.Shared,
				"network:router:external": ext,
			}
			byNet[id] = t
		}
		out[i] = t
	}
	return out, nil
}

// NetworkNotFound is neutron-lib's NetworkNotFound.
func NetworkNotFound(id string) error {
	return fault.NotFound("NetworkNotFound", fmt.Sprintf("Network %s could not be found.", id))
}

// NetworkInUse is neutron-lib's NetworkInUse with the reason
// delete_network gives: the ports in the way.
func NetworkInUse(id string, portIDs []string) error {
	return fault.Conflict("NetworkInUse",
		"Unable to complete operation on network %s. There are one or more ports still in use on the network, id for these ports is: %s.",
		id, strings.Join(portIDs, ","))
}

func (p *Plugin) beforeCreateNetwork(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	tx.SetMemo(newNetworkMemo(o.ID()), true)
	o.Set("status", "ACTIVE")
	if err := p.oneDefaultExternalNetwork(ctx, tx, o.ID(), o); err != nil {
		return err
	}
	if err := p.ensureDefaultGroup(ctx, tx, o.String("project_id")); err != nil {
		return err
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.BeforeCreateNetwork(ctx, tx, o); err != nil {
			return err
		}
	}
	for _, d := range p.extDrivers {
		if err := d.ProcessCreateNetwork(ctx, tx, o); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plugin) beforeUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if err := p.oneDefaultExternalNetwork(ctx, tx, old.ID(), patch); err != nil {
		return err
	}
	if p.guard != nil {
		if err := p.guard.BeforeUpdateNetwork(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	for _, d := range p.extDrivers {
		if err := d.ProcessUpdateNetwork(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	if p.opts.ML2 != nil {
		return p.opts.ML2.BeforeUpdateNetwork(ctx, tx, old, patch)
	}
	return nil
}

// oneDefaultExternalNetwork refuses to make network id a default network
// (is_default, auto-allocated-topology) while another external network
// is the default, as Neutron's auto_allocate callback does.
func (p *Plugin) oneDefaultExternalNetwork(ctx context.Context, tx *store.Tx, id string, o *resource.Object) error {
	def := p.defs[apidef.Networks]
	if def.Attr("is_default") == nil || !o.Has("is_default") || !o.Bool("is_default") || def.Attr("router:external") == nil {
		return nil
	}
	others, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("router:external"), Values: []any{true}},
		{Attr: def.Attr("is_default"), Values: []any{true}},
	}, Sorts: []resource.SortKey{{Attr: def.Attr("id")}}, Limit: 2})
	if err != nil {
		return err
	}
	for _, n := range others {
		if n.ID() != id {
			return fault.Conflict("DefaultExternalNetworkExists", "A default external network already exists: %s.", n.ID())
		}
	}
	return nil
}

// beforeDeleteNetwork refuses to delete a network that still has user
// ports; the network's own ports (DHCP, distributed, floating IP agent
// gateways) and its subnets go with it.
func (p *Plugin) beforeDeleteNetwork(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if p.guard != nil {
		if err := p.guard.BeforeDeleteNetwork(ctx, tx, o); err != nil {
			return err
		}
	}
	portDef := p.defs[apidef.Ports]
	ports, err := tx.List(ctx, portDef, &resource.Query{
		Filters: []resource.Filter{{Attr: portDef.Attr("network_id"), Values: []any{o.ID()}}},
		Sorts:   []resource.SortKey{{Attr: portDef.Attr("id")}},
	})
	if err != nil {
		return err
	}
	var inUse []string
	for _, port := range ports {
		if !autoDeleteOwner(port.String("device_owner")) {
			inUse = append(inUse, port.ID())
		}
	}
	if len(inUse) > 0 {
		return NetworkInUse(o.ID(), inUse)
	}
	for _, port := range ports {
		if err := p.beforeDeletePort(ctx, tx, port); err != nil {
			return err
		}
		if err := tx.Delete(ctx, portDef, port.ID()); err != nil {
			return err
		}
	}
	subnetIDs, err := tx.Strings(ctx, apidef.Subnets, "id", "network_id", o.ID())
	if err != nil {
		return err
	}
	for _, id := range subnetIDs {
		tx.ForgetSubnet(id)
		if err := tx.Delete(ctx, p.defs[apidef.Subnets], id); err != nil {
			return err
		}
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.BeforeDeleteNetwork(ctx, tx, o); err != nil {
			return err
		}
	}
	return p.rbac.DeletePolicies(ctx, tx, "network", o.ID())
}

// networkAddressScopes fills ipv4_address_scope and ipv6_address_scope:
// the address scope of the pools the network's subnets come from.
func (p *Plugin) networkAddressScopes(ctx context.Context, tx *store.Tx, nets []*resource.Object) error {
	def := p.defs[apidef.Networks]
	if def.Attr("ipv4_address_scope") == nil {
		return nil
	}
	ids := make([]string, len(nets))
	for i, n := range nets {
		ids[i] = n.ID()
	}
	scopes, err := tx.NetworkAddressScopes(ctx, ids)
	if err != nil {
		return err
	}
	for _, n := range nets {
		n.Set("ipv4_address_scope", nil)
		n.Set("ipv6_address_scope", nil)
		for _, sc := range scopes[n.ID()] {
			n.Set(fmt.Sprintf("ipv%d_address_scope", sc.IPVersion), sc.ScopeID)
		}
	}
	return nil
}

// networkZones fills availability_zones from the DHCP agents hosting
// each network.
func (p *Plugin) networkZones(ctx context.Context, tx *store.Tx, nets []*resource.Object) error {
	if p.opts.NetworkZones == nil || nets[0].Resource().Attr("availability_zones") == nil {
		return nil
	}
	ids := make([]string, len(nets))
	for i, n := range nets {
		ids[i] = n.ID()
	}
	zones, err := p.opts.NetworkZones(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("availability zones of networks: %w", err)
	}
	for _, n := range nets {
		z := zones[n.ID()]
		if z == nil {
			z = []string{}
		}
		n.Set("availability_zones", z)
	}
	return nil
}
