package qos

import (
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
)

// Driver is the QoS side of a mechanism driver (Neutron's
// services/qos/drivers): which rule types, and which values of their
// parameters, the driver's data plane enforces, and for which ports.
type Driver struct {
	Name      string
	VIFTypes  []string
	VNICTypes []string
	// Rules maps a rule type to its parameters in Neutron's order.
	Rules map[string][]Param
}

// Param is one supported parameter: a range of integers or a set of
// choices.
type Param struct {
	Name       string
	Start, End int
	Choices    []any
}

// drivers are the QoS drivers of mechanism drivers by name. The Linux
// bridge agent enforces bandwidth limits in both directions (tc on the
// tap) and DSCP marking (nftables), as Neutron's linuxbridge QoS driver
// declares; packet rates and minimum guarantees it cannot enforce.
var drivers = map[string]Driver{
	"linuxbridge": {
		Name:      "linuxbridge",
		VIFTypes:  []string{"bridge", "tap"},
		VNICTypes: []string{"normal"},
		Rules: map[string][]Param{
			apidef.QoSRuleBandwidthLimit: {
				{Name: "max_kbps", End: apidef.DBIntegerMax},
				{Name: "max_burst_kbps", End: apidef.DBIntegerMax},
				{Name: "direction", Choices: []any{"ingress", "egress"}},
			},
			apidef.QoSRuleDSCPMarking: {
				{Name: "dscp_mark", Choices: dscpChoices()},
			},
		},
	},
}

func dscpChoices() []any {
	out := make([]any, len(apidef.ValidDSCPMarks))
	for i, m := range apidef.ValidDSCPMarks {
		out[i] = m
	}
	return out
}

// driversFor returns the QoS drivers of the loaded mechanism drivers, in
// their order.
func driversFor(mechanismDrivers []string) []Driver {
	var out []Driver
	for _, name := range mechanismDrivers {
		if d, ok := drivers[name]; ok {
			out = append(out, d)
		}
	}
	return out
}

// supports reports whether the driver enforces the rule: its type, and
// each parameter's value within what the driver takes.
func (d Driver) supports(rule map[string]any) bool {
	params, ok := d.Rules[rule["type"].(string)]
	if !ok {
		return false
	}
	for _, p := range params {
		v, present := rule[p.Name]
		if !present {
			continue
		}
		if p.Choices != nil {
			if !slices.Contains(p.Choices, v) {
				return false
			}
			continue
		}
		if n, ok := v.(int); ok && (n < p.Start || n > p.End) {
			return false
		}
	}
	return true
}

// forPort reports whether the driver handles a port bound with vifType
// (or, unbound, of vnicType), as the QoS driver manager checks.
func (d Driver) forPort(vifType, vnicType string) bool {
	if vifType == "" || vifType == "unbound" || vifType == "binding_failed" {
		return slices.Contains(d.VNICTypes, vnicType)
	}
	return slices.Contains(d.VIFTypes, vifType)
}

// supportedTypes is the rule types every driver supports (the default),
// those at least one supports (allSupported), or every rule type Neutron
// knows (allRules), sorted.
func supportedTypes(ds []Driver, allSupported, allRules bool) []string {
	var out []string
	for _, rt := range apidef.QoSRuleKinds {
		switch {
		case allRules:
			out = append(out, rt.Type)
		case len(ds) == 0:
		case allSupported:
			for _, d := range ds {
				if _, ok := d.Rules[rt.Type]; ok {
					out = append(out, rt.Type)
					break
				}
			}
		default:
			every := true
			for _, d := range ds {
				if _, ok := d.Rules[rt.Type]; !ok {
					every = false
				}
			}
			if every {
				out = append(out, rt.Type)
			}
		}
	}
	slices.Sort(out)
	return out
}

// typeDetails is the drivers entry of a rule type's details: each driver
// supporting it, with its parameters' ranges or choices.
func typeDetails(ds []Driver, ruleType string) []any {
	out := []any{}
	for _, d := range ds {
		params, ok := d.Rules[ruleType]
		if !ok {
			continue
		}
		ps := []any{}
		for _, p := range params {
			if p.Choices != nil {
				ps = append(ps, map[string]any{"parameter_name": p.Name, "parameter_values": p.Choices,
					"parameter_type": "choices"})
				continue
			}
			ps = append(ps, map[string]any{"parameter_name": p.Name,
				"parameter_values": map[string]any{"start": p.Start, "end": p.End}, "parameter_type": "range"})
		}
		out = append(out, map[string]any{"name": d.Name, "supported_parameters": ps})
	}
	return out
}
