package apidef

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Validators and converters of neutron-lib's addressing types. They check
// shape and syntax; meaning (inside the CIDR, overlaps) is the plugin's.

// ipAddress validates like type:ip_address and returns the canonical form.
func canonicalIP(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("'%s' is not a valid IP address", s)
	}
	return a.Unmap().String(), nil
}

// convertCIDR validates like type:subnet and canonicalises the notation;
// host bits are the plugin's concern, with Neutron's message.
func convertCIDR(attr string) func(any) (any, error) {
	return func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			if v == nil {
				return nil, nil
			}
			return nil, &resource.ValidationError{Attr: attr, Reason: fmt.Sprintf("'%s' is not a valid IP subnet", resource.PyStr(v))}
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			// Neutron accepts a bare address as a host route destination
			// or subnet, meaning a single-address prefix.
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, &resource.ValidationError{Attr: attr, Reason: fmt.Sprintf("'%s' is not a valid IP subnet", s)}
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p)).String(), nil
	}
}

func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return 96
	}
	return 0
}

// objectList checks a JSON list of objects with exactly the allowed keys
// (required ones must be present); what neutron-lib's dict validators do.
func objectList(attr, what string, required, optional []string, each func(m map[string]any) error) func(any) (any, error) {
	return func(v any) (any, error) {
		if v == nil {
			return []any{}, nil
		}
		items, ok := v.([]any)
		if !ok {
			return nil, &resource.ValidationError{Attr: attr, Reason: fmt.Sprintf("Invalid data format for %s: '%s'", what, resource.PyStr(v))}
		}
		out := make([]any, 0, len(items))
		for _, it := range items {
			m, ok := it.(map[string]any)
			bad := !ok
			if ok {
				for k := range m {
					if !slices.Contains(required, k) && !slices.Contains(optional, k) {
						bad = true
					}
				}
				for _, k := range required {
					if _, has := m[k]; !has {
						bad = true
					}
				}
			}
			if bad {
				return nil, &resource.ValidationError{Attr: attr, Reason: fmt.Sprintf("Invalid data format for %s: '%s'", what, resource.PyStr(it))}
			}
			if err := each(m); err != nil {
				return nil, &resource.ValidationError{Attr: attr, Reason: err.Error()}
			}
			out = append(out, m)
		}
		return out, nil
	}
}

// stringField canonicalises m[k] with f when present.
func stringField(m map[string]any, k string, f func(string) (string, error)) error {
	v, ok := m[k]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("'%s' is not a valid IP address", resource.PyStr(v))
	}
	c, err := f(s)
	if err != nil {
		return err
	}
	m[k] = c
	return nil
}

// oneOf validates a string against allowed values (type:values).
func oneOf(values ...string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		if !slices.Contains(values, s) {
			quoted := make([]string, len(values))
			for i, x := range values {
				quoted[i] = "'" + x + "'"
			}
			return fmt.Errorf("'%s' is not in [%s]", resource.PyStr(v), strings.Join(quoted, ", "))
		}
		return nil
	}
}

// ipVersion validates type:values [4, 6] on an int.
var ipVersion = validValues(4, 6)
