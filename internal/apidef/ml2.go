package apidef

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Segments is the collection of network segments (the segment extension).
const Segments = "segments"

// NetworkSegmentRows is the hidden network attribute holding its segment
// rows as the store loads them.
const NetworkSegmentRows = "segment_rows"

// Provider and segment extensions (neutron-lib's provider_net,
// multiprovidernet and segment definitions).
func init() {
	registerExtension(&Extension{Alias: "provider", Name: "Provider Network",
		Description: "Expose mapping of virtual networks to physical networks",
		Updated:     "2012-09-07T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "multi-provider", Name: "Multi Provider Network",
		Description: "Expose mapping of virtual networks to multiple physical networks",
		Updated:     "2013-06-27T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "segment", Name: "Segment",
		Description: "Segments extension.",
		Updated:     "2016-02-24T17:00:00-00:00", Requires: []string{"standard-attr-description"}})

	extend(func(coll string, r *resource.Resource) {
		if coll != Networks {
			return
		}
		// The plugin reads these on create and fills them from the
		// network's segments on read.
		r.Add(&resource.Attr{Name: "provider:network_type", Kind: resource.String, Nullable: true, AllowPost: true,
			AllowPut: true, Default: resource.NotSpecified, Visible: true, Filter: true, EnforcePolicy: true,
			Validate: resource.MaxLen(32), Storage: resource.Virtual, Extension: "provider"})
		r.Add(&resource.Attr{Name: "provider:physical_network", Kind: resource.String, Nullable: true, AllowPost: true,
			AllowPut: true, Default: resource.NotSpecified, Visible: true, Filter: true, EnforcePolicy: true,
			Validate: resource.MaxLen(64), Storage: resource.Virtual, Extension: "provider"})
		r.Add(&resource.Attr{Name: "provider:segmentation_id", Kind: resource.Int, Nullable: true, AllowPost: true,
			AllowPut: true, Default: resource.NotSpecified, Visible: true, Filter: true, EnforcePolicy: true,
			Storage: resource.Virtual, Extension: "provider"})
		// The network's segment rows, loaded with the network in one
		// query; never shown, the plugin turns them into the attributes
		// above.
		r.Add(&resource.Attr{Name: NetworkSegmentRows, Kind: resource.JSON, Storage: resource.Related, Extension: "provider"})
		r.Add(&resource.Attr{Name: "segments", Kind: resource.JSON, AllowPost: true, AllowPut: true,
			Default: resource.NotSpecified, Visible: true, EnforcePolicy: true, Convert: convertSegments,
			Storage: resource.Virtual, Extension: "multi-provider"})
	})

	registerResource(Segments, func() *resource.Resource {
		tenant := tenantIDAttr()
		tenant.Visible = false
		r := resource.NewResource("segment", Segments,
			idAttr(),
			tenant,
			&resource.Attr{Name: "network_id", Kind: resource.String, AllowPost: true, Required: true, Visible: true,
				Filter: true, Sort: true, Validate: resource.UUID},
			&resource.Attr{Name: "name", Kind: resource.String, Nullable: true, AllowPost: true, AllowPut: true,
				Default: nil, Visible: true, Filter: true, Sort: true, Validate: resource.NameString(NameFieldSize)},
			&resource.Attr{Name: "physical_network", Kind: resource.String, Nullable: true, AllowPost: true,
				Default: nil, Visible: true, Filter: true, Sort: true, Validate: resource.MaxLen(64)},
			&resource.Attr{Name: "network_type", Kind: resource.String, AllowPost: true, Required: true, Visible: true,
				Filter: true, Sort: true, Validate: resource.MaxLen(32)},
			&resource.Attr{Name: "segmentation_id", Kind: resource.Int, Nullable: true, AllowPost: true,
				Default: nil, Visible: true, Sort: true},
			&resource.Attr{Name: "segment_index", Kind: resource.Int, Storage: resource.Column},
			&resource.Attr{Name: "is_dynamic", Kind: resource.Bool, Storage: resource.Column},
		)
		r.Extension = "segment"
		r.Standard = true
		return r
	})
}

// convertSegments checks a multi-provider segments list: a list of
// objects whose keys are the provider attributes, with a numeric
// segmentation id (neutron-lib's convert_and_validate_segments).
func convertSegments(v any) (any, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, &resource.ValidationError{Attr: "segments", Reason: fmt.Sprintf("'%s' is not a list", resource.PyStr(v))}
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, &resource.ValidationError{Attr: "segments", Reason: fmt.Sprintf("'%s' is not a dictionary", resource.PyStr(it))}
		}
		seg := map[string]any{}
		for k, val := range m {
			switch k {
			case "provider:network_type", "provider:physical_network":
				if val == nil {
					continue
				}
				s, ok := val.(string)
				if !ok {
					return nil, &resource.ValidationError{Attr: "segments", Reason: fmt.Sprintf("'%s' is not a valid string", resource.PyStr(val))}
				}
				seg[k] = s
			case "provider:segmentation_id":
				if val == nil {
					continue
				}
				n, err := resource.ToInt(val)
				if err != nil {
					return nil, err
				}
				seg[k] = n
			default:
				return nil, &resource.ValidationError{Attr: "segments", Reason: fmt.Sprintf("Unrecognized attribute(s) '%s'", k)}
			}
		}
		out = append(out, seg)
	}
	return out, nil
}
