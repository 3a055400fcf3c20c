package l3

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Router interfaces, as l3_db.py's add_router_interface and
// remove_router_interface attach and detach them.

// interfaceInfo is _validate_interface_info: exactly one of port_id and
// subnet_id (both are allowed on removal), each a UUID.
func interfaceInfo(body map[string]any, removal bool) (portID, subnetID string, err error) {
	rawPort, byPort := body["port_id"]
	rawSubnet, bySubnet := body["subnet_id"]
	if !byPort && !bySubnet {
		return "", "", badRouter("Either subnet_id or port_id must be specified")
	}
	for _, v := range []struct {
		given bool
		raw   any
		out   *string
	}{{byPort, rawPort, &portID}, {bySubnet, rawSubnet, &subnetID}} {
		if !v.given {
			continue
		}
		if err := resource.UUID(v.raw); err != nil {
			return "", "", badRouter("%s", err.Error())
		}
		*v.out = v.raw.(string)
	}
	if !removal && byPort && bySubnet {
		return "", "", badRouter("Cannot specify both subnet-id and port-id")
	}
	return portID, subnetID, nil
}

// interfaceReply is _make_router_interface_info.
func interfaceReply(routerID string, port *resource.Object, subnetIDs []string) map[string]any {
	return map[string]any{
		"id": routerID, "tenant_id": port.String("project_id"), "project_id": port.String("project_id"),
		"port_id": port.ID(), "network_id": port.String("network_id"),
		"subnet_id": subnetIDs[0], "subnet_ids": subnetIDs,
	}
}

// lockRouter reads a router for update, serializing interface changes of
// one router across servers.
func (p *Plugin) lockRouter(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	r, err := tx.Get(ctx, p.routerDef, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, RouterNotFound(id)
	}
	return r, err
}

func (p *Plugin) getSubnet(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	s, err := tx.Get(ctx, p.subnetDef, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, subnetNotFound(id)
	}
	return s, err
}

// AddRouterInterface attaches a subnet (with a new port holding the
// subnet's gateway IP) or an unused port to a router.
func (p *Plugin) AddRouterInterface(ctx context.Context, routerID string, body map[string]any) (any, error) {
	portID, subnetID, err := interfaceInfo(body, false)
	if err != nil {
		return nil, err
	}
	var reply map[string]any
	err = p.store.Write(ctx, func(tx *store.Tx) error {
		router, err := p.lockRouter(ctx, tx, routerID)
		if err != nil {
			return err
		}
		var port *resource.Object
		var subnetIDs []string
		if portID != "" {
			port, subnetIDs, err = p.addInterfaceByPort(ctx, tx, router, portID)
		} else {
			port, err = p.addInterfaceBySubnet(ctx, tx, router, subnetID)
			subnetIDs = []string{subnetID}
		}
		if err != nil {
			return err
		}
		reply = interfaceReply(routerID, port, subnetIDs)
		if err := bump(ctx, tx, router); err != nil {
			return err
		}
		return p.notify(ctx, tx, routerID)
	})
	return reply, err
}

// checkSubnetMode is _validate_subnet_address_mode.
func checkSubnetMode(s *resource.Object) error {
	if s.Int("ip_version") == 6 && s.Get("ipv6_ra_mode") == nil && s.Get("ipv6_address_mode") != nil {
		return badRouter("IPv6 subnet %s configured to receive RAs from an external router cannot be added to Neutron Router.", s.ID())
	}
	return nil
}

// checkNewSubnets is _check_for_dup_router_subnets: a router may have one
// port per subnet, and its subnets (all of its gateway network's) may
// not overlap.
func (p *Plugin) checkNewSubnets(ctx context.Context, tx *store.Tx, router *resource.Object, newSubnets []*resource.Object) error {
	ports, err := list(ctx, tx, p.portDef, "device_id", router.ID())
	if err != nil {
		return err
	}
	var routerSubnets, gwNets []string
	for _, port := range ports {
		for _, f := range fixedIPs(port) {
			for _, s := range newSubnets {
				if f.subnetID == s.ID() {
					return badRouter("Router already has a port on subnet %s", s.ID())
				}
			}
			if port.String("device_owner") == ownerGateway {
				gwNets = append(gwNets, port.String("network_id"))
			} else {
				routerSubnets = append(routerSubnets, f.subnetID)
			}
		}
	}
	existing, err := list(ctx, tx, p.subnetDef, "id", routerSubnets...)
	if err != nil {
		return err
	}
	gwSubnets, err := list(ctx, tx, p.subnetDef, "network_id", gwNets...)
	if err != nil {
		return err
	}
	for _, sub := range append(existing, gwSubnets...) {
		for _, s := range newSubnets {
			if overlaps(sub.String("cidr"), s.String("cidr")) {
				return badRouter("Cidr %s of subnet %s overlaps with cidr %s of subnet %s",
					s.String("cidr"), s.ID(), sub.String("cidr"), sub.ID())
			}
		}
	}
	return nil
}

func overlaps(a, b string) bool {
	pa, err1 := netip.ParsePrefix(a)
	pb, err2 := netip.ParsePrefix(b)
	return err1 == nil && err2 == nil && pa.Overlaps(pb)
}

func (p *Plugin) addInterfaceBySubnet(ctx context.Context, tx *store.Tx, router *resource.Object, subnetID string) (*resource.Object, error) {
	subnet, err := p.getSubnet(ctx, tx, subnetID)
	if err != nil {
		return nil, err
	}
	gwIP, _ := subnet.Get("gateway_ip").(string)
	if gwIP == "" {
		return nil, badRouter("Subnet for router interface must have a gateway IP")
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && subnet.String("project_id") != caller.ProjectID {
		// Only a network shared with the project by an RBAC policy naming
		// it may be attached by another project (LP-1757482, LP-1975603);
		// a globally shared one is refused, and one the project cannot
		// see at all is not found.
		n, err := tx.CountWhere(ctx, "rbac_policies", map[string]any{"object_type": "network",
			"object_id": subnet.String("network_id"), "action": "access_as_shared", "target_tenant": caller.ProjectID})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			network, err := tx.Get(ctx, p.netDef, subnet.String("network_id"), false)
			if err != nil {
				return nil, err
			}
			if !network.Bool("shared") && !network.Bool("router:external") && network.String("project_id") != caller.ProjectID {
				return nil, subnetNotFound(subnetID)
			}
			return nil, badRouter("Cannot add interface to router because subnet %s is not owned by project making the request", subnetID)
		}
	}
	if err := checkSubnetMode(subnet); err != nil {
		return nil, err
	}
	if err := p.checkNewSubnets(ctx, tx, router, []*resource.Object{subnet}); err != nil {
		return nil, err
	}
	if subnet.Int("ip_version") == 6 {
		// Another IPv6 prefix on a network the router has an IPv6
		// interface on joins that interface's port.
		port, err := p.ipv6InterfacePort(ctx, tx, router, subnet.String("network_id"), "")
		if err != nil {
			return nil, err
		}
		if port != nil {
			ips, _ := port.Get("fixed_ips").([]any)
			patch := resource.New(p.portDef)
			patch.Set("fixed_ips", append(slices.Clone(ips), map[string]any{"subnet_id": subnetID, "ip_address": gwIP}))
			return p.core.UpdatePortIn(ctx, tx, port, patch)
		}
	}
	values := map[string]any{
		"project_id": router.String("project_id"), "network_id": subnet.String("network_id"),
		"fixed_ips": []any{map[string]any{"ip_address": gwIP, "subnet_id": subnetID}}, "admin_state_up": true,
		"device_id": router.ID(), "device_owner": ownerInterface, "name": "",
	}
	if err := p.bindToRouterHost(ctx, tx, router.ID(), values); err != nil {
		return nil, err
	}
	return p.core.CreatePortIn(ctx, tx, newObject(p.portDef, values))
}

// bindToRouterHost puts into a new router port's values the host of the
// L3 agent hosting the router, when it has one: the port is bound there
// as it is created, and sync_routers has nothing to write.
func (p *Plugin) bindToRouterHost(ctx context.Context, tx *store.Tx, routerID string, values map[string]any) error {
	if p.portDef.Attr("binding:host_id") == nil {
		return nil
	}
	host, err := p.routerHost(ctx, tx, routerID)
	if err != nil || host == "" {
		return err
	}
	values["binding:host_id"] = host
	return nil
}

func (p *Plugin) addInterfaceByPort(ctx context.Context, tx *store.Tx, router *resource.Object, portID string) (*resource.Object, []string, error) {
	port, err := p.visiblePort(ctx, tx, portID, true)
	if err != nil {
		return nil, nil, err
	}
	if port.String("device_id") != "" {
		return nil, nil, portInUse(port)
	}
	ips := fixedIPs(port)
	if len(ips) == 0 {
		return nil, nil, badRouter("Router port must have at least one fixed IP")
	}
	if hasIPv6(port) {
		other, err := p.ipv6InterfacePort(ctx, tx, router, port.String("network_id"), port.ID())
		if err != nil {
			return nil, nil, err
		}
		if other != nil {
			return nil, nil, badRouter("Router already contains IPv6 port %s belonging to network id %s. Only one IPv6 port from the same network subnet can be connected to a router.",
				other.ID(), other.String("network_id"))
		}
	}
	var subnetIDs []string
	for _, f := range ips {
		if !slices.Contains(subnetIDs, f.subnetID) {
			subnetIDs = append(subnetIDs, f.subnetID)
		}
	}
	subnets, err := list(ctx, tx, p.subnetDef, "id", subnetIDs...)
	if err != nil {
		return nil, nil, err
	}
	v4 := 0
	for _, s := range subnets {
		if err := checkSubnetMode(s); err != nil {
			return nil, nil, err
		}
		if s.Int("ip_version") == 4 {
			v4++
		}
	}
	if err := p.checkNewSubnets(ctx, tx, router, subnets); err != nil {
		return nil, nil, err
	}
	if v4 > 1 {
		return nil, nil, badRouter("Cannot have multiple IPv4 subnets on router port")
	}
	if err := checkPortInPools(ctx, port, subnets); err != nil {
		return nil, nil, err
	}
	values := map[string]any{"device_id": router.ID(), "device_owner": ownerInterface}
	if err := p.bindToRouterHost(ctx, tx, router.ID(), values); err != nil {
		return nil, nil, err
	}
	patch := resource.New(p.portDef)
	for k, v := range values {
		patch.Set(k, v)
	}
	next, err := p.core.UpdatePortIn(ctx, tx, port, patch)
	if err != nil {
		return nil, nil, err
	}
	return next, subnetIDs, nil
}

// checkPortInPools is _validate_port_in_range_or_admin: a project may
// attach its port with an address outside a subnet's allocation pools
// only on its own subnets.
func checkPortInPools(ctx context.Context, port *resource.Object, subnets []*resource.Object) error {
	caller := reqctx.CallerFrom(ctx)
	if caller.IsAdmin {
		return nil
	}
	for _, f := range fixedIPs(port) {
		for _, s := range subnets {
			if s.ID() != f.subnetID || s.String("project_id") == caller.ProjectID {
				continue
			}
			if !inPools(f.ip, s.Get("allocation_pools")) {
				return badRouter("Cannot add interface to router because specified port %s has an IP address out of the allocation pool of subnet %s, which is not owned by the project making the request", port.ID(), s.ID())
			}
		}
	}
	return nil
}

func inPools(ip string, pools any) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	items, _ := pools.([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		start, err1 := netip.ParseAddr(resource.PyStr(m["start"]))
		end, err2 := netip.ParseAddr(resource.PyStr(m["end"]))
		if err1 == nil && err2 == nil && start.Compare(a) <= 0 && a.Compare(end) <= 0 {
			return true
		}
	}
	return false
}

// RemoveRouterInterface detaches a router's interface on a subnet, or the
// given interface port, unless floating IPs or routes still need it.
func (p *Plugin) RemoveRouterInterface(ctx context.Context, routerID string, body map[string]any) (any, error) {
	portID, subnetID, err := interfaceInfo(body, true)
	if err != nil {
		return nil, err
	}
	var reply map[string]any
	err = p.store.Write(ctx, func(tx *store.Tx) error {
		router, err := p.lockRouter(ctx, tx, routerID)
		if err != nil {
			return err
		}
		ports, err := list(ctx, tx, p.portDef, "device_id", routerID)
		if err != nil {
			return err
		}
		var port *resource.Object
		var subnets []*resource.Object
		if portID != "" {
			i := slices.IndexFunc(ports, func(o *resource.Object) bool {
				return o.ID() == portID && o.String("device_owner") == ownerInterface
			})
			if i < 0 {
				return fault.NotFound("RouterInterfaceNotFound",
					"Router "+routerID+" does not have an interface with id "+portID)
			}
			port = ports[i]
			var ids []string
			for _, f := range fixedIPs(port) {
				ids = append(ids, f.subnetID)
			}
			if subnetID != "" && !slices.Contains(ids, subnetID) {
				return fault.New(400, "SubnetMismatchForPort",
					"Subnet on port %s does not match the requested subnet %s.", portID, subnetID)
			}
			if subnets, err = list(ctx, tx, p.subnetDef, "id", ids...); err != nil {
				return err
			}
		} else {
			subnet, err := p.getSubnet(ctx, tx, subnetID)
			if err != nil {
				return err
			}
			for _, o := range ports {
				if o.String("device_owner") != ownerInterface {
					continue
				}
				for _, f := range fixedIPs(o) {
					if f.subnetID == subnetID {
						port = o
					}
				}
			}
			if port == nil {
				return fault.NotFound("RouterInterfaceNotFoundForSubnet",
					"Router "+routerID+" has no interface on subnet "+subnetID)
			}
			subnets = []*resource.Object{subnet}
		}
		for _, s := range subnets {
			if err := p.checkInterfaceNotInUse(ctx, tx, router, s); err != nil {
				return err
			}
			if err := p.checkInterfaceNotUsedByNDP(ctx, tx, router, s); err != nil {
				return err
			}
		}
		if held := fixedIPs(port); portID == "" && len(held) > 1 {
			// A multi-prefix IPv6 interface loses only this prefix.
			var rest []any
			for _, f := range held {
				if f.subnetID != subnetID {
					rest = append(rest, map[string]any{"subnet_id": f.subnetID, "ip_address": f.ip})
				}
			}
			patch := resource.New(p.portDef)
			patch.Set("fixed_ips", rest)
			if _, err := p.core.UpdatePortIn(ctx, tx, port, patch); err != nil {
				return err
			}
		} else if err := p.core.DeletePortIn(ctx, tx, port); err != nil {
			return err
		}
		ids := make([]string, len(subnets))
		for i, s := range subnets {
			ids[i] = s.ID()
		}
		reply = interfaceReply(routerID, port, ids)
		if err := bump(ctx, tx, router); err != nil {
			return err
		}
		return p.notify(ctx, tx, routerID)
	})
	return reply, err
}

// checkInterfaceNotInUse refuses to detach a subnet that a floating IP
// or port forwarding of the router reaches a port through
// (RouterInterfaceInUseByFloatingIP), or that a route's nexthop is on
// (RouterInterfaceInUseByRoute).
func (p *Plugin) checkInterfaceNotInUse(ctx context.Context, tx *store.Tx, router, subnet *resource.Object) error {
	cidr := subnet.String("cidr")
	if p.fipDef != nil {
		fips, err := list(ctx, tx, p.fipDef, "router_id", router.ID())
		if err != nil {
			return err
		}
		var fipIDs, portIDs []string
		for _, f := range fips {
			fipIDs = append(fipIDs, f.ID())
			if id, _ := f.Get("port_id").(string); id != "" {
				portIDs = append(portIDs, id)
			}
		}
		var pfs []*resource.Object
		if p.pfDef != nil {
			if pfs, err = list(ctx, tx, p.pfDef, "floatingip_id", fipIDs...); err != nil {
				return err
			}
			for _, pf := range pfs {
				portIDs = append(portIDs, pf.String("internal_port_id"))
			}
		}
		// A floating IP or forwarding needs the subnet when its internal
		// address is on it and its port holds an address there.
		ports, err := list(ctx, tx, p.portDef, "id", portIDs...)
		if err != nil {
			return err
		}
		onSubnet := map[string]bool{}
		for _, port := range ports {
			for _, f := range fixedIPs(port) {
				if f.subnetID == subnet.ID() {
					onSubnet[port.ID()] = true
				}
			}
		}
		for _, f := range fips {
			ip, _ := f.Get("fixed_ip_address").(string)
			port, _ := f.Get("port_id").(string)
			if ip != "" && inCIDR(ip, cidr) && onSubnet[port] {
				return interfaceInUseByFloatingIP(router.ID(), subnet.ID())
			}
		}
		for _, pf := range pfs {
			if inCIDR(pf.String("internal_ip_address"), cidr) && onSubnet[pf.String("internal_port_id")] {
				return interfaceInUseByFloatingIP(router.ID(), subnet.ID())
			}
		}
	}
	routes, _ := router.Get("routes").([]any)
	for _, it := range routes {
		nexthop, _ := it.(map[string]any)["nexthop"].(string)
		if inCIDR(nexthop, cidr) {
			return interfaceInUseByRoute(router.ID(), subnet.ID())
		}
	}
	return nil
}

// visiblePort reads a port the caller may see (its own, or one on a
// network it owns), else PortNotFound, as Neutron's get_port with the
// caller's context answers.
func (p *Plugin) visiblePort(ctx context.Context, tx *store.Tx, id string, forUpdate bool) (*resource.Object, error) {
	port, err := tx.Get(ctx, p.portDef, id, forUpdate)
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
	network, err := tx.Get(ctx, p.netDef, port.String("network_id"), false)
	if err != nil {
		return nil, err
	}
	if network.String("project_id") != caller.ProjectID {
		return nil, portNotFound(id)
	}
	return port, nil
}

func hasIPv6(port *resource.Object) bool {
	for _, f := range fixedIPs(port) {
		if a, err := netip.ParseAddr(f.ip); err == nil && a.Is6() {
			return true
		}
	}
	return false
}

// ipv6InterfacePort is the router's interface port (other than skip) on
// the network that has an IPv6 address, or nil: a router has one such
// port per network.
func (p *Plugin) ipv6InterfacePort(ctx context.Context, tx *store.Tx, router *resource.Object, networkID, skip string) (*resource.Object, error) {
	ports, err := list(ctx, tx, p.portDef, "device_id", router.ID())
	if err != nil {
		return nil, err
	}
	for _, port := range ports {
		if port.ID() != skip && port.String("device_owner") == ownerInterface && port.String("network_id") == networkID && hasIPv6(port) {
			return port, nil
		}
	}
	return nil, nil
}

// visibleNetwork reads a network the caller may see (its own, a shared
// one, or one an RBAC policy of either action opens to its project or to
// every project), else
// NetworkNotFound, as Neutron's _get_network with the caller's context.
func (p *Plugin) visibleNetwork(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	network, err := tx.Get(ctx, p.netDef, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, networkNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	caller := reqctx.CallerFrom(ctx)
	if caller.IsAdmin || network.String("project_id") == caller.ProjectID || network.Bool("shared") {
		return network, nil
	}
	// router:external alone does not make a network visible: an
	// access_as_external policy may name one project only.
	n, err := tx.RBACTargets(ctx, "network", id, caller.ProjectID)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, networkNotFound(id)
	}
	return network, nil
}
