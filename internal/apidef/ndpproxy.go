package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// NDPProxies is the collection of IPv6 NDP proxies (neutron-lib's
// l3_ndp_proxy definition): a router answers neighbour solicitations on
// its external network for an internal port's IPv6 address.
const NDPProxies = "ndp_proxies"

func init() {
	registerExtension(&Extension{Alias: "l3-ndp-proxy", Name: "L3 NDP Proxy",
		Description: "Router support for L3 NDP proxy.",
		Updated:     "2021-06-29T10:00:00-00:00", Requires: []string{"router"}})
	registerExtension(&Extension{Alias: "l3-ext-ndp-proxy", Name: "Router support to enable NDP proxy",
		Description: "Router extension to enable ndp proxy",
		Updated:     "2020-08-25T00:00:00-00:00", Requires: []string{"router", "ext-gw-mode"}})

	registerResource(NDPProxies, func() *resource.Resource {
		uuid := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, Validate: resource.UUID}
		}
		r := resource.NewResource("ndp_proxy", NDPProxies,
			idAttr(),
			nameAttr(),
			tenantIDAttr(),
			uuid("router_id"),
			uuid("port_id"),
			&resource.Attr{Name: "ip_address", Kind: resource.String, Nullable: true, AllowPost: true, Default: nil,
				Visible: true, Filter: true, Sort: true, Convert: convertIPOrNone("ip_address")},
			// The definition's own description: the long one, filterable
			// but not a sort key.
			&resource.Attr{Name: "description", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
				Visible: true, Filter: true, Validate: resource.MaxLen(LongDescriptionFieldSize)},
		)
		r.Standard = true
		r.Extension = "l3-ndp-proxy"
		return r
	})

	extend(func(coll string, r *resource.Resource) {
		if coll != Routers {
			return
		}
		// convert_to_boolean_if_not_none with ATTR_NOT_SPECIFIED as the
		// default: the plugin decides an absent value.
		r.Add(&resource.Attr{Name: "enable_ndp_proxy", Kind: resource.Bool, Nullable: true, AllowPost: true,
			AllowPut: true, Default: resource.NotSpecified, Visible: true, Filter: true, Extension: "l3-ext-ndp-proxy"})
	})
}
