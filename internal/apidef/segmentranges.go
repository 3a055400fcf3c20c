package apidef

import (
	"fmt"
	"slices"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// NetworkSegmentRanges is the collection of the network-segment-range
// extension.
const NetworkSegmentRanges = "network_segment_ranges"

// SegmentRangeTypes are the network types ranges may be of (neutron-lib's
// NETWORK_SEGMENT_RANGE_TYPES).
var SegmentRangeTypes = []string{"vlan", "vxlan", "gre", "geneve"}

// Segment extensions the segments service plugin adds to segment, and the
// network-segment-range extension (neutron-lib's standard_attr_segment,
// segments_peer_subnet_host_routes, subnet_segmentid_writable and
// network_segment_range definitions).
func init() {
	registerExtension(&Extension{Alias: "standard-attr-segment", Name: "Standard Attribute Segment Extension",
		Description: "Add standard attributes to Segment resource",
		Updated:     "2018-04-09T10:00:00-00:00", Requires: []string{"segment"}})
	registerExtension(&Extension{Alias: "segments-peer-subnet-host-routes", Name: "Segments peer-subnet host routes",
		Description: "Add host routes to subnets on a routed network (segments)",
		Updated:     "2018-06-12T10:00:00-00:00", Requires: []string{"segment"}})
	registerExtension(&Extension{Alias: "subnet-segmentid-writable", Name: "Subnet SegmentID (writable)",
		Description: "Provides a writable segment_id attribute for a subnet resource.",
		Updated:     "2018-03-12T00:00:00-00:00", Requires: []string{"segment"}})
	registerExtension(&Extension{Alias: "network-segment-range", Name: "Neutron Network Segment Range",
		Description: "Provides support for the network segment range management",
		Updated:     "2018-11-29T00:00:00-00:00", Requires: []string{"provider"}})

	registerResource(NetworkSegmentRanges, func() *resource.Resource {
		// tenant_id is accepted as project_id's old name, never shown (the
		// resource has none in Neutron).
		tenant := tenantIDAttr()
		tenant.Visible = false
		r := resource.NewResource("network_segment_range", NetworkSegmentRanges,
			idAttr(),
			nameAttr(),
			tenant,
			// default is SQL's keyword: the row keeps it as is_default and
			// the plugin shows it.
			&resource.Attr{Name: "default", Kind: resource.Bool, Visible: true, Default: false, Storage: resource.Virtual},
			&resource.Attr{Name: "is_default", Kind: resource.Bool, Storage: resource.Column},
			&resource.Attr{Name: "shared", Kind: resource.Bool, AllowPost: true, Default: true, Visible: true},
			&resource.Attr{Name: "network_type", Kind: resource.String, AllowPost: true, Default: resource.NotSpecified,
				Visible: true, Filter: true, Validate: segmentRangeType},
			&resource.Attr{Name: "physical_network", Kind: resource.String, AllowPost: true, Default: resource.NotSpecified,
				Visible: true, Filter: true, Validate: resource.MaxLen(64)},
			&resource.Attr{Name: "minimum", Kind: resource.Int, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Validate: segmentRangeLimit},
			&resource.Attr{Name: "maximum", Kind: resource.Int, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Validate: segmentRangeLimit},
			// Segmentation id → project of the networks using the range.
			&resource.Attr{Name: "used", Kind: resource.JSON, Visible: true, Default: map[string]any{}, Storage: resource.Virtual},
			// The range's free segmentation ids.
			&resource.Attr{Name: "available", Kind: resource.JSON, Visible: true, Default: []any{}, Storage: resource.Virtual},
		)
		// Neutron's path has dashes; the collection (openstacksdk's path)
		// is served too.
		r.Path = "network-segment-ranges"
		r.Extension = "network-segment-range"
		r.Standard = true
		return r
	})
}

// segmentRangeType is neutron-lib's validate_values over the range types.
func segmentRangeType(v any) error {
	s, _ := v.(string)
	if slices.Contains(SegmentRangeTypes, s) {
		return nil
	}
	return fmt.Errorf("'%s' is not in ['vlan', 'vxlan', 'gre', 'geneve']", resource.PyStr(v))
}

// segmentRangeLimit is the range validator of minimum and maximum:
// neutron-lib's GRE id bounds, the widest of the range types'.
func segmentRangeLimit(v any) error {
	n, _ := v.(int)
	if n < 1 || n > 1<<32-1 {
		return fmt.Errorf("'%d' is not in range %d through %d", n, 1, 1<<32-1)
	}
	return nil
}
