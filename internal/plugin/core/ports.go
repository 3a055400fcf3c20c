package core

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// PortNotFound is neutron-lib's PortNotFound.
func PortNotFound(id string) error {
	return fault.NotFound("PortNotFound", fmt.Sprintf("Port %s could not be found.", id))
}

func macInUse(netID, mac string) error {
	return fault.Conflict("MacAddressInUse",
		"Unable to complete operation for network %s. The mac address %s is in use.", netID, mac)
}

func (p *Plugin) beforeCreatePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	netID := o.String("network_id")
	network, err := tx.Get(ctx, p.defs[apidef.Networks], netID, false)
	if errors.Is(err, store.ErrNotFound) {
		return NetworkNotFound(netID)
	}
	if err != nil {
		return err
	}
	if err := p.assignMAC(ctx, tx, o, netID); err != nil {
		return err
	}
	o.Set("status", "DOWN")
	if o.Resource().Attr("port_security_enabled") != nil && !o.Has("port_security_enabled") {
		o.Set("port_security_enabled", network.Bool("port_security_enabled"))
	}
	if err := checkAddressPairs(o); err != nil {
		return err
	}
	setIfDeclared(o, "binding:vif_type", "unbound")
	setIfDeclared(o, "binding:vif_details", map[string]any{})
	setIfDeclared(o, "ip_allocation", "immediate")
	return nil
}

func setIfDeclared(o *resource.Object, name string, v any) {
	if o.Resource().Attr(name) != nil {
		o.Set(name, v)
	}
}

// assignMAC gives a port a random MAC under base_mac, or checks the one
// asked for is free on the network.
func (p *Plugin) assignMAC(ctx context.Context, tx *store.Tx, o *resource.Object, netID string) error {
	if o.Has("mac_address") {
		mac := o.String("mac_address")
		n, err := tx.CountWhere(ctx, apidef.Ports, map[string]any{"network_id": netID, "mac_address": mac})
		if err != nil {
			return err
		}
		if n > 0 {
			return macInUse(netID, mac)
		}
		return nil
	}
	for attempt := 0; attempt < 16; attempt++ {
		hw, err := ipam.RandomMAC(p.opts.BaseMAC, func(b []byte) { rand.Read(b) })
		if err != nil {
			return fmt.Errorf("generate MAC: %w", err)
		}
		mac := hw.String()
		n, err := tx.CountWhere(ctx, apidef.Ports, map[string]any{"network_id": netID, "mac_address": mac})
		if err != nil {
			return err
		}
		if n == 0 {
			o.Set("mac_address", mac)
			return nil
		}
	}
	return fault.ServiceUnavailable("MacAddressGenerationFailure",
		"Unable to generate unique mac on network %s.", netID)
}

// checkAddressPairs refuses allowed address pairs on a port without port
// security, and fills each pair's MAC with the port's.
func checkAddressPairs(o *resource.Object) error {
	pairs, _ := o.Get("allowed_address_pairs").([]any)
	if len(pairs) == 0 {
		return nil
	}
	if o.Has("port_security_enabled") && !o.Bool("port_security_enabled") {
		return fault.Conflict("AddressPairAndPortSecurityRequired",
			"Port Security must be enabled in order to have allowed address pairs on a port.")
	}
	for _, it := range pairs {
		m := it.(map[string]any)
		if _, ok := m["mac_address"]; !ok {
			m["mac_address"] = o.String("mac_address")
		}
	}
	return nil
}

// afterCreatePort allocates the port's addresses once its row exists.
func (p *Plugin) afterCreatePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	requests, err := p.addressRequests(ctx, tx, o, o.Get("fixed_ips"), !o.Has("fixed_ips"))
	if err != nil {
		return err
	}
	ips, err := p.allocate(ctx, tx, o, requests)
	if err != nil {
		return err
	}
	o.Set("fixed_ips", ips)
	return nil
}

// addressRequest is one address a port asks for: a subnet, and an address
// or nil for any free one.
type addressRequest struct {
	subnet subnetInfo
	ip     *netip.Addr
}

// addressRequests resolves fixed_ips against the network's subnets, with
// Neutron's rules: nothing given means one address from an IPv4 subnet,
// one from a stateful IPv6 subnet, and one from every SLAAC subnet.
func (p *Plugin) addressRequests(ctx context.Context, tx *store.Tx, port *resource.Object, fixed any, auto bool) ([]addressRequest, error) {
	netID := port.String("network_id")
	subnetObjs, err := tx.List(ctx, p.defs[apidef.Subnets], &resource.Query{
		Filters: []resource.Filter{{Attr: p.defs[apidef.Subnets].Attr("network_id"), Values: []any{netID}}},
		Sorts:   []resource.SortKey{{Attr: p.defs[apidef.Subnets].Attr("created_at")}, {Attr: p.defs[apidef.Subnets].Attr("id")}},
	})
	if err != nil {
		return nil, err
	}
	subnets := make([]subnetInfo, 0, len(subnetObjs))
	for _, s := range subnetObjs {
		si, err := subnetInfoOf(s)
		if err != nil {
			return nil, err
		}
		subnets = append(subnets, si)
	}
	if auto {
		var reqs []addressRequest
		var have4, have6 bool
		for _, s := range subnets {
			switch {
			case s.ipVersion == 6 && ipam.IsAutoAddressSubnet(s.addressMode, s.raMode):
				reqs = append(reqs, addressRequest{subnet: s})
			case s.ipVersion == 4 && !have4:
				have4 = true
				reqs = append(reqs, addressRequest{subnet: s})
			case s.ipVersion == 6 && !have6:
				have6 = true
				reqs = append(reqs, addressRequest{subnet: s})
			}
		}
		return reqs, nil
	}
	items, _ := fixed.([]any)
	reqs := make([]addressRequest, 0, len(items))
	for _, it := range items {
		m := it.(map[string]any)
		subnetID, _ := m["subnet_id"].(string)
		var ip *netip.Addr
		if s, ok := m["ip_address"].(string); ok {
			a := netip.MustParseAddr(s)
			ip = &a
		}
		var match *subnetInfo
		for i := range subnets {
			s := &subnets[i]
			if subnetID != "" && s.id == subnetID {
				match = s
				break
			}
			if subnetID == "" && ip != nil && ipam.CheckSubnetIP(s.prefix, *ip, port.String("device_owner")) {
				match = s
				break
			}
		}
		switch {
		case match == nil && subnetID != "":
			if _, err := tx.Get(ctx, p.defs[apidef.Subnets], subnetID, false); errors.Is(err, store.ErrNotFound) {
				return nil, SubnetNotFound(subnetID)
			}
			return nil, fault.InvalidInput(fmt.Sprintf("Failed to create port on network %s, because fixed_ips included invalid subnet %s", netID, subnetID))
		case match == nil && ip != nil:
			return nil, fault.New(400, "InvalidIpForNetwork",
				"IP address %s is not a valid IP for any of the subnets on the specified network.", ip)
		case match == nil:
			return nil, fault.InvalidInput("IP allocation requires subnet_id or ip_address")
		}
		if ip != nil {
			if err := ipam.ValidateFixedIP(match.prefix, *ip, port.String("device_owner")); err != nil {
				return nil, ipamFault(err)
			}
			if match.ipVersion == 6 && ipam.IsAutoAddressSubnet(match.addressMode, match.raMode) {
				hw, _ := net.ParseMAC(port.String("mac_address"))
				if err := ipam.CheckAutoAddressIP(match.prefix, *ip, hw, port.String("device_owner"), match.id); err != nil {
					return nil, ipamFault(err)
				}
			}
		}
		reqs = append(reqs, addressRequest{subnet: *match, ip: ip})
	}
	return reqs, nil
}

// allocate takes each requested address and records it for the port,
// returning the port's fixed_ips.
func (p *Plugin) allocate(ctx context.Context, tx *store.Tx, port *resource.Object, reqs []addressRequest) ([]any, error) {
	out := make([]any, 0, len(reqs))
	for _, r := range reqs {
		var addr netip.Addr
		switch {
		case r.ip != nil:
			addr = *r.ip
			if _, err := tx.TakeSpecific(ctx, r.subnet.id, store.Key(ipam.Key(addr))); err != nil {
				return nil, err
			}
		case r.subnet.ipVersion == 6 && ipam.IsAutoAddressSubnet(r.subnet.addressMode, r.subnet.raMode):
			hw, err := net.ParseMAC(port.String("mac_address"))
			if err != nil {
				return nil, fmt.Errorf("port %s: %w", port.ID(), err)
			}
			if addr, err = ipam.EUI64(r.subnet.prefix, hw); err != nil {
				return nil, ipamFault(err)
			}
			if _, err := tx.TakeSpecific(ctx, r.subnet.id, store.Key(ipam.Key(addr))); err != nil {
				return nil, err
			}
		default:
			k, err := tx.TakeFree(ctx, r.subnet.id)
			if errors.Is(err, store.ErrSubnetFull) {
				return nil, fault.Conflict("IpAddressGenerationFailure",
					"No more IP addresses available on network %s.", r.subnet.networkID)
			}
			if err != nil {
				return nil, err
			}
			addr = ipam.AddrFromKey([16]byte(k), r.subnet.ipVersion == 4)
		}
		err := tx.AddAllocation(ctx, store.Allocation{PortID: port.ID(), SubnetID: r.subnet.id,
			NetworkID: r.subnet.networkID, IPAddress: addr.String(), Key: store.Key(ipam.Key(addr))})
		if errors.Is(err, store.ErrAddressTaken) {
			return nil, fault.Conflict("IpAddressAlreadyAllocated",
				"IP address %s already allocated in subnet %s", addr, r.subnet.id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"subnet_id": r.subnet.id, "ip_address": addr.String()})
	}
	return out, nil
}

// release gives a port's addresses back to their subnets' free ranges
// (those inside the allocation pools) and forgets them.
func (p *Plugin) release(ctx context.Context, tx *store.Tx, allocs []store.Allocation) error {
	pools := map[string][]ipam.Range{}
	for _, a := range allocs {
		if _, ok := pools[a.SubnetID]; !ok {
			s, err := tx.Get(ctx, p.defs[apidef.Subnets], a.SubnetID, false)
			if err != nil {
				return fmt.Errorf("release %s: %w", a.IPAddress, err)
			}
			si, err := subnetInfoOf(s)
			if err != nil {
				return err
			}
			pools[a.SubnetID] = si.pools
		}
		if err := tx.RemoveAllocation(ctx, a.PortID, a.SubnetID, a.Key); err != nil {
			return err
		}
		addr := netip.MustParseAddr(a.IPAddress)
		for _, r := range pools[a.SubnetID] {
			if r.Contains(addr) {
				if err := tx.ReturnFree(ctx, a.SubnetID, a.Key); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

func (p *Plugin) beforeUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if patch.Has("mac_address") && patch.String("mac_address") != old.String("mac_address") {
		if old.String("binding:vif_type") != "" && old.String("binding:vif_type") != "unbound" {
			return fault.Conflict("PortBound",
				"Unable to complete operation on port %s, port is already bound, port type: %s, old_mac %s, new_mac %s.",
				old.ID(), old.String("binding:vif_type"), old.String("mac_address"), patch.String("mac_address"))
		}
		n, err := tx.CountWhere(ctx, apidef.Ports, map[string]any{"network_id": old.String("network_id"), "mac_address": patch.String("mac_address")})
		if err != nil {
			return err
		}
		if n > 0 {
			return macInUse(old.String("network_id"), patch.String("mac_address"))
		}
	}
	merged := old.Clone()
	merged.Merge(patch)
	if err := checkAddressPairs(merged); err != nil {
		return err
	}
	if patch.Has("allowed_address_pairs") {
		patch.Set("allowed_address_pairs", merged.Get("allowed_address_pairs"))
	}
	return nil
}

// afterUpdatePort applies a fixed_ips change: addresses no longer asked
// for are released, new ones allocated, kept ones untouched.
func (p *Plugin) afterUpdatePort(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	if equalFixedIPs(old.Get("fixed_ips"), updated.Get("fixed_ips")) {
		return nil
	}
	current, err := tx.PortAllocations(ctx, old.ID())
	if err != nil {
		return err
	}
	reqs, err := p.addressRequests(ctx, tx, updated, updated.Get("fixed_ips"), false)
	if err != nil {
		return err
	}
	var keep []any
	var release []store.Allocation
	var add []addressRequest
	wanted := map[int]bool{}
	for _, a := range current {
		found := false
		for i, r := range reqs {
			if wanted[i] || r.subnet.id != a.SubnetID {
				continue
			}
			if r.ip == nil || r.ip.String() == a.IPAddress {
				wanted[i], found = true, true
				keep = append(keep, map[string]any{"subnet_id": a.SubnetID, "ip_address": a.IPAddress})
				break
			}
		}
		if !found {
			release = append(release, a)
		}
	}
	for i, r := range reqs {
		if !wanted[i] {
			add = append(add, r)
		}
	}
	if err := p.release(ctx, tx, release); err != nil {
		return err
	}
	added, err := p.allocate(ctx, tx, updated, add)
	if err != nil {
		return err
	}
	updated.Set("fixed_ips", append(keep, added...))
	return nil
}

func equalFixedIPs(a, b any) bool {
	x, _ := a.([]any)
	y, _ := b.([]any)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		mx, my := x[i].(map[string]any), y[i].(map[string]any)
		if mx["subnet_id"] != my["subnet_id"] || mx["ip_address"] != my["ip_address"] {
			return false
		}
	}
	return true
}

func (p *Plugin) beforeDeletePort(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	allocs, err := tx.PortAllocations(ctx, o.ID())
	if err != nil {
		return err
	}
	return p.release(ctx, tx, allocs)
}
