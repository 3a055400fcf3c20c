package l3

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// IPv6 NDP proxies and routers' enable_ndp_proxy, as Neutron's ndp_proxy
// service plugin (neutron/services/ndp_proxy/plugin.py) keeps them. A
// router may proxy neighbour discovery for an internal port's IPv6
// address when its gateway is on an external network with an IPv6
// subnet in an address scope, the port's network is in the same IPv6
// address scope, and the router has an interface on the port's subnet.
// While proxies exist the router keeps its gateway and those interfaces.

// NDPProxyNotFound is Neutron's NDPProxyNotFound.
func NDPProxyNotFound(id string) error {
	return fault.NotFound("NDPProxyNotFound", fmt.Sprintf("NDP proxy %s could not be found.", id))
}

func routerGatewayNotValid(routerID, reason string) error {
	return fault.Conflict("RouterGatewayNotValid", "Can not enable ndp proxy no router %s, %s.", routerID, reason)
}

func portUnreachableRouter(portID, routerID string) error {
	return fault.Conflict("PortUnreachableRouter", "The port %s cannot reach the router %s by IPv6 subnet.", portID, routerID)
}

func invalidNDPAddress(address, reason string) error {
	return fault.New(400, "InvalidAddress", "The address %s is invalid, reason: %s.", address, reason)
}

// ndpEnabled reports whether the router definition carries
// enable_ndp_proxy (the ndp_proxy service plugin is loaded).
func (p *Plugin) ndpEnabled() bool {
	return p.routerDef.Attr("enable_ndp_proxy") != nil
}

// v6Address reports whether s is an IPv6 address.
func v6Address(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && !a.Is4In6()
}

// v6FixedIPs are a port's IPv6 addresses.
func v6FixedIPs(ports ...*resource.Object) []fixedIP {
	var out []fixedIP
	for _, port := range ports {
		for _, f := range fixedIPs(port) {
			if v6Address(f.ip) {
				out = append(out, f)
			}
		}
	}
	return out
}

// ipv6Scope is a network's ipv6_address_scope: the address scope of the
// pool its IPv6 subnets come from; "" for none. hasV6 tells whether the
// network has an IPv6 subnet at all.
func (p *Plugin) ipv6Scope(ctx context.Context, tx *store.Tx, networkID string) (scope string, hasV6 bool, err error) {
	subnets, err := list(ctx, tx, p.subnetDef, "network_id", networkID)
	if err != nil {
		return "", false, err
	}
	var v6 []*resource.Object
	for _, s := range subnets {
		if s.Int("ip_version") == 6 {
			v6 = append(v6, s)
		}
	}
	scopes, err := p.addressScopes(ctx, tx, v6)
	if err != nil {
		return "", false, err
	}
	for _, s := range v6 {
		if sc := scopes[s.ID()]; sc != "" {
			return sc, true, nil
		}
	}
	return "", len(v6) > 0, nil
}

// extNetworkSupportsNDP is _check_ext_gw_network: the network has an
// IPv6 address scope and an IPv6 subnet.
func (p *Plugin) extNetworkSupportsNDP(ctx context.Context, tx *store.Tx, networkID string) (bool, error) {
	scope, hasV6, err := p.ipv6Scope(ctx, tx, networkID)
	return scope != "" && hasV6, err
}

// gatewaySupportsNDP is _gateway_is_valid: the gateway port's network
// supports NDP proxies and the port holds an IPv6 address.
func (p *Plugin) gatewaySupportsNDP(ctx context.Context, tx *store.Tx, gwPortID string) (bool, error) {
	if gwPortID == "" {
		return false, nil
	}
	gw, err := tx.Get(ctx, p.portDef, gwPortID, false)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ok, err := p.extNetworkSupportsNDP(ctx, tx, gw.String("network_id"))
	if err != nil || !ok {
		return false, err
	}
	return len(v6FixedIPs(gw)) > 0, nil
}

// requestedNDPState is the enable_ndp_proxy a request gives; given is
// false when it gives none (or null, which converts to none).
func requestedNDPState(o *resource.Object) (state, given bool) {
	v, ok := o.Get("enable_ndp_proxy").(bool)
	return v, o.Has("enable_ndp_proxy") && ok
}

// ndpStateOnCreate is _process_ndp_proxy_state_for_create_router: a new
// router's enable_ndp_proxy, from the request, the gateway's external
// network and [DEFAULT] enable_ndp_proxy_by_default.
func (p *Plugin) ndpStateOnCreate(ctx context.Context, tx *store.Tx, o *resource.Object, info map[string]any) error {
	if !p.ndpEnabled() {
		return nil
	}
	state, given := requestedNDPState(o)
	o.Set("enable_ndp_proxy", false)
	netID, _ := info["network_id"].(string)
	if len(info) == 0 {
		if given && state {
			return routerGatewayNotValid(o.ID(), "The request body not contain external gateway information")
		}
		return nil
	}
	if given && !state {
		return nil
	}
	ok, err := p.extNetworkSupportsNDP(ctx, tx, netID)
	if err != nil {
		return err
	}
	if !ok && given {
		return routerGatewayNotValid(o.ID(), fmt.Sprintf("The external network %s don't support IPv6 ndp proxy, the network has no IPv6 subnets or has no IPv6 address scope", netID))
	}
	if !given {
		state = ok && p.opts.EnableNDPProxyByDefault
	}
	o.Set("enable_ndp_proxy", state)
	return nil
}

// ndpGatewayChange is what the ndp_proxy plugin checks of a gateway
// change (its ROUTER_GATEWAY receivers): a gateway that goes (removed,
// or replaced by one on another network) may not while the router has
// NDP proxies, nor in a request that enables them, and it takes the
// router's enable_ndp_proxy with it; a gateway that changes addresses
// on its network keeps an IPv6 one while the router proxies.
func (p *Plugin) ndpGatewayChange(ctx context.Context, tx *store.Tx, router, gw *resource.Object, info map[string]any, patch *resource.Object) error {
	if !p.ndpEnabled() || gw == nil {
		return nil
	}
	netID, _ := info["network_id"].(string)
	if gw.String("network_id") != netID {
		n, err := tx.CountWhere(ctx, "ndp_proxies", map[string]any{"router_id": router.ID()})
		if err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict("RouterGatewayInUseByNDPProxy",
				"Unable to unset external gateway of router %s, There are one or more ndp proxies still in use on the router.", router.ID())
		}
		if state, given := requestedNDPState(patch); given && state {
			return routerGatewayNotValid(router.ID(), "The router's external gateway will be unset")
		}
		return nil
	}
	extIPs, _ := info["external_fixed_ips"].([]any)
	if !router.Bool("enable_ndp_proxy") || len(extIPs) == 0 {
		return nil
	}
	var subnetIDs []string
	for _, it := range extIPs {
		m, _ := it.(map[string]any)
		if ip, _ := m["ip_address"].(string); v6Address(ip) {
			return nil
		}
		if id, _ := m["subnet_id"].(string); id != "" {
			subnetIDs = append(subnetIDs, id)
		}
	}
	subnets, err := list(ctx, tx, p.subnetDef, "id", subnetIDs...)
	if err != nil {
		return err
	}
	for _, s := range subnets {
		if s.Int("ip_version") == 6 {
			return nil
		}
	}
	return fault.Conflict("RouterIPv6GatewayInUse",
		"Can't remove the IPv6 subnet from external gateway of router %s, the IPv6 subnet in use by the router's ndp proxy.", router.ID())
}

// ndpStateOnUpdate is _process_ndp_proxy_state_for_update_router, run on
// every router update once the gateway is settled: enabling needs a
// gateway that supports NDP proxies, and an update that does not name
// enable_ndp_proxy sets it to whether the gateway does (as Neutron's
// does, whatever it was).
func (p *Plugin) ndpStateOnUpdate(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !p.ndpEnabled() {
		return nil
	}
	gwPortID, _ := old.Get("gw_port_id").(string)
	if patch.Has("gw_port_id") {
		gwPortID, _ = patch.Get("gw_port_id").(string)
	}
	ok, err := p.gatewaySupportsNDP(ctx, tx, gwPortID)
	if err != nil {
		return err
	}
	state, given := requestedNDPState(patch)
	if given && state && !ok {
		return routerGatewayNotValid(old.ID(), "The router has no external gateway or the external gateway port has no IPv6 address or IPv6 address scope")
	}
	if !given {
		state = ok
	}
	patch.Set("enable_ndp_proxy", state)
	return nil
}

// showNDPState shows enable_ndp_proxy: false on a router without a
// gateway, whatever is stored.
func showNDPState(r *resource.Object) {
	if r.Resource().Attr("enable_ndp_proxy") == nil {
		return
	}
	if r.Get("external_gateway_info") == nil {
		r.Set("enable_ndp_proxy", false)
	}
}

// checkInterfaceNotUsedByNDP is the ndp_proxy plugin's check before a
// router interface goes: no proxy of the router may be for an address
// on the subnet.
func (p *Plugin) checkInterfaceNotUsedByNDP(ctx context.Context, tx *store.Tx, router, subnet *resource.Object) error {
	if p.ndpDef == nil {
		return nil
	}
	proxies, err := list(ctx, tx, p.ndpDef, "router_id", router.ID())
	if err != nil || len(proxies) == 0 {
		return err
	}
	portIDs := make([]string, len(proxies))
	for i, np := range proxies {
		portIDs[i] = np.String("port_id")
	}
	ports, err := list(ctx, tx, p.portDef, "id", portIDs...)
	if err != nil {
		return err
	}
	byID := make(map[string]*resource.Object, len(ports))
	for _, port := range ports {
		byID[port.ID()] = port
	}
	for _, np := range proxies {
		port := byID[np.String("port_id")]
		if port == nil {
			continue
		}
		if subnetOf(np.String("ip_address"), v6FixedIPs(port)) == subnet.ID() {
			return fault.Conflict("RouterInterfaceInUseByNDPProxy",
				"Unable to remove subnet %s from router %s, There are one or more ndp proxies still in use on the subnet.",
				subnet.ID(), router.ID())
		}
	}
	return nil
}

// subnetOf is the subnet of the fixed IP equal to ip, or "".
func subnetOf(ip string, fixed []fixedIP) string {
	want, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	for _, f := range fixed {
		if a, err := netip.ParseAddr(f.ip); err == nil && a == want {
			return f.subnetID
		}
	}
	return ""
}

// visibleRouter reads a router the caller may see (admins any, others
// their project's), else RouterNotFound.
func (p *Plugin) visibleRouter(ctx context.Context, tx *store.Tx, id string, forUpdate bool) (*resource.Object, error) {
	r, err := tx.Get(ctx, p.routerDef, id, forUpdate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, RouterNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && r.String("project_id") != caller.ProjectID {
		return nil, RouterNotFound(id)
	}
	return r, nil
}

// beforeCreateNDPProxy is create_ndp_proxy's checks, in Neutron's order:
// the port, the router's ports on its network, the router and its
// enable_ndp_proxy, the port's IPv6 address on a subnet the router is
// on (the one asked for, else the first), and one IPv6 address scope on
// both sides of the router.
func (p *Plugin) beforeCreateNDPProxy(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	routerID, portID := o.String("router_id"), o.String("port_id")
	port, err := p.visiblePort(ctx, tx, portID, false)
	if err != nil {
		return err
	}
	ports, err := list(ctx, tx, p.portDef, "device_id", routerID)
	if err != nil {
		return err
	}
	var routerPorts []*resource.Object
	for _, rp := range ports {
		if rp.String("network_id") == port.String("network_id") {
			routerPorts = append(routerPorts, rp)
		}
	}
	if len(routerPorts) == 0 {
		return portUnreachableRouter(portID, routerID)
	}
	// The router's row lock orders proxies with its gateway and
	// interface changes.
	router, err := p.visibleRouter(ctx, tx, routerID, true)
	if err != nil {
		return err
	}
	gw, err := p.gatewayPort(ctx, tx, router)
	if err != nil {
		return err
	}
	if gw == nil || !router.Bool("enable_ndp_proxy") {
		return fault.Conflict("RouterNDPProxyNotEnable",
			"The enable_ndp_proxy parameter of router %s must be set as True while create ndp proxy entry on it.", routerID)
	}
	extScope, _, err := p.ipv6Scope(ctx, tx, gw.String("network_id"))
	if err != nil {
		return err
	}
	portIPs := v6FixedIPs(port)
	if len(portIPs) == 0 {
		return fault.NeutronBadRequest("ndp_proxy", fmt.Sprintf("Requested port %s must allocate one IPv6 address at least", portID))
	}
	routerSubnets := map[string]bool{}
	for _, f := range v6FixedIPs(routerPorts...) {
		routerSubnets[f.subnetID] = true
	}
	ip, _ := o.Get("ip_address").(string)
	if ip == "" {
		for _, f := range portIPs {
			if routerSubnets[f.subnetID] {
				ip = f.ip
				break
			}
		}
		if ip == "" {
			return portUnreachableRouter(portID, routerID)
		}
		o.Set("ip_address", ip)
	} else {
		subnetID := subnetOf(ip, portIPs)
		if subnetID == "" {
			return invalidNDPAddress(ip, "This address not belong to the port "+portID)
		}
		if !routerSubnets[subnetID] {
			return invalidNDPAddress(ip, "This address cannot reach the router "+routerID)
		}
	}
	intScope, _, err := p.ipv6Scope(ctx, tx, port.String("network_id"))
	if err != nil {
		return err
	}
	if extScope != intScope {
		return fault.Conflict("AddressScopeConflict",
			"The IPv6 address scope %s of external network conflict with internal network's IPv6 address scope %s.",
			pyNone(extScope), pyNone(intScope))
	}
	n, err := tx.CountWhere(ctx, "ndp_proxies", map[string]any{"router_id": routerID, "ip_address": ip})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("NeutronDbObjectDuplicateEntry",
			"Failed to create a duplicate NDPProxy: for attribute(s) ['router_id', 'ip_address'] with value(s) %s-%s", routerID, ip)
	}
	return nil
}

// pyNone shows an absent id as Python's None, as Neutron's messages do.
func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// afterWriteNDPProxy tells the L3 agents hosting the proxy's router.
func (p *Plugin) afterWriteNDPProxy(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.notify(ctx, tx, o.String("router_id"))
}

// syncNDPProxies adds each router's enable_ndp_proxy (true only with a
// gateway, as the API shows it) and its NDP proxies to the sync_routers
// payload, in one query.
func (p *Plugin) syncNDPProxies(ctx context.Context, tx *store.Tx, stored []*resource.Object, routers []rpcapi.Router) error {
	if !p.ndpEnabled() || len(routers) == 0 {
		return nil
	}
	enabled := make(map[string]bool, len(stored))
	for _, r := range stored {
		enabled[r.ID()] = r.Bool("enable_ndp_proxy")
	}
	ids := make([]string, len(routers))
	byID := make(map[string]*rpcapi.Router, len(routers))
	for i := range routers {
		r := &routers[i]
		r.EnableNDPProxy = enabled[r.ID] && r.GatewayPort != nil
		ids[i] = r.ID
		byID[r.ID] = r
	}
	if p.ndpDef == nil {
		return nil
	}
	proxies, err := list(ctx, tx, p.ndpDef, "router_id", ids...)
	if err != nil {
		return fmt.Errorf("ndp proxies of routers: %w", err)
	}
	for _, np := range proxies {
		if r := byID[np.String("router_id")]; r != nil {
			r.NDPProxies = append(r.NDPProxies, rpcapi.NDPProxy{ID: np.ID(), PortID: np.String("port_id"),
				IPAddress: np.String("ip_address")})
		}
	}
	return nil
}
