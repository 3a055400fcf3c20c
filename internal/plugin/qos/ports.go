package qos

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin/core"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The ML2 qos extension driver's part: qos_policy_id on networks and
// ports, a project's default policy for its new networks, and the check
// that a port's QoS drivers can enforce its policy.

var _ core.ExtensionDriver = (*Plugin)(nil)

// ProcessCreateNetwork implements core.ExtensionDriver: a policy given
// must be one the caller may use; without one the project's default
// policy applies.
func (p *Plugin) ProcessCreateNetwork(ctx context.Context, tx *store.Tx, n *resource.Object) error {
	if n.Resource().Attr("qos_policy_id") == nil {
		return nil
	}
	if !p.portPolicies {
		n.Set("qos_policy_id", nil)
		return nil
	}
	id, _ := n.Get("qos_policy_id").(string)
	if id == "" {
		def, err := p.defaultPolicy(ctx, tx, n.String("project_id"))
		if err != nil {
			return err
		}
		if def == "" {
			n.Set("qos_policy_id", nil)
			return nil
		}
		n.Set("qos_policy_id", def)
		return nil
	}
	return p.CheckPolicyAttach(ctx, tx, id)
}

// defaultPolicy is the project's default policy id, or "".
func (p *Plugin) defaultPolicy(ctx context.Context, tx *store.Tx, project string) (string, error) {
	def := p.defs[apidef.QoSPolicies]
	if def.Attr("is_default") == nil {
		return "", nil
	}
	objs, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("project_id"), Values: []any{project}},
		{Attr: def.Attr("is_default"), Values: []any{true}},
	}, Limit: 1})
	if err != nil || len(objs) == 0 {
		return "", err
	}
	return objs[0].ID(), nil
}

// ProcessUpdateNetwork implements core.ExtensionDriver: the caller must
// be allowed to detach the old policy and use the new one, which the
// ports that inherit it must be able to enforce.
func (p *Plugin) ProcessUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if patch.Resource().Attr("qos_policy_id") == nil || !patch.Has("qos_policy_id") {
		return nil
	}
	if !p.portPolicies {
		patch.Unset("qos_policy_id")
		return nil
	}
	next, prev, err := p.changePolicy(ctx, tx, old, patch)
	if err != nil || next == "" || next == prev {
		return err
	}
	portDef := p.defs[apidef.Ports]
	ports, err := tx.List(ctx, portDef, &resource.Query{Filters: []resource.Filter{
		{Attr: portDef.Attr("network_id"), Values: []any{old.ID()}}}})
	if err != nil {
		return err
	}
	var inherit []*resource.Object
	for _, port := range ports {
		if port.Get("qos_policy_id") == nil && !networkDevice(port.String("device_owner")) {
			inherit = append(inherit, port)
		}
	}
	rules, err := p.policyRules(ctx, tx, []string{next})
	if err != nil {
		return err
	}
	return p.validatePorts(ctx, tx, inherit, rules[next])
}

// changePolicy checks a change of o's qos_policy_id in patch and returns
// the new and old ids.
func (p *Plugin) changePolicy(ctx context.Context, tx *store.Tx, old, patch *resource.Object) (next, prev string, err error) {
	next, _ = patch.Get("qos_policy_id").(string)
	prev, _ = old.Get("qos_policy_id").(string)
	if next == prev {
		return next, prev, nil
	}
	if prev != "" {
		if err := p.CheckPolicyDetach(ctx, tx, prev); err != nil {
			return "", "", err
		}
	}
	if next != "" {
		if err := p.CheckPolicyAttach(ctx, tx, next); err != nil {
			return "", "", err
		}
	}
	return next, prev, nil
}

// ProcessCreatePort implements core.ExtensionDriver.
func (p *Plugin) ProcessCreatePort(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if port.Resource().Attr("qos_policy_id") == nil {
		return nil
	}
	if !p.portPolicies {
		port.Set("qos_policy_id", nil)
		return nil
	}
	if id, _ := port.Get("qos_policy_id").(string); id != "" {
		if err := p.CheckPolicyAttach(ctx, tx, id); err != nil {
			return err
		}
	} else {
		port.Set("qos_policy_id", nil)
	}
	return p.validatePort(ctx, tx, port)
}

// ProcessUpdatePort implements core.ExtensionDriver: a new policy is
// checked as on create, and a port that is (re)bound must be able to
// enforce its effective policy.
func (p *Plugin) ProcessUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if patch.Resource().Attr("qos_policy_id") == nil {
		return nil
	}
	if patch.Has("qos_policy_id") && !p.portPolicies {
		patch.Unset("qos_policy_id")
	}
	changed := false
	if patch.Has("qos_policy_id") {
		next, prev, err := p.changePolicy(ctx, tx, old, patch)
		if err != nil {
			return err
		}
		changed = next != prev
	}
	if patch.Has("binding:vif_type") && patch.String("binding:vif_type") != old.String("binding:vif_type") {
		changed = true
	}
	if !changed {
		return nil
	}
	merged := old.Clone()
	merged.Merge(patch)
	return p.validatePort(ctx, tx, merged)
}

// networkDevice reports whether a device owner is one of Neutron's
// network devices, which do not inherit their network's policy (a
// router's gateway does).
func networkDevice(owner string) bool {
	if owner == "network:router_gateway" || owner == "network:floatingip_agent_gateway" {
		return false
	}
	return strings.HasPrefix(owner, "network:") || strings.HasPrefix(owner, "neutron:")
}

// effectivePolicy is the policy that applies to port: its own, else its
// network's.
func (p *Plugin) effectivePolicy(ctx context.Context, tx *store.Tx, port *resource.Object) (string, error) {
	if id, _ := port.Get("qos_policy_id").(string); id != "" {
		return id, nil
	}
	if networkDevice(port.String("device_owner")) {
		return "", nil
	}
	net, err := tx.Get(ctx, p.defs[apidef.Networks], port.String("network_id"), false)
	if err != nil {
		return "", nil //nolint:nilerr // the core reports a missing network
	}
	id, _ := net.Get("qos_policy_id").(string)
	return id, nil
}

// validatePort refuses a port whose effective policy has a rule it
// cannot have (QosRuleNotSupported), bound or not, as Neutron's QoS
// plugin validates every port it creates or gives a policy.
func (p *Plugin) validatePort(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	id, err := p.effectivePolicy(ctx, tx, port)
	if err != nil || id == "" {
		return err
	}
	rules, err := p.policyRules(ctx, tx, []string{id})
	if err != nil {
		return err
	}
	return p.validatePorts(ctx, tx, []*resource.Object{port}, rules[id])
}

// validatePorts checks every rule on each port: a bound port's QoS
// driver must enforce it; an unbound port's minimum rules are a request
// to Placement (resource_request), which takes a minimum packet rate,
// and a minimum bandwidth only on a network whose first segment has a
// physical network (Placement knows no tunnel's bandwidth); its other
// rules must be enforced by some driver of its vnic_type.
func (p *Plugin) validatePorts(ctx context.Context, tx *store.Tx, ports []*resource.Object, rules []Rule) error {
	var physnets map[string]string
	for _, port := range ports {
		for _, r := range rules {
			ok := false
			switch {
			case bound(port):
				ok = p.enforceable(port, r)
			case r["type"] == apidef.QoSRuleMinimumPacketRate:
				ok = true
			case r["type"] == apidef.QoSRuleMinimumBandwidth:
				if physnets == nil {
					var err error
					if physnets, err = p.portPhysnets(ctx, tx, ports); err != nil {
						return err
					}
				}
				ok = physnets[port.String("network_id")] != ""
			default:
				ok = p.enforceable(port, r)
			}
			if !ok {
				return ruleNotSupported(r["type"].(string), port.ID())
			}
		}
	}
	return nil
}

// bound reports whether a port is bound (its vif_type is a driver's).
func bound(port *resource.Object) bool {
	if port.Resource().Attr("binding:vif_type") == nil {
		return false
	}
	vt := port.String("binding:vif_type")
	return vt != "" && vt != "unbound" && vt != "binding_failed"
}

// portPhysnets is the first segment's physical network of the ports'
// networks ("" for a tunnelled one), never nil.
func (p *Plugin) portPhysnets(ctx context.Context, tx *store.Tx, ports []*resource.Object) (map[string]string, error) {
	if p.physnets == nil {
		return map[string]string{}, nil
	}
	seen := map[string]bool{}
	var ids []string
	for _, port := range ports {
		if id := port.String("network_id"); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	out, err := p.physnets(ctx, tx, ids...)
	if out == nil && err == nil {
		out = map[string]string{}
	}
	return out, err
}

// enforceable is the QoS driver manager's validate_rule_for_port: some
// driver handling the port's binding (or, unbound, its vnic_type)
// supports the rule.
func (p *Plugin) enforceable(port *resource.Object, r Rule) bool {
	vnic := "normal"
	if port.Resource().Attr("binding:vnic_type") != nil && port.String("binding:vnic_type") != "" {
		vnic = port.String("binding:vnic_type")
	}
	for _, d := range p.drivers {
		if d.forPort(port.String("binding:vif_type"), vnic) && d.supports(r) {
			return true
		}
	}
	return false
}

// validatePolicyPorts checks a policy's rules (as they will be) against
// every port using it, directly or through its network.
func (p *Plugin) validatePolicyPorts(ctx context.Context, tx *store.Tx, policyID string, rules []Rule) error {
	portDef, netDef := p.defs[apidef.Ports], p.defs[apidef.Networks]
	if portDef.Attr("qos_policy_id") == nil {
		return nil
	}
	ports, err := tx.List(ctx, portDef, &resource.Query{Filters: []resource.Filter{
		{Attr: portDef.Attr("qos_policy_id"), Values: []any{policyID}}}})
	if err != nil {
		return err
	}
	nets, err := tx.Strings(ctx, apidef.Networks, "id", "qos_policy_id", policyID)
	if err != nil {
		return err
	}
	if len(nets) > 0 && netDef.Attr("qos_policy_id") != nil {
		values := make([]any, len(nets))
		for i, id := range nets {
			values[i] = id
		}
		onNets, err := tx.List(ctx, portDef, &resource.Query{Filters: []resource.Filter{
			{Attr: portDef.Attr("network_id"), Values: values}}})
		if err != nil {
			return err
		}
		for _, port := range onNets {
			if port.Get("qos_policy_id") == nil && !networkDevice(port.String("device_owner")) {
				ports = append(ports, port)
			}
		}
	}
	return p.validatePorts(ctx, tx, ports, rules)
}

// ExtendPorts implements core.ExtensionDriver: qos_network_policy_id and
// resource_request (from the effective policy's minimum bandwidth and
// minimum packet rate rules, as Neutron builds it for Placement).
func (p *Plugin) ExtendPorts(ctx context.Context, tx *store.Tx, ports []*resource.Object) error {
	if len(ports) == 0 {
		return nil
	}
	def := ports[0].Resource()
	wantNet, wantRR := def.Attr("qos_network_policy_id") != nil, def.Attr("resource_request") != nil
	if !wantNet && !wantRR {
		return nil
	}
	netIDs := map[string]bool{}
	for _, port := range ports {
		netIDs[port.String("network_id")] = true
	}
	values := make([]any, 0, len(netIDs))
	ids := make([]string, 0, len(netIDs))
	for id := range netIDs {
		values = append(values, id)
		ids = append(ids, id)
	}
	netDef := p.defs[apidef.Networks]
	netPolicy := map[string]string{}
	if netDef.Attr("qos_policy_id") != nil {
		nets, err := tx.List(ctx, netDef, &resource.Query{Filters: []resource.Filter{{Attr: netDef.Attr("id"), Values: values}}})
		if err != nil {
			return err
		}
		for _, n := range nets {
			if id, _ := n.Get("qos_policy_id").(string); id != "" {
				netPolicy[n.ID()] = id
			}
		}
	}
	effective := make([]string, len(ports))
	var policyIDs []string
	for i, port := range ports {
		np := netPolicy[port.String("network_id")]
		if wantNet {
			if np == "" {
				port.Set("qos_network_policy_id", nil)
			} else {
				port.Set("qos_network_policy_id", np)
			}
		}
		if id, _ := port.Get("qos_policy_id").(string); id != "" {
			effective[i] = id
		} else {
			effective[i] = np
		}
		if effective[i] != "" {
			policyIDs = append(policyIDs, effective[i])
		}
	}
	if !wantRR {
		return nil
	}
	rules, err := p.policyRules(ctx, tx, policyIDs)
	if err != nil {
		return err
	}
	var physnets map[string]string
	if p.physnets != nil && len(policyIDs) > 0 {
		if physnets, err = p.physnets(ctx, tx, ids...); err != nil {
			return err
		}
	}
	for i, port := range ports {
		port.Set("resource_request", resourceRequest(port, rules[effective[i]], physnets))
	}
	return nil
}

// Placement's resource classes and traits (os-resource-classes,
// neutron-lib's placement utils).
const (
	rcBandwidthEgress  = "NET_BW_EGR_KILOBIT_PER_SEC"
	rcBandwidthIngress = "NET_BW_IGR_KILOBIT_PER_SEC"
	rcPPSEgress        = "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC"
	rcPPSIngress       = "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC"
	rcPPSAny           = "NET_PACKET_RATE_KILOPACKET_PER_SEC"
	traitTunnel        = "CUSTOM_NETWORK_TUNNEL_PROVIDER"
)

// resourceRequest is the port's resource_request: a request group for
// its minimum bandwidth rules (with its network's and vnic type's
// traits) and one for its minimum packet rate rules, or nil.
func resourceRequest(port *resource.Object, rules []Rule, physnets map[string]string) any {
	var bw, pps []Rule
	for _, r := range rules {
		switch r["type"] {
		case apidef.QoSRuleMinimumBandwidth:
			bw = append(bw, r)
		case apidef.QoSRuleMinimumPacketRate:
			pps = append(pps, r)
		}
	}
	if len(bw) == 0 && len(pps) == 0 {
		return nil
	}
	vnic := "normal"
	if port.Resource().Attr("binding:vnic_type") != nil && port.String("binding:vnic_type") != "" {
		vnic = port.String("binding:vnic_type")
	}
	vnicTrait := customTrait("CUSTOM_VNIC_TYPE_", vnic)
	var groups []any
	var ids []any
	if len(bw) > 0 {
		if physnet, ok := physnets[port.String("network_id")]; ok {
			netTrait := traitTunnel
			if physnet != "" {
				netTrait = customTrait("CUSTOM_PHYSNET_", physnet)
			}
			res := map[string]any{}
			for _, r := range bw {
				class := rcBandwidthEgress
				if r["direction"] == "ingress" {
					class = rcBandwidthIngress
				}
				res[class] = r["min_kbps"]
			}
			id := groupID(port.ID(), bw)
			groups = append(groups, map[string]any{"id": id, "required": []any{netTrait, vnicTrait}, "resources": res})
			ids = append(ids, id)
		}
	}
	if len(pps) > 0 {
		res := map[string]any{}
		for _, r := range pps {
			class := rcPPSAny
			switch r["direction"] {
			case "ingress":
				class = rcPPSIngress
			case "egress":
				class = rcPPSEgress
			}
			res[class] = r["min_kpps"]
		}
		id := groupID(port.ID(), pps)
		groups = append(groups, map[string]any{"id": id, "required": []any{vnicTrait}, "resources": res})
		ids = append(ids, id)
	}
	if len(groups) == 0 {
		return nil
	}
	return map[string]any{"request_groups": groups, "same_subtree": ids}
}

// groupID is neutron-lib's resource_request_group_uuid: a UUID5 in the
// port's namespace of the rules' ids joined by ":".
func groupID(portID string, rules []Rule) string {
	ns, err := uuid.Parse(portID)
	if err != nil {
		ns = uuid.Nil
	}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r["id"].(string)
	}
	return uuid.NewSHA1(ns, []byte(strings.Join(names, ":"))).String()
}

// customTrait is neutron-lib's custom trait naming: upper case, anything
// but letters, digits and "_" turned into "_".
func customTrait(prefix, name string) string {
	b := []byte(strings.ToUpper(name))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return prefix + string(b)
}
