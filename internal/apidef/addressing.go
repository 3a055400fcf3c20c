package apidef

import (
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Collection names of the addressing resources.
const (
	Subnets        = "subnets"
	SubnetPools    = "subnetpools"
	AddressScopes  = "address_scopes"
	Ports          = "ports"
	IPAvailability = "network_ip_availabilities"
)

// IPv6 address modes, as neutron-lib's constants.IPV6_MODES.
var ipv6Modes = []string{"dhcpv6-stateful", "dhcpv6-stateless", "slaac"}

func nullableUUID(name string) *resource.Attr {
	return &resource.Attr{Name: name, Kind: resource.String, Nullable: true, AllowPost: true,
		Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Validate: resource.UUID}
}

func init() {
	registerResource(Subnets, func() *resource.Resource {
		r := resource.NewResource("subnet", Subnets,
			idAttr(),
			nameAttr(),
			tenantIDAttr(),
			&resource.Attr{Name: "network_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.UUID},
			&resource.Attr{Name: "ip_version", Kind: resource.Int, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, Validate: ipVersion},
			nullableUUID("subnetpool_id"),
			&resource.Attr{Name: "prefixlen", Kind: resource.Int, AllowPost: true, Default: resource.NotSpecified,
				Validate: resource.NonNegative, Storage: resource.Virtual},
			&resource.Attr{Name: "cidr", Kind: resource.String, Nullable: true, AllowPost: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Convert: convertSubnetCIDR},
			&resource.Attr{Name: "gateway_ip", Kind: resource.String, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Convert: convertGatewayIP},
			&resource.Attr{Name: "allocation_pools", Kind: resource.JSON, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Convert: convertAllocationPools},
			&resource.Attr{Name: "dns_nameservers", Kind: resource.StringList, AllowPost: true, AllowPut: true,
				Default: []string{}, Visible: true, Convert: convertDNSNameservers},
			&resource.Attr{Name: "host_routes", Kind: resource.JSON, AllowPost: true, AllowPut: true,
				Default: []any{}, Visible: true, Convert: convertHostRoutes},
			&resource.Attr{Name: "enable_dhcp", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: true,
				Visible: true, Filter: true, Sort: true},
			// The modes default to NotSpecified so the plugin can refuse an
			// explicit null as Neutron's validator does ("None is not in
			// valid_values"); it stores null when they are absent.
			&resource.Attr{Name: "ipv6_ra_mode", Kind: resource.String, Nullable: true, AllowPost: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Validate: validValues(ipv6Modes...)},
			&resource.Attr{Name: "ipv6_address_mode", Kind: resource.String, Nullable: true, AllowPost: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Validate: validValues(ipv6Modes...)},
			// shared is not shown on subnets, but filters them by their
			// network's sharing with the caller, as in Neutron.
			&resource.Attr{Name: "shared", Kind: resource.Bool, Filter: true, Storage: resource.Virtual},
		)
		r.AllowBulk = true
		r.Standard = true
		return r
	})

	registerResource(SubnetPools, func() *resource.Resource {
		intOpt := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.Int, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, Validate: resource.NonNegative}
		}
		// default_quota refuses null as convert_to_int does; the plugin
		// tells a null given apart from an absent value (NotSpecified).
		quota := intOpt("default_quota")
		quota.Nullable = true
		// A subnet pool's name is required and may not be blank
		// (type:not_empty_name_string, no default).
		name := nameAttr()
		name.Required, name.Default = true, nil
		name.Validate = resource.All(notBlank, resource.NameString(NameFieldSize))
		r := resource.NewResource("subnetpool", SubnetPools,
			idAttr(),
			name,
			tenantIDAttr(),
			&resource.Attr{Name: "prefixes", Kind: resource.StringList, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Convert: convertPrefixList},
			intOpt("default_prefixlen"),
			intOpt("min_prefixlen"),
			intOpt("max_prefixlen"),
			&resource.Attr{Name: "shared", Kind: resource.Bool, AllowPost: true, Default: false, Visible: true,
				Filter: true, Sort: true, RequiredByPolicy: true, EnforcePolicy: true},
			quota,
			&resource.Attr{Name: "ip_version", Kind: resource.Int, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "is_default", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: false,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, EnforcePolicy: true},
		)
		r.AllowBulk = true
		r.Standard = true
		r.Actions = []string{"add_prefixes", "remove_prefixes", "onboard_network_subnets"}
		r.Extension = "subnet_allocation"
		return r
	})

	registerResource(AddressScopes, func() *resource.Resource {
		r := resource.NewResource("address_scope", AddressScopes,
			idAttr(),
			nameAttr(),
			tenantIDAttr(),
			&resource.Attr{Name: "shared", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: false,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, EnforcePolicy: true},
			&resource.Attr{Name: "ip_version", Kind: resource.Int, AllowPost: true, Required: true, Visible: true,
				Filter: true, Sort: true, Validate: ipVersion},
			projectIDAttr(),
		)
		r.Path = "address-scopes"
		r.Extension = "address-scope"
		r.AllowBulk = true
		return r
	})

	registerResource(Ports, func() *resource.Resource {
		r := resource.NewResource("port", Ports,
			idAttr(),
			nameAttr(),
			&resource.Attr{Name: "network_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.UUID},
			&resource.Attr{Name: "admin_state_up", Kind: resource.Bool, AllowPost: true, AllowPut: true,
				Default: true, Visible: true, Filter: true, Sort: true},
			// Null asks for a new random MAC (port-mac-address-regenerate,
			// which ML2 always serves).
			&resource.Attr{Name: "mac_address", Kind: resource.String, Nullable: true, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, EnforcePolicy: true,
				Convert: convertPortMAC},
			&resource.Attr{Name: "fixed_ips", Kind: resource.JSON, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, EnforcePolicy: true,
				Convert: convertPortFixedIPs, Storage: resource.Related,
				SubFilters: []string{"ip_address", "subnet_id", "ip_address_substr"}},
			&resource.Attr{Name: "device_id", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
				Visible: true, Filter: true, Sort: true, EnforcePolicy: true, Validate: resource.MaxLen(255)},
			&resource.Attr{Name: "device_owner", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
				Visible: true, Filter: true, Sort: true, EnforcePolicy: true, Validate: resource.MaxLen(255)},
			tenantIDAttr(),
			&resource.Attr{Name: "status", Kind: resource.String, Visible: true, Filter: true, Sort: true},
		)
		r.AllowBulk = true
		r.Standard = true
		return r
	})

	registerResource(IPAvailability, func() *resource.Resource {
		r := resource.NewResource("network_ip_availability", IPAvailability,
			&resource.Attr{Name: "network_id", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "network_name", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "tenant_id", Kind: resource.String, Visible: true, Filter: true, RequiredByPolicy: true,
				Storage: resource.Virtual},
			&resource.Attr{Name: "project_id", Kind: resource.String, Visible: true, Filter: true, RequiredByPolicy: true,
				Storage: resource.Virtual},
			&resource.Attr{Name: "total_ips", Kind: resource.Int, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "used_ips", Kind: resource.Int, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "subnet_ip_availability", Kind: resource.JSON, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "ip_version", Kind: resource.Int, Filter: true, Storage: resource.Virtual},
		)
		r.Path = "network-ip-availabilities"
		r.ReadOnly = true
		r.Extension = "network-ip-availability"
		return r
	})

	for _, e := range []*Extension{
		{Alias: "network-ip-availability", Name: "Network IP Availability",
			Description: "Provides IP availability data for each network and subnet.",
			Updated:     "2015-09-24T00:00:00-00:00"},
		{Alias: "subnet_allocation", Name: "Subnet Allocation",
			Description: "Enables allocation of subnets from a subnet pool", Updated: "2015-03-30T10:00:00-00:00"},
		{Alias: "subnetpool-prefix-ops", Name: "Subnet Pool Prefix Operations",
			Description: "Provides support for adjusting the prefix list of subnet pools",
			Updated:     "2019-02-08T10:00:00-00:00", Requires: []string{"subnet_allocation"}},
		{Alias: "subnet_onboard", Name: "Subnet Onboard",
			Description: "Provides support for onboarding subnets into subnet pools",
			Updated:     "2018-12-18T09:00:00-00:00", Requires: []string{"subnet_allocation"}},
		{Alias: "default-subnetpools", Name: "Default Subnetpools",
			Description: "Provides ability to mark and use a subnetpool as the default.",
			Updated:     "2016-02-18T18:00:00-00:00", Requires: []string{"subnet_allocation"}},
		{Alias: "address-scope", Name: "Address scope",
			Description: "Address scopes extension.", Updated: "2015-07-26T10:00:00-00:00",
			Requires: []string{"subnet_allocation"}},
		{Alias: "allowed-address-pairs", Name: "Allowed Address Pairs",
			Description: "Provides allowed address pairs", Updated: "2013-07-23T10:00:00-00:00"},
		{Alias: "extra_dhcp_opt", Name: "Neutron Extra DHCP options",
			Description: "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)",
			Updated:     "2013-03-17T12:00:00-00:00"},
		{Alias: "binding", Name: "Port Binding",
			Description: "Expose port bindings of a virtual port to external application",
			Updated:     "2014-02-03T10:00:00-00:00"},
		{Alias: "subnet-service-types", Name: "Subnet service types",
			Description: "Provides ability to set the subnet service_types field",
			Updated:     "2016-03-03T00:00:00-00:00"},
		{Alias: "ip-substring-filtering", Name: "IP address substring filtering",
			Description: "Provides IP address substring filtering when listing ports",
			Updated:     "2017-11-28T09:00:00-00:00"},
		{Alias: "ip_allocation", Name: "IP Allocation",
			Description: "IP allocation extension.", Updated: "2016-06-10T23:00:00-07:00"},
	} {
		registerExtension(e)
	}

	extend(func(coll string, r *resource.Resource) {
		switch coll {
		case Subnets:
			r.Add(&resource.Attr{Name: "use_default_subnetpool", Kind: resource.Bool, AllowPost: true,
				Default: false, Storage: resource.Virtual, Extension: "default-subnetpools"})
			r.Add(&resource.Attr{Name: "service_types", Kind: resource.StringList, AllowPost: true, AllowPut: true,
				Default: []string{}, Visible: true, Extension: "subnet-service-types",
				Convert: convertServiceTypes})
			r.Add(&resource.Attr{Name: "segment_id", Kind: resource.String, Nullable: true, AllowPost: true,
				AllowPut: true, Default: nil, Visible: true, Filter: true, Sort: true, Validate: resource.UUID,
				Extension: "segment", PutExtension: "subnet-segmentid-writable"})
		case SubnetPools:
			r.Add(&resource.Attr{Name: "address_scope_id", Kind: resource.String, Nullable: true, AllowPost: true,
				AllowPut: true, Default: nil, Visible: true, Filter: true, Sort: true, Validate: resource.UUID,
				Extension: "address-scope"})
		case Ports:
			// allowed_address_pairs, binding:host_id and binding:profile
			// default to NotSpecified, as in neutron-lib, so that giving
			// their empty value explicitly is still subject to policy; the
			// plugin fills them in.
			r.Add(&resource.Attr{Name: "allowed_address_pairs", Kind: resource.JSON, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Convert: convertPortAddressPairs,
				Extension: "allowed-address-pairs"})
			r.Add(&resource.Attr{Name: "extra_dhcp_opts", Kind: resource.JSON, AllowPost: true, AllowPut: true,
				Default: []any{}, Visible: true, Convert: convertPortDHCPOpts, Extension: "extra_dhcp_opt"})
			r.Add(&resource.Attr{Name: "port_security_enabled", Kind: resource.Bool, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Extension: "port-security"})
			r.Add(&resource.Attr{Name: "binding:host_id", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, EnforcePolicy: true, Validate: resource.MaxLen(255),
				Extension: "binding"})
			r.Add(&resource.Attr{Name: "binding:vnic_type", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: "normal", Visible: true, Filter: true, EnforcePolicy: true, Extension: "binding",
				Validate: validValues("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder",
					"smart-nic", "vdpa", "remote-managed")})
			r.Add(&resource.Attr{Name: "binding:profile", Kind: resource.JSON, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Convert: convertBindingProfile,
				Extension: "binding"})
			r.Add(&resource.Attr{Name: "binding:vif_type", Kind: resource.String, Visible: true, EnforcePolicy: true,
				Extension: "binding"})
			r.Add(&resource.Attr{Name: "binding:vif_details", Kind: resource.JSON, Visible: true, EnforcePolicy: true,
				Extension: "binding"})
			r.Add(&resource.Attr{Name: "ip_allocation", Kind: resource.String, Visible: true,
				Extension: "ip_allocation"})
		case Networks:
			r.Add(&resource.Attr{Name: "ipv4_address_scope", Kind: resource.String, Nullable: true, Visible: true,
				Storage: resource.Virtual, Extension: "address-scope"})
			r.Add(&resource.Attr{Name: "ipv6_address_scope", Kind: resource.String, Nullable: true, Visible: true,
				Storage: resource.Virtual, Extension: "address-scope"})
		}
	})
}

// projectIDAttr is project_id for resources without the standard
// attributes (which add it themselves).
func projectIDAttr() *resource.Attr {
	return &resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, Visible: true,
		Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.MaxLen(ProjectIDFieldSize),
		Extension: "project-id"}
}
