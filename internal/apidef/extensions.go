package apidef

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Extensions that only signal API behaviour (no attributes of their own).
func init() {
	for _, e := range []*Extension{
		{Alias: "project-id", Name: "project_id field enabled",
			Description: "Extension that indicates that project_id field is enabled.",
			Updated:     "2016-09-09T09:09:09-09:09"},
		{Alias: "pagination", Name: "Pagination support",
			Description: "Extension that indicates that pagination is enabled.",
			Updated:     "2016-06-12T00:00:00-00:00"},
		{Alias: "sorting", Name: "Sorting support",
			Description: "Extension that indicates that sorting is enabled.",
			Updated:     "2016-06-12T00:00:00-00:00"},
		{Alias: "filter-validation", Name: "Filter parameters validation",
			Description: "Provides validation on filter parameters.",
			Updated:     "2018-07-04T10:00:00-00:00"},
		{Alias: "empty-string-filtering", Name: "Empty String Filtering Extension",
			Description: "Allow filtering by attributes with empty string value",
			Updated:     "2018-05-01T10:00:00-00:00"},
		{Alias: "revision-if-match", Name: "If-Match constraints based on revision_number",
			Description: "Extension indicating that If-Match based on revision_number is supported.",
			Updated:     "2016-12-11T00:00:00-00:00", Requires: []string{"standard-attr-revisions"}},
		{Alias: "quotas", Name: "Quota management support",
			Description: "Expose functions for quotas management per project",
			Updated:     "2012-07-29T10:00:00-00:00"},
		{Alias: "quota_details", Name: "Quota details management support",
			Description: "Expose functions for quotas usage statistics per project",
			Updated:     "2017-02-10T10:00:00-00:00", Requires: []string{"quotas"}},
		{Alias: "quota-check-limit", Name: "Quota engine limit check",
			Description: "Support for checking the resource usage before applying a new quota limit",
			Updated:     "2021-09-08T16:00:00-00:00"},
		{Alias: "standard-attr-description", Name: "standard-attr-description",
			Description: "Extension to add descriptions to standard attributes",
			Updated:     "2016-02-10T10:00:00-00:00"},
		{Alias: "standard-attr-timestamp", Name: "Resource timestamps",
			Description: "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.",
			Updated:     "2016-09-12T10:00:00-00:00"},
		{Alias: "standard-attr-revisions", Name: "Resource revision numbers",
			Description: "This extension will display the revision number of neutron resources.",
			Updated:     "2016-04-11T10:00:00-00:00"},
		{Alias: "standard-attr-tag", Name: "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip",
			Description: "Enables to set tag on resources with standard attribute.",
			Updated:     "2017-01-01T00:00:00-00:00"},
		// tag and tag-ext are the names standard-attr-tag had before
		// Stein; Tempest still looks for "tag".
		{Alias: "tag", Name: "Tag support",
			Description: "Enables to set tag on resources.",
			Updated:     "2016-01-01T00:00:00-00:00"},
		{Alias: "tag-ext", Name: "Tag support for resources: subnet, subnetpool, port, router",
			Description: "Extends tag support to more L2 and L3 resources.",
			Updated:     "2017-01-01T00:00:00-00:00"},
		{Alias: "tag-creation", Name: "Tag creation extension",
			Description: "Allow to create multiple tags for a resource",
			Updated:     "2024-23-07T10:00:00-00:00"},
		{Alias: "tag-ports-during-bulk-creation", Name: "Tag Ports During Bulk Creation",
			Description: "Allow to tag ports during bulk creation",
			Updated:     "2019-12-29T19:00:00-00:00"},
	} {
		registerExtension(e)
	}
}

// Network extensions: each adds attributes to networks.
func init() {
	registerExtension(&Extension{Alias: "net-mtu", Name: "Network MTU",
		Description: "Provides MTU attribute for a network resource.",
		Updated:     "2015-03-25T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "net-mtu-writable", Name: "Network MTU (writable)",
		Description: "Provides a writable MTU attribute for a network resource.",
		Updated:     "2017-07-12T00:00:00-00:00", Requires: []string{"net-mtu"}})
	registerExtension(&Extension{Alias: "external-net", Name: "Neutron external network",
		Description: "Adds external network attribute to network resource.",
		Updated:     "2013-01-14T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "port-security", Name: "Port Security",
		Description: "Provides port security",
		Updated:     "2012-07-23T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "network_availability_zone", Name: "Network Availability Zone",
		Description: "Availability zone support for network.",
		Updated:     "2015-01-01T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "l2_adjacency", Name: "L2 Adjacency",
		Description: "Display L2 Adjacency for Neutron Networks.",
		Updated:     "2016-04-12T16:00:00-00:00"})
	registerExtension(&Extension{Alias: "auto-allocated-topology", Name: "Auto Allocated Topology Services",
		Description: "Auto Allocated Topology Services.",
		Updated:     "2016-01-01T00:00:00-00:00", Requires: []string{"router", "subnet_allocation", "external-net"}})

	extend(func(coll string, r *resource.Resource) {
		if coll != Networks {
			return
		}
		// net-mtu shows the MTU; net-mtu-writable lets it be set.
		r.Add(&resource.Attr{Name: "mtu", Kind: resource.Int, AllowPost: true, AllowPut: true, Default: 0,
			Visible: true, Filter: true, Sort: true, EnforcePolicy: true, Validate: resource.NonNegative,
			Extension: "net-mtu", WriteExtension: "net-mtu-writable"})
		r.Add(&resource.Attr{Name: "availability_zone_hints", Kind: resource.StringList, AllowPost: true,
			Default: []string{}, Visible: true, Sort: true, Validate: azHints,
			Extension: "network_availability_zone"})
		r.Add(&resource.Attr{Name: "availability_zones", Kind: resource.StringList, Visible: true,
			Default: []string{}, Storage: resource.Virtual, Extension: "network_availability_zone"})
		r.Add(&resource.Attr{Name: "router:external", Kind: resource.Bool, AllowPost: true, AllowPut: true,
			Default: false, Visible: true, Filter: true, EnforcePolicy: true, RequiredByPolicy: true,
			Extension: "external-net"})
		r.Add(&resource.Attr{Name: "port_security_enabled", Kind: resource.Bool, AllowPost: true, AllowPut: true,
			Default: true, Visible: true, EnforcePolicy: true, Extension: "port-security"})
		r.Add(&resource.Attr{Name: "is_default", Kind: resource.Bool, AllowPost: true, AllowPut: true,
			Default: false, Visible: true, Filter: true, EnforcePolicy: true, RequiredByPolicy: true,
			OmitUnset: true, Extension: "auto-allocated-topology"})
		r.Add(&resource.Attr{Name: "l2_adjacency", Kind: resource.Bool, Visible: true, Default: true,
			Storage: resource.Virtual, Extension: "l2_adjacency"})
	})
}

// azHints validates availability_zone_hints as neutron-lib does: unique
// strings whose comma-joined form fits the database column.
func azHints(v any) error {
	if err := resource.UniqueStrings(0)(v); err != nil {
		return err
	}
	n := 0
	for _, s := range v.([]string) {
		n += len(s) + 1
	}
	if n-1 > 255 {
		return errors.New("Too many availability_zone_hints specified")
	}
	return nil
}
