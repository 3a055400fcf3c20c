package l3

import (
	"context"
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Routers, as l3_db.py, l3_gwmode_db.py and extraroute_db.py make them.

func (p *Plugin) beforeCreateRouter(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := p.checkFlavorOnCreate(ctx, tx, o); err != nil {
		return err
	}
	o.Set("status", "ACTIVE")
	o.Set("enable_snat", p.opts.EnableSNATByDefault)
	o.Set("gw_port_id", nil)
	if o.Resource().Attr("routes") != nil {
		o.Set("routes", []any{})
	}
	for name, def := range map[string]bool{"distributed": p.opts.RouterDistributed, "ha": p.opts.L3HA} {
		if o.Resource().Attr(name) != nil && (!o.Has(name) || o.Get(name) == nil) {
			o.Set(name, def)
		}
	}
	info, _ := o.Get("external_gateway_info").(map[string]any)
	if err := p.setGateway(ctx, tx, o, nil, info, o); err != nil {
		return err
	}
	return p.ndpStateOnCreate(ctx, tx, o, info)
}

// afterWriteRouter tells the agents about a created or updated router.
func (p *Plugin) afterWriteRouter(ctx context.Context, tx *store.Tx, r *resource.Object) error {
	return p.notify(ctx, tx, r.ID())
}

func (p *Plugin) beforeUpdateRouter(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	for _, name := range []string{"distributed", "ha"} {
		if patch.Has(name) && patch.Get(name) == nil {
			patch.Unset(name) // convert_to_boolean_if_not_none: null keeps the value
		}
	}
	// The distributed and HA modes change only on a router that is (or
	// is being set) administratively down.
	up := old.Bool("admin_state_up")
	if patch.Has("admin_state_up") {
		up = patch.Bool("admin_state_up")
	}
	if patch.Has("distributed") && patch.Get("distributed") != old.Get("distributed") && up {
		return badRouter("Cannot change the 'distributed' attribute of active routers. Please set router admin_state_up to False prior to upgrade")
	}
	if patch.Has("ha") && patch.Get("ha") != old.Get("ha") && up {
		return badRouter("Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade")
	}
	if err := p.checkFlavorOnUpdate(ctx, tx, old, patch); err != nil {
		return err
	}
	if patch.Has("routes") {
		routes, _ := patch.Get("routes").([]any)
		if err := p.checkRoutes(ctx, tx, old, routes); err != nil {
			return err
		}
	}
	if patch.Has("external_gateway_info") {
		info, _ := patch.Get("external_gateway_info").(map[string]any)
		gw, err := p.gatewayPort(ctx, tx, old)
		if err != nil {
			return err
		}
		if err := p.ndpGatewayChange(ctx, tx, old, gw, info, patch); err != nil {
			return err
		}
		if err := p.setGateway(ctx, tx, old, gw, info, patch); err != nil {
			return err
		}
	}
	return p.ndpStateOnUpdate(ctx, tx, old, patch)
}

// gatewayPort reads a router's gateway port, or nil.
func (p *Plugin) gatewayPort(ctx context.Context, tx *store.Tx, router *resource.Object) (*resource.Object, error) {
	id, _ := router.Get("gw_port_id").(string)
	if id == "" {
		return nil, nil
	}
	port, err := tx.Get(ctx, p.portDef, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return port, err
}

// setGateway applies external_gateway_info (nil or {} clears it) to a
// router whose gateway port is gw, putting gw_port_id and enable_snat into
// patch: a gateway on another network, or on the same network with other
// addresses, replaces the port; clearing it deletes the port, unless
// floating IPs need it.
func (p *Plugin) setGateway(ctx context.Context, tx *store.Tx, router, gw *resource.Object, info map[string]any, patch *resource.Object) error {
	netID, _ := info["network_id"].(string)
	snat := p.opts.EnableSNATByDefault
	if s, ok := info["enable_snat"].(bool); ok {
		snat = s
	}
	patch.Set("enable_snat", snat)
	if err := p.setGatewayQoS(ctx, tx, router, info, patch); err != nil {
		return err
	}
	extIPs, ipsGiven := info["external_fixed_ips"].([]any)
	var network *resource.Object
	if netID != "" {
		var err error
		if network, err = p.visibleNetwork(ctx, tx, netID); err != nil {
			return err
		}
		if !network.Bool("router:external") {
			return badRouter("Network %s is not an external network", netID)
		}
		subnets, err := list(ctx, tx, p.subnetDef, "network_id", netID)
		if err != nil {
			return err
		}
		for _, it := range extIPs {
			ip, _ := it.(map[string]any)["ip_address"].(string)
			for _, s := range subnets {
				if gwIP, _ := s.Get("gateway_ip").(string); ip != "" && gwIP == ip {
					return badRouter("External IP %s is the same as the gateway IP", ip)
				}
			}
		}
	}
	if gw != nil && gw.String("network_id") == netID {
		if !ipsGiven || sameIPs(gw, extIPs) {
			return nil
		}
		// Same network, other addresses: the gateway port keeps its id.
		ips := resource.New(gw.Resource())
		ips.Set("fixed_ips", extIPs)
		_, err := p.core.UpdatePortIn(context.WithValue(ctx, ownPortUpdate{}, true), tx, gw, ips)
		return err
	}
	if gw != nil {
		n, err := tx.CountWhere(ctx, "floatingips", map[string]any{"router_id": router.ID()})
		if err != nil {
			return err
		}
		if n > 0 {
			return gatewayInUseByFloatingIP(router.ID(), gw.String("network_id"))
		}
		if err := p.core.DeletePortIn(ctx, tx, gw); err != nil {
			return fmt.Errorf("delete gateway port of router %s: %w", router.ID(), err)
		}
		patch.Set("gw_port_id", nil)
	}
	if netID == "" {
		return nil
	}
	values := map[string]any{"network_id": netID, "project_id": "", "name": "", "admin_state_up": true,
		"device_id": router.ID(), "device_owner": ownerGateway}
	if len(extIPs) > 0 {
		values["fixed_ips"] = extIPs
	}
	if err := p.bindToRouterHost(ctx, tx, router.ID(), values); err != nil {
		return err
	}
	port, err := p.core.CreatePortIn(ctx, tx, newObject(p.portDef, values))
	if err != nil {
		return err
	}
	patch.Set("gw_port_id", port.ID())
	return nil
}

// setGatewayQoS applies the gateway's qos_policy_id (qos-gateway-ip): a
// policy given replaces the gateway's, a gateway cleared loses it, and an
// update that does not name one keeps it.
func (p *Plugin) setGatewayQoS(ctx context.Context, tx *store.Tx, router *resource.Object, info map[string]any, patch *resource.Object) error {
	q, given := info["qos_policy_id"]
	if patch.Resource().Attr("gw_qos_policy_id") == nil {
		if given {
			return fault.BadRequest("Invalid input for external_gateway_info. Reason: Unexpected keys supplied: qos_policy_id.")
		}
		return nil
	}
	old, _ := router.Get("gw_qos_policy_id").(string)
	next := old
	switch {
	case len(info) == 0:
		next = ""
	case given:
		next, _ = q.(string)
	}
	if next == old {
		return nil
	}
	if p.qos != nil && old != "" {
		if err := p.qos.CheckPolicyDetach(ctx, tx, old); err != nil {
			return err
		}
	}
	if p.qos != nil && next != "" {
		if err := p.qos.CheckPolicyAttach(ctx, tx, next); err != nil {
			return err
		}
	}
	if next == "" {
		patch.Set("gw_qos_policy_id", nil)
	} else {
		patch.Set("gw_qos_policy_id", next)
	}
	return nil
}

// sameIPs reports whether the gateway port holds exactly the requested
// addresses (requests naming only a subnet match any address on it).
func sameIPs(gw *resource.Object, requested []any) bool {
	held := fixedIPs(gw)
	if len(held) != len(requested) {
		return false
	}
	for _, it := range requested {
		m, _ := it.(map[string]any)
		ip, _ := m["ip_address"].(string)
		sub, _ := m["subnet_id"].(string)
		found := false
		for _, h := range held {
			if (ip == "" || h.ip == ip) && (sub == "" || h.subnetID == sub) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// checkRoutes validates a router's new routes as _validate_routes does:
// each nexthop on a subnet the router has a port on, and not one of the
// router's own addresses; and no more than quota_router_route routes.
func (p *Plugin) checkRoutes(ctx context.Context, tx *store.Tx, router *resource.Object, routes []any) error {
	if p.opts.MaxRoutes >= 0 && len(routes) > p.opts.MaxRoutes {
		return fault.Conflict("OverQuota", "Quota exceeded for resources: ['router_route'].")
	}
	if len(routes) == 0 {
		return nil
	}
	ports, err := list(ctx, tx, p.portDef, "device_id", router.ID())
	if err != nil {
		return err
	}
	var subnetIDs, ips []string
	for _, port := range ports {
		for _, f := range fixedIPs(port) {
			subnetIDs = append(subnetIDs, f.subnetID)
			ips = append(ips, f.ip)
		}
	}
	subnets, err := list(ctx, tx, p.subnetDef, "id", subnetIDs...)
	if err != nil {
		return err
	}
	for _, it := range routes {
		nexthop, _ := it.(map[string]any)["nexthop"].(string)
		connected := false
		for _, s := range subnets {
			if inCIDR(nexthop, s.String("cidr")) {
				connected = true
			}
		}
		if !connected {
			return invalidRoutes(routes, "the nexthop is not connected with router")
		}
		for _, ip := range ips {
			if ip == nexthop {
				return invalidRoutes(routes, "the nexthop is used by router")
			}
		}
	}
	return nil
}

// afterReadRouters fills external_gateway_info from the gateway ports, in
// one query for any number of routers.
func (p *Plugin) afterReadRouters(ctx context.Context, tx *store.Tx, rs []*resource.Object) error {
	var gwIDs []string
	for _, r := range rs {
		if id, _ := r.Get("gw_port_id").(string); id != "" {
			gwIDs = append(gwIDs, id)
		}
	}
	ports, err := list(ctx, tx, p.portDef, "id", gwIDs...)
	if err != nil {
		return err
	}
	byID := make(map[string]*resource.Object, len(ports))
	for _, port := range ports {
		byID[port.ID()] = port
	}
	for _, r := range rs {
		id, _ := r.Get("gw_port_id").(string)
		gw := byID[id]
		if gw == nil {
			r.Set("external_gateway_info", nil)
			continue
		}
		ips := []any{}
		for _, f := range fixedIPs(gw) {
			ips = append(ips, map[string]any{"subnet_id": f.subnetID, "ip_address": f.ip})
		}
		info := map[string]any{"network_id": gw.String("network_id"), "external_fixed_ips": ips}
		if r.Resource().Attr("enable_snat") != nil {
			info["enable_snat"] = r.Bool("enable_snat")
		}
		if r.Resource().Attr("gw_qos_policy_id") != nil {
			info["qos_policy_id"] = r.Get("gw_qos_policy_id")
		}
		r.Set("external_gateway_info", info)
	}
	for _, r := range rs {
		showNDPState(r)
	}
	if err := p.fillConntrackHelpers(ctx, tx, rs); err != nil {
		return err
	}
	return p.routerZones(ctx, tx, rs)
}

// routerZones fills availability_zones from the L3 agents hosting each
// router; [] before an agent takes it, as in Neutron.
func (p *Plugin) routerZones(ctx context.Context, tx *store.Tx, rs []*resource.Object) error {
	if len(rs) == 0 || rs[0].Resource().Attr("availability_zones") == nil {
		return nil
	}
	zones := map[string][]string{}
	if p.scheduler != nil {
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.ID()
		}
		var err error
		if zones, err = p.scheduler.RouterAvailabilityZones(ctx, tx, ids); err != nil {
			return fmt.Errorf("availability zones of routers: %w", err)
		}
	}
	for _, r := range rs {
		z := zones[r.ID()]
		if z == nil {
			z = []string{}
		}
		r.Set("availability_zones", z)
	}
	return nil
}

// beforeDeleteRouter refuses to delete a router with interfaces
// (RouterInUse) and removes its gateway port.
func (p *Plugin) beforeDeleteRouter(ctx context.Context, tx *store.Tx, r *resource.Object) error {
	ports, err := list(ctx, tx, p.portDef, "device_id", r.ID())
	if err != nil {
		return err
	}
	var attached []string
	for _, port := range ports {
		if port.String("device_owner") == ownerInterface {
			attached = append(attached, port.ID())
		}
	}
	if len(attached) > 0 {
		return routerInUse(r.ID(), attached)
	}
	gw, err := p.gatewayPort(ctx, tx, r)
	if err != nil {
		return err
	}
	if gw != nil {
		n, err := tx.CountWhere(ctx, "floatingips", map[string]any{"router_id": r.ID()})
		if err != nil {
			return err
		}
		if n > 0 {
			return gatewayInUseByFloatingIP(r.ID(), gw.String("network_id"))
		}
		if err := p.ndpGatewayChange(ctx, tx, r, gw, nil, resource.New(r.Resource())); err != nil {
			return err
		}
	}
	for _, port := range ports {
		if err := p.core.DeletePortIn(ctx, tx, port); err != nil {
			return err
		}
	}
	if p.scheduler != nil {
		if err := p.scheduler.UnbindRouter(ctx, tx, r.ID()); err != nil {
			return err
		}
	}
	return p.notifyDeleted(ctx, tx, r.ID())
}

// editRoutes is add_extraroutes and remove_extraroutes: the router's
// routes merged with (or without) the given ones, validated and stored
// as an update of routes would be. The reply is {"router": {...}}.
func (p *Plugin) editRoutes(ctx context.Context, id string, add bool, body map[string]any) (any, error) {
	inner, _ := body["router"].(map[string]any)
	given, ok := inner["routes"]
	if !ok {
		return nil, fault.BadRequest("Unable to find 'routes' in request body")
	}
	converted, err := resource.ConvertValue(p.routerDef.Attr("routes"), given)
	if err != nil {
		var ve *resource.ValidationError
		if errors.As(err, &ve) {
			return nil, fault.BadRequest("%s", ve.Error())
		}
		return nil, fault.BadRequest("%s", err.Error())
	}
	requested, _ := converted.([]any)
	var updated *resource.Object
	err = p.store.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.Get(ctx, p.routerDef, id, true)
		if errors.Is(err, store.ErrNotFound) {
			return RouterNotFound(id)
		}
		if err != nil {
			return err
		}
		current, _ := old.Get("routes").([]any)
		routes := mergeRoutes(current, requested, add)
		if err := p.checkRoutes(ctx, tx, old, routes); err != nil {
			return err
		}
		patch := resource.New(p.routerDef)
		patch.Set("routes", routes)
		next, err := p.routers.Write(ctx, tx, old, patch)
		if err != nil {
			return err
		}
		if err := p.afterReadRouters(ctx, tx, []*resource.Object{next}); err != nil {
			return err
		}
		updated = next
		return p.notify(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"router": visibleMap(updated)}, nil
}

// mergeRoutes adds (or removes) routes to (from) current: exact
// duplicates merge, a route to remove that is absent is no error.
func mergeRoutes(current, given []any, add bool) []any {
	key := func(it any) string {
		m, _ := it.(map[string]any)
		return fmt.Sprint(m["destination"]) + " " + fmt.Sprint(m["nexthop"])
	}
	out := []any{}
	seen := map[string]bool{}
	drop := map[string]bool{}
	if !add {
		for _, r := range given {
			drop[key(r)] = true
		}
	}
	all := current
	if add {
		all = append(append([]any{}, current...), given...)
	}
	for _, r := range all {
		k := key(r)
		if seen[k] || drop[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// AfterSubnetUpdate is the core's subnet update hook: when a subnet's
// gateway_ip changes, the routers whose gateway port has an address on it
// are told (routers_updated), so their agents move the default route, as
// Neutron's _notify_subnet_gateway_ip_update does.
func (p *Plugin) AfterSubnetUpdate(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	was, _ := old.Get("gateway_ip").(string)
	now, _ := updated.Get("gateway_ip").(string)
	if was == now {
		return nil
	}
	ports, err := list(ctx, tx, p.portDef, "network_id", updated.String("network_id"))
	if err != nil {
		return fmt.Errorf("gateway ports of subnet %s: %w", updated.ID(), err)
	}
	var routers []string
	for _, port := range ports {
		if port.String("device_owner") != ownerGateway {
			continue
		}
		for _, f := range fixedIPs(port) {
			if f.subnetID == updated.ID() {
				routers = append(routers, port.String("device_id"))
				break
			}
		}
	}
	return p.notify(ctx, tx, routers...)
}
