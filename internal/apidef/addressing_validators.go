package apidef

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Converters and validators of the subnet, subnet pool and address scope
// attributes, in neutron-lib's order: convert_to first, then the
// validator on the converted value. They check form, never meaning
// (inside the CIDR, overlaps): that is the plugin's, as in Neutron.

// attrError turns an *ipam.Error from one of ipam's attribute validators
// ("Invalid input for <attr>. Reason: <reason>.") into the
// ValidationError the API renders that way, and any other *ipam.Error
// into the Neutron exception it names.
func attrError(attr string, err error) error {
	e, ok := ipam.AsError(err)
	if !ok {
		return err
	}
	prefix := "Invalid input for " + attr + ". Reason: "
	if e.Type == "HTTPBadRequest" && strings.HasPrefix(e.Message, prefix) {
		return &resource.ValidationError{Attr: attr, Reason: strings.TrimSuffix(strings.TrimPrefix(e.Message, prefix), ".")}
	}
	return fault.New(e.Status, e.Type, "%s", e.Message)
}

// subnetIPAddr applies validate_ip_address to v: the canonical form
// of the address (IPv6 compressed, as convert_ip_to_canonical_format), or
// the reason v is refused.
func subnetIPAddr(attr string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", &resource.ValidationError{Attr: attr, Reason: fmt.Sprintf("'%s' is not a valid IP address", resource.PyStr(v))}
	}
	a, err := ipam.ParseIPAttr(attr, s)
	if err != nil {
		return "", attrError(attr, err)
	}
	return a.String(), nil
}

// convertSubnetCIDR is convert_cidr_to_canonical_format: anything netaddr
// reads as a network (a bare address is a /32 or /128) in canonical
// notation, host bits kept (the plugin clears them); anything else is
// InvalidInput "<v> is not in a CIDR format".
func convertSubnetCIDR(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, &resource.ConvertError{Reason: fmt.Sprintf("%s is not in a CIDR format", resource.PyStr(v))}
	}
	p, err := ipam.ParseCIDR(s, 0)
	if err != nil {
		return nil, &resource.ConvertError{Reason: fmt.Sprintf("%s is not in a CIDR format", s)}
	}
	addr, _, _ := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &resource.ConvertError{Reason: fmt.Sprintf("%s is not in a CIDR format", s)}
	}
	return a.String() + "/" + strconv.Itoa(p.Bits()), nil
}

// convertGatewayIP is convert_ip_to_canonical_format, then
// type:ip_address_or_none (null is handled before, the attribute being
// nullable).
func convertGatewayIP(v any) (any, error) {
	return subnetIPAddr("gateway_ip", v)
}

// pySet renders keys as Python prints a set of strings, sorted so the
// message is stable (Python's own order varies from run to run).
func pySet(keys []string) string {
	if len(keys) == 0 {
		return "set()"
	}
	sort.Strings(keys)
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = "'" + k + "'"
	}
	return "{" + strings.Join(q, ", ") + "}"
}

// verifyDictKeys is neutron-lib's _verify_dict_keys (strict).
func verifyDictKeys(expected []string, v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		q := make([]string, len(expected))
		for i, k := range expected {
			q[i] = "'" + k + "'"
		}
		return fmt.Sprintf("Invalid input. '%s' must be a dictionary with keys: [%s]", resource.PyStr(v), strings.Join(q, ", "))
	}
	provided := make([]string, 0, len(m))
	for k := range m {
		provided = append(provided, k)
	}
	same := len(m) == len(expected)
	for _, k := range expected {
		if _, has := m[k]; !has {
			same = false
		}
	}
	if !same {
		return fmt.Sprintf("Validation of dictionary's keys failed. Expected keys: %s Provided keys: %s",
			pySet(append([]string(nil), expected...)), pySet(provided))
	}
	return ""
}

// convertAllocationPools is convert_allocation_pools_to_canonical_format
// (InvalidInput unless a list of objects; IPv6 addresses compressed) then
// type:ip_pools (exactly start and end, each an IP address).
func convertAllocationPools(v any) (any, error) {
	if v == nil {
		return []any{}, nil
	}
	bad := &resource.ConvertError{Reason: "Invalid data format for allocation pools"}
	items, ok := v.([]any)
	if !ok {
		return nil, bad
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, bad
		}
		if reason := verifyDictKeys([]string{"start", "end"}, m); reason != "" {
			return nil, &resource.ValidationError{Attr: "allocation_pools", Reason: reason}
		}
		pool := map[string]any{}
		for _, k := range []string{"start", "end"} {
			a, err := subnetIPAddr("allocation_pools", m[k])
			if err != nil {
				return nil, err
			}
			pool[k] = a
		}
		out = append(out, pool)
	}
	return out, nil
}

// convertDNSNameservers is convert_none_to_empty_list then
// type:nameservers: unique IP addresses, kept as given (Neutron stores and
// shows the strings it was sent).
func convertDNSNameservers(v any) (any, error) {
	var items []any
	switch t := v.(type) {
	case nil:
		return []string{}, nil
	case []any:
		items = t
	case string: // Python iterates a string's characters
		for _, r := range t {
			items = append(items, string(r))
		}
	default:
		return nil, &resource.ValidationError{Attr: "dns_nameservers",
			Reason: fmt.Sprintf("Invalid data format for nameserver: '%s'", resource.PyStr(v))}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			p := resource.PyStr(it)
			return nil, &resource.ValidationError{Attr: "dns_nameservers",
				Reason: fmt.Sprintf("'%s' is not a valid nameserver. '%s' is not a valid IP address", p, p)}
		}
		out = append(out, s)
	}
	if err := ipam.ValidateNameserversAttr(out); err != nil {
		return nil, attrError("dns_nameservers", err)
	}
	return out, nil
}

// convertHostRoutes is convert_none_to_empty_list then type:hostroutes:
// objects of exactly destination (a CIDR without host bits, not loopback)
// and nexthop (an IP address), none twice. The destination is kept as
// given, the nexthop canonicalised, as Neutron stores them.
func convertHostRoutes(v any) (any, error) {
	if v == nil {
		return []any{}, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &resource.ValidationError{Attr: "host_routes",
			Reason: fmt.Sprintf("Invalid data format for hostroute: '%s'", resource.PyStr(v))}
	}
	seen := map[ipam.HostRoute]bool{}
	out := make([]any, 0, len(items))
	for _, it := range items {
		if reason := verifyDictKeys([]string{"destination", "nexthop"}, it); reason != "" {
			return nil, &resource.ValidationError{Attr: "host_routes", Reason: reason}
		}
		m := it.(map[string]any)
		dst, dok := m["destination"].(string)
		nh, nok := m["nexthop"].(string)
		if !dok {
			return nil, &resource.ValidationError{Attr: "host_routes",
				Reason: fmt.Sprintf("'%s' is not a valid CIDR", resource.PyStr(m["destination"]))}
		}
		if !nok {
			// The destination is checked first.
			if err := ipam.ValidateHostRoutesAttr([]ipam.HostRoute{{Destination: dst, Nexthop: "0.0.0.0"}}); err != nil {
				return nil, attrError("host_routes", err)
			}
			return nil, &resource.ValidationError{Attr: "host_routes",
				Reason: fmt.Sprintf("'%s' is not a valid IP address", resource.PyStr(m["nexthop"]))}
		}
		r := ipam.HostRoute{Destination: dst, Nexthop: nh}
		if err := ipam.ValidateHostRoutesAttr([]ipam.HostRoute{r}); err != nil {
			return nil, attrError("host_routes", err)
		}
		if seen[r] {
			return nil, &resource.ValidationError{Attr: "host_routes", Reason: fmt.Sprintf("Duplicate hostroute '%s'", r)}
		}
		seen[r] = true
		hop, _ := netip.ParseAddr(nh)
		out = append(out, map[string]any{"destination": dst, "nexthop": hop.String()})
	}
	return out, nil
}

// convertServiceTypes applies validate_subnet_service_types, whose
// refusals are exceptions of their own rather than attribute errors. Its
// prefix check keeps a neutron-lib quirk: the compute prefix is added to
// the list of prefixes character by character, so a service type passes
// when it starts with "network:" or "neutron:", or with any character of
// "compute:".
func convertServiceTypes(v any) (any, error) {
	switch t := v.(type) {
	case nil:
		return []string{}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, it := range t {
			s, ok := it.(string)
			if !ok {
				return nil, fault.New(400, "InvalidInputSubnetServiceType", "Subnet service type %s is not a string.", resource.PyStr(it))
			}
			if !strings.HasPrefix(s, "network:") && !strings.HasPrefix(s, "neutron:") &&
				(s == "" || !strings.ContainsRune("compute:", rune(s[0]))) {
				return nil, fault.New(400, "InvalidSubnetServiceType",
					"Subnet service type %s does not correspond to a valid device owner.", s)
			}
			out = append(out, s)
		}
		return out, nil
	}
	if s, ok := v.(string); ok && s == "" {
		return []string{}, nil
	}
	return nil, fault.BadRequest("Subnet service types must be a list.")
}

// convertPrefixList is type:subnet_list on a subnet pool's prefixes: a
// list without duplicates, each a CIDR. The strings are kept; the plugin
// merges them.
func convertPrefixList(v any) (any, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, &resource.ValidationError{Attr: "prefixes", Reason: fmt.Sprintf("'%s' is not a list", resource.PyStr(v))}
	}
	strs := make([]string, len(items))
	for i, it := range items {
		strs[i] = resource.PyStr(it)
	}
	seen := map[string]bool{}
	var dups []string
	for _, s := range strs {
		if seen[s] && !slices.Contains(dups, s) {
			dups = append(dups, s)
		}
		seen[s] = true
	}
	if len(dups) > 0 {
		return nil, &resource.ValidationError{Attr: "prefixes", Reason: "Duplicate items in the list: '" + strings.Join(dups, ", ") + "'"}
	}
	for i, it := range items {
		if _, ok := it.(string); !ok {
			return nil, &resource.ValidationError{Attr: "prefixes", Reason: fmt.Sprintf("'%s' is not a valid IP subnet", strs[i])}
		}
		if _, err := ipam.ParsePrefixList(strs[i : i+1]); err != nil {
			return nil, attrError("prefixes", err)
		}
	}
	return strs, nil
}

// notBlank is validate_not_empty_string's blank check.
func notBlank(v any) error {
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return fmt.Errorf("'%s' Blank strings are not permitted", s)
	}
	return nil
}

// validValues is type:values: "<v> is not in valid_values".
func validValues[T comparable](values ...T) func(any) error {
	return func(v any) error {
		if t, ok := v.(T); ok {
			for _, x := range values {
				if x == t {
					return nil
				}
			}
		}
		return fmt.Errorf("%s is not in valid_values", resource.PyStr(v))
	}
}

// ipVersion validates type:values [4, 6].
var ipVersion = validValues(4, 6)
