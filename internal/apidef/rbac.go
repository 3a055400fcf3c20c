package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// RBACPolicies is the collection of role-based access policies.
const RBACPolicies = "rbac_policies"

func init() {
	registerExtension(&Extension{Alias: "rbac-policies", Name: "RBAC Policies",
		Description: "Allows creation and modification of policies that control project access to resources.",
		Updated:     "2015-06-17T12:15:12-00:00"})
	registerExtension(&Extension{Alias: "rbac-address-scope", Name: "Add address_scope type to RBAC",
		Description: "Add address_scope type to RBAC",
		Updated:     "2020-02-12T00:00:00-00:00", Requires: []string{"rbac-policies", "address-scope"}})
	registerExtension(&Extension{Alias: "rbac-subnetpool", Name: "Add subnetpool type to RBAC",
		Description: "Add subnetpool type to RBAC",
		Updated:     "2020-02-05T00:00:00-00:00", Requires: []string{"rbac-policies", "rbac-address-scope"}})
	registerResource(RBACPolicies, func() *resource.Resource {
		// Neutron 21's target_tenant: any project id string; the
		// target_project alias came later.
		tenant := &resource.Attr{Name: "target_tenant", Kind: resource.String, AllowPost: true, AllowPut: true,
			Required: true, Visible: true, Filter: true, EnforcePolicy: true,
			Validate: resource.MaxLen(ProjectIDFieldSize)}
		r := resource.NewResource("rbac_policy", RBACPolicies,
			idAttr(),
			&resource.Attr{Name: "object_type", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, EnforcePolicy: true},
			&resource.Attr{Name: "object_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, EnforcePolicy: true, Validate: resource.UUID},
			tenant,
			tenantIDAttr(),
			&resource.Attr{Name: "action", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, EnforcePolicy: true, Validate: resource.MaxLen(DescriptionFieldSize)},
			projectIDAttr(),
		)
		r.Path = "rbac-policies"
		r.Extension = "rbac-policies"
		return r
	})
}
