package agents

import (
	"context"
	"fmt"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// metadataFilters are the port attributes get_ports filters on: what
// Neutron's metadata agent asks for (network_id with fixed_ips for an
// instance's address; device_id and device_owner for a router's ports),
// and id.
var metadataFilters = []string{"id", "network_id", "device_id", "device_owner", "mac_address", "project_id", "tenant_id"}

// GetPorts is the server side of the metadata agent's get_ports (Neutron's
// MetadataRpcCallback): the ports matching filters, as an admin sees them.
// Unknown filters are refused, so an agent never gets every port by
// mistake.
func (p *Plugin) GetPorts(ctx context.Context, filters map[string]any) ([]map[string]any, error) {
	h, err := p.handler(apidef.Ports)
	if err != nil {
		return nil, err
	}
	def := p.defs[apidef.Ports]
	q := &resource.Query{Sorts: []resource.SortKey{{Attr: def.Attr("id")}}}
	for key, v := range filters {
		if key == "fixed_ips" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fault.BadRequest("get_ports: filter fixed_ips must map ip_address or subnet_id to values")
			}
			for sub, vals := range m {
				if sub != "ip_address" && sub != "subnet_id" {
					return nil, fault.BadRequest("get_ports: cannot filter fixed_ips by %q", sub)
				}
				strs, err := stringValues(vals)
				if err != nil {
					return nil, fault.BadRequest("get_ports: fixed_ips %s: %v", sub, err)
				}
				q.SubFilters = append(q.SubFilters, resource.SubFilter{Attr: def.Attr("fixed_ips"), Key: sub, Values: strs})
			}
			continue
		}
		if key == "tenant_id" {
			key = "project_id"
		}
		if !slices.Contains(metadataFilters, key) || def.Attr(key) == nil {
			return nil, fault.BadRequest("get_ports: cannot filter by %q", key)
		}
		strs, err := stringValues(v)
		if err != nil {
			return nil, fault.BadRequest("get_ports: %s: %v", key, err)
		}
		vals := make([]any, len(strs))
		for i, s := range strs {
			vals[i] = s
		}
		q.Filters = append(q.Filters, resource.Filter{Attr: def.Attr(key), Values: vals})
	}
	ports, err := h.List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("get_ports: %w", err)
	}
	out := make([]map[string]any, len(ports))
	for i, o := range ports {
		m := apiMap(o)
		m["tenant_id"] = o.String("project_id")
		out[i] = m
	}
	return out, nil
}

// stringValues reads a filter's values: a list of strings, or one string.
func stringValues(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("value %v is not a string", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("values %v are not a list of strings", v)
}
