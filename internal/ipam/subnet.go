package ipam

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// IPv6 address and router-advertisement modes of a subnet
// (neutron_lib.constants.IPV6_MODES).
const (
	IPv6SLAAC       = "slaac"
	DHCPv6Stateful  = "dhcpv6-stateful"
	DHCPv6Stateless = "dhcpv6-stateless"
)

// Limits Neutron applies to a subnet unless configured otherwise.
const (
	DefaultMaxDNSNameservers = 5  // [DEFAULT] max_dns_nameservers
	DefaultMaxHostRoutes     = 20 // [DEFAULT] max_subnet_host_routes
)

// ProvisionalPDPrefix is the CIDR an IPv6 prefix-delegation subnet holds
// until its prefix is delegated (constants.PROVISIONAL_IPV6_PD_PREFIX).
var ProvisionalPDPrefix = netip.MustParsePrefix("::/64")

var (
	v4Multicast = netip.MustParsePrefix("224.0.0.0/4")
	v6Multicast = netip.MustParsePrefix("ff00::/8")
	v4Loopback  = netip.MustParsePrefix("127.0.0.0/8")
	v6Loopback  = netip.MustParsePrefix("::1/128")
)

// within reports whether p lies entirely inside outer.
func within(p, outer netip.Prefix) bool {
	return p.Addr().Is4() == outer.Addr().Is4() && p.Bits() >= outer.Bits() && outer.Contains(p.Addr())
}

// ValidateSubnetCIDR applies the checks Neutron's _validate_subnet makes of
// a subnet's (normalized) CIDR, in its order, all InvalidInput (400):
//
//   - an IPv6 CIDR whose network address is :: ("IPv6 subnet '::' is not
//     supported"), unless the subnet uses prefix delegation;
//   - when DHCP is being enabled (on create, or on an update that turns
//     it on): a prefix longer than /30 (IPv4) or /126 (IPv6), a multicast
//     CIDR, a loopback CIDR, an IPv4 CIDR starting at 0.0.0.0.
//
// A /31, /32, /127 or /128 is therefore fine only without DHCP.
func ValidateSubnetCIDR(p netip.Prefix, enableDHCP, prefixDelegation bool) error {
	p = p.Masked()
	is4 := p.Addr().Is4()
	if !is4 && p.Addr() == netip.IPv6Unspecified() && !prefixDelegation {
		return invalidInput("IPv6 subnet '::' is not supported")
	}
	if !enableDHCP {
		return nil
	}
	if (is4 && p.Bits() > 30) || (!is4 && p.Bits() > 126) {
		return invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
	}
	if within(p, v4Multicast) || within(p, v6Multicast) {
		return invalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
	}
	if within(p, v4Loopback) || within(p, v6Loopback) {
		return invalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
	}
	if is4 && p.Addr() == netip.IPv4Unspecified() {
		// Neutron's text ends in a period, and InvalidInput adds another.
		return invalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")
	}
	return nil
}

// ValidateCIDRForNetwork applies Neutron's _validate_subnet_cidr when a
// subnet is saved on a network: a /0 is refused ("0 is not allowed as CIDR
// prefix length"), and so is a CIDR overlapping any other subnet of the
// network (others), except a provisional prefix-delegation subnet (::/64).
// Both are InvalidInput (400); the overlap message names the new CIDR and
// networkID but not the other subnet.
func ValidateCIDRForNetwork(p netip.Prefix, others []netip.Prefix, networkID string) error {
	p = p.Masked()
	if p.Bits() == 0 {
		return invalidInput("0 is not allowed as CIDR prefix length")
	}
	for _, o := range others {
		if o.Masked() == ProvisionalPDPrefix {
			continue
		}
		if Overlaps(o.Masked(), p) {
			return invalidInput("Requested subnet with cidr: %s for network: %s overlaps with another subnet", p, networkID)
		}
	}
	return nil
}

// DefaultGateway returns the gateway Neutron gives a subnet created with an
// explicit CIDR and no gateway_ip (ipam_backend_mixin._gateway_ip_str):
// the first address after the network address for IPv4 (10.0.0.1 for
// 10.0.0.0/24), and the subnet's network address itself, the subnet-router
// anycast address, for IPv6 (fd77:: for fd77::/64).
//
// For an IPv4 /32 that address lies outside the subnet, as in Neutron; for
// 255.255.255.255/32, where Neutron fails, the zero Addr is returned.
func DefaultGateway(p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		return p.Addr().Next()
	}
	return p.Addr()
}

// FirstHostIP returns the network address plus one, the default gateway
// Neutron gives subnets it allocates from a subnet pool without a CIDR in
// the request (subnet_alloc), and IPv6 prefix-delegation subnets when
// their prefix arrives (utils.get_first_host_ip), in both families. It is
// the zero Addr when there is no next address.
func FirstHostIP(p netip.Prefix) netip.Addr {
	return p.Masked().Addr().Next()
}

// usableRange is the part of p that allocation pools may cover (the bounds
// of validate_allocation_pools and generate_pools): an IPv4 /30 or shorter
// loses its network and broadcast addresses, an IPv6 prefix its network
// (subnet-router anycast) address. ok is false when nothing is usable.
func usableRange(p netip.Prefix) (r Range, ok bool) {
	r = RangeOf(p)
	if p.Addr().Is4() {
		if p.Bits() <= 30 {
			r.Start, r.End = r.Start.Next(), r.End.Prev()
		}
		return r, true
	}
	r.Start = r.Start.Next()
	return r, r.Start.IsValid() && r.Start.Compare(r.End) <= 0
}

// DefaultAllocationPools returns the allocation pools Neutron generates for
// a subnet given none (ipam.utils.generate_pools): every address of p
// except, for IPv4 /30 and shorter, the network and broadcast addresses,
// and for IPv6 the network (subnet-router anycast) address; a /31 keeps
// both its addresses. The gateway, if any and inside, is carved out,
// splitting the pool in two when it lies in the middle. A single-address
// subnet (/32, /128) yields that address whatever the gateway. The result
// may be empty (an IPv6 /127 whose gateway is its second address).
func DefaultAllocationPools(p netip.Prefix, gateway *netip.Addr) []Range {
	p = p.Masked()
	whole := RangeOf(p)
	if whole.Start == whole.End {
		return []Range{whole}
	}
	r, ok := usableRange(p)
	if !ok {
		return nil
	}
	pools := []Range{r}
	if gateway != nil && gateway.IsValid() && gateway.Is4() == p.Addr().Is4() {
		pools = Subtract(pools, gateway.WithZone(""))
	}
	return pools
}

// ValidateAllocationPools checks allocation pools given for a subnet of
// CIDR p as Neutron does on create (validate_allocation_pools, then
// validate_gw_out_of_pools when there is a gateway):
//
//   - a pool of the other IP family: InvalidAllocationPool (400);
//   - a pool reaching outside the usable part of p (the network address,
//     and for IPv4 /30 and shorter the broadcast address, are outside):
//     OutOfBoundsAllocationPool (400);
//   - two pools sharing an address: OverlappingAllocationPools (409);
//   - the gateway inside a pool: GatewayConflictWithAllocationPools (409).
//
// Pools come from ParsePools, which refuses a start above its end. On
// update Neutron checks the gateway only when the gateway or the pools
// change; call CheckGatewayOutOfPools for that.
func ValidateAllocationPools(pools []Range, p netip.Prefix, gateway *netip.Addr) error {
	p = p.Masked()
	is4 := p.Addr().Is4()
	bounds, ok := usableRange(p)
	for _, r := range pools {
		if r.Start.Is4() != is4 || r.End.Is4() != is4 {
			return newError(400, "InvalidAllocationPool", "The allocation pool %s is not valid.", r)
		}
		if !ok || r.Start.Compare(bounds.Start) < 0 || r.End.Compare(bounds.End) > 0 {
			return newError(400, "OutOfBoundsAllocationPool", "The allocation pool %s spans beyond the subnet cidr %s.", r, p)
		}
	}
	if i, j, found := firstOverlap(pools); found {
		return newError(409, "OverlappingAllocationPools", "Found overlapping allocation pools: %s %s for subnet %s.",
			pools[i], pools[j], p)
	}
	if gateway != nil && gateway.IsValid() {
		return CheckGatewayOutOfPools(*gateway, pools)
	}
	return nil
}

// firstOverlap finds the pair Neutron reports: the first pool, in the
// given order, that overlaps a later one, and the first such later one.
// Detecting whether any pair overlaps takes O(n log n); only then are pairs
// compared.
func firstOverlap(pools []Range) (int, int, bool) {
	sorted := slices.Clone(pools)
	slices.SortFunc(sorted, compareRanges)
	overlap := false
	for k := 1; k < len(sorted); k++ {
		if sorted[k].Overlaps(sorted[k-1]) {
			overlap = true
			break
		}
	}
	if !overlap {
		return 0, 0, false
	}
	for i := range pools {
		for j := i + 1; j < len(pools); j++ {
			if pools[i].Overlaps(pools[j]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// CheckGatewayOutOfPools refuses a gateway that lies inside one of the
// allocation pools: GatewayConflictWithAllocationPools (409) "Gateway ip
// <gw> conflicts with allocation pool <start>-<end>.".
func CheckGatewayOutOfPools(gateway netip.Addr, pools []Range) error {
	for _, r := range pools {
		if r.Contains(gateway) {
			return newError(409, "GatewayConflictWithAllocationPools", "Gateway ip %s conflicts with allocation pool %s.", gateway, r)
		}
	}
	return nil
}

// IsGatewayInvalidInSubnet reports what Neutron's
// check_gateway_invalid_in_subnet does: whether gw is inside the IPv4
// subnet p and is its first or last address (for every prefix length,
// /31 and /32 included). A gateway outside the subnet is never invalid,
// nor is any IPv6 gateway.
func IsGatewayInvalidInSubnet(p netip.Prefix, gw netip.Addr) bool {
	p = p.Masked()
	if !Contains(p, gw) || !p.Addr().Is4() {
		return false
	}
	return gw == p.Addr() || gw == LastAddr(p)
}

// ValidateGateway checks a subnet's gateway_ip against its CIDR p as
// Neutron's _validate_subnet does: a gateway of the other family is
// InvalidInput "gateway_ip '<gw>' does not match the ip_version '<v>'",
// and an IPv4 gateway equal to the network or last address of p is
// InvalidInput "Gateway is not valid on subnet". A gateway outside the
// subnet is allowed: Neutron assumes it is reachable on the link.
func ValidateGateway(gw netip.Addr, p netip.Prefix) error {
	if v := versionOf(p); addrVersion(gw) != v {
		return versionMismatch("gateway_ip", gw.String(), v)
	}
	if IsGatewayInvalidInSubnet(p, gw) {
		return invalidInput("Gateway is not valid on subnet")
	}
	return nil
}

// subnetLabel is how Neutron names the subnet in the *Exhausted messages:
// its ID on update, "new subnet" on create.
func subnetLabel(subnetID string) string {
	if subnetID == "" {
		return "new subnet"
	}
	return subnetID
}

// ValidateNameserversAttr applies the API's validation of the
// dns_nameservers attribute (validate_nameservers): each entry must be an
// IP address, and the same string may not appear twice. Failures are
// HTTPBadRequest "Invalid input for dns_nameservers. Reason: ...".
func ValidateNameserversAttr(servers []string) error {
	seen := make(map[string]bool, len(servers))
	for _, s := range servers {
		if _, reason := parseIPAddress(s); reason != "" {
			return AttributeError("dns_nameservers", fmt.Sprintf("'%s' is not a valid nameserver. %s", s, reason))
		}
		if seen[s] {
			return AttributeError("dns_nameservers", fmt.Sprintf("Duplicate nameserver '%s'", s))
		}
		seen[s] = true
	}
	return nil
}

// ValidateDNSNameservers checks a subnet's dns_nameservers: first as the
// API does (ValidateNameserversAttr), then as _validate_subnet does: more
// than maxCount servers is DNSNameServersExhausted (400) "Unable to
// complete operation for <subnet>. The number of DNS nameservers exceeds
// the limit <maxCount>." (subnetID "" reads "new subnet"), and a server of
// the other family is InvalidInput "dns_nameserver '<s>' does not match
// the ip_version '<v>'".
func ValidateDNSNameservers(servers []string, ipVersion, maxCount int, subnetID string) error {
	if err := ValidateNameserversAttr(servers); err != nil {
		return err
	}
	if len(servers) > maxCount {
		return newError(400, "DNSNameServersExhausted",
			"Unable to complete operation for %s. The number of DNS nameservers exceeds the limit %d.",
			subnetLabel(subnetID), maxCount)
	}
	for _, s := range servers {
		a, reason := parseIPAddress(s)
		if reason != "" {
			return invalidInput("Error parsing dns address %s", s)
		}
		if addrVersion(a) != ipVersion {
			return versionMismatch("dns_nameserver", s, ipVersion)
		}
	}
	return nil
}

// HostRoute is a subnet host route in Neutron's JSON form.
type HostRoute struct {
	Destination string `json:"destination"`
	Nexthop     string `json:"nexthop"`
}

// String formats r as Neutron's messages quote it, a Python dict.
func (r HostRoute) String() string {
	return fmt.Sprintf("{'destination': '%s', 'nexthop': '%s'}", r.Destination, r.Nexthop)
}

// ValidateHostRoutesAttr applies the API's validation of the host_routes
// attribute (validate_hostroutes): the destination must be a CIDR without
// host bits ("'<d>' is not a valid CIDR") and not loopback ("'<d>' is not a
// routable CIDR"), the nexthop an IP address, and no route may appear
// twice ("Duplicate hostroute '<route>'"). Failures are HTTPBadRequest
// "Invalid input for host_routes. Reason: ...".
func ValidateHostRoutesAttr(routes []HostRoute) error {
	seen := make(map[HostRoute]bool, len(routes))
	for _, r := range routes {
		if reason := routeCIDRReason(r.Destination); reason != "" {
			return AttributeError("host_routes", reason)
		}
		if _, reason := parseIPAddress(r.Nexthop); reason != "" {
			return AttributeError("host_routes", reason)
		}
		if seen[r] {
			return AttributeError("host_routes", fmt.Sprintf("Duplicate hostroute '%s'", r))
		}
		seen[r] = true
	}
	return nil
}

// routeCIDRReason applies validate_route_cidr.
func routeCIDRReason(s string) string {
	if !strings.Contains(s, "/") {
		return "'" + s + "' is not a valid CIDR"
	}
	p, ok := parseNetaddrCIDR(s)
	if !ok || p.Masked() != p {
		return "'" + s + "' is not a valid CIDR"
	}
	if within(p, v4Loopback) || within(p, v6Loopback) {
		return "'" + s + "' is not a routable CIDR"
	}
	return ""
}

// ValidateHostRoutes checks a subnet's host_routes: first as the API does
// (ValidateHostRoutesAttr), then as _validate_subnet does: more than
// maxCount routes is HostRoutesExhausted (400) "Unable to complete
// operation for <subnet>. The number of host routes exceeds the limit
// <maxCount>." (subnetID "" reads "new subnet"), and a nexthop, then a
// destination, of the other family is InvalidInput "nexthop '<x>' does not
// match the ip_version '<v>'" (resp. "destination ...").
func ValidateHostRoutes(routes []HostRoute, ipVersion, maxCount int, subnetID string) error {
	if err := ValidateHostRoutesAttr(routes); err != nil {
		return err
	}
	if len(routes) > maxCount {
		return newError(400, "HostRoutesExhausted",
			"Unable to complete operation for %s. The number of host routes exceeds the limit %d.",
			subnetLabel(subnetID), maxCount)
	}
	for _, r := range routes {
		nh, reason := parseIPAddress(r.Nexthop)
		dst, ok := parseNetaddrCIDR(r.Destination)
		if reason != "" || !ok {
			return invalidInput("Invalid route: %s", r)
		}
		if addrVersion(nh) != ipVersion {
			return versionMismatch("nexthop", r.Nexthop, ipVersion)
		}
		if versionOf(dst) != ipVersion {
			return versionMismatch("destination", r.Destination, ipVersion)
		}
	}
	return nil
}

// isIPv6Mode reports whether m is one of Neutron's IPv6 modes.
func isIPv6Mode(m string) bool {
	return m == IPv6SLAAC || m == DHCPv6Stateful || m == DHCPv6Stateless
}

// IsAutoAddressSubnet reports whether ports get their addresses on the
// subnet from SLAAC (EUI-64) rather than from IPAM: either mode is slaac
// or dhcpv6-stateless (ipv6_utils.is_auto_address_subnet).
func IsAutoAddressSubnet(addressMode, raMode string) bool {
	auto := func(m string) bool { return m == IPv6SLAAC || m == DHCPv6Stateless }
	return auto(addressMode) || auto(raMode)
}

// ValidateIPv6Modes checks a new subnet's ipv6_ra_mode and
// ipv6_address_mode ("" when not set) as Neutron does:
//
//   - a value outside slaac, dhcpv6-stateful, dhcpv6-stateless is the
//     API's HTTPBadRequest "Invalid input for ipv6_ra_mode. Reason: <v> is
//     not in valid_values.";
//   - on IPv4, either mode set is InvalidInput ("ipv6_ra_mode is not valid
//     when ip_version is 4");
//   - on IPv6, a mode set with DHCP disabled, two different modes, and an
//     automatic-address mode (slaac, dhcpv6-stateless) on a CIDR other than
//     a /64 are InvalidInput with Neutron's messages.
//
// cidr may be the zero Prefix when the subnet comes from a subnet pool
// without a CIDR; the /64 check is then skipped, as in Neutron.
func ValidateIPv6Modes(raMode, addressMode string, ipVersion int, enableDHCP bool, cidr netip.Prefix) error {
	if raMode != "" && !isIPv6Mode(raMode) {
		return AttributeError("ipv6_ra_mode", raMode+" is not in valid_values")
	}
	if addressMode != "" && !isIPv6Mode(addressMode) {
		return AttributeError("ipv6_address_mode", addressMode+" is not in valid_values")
	}
	if ipVersion == 4 {
		if raMode != "" {
			return invalidInput("ipv6_ra_mode is not valid when ip_version is 4")
		}
		if addressMode != "" {
			return invalidInput("ipv6_address_mode is not valid when ip_version is 4")
		}
		return nil
	}
	if raMode == "" && addressMode == "" {
		return nil
	}
	if !enableDHCP {
		return invalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
	}
	if raMode != "" && addressMode != "" && raMode != addressMode {
		return invalidInput("ipv6_ra_mode set to '%s' with ipv6_address_mode set to '%s' is not valid. "+
			"If both attributes are set, they must be the same value", raMode, addressMode)
	}
	if cidr.IsValid() && IsAutoAddressSubnet(addressMode, raMode) && cidr.Bits() != 64 {
		return invalidInput("Invalid CIDR %s for IPv6 address mode. OpenStack uses the EUI-64 address format, "+
			"which requires the prefix to be /64", cidr.Masked())
	}
	return nil
}

// ValidateIPv6DHCPUpdate refuses, as _validate_ipv6_update_dhcp does, an
// update that disables DHCP on a subnet that has an IPv6 mode set (the
// modes cannot be changed by an update): InvalidInput "Cannot disable
// enable_dhcp with ipv6 attributes set".
func ValidateIPv6DHCPUpdate(disablingDHCP bool, raMode, addressMode string) error {
	if disablingDHCP && (raMode != "" || addressMode != "") {
		return invalidInput("Cannot disable enable_dhcp with ipv6 attributes set")
	}
	return nil
}

// ValidatePrefixDelegation checks a subnet requested with prefix
// delegation as _validate_subnet_for_pd does; each failure is BadRequest
// (400) "Bad subnets request: <reason>." where Neutron's reason already
// ends in a period.
func ValidatePrefixDelegation(ipVersion int, raMode, addressMode string) error {
	auto := func(m string) bool { return m == IPv6SLAAC || m == DHCPv6Stateless }
	switch {
	case ipVersion != 6:
		return badRequest("subnets", "Prefix Delegation can only be used with IPv6 subnets.")
	case !auto(raMode):
		return badRequest("subnets", "IPv6 RA Mode must be SLAAC or Stateless for Prefix Delegation.")
	case !auto(addressMode):
		return badRequest("subnets", "IPv6 Address Mode must be SLAAC or Stateless for Prefix Delegation.")
	}
	return nil
}

// EUI64 returns the SLAAC address of the interface with the given MAC in
// the IPv6 prefix, as oslo's get_ipv6_addr_by_EUI64: the prefix's first
// address plus the modified EUI-64 interface identifier (ff:fe inserted in
// a 48-bit MAC, universal/local bit flipped). An IPv4 prefix or a MAC that
// is neither 6 nor 8 bytes is a plain error: Neutron only reaches this
// with IPv6 subnets and valid MACs, and answers 500 otherwise.
func EUI64(prefix netip.Prefix, mac net.HardwareAddr) (netip.Addr, error) {
	if !prefix.IsValid() || prefix.Addr().Is4() {
		return netip.Addr{}, errors.New("ipam: unable to generate IP address by EUI64 for IPv4 prefix")
	}
	var id [8]byte
	switch len(mac) {
	case 6:
		id = [8]byte{mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
	case 8:
		copy(id[:], mac)
	default:
		return netip.Addr{}, fmt.Errorf("ipam: bad prefix or mac format for generating IPv6 address by EUI-64: %s, %s", prefix, mac)
	}
	var v u128
	for _, b := range id {
		v.lo = v.lo<<8 | uint64(b)
	}
	sum := addrU128(prefix.Masked().Addr()).add(v).xor(u128{lo: 1 << 57})
	return u128Addr(sum, false), nil
}

// IsEUI64Address reports whether a looks like an EUI-64 SLAAC address: an
// IPv6 address with ff:fe in the middle of its interface identifier
// (ipv6_utils.is_eui64_address).
func IsEUI64Address(a netip.Addr) bool {
	if !a.Is6() {
		return false
	}
	b := a.As16()
	return b[11] == 0xff && b[12] == 0xfe
}
