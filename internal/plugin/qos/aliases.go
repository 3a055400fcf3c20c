package qos

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// aliases serves a rule type's alias collection (qos-rules-alias,
// qos-pps-minimum-rule-alias): GET, PUT and DELETE of a rule by its id
// alone, on the rule's own table, with the policy's owner as the rule's
// project for policy checks.
type aliases struct {
	p     *Plugin
	def   *resource.Resource
	rules *generic.Handler
}

var (
	_ plugin.Handler        = (*aliases)(nil)
	_ plugin.PolicyTargeter = (*aliases)(nil)
)

// List implements plugin.Handler: Neutron serves no alias listing.
func (h *aliases) List(context.Context, *resource.Query) ([]*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Create implements plugin.Handler: rules are created under a policy.
func (h *aliases) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, fault.New(405, "HTTPMethodNotAllowed",
		"The server could not comply with the request since it is either malformed or otherwise incorrect.")
}

// NotFound gives the alias's 404, QosRuleNotFound with no policy.
func (h *aliases) NotFound(id string) error { return RuleNotFound("", id) }

// Get implements plugin.Handler.
func (h *aliases) Get(ctx context.Context, id string) (*resource.Object, error) {
	var out *resource.Object
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		rule, err := tx.Get(ctx, h.rules.Res, id, false)
		if errors.Is(err, store.ErrNotFound) {
			return RuleNotFound("", id)
		}
		if err != nil {
			return err
		}
		pol, err := h.p.policy(ctx, tx, rule.String("qos_policy_id"), false)
		if err != nil {
			if fault.Is(err, "QosPolicyNotFound") {
				return RuleNotFound("", id)
			}
			return err
		}
		out = h.view(rule, pol.String("project_id"))
		return nil
	})
	return out, err
}

// view shows a rule in the alias resource.
func (h *aliases) view(rule *resource.Object, project string) *resource.Object {
	o := resource.New(h.def)
	for _, a := range h.def.Attrs() {
		switch a.Name {
		case "tenant_id", "project_id":
			o.Set(a.Name, project)
		default:
			if rule.Resource().Attr(a.Name) != nil {
				o.Set(a.Name, rule.Get(a.Name))
			} else if a.Name == "direction" {
				o.Set(a.Name, "egress")
			}
		}
	}
	return o
}

// PolicyTargets implements plugin.PolicyTargeter: the rule's parent is
// its policy, as for the rules under a policy.
func (h *aliases) PolicyTargets(_ context.Context, objs []*resource.Object) ([]map[string]any, error) {
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		out[i] = map[string]any{"ext_parent:project_id": o.String("project_id"),
			"ext_parent:tenant_id": o.String("project_id")}
	}
	return out, nil
}

// Update implements plugin.Handler: the rule is updated as under its
// policy.
func (h *aliases) Update(ctx context.Context, id string, patch *resource.Object, ifRevision int) (*resource.Object, error) {
	cur, err := h.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	rp := resource.New(h.rules.Res)
	for _, a := range patch.Present() {
		if h.rules.Res.Attr(a.Name) != nil && a.Name != "id" {
			rp.Set(a.Name, patch.Get(a.Name))
		}
	}
	updated, err := h.rules.Update(ctx, id, rp, ifRevision)
	if err != nil {
		return nil, err
	}
	return h.view(updated, cur.String("project_id")), nil
}

// Delete implements plugin.Handler.
func (h *aliases) Delete(ctx context.Context, id string, ifRevision int) error {
	if _, err := h.Get(ctx, id); err != nil {
		return err
	}
	return h.rules.Delete(ctx, id, ifRevision)
}

// ruleTypes serves /qos/rule-types: the rule types the loaded drivers
// support (all_supported: any of them; all_rules: every type Neutron
// knows), and one type's details for admins.
type ruleTypes struct {
	p   *Plugin
	def *resource.Resource
}

var _ plugin.Handler = (*ruleTypes)(nil)

// List implements plugin.Handler.
func (h *ruleTypes) List(_ context.Context, q *resource.Query) ([]*resource.Object, error) {
	var allSupported, allRules bool
	for _, f := range q.Filters {
		for _, v := range f.Values {
			b, _ := v.(bool)
			switch f.Attr.Name {
			case "all_supported":
				allSupported = allSupported || b
			case "all_rules":
				allRules = allRules || b
			}
		}
	}
	var out []*resource.Object
	for _, t := range supportedTypes(h.p.drivers, allSupported, allRules) {
		o := resource.New(h.def)
		o.Set("type", t)
		out = append(out, o)
	}
	return out, nil
}

// Get implements plugin.Handler: only admins see a rule type's details,
// as Neutron's get_rule_type insists.
func (h *ruleTypes) Get(ctx context.Context, id string) (*resource.Object, error) {
	if !callerIsAdmin(ctx) {
		return nil, fault.New(403, "NotAuthorized", "Not authorized.")
	}
	if apidef.LookupQoSRuleType(id) == nil {
		return nil, fault.HTTPNotFound()
	}
	o := resource.New(h.def)
	o.Set("type", id)
	if h.def.Attr("drivers") != nil {
		o.Set("drivers", typeDetails(h.p.drivers, id))
	}
	return o, nil
}

// Create implements plugin.Handler; rule types are read-only.
func (h *ruleTypes) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Update implements plugin.Handler; rule types are read-only.
func (h *ruleTypes) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Delete implements plugin.Handler; rule types are read-only.
func (h *ruleTypes) Delete(context.Context, string, int) error { return fault.HTTPNotFound() }
