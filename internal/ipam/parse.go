package ipam

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// ParseCIDR parses a subnet's cidr attribute the way Neutron does when a
// subnet is created, and returns it normalized to its network address.
//
// Neutron accepts what netaddr.IPNetwork accepts (a CIDR, a bare address
// meaning /32 or /128, an IPv4 netmask or hostmask after the slash) and
// silently clears host bits: "10.129.122.5/8" becomes 10.0.0.0/8. It does
// not refuse them. Unparsable input is InvalidInput "Invalid input for
// operation: <cidr> is not in a CIDR format."; when ipVersion is 4 or 6 and
// the family differs it is InvalidInput "Invalid input for operation: cidr
// '<normalized cidr>' does not match the ip_version '<ipVersion>'.".
// ipVersion 0 skips the family check.
func ParseCIDR(cidr string, ipVersion int) (netip.Prefix, error) {
	p, ok := parseNetaddrCIDR(cidr)
	if !ok {
		return netip.Prefix{}, invalidInput("%s is not in a CIDR format", cidr)
	}
	p = p.Masked()
	if ipVersion != 0 && ipVersion != versionOf(p) {
		return netip.Prefix{}, versionMismatch("cidr", p.String(), ipVersion)
	}
	return p, nil
}

// ParseIPAttr parses the value of an IP address attribute (gateway_ip, a
// fixed IP's ip_address, ...) with neutron-lib's validate_ip_address rules.
// A refusal is the API's HTTPBadRequest "Invalid input for <attr>. Reason:
// '<s>' is not a valid IP address." (or, for an IPv4 address written with
// leading zeros, "... is not an accepted IP address, '<ip>' is
// recommended").
func ParseIPAttr(attr, s string) (netip.Addr, error) {
	a, reason := parseIPAddress(s)
	if reason != "" {
		return netip.Addr{}, AttributeError(attr, reason)
	}
	return a, nil
}

// versionOf is the IP version of p's family.
func versionOf(p netip.Prefix) int { return addrVersion(p.Addr()) }

// hasSpace reports whether s contains white space.
func hasSpace(s string) bool {
	return strings.IndexFunc(s, unicode.IsSpace) >= 0
}

// parseIPAddress applies validate_ip_address: it returns the address, or a
// reason why s is refused.
func parseIPAddress(s string) (netip.Addr, string) {
	invalid := "'" + s + "' is not a valid IP address"
	if hasSpace(s) {
		return netip.Addr{}, invalid
	}
	a, err := netip.ParseAddr(s)
	if err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, invalid
		}
		return a, ""
	}
	if z, ok := zeroFilled(s); ok {
		return netip.Addr{}, "'" + s + "' is not an accepted IP address, '" + z.String() + "' is recommended"
	}
	return netip.Addr{}, invalid
}

// zeroFilled parses a dotted-quad IPv4 address whose octets carry leading
// zeros, as netaddr's ZEROFILL flag does.
func zeroFilled(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	for i, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return netip.Addr{}, false
		}
		if t := strings.TrimLeft(p, "0"); t != "" {
			parts[i] = t
		} else {
			parts[i] = "0"
		}
	}
	a, err := netip.ParseAddr(strings.Join(parts, "."))
	return a, err == nil
}

// parseNetaddrCIDR parses what netaddr.IPNetwork accepts of a CIDR string:
// addr, addr/len, and for IPv4 addr/netmask or addr/hostmask.
func parseNetaddrCIDR(s string) (netip.Prefix, bool) {
	if s == "" || hasSpace(s) {
		return netip.Prefix{}, false
	}
	addrPart, lenPart, hasSlash := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addrPart)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	width := familyBits(a)
	if !hasSlash {
		return netip.PrefixFrom(a, width), true
	}
	if lenPart != "" && strings.Trim(lenPart, "0123456789") == "" {
		n, err := strconv.Atoi(lenPart)
		if err != nil || n > width {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, n), true
	}
	if !a.Is4() {
		return netip.Prefix{}, false
	}
	m, err := netip.ParseAddr(lenPart)
	if err != nil || !m.Is4() {
		return netip.Prefix{}, false
	}
	v := uint32(addrU128(m).lo)
	if ones := maskLen(v); ones >= 0 {
		return netip.PrefixFrom(a, ones), true
	}
	if zeros := maskLen(^v); zeros >= 0 {
		return netip.PrefixFrom(a, zeros), true
	}
	return netip.Prefix{}, false
}

// maskLen returns the number of leading ones of a contiguous netmask, or
// -1 when v is not one.
func maskLen(v uint32) int {
	n := 0
	for n < 32 && v&(1<<(31-n)) != 0 {
		n++
	}
	if n < 32 && v<<n != 0 {
		return -1
	}
	return n
}

// parseSubnetAttr applies neutron-lib's validate_subnet to one string: it
// must be a CIDR with a slash, and an IPv4 one must be written exactly as
// netaddr prints it. Host bits are allowed here.
func parseSubnetAttr(s string) (netip.Prefix, string) {
	reason := "'" + s + "' is not a valid IP subnet"
	if !strings.Contains(s, "/") {
		return netip.Prefix{}, reason
	}
	p, ok := parseNetaddrCIDR(s)
	if !ok {
		return netip.Prefix{}, reason
	}
	if p.Addr().Is4() && p.String() != s {
		return netip.Prefix{}, reason
	}
	return p, ""
}
