package apidef

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// RBACPolicies is the collection of role-based access policies.
const RBACPolicies = "rbac_policies"

func init() {
	registerExtension(&Extension{Alias: "rbac-policies", Name: "RBAC Policies",
		Description: "Allows creation and modification of policies that control project access to resources.",
		Updated:     "2015-06-17T12:15:12-00:00"})
	registerResource(RBACPolicies, func() *resource.Resource {
		target := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: resource.NotSpecified, Visible: true, Filter: true, EnforcePolicy: true,
				Validate: validTargetProject, Storage: resource.Virtual}
		}
		tenant := target("target_tenant")
		tenant.Storage = resource.Column
		r := resource.NewResource("rbac_policy", RBACPolicies,
			idAttr(),
			&resource.Attr{Name: "object_type", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, EnforcePolicy: true},
			&resource.Attr{Name: "object_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, EnforcePolicy: true, Validate: resource.UUID},
			tenant,
			target("target_project"),
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

// validTargetProject accepts '*' or a UUID-like project id, as Neutron's
// type:valid_target_project does.
func validTargetProject(v any) error {
	s, _ := v.(string)
	if s == "*" || resource.IsUUID(s) {
		return nil
	}
	return fmt.Errorf("'%s' is not a valid target project ID; expected a UUID or '*'", resource.PyStr(v))
}
