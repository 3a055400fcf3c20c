package apidef

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Field sizes from neutron-lib's db constants.
const (
	NameFieldSize        = 255
	DescriptionFieldSize = 255
	ProjectIDFieldSize   = 255
)

// Networks is the collection name of the core network resource.
const Networks = "networks"

func init() {
	registerResource(Networks, func() *resource.Resource {
		r := resource.NewResource("network", Networks,
			idAttr(),
			nameAttr(),
			tenantIDAttr(),
			&resource.Attr{Name: "admin_state_up", Kind: resource.Bool, AllowPost: true, AllowPut: true,
				Default: true, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "status", Kind: resource.String, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "subnets", Kind: resource.StringList, Visible: true, Default: []string{},
				Storage: resource.Related},
			&resource.Attr{Name: "shared", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: false,
				Visible: true, Filter: true, EnforcePolicy: true, RequiredByPolicy: true},
		)
		r.AllowBulk = true
		r.Standard = true
		return r
	})
}

func idAttr() *resource.Attr {
	return &resource.Attr{Name: "id", Kind: resource.String, Visible: true, Filter: true, Sort: true,
		Validate: resource.UUID}
}

func nameAttr() *resource.Attr {
	return &resource.Attr{Name: "name", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
		Visible: true, Filter: true, Sort: true, Validate: resource.NameString(NameFieldSize)}
}

// tenantIDAttr is the legacy owner attribute; the store keeps project_id
// and the API mirrors it into tenant_id.
func tenantIDAttr() *resource.Attr {
	return &resource.Attr{Name: "tenant_id", Kind: resource.String, AllowPost: true, Visible: true,
		Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.MaxLen(ProjectIDFieldSize),
		Storage: resource.Virtual}
}

// addTrailingStandardAttrs appends the standard attributes every standard
// resource shows last, in Neutron's order.
func addTrailingStandardAttrs(r *resource.Resource) {
	if !r.Standard {
		return
	}
	// A definition may declare its own description (local IPs' is
	// longer); the standard one is added otherwise.
	if r.Attr("description") == nil {
		// Neutron's description column is nullable: what a plugin
		// creates without one (a security group's own rules) shows null.
		r.Add(&resource.Attr{Name: "description", Kind: resource.String, AllowPost: true, AllowPut: true,
			Default: "", Visible: true, Filter: true, Validate: resource.MaxLen(DescriptionFieldSize),
			StoredNull: r.Collection == SecurityGroupRules, Extension: "standard-attr-description"})
	}
	// Ports alone take tags on create (tag-ports-during-bulk-creation);
	// other resources are tagged through /tags.
	if !untagged[r.Collection] {
		r.Add(&resource.Attr{Name: "tags", Kind: resource.StringList, Visible: true, Default: []string{},
			AllowPost: r.Collection == Ports, Validate: uniqueTags,
			Storage: resource.Related, Extension: "standard-attr-tag"})
	}
	r.Add(&resource.Attr{Name: "created_at", Kind: resource.Time, Visible: true, Filter: true, Sort: true,
		Extension: "standard-attr-timestamp"})
	r.Add(&resource.Attr{Name: "updated_at", Kind: resource.Time, Visible: true, Filter: true, Sort: true,
		Extension: "standard-attr-timestamp"})
	r.Add(&resource.Attr{Name: "revision_number", Kind: resource.Int, Visible: true, Filter: true, Sort: true,
		Extension: "standard-attr-revisions"})
	r.Add(&resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, Visible: true,
		Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.MaxLen(ProjectIDFieldSize),
		Extension: "project-id"})
}

// untagged are standard resources Neutron does not tag (its models
// without tag support).
var untagged = map[string]bool{SecurityGroupRules: true, "segments": true}

// uniqueTags is neutron-lib's list_of_unique_strings validator with the
// tag length limit.
func uniqueTags(v any) error {
	tags, _ := v.([]string)
	seen := make(map[string]bool, len(tags))
	var dups []string
	for _, t := range tags {
		if seen[t] {
			dups = append(dups, t)
		}
		seen[t] = true
	}
	if dups != nil {
		return fmt.Errorf("Duplicate items in the list: '%s'", strings.Join(dups, ", "))
	}
	for _, t := range tags {
		if utf8.RuneCountInString(t) > MaxTagLen {
			return fmt.Errorf("'%s' exceeds maximum length of %d", t, MaxTagLen)
		}
	}
	return nil
}

// MaxTagLen is Neutron's limit on one tag's length.
const MaxTagLen = 255
