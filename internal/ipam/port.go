package ipam

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
)

// Device owners the address logic tells apart (neutron_lib.constants).
const (
	DeviceOwnerRouterInterface  = "network:router_interface"
	DeviceOwnerHAReplicatedIntf = "network:ha_router_replicated_interface"
	DeviceOwnerDVRInterface     = "network:router_interface_distributed"
	DeviceOwnerRouterSNAT       = "network:router_centralized_snat"
	DeviceOwnerRouterGateway    = "network:router_gateway"
	DeviceOwnerDHCP             = "network:dhcp"
	DeviceOwnerDistributed      = "network:distributed"
)

// maxGenerateWindow is neutrondb_ipam's MAX_WIN: how many free addresses
// of a pool a random pick chooses among.
const maxGenerateWindow = 1000

// IsRouterInterfaceOwner reports whether owner is one of
// ROUTER_INTERFACE_OWNERS: a router interface, an HA replicated interface
// or a DVR interface.
func IsRouterInterfaceOwner(owner string) bool {
	switch owner {
	case DeviceOwnerRouterInterface, DeviceOwnerHAReplicatedIntf, DeviceOwnerDVRInterface:
		return true
	}
	return false
}

// IsRouterPortOwner reports whether owner is one of ROUTER_PORT_OWNERS:
// the router interface owners, the centralized SNAT port and the router
// gateway.
func IsRouterPortOwner(owner string) bool {
	return IsRouterInterfaceOwner(owner) || owner == DeviceOwnerRouterSNAT || owner == DeviceOwnerRouterGateway
}

// CheckSubnetIP reports whether ip may be requested on the subnet p by a
// port with the device owner, as Neutron's ipam.utils.check_subnet_ip:
// the address must be in p; for IPv4 it may be neither the network
// address nor the broadcast address (netaddr has no broadcast address for
// /31 and /32, so there only the first address is refused, and a /32
// accepts no requested address at all); for IPv6 the network
// (subnet-router anycast) address is reserved to router ports and to
// callers that do not know the owner ("").
func CheckSubnetIP(p netip.Prefix, ip netip.Addr, deviceOwner string) bool {
	p = p.Masked()
	if !Contains(p, ip) {
		return false
	}
	if p.Addr().Is4() {
		if ip == p.Addr() {
			return false
		}
		return p.Bits() >= 31 || ip != LastAddr(p)
	}
	return deviceOwner == "" || IsRouterPortOwner(deviceOwner) || ip != p.Addr()
}

// ValidateFixedIP refuses a fixed IP requested on a given subnet when
// CheckSubnetIP does: InvalidIpForSubnet (400) "IP address <ip> is not a
// valid IP for the specified subnet.".
func ValidateFixedIP(p netip.Prefix, ip netip.Addr, deviceOwner string) error {
	if !CheckSubnetIP(p, ip, deviceOwner) {
		return newError(400, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", ip)
	}
	return nil
}

// SubnetForFixedIP returns the index of the first of a network's subnets
// on which ip may be requested (CheckSubnetIP), for a fixed IP given
// without a subnet_id; none is InvalidIpForNetwork (400) "IP address <ip>
// is not a valid IP for any of the subnets on the specified network.".
func SubnetForFixedIP(subnets []netip.Prefix, ip netip.Addr, deviceOwner string) (int, error) {
	for i, p := range subnets {
		if CheckSubnetIP(p, ip, deviceOwner) {
			return i, nil
		}
	}
	return -1, newError(400, "InvalidIpForNetwork",
		"IP address %s is not a valid IP for any of the subnets on the specified network.", ip)
}

// VerifySpecificIP is the IPAM driver's check of a specific address
// before it records the allocation (neutrondb_ipam _verify_ip): an address
// already allocated on the subnet is IpAddressAlreadyAllocated (409) "IP
// address <ip> already allocated in subnet <id>", then an address the
// subnet cannot hold (CheckSubnetIP without an owner) is IPAM's own
// InvalidIpForSubnet (400) "IP address <ip> does not belong to subnet
// <id>".
func VerifySpecificIP(p netip.Prefix, ip netip.Addr, subnetID string, allocated bool) error {
	if allocated {
		return newError(409, "IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", ip, subnetID)
	}
	if !CheckSubnetIP(p, ip, "") {
		return newError(400, "InvalidIpForSubnet", "IP address %s does not belong to subnet %s", ip, subnetID)
	}
	return nil
}

// CheckAutoAddressIP refuses a fixed IP requested on an automatic-address
// (SLAAC or DHCPv6-stateless) subnet unless it is the port's EUI-64
// address, as _test_fixed_ips_for_port does: AllocationOnAutoAddressSubnet
// (400) "IPv6 address <ip> cannot be directly assigned to a port on subnet
// <id> as the subnet is configured for automatic addresses". Router
// interface ports, and the provisional prefix-delegation subnet ::/64,
// may take any address.
func CheckAutoAddressIP(p netip.Prefix, ip netip.Addr, mac net.HardwareAddr, deviceOwner, subnetID string) error {
	if p.Masked() == ProvisionalPDPrefix || IsRouterInterfaceOwner(deviceOwner) {
		return nil
	}
	if eui, err := EUI64(p, mac); err == nil && eui == ip {
		return nil
	}
	return newError(400, "AllocationOnAutoAddressSubnet",
		"IPv6 address %s cannot be directly assigned to a port on subnet %s as the subnet is configured for automatic addresses",
		ip, subnetID)
}

// NoMoreAddresses is the 409 Neutron raises when no subnet of the network
// has an address left for a port (IpAddressGenerationFailureAllSubnets):
// "No more IP addresses available.".
func NoMoreAddresses() *Error {
	return newError(409, "IpAddressGenerationFailureAllSubnets", "No more IP addresses available.")
}

// PickAddress chooses an address for a port that did not ask for one, as
// Neutron's default IPAM driver does: it takes the allocation pools in
// order and, in the first with a free address, picks at random among its
// first 1000 free addresses, or takes the first free one when preferNext
// is set (DHCP and distributed ports). allocated are the subnet's
// allocated addresses, in any order. rnd(n) returns an integer in [0, n);
// nil means math/rand/v2. With no free address it is
// IpAddressGenerationFailure (409) "No more IP addresses available for
// subnet <id>.".
func PickAddress(pools []Range, allocated []netip.Addr, preferNext bool, rnd func(n int) int, subnetID string) (netip.Addr, error) {
	taken := slices.Clone(allocated)
	slices.SortFunc(taken, netip.Addr.Compare)
	taken = slices.Compact(taken)
	if rnd == nil {
		rnd = rand.IntN
	}
	for _, pool := range pools {
		window := 0
		forEachFreeStretch(pool, taken, func(r Range) bool {
			window += int(min(r.Size(), uint64(maxGenerateWindow-window)))
			return window < maxGenerateWindow
		})
		if window == 0 {
			continue
		}
		idx := 0
		if !preferNext {
			idx = rnd(window)
		}
		var picked netip.Addr
		left := uint64(idx)
		forEachFreeStretch(pool, taken, func(r Range) bool {
			if n := r.Size(); left >= n {
				left -= n
				return true
			}
			picked = u128Addr(addrU128(r.Start).add(u128{lo: left}), r.Start.Is4())
			return false
		})
		return picked, nil
	}
	return netip.Addr{}, newError(409, "IpAddressGenerationFailure", "No more IP addresses available for subnet %s.", subnetID)
}

// forEachFreeStretch calls f, in address order, on each maximal stretch
// of pool that holds no address of taken (sorted, without duplicates),
// until f returns false.
func forEachFreeStretch(pool Range, taken []netip.Addr, f func(Range) bool) {
	if !pool.IsValid() {
		return
	}
	i, _ := slices.BinarySearchFunc(taken, pool.Start, netip.Addr.Compare)
	cur := pool.Start
	for ; i < len(taken) && taken[i].Compare(pool.End) <= 0; i++ {
		t := taken[i]
		if t.Compare(cur) > 0 && !f(Range{cur, t.Prev()}) {
			return
		}
		if t == pool.End {
			return
		}
		cur = t.Next()
	}
	f(Range{cur, pool.End})
}
