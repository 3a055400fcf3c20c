package apidef

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// ConntrackHelpers is the collection of a router's conntrack helpers
// (neutron-lib's l3_conntrack_helper), served under
// /v2.0/routers/{router_id}/conntrack_helpers.
const ConntrackHelpers = "conntrack_helpers"

// CTHelperProtocols are the protocols a conntrack helper may name
// (neutron-lib's IPTABLES_PROTOCOL_MAP keys).
var CTHelperProtocols = []string{"dccp", "icmp", "ipv6-icmp", "sctp", "tcp", "udp"}

func init() {
	registerExtension(&Extension{Alias: "l3-conntrack-helper", Name: "L3 Conntrack helper",
		Description: "Allow adding CT target rules for conntrack helper",
		Updated:     "2019-04-04T10:00:00-00:00", Requires: []string{"router"}})
	registerExtension(&Extension{Alias: "expose-l3-conntrack-helper", Name: "Expose CT target rules for conntrack helper",
		Description: "Expose allow adding CT target rules for conntrack helper",
		Updated:     "2019-04-04T10:00:00-00:00", Requires: []string{"router", "l3-conntrack-helper"}})

	registerResource(ConntrackHelpers, func() *resource.Resource {
		r := resource.NewResource("conntrack_helper", ConntrackHelpers,
			idAttr(),
			&resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize)},
			// The API fills tenant_id along with project_id; neither shows.
			&resource.Attr{Name: "tenant_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize), Storage: resource.Virtual},
			&resource.Attr{Name: "router_id", Kind: resource.String},
			&resource.Attr{Name: "protocol", Kind: resource.String, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Filter: true, Sort: true, Convert: convertCTHelperProtocol},
			&resource.Attr{Name: "port", Kind: resource.Int, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Filter: true, Sort: true, Convert: resource.ToInt, Validate: portNumber},
			&resource.Attr{Name: "helper", Kind: resource.String, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Filter: true, Sort: true, Convert: convertToString, Validate: resource.MaxLen(64)},
		)
		r.Parent = Routers
		r.ParentKey = "router_id"
		r.Extension = "l3-conntrack-helper"
		return r
	})

	extend(func(coll string, r *resource.Resource) {
		if coll != Routers {
			return
		}
		r.Add(&resource.Attr{Name: "conntrack_helpers", Kind: resource.JSON, Visible: true, Default: []any{},
			Storage: resource.Virtual, Extension: "expose-l3-conntrack-helper"})
	})
}

// convertCTHelperProtocol is convert_to_protocol then type:values over
// the iptables protocol names: a name in any case, or its number.
func convertCTHelperProtocol(v any) (any, error) {
	bad := func() error {
		return &resource.ValidationError{Attr: "protocol",
			Reason: fmt.Sprintf("%s is not in valid_values", resource.PyStr(v))}
	}
	var s string
	switch t := v.(type) {
	case string:
		s = strings.ToLower(t)
	case json.Number:
		s = t.String()
	default:
		return nil, bad()
	}
	if n, err := strconv.Atoi(s); err == nil {
		for name, num := range map[string]int{"dccp": 33, "icmp": 1, "ipv6-icmp": 58, "sctp": 132, "tcp": 6, "udp": 17} {
			if num == n {
				return name, nil
			}
		}
		return nil, bad()
	}
	for _, p := range CTHelperProtocols {
		if p == s {
			return s, nil
		}
	}
	return nil, bad()
}

// convertToString is convert_to_string: numbers become their text.
func convertToString(v any) (any, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	}
	return nil, &resource.ValidationError{Attr: "helper", Reason: fmt.Sprintf("'%s' is not a valid string", resource.PyStr(v))}
}
