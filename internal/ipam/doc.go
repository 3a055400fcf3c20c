// Package ipam holds the address logic of Neutron's core plugin for
// subnets, subnet pools and ports, without I/O: the plugin calls it inside
// its database transactions with what it read, and stores what it gets.
//
// Neutron's behaviour is the specification. Every refusal is an *Error
// carrying the Neutron exception class, the HTTP status neutron-lib's
// fault map gives it, and Neutron's message, so the API can render a
// NeutronError body unchanged. Where Neutron checks a value in two places
// (the API's attribute validators, then the plugin), the package keeps
// both, in that order: the attribute layer's refusals are HTTPBadRequest
// "Invalid input for <attr>. Reason: <reason>.", the plugin's are
// neutron-lib exceptions such as InvalidInput.
//
// Creating a subnet with a CIDR follows Neutron's order:
//
//	p, err := ParseCIDR(cidr, ipVersion)            // normalizes host bits away
//	err = ValidateSubnetCIDR(p, enableDHCP, false)  // _validate_subnet
//	err = ValidateGateway(gw, p)                    // when gateway_ip is given
//	err = ValidateDNSNameservers(dns, v, max, "")
//	err = ValidateHostRoutes(routes, v, max, "")
//	err = ValidateIPv6Modes(ra, addr, v, enableDHCP, p)
//	gw := DefaultGateway(p)                         // when gateway_ip is unset
//	pools := DefaultAllocationPools(p, &gw)         // or ParsePools + ValidateAllocationPools
//	err = ValidateCIDRForNetwork(p, otherSubnets, networkID)
//
// Addresses are stored under 16-byte big-endian keys (Key, AddrFromKey,
// RangeKeys), so allocation pools and free stretches are ranges of keys.
package ipam
