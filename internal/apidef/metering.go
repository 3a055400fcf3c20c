package apidef

import (
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Collection names of the metering resources (neutron-lib's metering and
// metering_source_and_destination_filters definitions). Neutron serves
// them under the metering plugin's path prefix, /metering.
const (
	MeteringLabels     = "metering_labels"
	MeteringLabelRules = "metering_label_rules"
)

// Metering: labels (shared or per project) and their rules, counted by
// the metering agents on the routers' external devices.
func init() {
	registerExtension(&Extension{Alias: "metering", Name: "Neutron Metering",
		Description: "Neutron Metering extension.",
		Updated:     "2013-06-12T10:00:00-00:00"})
	registerExtension(&Extension{Alias: "metering_source_and_destination_fields",
		Name:        "Neutron Metering with source and destination filtering",
		Description: "Neutron Metering extension that enables the use of source and destination IP prefixes to create metering label rules.",
		Updated:     "2020-08-21T08:12:00-00:00", Requires: []string{"metering"}})

	projectID := func() *resource.Attr {
		return &resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, Visible: true,
			Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.MaxLen(ProjectIDFieldSize),
			Extension: "project-id"}
	}

	registerResource(MeteringLabels, func() *resource.Resource {
		name := nameAttr()
		name.AllowPut = false
		r := resource.NewResource("metering_label", MeteringLabels,
			idAttr(),
			name,
			&resource.Attr{Name: "description", Kind: resource.String, AllowPost: true, Default: "",
				Visible: true, Filter: true, Sort: true, Validate: resource.MaxLen(LongDescriptionFieldSize)},
			tenantIDAttr(),
			&resource.Attr{Name: "shared", Kind: resource.Bool, AllowPost: true, Default: false,
				Visible: true, Filter: true, Sort: true},
			projectID(),
		)
		r.Path = "metering/metering-labels"
		r.Extension = "metering"
		return r
	})

	registerResource(MeteringLabelRules, func() *resource.Resource {
		// With metering_source_and_destination_fields (which the metering
		// plugin always serves) remote_ip_prefix loses its type:subnet
		// validator: the plugin checks every prefix as an IP interface.
		prefix := func(name, ext string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, Nullable: true, AllowPost: true,
				Default: nil, Visible: true, Filter: true, Sort: true, Convert: convertPrefixOrNone(name),
				Extension: ext}
		}
		// Neutron shows no owner on rules; the owner is kept for policy.
		tenant := tenantIDAttr()
		tenant.Visible, tenant.Filter, tenant.Sort = false, false, false
		owner := projectID()
		owner.Visible, owner.Filter, owner.Sort = false, false, false
		r := resource.NewResource("metering_label_rule", MeteringLabelRules,
			idAttr(),
			&resource.Attr{Name: "metering_label_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.UUID},
			&resource.Attr{Name: "direction", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, Validate: validValues("ingress", "egress")},
			&resource.Attr{Name: "excluded", Kind: resource.Bool, AllowPost: true, Default: false,
				Visible: true, Filter: true, Sort: true},
			prefix("remote_ip_prefix", ""),
			prefix("source_ip_prefix", "metering_source_and_destination_fields"),
			prefix("destination_ip_prefix", "metering_source_and_destination_fields"),
			tenant,
			owner,
		)
		r.Path = "metering/metering-label-rules"
		r.Extension = "metering"
		return r
	})
}

// convertPrefixOrNone takes a prefix as given: null, or a string the
// plugin checks (Neutron keeps what the caller wrote, 10.0.0.1/24
// included).
func convertPrefixOrNone(attr string) func(v any) (any, error) {
	return func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, &resource.ValidationError{Attr: attr, Reason: "'" + resource.PyStr(v) + "' is not a valid string"}
		}
		return s, nil
	}
}
