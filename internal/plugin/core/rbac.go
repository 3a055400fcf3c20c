package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// RBAC actions on networks.
const (
	accessAsShared   = "access_as_shared"
	accessAsExternal = "access_as_external"
)

// rbacType describes an object type RBAC policies may target: the
// collection holding the objects and the actions allowed on them. Further
// types (qos_policy, security_group, address_scope, subnetpool,
// address_group) slot in here as their resources arrive.
type rbacType struct {
	collection string
	actions    []string
	notFound   func(id string) error
}

var rbacTypes = map[string]rbacType{
	"network": {collection: apidef.Networks, actions: []string{accessAsShared, accessAsExternal},
		notFound: NetworkNotFound},
}

// RBACPolicyNotFound is Neutron's RbacPolicyNotFound.
func RBACPolicyNotFound(id string) error {
	return fault.NotFound("RbacPolicyNotFound", fmt.Sprintf("RBAC policy of type %s with ID %s not found", "rbac_policy", id))
}

func invalidSharedSetting(network string) error {
	return fault.Conflict("InvalidSharedSetting",
		"Unable to reconfigure sharing settings for network %s. Multiple projects are using it.", network)
}

func (p *Plugin) rbacHandler(def *resource.Resource) *generic.Handler {
	return generic.New(def, p.store, generic.Hooks{
		NotFound:      RBACPolicyNotFound,
		BeforeCreate:  p.beforeCreateRBAC,
		BeforeUpdate:  p.beforeUpdateRBAC,
		BeforeDelete:  p.beforeDeleteRBAC,
		AfterRead:     mirrorTargetProject,
		QuotaResource: "rbac_policy",
	})
}

// mirrorTargetProject shows target_project, the newer name of
// target_tenant, as Neutron does.
func mirrorTargetProject(_ context.Context, _ *store.Tx, objs []*resource.Object) error {
	for _, o := range objs {
		if o.Resource().Attr("target_project") != nil {
			o.Set("target_project", o.Get("target_tenant"))
		}
	}
	return nil
}

// reconcileTarget makes target_tenant and target_project agree.
func reconcileTarget(o *resource.Object, required bool) error {
	t, p := o.Has("target_tenant"), o.Has("target_project")
	switch {
	case t && p && o.String("target_tenant") != o.String("target_project"):
		return fault.BadRequest("'target_project' and 'target_tenant' do not match")
	case p && !t:
		o.Set("target_tenant", o.Get("target_project"))
	case !t && !p && required:
		return fault.BadRequest("Failed to parse request. Required attribute 'target_tenant' not specified")
	}
	o.Unset("target_project")
	return nil
}

func (p *Plugin) beforeCreateRBAC(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := reconcileTarget(o, true); err != nil {
		return err
	}
	typ, ok := rbacTypes[o.String("object_type")]
	if !ok {
		return fault.InvalidInput(fmt.Sprintf("'%s' is not a valid RBAC object type", o.String("object_type")))
	}
	action := o.String("action")
	if !contains(typ.actions, action) {
		return fault.InvalidInput(fmt.Sprintf("Action '%s' for object type %s is not supported", action, o.String("object_type")))
	}
	obj, err := tx.Get(ctx, p.defs[typ.collection], o.String("object_id"), true)
	if errors.Is(err, store.ErrNotFound) {
		return typ.notFound(o.String("object_id"))
	}
	if err != nil {
		return err
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && obj.String("project_id") != caller.ProjectID {
		kind := "networks"
		if typ.collection != apidef.Networks {
			kind = "objects" // neutron/objects/rbac_db.py words it so for other types
		}
		return fault.InvalidInput("Only admins can manipulate policies on " + kind + " they do not own")
	}
	n, err := tx.CountWhere(ctx, apidef.RBACPolicies, map[string]any{"object_type": o.String("object_type"),
		"object_id": o.String("object_id"), "action": action, "target_tenant": o.String("target_tenant")})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
	}
	return p.syncNetworkFlag(ctx, tx, obj, action, o.String("target_tenant"), true)
}

func (p *Plugin) beforeUpdateRBAC(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if err := reconcileTarget(patch, false); err != nil {
		return err
	}
	if !patch.Has("target_tenant") || patch.String("target_tenant") == old.String("target_tenant") {
		return nil
	}
	if err := p.checkAccessLoss(ctx, tx, old); err != nil {
		return err
	}
	net, err := p.rbacObject(ctx, tx, old)
	if err != nil || net == nil {
		return err
	}
	if err := p.syncNetworkFlag(ctx, tx, net, old.String("action"), old.String("target_tenant"), false); err != nil {
		return err
	}
	return p.syncNetworkFlag(ctx, tx, net, old.String("action"), patch.String("target_tenant"), true)
}

func (p *Plugin) beforeDeleteRBAC(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := p.checkAccessLoss(ctx, tx, o); err != nil {
		return err
	}
	net, err := p.rbacObject(ctx, tx, o)
	if err != nil || net == nil {
		return err
	}
	return p.syncNetworkFlag(ctx, tx, net, o.String("action"), o.String("target_tenant"), false)
}

func (p *Plugin) rbacObject(ctx context.Context, tx *store.Tx, policy *resource.Object) (*resource.Object, error) {
	typ, ok := rbacTypes[policy.String("object_type")]
	if !ok {
		return nil, nil
	}
	obj, err := tx.Get(ctx, p.defs[typ.collection], policy.String("object_id"), true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return obj, err
}

// checkAccessLoss refuses to take sharing away from a project that has
// ports on the network, as Neutron does (RbacPolicyInUse in its words for
// the shared-network case: InvalidSharedSetting).
func (p *Plugin) checkAccessLoss(ctx context.Context, tx *store.Tx, policy *resource.Object) error {
	if policy.String("object_type") == "security_group" && policy.String("action") == accessAsShared {
		return p.checkSecurityGroupAccessLoss(ctx, tx, policy)
	}
	if policy.String("object_type") != "network" || policy.String("action") != accessAsShared {
		return nil
	}
	net, err := p.rbacObject(ctx, tx, policy)
	if err != nil || net == nil {
		return err
	}
	target := policy.String("target_tenant")
	if target == net.String("project_id") {
		return nil
	}
	allowed, err := p.sharedTargets(ctx, tx, net.ID(), policy.ID())
	if err != nil {
		return err
	}
	if target != "*" && allowed["*"] {
		return nil
	}
	except := []string{net.String("project_id")}
	for t := range allowed {
		except = append(except, t)
	}
	var users []string
	if target == "*" {
		users, err = tx.ProjectsWithPorts(ctx, net.ID(), except)
	} else if !allowed[target] {
		users, err = tx.ProjectsWithPorts(ctx, net.ID(), nil)
		users = keepOnly(users, target)
	}
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fault.Conflict("RbacPolicyInUse",
			"RBAC policy on object %s cannot be removed because other objects depend on it.\nDetails: %s",
			net.ID(), invalidSharedSetting(net.ID()).(*fault.Error).Message)
	}
	return nil
}

// sharedTargets are the targets of the network's other access_as_shared
// policies.
func (p *Plugin) sharedTargets(ctx context.Context, tx *store.Tx, netID, exceptPolicy string) (map[string]bool, error) {
	def := p.defs[apidef.RBACPolicies]
	policies, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("object_id"), Values: []any{netID}},
		{Attr: def.Attr("action"), Values: []any{accessAsShared}},
	}})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, pol := range policies {
		if pol.ID() != exceptPolicy {
			out[pol.String("target_tenant")] = true
		}
	}
	return out, nil
}

// syncNetworkFlag keeps a network's shared and router:external columns in
// step with its wildcard policies: they are what lists filter on.
func (p *Plugin) syncNetworkFlag(ctx context.Context, tx *store.Tx, net *resource.Object, action, target string, on bool) error {
	if target != "*" {
		return nil
	}
	if net.Resource().Collection == apidef.SecurityGroups && action == accessAsShared {
		return syncSharedColumn(ctx, tx, net, on)
	}
	if net.Resource().Collection != apidef.Networks {
		return nil
	}
	attr := "shared"
	if action == accessAsExternal {
		attr = "router:external"
	}
	if net.Bool(attr) == on {
		return nil
	}
	patch := resource.New(net.Resource())
	patch.Set(attr, on)
	_, err := genericOf(p.handlers[apidef.Networks]).Write(ctx, tx, net, patch)
	return err
}

// syncWildcardPolicy creates or removes the wildcard policy that a
// network's shared or router:external flag stands for, as Neutron does
// when those flags are set through the network API.
func (p *Plugin) syncWildcardPolicy(ctx context.Context, tx *store.Tx, net *resource.Object, action string, on bool) error {
	def := p.defs[apidef.RBACPolicies]
	if def == nil {
		return nil
	}
	existing, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("object_id"), Values: []any{net.ID()}},
		{Attr: def.Attr("action"), Values: []any{action}},
		{Attr: def.Attr("target_tenant"), Values: []any{"*"}},
	}})
	if err != nil {
		return err
	}
	switch {
	case on && len(existing) == 0:
		pol := resource.New(def)
		pol.Set("id", uuid.NewString())
		pol.Set("project_id", net.String("project_id"))
		pol.Set("object_type", "network")
		pol.Set("object_id", net.ID())
		pol.Set("action", action)
		pol.Set("target_tenant", "*")
		return tx.Insert(ctx, pol)
	case !on && len(existing) > 0:
		if action == accessAsShared {
			if err := p.checkAccessLoss(ctx, tx, existing[0]); err != nil {
				return invalidSharedSetting(net.ID())
			}
		}
		for _, pol := range existing {
			if err := tx.Delete(ctx, def, pol.ID()); err != nil {
				return err
			}
		}
	}
	return nil
}

// networkSharing shows each network as Neutron does for the caller:
// shared when an RBAC policy shares it with the caller's project.
func (p *Plugin) networkSharing(ctx context.Context, tx *store.Tx, nets []*resource.Object) error {
	if p.defs[apidef.RBACPolicies] == nil {
		return nil
	}
	shared, err := tx.RBACShared(ctx, "network", accessAsShared, reqctx.CallerFrom(ctx).ProjectID)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if shared[n.ID()] {
			n.Set("shared", true)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keepOnly(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x == s {
			out = append(out, x)
		}
	}
	return out
}

// syncSharedColumn keeps the shared column of an object without a
// handler of the core plugin's (a security group) in step with its
// wildcard policy.
func syncSharedColumn(ctx context.Context, tx *store.Tx, obj *resource.Object, on bool) error {
	if obj.Resource().Attr("shared") == nil || obj.Bool("shared") == on {
		return nil
	}
	patch := resource.New(obj.Resource())
	patch.Set("id", obj.ID())
	patch.Set("shared", on)
	return tx.Update(ctx, patch)
}
