package apidef

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Security groups and their rules (neutron/extensions/securitygroup.py),
// with the extensions that add to them: stateful-security-group,
// security-groups-shared-filtering, security-groups-normalized-cidr,
// security-groups-rules-belongs-to-default-sg, and the security_groups
// attribute of ports.

// Collections of the security group resources.
const (
	SecurityGroups     = "security_groups"
	SecurityGroupRules = "security_group_rules"
)

func init() {
	for _, e := range []*Extension{
		{Alias: "security-group", Name: "security-group", Description: "The security groups extension.",
			Updated: "2012-10-05T10:00:00-00:00", Requires: []string{"standard-attr-description"}},
		{Alias: "stateful-security-group", Name: "Stateful security group",
			Description: "Indicates if the security group is stateful or not",
			Updated:     "2019-11-26T09:00:00-00:00", Requires: []string{"security-group"}},
		{Alias: "rbac-security-groups", Name: "Add security_group type to network RBAC",
			Description: "Add security_group type to network RBAC",
			Updated:     "2019-02-14T00:00:00-00:00", Requires: []string{"rbac-policies", "security-group"}},
		{Alias: "security-groups-shared-filtering", Name: "Security group filtering on the shared field",
			Description: "Support filtering security groups on the shared field",
			Updated:     "2021-10-05T09:00:00-00:00", Requires: []string{"rbac-security-groups"}},
		{Alias: "security-groups-normalized-cidr", Name: "Normalized CIDR field for security group rules",
			Description: "Add new field with normalized remote_ip_prefix cidr in SG rule",
			Updated:     "2020-07-28T10:00:00-00:00", Requires: []string{"security-group"}},
		{Alias: "security-groups-rules-belongs-to-default-sg",
			Name:        "Security group rule belongs to the project's default security group",
			Description: "Flag to determine if the security group rule belongs to the project's default security group",
			Updated:     "2023-05-23T10:00:00-00:00", Requires: []string{"security-group"}},
	} {
		registerExtension(e)
	}

	registerResource(SecurityGroups, func() *resource.Resource {
		r := resource.NewResource("security_group", SecurityGroups,
			idAttr(),
			&resource.Attr{Name: "name", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "",
				Visible: true, Filter: true, Sort: true, Validate: resource.MaxLen(NameFieldSize)},
			&resource.Attr{Name: "stateful", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: true,
				Visible: true, Filter: true, Extension: "stateful-security-group"},
			tenantIDAttr(),
			// shared is stored for the wildcard RBAC policy (what lists
			// filter on); the plugin shows it true also for groups an
			// RBAC policy shares with the caller's project alone.
			&resource.Attr{Name: "shared", Kind: resource.Bool, Visible: true, Filter: true, Default: false,
				RequiredByPolicy: true, EnforcePolicy: true, Extension: "security-groups-shared-filtering"},
			&resource.Attr{Name: "security_group_rules", Kind: resource.JSON, Visible: true, Default: []any{},
				Storage: resource.Virtual},
		)
		r.Path = "security-groups"
		r.AllowBulk = true
		r.Standard = true
		r.Extension = "security-group"
		return r
	})

	registerResource(SecurityGroupRules, func() *resource.Resource {
		nullable := func(name string, kind resource.Kind, conv func(any) (any, error)) *resource.Attr {
			return &resource.Attr{Name: name, Kind: kind, Nullable: true, AllowPost: true, Default: nil,
				Visible: true, Filter: true, Sort: true, Convert: conv}
		}
		r := resource.NewResource("security_group_rule", SecurityGroupRules,
			idAttr(),
			&resource.Attr{Name: "security_group_id", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, RequiredByPolicy: true, Validate: resource.MaxLen(36)},
			nullable("remote_group_id", resource.String, nil),
			&resource.Attr{Name: "direction", Kind: resource.String, AllowPost: true, Required: true,
				Visible: true, Filter: true, Sort: true, Validate: validValues("ingress", "egress")},
			nullable("protocol", resource.String, convertSGProtocol),
			nullable("port_range_min", resource.Int, convertSGPort),
			nullable("port_range_max", resource.Int, convertSGPort),
			&resource.Attr{Name: "ethertype", Kind: resource.String, AllowPost: true, Default: "IPv4",
				Visible: true, Filter: true, Sort: true, Convert: convertEthertype},
			nullable("remote_ip_prefix", resource.String, convertIPPrefix),
			tenantIDAttr(),
			&resource.Attr{Name: "normalized_cidr", Kind: resource.String, Nullable: true, Visible: true,
				Filter: true, Sort: true, Extension: "security-groups-normalized-cidr"},
			&resource.Attr{Name: "belongs_to_default_sg", Kind: resource.Bool, Visible: true, Filter: true,
				Extension: "security-groups-rules-belongs-to-default-sg"},
		)
		r.Path = "security-group-rules"
		r.AllowBulk = true
		r.Standard = true
		r.Extension = "security-group"
		return r
	})

	extend(func(coll string, r *resource.Resource) {
		if coll != Ports {
			return
		}
		r.Add(&resource.Attr{Name: "security_groups", Kind: resource.StringList, AllowPost: true, AllowPut: true,
			Default: resource.NotSpecified, Visible: true, Filter: true, Convert: convertNoneToEmptyList,
			Validate: uuidList, Storage: resource.Related, Extension: "security-group"})
	})
}

// sgProtocols are the protocol names a rule accepts, in neutron-lib's
// order (SG_RULE_PROTO_ANY, then IP_PROTOCOL_MAP); their repr is part of
// SecurityGroupRuleInvalidProtocol's message.
var sgProtocols = []string{"any", "ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "igmp", "ip", "ipip",
	"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm",
	"rsvp", "sctp", "tcp", "udp", "udplite", "vrrp"}

// ProtocolNumbers maps the protocol names rules accept to their numbers
// (neutron-lib's IP_PROTOCOL_MAP).
var ProtocolNumbers = map[string]int{"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0,
	"icmp": 1, "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
	"ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132,
	"tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112}

func invalidProtocol(v any) error {
	parts := []string{"None"}
	for _, p := range sgProtocols {
		parts = append(parts, "'"+p+"'")
	}
	return fault.New(400, "SecurityGroupRuleInvalidProtocol",
		"Security group rule protocol %s not supported. Only protocol values (%s) and integer representations [0 to 255] are supported.",
		resource.PyStr(v), strings.Join(parts, ", "))
}

// convertSGProtocol is convert_protocol: "any" means no protocol; a
// number 0-255 keeps its spelling; a name is lower-cased.
func convertSGProtocol(v any) (any, error) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		return nil, invalidProtocol(v)
	}
	if s == "any" {
		return nil, nil
	}
	if n, ok := pyInt(s); ok {
		if n >= 0 && n <= 255 {
			return s, nil
		}
		return nil, invalidProtocol(v)
	}
	for _, p := range sgProtocols {
		if strings.ToLower(s) == p {
			return p, nil
		}
	}
	return nil, invalidProtocol(v)
}

// pyInt parses like Python's int() on a string or a JSON number.
func pyInt(s string) (int, bool) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && strings.ContainsAny(s, ".eE") {
		return int(f), true
	}
	return 0, false
}

// convertSGPort is convert_validate_port_value: a port number 0-65535.
func convertSGPort(v any) (any, error) {
	var n int
	ok := false
	switch t := v.(type) {
	case json.Number:
		n, ok = pyInt(t.String())
	case string:
		n, ok = pyInt(t)
		if ok && strings.ContainsAny(t, ".eE") {
			ok = false // int("1.5") fails in Python
		}
	case int:
		n, ok = t, true
	case bool:
		n, ok = 0, true
		if t {
			n = 1
		}
	}
	if !ok || n < 0 || n > 65535 {
		return nil, fault.New(400, "SecurityGroupInvalidPortValue", "Invalid value for port %s", resource.PyStr(v))
	}
	return n, nil
}

// convertEthertype is convert_ethertype_to_case_insensitive.
func convertEthertype(v any) (any, error) {
	if s, ok := v.(string); ok {
		for _, e := range []string{"IPv4", "IPv6"} {
			if strings.EqualFold(s, e) {
				return e, nil
			}
		}
	}
	return nil, fault.New(400, "SecurityGroupRuleInvalidEtherType",
		"Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6'].", resource.PyStr(v))
}

// convertIPPrefix is convert_ip_prefix_to_cidr: an address or CIDR kept as
// given (an address gains its host prefix length), or null when empty.
func convertIPPrefix(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fault.New(400, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", resource.PyStr(v))
	}
	if s == "" {
		return nil, nil
	}
	p, err := ParseIPPrefix(s)
	if err != nil {
		return nil, fault.New(400, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", s)
	}
	return p.String(), nil
}

// ParseIPPrefix reads an address with or without a prefix length, keeping
// the host bits as netaddr.IPNetwork does (an IPv4-mapped IPv6 address
// stays IPv6).
func ParseIPPrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("address %s has a zone", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// convertNoneToEmptyList is convert_none_to_empty_list for a list of
// strings.
func convertNoneToEmptyList(v any) (any, error) {
	if v == nil {
		return []string{}, nil
	}
	return resource.ToStringList("security_groups", v)
}

// uuidList is type:uuid_list.
func uuidList(v any) error {
	items, _ := v.([]string)
	for _, s := range items {
		if err := resource.UUID(s); err != nil {
			return err
		}
	}
	return resource.UniqueStrings(0)(v)
}
