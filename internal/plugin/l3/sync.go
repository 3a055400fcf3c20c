package l3

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The calls L3 agents make on the server (neutron/api/rpc/handlers/l3_rpc.py);
// the RPC layer maps them onto these methods.

// SyncRouters returns the routers with the given ids that are
// administratively up, as an L3 agent plumbs them (Neutron's
// get_sync_data with active=True): each with its gateway port,
// interfaces, floating IPs and their port forwardings, every port with
// its subnets, the other subnets of its network, their address scopes
// and the network's MTU. It reads each kind of object in one query
// however many routers are asked for; unknown ids are skipped.
func (p *Plugin) SyncRouters(ctx context.Context, routerIDs []string) ([]rpcapi.Router, error) {
	var out []rpcapi.Router
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		all, err := list(ctx, tx, p.routerDef, "id", routerIDs...)
		if err != nil {
			return err
		}
		var routers []*resource.Object
		var ids []string
		for _, r := range all {
			if r.Bool("admin_state_up") {
				routers = append(routers, r)
				ids = append(ids, r.ID())
			}
		}
		ports, err := list(ctx, tx, p.portDef, "device_id", ids...)
		if err != nil {
			return err
		}
		var netIDs []string
		for _, port := range ports {
			netIDs = append(netIDs, port.String("network_id"))
		}
		subnets, err := list(ctx, tx, p.subnetDef, "network_id", netIDs...)
		if err != nil {
			return err
		}
		nets, err := list(ctx, tx, p.netDef, "id", netIDs...)
		if err != nil {
			return err
		}
		var fips, pfs []*resource.Object
		if p.fipDef != nil {
			if fips, err = list(ctx, tx, p.fipDef, "router_id", ids...); err != nil {
				return err
			}
			if p.pfDef != nil {
				fipIDs := make([]string, len(fips))
				for i, f := range fips {
					fipIDs[i] = f.ID()
				}
				if pfs, err = list(ctx, tx, p.pfDef, "floatingip_id", fipIDs...); err != nil {
					return err
				}
			}
		}
		// Floating IPs' fixed addresses need their subnets' scopes too.
		var fixedPorts []string
		for _, f := range fips {
			if id, _ := f.Get("port_id").(string); id != "" {
				fixedPorts = append(fixedPorts, id)
			}
		}
		fixed, err := list(ctx, tx, p.portDef, "id", fixedPorts...)
		if err != nil {
			return err
		}
		var fixedSubnetIDs []string
		for _, port := range fixed {
			for _, f := range fixedIPs(port) {
				fixedSubnetIDs = append(fixedSubnetIDs, f.subnetID)
			}
		}
		fixedSubnets, err := list(ctx, tx, p.subnetDef, "id", fixedSubnetIDs...)
		if err != nil {
			return err
		}
		scopes, err := p.addressScopes(ctx, tx, append(slices.Clone(subnets), fixedSubnets...))
		if err != nil {
			return err
		}
		out = assemble(routers, ports, subnets, nets, fips, pfs, fixed, scopes)
		if err := p.syncConntrackHelpers(ctx, tx, out); err != nil {
			return err
		}
		return p.syncNDPProxies(ctx, tx, routers, out)
	})
	return out, err
}

// addressScopes maps each subnet's id to the address scope of its
// subnet pool; subnets outside any scope are absent.
func (p *Plugin) addressScopes(ctx context.Context, tx *store.Tx, subnets []*resource.Object) (map[string]string, error) {
	byPool := map[string][]string{}
	var poolIDs []string
	for _, s := range subnets {
		if id, _ := s.Get("subnetpool_id").(string); id != "" {
			poolIDs = append(poolIDs, id)
			byPool[id] = append(byPool[id], s.ID())
		}
	}
	out := map[string]string{}
	if len(poolIDs) == 0 || p.subnetpoolDef == nil {
		return out, nil
	}
	pools, err := list(ctx, tx, p.subnetpoolDef, "id", poolIDs...)
	if err != nil {
		return nil, fmt.Errorf("subnet pools of router subnets: %w", err)
	}
	for _, pool := range pools {
		scope, _ := pool.Get("address_scope_id").(string)
		if scope == "" {
			continue
		}
		for _, id := range byPool[pool.ID()] {
			out[id] = scope
		}
	}
	return out, nil
}

// optString is a nullable string attribute as the payload shows it.
func optString(o *resource.Object, attr string) *string {
	if v, _ := o.Get(attr).(string); v != "" {
		return &v
	}
	return nil
}

// assemble builds the sync_routers payload from what SyncRouters read.
func assemble(routers, ports, subnets, nets, fips, pfs, fixedPorts []*resource.Object, scopes map[string]string) []rpcapi.Router {
	subnetByID := map[string]*resource.Object{}
	subnetsByNet := map[string][]*resource.Object{}
	for _, s := range subnets {
		subnetsByNet[s.String("network_id")] = append(subnetsByNet[s.String("network_id")], s)
		subnetByID[s.ID()] = s
	}
	mtu := map[string]int{}
	for _, n := range nets {
		mtu[n.ID()] = n.Int("mtu")
	}
	pfsByFIP := map[string][]rpcapi.PortForwarding{}
	for _, pf := range pfs {
		fillPorts(pf)
		rp := rpcapi.PortForwarding{
			ID: pf.ID(), Protocol: pf.String("protocol"), InternalIPAddress: pf.String("internal_ip_address"),
			InternalPortID:    pf.String("internal_port_id"),
			ExternalPortRange: portRange{pf.Int("external_port_start"), pf.Int("external_port_end")}.String(),
			InternalPortRange: portRange{pf.Int("internal_port_start"), pf.Int("internal_port_end")}.String(),
		}
		if pf.Int("external_port_start") == pf.Int("external_port_end") && pf.Int("internal_port_start") == pf.Int("internal_port_end") {
			rp.ExternalPort, rp.InternalPort = pf.Int("external_port_start"), pf.Int("internal_port_start")
		}
		pfsByFIP[pf.String("floatingip_id")] = append(pfsByFIP[pf.String("floatingip_id")], rp)
	}
	byRouter := map[string]*rpcapi.Router{}
	out := make([]rpcapi.Router, len(routers))
	for i, r := range routers {
		routes := []rpcapi.Route{}
		items, _ := r.Get("routes").([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			routes = append(routes, rpcapi.Route{Destination: fmt.Sprint(m["destination"]), Nexthop: fmt.Sprint(m["nexthop"])})
		}
		gwID, _ := r.Get("gw_port_id").(string)
		out[i] = rpcapi.Router{ID: r.ID(), Name: r.String("name"), ProjectID: r.String("project_id"),
			AdminStateUp: r.Bool("admin_state_up"), Status: r.String("status"), Distributed: r.Bool("distributed"),
			HA: r.Bool("ha"), EnableSNAT: r.Bool("enable_snat"), Routes: routes,
			RevisionNumber: r.Int("revision_number"), GatewayPortID: rpcapi.Nullable(gwID),
			Interfaces: []rpcapi.RouterPort{}, FloatingIPs: []rpcapi.FloatingIP{}}
		byRouter[r.ID()] = &out[i]
	}
	for _, port := range ports {
		r := byRouter[port.String("device_id")]
		if r == nil || len(fixedIPs(port)) == 0 {
			// Neutron skips ports without addresses (a subnet of the
			// interface was deleted).
			continue
		}
		rp := rpcapi.RouterPort{ID: port.ID(), NetworkID: port.String("network_id"), MACAddress: port.String("mac_address"),
			AdminStateUp: port.Bool("admin_state_up"), Status: port.String("status"),
			DeviceOwner: port.String("device_owner"), DeviceID: port.String("device_id"), MTU: mtu[port.String("network_id")],
			HostID: port.String("binding:host_id"), VIFType: port.String("binding:vif_type"),
			FixedIPs: []rpcapi.FixedIP{}, Subnets: []rpcapi.PortSubnet{}, ExtraSubnets: []rpcapi.PortSubnet{},
			AddressScopes: map[string]*string{"4": nil, "6": nil}}
		used := map[string]bool{}
		for _, f := range fixedIPs(port) {
			fi := rpcapi.FixedIP{SubnetID: f.subnetID, IPAddress: f.ip}
			if s := subnetByID[f.subnetID]; s != nil {
				if pfx, err := netip.ParsePrefix(s.String("cidr")); err == nil {
					fi.PrefixLen = pfx.Bits()
				}
			}
			used[f.subnetID] = true
			rp.FixedIPs = append(rp.FixedIPs, fi)
		}
		for _, s := range subnetsByNet[port.String("network_id")] {
			dns, _ := s.Get("dns_nameservers").([]string)
			if dns == nil {
				dns = []string{}
			}
			ps := rpcapi.PortSubnet{ID: s.ID(), CIDR: s.String("cidr"), GatewayIP: optString(s, "gateway_ip"),
				DNSNameservers: dns, IPv6RAMode: optString(s, "ipv6_ra_mode"),
				IPv6AddressMode: optString(s, "ipv6_address_mode"), SubnetpoolID: optString(s, "subnetpool_id")}
			version := "4"
			if pfx, err := netip.ParsePrefix(ps.CIDR); err == nil && pfx.Addr().Is6() {
				version = "6"
			}
			if scope, ok := scopes[s.ID()]; ok {
				rp.AddressScopes[version] = &scope
			} else {
				rp.AddressScopes[version] = nil
			}
			if used[s.ID()] {
				rp.Subnets = append(rp.Subnets, ps)
			} else {
				rp.ExtraSubnets = append(rp.ExtraSubnets, ps)
			}
		}
		switch port.String("device_owner") {
		case ownerGateway:
			if port.ID() != string(r.GatewayPortID) {
				continue
			}
			gwPort := rp
			r.GatewayPort = &gwPort
			r.ExternalGatewayInfo = &rpcapi.GatewayInfo{NetworkID: rp.NetworkID, EnableSNAT: r.EnableSNAT,
				ExternalFixedIPs: rp.FixedIPs}
		case ownerInterface, ownerHAInterface, "network:router_interface_distributed":
			r.Interfaces = append(r.Interfaces, rp)
		}
	}
	fixedScope := map[string]*string{} // port id + address → scope
	for _, port := range fixedPorts {
		for _, f := range fixedIPs(port) {
			if scope, ok := scopes[f.subnetID]; ok {
				fixedScope[port.ID()+" "+f.ip] = &scope
			}
		}
	}
	for _, f := range fips {
		r := byRouter[f.String("router_id")]
		if r == nil {
			continue
		}
		fixed, _ := f.Get("fixed_ip_address").(string)
		portID, _ := f.Get("port_id").(string)
		tags, _ := f.Get("tags").([]string)
		if tags == nil {
			tags = []string{}
		}
		fip := rpcapi.FloatingIP{ID: f.ID(),
			FloatingIPAddress: f.String("floating_ip_address"), FloatingNetworkID: f.String("floating_network_id"),
			FixedIPAddress: rpcapi.Nullable(fixed), PortID: rpcapi.Nullable(portID), RouterID: r.ID, Status: f.String("status"),
			ProjectID: f.String("project_id"), TenantID: f.String("project_id"), Description: f.String("description"),
			Tags: tags, CreatedAt: timestamp(f, "created_at"), UpdatedAt: timestamp(f, "updated_at"),
			RevisionNumber: f.Int("revision_number"), FixedIPAddressScope: fixedScope[portID+" "+fixed],
			PortForwardings: pfsByFIP[f.ID()]}
		r.FloatingIPs = append(r.FloatingIPs, fip)
		if len(fip.PortForwardings) > 0 {
			// As Neutron's port forwarding plugin adds them to the router.
			r.PFFloatingIPs = append(r.PFFloatingIPs, fip)
			r.PortForwardingsFIPSet = append(r.PortForwardingsFIPSet, fip.FloatingIPAddress+"/32")
			r.FIPManagedByPortForwardings = append(r.FIPManagedByPortForwardings, fip.ID)
		}
	}
	return out
}

// timestamp is a time attribute as the API shows it, "" when unset.
func timestamp(o *resource.Object, attr string) string {
	if t, ok := o.Get(attr).(time.Time); ok && !t.IsZero() {
		return t.UTC().Format(store.TimeFormat)
	}
	return ""
}

// ExternalNetworkID is get_external_network_id: the one external
// network's id, "" when there is none, and TooManyExternalNetworks when
// there are several (the agent must then be configured with one).
func (p *Plugin) ExternalNetworkID(ctx context.Context) (string, error) {
	var ids []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		nets, err := tx.List(ctx, p.netDef, &resource.Query{
			Filters: []resource.Filter{{Attr: p.netDef.Attr("router:external"), Values: []any{true}}},
			Limit:   2, Sorts: []resource.SortKey{{Attr: p.netDef.Attr("id")}}})
		for _, n := range nets {
			ids = append(ids, n.ID())
		}
		return err
	})
	switch {
	case err != nil:
		return "", err
	case len(ids) == 0:
		return "", nil
	case len(ids) > 1:
		return "", fault.New(500, "TooManyExternalNetworks",
			"More than one external network exists.")
	}
	return ids[0], nil
}

// UpdateFloatingIPStatuses is update_floatingip_statuses: it sets the
// status of each floating IP an agent reports on (ACTIVE, DOWN, ERROR),
// bumping the revision of those that change; unknown ids are skipped.
// routerID is the reporting agent's router, as in Neutron's call; like
// Neutron the statuses apply whatever router serves the floating IP now.
func (p *Plugin) UpdateFloatingIPStatuses(ctx context.Context, routerID string, statuses map[string]string) error {
	if p.fipDef == nil {
		return nil
	}
	ids := make([]string, 0, len(statuses))
	for id := range statuses {
		ids = append(ids, id)
	}
	// Neutron's sweep: the floating IPs last known on this router that
	// no router serves now go DOWN, reported or not (a disassociation
	// the agent missed). Looked for before taking the write lock.
	var stale []*resource.Object
	if routerID != "" {
		err := p.store.Read(ctx, func(tx *store.Tx) error {
			known, err := list(ctx, tx, p.fipDef, "last_known_router_id", routerID)
			for _, f := range known {
				if r, _ := f.Get("router_id").(string); r == "" && f.String("status") != fipStatusDown {
					if _, reported := statuses[f.ID()]; !reported {
						stale = append(stale, f)
					}
				}
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("floating IPs last known on router %s: %w", routerID, err)
		}
	}
	if len(ids) == 0 && len(stale) == 0 {
		return nil
	}
	statuses = maps.Clone(statuses)
	swept := map[string]bool{}
	for _, f := range stale {
		ids = append(ids, f.ID())
		statuses[f.ID()] = fipStatusDown
		swept[f.ID()] = true
	}
	return p.store.Write(ctx, func(tx *store.Tx) error {
		fips, err := list(ctx, tx, p.fipDef, "id", ids...)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Second)
		for _, f := range fips {
			status := statuses[f.ID()]
			if f.String("status") == status {
				continue
			}
			if r, _ := f.Get("router_id").(string); swept[f.ID()] && r != "" {
				continue // associated again meanwhile
			}
			patch := resource.New(p.fipDef)
			patch.Set("id", f.ID())
			patch.Set("status", status)
			patch.Set("revision_number", f.Int("revision_number")+1)
			patch.Set("updated_at", now)
			if err := tx.Update(ctx, patch); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("update status of floating IP %s: %w", f.ID(), err)
			}
		}
		return nil
	})
}

// BindRouterPorts implements agents.RouterPortBinder: inside the
// transaction that places a router on the L3 agent of host, it binds the
// router's gateway and interface ports to host where they are bound
// elsewhere or not bound (Neutron's _ensure_host_set_on_ports, done when
// the host changes rather than on every sync_routers).
func (p *Plugin) BindRouterPorts(ctx context.Context, tx *store.Tx, routerID, host string) error {
	if p.core == nil || host == "" {
		return nil
	}
	router, err := tx.Get(ctx, p.routerDef, routerID, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("router %s: %w", routerID, err)
	}
	if router.Bool("distributed") || router.Bool("ha") {
		return nil // not served by Neutrino's legacy routers
	}
	ports, err := list(ctx, tx, p.portDef, "device_id", routerID)
	if err != nil {
		return fmt.Errorf("ports of router %s: %w", routerID, err)
	}
	for _, port := range ports {
		if err := p.bindRouterPort(ctx, tx, port, host); err != nil {
			return err
		}
	}
	return nil
}

// bindRouterPort sets a router port's binding:host_id to host unless it
// is bound there already.
func (p *Plugin) bindRouterPort(ctx context.Context, tx *store.Tx, port *resource.Object, host string) error {
	switch port.String("device_owner") {
	case ownerGateway, ownerInterface:
	default:
		return nil
	}
	vif := port.String("binding:vif_type")
	if port.String("binding:host_id") == host && vif != vifTypeUnbound && vif != vifTypeBindingFailed {
		return nil
	}
	patch := resource.New(p.portDef)
	patch.Set("binding:host_id", host)
	if _, err := p.core.UpdatePortIn(ctx, tx, port, patch); err != nil {
		return fmt.Errorf("bind router port %s to %s: %w", port.ID(), host, err)
	}
	return nil
}

// routerHost is the host of the L3 agent hosting a router, "" while it
// is unscheduled: a port the router gains is bound there at once.
func (p *Plugin) routerHost(ctx context.Context, tx *store.Tx, routerID string) (string, error) {
	if p.scheduler == nil {
		return "", nil
	}
	hosts, err := p.scheduler.RouterHosts(ctx, tx, []string{routerID})
	if err != nil {
		return "", fmt.Errorf("host of router %s: %w", routerID, err)
	}
	if len(hosts[routerID]) == 0 {
		return "", nil
	}
	return hosts[routerID][0], nil
}

// EnsureHostOnPorts binds the gateway and interface ports of routers to
// host, the host of the L3 agent that asked for them (Neutron's
// _ensure_host_set_on_ports): a port bound elsewhere (the router moved)
// or not bound at all (unbound, binding_failed) gets binding:host_id =
// host, which lets ML2 bind it and the host's L2 agent wire it like any
// other port. It reports whether it changed any port.
func (p *Plugin) EnsureHostOnPorts(ctx context.Context, host string, routers []rpcapi.Router) (bool, error) {
	var ids []string
	for _, r := range routers {
		if r.Distributed || r.HA {
			continue // not served by Neutrino's legacy routers
		}
		ports := slices.Clone(r.Interfaces)
		if r.GatewayPort != nil {
			ports = append(ports, *r.GatewayPort)
		}
		for _, port := range ports {
			if port.HostID != host || port.VIFType == vifTypeUnbound || port.VIFType == vifTypeBindingFailed {
				ids = append(ids, port.ID)
			}
		}
	}
	if len(ids) == 0 || p.core == nil {
		return false, nil
	}
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			port, err := tx.Get(ctx, p.portDef, id, true)
			if errors.Is(err, store.ErrNotFound) {
				continue // gone meanwhile, as Neutron's PortNotFound
			}
			if err != nil {
				return fmt.Errorf("router port %s: %w", id, err)
			}
			patch := resource.New(p.portDef)
			patch.Set("binding:host_id", host)
			if _, err := p.core.UpdatePortIn(ctx, tx, port, patch); err != nil {
				return fmt.Errorf("bind router port %s to %s: %w", id, host, err)
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// fipStatusDown is a floating IP no router serves (neutron_lib's
// FLOATINGIP_STATUS_DOWN).
const fipStatusDown = "DOWN"

// Binding states of a port that ML2 did not bind.
const (
	vifTypeUnbound       = "unbound"
	vifTypeBindingFailed = "binding_failed"
)
