package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// Collection names of the flavors extension (neutron-lib's flavors
// definition): flavors, service profiles, and a flavor's profiles as a
// sub-resource (/flavors/{id}/service_profiles, whose members are
// service profile ids; its collection name differs from the top-level
// service_profiles only here, its path is Neutron's).
const (
	Flavors               = "flavors"
	ServiceProfiles       = "service_profiles"
	FlavorServiceProfiles = "flavor_service_profiles"
)

func init() {
	registerExtension(&Extension{Alias: "flavors", Name: "Neutron Service Flavors",
		Description: "Flavor specification for Neutron advanced services.",
		Updated:     "2015-09-17T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "l3-flavors", Name: "Router Flavor Extension",
		Description: "Flavor support for routers.",
		Updated:     "2016-05-17T00:00:00-00:00", Requires: []string{"flavors", "router"}})

	description := func() *resource.Attr {
		return &resource.Attr{Name: "description", Kind: resource.String, Nullable: true, AllowPost: true,
			AllowPut: true, Default: "", Visible: true, Filter: true, Sort: true,
			Validate: resource.MaxLen(LongDescriptionFieldSize)}
	}
	enabled := func() *resource.Attr {
		return &resource.Attr{Name: "enabled", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: true,
			Visible: true, Filter: true, Sort: true}
	}
	registerResource(Flavors, func() *resource.Resource {
		r := resource.NewResource("flavor", Flavors,
			idAttr(),
			nameAttr(),
			description(),
			// type:service_plugin_type needs the loaded plugins: the
			// flavors plugin checks it.
			&resource.Attr{Name: "service_type", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true},
			// Accepted and ignored on create and update, as Neutron's
			// flavor object has no such field; the profiles are bound
			// through the sub-resource.
			&resource.Attr{Name: "service_profiles", Kind: resource.StringList, AllowPost: true, AllowPut: true,
				Default: []string{}, Visible: true, Validate: uuidList, Storage: resource.Related},
			enabled(),
		)
		r.Extension = "flavors"
		return r
	})
	registerResource(ServiceProfiles, func() *resource.Resource {
		r := resource.NewResource("service_profile", ServiceProfiles,
			idAttr(),
			description(),
			&resource.Attr{Name: "driver", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
				Visible: true, Filter: true, Sort: true, Validate: resource.MaxLen(LongDescriptionFieldSize)},
			&resource.Attr{Name: "metainfo", Kind: resource.String, Nullable: true, AllowPost: true, AllowPut: true,
				Default: "", Visible: true, Sort: true},
			enabled(),
		)
		r.Extension = "flavors"
		return r
	})
	registerResource(FlavorServiceProfiles, func() *resource.Resource {
		r := resource.NewResource("service_profile", FlavorServiceProfiles,
			// Bindings are stored by the flavors plugin; these
			// attributes are their API view.
			&resource.Attr{Name: "id", Kind: resource.String, AllowPost: true, Required: true, Visible: true,
				Validate: resource.UUID, Storage: resource.Virtual},
			&resource.Attr{Name: "flavor_id", Kind: resource.String, Storage: resource.Virtual},
		)
		r.Path = "service_profiles"
		r.Parent = Flavors
		r.ParentKey = "flavor_id"
		r.Extension = "flavors"
		return r
	})

	extend(func(coll string, r *resource.Resource) {
		if coll != Routers {
			return
		}
		r.Add(&resource.Attr{Name: "flavor_id", Kind: resource.String, Nullable: true, AllowPost: true,
			Default: resource.NotSpecified, Visible: true, Sort: true, EnforcePolicy: true, Extension: "l3-flavors"})
	})
}
