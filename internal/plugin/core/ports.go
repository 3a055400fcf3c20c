package core

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Ports, as Neutron's ML2 plugin and its database layer make them
// (neutron/db/db_base_plugin_v2.py create_port_db and update_port,
// neutron/db/ipam_pluggable_backend.py and ipam_backend_mixin.py for
// addresses, allowedaddresspairs_db.py, extradhcpopt_db.py and
// portsecurity_db_common.py for the extensions).

// PortNotFound is neutron-lib's PortNotFound.
func PortNotFound(id string) error {
	return fault.NotFound("PortNotFound", fmt.Sprintf("Port %s could not be found.", id))
}

func macInUse(netID, mac string) error {
	return fault.Conflict("MacAddressInUse",
		"Unable to complete operation for network %s. The mac address %s is in use.", netID, mac)
}

func ipAlreadyAllocated(addr netip.Addr, subnetID string) error {
	return fault.Conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", addr, subnetID)
}

func noMoreAddresses(netID string) error {
	return fault.Conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", netID)
}

const (
	ownerRouterSNAT     = "network:router_centralized_snat"
	ownerNetworkPrefix  = "network:"
	vifTypeUnbound      = "unbound"
	vifTypeBindingFails = "binding_failed"
)

// isRouterOwnerOrSNAT is ROUTER_INTERFACE_OWNERS_SNAT: ports that take no
// automatic (SLAAC) addresses and keep every address they hold.
func isRouterOwnerOrSNAT(owner string) bool {
	return ipam.IsRouterInterfaceOwner(owner) || owner == ownerRouterSNAT
}

// portHandler serves ports: a resource on a network, whose policy targets
// carry one more Neutron rule.
type portHandler struct {
	*onNetwork
}

// PolicyTargets adds to onNetwork's targets Neutron's behaviour for a new
// port on a network its project may not see. Neutron's create_port rule
// ends in "rule:shared", a FieldCheck that loads the network as the port's
// project (neutron/policy.py FieldCheck): a private network of another
// project is then NetworkNotFound (404), not a policy refusal
// (test_create_port_bad_project). Admins and services never reach that
// check, and the network owner's members pass the rule before it.
func (h *portHandler) PolicyTargets(ctx context.Context, objs []*resource.Object) ([]map[string]any, error) {
	targets, err := h.onNetwork.PolicyTargets(ctx, objs)
	if err != nil {
		return nil, err
	}
	c := reqctx.CallerFrom(ctx)
	if c.IsAdmin || c.HasRole("service") {
		return targets, nil
	}
	for i, o := range objs {
		if o.Has("created_at") { // a stored port, not one being created
			continue
		}
		t := targets[i]
		if t["network:project_id"] == o.String("project_id") || t["shared"] == true {
			continue
		}
		if t["router:external"] == true {
			external, err := h.externalFor(ctx, o.String("network_id"), o.String("project_id"))
			if err != nil {
				return nil, err
			}
			if external {
				continue
			}
		}
		return nil, NetworkNotFound(o.String("network_id"))
	}
	return targets, nil
}

// externalFor reports whether an external network is external for
// project: an access_as_external RBAC policy targets it or every project.
// router:external is set while any such policy exists, but a network
// made external for one project only stays invisible to the others, so
// Neutron's network lookup as the port's project does not find it.
func (h *portHandler) externalFor(ctx context.Context, networkID, project string) (bool, error) {
	if !h.p.rbac.Enabled() {
		return true, nil
	}
	var external bool
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		shared, err := h.p.rbac.SharedWith(ctx, tx, "network", accessAsExternal, project, []string{networkID})
		external = shared[networkID]
		return err
	})
	return external, err
}

// enforceDeviceOwner is _enforce_device_owner_not_router_intf_or_device_id:
// a project may not pose a port as another project's router interface.
// Without an L3 plugin Neutron refuses any device_id for a router
// interface owner from a non-admin.
// With an L3 plugin (the service guard) only another project's router is
// refused.
func (p *Plugin) enforceDeviceOwner(ctx context.Context, tx *store.Tx, owner, deviceID, projectID string) error {
	if !ipam.IsRouterInterfaceOwner(owner) || reqctx.CallerFrom(ctx).IsAdmin || deviceID == "" {
		return nil
	}
	if p.guard != nil {
		return p.guard.CheckRouterDevice(ctx, tx, deviceID, projectID)
	}
	return fault.Conflict("DeviceIDNotOwnedByTenant",
		"The following device_id %s is not owned by your project or matches another project router.", deviceID)
}

// prefetchPorts reads in one statement what creating ports of one project
// asks the store: the quota limits, the project's default security group,
// with ML2 whether a DHCP agent is alive, and for ports of one network
// the network's row and the DHCP agents the notification goes to (see
// store.Tx.Prefetch). Ports of several projects read them as they go.
func (p *Plugin) prefetchPorts(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	if len(objs) == 0 {
		return nil
	}
	project, network := objs[0].String("project_id"), objs[0].String("network_id")
	for _, o := range objs[1:] {
		if o.String("project_id") != project {
			return nil
		}
		if o.String("network_id") != network {
			network = ""
		}
	}
	agentType := ""
	if p.opts.ML2 != nil {
		agentType = rpcapi.AgentTypeDHCP
	}
	return tx.Prefetch(ctx, store.PrefetchArgs{Project: project, AgentType: agentType, NetworkID: network, Networks: p.defs[apidef.Networks]})
}

func (p *Plugin) beforeCreatePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := p.enforceDeviceOwner(ctx, tx, o.String("device_owner"), o.String("device_id"), o.String("project_id")); err != nil {
		return err
	}
	netID := o.String("network_id")
	network, ok := tx.PrefetchedNetwork(netID)
	var err error
	if !ok {
		network, err = tx.Get(ctx, p.defs[apidef.Networks], netID, false)
	}
	if errors.Is(err, store.ErrNotFound) {
		return NetworkNotFound(netID)
	}
	if err != nil {
		return err
	}
	// The network's subnets are share-locked before the port row (whose
	// foreign key locks the network) exists, and read once for the
	// port's addresses and ML2; see store.ShareNetworkSubnets.
	objs, err := tx.ShareNetworkSubnets(ctx, p.defs[apidef.Subnets], netID)
	if err != nil {
		return err
	}
	subnets, err := portSubnetsOf(objs)
	if err != nil {
		return err
	}
	tx.SetMemo(portSubnetsMemo(o.ID()), subnets)
	if err := p.ensureDefaultGroup(ctx, tx, o.String("project_id")); err != nil {
		return err
	}
	if err := p.assignMAC(ctx, tx, o, netID); err != nil {
		return err
	}
	o.Set("status", "DOWN")
	switch {
	case !declared(o, "port_security_enabled"):
	case strings.HasPrefix(o.String("device_owner"), "network:"):
		// Neutron's port security driver applies none to the ports of
		// DHCP, routers and the other network:* devices, whatever the
		// request says.
		o.Set("port_security_enabled", false)
	case !o.Has("port_security_enabled"):
		o.Set("port_security_enabled", network.Bool("port_security_enabled"))
	}
	if declared(o, "allowed_address_pairs") {
		pairs, _ := o.Get("allowed_address_pairs").([]any)
		o.Set("allowed_address_pairs", withPairMACs(pairs, o.String("mac_address")))
	}
	if declared(o, "extra_dhcp_opts") {
		o.Set("extra_dhcp_opts", mergeDHCPOpts(nil, o.Get("extra_dhcp_opts")))
	}
	if err := p.portDNS(o, true); err != nil {
		return err
	}
	setIfAbsent(o, "binding:host_id", "")
	setIfAbsent(o, "binding:profile", map[string]any{})
	setIfDeclared(o, "binding:vif_type", vifTypeUnbound)
	setIfDeclared(o, "binding:vif_details", map[string]any{})
	if fixed, ok := o.Get("fixed_ips").([]any); ok && len(fixed) == 0 {
		setIfDeclared(o, "ip_allocation", "none") // an unaddressed port
	} else {
		setIfDeclared(o, "ip_allocation", "immediate")
	}
	if p.opts.ML2 != nil {
		net := ml2.NewPortNetwork{Network: network,
			DHCPSubnets: slices.ContainsFunc(subnets, func(s portSubnet) bool { return s.enableDHCP })}
		if err := p.opts.ML2.BeforeCreatePort(ctx, tx, o, net); err != nil {
			return err
		}
	}
	for _, d := range p.extDrivers {
		if err := d.ProcessCreatePort(ctx, tx, o); err != nil {
			return err
		}
	}
	return nil
}

func declared(o *resource.Object, name string) bool { return o.Resource().Attr(name) != nil }

func setIfDeclared(o *resource.Object, name string, v any) {
	if declared(o, name) {
		o.Set(name, v)
	}
}

func setIfAbsent(o *resource.Object, name string, v any) {
	if declared(o, name) && !o.Has(name) {
		o.Set(name, v)
	}
}

// assignMAC gives a port a random MAC under base_mac, or checks the one
// asked for is free on the network. A random MAC is not looked up at
// first: the port row's unique key on (network_id, mac_address) refuses
// one in use, and the transaction runs again (portInsertFailed), which
// costs one query per port less than asking first for what a random pick
// among 2^16 or (by default) 2^24 rarely meets. A rerun asks first, as
// Neutron does, so that a network short of free MACs (or a bulk create
// that drew one twice) ends in MacAddressGenerationFailure rather than
// in reruns.
func (p *Plugin) assignMAC(ctx context.Context, tx *store.Tx, o *resource.Object, netID string) error {
	if o.Has("mac_address") && o.Get("mac_address") != nil {
		mac := o.String("mac_address")
		if err := lockMAC(ctx, tx, netID, mac); err != nil {
			return err
		}
		if inUse, err := macTaken(ctx, tx, netID, mac); err != nil || inUse {
			if err == nil {
				err = macInUse(netID, mac)
			}
			return err
		}
		return nil
	}
	var mac string
	var err error
	if tx.Rerun() {
		mac, err = p.generateMAC(ctx, tx, netID)
	} else {
		mac, err = p.randomMAC()
	}
	if err != nil {
		return err
	}
	o.Set("mac_address", mac)
	tx.SetMemo(generatedMACMemo(o.ID()), mac)
	return nil
}

// generatedMACMemo is the Memo key of the MAC assignMAC drew for a port.
func generatedMACMemo(portID string) string { return "generated-mac/" + portID }

// portInsertFailed reruns the transaction when the port's row was
// refused for its random MAC, which another port of the network has (the
// next run draws another, and checks it).
func (p *Plugin) portInsertFailed(ctx context.Context, tx *store.Tx, o *resource.Object, err error) error {
	mac, generated := tx.Memo(generatedMACMemo(o.ID()))
	if generated && slices.Equal(tx.DuplicateKey(err), []string{"network_id", "mac_address"}) {
		return fmt.Errorf("%w: the generated MAC %s is in use on network %s", store.ErrRerun, mac, o.String("network_id"))
	}
	return err
}

func (p *Plugin) randomMAC() (string, error) {
	hw, err := ipam.RandomMAC(p.opts.BaseMAC, func(b []byte) { _, _ = rand.Read(b) })
	if err != nil {
		return "", fmt.Errorf("generate MAC: %w", err)
	}
	return hw.String(), nil
}

// generateMAC returns a random MAC under base_mac that is free on the
// network.
func (p *Plugin) generateMAC(ctx context.Context, tx *store.Tx, netID string) (string, error) {
	for attempt := 0; attempt < 16; attempt++ {
		mac, err := p.randomMAC()
		if err != nil {
			return "", err
		}
		inUse, err := macTaken(ctx, tx, netID, mac)
		if err != nil {
			return "", err
		}
		if !inUse {
			return mac, nil
		}
	}
	return "", fault.ServiceUnavailable("MacAddressGenerationFailure",
		"Unable to generate unique mac on network %s.", netID)
}

// macTaken reports whether a MAC is in use on the network.
func macTaken(ctx context.Context, tx *store.Tx, netID, mac string) (bool, error) {
	n, err := tx.CountWhere(ctx, apidef.Ports, map[string]any{"network_id": netID, "mac_address": mac})
	return n > 0, err
}

// lockMAC serializes requests for one MAC on a network, so that two
// cannot both find it free; generated MACs are random enough to skip it.
func lockMAC(ctx context.Context, tx *store.Tx, netID, mac string) error {
	return tx.LockName(ctx, "port-mac/"+netID+"/"+mac)
}

// withPairMACs gives every allowed address pair without a MAC the port's,
// as _process_create_allowed_address_pairs does.
func withPairMACs(pairs []any, mac string) []any {
	out := make([]any, len(pairs))
	for i, it := range pairs {
		m := it.(map[string]any)
		pair := map[string]any{"ip_address": m["ip_address"], "mac_address": m["mac_address"]}
		if _, ok := m["mac_address"]; !ok {
			pair["mac_address"] = mac
		}
		out[i] = pair
	}
	return out
}

// checkAddressPairs refuses allowed address pairs on a port without port
// security (AddressPairAndPortSecurityRequired) and a pair repeated once
// the port's MAC is filled in (the database's unique key in Neutron:
// DuplicateAddressPairInRequest).
func checkAddressPairs(o *resource.Object) error {
	pairs, _ := o.Get("allowed_address_pairs").([]any)
	if len(pairs) == 0 {
		return nil
	}
	if o.Has("port_security_enabled") && !o.Bool("port_security_enabled") {
		return addressPairsNeedPortSecurity()
	}
	seen := map[string]bool{}
	for _, it := range pairs {
		m := it.(map[string]any)
		mac, ip := resource.PyStr(m["mac_address"]), resource.PyStr(m["ip_address"])
		if seen[mac+" "+ip] {
			return fault.New(400, "DuplicateAddressPairInRequest",
				"Request contains duplicate address pair: mac_address %s ip_address %s.", mac, ip)
		}
		seen[mac+" "+ip] = true
	}
	return nil
}

func addressPairsNeedPortSecurity() error {
	return fault.Conflict("AddressPairAndPortSecurityRequired",
		"Port Security must be enabled in order to have allowed address pairs on a port.")
}

// validDHCPOptValue is _is_valid_opt_value: options that may be blank
// need a value that is not null; the others a non-empty one.
func validDHCPOptValue(name string, value any) bool {
	if name == "router" || name == "classless-static-route" {
		return value != nil
	}
	s, _ := value.(string)
	return s != ""
}

// mergeDHCPOpts applies requested extra DHCP options to the current ones
// as extradhcpopt_db does: an option is matched by name and IP version; a
// null value removes it, another valid value replaces it; new options with
// a valid value are added; options not named stay. Creating a port is
// merging into nothing.
func mergeDHCPOpts(current []any, requested any) []any {
	out := append(make([]any, 0, len(current)), current...)
	reqs, _ := requested.([]any)
	for _, it := range reqs {
		r := it.(map[string]any)
		name, _ := r["opt_name"].(string)
		found := -1
		for i, cur := range out {
			c := cur.(map[string]any)
			if c["opt_name"] == name && fmt.Sprint(c["ip_version"]) == fmt.Sprint(r["ip_version"]) {
				found = i
				break
			}
		}
		switch {
		case found >= 0 && r["opt_value"] == nil:
			out = slices.Delete(out, found, found+1)
		case found >= 0:
			if validDHCPOptValue(name, r["opt_value"]) {
				out[found] = map[string]any{"opt_name": name, "opt_value": r["opt_value"], "ip_version": r["ip_version"]}
			}
		case validDHCPOptValue(name, r["opt_value"]):
			out = append(out, map[string]any{"opt_name": name, "opt_value": r["opt_value"], "ip_version": r["ip_version"]})
		}
	}
	return out
}

// afterCreatePort allocates the port's addresses once its row exists, then
// checks what Neutron checks after allocation: allowed address pairs.
func (p *Plugin) afterCreatePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	fixed, given := o.Get("fixed_ips").([]any)
	var subnets []portSubnet
	var err error
	if all, ok := tx.Memo(portSubnetsMemo(o.ID())); ok && all != nil {
		subnets, err = candidatesOf(all.([]portSubnet), o.String("network_id"), o.String("device_owner"))
	} else {
		subnets, err = p.candidateSubnets(ctx, tx, o.String("network_id"), o.String("device_owner"))
	}
	if err != nil {
		return err
	}
	var reqs []addrReq
	if given {
		if reqs, err = p.fixedIPRequests(ctx, tx, o, fixed, subnets); err != nil {
			return err
		}
	} else {
		var v4, v6 []portSubnet
		for _, s := range subnets {
			switch {
			case s.ipVersion == 4:
				v4 = append(v4, s)
			case !s.auto():
				v6 = append(v6, s)
			}
		}
		for _, group := range [][]portSubnet{v4, v6} {
			if len(group) > 0 {
				reqs = append(reqs, addrReq{subnets: group})
			}
		}
	}
	reqs = append(reqs, autoAddressRequests(subnets, o.String("device_owner"), nil)...)
	ips, err := p.allocate(ctx, tx, o, reqs)
	if err != nil {
		return err
	}
	o.Set("fixed_ips", sortFixedIPs(ips))
	if err := checkAddressPairs(o); err != nil {
		return err
	}
	return p.createPortGroups(ctx, tx, o)
}

// portSubnet is what address allocation needs to know of a subnet.
type portSubnet struct {
	subnetInfo
	serviceTypes []string
	enableDHCP   bool
}

// auto reports whether ports get their address on the subnet by SLAAC.
func (s portSubnet) auto() bool {
	return s.ipVersion == 6 && ipam.IsAutoAddressSubnet(s.addressMode, s.raMode)
}

// addrReq asks for one address: a given address on subnets[0], the port's
// EUI-64 address on subnets[0], or else any free address of the first of
// subnets that has one.
type addrReq struct {
	subnets []portSubnet
	ip      *netip.Addr
	eui64   bool
}

// networkSubnets reads a network's subnets in creation order.
func (p *Plugin) networkSubnets(ctx context.Context, tx *store.Tx, netID string) ([]portSubnet, error) {
	def := p.defs[apidef.Subnets]
	objs, err := tx.List(ctx, def, &resource.Query{
		Filters: []resource.Filter{{Attr: def.Attr("network_id"), Values: []any{netID}}},
		Sorts:   []resource.SortKey{{Attr: def.Attr("created_at")}, {Attr: def.Attr("id")}},
	})
	if err != nil {
		return nil, err
	}
	return portSubnetsOf(objs)
}

// portSubnetsOf is what address allocation needs of the subnets read.
func portSubnetsOf(objs []*resource.Object) ([]portSubnet, error) {
	out := make([]portSubnet, 0, len(objs))
	for _, o := range objs {
		si, err := subnetInfoOf(o)
		if err != nil {
			return nil, err
		}
		st, _ := o.Get("service_types").([]string)
		out = append(out, portSubnet{subnetInfo: si, serviceTypes: st, enableDHCP: o.Bool("enable_dhcp")})
	}
	return out, nil
}

// candidateSubnets are the subnets of a network a port with the device
// owner may take addresses from; see candidatesOf.
func (p *Plugin) candidateSubnets(ctx context.Context, tx *store.Tx, netID, owner string) ([]portSubnet, error) {
	all, err := p.networkSubnets(ctx, tx, netID)
	if err != nil {
		return nil, err
	}
	return candidatesOf(all, netID, owner)
}

// candidatesOf are the subnets of all (a network's, in creation order)
// a port with the device owner may take addresses from
// (Subnet.find_candidate_subnets): those without service types, those
// whose service types name the owner, and for DHCP ports any with DHCP
// enabled; subnets with service types come first. When the network has
// subnets but none is a candidate it is
// IpAddressGenerationFailureNoMatchingSubnet.
func candidatesOf(all []portSubnet, netID, owner string) ([]portSubnet, error) {
	var typed, plain []portSubnet
	for _, s := range all {
		switch {
		case len(s.serviceTypes) == 0:
			plain = append(plain, s)
		case slices.Contains(s.serviceTypes, owner) || owner == ownerDHCP && s.enableDHCP:
			typed = append(typed, s)
		}
	}
	out := append(typed, plain...)
	if len(out) == 0 && len(all) > 0 {
		return nil, fault.Conflict("IpAddressGenerationFailureNoMatchingSubnet",
			"No valid service subnet for the given device owner, network %s, service type %s.", netID, owner)
	}
	return out, nil
}

// fixedIPRequests resolves requested fixed IPs against the candidate
// subnets, validating all of them before anything is allocated, as
// _test_fixed_ips_for_port does. A subnet named without an address on a
// SLAAC subnet asks for nothing here: the port's EUI-64 address comes with
// the automatic addresses.
func (p *Plugin) fixedIPRequests(ctx context.Context, tx *store.Tx, port *resource.Object, items []any, subnets []portSubnet) ([]addrReq, error) {
	owner := port.String("device_owner")
	var reqs []addrReq
	for _, it := range items {
		m := it.(map[string]any)
		s, ip, err := p.subnetForFixedIP(ctx, tx, m, subnets, port.String("network_id"), owner)
		if err != nil {
			return nil, err
		}
		if ip != nil && s.prefix.Masked() != ipam.ProvisionalPDPrefix {
			if s.auto() && !ipam.IsRouterInterfaceOwner(owner) {
				hw, _ := net.ParseMAC(port.String("mac_address"))
				if err := ipam.CheckAutoAddressIP(s.prefix, *ip, hw, owner, s.id); err != nil {
					return nil, ipamFault(err)
				}
			}
			reqs = append(reqs, addrReq{subnets: []portSubnet{s}, ip: ip})
			continue
		}
		if isRouterOwnerOrSNAT(owner) || !s.auto() {
			reqs = append(reqs, addrReq{subnets: []portSubnet{s}})
		}
	}
	return reqs, nil
}

// subnetForFixedIP is _get_subnet_for_fixed_ip: the subnet a fixed IP
// names or, for an address alone, the first subnet that can hold it.
func (p *Plugin) subnetForFixedIP(ctx context.Context, tx *store.Tx, m map[string]any, subnets []portSubnet, netID, owner string) (portSubnet, *netip.Addr, error) {
	if len(subnets) == 0 {
		return portSubnet{}, nil, fault.InvalidInput("IP allocation requires subnets for network")
	}
	var ip *netip.Addr
	if s, ok := m["ip_address"].(string); ok {
		a := netip.MustParseAddr(s)
		ip = &a
	}
	if id, ok := m["subnet_id"].(string); ok {
		i := slices.IndexFunc(subnets, func(s portSubnet) bool { return s.id == id })
		if i < 0 {
			if _, err := tx.Get(ctx, p.defs[apidef.Subnets], id, false); errors.Is(err, store.ErrNotFound) {
				return portSubnet{}, nil, SubnetNotFound(id)
			} else if err != nil {
				return portSubnet{}, nil, err
			}
			return portSubnet{}, nil, fault.InvalidInput(fmt.Sprintf(
				"Failed to create port on network %s, because fixed_ips included invalid subnet %s", netID, id))
		}
		if ip != nil && !ipam.CheckSubnetIP(subnets[i].prefix, *ip, owner) {
			return portSubnet{}, nil, fault.New(400, "InvalidIpForSubnet",
				"IP address %s is not a valid IP for the specified subnet.", ip)
		}
		return subnets[i], ip, nil
	}
	if ip == nil {
		return portSubnet{}, nil, fault.InvalidInput("IP allocation requires subnet_id or ip_address")
	}
	for _, s := range subnets {
		if ipam.CheckSubnetIP(s.prefix, *ip, owner) {
			return s, ip, nil
		}
	}
	return portSubnet{}, nil, fault.New(400, "InvalidIpForNetwork",
		"IP address %s is not a valid IP for any of the subnets on the specified network.", ip)
}

// autoAddressRequests asks for the port's EUI-64 address on every SLAAC
// and DHCPv6-stateless subnet not in skip (_get_auto_address_ips); router
// ports take none.
func autoAddressRequests(subnets []portSubnet, owner string, skip map[string]bool) []addrReq {
	if isRouterOwnerOrSNAT(owner) {
		return nil
	}
	var reqs []addrReq
	for _, s := range subnets {
		if s.auto() && !skip[s.id] {
			reqs = append(reqs, addrReq{subnets: []portSubnet{s}, eui64: true})
		}
	}
	return reqs
}

// allocate takes the requested addresses, given addresses first so that an
// automatic one never takes an address asked for by name (as
// _ipam_allocate_ips orders them), and records them for the port. Every
// subnet involved is share-locked first (store.ShareSubnets), which keeps
// its pools and its existence fixed until commit while concurrent
// allocations on it go on; each address is then claimed by its
// allocation row's key, so allocation is safe against concurrent
// transactions on any number of servers.
func (p *Plugin) allocate(ctx context.Context, tx *store.Tx, port *resource.Object, reqs []addrReq) ([]any, error) {
	slices.SortStableFunc(reqs, func(a, b addrReq) int {
		return cmp.Compare(boolRank(a.ip == nil), boolRank(b.ip == nil))
	})
	var ids []string
	for _, r := range reqs {
		for _, s := range r.subnets {
			ids = append(ids, s.id)
		}
	}
	// Subnets the port's create share-locked already (with their pools),
	// and the others now. The memo serves the create's own allocation
	// only: a later allocation for the port in this transaction (after a
	// subnet of the network was added, changed or deleted in it) reads
	// the subnets again.
	locked := map[string][]ipam.Range{}
	if m, ok := tx.Memo(portSubnetsMemo(port.ID())); ok && m != nil {
		for _, s := range m.([]portSubnet) {
			locked[s.id] = s.pools
		}
		tx.SetMemo(portSubnetsMemo(port.ID()), nil)
	}
	var more []string
	for _, id := range ids {
		if _, ok := locked[id]; !ok {
			more = append(more, id)
		}
	}
	if len(more) > 0 {
		got, err := tx.ShareSubnets(ctx, more...)
		if err != nil {
			return nil, err
		}
		for id, raw := range got {
			var items []any
			if err := json.Unmarshal([]byte(raw), &items); err != nil {
				return nil, fmt.Errorf("subnet %s: allocation pools %q: %w", id, raw, err)
			}
			rs, err := poolsOf(items)
			if err != nil {
				return nil, fmt.Errorf("subnet %s: %w", id, err)
			}
			locked[id] = rs
		}
	}
	pools := make(map[string][]store.KeyRange, len(locked))
	for _, id := range ids {
		rs, ok := locked[id]
		if !ok {
			return nil, SubnetNotFound(id)
		}
		if _, done := pools[id]; done {
			continue
		}
		keys := make([]store.KeyRange, len(rs))
		for i, r := range rs {
			keys[i] = store.KeyRange{First: store.Key(ipam.Key(r.Start)), Last: store.Key(ipam.Key(r.End))}
		}
		pools[id] = keys
	}
	out := make([]any, 0, len(reqs))
	for _, r := range reqs {
		s := r.subnets[0]
		var addr netip.Addr
		switch {
		case r.ip != nil || r.eui64:
			if r.ip != nil {
				addr = *r.ip
			} else {
				hw, err := net.ParseMAC(port.String("mac_address"))
				if err != nil {
					return nil, fmt.Errorf("port %s: %w", port.ID(), err)
				}
				if addr, err = ipam.EUI64(s.prefix, hw); err != nil {
					return nil, err
				}
			}
			err := tx.AddAllocation(ctx, store.Allocation{PortID: port.ID(), SubnetID: s.id,
				NetworkID: s.networkID, IPAddress: addr.String(), Key: store.Key(ipam.Key(addr))})
			if errors.Is(err, store.ErrAddressTaken) {
				return nil, ipAlreadyAllocated(addr, s.id)
			}
			if err != nil {
				return nil, err
			}
		default:
			found := false
			for _, c := range r.subnets {
				v4 := c.ipVersion == 4
				a, err := tx.TakeFree(ctx, store.Allocation{PortID: port.ID(), SubnetID: c.id, NetworkID: c.networkID},
					pools[c.id], func(k store.Key) string { return ipam.AddrFromKey([16]byte(k), v4).String() })
				if errors.Is(err, store.ErrSubnetFull) {
					continue
				}
				if err != nil {
					return nil, err
				}
				s, addr, found = c, ipam.AddrFromKey([16]byte(a.Key), v4), true
				break
			}
			if !found {
				return nil, noMoreAddresses(port.String("network_id"))
			}
		}
		out = append(out, map[string]any{"subnet_id": s.id, "ip_address": addr.String()})
	}
	return out, nil
}

// portSubnetsMemo is the Memo key of the subnets a port's create
// share-locked and read (all of its network's), a []portSubnet.
func portSubnetsMemo(portID string) string { return "port-subnets/" + portID }

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// release forgets a port's addresses; those inside their subnet's
// allocation pools are free for the next allocation.
func (p *Plugin) release(ctx context.Context, tx *store.Tx, allocs []store.Allocation) error {
	for _, a := range allocs {
		if err := tx.RemoveAllocation(ctx, a.PortID, a.SubnetID, a.Key); err != nil {
			return err
		}
	}
	return nil
}

// portAfterRead orders each port's fixed_ips by address, the order Neutron
// reads them in, so that every reply lists them alike, and names them in
// dns_assignment.
func (p *Plugin) portAfterRead(ctx context.Context, tx *store.Tx, ports []*resource.Object) error {
	for _, o := range ports {
		if ips, ok := o.Get("fixed_ips").([]any); ok && len(ips) > 1 {
			o.Set("fixed_ips", sortFixedIPs(ips))
		}
		p.setDNSAssignment(o)
	}
	if declared(ports[0], "propagate_uplink_status") {
		// Ports made before uplink-status-propagation was enabled have
		// no value; Neutron shows them propagating.
		for _, o := range ports {
			if o.Get("propagate_uplink_status") == nil {
				o.Set("propagate_uplink_status", true)
			}
		}
	}
	for _, d := range p.extDrivers {
		if err := d.ExtendPorts(ctx, tx, ports); err != nil {
			return err
		}
	}
	for _, e := range p.portExts {
		if err := e.ExtendPorts(ctx, tx, ports); err != nil {
			return err
		}
	}
	return nil
}

func sortFixedIPs(ips []any) []any {
	slices.SortStableFunc(ips, func(a, b any) int {
		return strings.Compare(fmt.Sprint(a.(map[string]any)["ip_address"]), fmt.Sprint(b.(map[string]any)["ip_address"]))
	})
	return ips
}

// beforeUpdatePort applies a port update in ML2's order: binding and MAC
// rules, the device owner rules, the addresses (fixed_ips and, after a MAC
// change, the EUI-64 addresses), port security and allowed address
// pairs, and extra DHCP options. The new fixed_ips go into the patch.
func (p *Plugin) beforeUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if err := p.ensureDefaultGroup(ctx, tx, old.String("project_id")); err != nil {
		return err
	}
	vifType := old.String("binding:vif_type")
	bound := vifType != "" && vifType != vifTypeUnbound
	if patch.Has("binding:vnic_type") && patch.String("binding:vnic_type") != old.String("binding:vnic_type") && bound {
		return fault.Conflict("PortInUse",
			"Unable to complete operation on port %s for network %s. Port already has an attached device %s.",
			old.ID(), old.String("network_id"), old.String("device_id"))
	}
	if patch.Has("mac_address") && patch.Get("mac_address") == nil {
		// port-mac-address-regenerate: null asks for a new random MAC.
		mac, err := p.generateMAC(ctx, tx, old.String("network_id"))
		if err != nil {
			return err
		}
		patch.Set("mac_address", mac)
	}
	if patch.Has("numa_affinity_policy") && bound && vifType != vifTypeBindingFails {
		return fault.Conflict("PortBoundNUMAAffinityPolicy",
			"Unable to complete operation on port %s, port is already bound to host %s, numa_affinity_policy value given %s.",
			old.ID(), old.String("binding:host_id"), resource.PyStr(patch.Get("numa_affinity_policy")))
	}
	newMAC := ""
	if patch.Has("mac_address") && patch.String("mac_address") != old.String("mac_address") {
		newMAC = patch.String("mac_address")
		if bound && vifType != vifTypeBindingFails {
			return fault.Conflict("PortBound",
				"Unable to complete operation on port %s, port is already bound, port type: %s, old_mac %s, new_mac %s.",
				old.ID(), vifType, old.String("mac_address"), newMAC)
		}
	}
	// _validate_port_for_update.
	owner := old.String("device_owner")
	if s := patch.String("device_owner"); s != "" {
		owner = s
	}
	deviceID := old.String("device_id")
	if s := patch.String("device_id"); s != "" {
		deviceID = s
	}
	changedDeviceID := !patch.Has("device_id") || patch.String("device_id") != old.String("device_id")
	if owner != "" && changedDeviceID || patch.Has("device_owner") {
		if err := p.enforceDeviceOwner(ctx, tx, owner, deviceID, old.String("project_id")); err != nil {
			return err
		}
	}
	if newMAC != "" && strings.HasPrefix(owner, ownerNetworkPrefix) {
		// Neutron formats the builtin id() here, not the port's id.
		return fault.Conflict("UnsupportedPortDeviceOwner",
			"Operation %s is not supported for device_owner %s on port %s.", "mac address update", owner, "<built-in function id>")
	}
	if newMAC != "" {
		if err := lockMAC(ctx, tx, old.String("network_id"), newMAC); err != nil {
			return err
		}
		if inUse, err := macTaken(ctx, tx, old.String("network_id"), newMAC); err != nil {
			return err
		} else if inUse {
			return macInUse(old.String("network_id"), newMAC)
		}
	}
	if err := p.updatePortAddresses(ctx, tx, old, patch, newMAC); err != nil {
		return err
	}
	if err := updateAddressPairs(old, patch); err != nil {
		return err
	}
	if err := p.portDNS(patch, false); err != nil {
		return err
	}
	if patch.Has("extra_dhcp_opts") {
		current, _ := old.Get("extra_dhcp_opts").([]any)
		patch.Set("extra_dhcp_opts", mergeDHCPOpts(current, patch.Get("extra_dhcp_opts")))
	}
	if err := p.updatePortGroups(ctx, tx, old, patch); err != nil {
		return err
	}
	if p.guard != nil {
		if err := p.guard.BeforeUpdatePort(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.BeforeUpdatePort(ctx, tx, old, patch); err != nil {
			return err
		}
		if err := p.overrideMAC(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	if len(p.portExts) > 0 {
		updated := old.Clone()
		updated.Merge(patch)
		for _, e := range p.portExts {
			if err := e.PortUpdated(ctx, tx, old, updated); err != nil {
				return err
			}
		}
	}
	for _, d := range p.extDrivers {
		if err := d.ProcessUpdatePort(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	return nil
}

// updateAddressPairs is _portsec_ext_port_update_processing and
// update_address_pairs_on_port: without port security a port may keep no
// pairs; pairs given replace the port's, with the port's (new) MAC where
// a pair has none.
func updateAddressPairs(old, patch *resource.Object) error {
	if !declared(old, "allowed_address_pairs") {
		return nil
	}
	requested, given := patch.Get("allowed_address_pairs").([]any)
	security := true
	if declared(old, "port_security_enabled") {
		security = old.Bool("port_security_enabled")
		if patch.Has("port_security_enabled") {
			security = patch.Bool("port_security_enabled")
		}
	}
	if !security {
		if given && len(requested) > 0 {
			return addressPairsNeedPortSecurity()
		}
		if current, _ := old.Get("allowed_address_pairs").([]any); !given && len(current) > 0 {
			return addressPairsNeedPortSecurity()
		}
	}
	if !given {
		return nil
	}
	mac := old.String("mac_address")
	if patch.Has("mac_address") {
		mac = patch.String("mac_address")
	}
	merged := old.Clone()
	merged.Merge(patch)
	merged.Set("allowed_address_pairs", withPairMACs(requested, mac))
	if err := checkAddressPairs(merged); err != nil {
		return err
	}
	patch.Set("allowed_address_pairs", merged.Get("allowed_address_pairs"))
	return nil
}

// updatePortAddresses is update_port_with_ips: it works out which of the
// port's addresses stay, go and come from the requested fixed_ips
// (_get_changed_ips_for_port), and after a MAC change replaces the port's
// EUI-64 addresses.
func (p *Plugin) updatePortAddresses(ctx context.Context, tx *store.Tx, old, patch *resource.Object, newMAC string) error {
	original := storedFixedIPs(old)
	requested, given := patch.Get("fixed_ips").([]any)
	var autoAssign []string
	if newMAC != "" && (len(original) > 0 || given && len(requested) > 0) {
		if !given {
			requested, given = make([]any, 0, len(original)), true
			for _, o := range original {
				requested = append(requested, map[string]any{"subnet_id": o.subnetID, "ip_address": o.ip})
			}
		} else {
			requested = slices.Clone(requested)
		}
		subnetOf := make([]any, len(requested))
		for i, r := range requested {
			subnetOf[i] = r.(map[string]any)["subnet_id"]
		}
		for _, o := range original {
			if a, err := netip.ParseAddr(o.ip); err != nil || !ipam.IsEUI64Address(a) {
				continue
			}
			autoAssign = append(autoAssign, o.subnetID)
			mark := map[string]any{"subnet_id": o.subnetID, "delete_subnet": true}
			if i := slices.Index(subnetOf, any(o.subnetID)); i >= 0 {
				requested[i] = mark
			} else {
				requested = append(requested, mark)
			}
		}
	}
	if !given {
		return nil
	}
	owner := old.String("device_owner")
	all, err := p.networkSubnets(ctx, tx, old.String("network_id"))
	if err != nil {
		return err
	}
	add, keep, remove, err := changedIPs(original, requested, owner, all)
	if err != nil {
		return err
	}
	subnets, err := p.candidateSubnets(ctx, tx, old.String("network_id"), owner)
	if err != nil {
		return err
	}
	reqs, err := p.fixedIPRequests(ctx, tx, old, add, subnets)
	if err != nil {
		return err
	}
	allocs, err := tx.PortAllocations(ctx, old.ID())
	if err != nil {
		return err
	}
	var released []store.Allocation
	handled := map[string]bool{}
	for _, r := range reqs {
		handled[r.subnets[0].id] = true
	}
	for _, k := range keep {
		handled[k.subnetID] = true
	}
	for _, r := range remove {
		handled[r.subnetID] = true
		for _, a := range allocs {
			if a.SubnetID == r.subnetID && a.IPAddress == r.ip {
				released = append(released, a)
			}
		}
	}
	if err := p.release(ctx, tx, released); err != nil {
		return err
	}
	reqs = append(reqs, autoAddressRequests(subnets, owner, handled)...)
	added, err := p.allocate(ctx, tx, old, reqs)
	if err != nil {
		return err
	}
	result := make([]any, 0, len(keep)+len(added))
	for _, k := range keep {
		result = append(result, map[string]any{"subnet_id": k.subnetID, "ip_address": k.ip})
	}
	result = append(result, added...)
	if len(autoAssign) > 0 {
		// The EUI-64 addresses of the new MAC, on every SLAAC subnet of the
		// network, as allocate_ips_for_port_and_store does it.
		withMAC := old.Clone()
		withMAC.Set("mac_address", newMAC)
		more, err := p.allocate(ctx, tx, withMAC, autoAddressRequests(subnets, owner, nil))
		if err != nil {
			return err
		}
		result = append(result, more...)
	}
	patch.Set("fixed_ips", sortFixedIPs(result))
	return nil
}

// heldIP is one address a port holds.
type heldIP struct{ subnetID, ip string }

func storedFixedIPs(port *resource.Object) []heldIP {
	items, _ := port.Get("fixed_ips").([]any)
	out := make([]heldIP, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		subnetID, _ := m["subnet_id"].(string)
		ip, _ := m["ip_address"].(string)
		out = append(out, heldIP{subnetID: subnetID, ip: ip})
	}
	return out
}

// changedIPs is _get_changed_ips_for_port. Requested addresses are matched
// to held ones first; then requests naming only a subnet reuse an address
// held there (an EUI-64 one is reallocated instead). Held addresses left
// over go, except those on SLAAC subnets, which stay unless their subnet
// is marked delete_subnet.
func changedIPs(original []heldIP, requested []any, owner string, subnets []portSubnet) (add []any, keep, remove []heldIP, err error) {
	deleted := map[string]bool{}
	for _, it := range requested {
		if m := it.(map[string]any); m["delete_subnet"] == true {
			deleted[fmt.Sprint(m["subnet_id"])] = true
		}
	}
	var ips []map[string]any
	for _, it := range requested {
		m := it.(map[string]any)
		if id, ok := m["subnet_id"].(string); ok && deleted[id] {
			continue
		}
		ips = append(ips, m)
	}
	left := slices.Clone(original)
	for _, m := range ips {
		ip, ok := m["ip_address"].(string)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(left, func(h heldIP) bool { return h.ip == ip }); i >= 0 {
			keep = append(keep, left[i])
			left = slices.Delete(left, i, i+1)
		} else {
			add = append(add, m)
		}
	}
	var candidates []heldIP
	for _, m := range ips {
		if _, ok := m["ip_address"]; ok {
			continue
		}
		id, _ := m["subnet_id"].(string)
		// Neutron pops the last address held on the subnet.
		i := -1
		for j := len(left) - 1; j >= 0; j-- {
			if left[j].subnetID == id {
				i = j
				break
			}
		}
		if i < 0 {
			add = append(add, m)
			continue
		}
		h := left[i]
		left = slices.Delete(left, i, i+1)
		if a, err := netip.ParseAddr(h.ip); err == nil && ipam.IsEUI64Address(a) {
			add = append(add, m)
			candidates = append(candidates, h)
		} else {
			keep = append(keep, h)
		}
	}
	for _, h := range append(left, candidates...) {
		required := isRouterOwnerOrSNAT(owner)
		if !required {
			i := slices.IndexFunc(subnets, func(s portSubnet) bool { return s.id == h.subnetID })
			if i < 0 {
				return nil, nil, nil, SubnetNotFound(h.subnetID)
			}
			required = !subnets[i].auto()
		}
		if required || deleted[h.subnetID] {
			remove = append(remove, h)
		} else {
			keep = append(keep, h)
		}
	}
	return add, keep, remove, nil
}

// ServiceGuard lets a service plugin take part in port and network
// changes made through the API, inside their transaction, as Neutron's L3
// plugin does through its PORT and NETWORK callbacks: it refuses to delete
// router ports (ServicePortInUse), disassociates the floating IPs of a
// port being deleted, and deletes an external network's unassociated
// floating IPs with it.
type ServiceGuard interface {
	BeforeDeletePort(ctx context.Context, tx *store.Tx, port *resource.Object) error
	// BeforeUpdatePort sees the patch with its final fixed_ips.
	BeforeUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error
	// CheckRouterDevice refuses a non-admin's router interface port whose
	// device_id is a router of another project (DeviceIDNotOwnedByTenant).
	CheckRouterDevice(ctx context.Context, tx *store.Tx, deviceID, projectID string) error
	// BeforeDeleteNetwork runs before a network's ports are checked.
	BeforeDeleteNetwork(ctx context.Context, tx *store.Tx, network *resource.Object) error
	// BeforeUpdateNetwork sees a network update's patch.
	BeforeUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error
}

// PortDeletionHook is a service plugin that takes part in every port
// delete, through the API or by another plugin, inside its transaction,
// as Neutron's BEFORE_DELETE port callbacks do: it may refuse
// (ServicePortInUse for a local IP's port) or remove rows that refer to
// the port.
type PortDeletionHook interface {
	PortDeleting(ctx context.Context, tx *store.Tx, port *resource.Object) error
}

// SubnetUpdateHook is a service plugin told of every subnet update inside
// its transaction, after the core's own work, as Neutron's AFTER_UPDATE
// subnet callbacks are (the L3 plugin tells the routers whose gateway is
// on a subnet whose gateway_ip changed).
type SubnetUpdateHook interface {
	AfterSubnetUpdate(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error
}

// AddSubnetUpdateHook adds a service plugin's subnet update hook; call it
// before serving.
func (p *Plugin) AddSubnetUpdateHook(h SubnetUpdateHook) {
	p.subnetHooks = append(p.subnetHooks, h)
}

// AddPortDeletionHook adds a service plugin's port deletion hook; call it
// before serving.
func (p *Plugin) AddPortDeletionHook(h PortDeletionHook) {
	p.deletionHooks = append(p.deletionHooks, h)
}

// SetServiceGuard installs the service plugins' guard; call it before
// serving.
func (p *Plugin) SetServiceGuard(g ServiceGuard) { p.guard = g }

// CreatePortIn creates a port inside tx for a service plugin (a router's
// gateway or interface port, a floating IP's port): the core's rules
// apply, but not quota or the caller's device-owner restrictions, as
// Neutron's service plugins create ports with an elevated context.
func (p *Plugin) CreatePortIn(ctx context.Context, tx *store.Tx, o *resource.Object) (*resource.Object, error) {
	return genericOf(p.handlers[apidef.Ports]).CreateIn(reqctx.WithCaller(ctx, &reqctx.Caller{IsAdmin: true, Roles: []string{"admin"}}), tx, o)
}

// UpdatePortIn updates a port inside tx for a service plugin (a router's
// gateway addresses, an attached port's device), with the core's rules
// and an elevated context; port is the stored port.
func (p *Plugin) UpdatePortIn(ctx context.Context, tx *store.Tx, port, patch *resource.Object) (*resource.Object, error) {
	return genericOf(p.handlers[apidef.Ports]).UpdateIn(reqctx.WithCaller(ctx, &reqctx.Caller{IsAdmin: true, Roles: []string{"admin"}}), tx, port, patch)
}

// DeletePortIn deletes a port inside tx for a service plugin, without the
// service guard (Neutron's delete_port with l3_port_check=False).
func (p *Plugin) DeletePortIn(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if err := p.releasePort(ctx, tx, port); err != nil {
		return err
	}
	return genericOf(p.handlers[apidef.Ports]).DeleteIn(ctx, tx, port)
}

func (p *Plugin) beforeDeletePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	for _, e := range p.portExts {
		if err := e.CheckPortDelete(ctx, tx, o); err != nil {
			return err
		}
	}
	if p.guard != nil {
		if err := p.guard.BeforeDeletePort(ctx, tx, o); err != nil {
			return err
		}
	}
	return p.releasePort(ctx, tx, o)
}

// releasePort undoes what a port holds before its row goes: security
// group memberships, ML2 bindings and segments, IP allocations.
func (p *Plugin) releasePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	for _, h := range p.deletionHooks {
		if err := h.PortDeleting(ctx, tx, o); err != nil {
			return err
		}
	}
	if err := p.deletePortGroups(ctx, tx, o); err != nil {
		return err
	}
	if p.opts.ML2 != nil {
		if err := p.opts.ML2.BeforeDeletePort(ctx, tx, o); err != nil {
			return err
		}
	}
	allocs, err := tx.PortAllocations(ctx, o.ID())
	if err != nil {
		return err
	}
	return p.release(ctx, tx, allocs)
}

// overrideMAC is port-mac-override: a direct-physical port takes the MAC
// of the physical function it is bound to, which Nova puts in the binding
// profile as device_mac_address; bound again without one, it gets a new
// random MAC, so an unbound port never keeps a device's MAC (ML2's
// _commit_port_binding).
func (p *Plugin) overrideMAC(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !patch.Has("binding:vif_type") {
		return nil // no new binding was committed
	}
	vnic := old.String("binding:vnic_type")
	if patch.Has("binding:vnic_type") {
		vnic = patch.String("binding:vnic_type")
	}
	if vnic != "direct-physical" {
		return nil
	}
	profile, _ := old.Get("binding:profile").(map[string]any)
	if patch.Has("binding:profile") {
		profile, _ = patch.Get("binding:profile").(map[string]any)
	}
	mac, _ := profile["device_mac_address"].(string)
	if mac == "" {
		var err error
		if mac, err = p.generateMAC(ctx, tx, old.String("network_id")); err != nil {
			return err
		}
	}
	patch.Set("mac_address", mac)
	return nil
}
