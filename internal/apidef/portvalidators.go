package apidef

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Converters and validators of the port attributes, with neutron-lib's
// rules and messages (validate_fixed_ips, validate_mac_address,
// _validate_allowed_address_pairs, the extra_dhcp_opt key specs).

// MaxAllowedAddressPairs is Neutron's [DEFAULT] max_allowed_address_pair
// default.
const MaxAllowedAddressPairs = 10

// portIPReason applies neutron-lib's validate_ip_address to s and
// returns the address, or the reason it is refused ("'x' is not a valid IP
// address", or for a zero-filled IPv4 address "... is not an accepted IP
// address, 'y' is recommended").
func portIPReason(v any) (netip.Addr, string) {
	s, ok := v.(string)
	if !ok {
		return netip.Addr{}, fmt.Sprintf("'%s' is not a valid IP address", resource.PyStr(v))
	}
	const attr = "ip_address"
	a, err := ipam.ParseIPAttr(attr, s)
	if err == nil {
		return a, ""
	}
	if e, ok := ipam.AsError(err); ok {
		msg := strings.TrimPrefix(e.Message, "Invalid input for "+attr+". Reason: ")
		return netip.Addr{}, strings.TrimSuffix(msg, ".")
	}
	return netip.Addr{}, fmt.Sprintf("'%s' is not a valid IP address", s)
}

// convertPortFixedIPs validates fixed_ips as validate_fixed_ips does: a
// list of objects whose ip_address (unique within the list, compared as
// given) and subnet_id are valid when present. Other keys are ignored as
// in Neutron, except delete_subnet, which a port update understands.
// Addresses are canonicalised.
func convertPortFixedIPs(v any) (any, error) {
	bad := func(x any) error {
		return &resource.ValidationError{Attr: "fixed_ips",
			Reason: fmt.Sprintf("Invalid data format for fixed IP: '%s'", resource.PyStr(x))}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, bad(v)
	}
	seen := map[string]bool{}
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, bad(it)
		}
		clean := map[string]any{}
		if ip, has := m["ip_address"]; has {
			raw := resource.PyStr(ip)
			if seen[raw] {
				return nil, &resource.ValidationError{Attr: "fixed_ips", Reason: fmt.Sprintf("Duplicate IP address '%s'", raw)}
			}
			a, reason := portIPReason(ip)
			if reason != "" {
				return nil, &resource.ValidationError{Attr: "fixed_ips", Reason: reason}
			}
			seen[raw] = true
			clean["ip_address"] = a.String()
		}
		if id, has := m["subnet_id"]; has {
			if err := resource.UUID(id); err != nil {
				return nil, &resource.ValidationError{Attr: "fixed_ips", Reason: err.Error()}
			}
			clean["subnet_id"] = id
		}
		if d, has := m["delete_subnet"]; has && portTruthy(d) {
			clean["delete_subnet"] = true
		}
		out = append(out, clean)
	}
	return out, nil
}

// portTruthy is Python's truth value of a decoded JSON value.
func portTruthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	rv := reflect.ValueOf(v)
	return !rv.IsZero()
}

// portInvalidMACs are neutron-lib's INVALID_MAC_ADDRESSES.
var portInvalidMACs = []string{"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}

// portSanitizeMAC parses a MAC address in any of netaddr's usual notations and
// returns it as lower-case xx:xx:xx:xx:xx:xx
// (convert_to_sanitized_mac_address), or "" when it is not a MAC.
func portSanitizeMAC(s string) string {
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return ""
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return ""
	}
	return strings.ToLower(hw.String())
}

// portMACReason applies validate_mac_address: a parseable MAC that is neither
// all zeros nor broadcast.
func portMACReason(v any) (string, string) {
	s, _ := v.(string)
	mac := portSanitizeMAC(s)
	if mac == "" || slices.Contains(portInvalidMACs, mac) {
		return "", fmt.Sprintf("'%s' is not a valid MAC address", resource.PyStr(v))
	}
	return mac, ""
}

// convertPortMAC converts and validates a port's mac_address: sanitised,
// then refused when invalid with the sanitised value in the message.
func convertPortMAC(v any) (any, error) {
	shown := v
	if s, ok := v.(string); ok {
		if mac := portSanitizeMAC(s); mac != "" {
			shown = mac
		}
	}
	mac, reason := portMACReason(shown)
	if reason != "" {
		return nil, &resource.ValidationError{Attr: "mac_address", Reason: reason}
	}
	return mac, nil
}

// pairMulticastMAC reports whether the group bit of mac's first octet is set.
func pairMulticastMAC(mac string) bool {
	hw, err := net.ParseMAC(mac)
	return err == nil && len(hw) > 0 && hw[0]&1 == 1
}

// pairSubnetReason applies validate_subnet to an allowed address pair's
// ip_address given with a prefix length.
func pairSubnetReason(s string) (netip.Prefix, string) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Sprintf("'%s' is not a valid IP subnet", s)
	}
	if p.Addr().Is4() && p.String() != s {
		return netip.Prefix{}, fmt.Sprintf("'%s' isn't a recognized IP subnet cidr, '%s' is recommended", s, p.Masked())
	}
	return p, ""
}

var (
	pairMulticast4 = netip.MustParsePrefix("224.0.0.0/4")
	pairMulticast6 = netip.MustParsePrefix("ff00::/8")
)

// convertPortAddressPairs validates allowed_address_pairs in the order and
// with the exceptions of neutron-lib's _validate_allowed_address_pairs.
// Values are kept as given, as Neutron stores them; a pair without a MAC
// gets the port's from the plugin.
func convertPortAddressPairs(v any) (any, error) {
	if v == nil {
		return []any{}, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fault.BadRequest("Allowed address pairs must be a list.")
	}
	if len(items) > MaxAllowedAddressPairs {
		return nil, fault.New(400, "AllowedAddressPairExhausted",
			"The number of allowed address pair exceeds the maximum %d.", MaxAllowedAddressPairs)
	}
	type key struct{ mac, ip string }
	seen := map[key]bool{}
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, &resource.ValidationError{Attr: "allowed_address_pairs",
				Reason: fmt.Sprintf("'%s' is not a dictionary", resource.PyStr(it))}
		}
		mac, hasMAC := m["mac_address"]
		if hasMAC {
			if _, reason := portMACReason(mac); reason != "" {
				return nil, fault.BadRequest("%s", reason)
			}
		}
		ip, hasIP := m["ip_address"]
		if !hasIP {
			return nil, fault.New(400, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address")
		}
		k := key{resource.PyStr(mac), resource.PyStr(ip)}
		if seen[k] {
			return nil, fault.New(400, "DuplicateAddressPairInRequest",
				"Request contains duplicate address pair: mac_address %s ip_address %s.", k.mac, k.ip)
		}
		seen[k] = true
		var extra []string
		for name := range m {
			if name != "mac_address" && name != "ip_address" {
				extra = append(extra, name)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return nil, fault.BadRequest("Unrecognized attribute(s) '%s'", strings.Join(extra, ", "))
		}
		s, isStr := ip.(string)
		if isStr && strings.Contains(s, "/") {
			p, reason := pairSubnetReason(s)
			if reason != "" {
				return nil, fault.BadRequest("%s", reason)
			}
			mc := pairMulticast4
			if p.Addr().Is6() {
				mc = pairMulticast6
			}
			if p.Bits() != 0 || p.Addr().Is6() {
				if p.Overlaps(mc) {
					return nil, fault.BadRequest("Subnet %s overlaps with multicast range %s, which is not supported.", s, mc)
				}
			}
		} else {
			a, reason := portIPReason(ip)
			if reason != "" {
				return nil, fault.BadRequest("%s", reason)
			}
			if a.IsMulticast() {
				return nil, fault.BadRequest("IP %s is a multicast address, which is not supported.", s)
			}
		}
		if hasMAC && mac != nil && pairMulticastMAC(mac.(string)) {
			return nil, fault.BadRequest("MAC address %s is a multicast address, which is not supported.", mac)
		}
		pair := map[string]any{"ip_address": ip}
		if hasMAC {
			pair["mac_address"] = mac
		}
		out = append(out, pair)
	}
	return out, nil
}

// Extra DHCP option limits (neutron-lib's extra_dhcp_opt definition).
const (
	dhcpOptNameMaxLen  = 64
	dhcpOptValueMaxLen = 255
)

// blankDHCPOpts may have an empty value (VALID_BLANK_EXTRA_DHCP_OPTS).
var blankDHCPOpts = []string{"router", "classless-static-route"}

// convertPortDHCPOpts validates extra_dhcp_opts like neutron-lib's
// type:list_of_any_key_specs_or_none with the extra_dhcp_opt key specs:
// every option needs opt_name and opt_value (which may be null: on update
// that removes the option), and may give ip_version 4 or 6 (default 4).
// Failures are InvalidInput, as in Neutron.
func convertPortDHCPOpts(v any) (any, error) {
	if v == nil {
		return []any{}, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fault.InvalidInput(fmt.Sprintf("'%s' is not a list", resource.PyStr(v)))
	}
	var dups []string
	for i, a := range items {
		for _, b := range items[:i] {
			if reflect.DeepEqual(a, b) {
				dups = append(dups, resource.PyStr(a))
				break
			}
		}
	}
	if len(dups) > 0 {
		return nil, fault.InvalidInput(fmt.Sprintf("Duplicate items in the list: '%s'", strings.Join(dups, ", ")))
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		opt, err := dhcpOpt(it)
		if err != nil {
			return nil, err
		}
		out = append(out, opt)
	}
	return out, nil
}

// dhcpOpt checks one extra DHCP option against the two key specs.
func dhcpOpt(it any) (map[string]any, error) {
	noMatch := fault.InvalidInput(fmt.Sprintf("No valid key specs matched for: %s", resource.PyStr(it)))
	m, ok := it.(map[string]any)
	if !ok {
		return nil, noMatch
	}
	for k := range m {
		if k != "opt_name" && k != "opt_value" && k != "ip_version" {
			return nil, noMatch
		}
	}
	name, hasName := m["opt_name"]
	value, hasValue := m["opt_value"]
	if !hasName || !hasValue {
		return nil, noMatch
	}
	version := 4
	if iv, has := m["ip_version"]; has {
		n, err := resource.ToInt(iv)
		if err != nil {
			return nil, fault.InvalidInput(err.Error())
		}
		if version = n.(int); version != 4 && version != 6 {
			return nil, noMatch
		}
	}
	nameStr, _ := name.(string)
	valueStr, valueIsStr := value.(string)
	blank := slices.Contains(blankDHCPOpts, nameStr)
	switch {
	case blank && (value == nil || valueIsStr && len([]rune(valueStr)) <= dhcpOptValueMaxLen):
	case dhcpOneLine(name, dhcpOptNameMaxLen) && (value == nil || dhcpOneLine(value, dhcpOptValueMaxLen)):
	default:
		return nil, noMatch
	}
	return map[string]any{"opt_name": nameStr, "opt_value": value, "ip_version": version}, nil
}

// dhcpOneLine is validate_oneline_not_empty_string.
func dhcpOneLine(v any, maxLen int) bool {
	s, ok := v.(string)
	if !ok || len([]rune(s)) > maxLen || strings.TrimSpace(s) == "" {
		return false
	}
	return !strings.ContainsAny(s, "\n\r\v\f\x1c\x1d\x1e\u0085\u2028\u2029")
}

// convertBindingProfile validates binding:profile (type:dict_or_none);
// null means an empty profile.
func convertBindingProfile(v any) (any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, &resource.ValidationError{Attr: "binding:profile",
			Reason: fmt.Sprintf("'%s' is not a dictionary", resource.PyStr(v))}
	}
	return v, nil
}
