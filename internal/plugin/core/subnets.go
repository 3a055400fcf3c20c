package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Device owners Neutron treats as the network's own ports
// (AUTO_DELETE_PORT_OWNERS): they do not keep a subnet or network in use,
// and go away with it.
const (
	ownerDHCP            = "network:dhcp"
	ownerDistributed     = "network:distributed"
	ownerAgentGateway    = "network:floatingip_agent_gateway"
	ownerRouterInterface = "network:router_interface"
)

// autoDeleteOwner reports whether ports of the device owner are deleted
// with their network and never keep a subnet in use.
func autoDeleteOwner(owner string) bool {
	return owner == ownerDHCP || owner == ownerDistributed || owner == ownerAgentGateway
}

// SubnetNotFound is neutron-lib's SubnetNotFound.
func SubnetNotFound(id string) error {
	return fault.NotFound("SubnetNotFound", fmt.Sprintf("Subnet %s could not be found.", id))
}

// SubnetInUse is neutron-lib's SubnetInUse with its default reason.
func SubnetInUse(id string) error {
	return fault.Conflict("SubnetInUse",
		"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
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

// poolsOf reads stored allocation_pools ([{"start", "end"}]) into ranges.
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

// requestedPools reads allocation_pools as the API converted them, with
// Neutron's refusal of a pool whose start is above its end
// (InvalidAllocationPool).
func requestedPools(v any) ([]ipam.Range, error) {
	items, _ := v.([]any)
	pools := make([]ipam.Pool, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		pools = append(pools, ipam.Pool{Start: fmt.Sprint(m["start"]), End: fmt.Sprint(m["end"])})
	}
	ranges, err := ipam.ParsePools(pools)
	return ranges, ipamFault(err)
}

// poolsValue renders ranges as allocation_pools, in address order, as
// Neutron's subnet requests sort them.
func poolsValue(ranges []ipam.Range) []any {
	sorted := slices.Clone(ranges)
	slices.SortFunc(sorted, func(a, b ipam.Range) int { return a.Start.Compare(b.Start) })
	out := make([]any, len(sorted))
	for i, r := range sorted {
		out[i] = map[string]any{"start": r.Start.String(), "end": r.End.String()}
	}
	return out
}

// visibleTo reports whether the caller may see a project-owned object
// that may be shared (a subnet pool, an address scope), as Neutron's model
// query scope does: admins see all, projects their own and shared ones.
func visibleTo(ctx context.Context, o *resource.Object) bool {
	c := reqctx.CallerFrom(ctx)
	return c.IsAdmin || o.String("project_id") == c.ProjectID || o.Bool("shared")
}

// bumpRevision revises a standard object that another object's change
// touches, as Neutron's revises_on_change does (a subnet revises its
// network, an IP allocation its port).
func bumpRevision(ctx context.Context, tx *store.Tx, def *resource.Resource, id string) error {
	o, err := tx.Get(ctx, def, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	patch := resource.New(def)
	patch.Set("id", id)
	patch.Set("revision_number", o.Int("revision_number")+1)
	patch.Set("updated_at", time.Now().UTC().Truncate(time.Second))
	return tx.Update(ctx, patch)
}

// optAddr reads a nullable address attribute.
func optAddr(v any) *netip.Addr {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil
	}
	return &a
}

func sameAddr(a, b *netip.Addr) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// nullModes refuses an explicit null IPv6 mode, as neutron-lib's
// type:values validator does, and stores null for an absent one.
func nullModes(o *resource.Object) error {
	for _, name := range []string{"ipv6_ra_mode", "ipv6_address_mode"} {
		if !o.Has(name) {
			o.Set(name, nil)
			continue
		}
		if o.Get(name) == nil {
			return fault.BadRequest("Invalid input for %s. Reason: None is not in valid_values.", name)
		}
	}
	return nil
}

// beforeCreateSubnet follows Neutron's _create_subnet_precommit:
// request checks, _validate_subnet, the network, the address allocation
// (from a subnet pool or as asked), then _save_subnet's checks against
// the network's other subnets.
func (p *Plugin) beforeCreateSubnet(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := nullModes(o); err != nil {
		return err
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.CheckSubnetSegment(ctx, tx, o); err != nil {
			return err
		}
	}
	version := o.Int("ip_version")
	cidr, hasCIDR := o.Get("cidr").(string)
	prefixlen, hasPrefixlen := o.Get("prefixlen").(int)
	if hasCIDR && hasPrefixlen {
		return fault.NeutronBadRequest("subnets", "cidr and prefixlen must not be supplied together")
	}
	var prefix netip.Prefix
	if hasCIDR {
		var err error
		if prefix, err = ipam.ParseCIDR(cidr, 0); err != nil {
			return ipamFault(err)
		}
	}
	poolID, err := p.subnetPoolID(ctx, tx, o, version, prefix)
	if err != nil {
		return err
	}
	if poolID == "" && !hasCIDR {
		return fault.NeutronBadRequest("subnets", "a subnetpool must be specified in the absence of a cidr")
	}
	if poolID != "" && !hasCIDR && o.Has("allocation_pools") {
		return fault.NeutronBadRequest("subnets", "allocation_pools allowed only for specific subnet requests.")
	}
	if err := p.validateSubnet(ctx, tx, o, nil, prefix, version, ""); err != nil {
		return err
	}

	netID := o.String("network_id")
	network, err := tx.Get(ctx, p.defs[apidef.Networks], netID, true)
	if errors.Is(err, store.ErrNotFound) {
		return NetworkNotFound(netID)
	}
	if err != nil {
		return err
	}
	if err := checkNetworkMTU(network, version); err != nil {
		return err
	}

	var pool *resource.Object
	if poolID != "" {
		if pool, err = p.visibleSubnetPool(ctx, tx, poolID, true); err != nil {
			return err
		}
		if err := ipam.ValidateIPVersionWithPool(version, pool.Int("ip_version")); err != nil {
			return ipamFault(err)
		}
	}
	gateway := optAddr(o.Get("gateway_ip"))
	gatewayNull := o.Has("gateway_ip") && o.Get("gateway_ip") == nil
	var pools []ipam.Range
	switch {
	case hasCIDR:
		// A specific subnet: the gateway and pools asked for, or
		// Neutron's defaults around the gateway.
		if !o.Has("gateway_ip") {
			gw := ipam.DefaultGateway(prefix)
			if gw.IsValid() {
				gateway = &gw
			}
		}
		if o.Has("allocation_pools") {
			if pools, err = requestedPools(o.Get("allocation_pools")); err != nil {
				return err
			}
			if err := ipam.ValidateAllocationPools(pools, prefix, gateway); err != nil {
				return ipamFault(err)
			}
		} else {
			pools = ipam.DefaultAllocationPools(prefix, gateway)
		}
		if pool != nil {
			if _, err := p.allocateFromPool(ctx, tx, pool, prefix, 0); err != nil {
				return err
			}
		}
	case gateway != nil:
		// From a pool, the subnet of the requested length that holds
		// the gateway.
		n := pool.Int("default_prefixlen")
		if hasPrefixlen {
			n = prefixlen
		}
		if n > gateway.BitLen() {
			return fault.New(400, "AddrFormatError", "invalid IPNetwork %s/%d", gateway, n)
		}
		prefix = netip.PrefixFrom(*gateway, n).Masked()
		if ipam.IsGatewayInvalidInSubnet(prefix, *gateway) {
			return fault.Conflict("IpamValueInvalid", "Gateway IP %s cannot be the network or broadcast IP address %s", gateway, prefix)
		}
		if _, err := p.allocateFromPool(ctx, tx, pool, prefix, 0); err != nil {
			return err
		}
		pools = ipam.DefaultAllocationPools(prefix, gateway)
	default:
		// From a pool, any free subnet of the requested length; its
		// gateway is its first host.
		n := pool.Int("default_prefixlen")
		if hasPrefixlen {
			n = prefixlen
		}
		if width := map[int]int{4: 32, 6: 128}[version]; n > width {
			wildcard := map[int]string{4: "0.0.0.0", 6: "::"}[version]
			return fault.New(400, "AddrFormatError", "invalid IPNetwork %s/%d", wildcard, n)
		}
		if prefix, err = p.allocateFromPool(ctx, tx, pool, netip.Prefix{}, n); err != nil {
			return err
		}
		if !gatewayNull {
			if gw := ipam.FirstHostIP(prefix); gw.IsValid() {
				gateway = &gw
			}
		}
		pools = ipam.DefaultAllocationPools(prefix, gateway)
	}

	// _save_subnet: the CIDR against the network's (or the cloud's)
	// subnets, then subnet pool and address scope affinity.
	if err := p.checkOverlap(ctx, tx, netID, prefix); err != nil {
		return err
	}
	if err := p.checkPoolAffinity(ctx, tx, netID, version, pool); err != nil {
		return err
	}
	o.Set("cidr", prefix.String())
	if gateway != nil {
		o.Set("gateway_ip", gateway.String())
	} else {
		o.Set("gateway_ip", nil)
	}
	o.Set("allocation_pools", poolsValue(pools))
	if pool != nil {
		o.Set("subnetpool_id", pool.ID())
	} else {
		o.Set("subnetpool_id", nil)
	}
	return bumpRevision(ctx, tx, p.defs[apidef.Networks], netID)
}

// checkNetworkMTU is _validate_subnet_network_mtu: an IPv6 subnet needs a
// network MTU of at least 1280.
func checkNetworkMTU(network *resource.Object, version int) error {
	if network.Resource().Attr("mtu") == nil {
		return nil
	}
	mtu := network.Int("mtu")
	if mtu == 0 || mtu >= 1280 {
		return nil
	}
	if mtu < 68 {
		return fault.Conflict("NetworkMTUSubnetConflict", "MTU of %s is not valid, subnet requires a minimum of 68", network.ID())
	}
	if version == 6 {
		return fault.Conflict("NetworkMTUSubnetConflict", "MTU of %s is not valid, subnet requires a minimum of 1280", network.ID())
	}
	return nil
}

// subnetPoolID is _get_subnetpool_id: the pool asked for, or with
// use_default_subnetpool the default pool of the subnet's IP version.
func (p *Plugin) subnetPoolID(ctx context.Context, tx *store.Tx, o *resource.Object, version int, prefix netip.Prefix) (string, error) {
	useDefault := o.Resource().Attr("use_default_subnetpool") != nil && o.Bool("use_default_subnetpool")
	poolID, _ := o.Get("subnetpool_id").(string)
	if useDefault && poolID != "" {
		return "", fault.NeutronBadRequest("subnets", "subnetpool_id and use_default_subnetpool cannot both be specified")
	}
	if poolID != "" || !useDefault {
		return poolID, nil
	}
	if prefix.IsValid() {
		version = 4
		if prefix.Addr().Is6() {
			version = 6
		}
	}
	pool, err := p.defaultSubnetPool(ctx, tx, version)
	if err != nil {
		return "", err
	}
	if pool == nil {
		return "", fault.NeutronBadRequest("subnets", fmt.Sprintf("No default subnetpool found for IPv%d", version))
	}
	return pool.ID(), nil
}

// validateSubnet is Neutron's _validate_subnet, for a create (cur nil)
// or an update of cur with the patch s. prefix is the subnet's CIDR, or
// the zero Prefix for a subnet still to be allocated from a pool.
func (p *Plugin) validateSubnet(ctx context.Context, tx *store.Tx, s, cur *resource.Object, prefix netip.Prefix, version int, subnetID string) error {
	if prefix.IsValid() {
		if _, err := ipam.ParseCIDR(prefix.String(), version); err != nil {
			return ipamFault(err)
		}
		dhcpWasEnabled := cur != nil && cur.Bool("enable_dhcp")
		enabling := s.Has("enable_dhcp") && s.Bool("enable_dhcp") && !dhcpWasEnabled
		if err := ipam.ValidateSubnetCIDR(prefix, enabling, false); err != nil {
			return ipamFault(err)
		}
	}
	if s.Has("gateway_ip") {
		gw := optAddr(s.Get("gateway_ip"))
		if gw != nil {
			if prefix.IsValid() {
				if err := ipam.ValidateGateway(*gw, prefix); err != nil {
					return ipamFault(err)
				}
			} else if v := map[bool]int{true: 4, false: 6}[gw.Is4()]; v != version {
				return fault.InvalidInput(fmt.Sprintf("gateway_ip '%s' does not match the ip_version '%d'", gw, version))
			}
		}
		if cur != nil {
			if err := p.checkGatewayNotInUse(ctx, tx, cur, gw); err != nil {
				return err
			}
		}
	}
	if s.Has("dns_nameservers") {
		if err := ipam.ValidateDNSNameservers(toStrings(s.Get("dns_nameservers")), version, p.opts.MaxDNSNameservers, subnetID); err != nil {
			return ipamFault(err)
		}
	}
	if s.Has("host_routes") {
		if err := ipam.ValidateHostRoutes(hostRoutes(s.Get("host_routes")), version, p.opts.MaxSubnetHostRoutes, subnetID); err != nil {
			return ipamFault(err)
		}
	}
	if cur == nil {
		return ipamFault(ipam.ValidateIPv6Modes(s.String("ipv6_ra_mode"), s.String("ipv6_address_mode"), version,
			s.Bool("enable_dhcp"), prefix))
	}
	if version == 6 && s.Has("enable_dhcp") && !s.Bool("enable_dhcp") {
		return ipamFault(ipam.ValidateIPv6DHCPUpdate(true, cur.String("ipv6_ra_mode"), cur.String("ipv6_address_mode")))
	}
	return nil
}

// checkGatewayNotInUse refuses to move a subnet's gateway away from an
// address a router port holds: GatewayIpInUse. Neutron looks for a port
// bound to a router (RouterPort); Neutrino, until it has routers, for a
// port whose device owner is a router's.
func (p *Plugin) checkGatewayNotInUse(ctx context.Context, tx *store.Tx, cur *resource.Object, gw *netip.Addr) error {
	current := optAddr(cur.Get("gateway_ip"))
	if current == nil || sameAddr(current, gw) {
		return nil
	}
	portDef := p.defs[apidef.Ports]
	ports, err := tx.List(ctx, portDef, &resource.Query{
		Filters: []resource.Filter{{Attr: portDef.Attr("network_id"), Values: []any{cur.String("network_id")}}},
		SubFilters: []resource.SubFilter{{Attr: portDef.Attr("fixed_ips"), Key: "ip_address",
			Values: []string{current.String()}}},
		Sorts: []resource.SortKey{{Attr: portDef.Attr("id")}},
	})
	if err != nil {
		return err
	}
	for _, port := range ports {
		if !ipam.IsRouterPortOwner(port.String("device_owner")) {
			continue
		}
		for _, ip := range storedFixedIPs(port) {
			if ip.subnetID == cur.ID() && ip.ip == current.String() {
				return fault.Conflict("GatewayIpInUse", "Current gateway ip %s already in use by port %s. Unable to update.",
					current, port.ID())
			}
		}
	}
	return nil
}

func (p *Plugin) afterCreateSubnet(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.SubnetCreated(ctx, tx, o); err != nil {
			return err
		}
	}
	if err := p.peerRoutesAfterCreate(ctx, tx, o); err != nil {
		return err
	}
	si, err := subnetInfoOf(o)
	if err != nil {
		return err
	}
	ps := portSubnet{subnetInfo: si, serviceTypes: toStrings(o.Get("service_types")), enableDHCP: o.Bool("enable_dhcp")}
	if ps.auto() {
		return p.addAutoAddresses(ctx, tx, ps)
	}
	return nil
}

// addAutoAddresses gives the ports already on the network an address on
// a new SLAAC or DHCPv6-stateless subnet, as Neutron's
// add_auto_addrs_on_network_ports does: every port but router interfaces
// and centralized SNAT ports, on a subnet whose service types admit it.
func (p *Plugin) addAutoAddresses(ctx context.Context, tx *store.Tx, ps portSubnet) error {
	portDef := p.defs[apidef.Ports]
	ports, err := tx.List(ctx, portDef, &resource.Query{
		Filters: []resource.Filter{{Attr: portDef.Attr("network_id"), Values: []any{ps.networkID}}},
		Sorts:   []resource.SortKey{{Attr: portDef.Attr("id")}},
	})
	if err != nil {
		return err
	}
	for _, port := range ports {
		owner := port.String("device_owner")
		if isRouterOwnerOrSNAT(owner) {
			continue
		}
		if len(ps.serviceTypes) > 0 && !slices.Contains(ps.serviceTypes, owner) && !(ps.enableDHCP && owner == ownerDHCP) {
			continue
		}
		if _, err := p.allocate(ctx, tx, port, []addrReq{{subnets: []portSubnet{ps}, eui64: true}}); err != nil {
			return err
		}
		if err := bumpRevision(ctx, tx, portDef, port.ID()); err != nil {
			return err
		}
	}
	return nil
}

// checkOverlap refuses a CIDR overlapping another subnet: on the same
// network, or anywhere when overlapping IPs are disallowed
// (_validate_subnet_cidr); and a /0.
func (p *Plugin) checkOverlap(ctx context.Context, tx *store.Tx, netID string, prefix netip.Prefix) error {
	var cidrs []string
	var err error
	if p.opts.AllowOverlappingIPs {
		cidrs, err = tx.Strings(ctx, apidef.Subnets, "cidr", "network_id", netID)
	} else {
		// Subnets of any network may collide: serialize cloud-wide
		// subnet creation on one lock row so two concurrent creates
		// cannot both pass the check (the network row lock covers the
		// per-network case).
		if err = tx.LockQuota(ctx, "*", "subnet_cidrs"); err == nil {
			cidrs, err = tx.Strings(ctx, apidef.Subnets, "cidr", "", nil)
		}
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

// NetworkSubnetPoolAffinityError is neutron-lib's exception of that name.
func NetworkSubnetPoolAffinityError() error {
	return fault.New(400, "NetworkSubnetPoolAffinityError",
		"Subnets hosted on the same network must be allocated from the same subnet pool.")
}

// NetworkAddressScopeAffinityError is neutron-lib's exception of that
// name.
func NetworkAddressScopeAffinityError() error {
	return fault.New(400, "NetworkAddressScopeAffinityError",
		"Subnets of the same address family hosted on the same network must all participate in the same address scope.")
}

// checkPoolAffinity is _validate_network_subnetpools: without an address
// scope on the network, every subnet of an IP version comes from the same
// subnet pool (or none); with one, a new subnet's pool must be in that
// scope.
func (p *Plugin) checkPoolAffinity(ctx context.Context, tx *store.Tx, netID string, version int, pool *resource.Object) error {
	def := p.defs[apidef.Subnets]
	subnets, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("network_id"), Values: []any{netID}}}})
	if err != nil {
		return err
	}
	networkScope, err := p.networkAddressScope(ctx, tx, subnets, version)
	if err != nil {
		return err
	}
	if networkScope != "" && pool != nil {
		if scope, _ := pool.Get("address_scope_id").(string); scope != networkScope {
			return NetworkAddressScopeAffinityError()
		}
	}
	for _, s := range subnets {
		got, _ := s.Get("subnetpool_id").(string)
		if pool != nil {
			if got != pool.ID() && s.Int("ip_version") == pool.Int("ip_version") && networkScope == "" {
				return NetworkSubnetPoolAffinityError()
			}
		} else if got != "" && s.Int("ip_version") == version {
			return NetworkSubnetPoolAffinityError()
		}
	}
	return nil
}

// networkAddressScope is the address scope the network's subnets of the
// IP version take part in through their subnet pools, or "".
func (p *Plugin) networkAddressScope(ctx context.Context, tx *store.Tx, subnets []*resource.Object, version int) (string, error) {
	seen := map[string]bool{}
	for _, s := range subnets {
		id, _ := s.Get("subnetpool_id").(string)
		if id == "" || seen[id] || s.Int("ip_version") != version {
			continue
		}
		seen[id] = true
		pool, err := tx.Get(ctx, p.defs[apidef.SubnetPools], id, false)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if scope, _ := pool.Get("address_scope_id").(string); scope != "" {
			return scope, nil
		}
	}
	return "", nil
}

// beforeUpdateSubnet follows _update_subnet_precommit: _validate_subnet
// with the stored subnet, the new pools against the CIDR, and the
// gateway against the pools when either changes.
func (p *Plugin) beforeUpdateSubnet(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	si, err := subnetInfoOf(old)
	if err != nil {
		return err
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.CheckSubnetSegmentUpdate(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	if err := p.validateSubnet(ctx, tx, patch, old, si.prefix, si.ipVersion, si.id); err != nil {
		return err
	}
	pools := si.pools
	if patch.Has("allocation_pools") {
		if pools, err = requestedPools(patch.Get("allocation_pools")); err != nil {
			return err
		}
		if err := ipam.ValidateAllocationPools(pools, si.prefix, nil); err != nil {
			return ipamFault(err)
		}
		patch.Set("allocation_pools", poolsValue(pools))
	}
	gateway := si.gateway
	if patch.Has("gateway_ip") {
		gateway = optAddr(patch.Get("gateway_ip"))
	}
	if (!sameAddr(gateway, si.gateway) || patch.Has("allocation_pools")) && gateway != nil {
		if err := ipam.CheckGatewayOutOfPools(*gateway, pools); err != nil {
			return ipamFault(err)
		}
	}
	return p.peerRoutesOnUpdate(ctx, tx, old, patch)
}

// afterUpdateSubnet recomputes the free addresses when the pools change:
// the new pools minus every address ports hold, inside the pools or not,
// so an address left outside stays its port's and is never handed out
// twice (Neutron keeps the allocation; the port keeps the address).
func (p *Plugin) afterUpdateSubnet(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.SubnetUpdated(ctx, tx, old, updated); err != nil {
			return err
		}
	}
	if updated.Int("revision_number") != old.Int("revision_number") {
		if err := bumpRevision(ctx, tx, p.defs[apidef.Networks], updated.String("network_id")); err != nil {
			return err
		}
	}
	for _, h := range p.subnetHooks {
		if err := h.AfterSubnetUpdate(ctx, tx, old, updated); err != nil {
			return err
		}
	}
	return nil
}

// beforeDeleteSubnet is delete_subnet: router interfaces always keep a
// subnet in use; other ports but the network's own (DHCP …) do unless the
// subnet gives automatic (SLAAC) addresses. What is left loses its
// addresses on the subnet.
func (p *Plugin) beforeDeleteSubnet(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.SubnetDeleting(ctx, tx, o); err != nil {
			return err
		}
	}
	portDef := p.defs[apidef.Ports]
	ports, err := tx.List(ctx, portDef, &resource.Query{
		Filters:    []resource.Filter{{Attr: portDef.Attr("network_id"), Values: []any{o.String("network_id")}}},
		SubFilters: []resource.SubFilter{{Attr: portDef.Attr("fixed_ips"), Key: "subnet_id", Values: []string{o.ID()}}},
		Sorts:      []resource.SortKey{{Attr: portDef.Attr("id")}},
	})
	if err != nil {
		return err
	}
	for _, port := range ports {
		if ipam.IsRouterInterfaceOwner(port.String("device_owner")) {
			return SubnetInUse(o.ID())
		}
	}
	auto := o.Int("ip_version") == 6 && ipam.IsAutoAddressSubnet(o.String("ipv6_address_mode"), o.String("ipv6_ra_mode"))
	if !auto {
		for _, port := range ports {
			if !autoDeleteOwner(port.String("device_owner")) {
				return SubnetInUse(o.ID())
			}
		}
	}
	allocs, err := tx.SubnetAllocations(ctx, o.ID())
	if err != nil {
		return err
	}
	for _, a := range allocs {
		if err := tx.RemoveAllocation(ctx, a.PortID, a.SubnetID, a.Key); err != nil {
			return err
		}
	}
	for _, port := range ports {
		if err := bumpRevision(ctx, tx, portDef, port.ID()); err != nil {
			return err
		}
	}
	tx.ForgetSubnet(o.ID())
	if err := p.peerRoutesOnDelete(ctx, tx, o); err != nil {
		return err
	}
	return bumpRevision(ctx, tx, p.defs[apidef.Networks], o.String("network_id"))
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
