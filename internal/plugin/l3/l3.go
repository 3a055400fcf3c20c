// Package l3 is Neutrino's L3 service plugin, the API and database half
// of Neutron's router service (neutron/db/l3_db.py, l3_gwmode_db.py,
// extraroute_db.py, the ha and distributed attributes of l3_hamode_db.py
// and l3_dvr_db.py, and neutron/services/portforwarding): routers with
// their gateway, interfaces and extra routes; floating IPs; floating IP
// port forwardings; floating IP pools.
//
// It makes ports through the core plugin inside its own transactions,
// records a notification for the L3 agents in every transaction that
// changes what an agent would plumb, and serves the agents' calls
// (SyncRouters, ExternalNetworkID, UpdateFloatingIPStatuses).
//
// Options read: [DEFAULT] enable_snat_by_default, router_distributed,
// l3_ha and [quotas] quota_router, quota_floatingip, quota_router_route.
package l3

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Device owners of the ports the L3 plugin makes.
const (
	ownerInterface   = ipam.DeviceOwnerRouterInterface
	ownerGateway     = ipam.DeviceOwnerRouterGateway
	ownerFloatingIP  = "network:floatingip"
	ownerHAInterface = ipam.DeviceOwnerHAReplicatedIntf
)

// Options are the L3 plugin's settings, from the configuration.
type Options struct {
	// EnableSNATByDefault is [DEFAULT] enable_snat_by_default: a gateway's
	// enable_snat when the request gives none.
	EnableSNATByDefault bool
	// RouterDistributed is [DEFAULT] router_distributed: a new router's
	// distributed when the request gives none.
	RouterDistributed bool
	// L3HA is [DEFAULT] l3_ha: a new router's ha when the request gives
	// none.
	L3HA bool
	// MaxRoutes is [quotas] quota_router_route, the routes a router may
	// have; negative for no limit.
	MaxRoutes int
	// Quota enforces the router and floatingip quotas; nil for none.
	Quota generic.Quota
	// Outbox records notifications to the L3 agents; nil records none.
	Outbox change.Outbox
	// ConntrackHelpers is [DEFAULT] allowed_conntrack_helpers: the
	// protocols each conntrack helper may be used with.
	ConntrackHelpers map[string][]string
	// HANetCIDR, HANetworkType and HANetworkPhysicalName are [DEFAULT]
	// l3_ha_net_cidr, l3_ha_network_type and l3_ha_network_physical_name:
	// the HA network's subnet and segment.
	HANetCIDR, HANetworkType, HANetworkPhysicalName string
	// EnableNDPProxyByDefault is [DEFAULT] enable_ndp_proxy_by_default:
	// a new router's enable_ndp_proxy when the request gives none and its
	// gateway's network supports NDP proxies.
	EnableNDPProxyByDefault bool
}

// Core is what the L3 plugin needs of the core plugin: making, changing
// and removing ports inside the L3 plugin's transactions.
type Core interface {
	CreatePortIn(ctx context.Context, tx *store.Tx, o *resource.Object) (*resource.Object, error)
	UpdatePortIn(ctx context.Context, tx *store.Tx, port, patch *resource.Object) (*resource.Object, error)
	DeletePortIn(ctx context.Context, tx *store.Tx, port *resource.Object) error
}

// QoSPolicies is what the L3 plugin needs of the QoS plugin for the
// qos-fip and qos-gateway-ip extensions: whether the caller may attach a
// policy (one it can see) and detach one (its own or one shared with it).
type QoSPolicies interface {
	CheckPolicyAttach(ctx context.Context, tx *store.Tx, policyID string) error
	CheckPolicyDetach(ctx context.Context, tx *store.Tx, policyID string) error
}

// Plugin is the L3 service plugin.
type Plugin struct {
	opts  Options
	store *store.Store
	core  Core
	// qos checks QoS policies given to floating IPs and gateways; nil
	// without the QoS plugin.
	qos QoSPolicies

	routerDef, fipDef, pfDef, cthDef    *resource.Resource
	portDef, subnetDef, netDef, poolDef *resource.Resource
	subnetpoolDef, ndpDef               *resource.Resource

	routers  *generic.Handler
	fips     *generic.Handler
	pfs      *generic.Handler
	cths     *generic.Handler
	ndps     *generic.Handler
	handlers map[string]plugin.Handler

	// scheduler places routers on L3 agents; nil without agents.
	scheduler Scheduler
	// flavors resolves routers' flavors; nil without the flavors plugin.
	flavors Flavors
	// ha makes HA routers' networks.
	ha haCore
}

// New returns the L3 plugin serving the given (already restricted)
// resource definitions; defs must hold routers, and the core's networks,
// subnets and ports.
func New(s *store.Store, defs map[string]*resource.Resource, core Core, opts Options) *Plugin {
	p := &Plugin{opts: opts, store: s, core: core, handlers: map[string]plugin.Handler{},
		routerDef: defs[apidef.Routers], fipDef: defs[apidef.FloatingIPs], pfDef: defs[apidef.PortForwardings],
		portDef: defs[apidef.Ports], subnetDef: defs[apidef.Subnets], netDef: defs[apidef.Networks],
		poolDef: defs[apidef.FloatingIPPools], subnetpoolDef: defs[apidef.SubnetPools], cthDef: defs[apidef.ConntrackHelpers],
		ndpDef: defs[apidef.NDPProxies]}
	p.routers = generic.New(p.routerDef, s, generic.Hooks{
		NotFound:     RouterNotFound,
		BeforeCreate: p.beforeCreateRouter,
		AfterCreate:  p.afterWriteRouter,
		BeforeUpdate: p.beforeUpdateRouter,
		AfterUpdate: func(ctx context.Context, tx *store.Tx, _, r *resource.Object) error {
			return p.afterWriteRouter(ctx, tx, r)
		},
		AfterRead:       p.afterReadRouters,
		BeforeDelete:    p.beforeDeleteRouter,
		InitialRevision: 1,
		QuotaResource:   "router",
	})
	p.routers.Quota = opts.Quota
	p.handlers[apidef.Routers] = &routers{Handler: p.routers, p: p}
	if p.fipDef != nil {
		p.fips = generic.New(p.fipDef, s, generic.Hooks{
			NotFound:      FloatingIPNotFound,
			BeforeCreate:  p.beforeCreateFloatingIP,
			AfterCreate:   p.afterCreateFloatingIP,
			BeforeUpdate:  p.beforeUpdateFloatingIP,
			AfterRead:     p.afterReadFloatingIPs,
			BeforeDelete:  p.beforeDeleteFloatingIP,
			QuotaResource: "floatingip",
		})
		p.fips.Quota = opts.Quota
		p.handlers[apidef.FloatingIPs] = p.fips
	}
	if p.pfDef != nil && p.fipDef != nil {
		p.pfs = generic.New(p.pfDef, s, generic.Hooks{
			NotFound:     PortForwardingNotFound,
			BeforeCreate: p.beforeCreatePortForwarding,
			BeforeUpdate: p.beforeUpdatePortForwarding,
			AfterUpdate:  p.afterWritePortForwarding,
			AfterCreate: func(ctx context.Context, tx *store.Tx, o *resource.Object) error {
				return p.afterWritePortForwarding(ctx, tx, nil, o)
			},
			AfterRead:    p.afterReadPortForwardings,
			BeforeDelete: p.beforeDeletePortForwarding,
		})
		p.handlers[apidef.PortForwardings] = p.pfs
	}
	if p.poolDef != nil {
		p.handlers[apidef.FloatingIPPools] = &pools{p: p}
	}
	if p.cthDef != nil {
		p.cths = generic.New(p.cthDef, s, generic.Hooks{
			NotFound:     ConntrackHelperNotFound,
			BeforeCreate: p.beforeCreateConntrackHelper,
			AfterCreate:  p.afterWriteConntrackHelper,
			BeforeUpdate: p.beforeUpdateConntrackHelper,
			AfterUpdate: func(ctx context.Context, tx *store.Tx, _, o *resource.Object) error {
				return p.afterWriteConntrackHelper(ctx, tx, o)
			},
			BeforeDelete: p.afterWriteConntrackHelper,
		})
		p.handlers[apidef.ConntrackHelpers] = p.cths
	}
	if p.ndpDef != nil {
		p.ndps = generic.New(p.ndpDef, s, generic.Hooks{
			NotFound:     NDPProxyNotFound,
			BeforeCreate: p.beforeCreateNDPProxy,
			AfterCreate:  p.afterWriteNDPProxy,
			BeforeDelete: p.afterWriteNDPProxy,
		})
		p.handlers[apidef.NDPProxies] = p.ndps
	}
	return p
}

// Handlers returns the L3 plugin's handler for each collection it serves.
func (p *Plugin) Handlers() map[string]plugin.Handler { return p.handlers }

// routers serves routers and their member actions.
type routers struct {
	*generic.Handler
	p *Plugin
}

var _ plugin.Actioner = (*routers)(nil)

// Action implements plugin.Actioner.
func (h *routers) Action(ctx context.Context, id, action string, body map[string]any) (any, error) {
	switch action {
	case "add_router_interface":
		return h.p.AddRouterInterface(ctx, id, body)
	case "remove_router_interface":
		return h.p.RemoveRouterInterface(ctx, id, body)
	case "add_extraroutes", "remove_extraroutes":
		return h.p.editRoutes(ctx, id, action == "add_extraroutes", body)
	}
	return nil, fmt.Errorf("router action %q not implemented", action)
}

// notify records routers_updated for the given routers (empty ids are
// skipped) in tx. As Neutron's L3AgentNotifyAPI does with agent
// scheduling, each router is cast to the hosts of the L3 agents hosting
// it (none while it is unscheduled: scheduling tells the agent with
// router_added_to_agent); without a scheduler the notification is a
// fanout to every L3 agent.
func (p *Plugin) notify(ctx context.Context, tx *store.Tx, routerIDs ...string) error {
	if p.opts.Outbox == nil {
		return nil
	}
	var ids []string
	for _, id := range routerIDs {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	if p.scheduler == nil {
		args, err := json.Marshal(rpcapi.RoutersUpdatedArgs{Routers: ids})
		if err != nil {
			return err
		}
		return p.opts.Outbox.Record(ctx, tx, rpcapi.Notification{Topic: rpcapi.TopicL3Agent,
			Method: rpcapi.MethodRoutersUpdated, Fanout: true, Version: "1.0", Args: args})
	}
	hosts, err := p.scheduler.RouterHosts(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("hosts to notify of routers %v: %w", ids, err)
	}
	for _, id := range ids {
		for _, host := range hosts[id] {
			args, err := json.Marshal(rpcapi.RoutersUpdatedArgs{Routers: []string{id}})
			if err != nil {
				return err
			}
			if err := p.opts.Outbox.Record(ctx, tx, rpcapi.Notification{Topic: rpcapi.HostTopic(rpcapi.TopicL3Agent, host),
				Method: rpcapi.MethodRoutersUpdated, Version: "1.1", Args: args}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Plugin) notifyDeleted(ctx context.Context, tx *store.Tx, routerID string) error {
	if p.opts.Outbox == nil {
		return nil
	}
	args, err := json.Marshal(rpcapi.RouterDeletedArgs{RouterID: routerID})
	if err != nil {
		return err
	}
	return p.opts.Outbox.Record(ctx, tx, rpcapi.Notification{Topic: rpcapi.TopicL3Agent,
		Method: rpcapi.MethodRouterDeleted, Fanout: true, Version: "1.0", Args: args})
}

// list reads the objects of def whose attribute equals any of values, in
// one query; none for no values.
func list(ctx context.Context, tx *store.Tx, def *resource.Resource, attr string, values ...string) ([]*resource.Object, error) {
	if len(values) == 0 {
		return nil, nil
	}
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = v
	}
	return tx.List(ctx, def, &resource.Query{
		Filters: []resource.Filter{{Attr: def.Attr(attr), Values: vs}},
		Sorts:   []resource.SortKey{{Attr: def.Attr("id")}},
	})
}

// newObject returns an object of def with the given values and every
// other attribute's declared default, as the API fills a create.
func newObject(def *resource.Resource, values map[string]any) *resource.Object {
	o := resource.New(def)
	for _, a := range def.Attrs() {
		if v, ok := values[a.Name]; ok {
			o.SetAt(a.Index(), v)
		} else if a.AllowPost && a.Default != resource.NotSpecified && a.Storage == resource.Column {
			o.SetAt(a.Index(), a.Default)
		}
	}
	return o
}

// bump raises an object's revision_number and updated_at, for changes to
// what it shows that are stored elsewhere (a router's interfaces).
func bump(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	patch := resource.New(o.Resource())
	patch.Set("id", o.ID())
	patch.Set("revision_number", o.Int("revision_number")+1)
	patch.Set("updated_at", time.Now().UTC().Truncate(time.Second))
	o.Merge(patch)
	return tx.Update(ctx, patch)
}

// fixedIP is one address a port holds.
type fixedIP struct{ subnetID, ip string }

func fixedIPs(port *resource.Object) []fixedIP {
	items, _ := port.Get("fixed_ips").([]any)
	out := make([]fixedIP, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		s, _ := m["subnet_id"].(string)
		ip, _ := m["ip_address"].(string)
		out = append(out, fixedIP{s, ip})
	}
	return out
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// inCIDR reports whether address ip is inside cidr.
func inCIDR(ip, cidr string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	pfx, err := netip.ParsePrefix(cidr)
	return err == nil && pfx.Contains(a)
}

// visibleMap renders an object's visible attributes, for action replies
// that carry a whole resource ({"router": {...}}).
func visibleMap(o *resource.Object) map[string]any {
	m := map[string]any{}
	for _, a := range o.Resource().Attrs() {
		if !a.Visible {
			continue
		}
		v := o.Get(a.Name)
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(store.TimeFormat)
		}
		m[a.Name] = v
	}
	if _, ok := m["tenant_id"]; ok {
		m["tenant_id"] = o.Get("project_id")
	}
	return m
}

// Scheduler places routers on L3 agents; the agents plugin implements it.
type Scheduler interface {
	ScheduleRouterInZones(ctx context.Context, routerID string, azHints []string) (string, error)
	// UnbindRouter drops a router's agent bindings inside its delete.
	UnbindRouter(ctx context.Context, tx *store.Tx, routerID string) error
	// RouterAvailabilityZones returns, per router, the zones of the L3
	// agents hosting it: routers' availability_zones.
	RouterAvailabilityZones(ctx context.Context, tx *store.Tx, routerIDs []string) (map[string][]string, error)
	// RouterHosts returns, per router, the hosts of the administratively
	// up L3 agents hosting it: where routers_updated is cast.
	RouterHosts(ctx context.Context, tx *store.Tx, routerIDs []string) (map[string][]string, error)
}

// SetScheduler installs the L3 agent scheduler; call it before serving.
func (p *Plugin) SetScheduler(s Scheduler) { p.scheduler = s }

// Create creates routers and, once they are committed, places each on an
// L3 agent, as Neutron's L3 scheduler does when a router appears. A
// router no agent can take yet stays unscheduled: an L3 agent that
// starts later picks it up (router_auto_schedule).
func (h *routers) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	for _, o := range objs {
		if h.p.isHA(o) {
			if err := h.p.ensureHANetwork(ctx, o.String("project_id")); err != nil {
				return nil, err
			}
		}
	}
	out, err := h.Handler.Create(ctx, objs)
	if err != nil || h.p.scheduler == nil {
		return out, err
	}
	for _, r := range out {
		hints, _ := r.Get("availability_zone_hints").([]string)
		if _, err := h.p.scheduler.ScheduleRouterInZones(ctx, r.ID(), hints); err != nil {
			slog.WarnContext(ctx, "router created but not scheduled to an L3 agent", "router_id", r.ID(), "error", err)
		}
	}
	return out, nil
}

// Delete deletes a router, then its project's HA network when it was
// the project's last HA router.
func (h *routers) Delete(ctx context.Context, id string, ifRevision int) error {
	r, err := h.Handler.Get(adminContext(ctx), id)
	if err != nil {
		return err
	}
	if err := h.Handler.Delete(ctx, id, ifRevision); err != nil {
		return err
	}
	if !r.Bool("ha") {
		return nil
	}
	if err := h.p.releaseHANetwork(ctx, r.String("project_id")); err != nil {
		slog.WarnContext(ctx, "HA network of a deleted router's project not released", "router_id", id, "error", err)
	}
	return nil
}

// RouterExists reports whether a router with id exists (the agents
// plugin's router scheduling API asks).
func (p *Plugin) RouterExists(ctx context.Context, id string) (bool, error) {
	_, err := p.routers.Get(ctx, id)
	if fault.Is(err, "RouterNotFound") {
		return false, nil
	}
	return err == nil, err
}

// RouterIDs lists every router's id, for auto-scheduling.
func (p *Plugin) RouterIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		ids, err = tx.Strings(ctx, apidef.Routers, "id", "", nil)
		return err
	})
	return ids, err
}
