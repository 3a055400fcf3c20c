package qos

import (
	"reflect"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
)

func TestSupportedTypes(t *testing.T) {
	lb := driversFor([]string{"linuxbridge", "l2population"})
	if len(lb) != 1 {
		t.Fatalf("drivers of linuxbridge,l2population: %v", lb)
	}
	other := Driver{Name: "other", Rules: map[string][]Param{apidef.QoSRuleDSCPMarking: nil, apidef.QoSRuleMinimumBandwidth: nil}}
	for _, tt := range []struct {
		name                   string
		ds                     []Driver
		allSupported, allRules bool
		want                   []string
	}{
		{"no driver", nil, false, false, nil},
		{"no driver, all rules", nil, false, true, []string{"bandwidth_limit", "dscp_marking", "minimum_bandwidth", "minimum_packet_rate", "packet_rate_limit"}},
		{"linuxbridge", lb, false, false, []string{"bandwidth_limit", "dscp_marking"}},
		{"common subset", append(lb, other), false, false, []string{"dscp_marking"}},
		{"any driver", append(lb, other), true, false, []string{"bandwidth_limit", "dscp_marking", "minimum_bandwidth"}},
	} {
		if got := supportedTypes(tt.ds, tt.allSupported, tt.allRules); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDriverSupports(t *testing.T) {
	lb := drivers["linuxbridge"]
	for _, tt := range []struct {
		rule Rule
		want bool
	}{
		{Rule{"type": "bandwidth_limit", "max_kbps": 8000, "max_burst_kbps": 0, "direction": "ingress"}, true},
		{Rule{"type": "bandwidth_limit", "max_kbps": 8000, "direction": "any"}, false},
		{Rule{"type": "dscp_marking", "dscp_mark": 26}, true},
		{Rule{"type": "dscp_marking", "dscp_mark": 9}, false},
		{Rule{"type": "minimum_bandwidth", "min_kbps": 1, "direction": "egress"}, false},
		{Rule{"type": "packet_rate_limit", "max_kpps": 1, "direction": "egress"}, false},
	} {
		if got := lb.supports(tt.rule); got != tt.want {
			t.Errorf("linuxbridge supports %v: %v, want %v", tt.rule, got, tt.want)
		}
	}
	for _, tt := range []struct {
		vif, vnic string
		want      bool
	}{{"bridge", "normal", true}, {"tap", "normal", true}, {"ovs", "normal", false}, {"unbound", "normal", true},
		{"unbound", "direct", false}, {"binding_failed", "normal", true}} {
		if got := lb.forPort(tt.vif, tt.vnic); got != tt.want {
			t.Errorf("linuxbridge for %s/%s: %v, want %v", tt.vif, tt.vnic, got, tt.want)
		}
	}
}

func TestTypeDetails(t *testing.T) {
	got := typeDetails(driversFor([]string{"linuxbridge"}), "dscp_marking")
	if len(got) != 1 {
		t.Fatalf("details %v", got)
	}
	d := got[0].(map[string]any)
	ps := d["supported_parameters"].([]any)
	p := ps[0].(map[string]any)
	if d["name"] != "linuxbridge" || p["parameter_name"] != "dscp_mark" || p["parameter_type"] != "choices" ||
		len(p["parameter_values"].([]any)) != len(apidef.ValidDSCPMarks) {
		t.Errorf("details %v", got)
	}
	if got := typeDetails(driversFor([]string{"linuxbridge"}), "minimum_bandwidth"); len(got) != 0 {
		t.Errorf("details of an unsupported type: %v", got)
	}
}

// TestResourceRequest checks the request groups against values Neutron
// computes (uuid5 of the rule ids in the port's namespace).
func TestResourceRequest(t *testing.T) {
	defs := apidef.Build()
	port := resource.New(defs[apidef.Ports])
	port.Set("id", "5ae93aa0-408a-11ec-bbca-17b1a60f3438")
	port.Set("network_id", "net")
	bw := []Rule{
		{"id": "11111111-1111-1111-1111-111111111111", "type": "minimum_bandwidth", "min_kbps": 1000, "direction": "egress"},
		{"id": "22222222-2222-2222-2222-222222222222", "type": "minimum_bandwidth", "min_kbps": 2000, "direction": "ingress"},
	}
	pps := Rule{"id": "33333333-3333-3333-3333-333333333333", "type": "minimum_packet_rate", "min_kpps": 500, "direction": "any"}
	got := resourceRequest(port, append(bw, pps, Rule{"id": "x", "type": "bandwidth_limit"}), map[string]string{"net": "foo"})
	want := map[string]any{
		"request_groups": []any{
			map[string]any{"id": "f3ef5aa2-bcc2-58cd-a4ce-32d8f1c385cc", "required": []any{"CUSTOM_PHYSNET_FOO", "CUSTOM_VNIC_TYPE_NORMAL"},
				"resources": map[string]any{"NET_BW_EGR_KILOBIT_PER_SEC": 1000, "NET_BW_IGR_KILOBIT_PER_SEC": 2000}},
			map[string]any{"id": groupID(port.ID(), []Rule{pps}), "required": []any{"CUSTOM_VNIC_TYPE_NORMAL"},
				"resources": map[string]any{"NET_PACKET_RATE_KILOPACKET_PER_SEC": 500}},
		},
		"same_subtree": []any{"f3ef5aa2-bcc2-58cd-a4ce-32d8f1c385cc", groupID(port.ID(), []Rule{pps})},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resource_request\n got %v\nwant %v", got, want)
	}
	if got := resourceRequest(port, []Rule{{"id": "x", "type": "bandwidth_limit"}}, nil); got != nil {
		t.Errorf("without minimum rules: %v", got)
	}
	// An overlay network's trait.
	got = resourceRequest(port, bw[:1], map[string]string{"net": ""})
	if req := got.(map[string]any)["request_groups"].([]any)[0].(map[string]any)["required"].([]any); req[0] != traitTunnel {
		t.Errorf("overlay traits %v", req)
	}
	if customTrait("CUSTOM_PHYSNET_", "phys-net.1") != "CUSTOM_PHYSNET_PHYS_NET_1" {
		t.Errorf("trait %s", customTrait("CUSTOM_PHYSNET_", "phys-net.1"))
	}
}

func TestRuleChecks(t *testing.T) {
	rules := []Rule{
		{"id": "b", "type": "bandwidth_limit", "max_kbps": 100, "direction": "egress"},
		{"id": "m", "type": "minimum_packet_rate", "min_kpps": 1, "direction": "any"},
	}
	if err := checkBandwidthConflict("p", rules, map[string]any{"min_kbps": 200, "direction": "egress"}); err == nil {
		t.Error("a minimum above the limit passes")
	}
	if err := checkBandwidthConflict("p", rules, map[string]any{"min_kbps": 200, "direction": "ingress"}); err != nil {
		t.Errorf("another direction: %v", err)
	}
	if err := checkMinPPSConflict("p", rules, Rule{"type": "minimum_packet_rate", "direction": "egress"}, nil); err == nil {
		t.Error("a directed minimum packet rate next to an 'any' one passes")
	}
	if !duplicates(rules[0], Rule{"type": "bandwidth_limit", "direction": "egress"}) ||
		duplicates(rules[0], Rule{"type": "bandwidth_limit", "direction": "ingress"}) ||
		!duplicates(Rule{"type": "dscp_marking"}, Rule{"type": "dscp_marking"}) {
		t.Error("duplicates")
	}
}
