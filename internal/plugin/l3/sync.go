package l3

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The calls L3 agents make on the server (neutron/api/rpc/handlers/l3_rpc.py);
// the RPC layer maps them onto these methods.

// SyncRouters returns the routers with the given ids as an L3 agent
// plumbs them (Neutron's get_sync_data): each with its gateway port,
// interfaces, floating IPs and their port forwardings, every port with
// its subnets and MTU. It reads each kind of object in one query however
// many routers are asked for; unknown ids are skipped.
func (p *Plugin) SyncRouters(ctx context.Context, routerIDs []string) ([]rpcapi.Router, error) {
	var out []rpcapi.Router
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		routers, err := list(ctx, tx, p.routerDef, "id", routerIDs...)
		if err != nil {
			return err
		}
		ids := make([]string, len(routers))
		for i, r := range routers {
			ids[i] = r.ID()
		}
		ports, err := list(ctx, tx, p.portDef, "device_id", ids...)
		if err != nil {
			return err
		}
		var netIDs, gwNets, subnetIDs []string
		for _, port := range ports {
			netIDs = append(netIDs, port.String("network_id"))
			if port.String("device_owner") == ownerGateway {
				gwNets = append(gwNets, port.String("network_id"))
			}
			for _, f := range fixedIPs(port) {
				subnetIDs = append(subnetIDs, f.subnetID)
			}
		}
		subnets, err := list(ctx, tx, p.subnetDef, "id", subnetIDs...)
		if err != nil {
			return err
		}
		gwSubnets, err := list(ctx, tx, p.subnetDef, "network_id", gwNets...)
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
		out = assemble(routers, ports, append(subnets, gwSubnets...), nets, fips, pfs)
		return nil
	})
	return out, err
}

// assemble builds the sync_routers payload from what SyncRouters read.
func assemble(routers, ports, subnets, nets, fips, pfs []*resource.Object) []rpcapi.Router {
	subnetByID := map[string]*resource.Object{}
	subnetsByNet := map[string][]*resource.Object{}
	for _, s := range subnets {
		if subnetByID[s.ID()] == nil {
			subnetsByNet[s.String("network_id")] = append(subnetsByNet[s.String("network_id")], s)
		}
		subnetByID[s.ID()] = s
	}
	mtu := map[string]int{}
	for _, n := range nets {
		mtu[n.ID()] = n.Int("mtu")
	}
	pfsByFIP := map[string][]rpcapi.PortForwarding{}
	for _, pf := range pfs {
		fillPorts(pf)
		pfsByFIP[pf.String("floatingip_id")] = append(pfsByFIP[pf.String("floatingip_id")], rpcapi.PortForwarding{
			ID: pf.ID(), Protocol: pf.String("protocol"), InternalIPAddress: pf.String("internal_ip_address"),
			InternalPortID:    pf.String("internal_port_id"),
			ExternalPortRange: portRange{pf.Int("external_port_start"), pf.Int("external_port_end")}.String(),
			InternalPortRange: portRange{pf.Int("internal_port_start"), pf.Int("internal_port_end")}.String(),
		})
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
			RevisionNumber: r.Int("revision_number"), GatewayPortID: gwID,
			Interfaces: []rpcapi.RouterPort{}, FloatingIPs: []rpcapi.FloatingIP{}}
		byRouter[r.ID()] = &out[i]
	}
	for _, port := range ports {
		r := byRouter[port.String("device_id")]
		if r == nil {
			continue
		}
		rp := rpcapi.RouterPort{ID: port.ID(), NetworkID: port.String("network_id"), MACAddress: port.String("mac_address"),
			AdminStateUp: port.Bool("admin_state_up"), Status: port.String("status"),
			DeviceOwner: port.String("device_owner"), MTU: mtu[port.String("network_id")],
			FixedIPs: []rpcapi.FixedIP{}, Subnets: []rpcapi.PortSubnet{}}
		for _, f := range fixedIPs(port) {
			fi := rpcapi.FixedIP{SubnetID: f.subnetID, IPAddress: f.ip}
			if s := subnetByID[f.subnetID]; s != nil {
				if pfx, err := netip.ParsePrefix(s.String("cidr")); err == nil {
					fi.PrefixLen = pfx.Bits()
				}
			}
			rp.FixedIPs = append(rp.FixedIPs, fi)
		}
		portSubnets := []*resource.Object{}
		switch port.String("device_owner") {
		case ownerGateway:
			portSubnets = subnetsByNet[port.String("network_id")]
		default:
			for _, f := range fixedIPs(port) {
				if s := subnetByID[f.subnetID]; s != nil {
					portSubnets = append(portSubnets, s)
				}
			}
		}
		for _, s := range portSubnets {
			gw, _ := s.Get("gateway_ip").(string)
			ra, _ := s.Get("ipv6_ra_mode").(string)
			dns, _ := s.Get("dns_nameservers").([]string)
			if dns == nil {
				dns = []string{}
			}
			rp.Subnets = append(rp.Subnets, rpcapi.PortSubnet{ID: s.ID(), CIDR: s.String("cidr"), GatewayIP: gw,
				DNSNameservers: dns, IPv6RAMode: ra})
		}
		switch port.String("device_owner") {
		case ownerGateway:
			if port.ID() != r.GatewayPortID {
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
	for _, f := range fips {
		r := byRouter[f.String("router_id")]
		if r == nil {
			continue
		}
		fixed, _ := f.Get("fixed_ip_address").(string)
		portID, _ := f.Get("port_id").(string)
		r.FloatingIPs = append(r.FloatingIPs, rpcapi.FloatingIP{ID: f.ID(),
			FloatingIPAddress: f.String("floating_ip_address"), FloatingNetworkID: f.String("floating_network_id"),
			FixedIPAddress: fixed, PortID: portID, RouterID: r.ID, Status: f.String("status"),
			ProjectID: f.String("project_id"), PortForwardings: pfsByFIP[f.ID()]})
	}
	return out
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
	if p.fipDef == nil || len(statuses) == 0 {
		return nil
	}
	ids := make([]string, 0, len(statuses))
	for id := range statuses {
		ids = append(ids, id)
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
