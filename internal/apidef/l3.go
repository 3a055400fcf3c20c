package apidef

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Collection names of the L3 resources (neutron-lib's l3,
// floating_ip_port_forwarding and floatingip_pools definitions).
const (
	Routers         = "routers"
	FloatingIPs     = "floatingips"
	PortForwardings = "port_forwardings"
	FloatingIPPools = "floatingip_pools"
)

// L3 extensions: the router and floating IP resources and the attributes
// and actions their extensions add.
func init() {
	for _, e := range []*Extension{
		{Alias: "router", Name: "Neutron L3 Router",
			Description: "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.",
			Updated:     "2012-07-20T10:00:00-00:00"},
		{Alias: "ext-gw-mode", Name: "Neutron L3 Configurable external gateway mode",
			Description: "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway",
			Updated:     "2013-03-28T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "extraroute", Name: "Neutron Extra Route",
			Description: "Extra routes configuration for L3 router",
			Updated:     "2013-02-01T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "extraroute-atomic", Name: "Atomically add/remove extra routes",
			Description: "Edit extra routes of a router on server side by atomically adding/removing extra routes",
			Updated:     "2019-07-10T00:00:00+00:00", Requires: []string{"router", "extraroute"}},
		{Alias: "l3-ha", Name: "HA Router extension",
			Description: "Adds HA capability to routers.",
			Updated:     "2014-04-26T00:00:00-00:00", Requires: []string{"router"}},
		{Alias: "dvr", Name: "Distributed Virtual Router",
			Description: "Enables configuration of Distributed Virtual Routers.",
			Updated:     "2014-06-1T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "router_availability_zone", Name: "Router Availability Zone",
			Description: "Availability zone support for router.",
			Updated:     "2015-01-01T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "fip-port-details", Name: "Floating IP Port Details Extension",
			Description: "Add port_details attribute to Floating IP resource",
			Updated:     "2018-04-09T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "floating-ip-port-forwarding", Name: "Floating IP Port Forwarding",
			Description: "Allow port forwarding from floating IP port to an internal port",
			Updated:     "2018-01-19T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "floating-ip-port-forwarding-description", Name: "Floating IP Port Forwarding new attribute description",
			Description: "Add a description field to Port Forwarding rules",
			Updated:     "2019-11-01T10:00:00-00:00", Requires: []string{"floating-ip-port-forwarding"}},
		{Alias: "floating-ip-port-forwarding-port-ranges", Name: "Floating IP Port Forwarding support port ranges",
			Description: "Add support to port ranges",
			Updated:     "2020-07-01T10:00:00-00:00", Requires: []string{"floating-ip-port-forwarding"}},
		{Alias: "expose-port-forwarding-in-fip", Name: "Expose Floating IP port forwardings",
			Description: "Expose port forwarding fields in floating IP response",
			Updated:     "2018-06-28T16:00:00-00:00", Requires: []string{"router", "floating-ip-port-forwarding"}},
		{Alias: "floating-ip-port-forwarding-detail", Name: "Floating IP port forwarding detail",
			Description: "Allow list floating ip return more port forwarding data, include'id' and 'internal_port_id'",
			Updated:     "2022-05-06T10:00:00-00:00"},
		{Alias: "l3-port-ip-change-not-allowed", Name: "Prevent L3 router ports IP address change extension",
			Description: "Prevent change of IP address for some L3 router ports",
			Updated:     "2018-10-09T10:00:00-00:00", Requires: []string{"router"}},
		{Alias: "router-admin-state-down-before-update", Name: "Enforce Router's Admin State Down Before Update Extension",
			Description: "Ensure that the admin state of a router is DOWN (admin_state_up=False) before updating the distributed attribute",
			Updated:     "2019-07-02T15:56:00", Requires: []string{"dvr"}},
		{Alias: "floatingip-pools", Name: "Floating IP Pools Extension",
			Description: "Provides a floating IP pools API.",
			Updated:     "2018-03-21T10:00:00-00:00", Requires: []string{"router"}},
	} {
		registerExtension(e)
	}

	registerResource(Routers, func() *resource.Resource {
		r := resource.NewResource("router", Routers,
			idAttr(),
			nameAttr(),
			tenantIDAttr(),
			&resource.Attr{Name: "admin_state_up", Kind: resource.Bool, AllowPost: true, AllowPut: true,
				Default: true, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "status", Kind: resource.String, Visible: true, Sort: true},
			&resource.Attr{Name: "external_gateway_info", Kind: resource.JSON, Nullable: true, AllowPost: true,
				AllowPut: true, Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Convert: convertGatewayInfo,
				Storage: resource.Virtual},
			// The gateway port and SNAT mode are stored; the API shows them
			// inside external_gateway_info.
			&resource.Attr{Name: "gw_port_id", Kind: resource.String, Nullable: true, Default: resource.NotSpecified},
			&resource.Attr{Name: "enable_snat", Kind: resource.Bool, Default: resource.NotSpecified},
			&resource.Attr{Name: "routes", Kind: resource.JSON, AllowPut: true, Default: resource.NotSpecified,
				Visible: true, Convert: convertRoutes, Extension: "extraroute"},
			&resource.Attr{Name: "distributed", Kind: resource.Bool, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Extension: "dvr"},
			&resource.Attr{Name: "ha", Kind: resource.Bool, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Extension: "l3-ha"},
			&resource.Attr{Name: "availability_zone_hints", Kind: resource.StringList, AllowPost: true,
				Default: []string{}, Visible: true, Validate: azHints, Extension: "router_availability_zone"},
			&resource.Attr{Name: "availability_zones", Kind: resource.StringList, Visible: true,
				Default: []string{}, Storage: resource.Virtual, Extension: "router_availability_zone"},
		)
		r.Standard = true
		r.Extension = "router"
		r.Actions = []string{"add_router_interface", "remove_router_interface", "add_extraroutes", "remove_extraroutes"}
		return r
	})

	registerResource(FloatingIPs, func() *resource.Resource {
		nullableIP := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, Nullable: true, AllowPost: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Convert: convertIPOrNone(name)}
		}
		addr := nullableIP("floating_ip_address")
		addr.EnforcePolicy = true
		fixed := nullableIP("fixed_ip_address")
		fixed.AllowPut = true
		r := resource.NewResource("floatingip", FloatingIPs,
			idAttr(),
			addr,
			&resource.Attr{Name: "subnet_id", Kind: resource.String, Nullable: true, AllowPost: true,
				Default: resource.NotSpecified, Validate: resource.UUID, Storage: resource.Virtual},
			&resource.Attr{Name: "floating_network_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, Validate: resource.UUID},
			&resource.Attr{Name: "router_id", Kind: resource.String, Nullable: true, Visible: true, Filter: true,
				Sort: true},
			&resource.Attr{Name: "port_id", Kind: resource.String, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, RequiredByPolicy: true, Validate: resource.UUID},
			fixed,
			tenantIDAttr(),
			&resource.Attr{Name: "status", Kind: resource.String, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "floating_port_id", Kind: resource.String},
			// last_known_router_id is not shown: update_floatingip_statuses
			// reads it (the router before the last association change).
			&resource.Attr{Name: "last_known_router_id", Kind: resource.String, Nullable: true},
			&resource.Attr{Name: "port_details", Kind: resource.JSON, Nullable: true, Visible: true,
				Default: nil, Storage: resource.Virtual, Extension: "fip-port-details"},
			&resource.Attr{Name: "port_forwardings", Kind: resource.JSON, Visible: true,
				Default: []any{}, Storage: resource.Virtual, Extension: "expose-port-forwarding-in-fip"},
		)
		r.Standard = true
		r.Extension = "router"
		return r
	})

	registerResource(PortForwardings, func() *resource.Resource {
		port := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.Int, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Validate: portNumber, Storage: resource.Virtual}
		}
		portRange := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Convert: convertPortRange(name), Storage: resource.Virtual,
				Extension: "floating-ip-port-forwarding-port-ranges"}
		}
		bound := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.Int, Default: resource.NotSpecified}
		}
		r := resource.NewResource("port_forwarding", PortForwardings,
			idAttr(),
			&resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize)},
			// The API fills tenant_id along with project_id; neither shows.
			&resource.Attr{Name: "tenant_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize), Storage: resource.Virtual},
			&resource.Attr{Name: "floatingip_id", Kind: resource.String},
			port("external_port"),
			port("internal_port"),
			&resource.Attr{Name: "internal_ip_address", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Convert: convertIPOrNone("internal_ip_address")},
			&resource.Attr{Name: "protocol", Kind: resource.String, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Filter: true, Sort: true, Convert: convertProtocol},
			&resource.Attr{Name: "internal_port_id", Kind: resource.String, AllowPost: true, AllowPut: true,
				Required: true, Visible: true, Filter: true, Sort: true, Validate: resource.UUID},
			&resource.Attr{Name: "description", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: "", Visible: true, Filter: true, Validate: resource.MaxLen(DescriptionFieldSize),
				Extension: "floating-ip-port-forwarding-description"},
			portRange("external_port_range"),
			portRange("internal_port_range"),
			bound("external_port_start"), bound("external_port_end"),
			bound("internal_port_start"), bound("internal_port_end"),
		)
		r.Parent = FloatingIPs
		r.ParentKey = "floatingip_id"
		r.Extension = "floating-ip-port-forwarding"
		return r
	})

	registerResource(FloatingIPPools, func() *resource.Resource {
		// Pools are computed from external networks' subnets, never stored.
		r := resource.NewResource("floatingip_pool", FloatingIPPools,
			&resource.Attr{Name: "subnet_id", Kind: resource.String, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "subnet_name", Kind: resource.String, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "network_id", Kind: resource.String, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "cidr", Kind: resource.String, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "project_id", Kind: resource.String, Visible: true, RequiredByPolicy: true,
				Storage: resource.Virtual},
		)
		// Neutron builds the path from the collection with dashes.
		r.Path = "floatingip-pools"
		r.ReadOnly = true
		r.Extension = "floatingip-pools"
		return r
	})
}

// Optional attributes whose Neutron default is None default to
// NotSpecified here: the policy engine treats a value equal to the
// default as not set, and the plugins read an absent value as null.

// convertGatewayInfo is external_gateway_info's type:dict_or_nodata with
// its key specs: network_id (required, a UUID), enable_snat (a boolean)
// and external_fixed_ips (type:fixed_ips). An empty dict is "no data":
// it clears the gateway, as null does.
func convertGatewayInfo(v any) (any, error) {
	invalid := func(reason string) error {
		return &resource.ValidationError{Attr: "external_gateway_info", Reason: reason}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid(fmt.Sprintf("'%s' is not a dictionary", resource.PyStr(v)))
	}
	if len(m) == 0 {
		return map[string]any{}, nil
	}
	if _, has := m["network_id"]; !has {
		provided := make([]string, 0, len(m))
		for k := range m {
			provided = append(provided, k)
		}
		return nil, invalid(fmt.Sprintf("Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: %s", pySet(provided)))
	}
	var unexpected []string
	for k := range m {
		switch k {
		case "network_id", "enable_snat", "external_fixed_ips", "qos_policy_id":
		default:
			unexpected = append(unexpected, k)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return nil, invalid("Unexpected keys supplied: " + strings.Join(unexpected, ", "))
	}
	out := map[string]any{}
	if err := resource.UUID(m["network_id"]); err != nil {
		return nil, invalid(err.Error())
	}
	out["network_id"] = m["network_id"]
	if s, has := m["enable_snat"]; has {
		b, err := resource.ToBool(s)
		if err != nil {
			return nil, err
		}
		out["enable_snat"] = b
	}
	if q, has := m["qos_policy_id"]; has {
		// qos-gateway-ip's key; the L3 plugin refuses it when that
		// extension is not served.
		if q != nil {
			if err := resource.UUID(q); err != nil {
				return nil, invalid(err.Error())
			}
		}
		out["qos_policy_id"] = q
	}
	if ips, has := m["external_fixed_ips"]; has {
		conv, err := convertPortFixedIPs(ips)
		if err != nil {
			var ve *resource.ValidationError
			if errors.As(err, &ve) {
				return nil, invalid(ve.Reason)
			}
			return nil, err
		}
		out["external_fixed_ips"] = conv
	}
	return out, nil
}

// convertRoutes is routes' convert_none_to_empty_list then
// type:hostroutes.
func convertRoutes(v any) (any, error) {
	out, err := convertHostRoutes(v)
	var ve *resource.ValidationError
	if errors.As(err, &ve) {
		return nil, &resource.ValidationError{Attr: "routes", Reason: ve.Reason}
	}
	return out, err
}

// convertIPOrNone is type:ip_address_or_none: the address canonicalised.
func convertIPOrNone(attr string) func(v any) (any, error) {
	return func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		a, reason := portIPReason(v)
		if reason != "" {
			return nil, &resource.ValidationError{Attr: attr, Reason: reason}
		}
		return a.String(), nil
	}
}

// portNumber is type:range (1, 65535), or range_or_none with the port
// ranges extension.
func portNumber(v any) error {
	n, _ := v.(int)
	if n < 1 {
		return fmt.Errorf("'%d' is too small - must be at least '1'", n)
	}
	if n > 65535 {
		return fmt.Errorf("'%d' is too large - must be no larger than '65535'", n)
	}
	return nil
}

// convertPortRange is type:port_range (1, 65535): "N" or "N:M" with
// N <= M, both in range; an integer is taken as "N".
func convertPortRange(attr string) func(v any) (any, error) {
	return func(v any) (any, error) {
		s := resource.PyStr(v)
		parts := strings.Split(s, ":")
		bad := &resource.ValidationError{Attr: attr, Reason: fmt.Sprintf("Port range %s is invalid", s)}
		if len(parts) > 2 {
			return nil, bad
		}
		var nums []int
		for _, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return nil, bad
			}
			nums = append(nums, n)
		}
		if len(nums) == 2 && nums[0] > nums[1] {
			return nil, bad
		}
		return s, nil
	}
}

// PFProtocols are the protocols a port forwarding may use.
var PFProtocols = []string{"tcp", "udp", "udplite", "sctp"}

// convertProtocol is convert_to_protocol followed by type:values.
func convertProtocol(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, &resource.ValidationError{Attr: "protocol",
			Reason: fmt.Sprintf("%s is not in valid_values", resource.PyStr(v))}
	}
	s = strings.ToLower(s)
	for _, p := range PFProtocols {
		if p == s {
			return s, nil
		}
	}
	return nil, &resource.ValidationError{Attr: "protocol", Reason: fmt.Sprintf("%s is not in valid_values", s)}
}
