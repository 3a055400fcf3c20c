package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// RBAC actions on networks.
const (
	accessAsShared   = rbac.AccessAsShared
	accessAsExternal = rbac.AccessAsExternal
)

var _ rbac.Registrar = (*Plugin)(nil)

// RBACTypes implements rbac.Registrar: the object types RBAC policies may
// target. The core plugin registers networks, address scopes and subnet
// pools; other plugins register theirs when wired.
func (p *Plugin) RBACTypes() *rbac.Registry { return p.rbac }

// registerRBACTypes registers the core plugin's own object types.
func (p *Plugin) registerRBACTypes() error {
	types := []rbac.Type{{
		ObjectType:  "network",
		Resource:    p.defs[apidef.Networks],
		Actions:     []string{accessAsShared, accessAsExternal},
		NotFound:    NetworkNotFound,
		CheckRemove: p.checkNetworkPolicyRemoval,
		Sync:        p.syncNetworkFlags,
	}, {
		// rbac-address-scope: shared is the wildcard policy; a scope is
		// in use by the projects whose subnet pools are in it.
		ObjectType: "address_scope",
		Resource:   p.defs[apidef.AddressScopes],
		Actions:    []string{accessAsShared},
		NotFound:   AddressScopeNotFound,
		Flags:      map[string]string{accessAsShared: "shared"},
		BoundProjects: func(ctx context.Context, tx *store.Tx, obj *resource.Object) ([]string, error) {
			return tx.Strings(ctx, apidef.SubnetPools, "DISTINCT project_id", "address_scope_id", obj.ID())
		},
	}, {
		// rbac-subnetpool: a pool is in use by the projects whose subnets
		// it allocated; a policy needs its target to see the pool's
		// address scope.
		ObjectType: "subnetpool",
		Resource:   p.defs[apidef.SubnetPools],
		Actions:    []string{accessAsShared},
		NotFound:   SubnetPoolNotFound,
		Flags:      map[string]string{accessAsShared: "shared"},
		BoundProjects: func(ctx context.Context, tx *store.Tx, obj *resource.Object) ([]string, error) {
			return tx.Strings(ctx, apidef.Subnets, "DISTINCT project_id", "subnetpool_id", obj.ID())
		},
		CheckCreate: p.checkSubnetPoolPolicy,
	}}
	for _, t := range types {
		if err := p.rbac.Register(t); err != nil {
			return err
		}
	}
	return nil
}

func invalidSharedSetting(network string) error {
	return fault.Conflict("InvalidSharedSetting",
		"Unable to reconfigure sharing settings for network %s. Multiple projects are using it.", network)
}

// checkSubnetPoolPolicy is SubnetPool.validate_rbac_policy_create: a pool
// in an address scope may be shared only with projects the scope is
// shared with.
func (p *Plugin) checkSubnetPoolPolicy(ctx context.Context, tx *store.Tx, pool, policy *resource.Object) error {
	scopeID, _ := pool.Get("address_scope_id").(string)
	if scopeID == "" {
		return nil
	}
	n, err := tx.RBACTargets(ctx, "address_scope", scopeID, policy.String("target_tenant"))
	if err != nil {
		return err
	}
	if n == 0 {
		return rbac.PolicyInitError(pool.ID(), "target project doesn't have access to associated address scope")
	}
	return nil
}

// checkNetworkPolicyRemoval refuses to take a network away from projects
// that use it: for access_as_shared, projects with ports on it
// (validate_network_rbac_policy_change); for access_as_external, projects
// with router gateways on it, and the wildcard of the default external
// network (_validate_ext_not_in_use_by_project).
func (p *Plugin) checkNetworkPolicyRemoval(ctx context.Context, tx *store.Tx, net, policy *resource.Object, newTarget string, others map[string]bool) error {
	target := policy.String("target_tenant")
	if policy.String("action") == accessAsExternal {
		return p.checkExternalPolicyRemoval(ctx, tx, net, target, newTarget, others)
	}
	if target == net.String("project_id") {
		return nil
	}
	if target != rbac.Wildcard && others[rbac.Wildcard] {
		return nil
	}
	except := []string{net.String("project_id")}
	for t := range others {
		except = append(except, t)
	}
	var users []string
	var err error
	if target == rbac.Wildcard {
		users, err = tx.ProjectsWithPorts(ctx, net.ID(), except)
	} else if !others[target] {
		users, err = tx.ProjectsWithPorts(ctx, net.ID(), nil)
		users = keepOnly(users, target)
	}
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return rbac.PolicyInUse(net.ID(), invalidSharedSetting(net.ID()).(*fault.Error).Message)
	}
	return nil
}

func (p *Plugin) checkExternalPolicyRemoval(ctx context.Context, tx *store.Tx, net *resource.Object, target, newTarget string, others map[string]bool) error {
	owners, err := tx.RouterGatewayProjects(ctx, net.ID())
	if err != nil {
		return err
	}
	inUse := false
	if target != rbac.Wildcard {
		if others[rbac.Wildcard] {
			return nil
		}
		inUse = keepOnly(owners, target) != nil
	} else {
		if net.Resource().Attr("is_default") != nil && net.Bool("is_default") {
			return rbac.PolicyInUse(net.ID(), "Default external networks must be shared to everyone.")
		}
		for _, o := range owners {
			if !others[o] && o != newTarget {
				inUse = true
			}
		}
	}
	if inUse {
		return rbac.PolicyInUse(net.ID(), "There are routers attached to this network that depend on this policy for access.")
	}
	return nil
}

// syncNetworkFlags keeps a network's shared column in step with its
// wildcard access_as_shared policy, and router:external with whether any
// access_as_external policy is left (Neutron's externalnetworks row: a
// policy for one project makes the network external, the last one going
// makes it internal).
func (p *Plugin) syncNetworkFlags(ctx context.Context, tx *store.Tx, net *resource.Object, action string, targets map[string]bool) error {
	attr, on := "shared", targets[rbac.Wildcard]
	if action == accessAsExternal {
		attr, on = "router:external", len(targets) > 0
		if on == net.Bool(attr) || net.Resource().Attr(attr) == nil {
			return nil
		}
		if !on {
			n, err := tx.CountWhere(ctx, apidef.Ports, map[string]any{"network_id": net.ID(), "device_owner": "network:router_gateway"})
			if err != nil {
				return err
			}
			if n > 0 {
				return fault.Conflict("ExternalNetworkInUse",
					"External network %s cannot be updated to be non-external, since it has existing gateway ports.", net.ID())
			}
		}
	}
	if net.Resource().Attr(attr) == nil || net.Bool(attr) == on {
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
	if action == accessAsExternal && !on {
		// _process_l3_update: the network stops being external for
		// every project (ExternalNetworkInUse was checked before).
		return p.rbac.DeleteActionPolicies(ctx, tx, "network", net.ID(), accessAsExternal)
	}
	err := p.rbac.SyncWildcard(ctx, tx, "network", net, action, on)
	var f *fault.Error
	if action == accessAsShared && errors.As(err, &f) && f.Type == "RbacPolicyInUse" {
		return invalidSharedSetting(net.ID())
	}
	return err
}

// networkSharing shows each network as Neutron does for the caller:
// shared when an RBAC policy shares it with the caller's project.
func (p *Plugin) networkSharing(ctx context.Context, tx *store.Tx, nets []*resource.Object) error {
	if !p.rbac.Enabled() {
		return nil
	}
	ids := make([]string, len(nets))
	for i, n := range nets {
		ids[i] = n.ID()
	}
	shared, err := p.rbac.SharedWith(ctx, tx, "network", accessAsShared, reqctx.CallerFrom(ctx).ProjectID, ids)
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

func keepOnly(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x == s {
			out = append(out, x)
		}
	}
	return out
}

// rbacVisible reports whether the caller may see an object of objectType
// that RBAC policies may share.
func (p *Plugin) rbacVisible(ctx context.Context, tx *store.Tx, objectType string, obj *resource.Object) (bool, error) {
	ok, err := p.rbac.Visible(ctx, tx, objectType, obj)
	if err != nil {
		return false, fmt.Errorf("visibility of %s %s: %w", objectType, obj.ID(), err)
	}
	return ok, nil
}
