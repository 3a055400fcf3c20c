package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Device owners Neutron treats as the network's own ports: they do not
// keep a subnet or network in use, and go away with it.
const (
	ownerDHCP            = "network:dhcp"
	ownerRouterInterface = "network:router_interface"
)

// SubnetNotFound is neutron-lib's SubnetNotFound.
func SubnetNotFound(id string) error {
	return fault.NotFound("SubnetNotFound", fmt.Sprintf("Subnet %s could not be found.", id))
}

// ipamFault turns an ipam.Error into the Neutron exception it names.
func ipamFault(err error) error {
	if e, ok := ipam.AsError(err); ok {
		return fault.New(e.Status, e.Type, "%s", e.Message)
	}
	return err
}

// subnetInfo is what allocation needs to know of a subnet.
type subnetInfo struct {
	id, networkID string
	prefix        netip.Prefix
	ipVersion     int
	gateway       *netip.Addr
	pools         []ipam.Range
	raMode        string
	addressMode   string
}

func subnetInfoOf(o *resource.Object) (subnetInfo, error) {
	p, err := netip.ParsePrefix(o.String("cidr"))
	if err != nil {
		return subnetInfo{}, fmt.Errorf("subnet %s has a bad cidr %q: %w", o.ID(), o.String("cidr"), err)
	}
	si := subnetInfo{id: o.ID(), networkID: o.String("network_id"), prefix: p, ipVersion: o.Int("ip_version"),
		raMode: o.String("ipv6_ra_mode"), addressMode: o.String("ipv6_address_mode")}
	if gw := o.String("gateway_ip"); gw != "" {
		a, err := netip.ParseAddr(gw)
		if err != nil {
			return subnetInfo{}, fmt.Errorf("subnet %s has a bad gateway %q: %w", o.ID(), gw, err)
		}
		si.gateway = &a
	}
	si.pools, err = poolsOf(o.Get("allocation_pools"))
	return si, err
}

// poolsOf reads allocation_pools ([{"start", "end"}]) into ranges.
func poolsOf(v any) ([]ipam.Range, error) {
	items, _ := v.([]any)
	out := make([]ipam.Range, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		start, err1 := netip.ParseAddr(fmt.Sprint(m["start"]))
		end, err2 := netip.ParseAddr(fmt.Sprint(m["end"]))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad allocation pool %v", m)
		}
		out = append(out, ipam.Range{Start: start, End: end})
	}
	return out, nil
}

func poolsValue(ranges []ipam.Range) []any {
	out := make([]any, len(ranges))
	for i, r := range ranges {
		out[i] = map[string]any{"start": r.Start.String(), "end": r.End.String()}
	}
	return out
}

// freeRanges are a subnet's allocation pools minus the addresses already
// allocated, as store keys.
func freeRanges(pools []ipam.Range, taken []store.Key) []store.KeyRange {
	var out []store.KeyRange
	for _, p := range pools {
		first, last := store.Key(ipam.Key(p.Start)), store.Key(ipam.Key(p.End))
		for _, k := range taken {
			if keyLess(k, first) || keyLess(last, k) {
				continue
			}
			if k != first {
				out = append(out, store.KeyRange{First: first, Last: k.Prev()})
			}
			if k == last {
				first = last.Next()
				break
			}
			first = k.Next()
		}
		if !keyLess(last, first) {
			out = append(out, store.KeyRange{First: first, Last: last})
		}
	}
	return out
}

func keyLess(a, b store.Key) bool { return slices.Compare(a[:], b[:]) < 0 }

func (p *Plugin) beforeCreateSubnet(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	netID := o.String("network_id")
	network, err := tx.Get(ctx, p.defs[apidef.Networks], netID, true)
	if errors.Is(err, store.ErrNotFound) {
		return NetworkNotFound(netID)
	}
	if err != nil {
		return err
	}
	_ = network
	version := o.Int("ip_version")
	prefix, err := p.subnetPrefix(ctx, tx, o, version)
	if err != nil {
		return err
	}
	o.Set("cidr", prefix.String())
	if err := ipam.ValidateSubnetCIDR(prefix, o.Bool("enable_dhcp"), false); err != nil {
		return ipamFault(err)
	}
	if err := p.checkOverlap(ctx, tx, netID, prefix); err != nil {
		return err
	}
	if err := p.checkPoolAffinity(ctx, tx, netID, version, o.Get("subnetpool_id")); err != nil {
		return err
	}

	var gateway *netip.Addr
	switch {
	case !o.Has("gateway_ip"):
		gw := ipam.DefaultGateway(prefix)
		gateway = &gw
		o.Set("gateway_ip", gw.String())
	case o.Get("gateway_ip") != nil:
		gw := netip.MustParseAddr(o.String("gateway_ip"))
		if err := ipam.ValidateGateway(gw, prefix); err != nil {
			return ipamFault(err)
		}
		gateway = &gw
	}

	var pools []ipam.Range
	if o.Has("allocation_pools") {
		if pools, err = poolsOf(o.Get("allocation_pools")); err != nil {
			return fault.BadRequest("%s", err.Error())
		}
		if err := ipam.ValidateAllocationPools(pools, prefix, gateway); err != nil {
			return ipamFault(err)
		}
	} else {
		pools = ipam.DefaultAllocationPools(prefix, gateway)
	}
	o.Set("allocation_pools", poolsValue(pools))

	if err := ipam.ValidateDNSNameservers(toStrings(o.Get("dns_nameservers")), version, p.opts.MaxDNSNameservers, ""); err != nil {
		return ipamFault(err)
	}
	if err := ipam.ValidateHostRoutes(hostRoutes(o.Get("host_routes")), version, p.opts.MaxSubnetHostRoutes, ""); err != nil {
		return ipamFault(err)
	}
	ra, am := o.String("ipv6_ra_mode"), o.String("ipv6_address_mode")
	if err := ipam.ValidateIPv6Modes(ra, am, version, o.Bool("enable_dhcp"), prefix); err != nil {
		return ipamFault(err)
	}
	if !o.Has("subnetpool_id") {
		o.Set("subnetpool_id", nil)
	}
	return nil
}

func (p *Plugin) afterCreateSubnet(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	si, err := subnetInfoOf(o)
	if err != nil {
		return err
	}
	return tx.SetFreeRanges(ctx, o.ID(), freeRanges(si.pools, nil))
}

// subnetPrefix decides a new subnet's CIDR: the one asked for, or one
// allocated from its subnet pool.
func (p *Plugin) subnetPrefix(ctx context.Context, tx *store.Tx, o *resource.Object, version int) (netip.Prefix, error) {
	poolID, _ := o.Get("subnetpool_id").(string)
	if poolID == "" && o.Bool("use_default_subnetpool") {
		id, err := p.defaultSubnetPool(ctx, tx, version)
		if err != nil {
			return netip.Prefix{}, err
		}
		poolID = id
		o.Set("subnetpool_id", id)
	}
	cidr, _ := o.Get("cidr").(string)
	if poolID == "" {
		if cidr == "" {
			return netip.Prefix{}, fault.NeutronBadRequest("subnets", "a subnetpool must be specified in the absence of a cidr")
		}
		prefix, err := ipam.ParseCIDR(cidr, version)
		if err != nil {
			return netip.Prefix{}, ipamFault(err)
		}
		return prefix, nil
	}
	return p.allocateFromPool(ctx, tx, poolID, version, cidr, o.Get("prefixlen"))
}

// checkOverlap refuses a CIDR overlapping another subnet: on the same
// network, or anywhere when overlapping IPs are disallowed.
func (p *Plugin) checkOverlap(ctx context.Context, tx *store.Tx, netID string, prefix netip.Prefix) error {
	var cidrs []string
	var err error
	if p.opts.AllowOverlappingIPs {
		cidrs, err = tx.Strings(ctx, apidef.Subnets, "cidr", "network_id", netID)
	} else {
		cidrs, err = tx.Strings(ctx, apidef.Subnets, "cidr", "", nil)
	}
	if err != nil {
		return err
	}
	others, err := prefixesOf(cidrs)
	if err != nil {
		return err
	}
	return ipamFault(ipam.ValidateCIDRForNetwork(prefix, others, netID))
}

// checkPoolAffinity keeps every subnet of one IP version on a network in
// the same subnet pool, as Neutron does.
func (p *Plugin) checkPoolAffinity(ctx context.Context, tx *store.Tx, netID string, version int, poolID any) error {
	subnets, err := tx.List(ctx, p.defs[apidef.Subnets], &resource.Query{Filters: []resource.Filter{
		{Attr: p.defs[apidef.Subnets].Attr("network_id"), Values: []any{netID}},
		{Attr: p.defs[apidef.Subnets].Attr("ip_version"), Values: []any{version}},
	}})
	if err != nil {
		return err
	}
	want, _ := poolID.(string)
	for _, s := range subnets {
		if got, _ := s.Get("subnetpool_id").(string); got != want {
			return fault.New(400, "NetworkSubnetPoolAffinityError",
				"Subnets hosted on the same network must be allocated from the same subnet pool.")
		}
	}
	return nil
}

func (p *Plugin) beforeUpdateSubnet(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	si, err := subnetInfoOf(old)
	if err != nil {
		return err
	}
	gateway := si.gateway
	if patch.Has("gateway_ip") {
		gateway = nil
		if gw, ok := patch.Get("gateway_ip").(string); ok {
			a := netip.MustParseAddr(gw)
			if err := ipam.ValidateGateway(a, si.prefix); err != nil {
				return ipamFault(err)
			}
			gateway = &a
		}
	}
	pools := si.pools
	if patch.Has("allocation_pools") {
		if pools, err = poolsOf(patch.Get("allocation_pools")); err != nil {
			return fault.BadRequest("%s", err.Error())
		}
	}
	if patch.Has("allocation_pools") || patch.Has("gateway_ip") {
		if err := ipam.ValidateAllocationPools(pools, si.prefix, gateway); err != nil {
			return ipamFault(err)
		}
	}
	if patch.Has("dns_nameservers") {
		if err := ipam.ValidateDNSNameservers(toStrings(patch.Get("dns_nameservers")), si.ipVersion, p.opts.MaxDNSNameservers, si.id); err != nil {
			return ipamFault(err)
		}
	}
	if patch.Has("host_routes") {
		if err := ipam.ValidateHostRoutes(hostRoutes(patch.Get("host_routes")), si.ipVersion, p.opts.MaxSubnetHostRoutes, si.id); err != nil {
			return ipamFault(err)
		}
	}
	if patch.Has("enable_dhcp") && !patch.Bool("enable_dhcp") && old.Bool("enable_dhcp") {
		if err := ipam.ValidateIPv6DHCPUpdate(true, si.raMode, si.addressMode); err != nil {
			return ipamFault(err)
		}
	}
	return nil
}

func (p *Plugin) afterUpdateSubnet(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	si, err := subnetInfoOf(updated)
	if err != nil {
		return err
	}
	taken, err := tx.AllocatedKeys(ctx, si.id)
	if err != nil {
		return err
	}
	return tx.SetFreeRanges(ctx, si.id, freeRanges(si.pools, taken))
}

// beforeDeleteSubnet refuses while user ports hold addresses on the
// subnet; the network's own ports (DHCP) just lose theirs.
func (p *Plugin) beforeDeleteSubnet(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	allocs, err := tx.SubnetAllocations(ctx, o.ID())
	if err != nil {
		return err
	}
	for _, a := range allocs {
		port, err := tx.Get(ctx, p.defs[apidef.Ports], a.PortID, false)
		if err != nil {
			return err
		}
		if port.String("device_owner") != ownerDHCP {
			return fault.Conflict("SubnetInUse",
				"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", o.ID())
		}
	}
	for _, a := range allocs {
		if err := tx.RemoveAllocation(ctx, a.PortID, a.SubnetID, a.Key); err != nil {
			return err
		}
	}
	return tx.SetFreeRanges(ctx, o.ID(), nil)
}

func toStrings(v any) []string {
	ss, _ := v.([]string)
	return ss
}

func hostRoutes(v any) []ipam.HostRoute {
	items, _ := v.([]any)
	out := make([]ipam.HostRoute, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, ipam.HostRoute{Destination: fmt.Sprint(m["destination"]), Nexthop: fmt.Sprint(m["nexthop"])})
	}
	return out
}
