package apidef

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Collection names of the QoS resources (neutron-lib's qos, qos_pps_rule,
// qos_pps_minimum_rule, qos_rules_alias and qos_pps_minimum_rule_alias
// definitions). Policies and rule types live under the /qos prefix; rules
// are sub-resources of a policy, and the alias collections reach a rule by
// its id alone.
const (
	QoSPolicies              = "policies"
	QoSRuleTypes             = "rule_types"
	QoSBandwidthLimitRules   = "bandwidth_limit_rules"
	QoSDSCPMarkingRules      = "dscp_marking_rules"
	QoSMinimumBandwidthRules = "minimum_bandwidth_rules"
	QoSPacketRateLimitRules  = "packet_rate_limit_rules"
	QoSMinimumPacketRates    = "minimum_packet_rate_rules"
)

// QoS rule types, as neutron-lib's qos constants name them.
const (
	QoSRuleBandwidthLimit    = "bandwidth_limit"
	QoSRuleDSCPMarking       = "dscp_marking"
	QoSRuleMinimumBandwidth  = "minimum_bandwidth"
	QoSRulePacketRateLimit   = "packet_rate_limit"
	QoSRuleMinimumPacketRate = "minimum_packet_rate"
)

// QoSRuleType describes one rule type: its collection under a policy, the
// alias collection that reaches its rules by id (empty when none), and
// its parameters in the order Neutron shows them.
type QoSRuleType struct {
	Type       string
	Collection string
	Alias      string
	// Extension is the alias that serves the rule type.
	Extension string
	// AliasExtension is the alias that serves the alias collection.
	AliasExtension string
	Params         []string
}

// QoSRuleKinds lists every rule type Neutron knows.
var QoSRuleKinds = []QoSRuleType{
	{QoSRuleBandwidthLimit, QoSBandwidthLimitRules, "alias_bandwidth_limit_rules", "qos", "qos-rules-alias",
		[]string{"max_kbps", "max_burst_kbps", "direction"}},
	{QoSRuleDSCPMarking, QoSDSCPMarkingRules, "alias_dscp_marking_rules", "qos", "qos-rules-alias",
		[]string{"dscp_mark"}},
	{QoSRuleMinimumBandwidth, QoSMinimumBandwidthRules, "alias_minimum_bandwidth_rules", "qos", "qos-rules-alias",
		[]string{"min_kbps", "direction"}},
	{QoSRulePacketRateLimit, QoSPacketRateLimitRules, "", "qos-pps", "",
		[]string{"max_kpps", "max_burst_kpps", "direction"}},
	{QoSRuleMinimumPacketRate, QoSMinimumPacketRates, "alias_minimum_packet_rate_rules", "qos-pps-minimum",
		"qos-pps-minimum-rule-alias", []string{"min_kpps", "direction"}},
}

// LookupQoSRuleType returns the rule type named t, or nil.
func LookupQoSRuleType(t string) *QoSRuleType {
	for i := range QoSRuleKinds {
		if QoSRuleKinds[i].Type == t {
			return &QoSRuleKinds[i]
		}
	}
	return nil
}

// DBIntegerMax is neutron-lib's DB_INTEGER_MAX_VALUE, the upper bound of
// rates and bursts.
const DBIntegerMax = 2147483647

// ValidDSCPMarks are neutron-lib's VALID_DSCP_MARKS.
var ValidDSCPMarks = []int{0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 44, 46, 48, 56}

func init() {
	for _, e := range []*Extension{
		{Alias: "qos", Name: "Quality of Service", Description: "The Quality of Service extension.",
			Updated: "2015-06-08T10:00:00-00:00"},
		{Alias: "qos-bw-limit-direction", Name: "Direction for QoS bandwidth limit rule",
			Description: "Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress",
			Updated:     "2017-04-10T10:00:00-00:00", Requires: []string{"qos"}},
		{Alias: "qos-bw-minimum-ingress", Name: "Ingress direction for QoS minimum bandwidth rule",
			Description: "Allow to configure QoS minumum bandwidth rule with ingress direction.",
			Updated:     "2018-07-09T10:00:00-00:00", Requires: []string{"qos"}},
		{Alias: "qos-default", Name: "QoS default policy", Description: "Expose the QoS default policy per project",
			Updated: "2017-041-06T10:00:00-00:00", Requires: []string{"qos"}},
		{Alias: "qos-fip", Name: "Floating IP QoS", Description: "The floating IP Quality of Service extension",
			Updated: "2017-07-20T00:00:00-00:00", Requires: []string{"router", "qos"}},
		{Alias: "qos-gateway-ip", Name: "Router gateway IP QoS",
			Description: "The Router gateway IP Quality of Service extension",
			Updated:     "2018-02-24T00:00:00-00:00", Requires: []string{"router", "qos", "ext-gw-mode"}},
		{Alias: "qos-port-network-policy", Name: "QoS port network policy ID",
			Description: "Adds a the QoS network ID to the port definition",
			Updated:     "2019-11-01T10:00:00-00:00", Requires: []string{"qos"}},
		{Alias: "qos-pps", Name: "QoS Rule Type Packet per Second Extension",
			Description: "Add QoS Rule Type Packet per Second", Updated: "2021-05-12T10:00:00-00:00",
			Requires: []string{"qos"}},
		{Alias: "qos-pps-minimum", Name: "QoS minimum packet rate rule",
			Description: "Allow to configure QoS minimum packet rate rule.", Updated: "2021-07-14T10:00:00-00:00",
			Requires: []string{"qos"}},
		{Alias: "qos-pps-minimum-rule-alias", Name: "QoS minimum packet rate rule alias",
			Description: "API to enable GET, PUT and DELETE operations on QoS minimum packet rate rule without specifying policy ID",
			Updated:     "2021-10-22T10:00:00-00:00", Requires: []string{"qos", "qos-pps-minimum"}},
		{Alias: "qos-rule-type-details", Name: "Details of QoS rule types",
			Description: "Expose details about QoS rule types supported by loaded backend drivers",
			Updated:     "2017-06-22T10:00:00-00:00", Requires: []string{"qos"}},
		{Alias: "qos-rule-type-filter", Name: "Allow to filter the list of QoS rule types",
			Description: "Allows to filter the QoS rule type list adding two new flags. \"all_rules\" prints all implemented QoS rule types.\"all_supported\" prints all supported QoS rule types by the loaded mechanism drivers",
			Updated:     "2022-02-02T10:00:00-00:00", Requires: []string{"qos"}},
		{Alias: "qos-rules-alias", Name: "Quality of Service rules alias API",
			Description: "API to enable GET, PUT and DELETE operations on QoS policy rules without specifying policy ID",
			Updated:     "2018-10-07T10:00:00-00:00", Requires: []string{"qos", "qos-bw-limit-direction"}},
		{Alias: "port-resource-request", Name: "Port Resource Request",
			Description: "Expose resource request to Port", Updated: "2018-05-08T10:00:00-00:00"},
		{Alias: "port-resource-request-groups", Name: "Port Resource Request Groups",
			Description: "Support requesting multiple groups of resources and traits from the same RP subtree in resource_request",
			Updated:     "2021-08-02T10:00:00-00:00"},
	} {
		registerExtension(e)
	}

	registerResource(QoSPolicies, func() *resource.Resource {
		r := resource.NewResource("policy", QoSPolicies,
			idAttr(),
			nameAttr(),
			&resource.Attr{Name: "shared", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: false,
				Visible: true, Filter: true, RequiredByPolicy: true},
			tenantIDAttr(),
			&resource.Attr{Name: "rules", Kind: resource.JSON, Visible: true, Default: []any{},
				Storage: resource.Virtual},
			&resource.Attr{Name: "is_default", Kind: resource.Bool, AllowPost: true, AllowPut: true, Default: false,
				Visible: true, Filter: true, Extension: "qos-default"},
		)
		r.Path = "qos/policies"
		r.Standard = true
		r.AllowBulk = true
		r.Extension = "qos"
		return r
	})

	registerResource(QoSRuleTypes, func() *resource.Resource {
		flag := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.Bool, Nullable: true, Filter: true,
				Default: resource.NotSpecified, Storage: resource.Virtual, Extension: "qos-rule-type-filter"}
		}
		r := resource.NewResource("rule_type", QoSRuleTypes,
			&resource.Attr{Name: "type", Kind: resource.String, Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "drivers", Kind: resource.JSON, Visible: true, Storage: resource.Virtual,
				Default: resource.NotSpecified, Extension: "qos-rule-type-details"},
			flag("all_rules"),
			flag("all_supported"),
		)
		r.Path = "qos/rule-types"
		r.ReadOnly = true
		r.Extension = "qos"
		return r
	})

	for _, rt := range QoSRuleKinds {
		registerResource(rt.Collection, func() *resource.Resource {
			r := resource.NewResource(rt.Type+"_rule", rt.Collection, append([]*resource.Attr{idAttr(),
				&resource.Attr{Name: "qos_policy_id", Kind: resource.String}}, qosRuleParams(rt, true)...)...)
			r.Parent = QoSPolicies
			r.ParentKey = "qos_policy_id"
			r.AllowBulk = true
			r.Extension = rt.Extension
			return r
		})
		if rt.Alias == "" {
			continue
		}
		registerResource(rt.Alias, func() *resource.Resource {
			attrs := []*resource.Attr{idAttr(),
				&resource.Attr{Name: "tenant_id", Kind: resource.String, Visible: true, RequiredByPolicy: true,
					Storage: resource.Virtual},
				&resource.Attr{Name: "project_id", Kind: resource.String, Visible: true, RequiredByPolicy: true,
					Storage: resource.Virtual},
			}
			attrs = append(attrs, qosRuleParams(rt, false)...)
			// The plugin serves aliases from the rules' own tables.
			for _, a := range attrs {
				a.Storage = resource.Virtual
			}
			r := resource.NewResource("alias_"+rt.Type+"_rule", rt.Alias, attrs...)
			r.Path = "qos/" + dashes(rt.Alias)
			r.Extension = rt.AliasExtension
			return r
		})
	}

	extend(func(collection string, r *resource.Resource) {
		policyID := func(ext string) *resource.Attr {
			return &resource.Attr{Name: "qos_policy_id", Kind: resource.String, Nullable: true, AllowPost: true,
				AllowPut: true, Default: nil, Visible: true, EnforcePolicy: true, Validate: resource.UUID,
				Extension: ext}
		}
		switch collection {
		case Networks:
			r.Add(policyID("qos"))
		case Ports:
			r.Add(policyID("qos"))
			r.Add(&resource.Attr{Name: "qos_network_policy_id", Kind: resource.String, Nullable: true, Visible: true,
				Default: nil, Storage: resource.Virtual, Extension: "qos-port-network-policy"})
			r.Add(&resource.Attr{Name: "resource_request", Kind: resource.JSON, Nullable: true, Visible: true,
				Default: nil, EnforcePolicy: true, Storage: resource.Virtual, Extension: "port-resource-request"})
		case FloatingIPs:
			r.Add(policyID("qos-fip"))
		case Routers:
			// The gateway's policy, shown inside external_gateway_info.
			r.Add(&resource.Attr{Name: "gw_qos_policy_id", Kind: resource.String, Nullable: true,
				Default: resource.NotSpecified, Extension: "qos-gateway-ip"})
		}
	})
}

func dashes(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '_' {
			out[i] = '-'
		}
	}
	return string(out)
}

// qosRuleParams declares a rule type's parameters; onCreate says whether
// they may be given on create (the alias collections take updates only).
func qosRuleParams(rt QoSRuleType, onCreate bool) []*resource.Attr {
	var out []*resource.Attr
	for _, p := range rt.Params {
		a := &resource.Attr{Name: p, Kind: resource.Int, AllowPost: onCreate, AllowPut: true, Visible: true,
			Filter: true, Sort: true}
		switch p {
		case "max_kbps", "min_kbps", "max_kpps", "min_kpps":
			a.Required = onCreate
			a.Validate = qosRange
		case "max_burst_kbps", "max_burst_kpps":
			a.Default = 0
			a.Validate = qosRange
		case "dscp_mark":
			a.Required = onCreate
			a.Validate = validValues(ValidDSCPMarks...)
		case "direction":
			a.Kind = resource.String
			a.Default = "egress"
			switch {
			case rt.Type == QoSRuleMinimumPacketRate:
				a.Validate = validValues("ingress", "egress", "any")
			case rt.Type == QoSRuleMinimumBandwidth:
				// Ingress needs qos-bw-minimum-ingress; without it only
				// egress is valid (neutron-lib's qos definition).
				a.Validate = validValues("ingress", "egress")
			case rt.Type == QoSRuleBandwidthLimit && onCreate:
				// Without qos-bw-limit-direction the attribute is not
				// there at all.
				a.Extension = "qos-bw-limit-direction"
				a.Validate = validValues("ingress", "egress")
			default:
				a.Validate = validValues("ingress", "egress")
			}
		}
		out = append(out, a)
	}
	return out
}

// qosRange is type:range (0, DB_INTEGER_MAX_VALUE).
func qosRange(v any) error {
	n, _ := v.(int)
	if n < 0 {
		return fmt.Errorf("'%d' is too small - must be at least '0'", n)
	}
	if n > DBIntegerMax {
		return fmt.Errorf("'%d' is too large - must be no larger than '%d'", n, DBIntegerMax)
	}
	return nil
}
