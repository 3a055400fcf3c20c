// Package rbac is Neutron's RBAC policies (/v2.0/rbac-policies; Neutron's
// db/rbac_db_mixin.py and objects/rbac_db.py): the object types policies
// may target, the checks each type needs when a policy comes or goes, and
// the flags ("shared", "router:external") a type derives from its
// policies.
//
// The core plugin keeps the Registry and serves the policies. A plugin
// whose objects policies may share registers its object type when it is
// wired, finding the registry among the built plugins:
//
//	func (p *Plugin) Wire(all registry.Set) error {
//		if r, ok := registry.Find[rbac.Registrar](all); ok {
//			return r.RBACTypes().Register(rbac.Type{ObjectType: "qos_policy", ...})
//		}
//		return nil
//	}
//
// The package imports no plugin, so any plugin may import it.
package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Neutron's RBAC actions.
const (
	AccessAsShared   = "access_as_shared"
	AccessAsExternal = "access_as_external"
)

// Wildcard is the target of a policy that applies to every project.
const Wildcard = "*"

// Type is one object type RBAC policies may target.
type Type struct {
	// ObjectType is the policies' object_type ("network", "qos_policy").
	ObjectType string
	// Resource is the served definition of the objects; a Type with a nil
	// Resource (its extension not enabled) is not registered.
	Resource *resource.Resource
	// Actions are the actions policies on the type may have.
	Actions []string
	// NotFound is the type's 404 for an object that does not exist.
	NotFound func(id string) error
	// Flags maps an action to the object's boolean attribute that the
	// action's wildcard policy stands for ("access_as_shared": "shared"):
	// Sync keeps it in step unless the type sets its own.
	Flags map[string]string
	// BoundProjects returns the projects whose objects depend on obj
	// (Neutron's get_bound_project_ids: the owners of subnets allocated
	// from a pool, of ports using a security group ...). Removing an
	// access_as_shared policy that one of them needs is RbacPolicyInUse.
	// Nil: nothing depends on the type's objects.
	BoundProjects func(ctx context.Context, tx *store.Tx, obj *resource.Object) ([]string, error)
	// CheckRemove, when set, replaces the BoundProjects check before a
	// policy is deleted or retargeted (networks: ports for
	// access_as_shared, routers for access_as_external). newTarget is the
	// update's target, or "" for a delete; others are the targets of the
	// object's other policies with the same action.
	CheckRemove func(ctx context.Context, tx *store.Tx, obj, policy *resource.Object, newTarget string, others map[string]bool) error
	// CheckCreate, when set, validates a new policy after the generic
	// checks (subnet pools: the target must see the pool's address scope).
	CheckCreate func(ctx context.Context, tx *store.Tx, obj, policy *resource.Object) error
	// Sync, when set, replaces the Flags update after the object's
	// policies of action changed; targets are the targets of its policies
	// of that action once the change is made.
	Sync func(ctx context.Context, tx *store.Tx, obj *resource.Object, action string, targets map[string]bool) error
}

// Registrar is the plugin that keeps the registry (the core plugin);
// plugins find it with registry.Find when wired.
type Registrar interface {
	RBACTypes() *Registry
}

// Registry holds the object types policies may target.
type Registry struct {
	// def is the rbac_policies definition; nil when the rbac-policies
	// extension is not enabled.
	def   *resource.Resource
	mu    sync.RWMutex
	types map[string]*Type
}

// NewRegistry returns an empty registry for policies of def (nil when
// the rbac-policies extension is not enabled: then every method is a
// no-op and Register ignores types).
func NewRegistry(def *resource.Resource) *Registry {
	return &Registry{def: def, types: map[string]*Type{}}
}

// Enabled reports whether RBAC policies are served.
func (r *Registry) Enabled() bool { return r != nil && r.def != nil }

// Register adds an object type; a type registered twice is an error.
func (r *Registry) Register(t Type) error {
	if !r.Enabled() || t.Resource == nil {
		return nil
	}
	if t.ObjectType == "" || len(t.Actions) == 0 || t.NotFound == nil {
		return fmt.Errorf("rbac: object type %q needs a name, actions and a NotFound error", t.ObjectType)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.ObjectType]; dup {
		return fmt.Errorf("rbac: object type %q registered twice", t.ObjectType)
	}
	r.types[t.ObjectType] = &t
	return nil
}

// Lookup returns the registered type of an object type.
func (r *Registry) Lookup(objectType string) (*Type, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[objectType]
	return t, ok
}

// ObjectTypes are the registered object types, sorted.
func (r *Registry) ObjectTypes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.types))
	for k := range r.types {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PolicyNotFound is Neutron's RbacPolicyNotFound.
func PolicyNotFound(id string) error {
	return fault.NotFound("RbacPolicyNotFound", fmt.Sprintf("RBAC policy of type %s with ID %s not found", "rbac_policy", id))
}

// PolicyInUse is Neutron's RbacPolicyInUse.
func PolicyInUse(objectID, details string) error {
	return fault.Conflict("RbacPolicyInUse",
		"RBAC policy on object %s cannot be removed because other objects depend on it.\nDetails: %s", objectID, details)
}

// PolicyInitError is Neutron's RbacPolicyInitError.
func PolicyInitError(objectID, reason string) error {
	return fault.New(400, "RbacPolicyInitError", "Failed to create RBAC policy on object %s because %s.", objectID, reason)
}

// object reads the object a policy targets, locked; nil when it is gone.
func (r *Registry) object(ctx context.Context, tx *store.Tx, t *Type, id string) (*resource.Object, error) {
	obj, err := tx.Get(ctx, t.Resource, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", t.ObjectType, id, err)
	}
	return obj, nil
}

// Targets returns the targets of the policies of an object with an
// action, less the policy exceptID.
func (r *Registry) Targets(ctx context.Context, tx *store.Tx, objectID, action, exceptID string) (map[string]bool, error) {
	out := map[string]bool{}
	if !r.Enabled() {
		return out, nil
	}
	policies, err := tx.List(ctx, r.def, &resource.Query{Filters: []resource.Filter{
		{Attr: r.def.Attr("object_id"), Values: []any{objectID}},
		{Attr: r.def.Attr("action"), Values: []any{action}},
	}})
	if err != nil {
		return nil, fmt.Errorf("read RBAC policies of %s: %w", objectID, err)
	}
	for _, pol := range policies {
		if pol.ID() != exceptID {
			out[pol.String("target_tenant")] = true
		}
	}
	return out, nil
}

// beforeCreate validates a new policy and brings its object's flags in
// step.
func (r *Registry) beforeCreate(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	objectType := o.String("object_type")
	t, ok := r.Lookup(objectType)
	if !ok {
		return fault.InvalidInput(fmt.Sprintf("'%s' is not a valid RBAC object type", objectType))
	}
	action := o.String("action")
	if !slices.Contains(t.Actions, action) {
		return fault.InvalidInput(fmt.Sprintf("Action '%s' for object type %s is not supported", action, objectType))
	}
	obj, err := r.object(ctx, tx, t, o.String("object_id"))
	if err != nil {
		return err
	}
	if obj == nil {
		return t.NotFound(o.String("object_id"))
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && obj.String("project_id") != caller.ProjectID {
		kind := "objects" // Neutron's generic RBAC objects word it so
		if objectType == "network" {
			kind = "networks"
		}
		return fault.InvalidInput("Only admins can manipulate policies on " + kind + " they do not own")
	}
	targets, err := r.Targets(ctx, tx, obj.ID(), action, "")
	if err != nil {
		return err
	}
	if targets[o.String("target_tenant")] {
		return fault.Conflict("DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
	}
	if t.CheckCreate != nil {
		if err := t.CheckCreate(ctx, tx, obj, o); err != nil {
			return err
		}
	}
	targets[o.String("target_tenant")] = true
	return r.sync(ctx, tx, t, obj, action, targets)
}

// beforeUpdate checks a retargeted policy as a removal of its old
// target and brings the object's flags in step.
func (r *Registry) beforeUpdate(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !patch.Has("target_tenant") || patch.String("target_tenant") == old.String("target_tenant") {
		return nil
	}
	t, obj, others, err := r.removal(ctx, tx, old)
	if err != nil || obj == nil {
		return err
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin && obj.String("project_id") != caller.ProjectID {
		return fault.InvalidInput("Only admins can manipulate policies on objects they do not own")
	}
	if others[patch.String("target_tenant")] {
		return fault.Conflict("DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
	}
	if err := r.checkRemove(ctx, tx, t, obj, old, patch.String("target_tenant"), others); err != nil {
		return err
	}
	others[patch.String("target_tenant")] = true
	return r.sync(ctx, tx, t, obj, old.String("action"), others)
}

// beforeDelete refuses to remove a policy that a project still depends
// on and brings the object's flags in step.
func (r *Registry) beforeDelete(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	t, obj, others, err := r.removal(ctx, tx, o)
	if err != nil || obj == nil {
		return err
	}
	if err := r.checkRemove(ctx, tx, t, obj, o, "", others); err != nil {
		return err
	}
	return r.sync(ctx, tx, t, obj, o.String("action"), others)
}

// removal reads what removing policy touches: its type, its object (nil
// when either is gone) and the targets of the object's other policies
// with the same action.
func (r *Registry) removal(ctx context.Context, tx *store.Tx, policy *resource.Object) (*Type, *resource.Object, map[string]bool, error) {
	t, ok := r.Lookup(policy.String("object_type"))
	if !ok {
		return nil, nil, nil, nil
	}
	obj, err := r.object(ctx, tx, t, policy.String("object_id"))
	if err != nil || obj == nil {
		return nil, nil, nil, err
	}
	others, err := r.Targets(ctx, tx, obj.ID(), policy.String("action"), policy.ID())
	if err != nil {
		return nil, nil, nil, err
	}
	return t, obj, others, nil
}

// checkRemove is Neutron's validate_rbac_policy_delete: removing an
// access_as_shared policy is refused while a project it lets use the
// object (and no other policy does) depends on it; for the wildcard,
// every dependent project (the owner too, as in Neutron) needs a policy
// of its own.
func (r *Registry) checkRemove(ctx context.Context, tx *store.Tx, t *Type, obj, policy *resource.Object, newTarget string, others map[string]bool) error {
	if t.CheckRemove != nil {
		return t.CheckRemove(ctx, tx, obj, policy, newTarget, others)
	}
	target := policy.String("target_tenant")
	if policy.String("action") != AccessAsShared || t.BoundProjects == nil || target == obj.String("project_id") {
		return nil
	}
	if newTarget == Wildcard {
		return nil // Neutron: retargeting to everyone takes nothing away
	}
	bound, err := t.BoundProjects(ctx, tx, obj)
	if err != nil {
		return err
	}
	for _, p := range bound {
		lost := target == Wildcard && !others[p]
		if target != Wildcard {
			lost = p == target && !others[Wildcard]
		}
		if lost {
			return PolicyInUse(obj.ID(), "project_id="+target)
		}
	}
	return nil
}

// sync brings the object's flags in step with its policies of action.
func (r *Registry) sync(ctx context.Context, tx *store.Tx, t *Type, obj *resource.Object, action string, targets map[string]bool) error {
	if t.Sync != nil {
		return t.Sync(ctx, tx, obj, action, targets)
	}
	attr := t.Flags[action]
	if attr == "" {
		return nil
	}
	return SetFlag(ctx, tx, obj, attr, targets[Wildcard])
}

// SetFlag writes a boolean column of obj when it differs.
func SetFlag(ctx context.Context, tx *store.Tx, obj *resource.Object, attr string, on bool) error {
	if obj.Resource().Attr(attr) == nil || obj.Bool(attr) == on {
		return nil
	}
	patch := resource.New(obj.Resource())
	patch.Set("id", obj.ID())
	patch.Set(attr, on)
	if err := tx.Update(ctx, patch); err != nil {
		return fmt.Errorf("set %s of %s: %w", attr, obj.ID(), err)
	}
	obj.Set(attr, on)
	return nil
}

// SyncWildcard creates or removes the wildcard policy of action that a
// flag of obj (shared, router:external) stands for, as Neutron does when
// the flag is set through the object's own API. Removing it runs the
// type's removal check first.
func (r *Registry) SyncWildcard(ctx context.Context, tx *store.Tx, objectType string, obj *resource.Object, action string, on bool) error {
	if !r.Enabled() {
		return nil
	}
	existing, err := tx.List(ctx, r.def, &resource.Query{Filters: []resource.Filter{
		{Attr: r.def.Attr("object_id"), Values: []any{obj.ID()}},
		{Attr: r.def.Attr("object_type"), Values: []any{objectType}},
		{Attr: r.def.Attr("action"), Values: []any{action}},
		{Attr: r.def.Attr("target_tenant"), Values: []any{Wildcard}},
	}})
	if err != nil {
		return fmt.Errorf("read wildcard policy of %s: %w", obj.ID(), err)
	}
	switch {
	case on && len(existing) == 0:
		pol := resource.New(r.def)
		pol.Set("id", uuid.NewString())
		pol.Set("project_id", obj.String("project_id"))
		pol.Set("object_type", objectType)
		pol.Set("object_id", obj.ID())
		pol.Set("action", action)
		pol.Set("target_tenant", Wildcard)
		if err := tx.Insert(ctx, pol); err != nil {
			return fmt.Errorf("share %s: %w", obj.ID(), err)
		}
	case !on && len(existing) > 0:
		if t, ok := r.Lookup(objectType); ok {
			others, err := r.Targets(ctx, tx, obj.ID(), action, existing[0].ID())
			if err != nil {
				return err
			}
			if err := r.checkRemove(ctx, tx, t, obj, existing[0], "", others); err != nil {
				return err
			}
		}
		for _, pol := range existing {
			if err := tx.Delete(ctx, r.def, pol.ID()); err != nil {
				return fmt.Errorf("unshare %s: %w", obj.ID(), err)
			}
		}
	}
	return nil
}

// DeletePolicies removes the policies of an object being deleted.
func (r *Registry) DeletePolicies(ctx context.Context, tx *store.Tx, objectType, id string) error {
	if !r.Enabled() {
		return nil
	}
	if _, err := tx.DeleteWhere(ctx, r.def.Collection, map[string]any{"object_type": objectType, "object_id": id}); err != nil {
		return fmt.Errorf("delete RBAC policies of %s: %w", id, err)
	}
	return nil
}

// DeleteActionPolicies removes an object's policies of one action.
func (r *Registry) DeleteActionPolicies(ctx context.Context, tx *store.Tx, objectType, id, action string) error {
	if !r.Enabled() {
		return nil
	}
	if _, err := tx.DeleteWhere(ctx, r.def.Collection, map[string]any{"object_type": objectType, "object_id": id, "action": action}); err != nil {
		return fmt.Errorf("delete %s policies of %s: %w", action, id, err)
	}
	return nil
}

// SharedWith returns which of ids, objects of objectType, a policy of
// action shares with project or with everyone; it reads the policies of
// those objects only.
func (r *Registry) SharedWith(ctx context.Context, tx *store.Tx, objectType, action, project string, ids []string) (map[string]bool, error) {
	if !r.Enabled() {
		return map[string]bool{}, nil
	}
	return tx.RBACShared(ctx, objectType, action, project, ids)
}

// ids returns the ids of objs.
func ids(objs []*resource.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID()
	}
	return out
}

// MarkShared shows attr ("shared") true on each object an
// access_as_shared policy shares with the caller's project, as Neutron's
// RBAC objects derive it per caller, and false on the others.
func (r *Registry) MarkShared(ctx context.Context, tx *store.Tx, objectType, attr string, objs []*resource.Object) error {
	if !r.Enabled() || len(objs) == 0 || objs[0].Resource().Attr(attr) == nil {
		return nil
	}
	shared, err := r.SharedWith(ctx, tx, objectType, AccessAsShared, reqctx.CallerFrom(ctx).ProjectID, ids(objs))
	if err != nil {
		return err
	}
	for _, o := range objs {
		o.Set(attr, shared[o.ID()])
	}
	return nil
}

// Visible reports whether the caller may see obj: an admin, its owner,
// or a project a policy of objectType targets (or every project).
func (r *Registry) Visible(ctx context.Context, tx *store.Tx, objectType string, obj *resource.Object) (bool, error) {
	c := reqctx.CallerFrom(ctx)
	if c.IsAdmin || obj.String("project_id") == c.ProjectID {
		return true, nil
	}
	if !r.Enabled() {
		return obj.Bool("shared"), nil
	}
	n, err := tx.RBACTargets(ctx, objectType, obj.ID(), c.ProjectID)
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// Handler returns the handler of /v2.0/rbac-policies; quota, when set,
// enforces [quotas] quota_rbac_policy.
func (r *Registry) Handler(s *store.Store, quota generic.Quota) *generic.Handler {
	h := generic.New(r.def, s, generic.Hooks{
		NotFound:      PolicyNotFound,
		BeforeCreate:  r.beforeCreate,
		BeforeUpdate:  r.beforeUpdate,
		BeforeDelete:  r.beforeDelete,
		QuotaResource: "rbac_policy",
	})
	h.Quota = quota
	return h
}
