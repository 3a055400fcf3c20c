// Package qos is Neutron's QoS service plugin (service_plugins = qos,
// neutron.services.qos.qos_plugin.QoSPlugin): policies, their bandwidth
// limit, DSCP marking, minimum bandwidth, packet rate limit and minimum
// packet rate rules, the rule types the loaded mechanism drivers enforce,
// the rules' alias collections, and the policies of networks and ports
// (the [ml2] extension_drivers = qos switch), floating IPs (qos-fip) and
// router gateways (qos-gateway-ip). Ports' resource_request is derived
// from minimum bandwidth and minimum packet rate rules, as Neutron
// derives it for Placement. The L2 agent receives each bound port's
// effective rules with its details and enforces them.
package qos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// rbacObjectType is the object_type of RBAC policies on QoS policies.
const rbacObjectType = "qos_policy"

// Plugin is the QoS service plugin.
type Plugin struct {
	store    *store.Store
	defs     map[string]*resource.Resource
	policies *generic.Handler
	rules    map[string]*generic.Handler // by rule type
	handlers map[string]plugin.Handler
	outbox   change.Outbox
	now      func() time.Time

	// drivers are the QoS drivers of the loaded mechanism drivers.
	drivers []Driver
	// portPolicies is whether the ML2 qos extension driver is loaded:
	// networks and ports take qos_policy_id.
	portPolicies bool
	// rbac is the core plugin's registry of RBAC object types; nil
	// without RBAC policies.
	rbac *rbac.Registry
	// physnets gives the first segment's physical network of networks,
	// for resource requests; nil without ML2.
	physnets func(ctx context.Context, tx *store.Tx, netIDs ...string) (map[string]string, error)
}

// New builds the plugin over the server's (restricted) definitions.
func New(s *store.Store, defs map[string]*resource.Resource, outbox change.Outbox) *Plugin {
	p := &Plugin{store: s, defs: defs, rules: map[string]*generic.Handler{}, handlers: map[string]plugin.Handler{},
		outbox: outbox, now: time.Now}
	p.policies = generic.New(defs[apidef.QoSPolicies], s, generic.Hooks{
		NotFound:     PolicyNotFound,
		BeforeCreate: p.beforeCreatePolicy,
		AfterCreate:  p.afterCreatePolicy,
		BeforeUpdate: p.beforeUpdatePolicy,
		AfterUpdate:  p.afterUpdatePolicy,
		BeforeDelete: p.beforeDeletePolicy,
		AfterRead:    p.afterReadPolicies,
	})
	p.handlers[apidef.QoSPolicies] = &policies{Handler: p.policies}
	for _, rt := range apidef.QoSRuleKinds {
		def := defs[rt.Collection]
		if def == nil {
			continue
		}
		rt := rt
		g := generic.New(def, s, generic.Hooks{
			NotFound: func(id string) error { return RuleNotFound("", id) },
			BeforeCreate: func(ctx context.Context, tx *store.Tx, o *resource.Object) error {
				return p.beforeWriteRule(ctx, tx, rt, nil, o)
			},
			BeforeUpdate: func(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
				return p.beforeWriteRule(ctx, tx, rt, old, patch)
			},
			BeforeDelete: func(ctx context.Context, tx *store.Tx, o *resource.Object) error {
				return p.ruleChanged(ctx, tx, o.String("qos_policy_id"))
			},
		})
		p.rules[rt.Type] = g
		p.handlers[rt.Collection] = &rules{Handler: g}
		if rt.Alias != "" && defs[rt.Alias] != nil {
			p.handlers[rt.Alias] = &aliases{p: p, def: defs[rt.Alias], rules: g}
		}
	}
	if def := defs[apidef.QoSRuleTypes]; def != nil {
		p.handlers[apidef.QoSRuleTypes] = &ruleTypes{p: p, def: def}
	}
	return p
}

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler { return p.handlers }

// policies serves QoS policies: a project sees its own, shared ones and
// those RBAC policies share with it.
type policies struct{ *generic.Handler }

var _ plugin.Scoper = (*policies)(nil)

// Scope implements plugin.Scoper.
func (h *policies) Scope(projectID string) *resource.Scope {
	return &resource.Scope{ProjectID: projectID, SharedBy: []*resource.Attr{h.Res.Attr("shared")}, RBACType: rbacObjectType}
}

// rules serves one rule type under a policy: a rule of another policy is
// that policy's QosRuleNotFound.
type rules struct{ *generic.Handler }

// Get implements plugin.Handler.
func (h *rules) Get(ctx context.Context, id string) (*resource.Object, error) {
	parent := plugin.ParentID(ctx)
	o, err := h.Handler.Get(ctx, id)
	if err != nil {
		if fault.Is(err, "QosRuleNotFound") {
			return nil, RuleNotFound(parent, id)
		}
		return nil, err
	}
	if parent != "" && o.String("qos_policy_id") != parent {
		return nil, RuleNotFound(parent, id)
	}
	return o, nil
}

// NotFoundIn is the 404 of a rule the caller may not see: the
// QosRuleNotFound of the policy the request is under.
func (h *rules) NotFoundIn(ctx context.Context, id string) error {
	return RuleNotFound(plugin.ParentID(ctx), id)
}

// Update implements plugin.Handler.
func (h *rules) Update(ctx context.Context, id string, patch *resource.Object, ifRevision int) (*resource.Object, error) {
	if _, err := h.Get(ctx, id); err != nil {
		return nil, err
	}
	return h.Handler.Update(ctx, id, patch, ifRevision)
}

// Delete implements plugin.Handler.
func (h *rules) Delete(ctx context.Context, id string, ifRevision int) error {
	if _, err := h.Get(ctx, id); err != nil {
		return err
	}
	return h.Handler.Delete(ctx, id, ifRevision)
}

// visibleTo reports whether the caller may use policy: an admin any, a
// project its own and those shared with it.
func (p *Plugin) visibleTo(ctx context.Context, tx *store.Tx, policy *resource.Object) (bool, error) {
	if p.rbac != nil {
		return p.rbac.Visible(ctx, tx, rbacObjectType, policy)
	}
	caller := reqctx.CallerFrom(ctx)
	return caller.IsAdmin || policy.String("project_id") == caller.ProjectID || policy.Bool("shared"), nil
}

// policy reads a policy the caller may use, or QosPolicyNotFound.
func (p *Plugin) policy(ctx context.Context, tx *store.Tx, id string, forUpdate bool) (*resource.Object, error) {
	o, err := tx.Get(ctx, p.defs[apidef.QoSPolicies], id, forUpdate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, PolicyNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	ok, err := p.visibleTo(ctx, tx, o)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, PolicyNotFound(id)
	}
	return o, nil
}

// CheckPolicyAttach is whether the caller may attach the policy to an
// object: it must see it (QosPolicyNotFound otherwise).
func (p *Plugin) CheckPolicyAttach(ctx context.Context, tx *store.Tx, id string) error {
	_, err := p.policy(ctx, tx, id, false)
	return err
}

// CheckPolicyDetach is whether the caller may detach the policy from an
// object: its own, or one shared with it (PolicyRemoveAuthorizationError
// otherwise), as Neutron's QoS core extension checks.
func (p *Plugin) CheckPolicyDetach(ctx context.Context, tx *store.Tx, id string) error {
	o, err := tx.Get(ctx, p.defs[apidef.QoSPolicies], id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ok, err := p.visibleTo(ctx, tx, o)
	if err != nil {
		return err
	}
	if !ok {
		return removeNotAuthorized(id)
	}
	return nil
}

func (p *Plugin) beforeCreatePolicy(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if o.String("project_id") == "" {
		return fault.NeutronBadRequest("QoS policy", `Must have "policy_id"`)
	}
	if o.Resource().Attr("is_default") != nil && o.Bool("is_default") {
		return p.oneDefault(ctx, tx, o.String("project_id"), o.ID())
	}
	return nil
}

// oneDefault refuses a second default policy in a project.
func (p *Plugin) oneDefault(ctx context.Context, tx *store.Tx, project, id string) error {
	def := p.defs[apidef.QoSPolicies]
	others, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("project_id"), Values: []any{project}},
		{Attr: def.Attr("is_default"), Values: []any{true}},
	}})
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID() != id {
			return defaultExists(project)
		}
	}
	return nil
}

func (p *Plugin) afterCreatePolicy(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if o.Bool("shared") {
		return p.syncWildcard(ctx, tx, o, true)
	}
	return nil
}

func (p *Plugin) beforeUpdatePolicy(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if patch.Resource().Attr("is_default") != nil && patch.Has("is_default") && patch.Bool("is_default") &&
		!old.Bool("is_default") {
		return p.oneDefault(ctx, tx, old.String("project_id"), old.ID())
	}
	return nil
}

func (p *Plugin) afterUpdatePolicy(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	if old.Bool("shared") != updated.Bool("shared") {
		return p.syncWildcard(ctx, tx, updated, updated.Bool("shared"))
	}
	return nil
}

// syncWildcard keeps the wildcard access_as_shared RBAC policy that a
// policy's shared flag stands for; unsharing a policy other projects'
// objects use is RbacPolicyInUse (the registry asks BoundProjects).
func (p *Plugin) syncWildcard(ctx context.Context, tx *store.Tx, policy *resource.Object, on bool) error {
	if p.rbac == nil {
		return nil
	}
	return p.rbac.SyncWildcard(ctx, tx, rbacObjectType, policy, rbac.AccessAsShared, on)
}

// boundProjects are the projects whose networks, ports, floating IPs and
// router gateways use the policy (Neutron's get_bound_project_ids for
// QoS policies): an RBAC policy letting one of them in cannot go.
func (p *Plugin) boundProjects(ctx context.Context, tx *store.Tx, policy *resource.Object) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, b := range bindings {
		def := p.defs[b.collection]
		if def == nil || def.Attr(b.attr) == nil {
			continue
		}
		objs, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
			{Attr: def.Attr(b.attr), Values: []any{policy.ID()}}}})
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if proj := o.String("project_id"); proj != "" && !seen[proj] {
				seen[proj] = true
				out = append(out, proj)
			}
		}
	}
	return out, nil
}

// bindings are where a policy may be attached, in the order Neutron
// reports the first use.
var bindings = []struct{ collection, attr, objectType string }{
	{apidef.Networks, "qos_policy_id", "network"},
	{apidef.Ports, "qos_policy_id", "port"},
	{apidef.FloatingIPs, "qos_policy_id", "fip"},
	{apidef.Routers, "gw_qos_policy_id", "router"},
}

func (p *Plugin) beforeDeletePolicy(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	for _, b := range bindings {
		def := p.defs[b.collection]
		if def == nil || def.Attr(b.attr) == nil {
			continue
		}
		ids, err := tx.Strings(ctx, b.collection, "id", b.attr, o.ID())
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			slices.Sort(ids)
			return policyInUse(o.ID(), b.objectType, ids[0])
		}
	}
	if p.rbac != nil {
		return p.rbac.DeletePolicies(ctx, tx, rbacObjectType, o.ID())
	}
	return nil
}

// afterReadPolicies fills each policy's rules and shows it shared when
// an RBAC policy shares it with the caller.
func (p *Plugin) afterReadPolicies(ctx context.Context, tx *store.Tx, pols []*resource.Object) error {
	ids := make([]string, len(pols))
	for i, o := range pols {
		ids[i] = o.ID()
	}
	byPolicy, err := p.policyRules(ctx, tx, ids)
	if err != nil {
		return err
	}
	if p.rbac != nil {
		if err := p.rbac.MarkShared(ctx, tx, rbacObjectType, "shared", pols); err != nil {
			return err
		}
	}
	for _, o := range pols {
		rs := byPolicy[o.ID()]
		list := make([]any, 0, len(rs))
		for _, r := range rs {
			list = append(list, r)
		}
		o.Set("rules", list)
	}
	return nil
}

// Rule is one rule as Neutron's QosRule.to_dict shows it in a policy and
// as the agent receives it: id, qos_policy_id, type and the parameters.
type Rule = map[string]any

// policyRules reads the rules of the given policies, each policy's in
// rule type order.
func (p *Plugin) policyRules(ctx context.Context, tx *store.Tx, policyIDs []string) (map[string][]Rule, error) {
	out := map[string][]Rule{}
	if len(policyIDs) == 0 {
		return out, nil
	}
	values := make([]any, len(policyIDs))
	for i, id := range policyIDs {
		values[i] = id
	}
	for _, rt := range apidef.QoSRuleKinds {
		g := p.rules[rt.Type]
		if g == nil {
			continue
		}
		def := g.Res
		objs, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
			{Attr: def.Attr("qos_policy_id"), Values: values}}, Sorts: []resource.SortKey{{Attr: def.Attr("id")}}})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rt.Collection, err)
		}
		for _, o := range objs {
			out[o.String("qos_policy_id")] = append(out[o.String("qos_policy_id")], ruleDict(rt, o))
		}
	}
	return out, nil
}

func ruleDict(rt apidef.QoSRuleType, o *resource.Object) Rule {
	r := Rule{"id": o.ID(), "qos_policy_id": o.String("qos_policy_id"), "type": rt.Type}
	for _, name := range rt.Params {
		if o.Resource().Attr(name) != nil {
			r[name] = o.Get(name)
		} else if name == "direction" {
			r[name] = "egress"
		}
	}
	return r
}

// beforeWriteRule checks a rule being created (old nil) or updated
// against its policy's other rules, as Neutron's QoS policy validator
// does, and against the ports using the policy; the policy's revision
// goes up.
func (p *Plugin) beforeWriteRule(ctx context.Context, tx *store.Tx, rt apidef.QoSRuleType, old, o *resource.Object) error {
	policyID := o.String("qos_policy_id")
	if old != nil {
		policyID = old.String("qos_policy_id")
	}
	if _, err := p.policy(ctx, tx, policyID, true); err != nil {
		return err
	}
	existing, err := p.policyRules(ctx, tx, []string{policyID})
	if err != nil {
		return err
	}
	rule := Rule{}
	if old != nil {
		rule = ruleDict(rt, old)
	}
	rule["type"] = rt.Type
	data := map[string]any{}
	for _, a := range o.Present() {
		if slices.Contains(rt.Params, a.Name) {
			rule[a.Name] = o.Get(a.Name)
			data[a.Name] = o.Get(a.Name)
		}
	}
	if _, ok := rule["direction"]; !ok && slices.Contains(rt.Params, "direction") {
		rule["direction"] = "egress"
	}
	others := existing[policyID]
	if err := checkBandwidthConflict(policyID, others, data); err != nil {
		return err
	}
	if err := checkMinPPSConflict(policyID, others, rule, old); err != nil {
		return err
	}
	for _, r := range others {
		if old != nil && r["id"] == old.ID() {
			continue
		}
		if duplicates(r, rule) {
			return rulesConflict(rt.Type, r["id"].(string), policyID)
		}
	}
	next := make([]Rule, 0, len(others)+1)
	for _, r := range others {
		if old == nil || r["id"] != old.ID() {
			next = append(next, r)
		}
	}
	next = append(next, rule)
	if err := p.validatePolicyPorts(ctx, tx, policyID, next); err != nil {
		return err
	}
	return p.ruleChanged(ctx, tx, policyID)
}

// checkBandwidthConflict is Neutron's check_bandwidth_rule_conflict: a
// minimum above the same direction's limit, or a limit below its
// minimum, is refused.
func checkBandwidthConflict(policyID string, rules []Rule, data map[string]any) error {
	dir, _ := data["direction"].(string)
	for _, r := range rules {
		if r["type"] == apidef.QoSRuleDSCPMarking {
			continue
		}
		if dir != "" && r["direction"] != dir {
			continue
		}
		switch r["type"] {
		case apidef.QoSRuleMinimumBandwidth:
			if maxKbps, ok := data["max_kbps"].(int); ok && r["min_kbps"].(int) > maxKbps {
				return parameterConflict(maxKbps, policyID, apidef.QoSRuleMinimumBandwidth, r["min_kbps"])
			}
		case apidef.QoSRuleBandwidthLimit:
			if minKbps, ok := data["min_kbps"].(int); ok && r["max_kbps"].(int) < minKbps {
				return parameterConflict(minKbps, policyID, apidef.QoSRuleBandwidthLimit, r["max_kbps"])
			}
		}
	}
	return nil
}

// checkMinPPSConflict is Neutron's check_min_pps_rule_conflict: minimum
// packet rate rules of a policy are either all directionless ("any") or
// all directed.
func checkMinPPSConflict(policyID string, rules []Rule, rule Rule, old *resource.Object) error {
	if rule["type"] != apidef.QoSRuleMinimumPacketRate {
		return nil
	}
	dir, _ := rule["direction"].(string)
	for _, r := range rules {
		if r["type"] != apidef.QoSRuleMinimumPacketRate || (old != nil && r["id"] == old.ID()) {
			continue
		}
		if (dir == "any") != (r["direction"] == "any") {
			return parameterConflict(dir, policyID, apidef.QoSRuleMinimumPacketRate, r["direction"])
		}
	}
	return nil
}

// duplicates is Neutron's QosRule.duplicates: same type, and for the
// types with a direction the same direction.
func duplicates(a, b Rule) bool {
	if a["type"] != b["type"] {
		return false
	}
	if _, ok := a["direction"]; ok {
		return a["direction"] == b["direction"]
	}
	return true
}

// ruleChanged bumps the policy's revision (rules are part of it, as
// Neutron's revises_on_change makes them) and tells the L2 agents.
func (p *Plugin) ruleChanged(ctx context.Context, tx *store.Tx, policyID string) error {
	def := p.defs[apidef.QoSPolicies]
	old, err := tx.Get(ctx, def, policyID, true)
	if errors.Is(err, store.ErrNotFound) {
		return PolicyNotFound(policyID)
	}
	if err != nil {
		return err
	}
	patch := resource.New(def)
	patch.Set("id", policyID)
	if def.Attr("revision_number") != nil {
		patch.Set("revision_number", old.Int("revision_number")+1)
	}
	if def.Attr("updated_at") != nil {
		patch.Set("updated_at", p.now().UTC().Truncate(time.Second))
	}
	if err := tx.Update(ctx, patch); err != nil {
		return fmt.Errorf("bump QoS policy %s: %w", policyID, err)
	}
	return p.notifyPolicy(ctx, tx, policyID)
}

// notifyPolicy tells the L2 agents that a policy's rules changed, as
// Neutron pushes the QosPolicy object; an agent with a port using it
// converges again.
func (p *Plugin) notifyPolicy(ctx context.Context, tx *store.Tx, policyID string) error {
	if p.outbox == nil {
		return nil
	}
	n, err := rpcapi.NewNotification(rpcapi.TopicQoSPolicy, rpcapi.MethodResourcePush, true,
		rpcapi.ResourcePush{ResourceType: "QosPolicy", EventType: "updated", Resources: []map[string]any{{"id": policyID}}})
	if err != nil {
		return err
	}
	return p.outbox.Record(ctx, tx, n)
}
