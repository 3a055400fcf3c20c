package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// ServiceProviders is the service-type extension's collection: the
// drivers configured for advanced services ([service_providers]
// service_provider), read-only.
const ServiceProviders = "service_providers"

func init() {
	registerResource(ServiceProviders, func() *resource.Resource {
		r := resource.NewResource("service_provider", ServiceProviders,
			&resource.Attr{Name: "service_type", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "name", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "default", Kind: resource.Bool, Visible: true, Filter: true, Storage: resource.Virtual},
		)
		r.Path = "service-providers"
		r.ReadOnly = true
		r.Extension = "service-type"
		return r
	})
	registerExtension(&Extension{Alias: "service-type", Name: "Neutron Service Type Management",
		Description: "API for retrieving service providers for Neutron advanced services",
		Updated:     "2013-01-20T00:00:00-00:00"})
}
