package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// Collection names of the local_ip extension (neutron-lib's local_ip
// definition): node-local virtual IPs and their port associations.
const (
	LocalIPs                = "local_ips"
	LocalIPPortAssociations = "port_associations"
)

// LongDescriptionFieldSize is neutron-lib's LONG_DESCRIPTION_FIELD_SIZE.
const LongDescriptionFieldSize = 1024

// LocalIPModes are a local IP's valid ip_mode values.
var LocalIPModes = []string{"translate", "passthrough"}

func init() {
	registerExtension(&Extension{Alias: "local_ip", Name: "Local IP",
		Description: "Support Node Local Virtual IP",
		Updated:     "2021-07-26T10:00:00-00:00"})

	registerResource(LocalIPs, func() *resource.Resource {
		uuidOpt := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, AllowPost: true, Default: resource.NotSpecified,
				Visible: true, Filter: true, Sort: true, Validate: resource.UUID}
		}
		addr := &resource.Attr{Name: "local_ip_address", Kind: resource.String, Nullable: true, AllowPost: true,
			Default: resource.NotSpecified, Visible: true, Filter: true, Sort: true, EnforcePolicy: true,
			Convert: convertIPOrNone("local_ip_address")}
		r := resource.NewResource("local_ip", LocalIPs,
			idAttr(),
			nameAttr(),
			// The definition declares its own description: longer than
			// the standard one, and sortable.
			&resource.Attr{Name: "description", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
				Visible: true, Filter: true, Sort: true, Validate: resource.MaxLen(LongDescriptionFieldSize)},
			tenantIDAttr(),
			uuidOpt("local_port_id"),
			uuidOpt("network_id"),
			addr,
			&resource.Attr{Name: "ip_mode", Kind: resource.String, AllowPost: true, Default: "translate",
				Visible: true, Filter: true, Sort: true, Validate: validValues(LocalIPModes...)},
		)
		r.Standard = true
		r.Extension = "local_ip"
		return r
	})

	registerResource(LocalIPPortAssociations, func() *resource.Resource {
		r := resource.NewResource("port_association", LocalIPPortAssociations,
			// The stored key, "<local_ip_id>_<fixed_port_id>" as Neutron's
			// object makes it; the API addresses an association by its
			// fixed port and does not show it.
			&resource.Attr{Name: "id", Kind: resource.String},
			&resource.Attr{Name: "local_ip_id", Kind: resource.String, Visible: true},
			&resource.Attr{Name: "local_ip_address", Kind: resource.String, Visible: true, Filter: true, Sort: true,
				Storage: resource.Virtual},
			&resource.Attr{Name: "fixed_port_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, Validate: resource.UUID},
			&resource.Attr{Name: "fixed_ip", Kind: resource.String, Nullable: true, AllowPost: true, Default: nil,
				Visible: true, Filter: true, Sort: true, Convert: convertIPOrNone("fixed_ip")},
			&resource.Attr{Name: "host", Kind: resource.String, Visible: true, Filter: true, Sort: true,
				Storage: resource.Virtual},
			&resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize)},
			&resource.Attr{Name: "tenant_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize), Storage: resource.Virtual},
		)
		r.Parent = LocalIPs
		r.ParentKey = "local_ip_id"
		r.Extension = "local_ip"
		return r
	})
}
