package l3

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Floating IPs, as l3_db.py's _create_floatingip, _update_floatingip and
// _delete_floatingip make, associate and remove them.

// beforeCreateFloatingIP checks the external network, takes the address
// with the floating IP's own port, and resolves the association.
// floatingIPQoS checks a floating IP's new qos_policy_id (qos-fip): the
// caller must see the new policy and may only detach one it owns or that
// is shared with it. old is nil on create.
func (p *Plugin) floatingIPQoS(ctx context.Context, tx *store.Tx, old, o *resource.Object) error {
	if p.qos == nil || o.Resource().Attr("qos_policy_id") == nil || !o.Has("qos_policy_id") {
		return nil
	}
	next, _ := o.Get("qos_policy_id").(string)
	prev := ""
	if old != nil {
		prev, _ = old.Get("qos_policy_id").(string)
	}
	if next == prev {
		return nil
	}
	if prev != "" {
		if err := p.qos.CheckPolicyDetach(ctx, tx, prev); err != nil {
			return err
		}
	}
	if next != "" {
		return p.qos.CheckPolicyAttach(ctx, tx, next)
	}
	return nil
}

func (p *Plugin) beforeCreateFloatingIP(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := p.floatingIPQoS(ctx, tx, nil, o); err != nil {
		return err
	}
	// A floating IP's dns_name and dns_domain are only for an external DNS
	// service to publish; without one (Neutrino drives none) Neutron keeps
	// neither and shows them empty.
	for _, a := range []string{"dns_name", "dns_domain"} {
		if o.Resource().Attr(a) != nil {
			o.Set(a, "")
		}
	}
	netID := o.String("floating_network_id")
	network, err := p.visibleNetwork(ctx, tx, netID)
	if err != nil {
		return err
	}
	if !network.Bool("router:external") {
		return badFloatingIP("Network %s is not a valid external network", netID)
	}
	subnets, err := list(ctx, tx, p.subnetDef, "network_id", netID)
	if err != nil {
		return err
	}
	hasV4 := false
	for _, s := range subnets {
		hasV4 = hasV4 || s.Int("ip_version") == 4
	}
	if !hasV4 {
		return badFloatingIP("Network %s does not contain any IPv4 subnet", netID)
	}
	if o.Get("fixed_ip_address") != nil && o.Get("port_id") == nil {
		return badFloatingIP("fixed_ip_address cannot be specified without a port_id")
	}
	fixed := map[string]any{}
	if s, ok := o.Get("subnet_id").(string); ok {
		fixed["subnet_id"] = s
	}
	if a, ok := o.Get("floating_ip_address").(string); ok {
		fixed["ip_address"] = a
	}
	values := map[string]any{"project_id": "", "network_id": netID, "admin_state_up": true,
		"device_id": o.ID(), "device_owner": ownerFloatingIP, "name": ""}
	if len(fixed) > 0 {
		values["fixed_ips"] = []any{fixed}
	}
	port, err := p.core.CreatePortIn(ctx, tx, newObject(p.portDef, values))
	if err != nil {
		return err
	}
	var address string
	for _, f := range fixedIPs(port) {
		if isIPv4(f.ip) {
			address = f.ip
			break
		}
	}
	if address == "" {
		return fault.New(400, "ExternalIpAddressExhausted", "Unable to find any IP address on external network %s.", netID)
	}
	status := resource.New(p.portDef)
	status.Set("id", port.ID())
	status.Set("status", "N/A")
	if err := tx.Update(ctx, status); err != nil {
		return err
	}
	o.Set("floating_ip_address", address)
	o.Set("floating_port_id", port.ID())
	o.Set("status", fipStatusDown)
	o.Set("router_id", nil)
	if o.Get("port_id") == nil {
		o.Set("port_id", nil)
		o.Set("fixed_ip_address", nil)
		return nil
	}
	return p.associate(ctx, tx, o, o, o.String("port_id"), o.Get("fixed_ip_address"))
}

func (p *Plugin) afterCreateFloatingIP(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	id, _ := o.Get("router_id").(string)
	return p.notify(ctx, tx, id)
}

// associate resolves an association of floating IP fip with a port (and
// one of its fixed IPs) into patch: the fixed IP, and the router that
// connects the port's subnet to the floating IP's network. It refuses a
// fixed IP that already has a floating IP on that network.
func (p *Plugin) associate(ctx context.Context, tx *store.Tx, fip, patch *resource.Object, portID string, wantIP any) error {
	// Serialize associations with one port, so that two floating IPs
	// cannot both pass the check below.
	if _, err := tx.LockRow(ctx, "ports", portID); err != nil {
		return err
	}
	port, err := p.visiblePort(ctx, tx, portID, false)
	if err != nil {
		return err
	}
	caller := reqctx.CallerFrom(ctx)
	if port.String("project_id") != fip.String("project_id") && !caller.IsAdmin {
		return badFloatingIP("Cannot process floating IP association with Port %s, since that port is owned by a different project", portID)
	}
	if strings.HasPrefix(port.String("device_owner"), "network:") {
		return badFloatingIP("Port %s is unable to be assigned a floating IP", portID)
	}
	var address, subnetID string
	if ip, ok := wantIP.(string); ok && ip != "" {
		if !isIPv4(ip) {
			return badFloatingIP("Cannot process floating IP association with %s, since that is not an IPv4 address", ip)
		}
		for _, f := range fixedIPs(port) {
			if f.ip == ip {
				address, subnetID = f.ip, f.subnetID
			}
		}
		if subnetID == "" {
			return badFloatingIP("Port %s does not have fixed ip %s", portID, ip)
		}
	} else {
		var v4 []fixedIP
		for _, f := range fixedIPs(port) {
			if isIPv4(f.ip) {
				v4 = append(v4, f)
			}
		}
		if len(v4) == 0 {
			return badFloatingIP("Cannot add floating IP to port %s that has no fixed IPv4 addresses", portID)
		}
		if len(v4) > 1 {
			return badFloatingIP("Port %s has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP", portID)
		}
		address, subnetID = v4[0].ip, v4[0].subnetID
	}
	routerID, err := p.routerForFloatingIP(ctx, tx, port, subnetID, fip.String("floating_network_id"))
	if err != nil {
		return err
	}
	if fip.Get("port_id") != portID || fip.Get("fixed_ip_address") != address || fip == patch {
		others, err := list(ctx, tx, p.fipDef, "port_id", portID)
		if err != nil {
			return err
		}
		for _, other := range others {
			if other.ID() != fip.ID() && other.String("floating_network_id") == fip.String("floating_network_id") &&
				other.Get("fixed_ip_address") == address {
				return fault.Conflict("FloatingIPPortAlreadyAssociated",
					"Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
					fip.String("floating_ip_address"), fip.ID(), portID, address, fip.String("floating_network_id"))
			}
		}
	}
	patch.Set("port_id", portID)
	patch.Set("fixed_ip_address", address)
	patch.Set("router_id", routerID)
	return nil
}

// routerForFloatingIP is get_router_for_floatingip: among the routers
// with an interface on the subnet and a gateway on the external network,
// the one whose interface holds the subnet's gateway IP, else the first.
func (p *Plugin) routerForFloatingIP(ctx context.Context, tx *store.Tx, port *resource.Object, subnetID, extNetID string) (string, error) {
	subnet, err := p.getSubnet(ctx, tx, subnetID)
	if err != nil {
		return "", err
	}
	// The router interfaces on the port's network (a handful), not every
	// address of the subnet.
	ifaces, err := tx.List(ctx, p.portDef, &resource.Query{Filters: []resource.Filter{
		{Attr: p.portDef.Attr("network_id"), Values: []any{port.String("network_id")}},
		{Attr: p.portDef.Attr("device_owner"), Values: []any{ownerInterface, ownerHAInterface, "network:router_interface_distributed"}},
	}, Sorts: []resource.SortKey{{Attr: p.portDef.Attr("id")}}})
	if err != nil {
		return "", err
	}
	var routerIDs []string
	routerIP := map[string]string{}
	for _, iface := range ifaces {
		for _, f := range fixedIPs(iface) {
			if f.subnetID != subnetID {
				continue
			}
			rid := iface.String("device_id")
			routerIDs = append(routerIDs, rid)
			if _, seen := routerIP[rid]; !seen || f.ip == subnet.Get("gateway_ip") {
				routerIP[rid] = f.ip
			}
		}
	}
	gws, err := list(ctx, tx, p.portDef, "device_id", routerIDs...)
	if err != nil {
		return "", err
	}
	first := ""
	for _, gw := range gws { // sorted by id, so the choice is stable
		if gw.String("device_owner") != ownerGateway || gw.String("network_id") != extNetID {
			continue
		}
		rid := gw.String("device_id")
		if routerIP[rid] == subnet.Get("gateway_ip") {
			return rid, nil
		}
		if first == "" {
			first = rid
		}
	}
	if first != "" {
		return first, nil
	}
	return "", fault.NotFound("ExternalGatewayForFloatingIPNotFound",
		"External network "+extNetID+" is not reachable from subnet "+subnetID+".  Therefore, cannot associate Port "+port.ID()+" with a Floating IP.")
}

func (p *Plugin) beforeUpdateFloatingIP(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if err := p.floatingIPQoS(ctx, tx, old, patch); err != nil {
		return err
	}
	if patch.Get("fixed_ip_address") != nil && !patch.Has("port_id") {
		return badFloatingIP("fixed_ip_address cannot be specified without a port_id")
	}
	if len(patch.Present()) == 0 {
		// An empty update ({"floatingip": {}}) dissociates, as in
		// Neutron: it keeps the port only for a body that changes
		// something else.
		patch.Set("port_id", nil)
	}
	oldRouter, _ := old.Get("router_id").(string)
	// As Neutron's _update_fip_assoc: the router before this update.
	if oldRouter != "" {
		patch.Set("last_known_router_id", oldRouter)
	} else {
		patch.Set("last_known_router_id", nil)
	}
	if !patch.Has("port_id") {
		return nil
	}
	if portID, ok := patch.Get("port_id").(string); ok && portID != "" {
		if p.pfDef != nil {
			n, err := tx.CountWhere(ctx, "port_forwardings", map[string]any{"floatingip_id": old.ID()})
			if err != nil {
				return err
			}
			if n > 0 {
				return fipInUseByPortForwarding(old.ID())
			}
		}
		if err := p.associate(ctx, tx, old, patch, portID, patch.Get("fixed_ip_address")); err != nil {
			return err
		}
	} else {
		patch.Set("port_id", nil)
		patch.Set("fixed_ip_address", nil)
		if n, err := tx.CountWhere(ctx, "port_forwardings", map[string]any{"floatingip_id": old.ID()}); err != nil || n == 0 {
			patch.Set("router_id", nil)
		} else {
			patch.Set("router_id", oldRouter)
		}
	}
	newRouter, _ := patch.Get("router_id").(string)
	return p.notify(ctx, tx, oldRouter, newRouter)
}

// beforeDeleteFloatingIP refuses while port forwardings use the floating
// IP, and removes its port.
func (p *Plugin) beforeDeleteFloatingIP(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if p.pfDef != nil {
		n, err := tx.CountWhere(ctx, "port_forwardings", map[string]any{"floatingip_id": o.ID()})
		if err != nil {
			return err
		}
		if n > 0 {
			return fipInUseByPortForwarding(o.ID())
		}
	}
	port, err := tx.Get(ctx, p.portDef, o.String("floating_port_id"), false)
	if err == nil {
		if err := p.core.DeletePortIn(ctx, tx, port); err != nil {
			return err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	id, _ := o.Get("router_id").(string)
	return p.notify(ctx, tx, id)
}

// afterReadFloatingIPs fills port_details and port_forwardings, one
// query each for any number of floating IPs.
func (p *Plugin) afterReadFloatingIPs(ctx context.Context, tx *store.Tx, fips []*resource.Object) error {
	details := p.fipDef.Attr("port_details") != nil
	pfs := p.fipDef.Attr("port_forwardings") != nil && p.pfDef != nil
	if details {
		var portIDs []string
		for _, f := range fips {
			if id, _ := f.Get("port_id").(string); id != "" {
				portIDs = append(portIDs, id)
			}
		}
		ports, err := list(ctx, tx, p.portDef, "id", portIDs...)
		if err != nil {
			return err
		}
		byID := map[string]*resource.Object{}
		for _, port := range ports {
			byID[port.ID()] = port
		}
		for _, f := range fips {
			id, _ := f.Get("port_id").(string)
			port := byID[id]
			if port == nil {
				f.Set("port_details", nil)
				continue
			}
			d := map[string]any{}
			for _, k := range []string{"name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner"} {
				d[k] = port.Get(k)
			}
			f.Set("port_details", d)
		}
	}
	if pfs {
		ids := make([]string, len(fips))
		for i, f := range fips {
			ids[i] = f.ID()
		}
		rows, err := list(ctx, tx, p.pfDef, "floatingip_id", ids...)
		if err != nil {
			return err
		}
		byFIP := map[string][]any{}
		for _, pf := range rows {
			fillPorts(pf)
			byFIP[pf.String("floatingip_id")] = append(byFIP[pf.String("floatingip_id")], map[string]any{
				"id": pf.ID(), "internal_ip_address": pf.String("internal_ip_address"), "protocol": pf.String("protocol"),
				"internal_port": pf.Get("internal_port"), "external_port": pf.Get("external_port"),
				"internal_port_id": pf.String("internal_port_id"),
			})
		}
		for _, f := range fips {
			if l := byFIP[f.ID()]; l != nil {
				f.Set("port_forwardings", l)
			} else {
				f.Set("port_forwardings", []any{})
			}
		}
	}
	return nil
}

// BeforeDeletePort implements core.ServiceGuard: router and floating IP
// ports go only with their router or floating IP (ServicePortInUse); a
// port being deleted leaves its floating IPs unassociated and its port
// forwardings gone.
func (p *Plugin) BeforeDeletePort(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	switch owner := port.String("device_owner"); owner {
	case ownerInterface, ownerHAInterface, ownerGateway, ownerFloatingIP:
		table := "routers"
		if owner == ownerFloatingIP {
			table = "floatingips"
		}
		n, err := tx.CountWhere(ctx, table, map[string]any{"id": port.String("device_id")})
		if err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict("ServicePortInUse", "Port %s cannot be deleted directly via the port API: has device owner %s.",
				port.ID(), owner)
		}
	}
	if p.fipDef == nil {
		return nil
	}
	fips, err := list(ctx, tx, p.fipDef, "port_id", port.ID())
	if err != nil {
		return err
	}
	caller := reqctx.CallerFrom(ctx)
	var routerIDs []string
	for _, f := range fips {
		if !caller.IsAdmin && f.String("project_id") != caller.ProjectID {
			return fault.Conflict("FipAssociated",
				"Unable to complete the operation on port %s because the port still has an associated floating IP.", port.ID())
		}
		id, _ := f.Get("router_id").(string)
		routerIDs = append(routerIDs, id)
		patch := resource.New(p.fipDef)
		patch.Set("port_id", nil)
		patch.Set("fixed_ip_address", nil)
		patch.Set("router_id", nil)
		if _, err := p.fips.Write(ctx, tx, f, patch); err != nil {
			return err
		}
	}
	if p.pfDef != nil {
		pfs, err := list(ctx, tx, p.pfDef, "internal_port_id", port.ID())
		if err != nil {
			return err
		}
		for _, pf := range pfs {
			if err := tx.Delete(ctx, p.pfDef, pf.ID()); err != nil {
				return err
			}
			routerIDs = append(routerIDs, p.routerOfFloatingIP(ctx, tx, pf.String("floatingip_id")))
		}
	}
	return p.notify(ctx, tx, routerIDs...)
}

// BeforeUpdatePort implements core.ServiceGuard: a router interface's
// IPv4 addresses may not change, a port's address that a floating IP
// is associated with may not be taken away, and a router gateway port
// whose addresses change tells the router's agent.
func (p *Plugin) BeforeUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !patch.Has("fixed_ips") {
		return nil
	}
	if err := p.checkRouterPortIPs(ctx, tx, old, patch); err != nil {
		return err
	}
	if err := p.notifyGatewayIPChange(ctx, tx, old, patch); err != nil {
		return err
	}
	if p.fipDef == nil {
		return nil
	}
	fips, err := list(ctx, tx, p.fipDef, "port_id", old.ID())
	if err != nil || len(fips) == 0 {
		return err
	}
	internal, _ := fips[0].Get("fixed_ip_address").(string)
	if internal == "" {
		return nil
	}
	for _, f := range fixedIPs(patch) {
		if f.ip == internal {
			return nil
		}
	}
	return fault.NeutronBadRequest("port", "Cannot update the fixed_ips of the port "+old.ID()+
		", because its original fixed_ip has been associated to a floating ip")
}

func (p *Plugin) routerOfFloatingIP(ctx context.Context, tx *store.Tx, id string) string {
	f, err := tx.Get(ctx, p.fipDef, id, false)
	if err != nil {
		return ""
	}
	r, _ := f.Get("router_id").(string)
	return r
}

// CheckRouterDevice implements core.ServiceGuard, as
// _enforce_device_owner_not_router_intf_or_device_id does with an L3
// plugin: a device_id naming no router is allowed.
func (p *Plugin) CheckRouterDevice(ctx context.Context, tx *store.Tx, deviceID, projectID string) error {
	r, err := tx.Get(ctx, p.routerDef, deviceID, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.String("project_id") != projectID {
		return fault.Conflict("DeviceIDNotOwnedByTenant",
			"The following device_id %s is not owned by your project or matches another project router.", deviceID)
	}
	return nil
}

// BeforeDeleteNetwork implements core.ServiceGuard: an external network's
// unassociated floating IPs go with it (delete_disassociated_floatingips);
// associated ones and router gateways keep it in use.
func (p *Plugin) BeforeDeleteNetwork(ctx context.Context, tx *store.Tx, network *resource.Object) error {
	if p.fipDef == nil || !network.Bool("router:external") {
		return nil
	}
	fips, err := list(ctx, tx, p.fipDef, "floating_network_id", network.ID())
	if err != nil {
		return err
	}
	for _, f := range fips {
		if f.Get("port_id") != nil {
			continue
		}
		if err := p.beforeDeleteFloatingIP(ctx, tx, f); err != nil {
			return err
		}
		if err := tx.Delete(ctx, p.fipDef, f.ID()); err != nil {
			return err
		}
	}
	return nil
}

// BeforeUpdateNetwork implements core.ServiceGuard: a network with router
// gateways stays external (ExternalNetworkInUse).
func (p *Plugin) BeforeUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !old.Bool("router:external") || !patch.Has("router:external") || patch.Bool("router:external") {
		return nil
	}
	n, err := tx.CountWhere(ctx, "ports", map[string]any{"network_id": old.ID(), "device_owner": ownerGateway})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("ExternalNetworkInUse",
			"External network %s cannot be updated to be made non-external, since it has existing gateway ports.", old.ID())
	}
	return nil
}

// ownPortUpdate marks the context of the L3 plugin's own port updates,
// which notify the router themselves.
type ownPortUpdate struct{}

// notifyGatewayIPChange casts routers_updated for the router of a
// gateway port whose addresses a port update changes (PUT /ports/<id>
// with fixed_ips), as Neutron's _notify_gateway_port_ip_changed does:
// the agent moves the router's gateway address and its SNAT.
func (p *Plugin) notifyGatewayIPChange(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if old.String("device_owner") != ownerGateway || ctx.Value(ownPortUpdate{}) != nil {
		return nil
	}
	key := func(ips []fixedIP) []string {
		out := make([]string, len(ips))
		for i, f := range ips {
			out[i] = f.subnetID + " " + f.ip
		}
		slices.Sort(out)
		return out
	}
	if slices.Equal(key(fixedIPs(old)), key(fixedIPs(patch))) {
		return nil
	}
	return p.notify(ctx, tx, old.String("device_id"))
}
