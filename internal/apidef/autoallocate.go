package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// AutoAllocatedTopologies is the auto-allocated-topology extension's
// collection, addressed by project: GET
// /v2.0/auto-allocated-topology/{project_id} builds (or returns) the
// project's network, DELETE removes it. Nothing of it is stored as a
// resource row.
const AutoAllocatedTopologies = "auto_allocated_topologies"

func init() {
	registerResource(AutoAllocatedTopologies, func() *resource.Resource {
		id, tenant, project := idAttr(), tenantIDAttr(), projectIDAttr()
		id.Storage, project.Storage = resource.Virtual, resource.Virtual
		id.Validate = nil // "dry-run=pass" answers a dry run
		project.AllowPost, tenant.AllowPost = false, false
		r := resource.NewResource("auto_allocated_topology", AutoAllocatedTopologies, id, tenant, project)
		r.Path = "auto-allocated-topology"
		r.Extension = "auto-allocated-topology"
		return r
	})
}
