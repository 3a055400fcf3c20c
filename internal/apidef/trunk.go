package apidef

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Trunks is the collection of trunks (neutron-lib's trunk definition).
const Trunks = "trunks"

// Trunk extensions: trunks with their sub-ports, and trunk_details on
// the trunks' parent ports (neutron-lib's trunk and trunk_details
// definitions).
func init() {
	registerExtension(&Extension{Alias: "trunk", Name: "Trunk Extension",
		Description: "Provides support for trunk ports",
		Updated:     "2016-01-01T10:00:00-00:00", Requires: []string{"binding"}})
	registerExtension(&Extension{Alias: "trunk-details", Name: "Trunk port details",
		Description: "Expose trunk port details",
		Updated:     "2016-01-01T10:00:00-00:00", Requires: []string{"trunk"}})

	registerResource(Trunks, func() *resource.Resource {
		r := resource.NewResource("trunk", Trunks,
			&resource.Attr{Name: "admin_state_up", Kind: resource.Bool, AllowPost: true, AllowPut: true,
				Default: true, Visible: true, Filter: true, Sort: true},
			idAttr(),
			nameAttr(),
			tenantIDAttr(),
			&resource.Attr{Name: "port_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.UUID},
			&resource.Attr{Name: "status", Kind: resource.String, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "sub_ports", Kind: resource.JSON, AllowPost: true, Default: []any{},
				Visible: true, EnforcePolicy: true, Convert: ConvertSubPorts, Storage: resource.Virtual},
		)
		r.Standard = true
		r.Extension = "trunk"
		r.Actions = []string{"add_subports", "remove_subports"}
		r.GetActions = []string{"get_subports"}
		return r
	})

	extend(func(coll string, r *resource.Resource) {
		if coll != Ports {
			return
		}
		r.Add(&resource.Attr{Name: "trunk_details", Kind: resource.JSON, Visible: true,
			Default: resource.NotSpecified, EnforcePolicy: true, Storage: resource.Virtual, Extension: "trunk-details"})
	})
}

// ConvertSubPorts checks a list of sub-ports as neutron-lib's
// type:subports validator does: a list of objects, each with a unique
// port UUID and, unless it inherits them from its network, both
// segmentation details, no segmentation given twice. The plugin checks
// the rest (types, ranges, the ports themselves).
func ConvertSubPorts(v any) (any, error) {
	if err := validateSubPorts(v); err != nil {
		return nil, &resource.ValidationError{Attr: "sub_ports", Reason: err.Error()}
	}
	return v, nil
}

// ValidateSubPorts is the check of ConvertSubPorts, for the bodies of
// add_subports and remove_subports, which the API layer does not screen;
// its error is the validator's message.
func ValidateSubPorts(v any) error { return validateSubPorts(v) }

func validateSubPorts(v any) error {
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("Invalid data format for subports: '%s' is not a list", resource.PyStr(v))
	}
	ids := map[string]bool{}
	seen := map[string]map[string]bool{}
	for _, it := range list {
		sp, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("Invalid data format for subport: '%s' is not a dict", resource.PyStr(it))
		}
		raw, ok := sp["port_id"]
		if !ok {
			return fmt.Errorf("A valid port UUID must be specified")
		}
		id, _ := raw.(string)
		if !resource.IsUUID(id) {
			return fmt.Errorf("Invalid UUID for subport: '%s'", resource.PyStr(raw))
		}
		if ids[id] {
			return fmt.Errorf("Non unique UUID for subport: '%s'", id)
		}
		ids[id] = true
		segType, _ := sp["segmentation_type"].(string)
		if segType == "inherit" {
			// neutron-lib stops checking the list here.
			return nil
		}
		segID, hasID := sp["segmentation_id"]
		if hasID && segID == nil {
			hasID = false
		}
		if (segType == "" || !hasID) && len(sp) > 1 {
			return fmt.Errorf("Invalid subport details '%s': missing segmentation information. Must specify both segmentation_id and segmentation_type",
				resource.PyStr(sp))
		}
		if !hasID {
			continue
		}
		key := fmt.Sprint(segID)
		if seen[segType][key] {
			return fmt.Errorf("Segmentation ID '%s' for '%s' is not unique", resource.PyStr(segID), id)
		}
		if seen[segType] == nil {
			seen[segType] = map[string]bool{}
		}
		seen[segType][key] = true
	}
	return nil
}
