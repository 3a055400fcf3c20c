package apidef

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// AddressGroups is the collection of address groups (neutron-lib's
// address_group).
const AddressGroups = "address_groups"

func init() {
	for _, e := range []*Extension{
		{Alias: "address-group", Name: "Address group", Description: "Support address group",
			Updated: "2020-07-15T10:00:00-00:00", Requires: []string{"security-group"}},
		{Alias: "rbac-address-group", Name: "Add address_group type to RBAC",
			Description: "Add address_group type to network RBAC",
			Updated:     "2021-01-20T00:00:00-00:00", Requires: []string{"rbac-policies", "security-group"}},
		{Alias: "security-groups-remote-address-group", Name: "Remote address group id field for security group rules",
			Description: "Add new field of remote address group id in SG rules",
			Updated:     "2020-08-25T10:00:00-00:00", Requires: []string{"security-group"}},
	} {
		registerExtension(e)
	}
	untagged[AddressGroups] = true

	registerResource(AddressGroups, func() *resource.Resource {
		r := resource.NewResource("address_group", AddressGroups,
			idAttr(),
			nameAttr(),
			&resource.Attr{Name: "description", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: "", Visible: true, Filter: true, Sort: true, Validate: resource.MaxLen(LongDescriptionFieldSize)},
			tenantIDAttr(),
			// addresses are normalized CIDRs (type:subnet_list); the
			// plugin keeps them sorted and without duplicates.
			&resource.Attr{Name: "addresses", Kind: resource.StringList, AllowPost: true, Default: resource.NotSpecified,
				Visible: true, Convert: convertAddressList},
			// shared is not shown (is_visible False) but policy reads it:
			// true when an RBAC policy shares the group with the caller.
			&resource.Attr{Name: "shared", Kind: resource.Bool, Default: false, RequiredByPolicy: true},
		)
		r.Path = "address-groups"
		r.AllowBulk = true
		r.Standard = true
		r.Actions = []string{"add_addresses", "remove_addresses"}
		r.Extension = "address-group"
		return r
	})

	extend(func(coll string, r *resource.Resource) {
		if coll != SecurityGroupRules {
			return
		}
		r.Add(&resource.Attr{Name: "remote_address_group_id", Kind: resource.String, Nullable: true, AllowPost: true,
			Default: nil, Visible: true, Filter: true, Sort: true, Extension: "security-groups-remote-address-group"})
	})
}

// convertAddressList is type:subnet_list on an address group's addresses
// (None is an empty list): a list without duplicates, each a CIDR as
// validate_subnet accepts it (an address alone is refused, its /32 or
// /128 recommended).
func convertAddressList(v any) (any, error) {
	if v == nil {
		return []string{}, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &resource.ValidationError{Attr: "addresses", Reason: fmt.Sprintf("'%s' is not a list", resource.PyStr(v))}
	}
	strs := make([]string, len(items))
	seen := map[string]bool{}
	var dups []string
	for i, it := range items {
		strs[i] = resource.PyStr(it)
		if seen[strs[i]] && !slices.Contains(dups, strs[i]) {
			dups = append(dups, strs[i])
		}
		seen[strs[i]] = true
	}
	if len(dups) > 0 {
		return nil, &resource.ValidationError{Attr: "addresses", Reason: "Duplicate items in the list: '" + strings.Join(dups, ", ") + "'"}
	}
	for i, s := range strs {
		reason := fmt.Sprintf("'%s' is not a valid IP subnet", s)
		if _, isStr := items[i].(string); isStr {
			if strings.Contains(s, "/") {
				_, reason = pairSubnetReason(s)
			} else if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
				reason = fmt.Sprintf("'%s' isn't a recognized IP subnet cidr, '%s' is recommended", s, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		if reason != "" {
			return nil, &resource.ValidationError{Attr: "addresses", Reason: reason}
		}
	}
	return strs, nil
}
