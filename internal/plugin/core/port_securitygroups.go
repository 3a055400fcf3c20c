package core

import (
	"context"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// PortSecurityGroups is what ports need from the security group plugin
// (securitygroups.Plugin): each method runs inside the port's write
// transaction.
type PortSecurityGroups interface {
	// CreatePortGroups binds a new port (its row stored, its addresses
	// allocated) to its security groups and sets its security_groups.
	CreatePortGroups(ctx context.Context, tx *store.Tx, port *resource.Object) error
	// UpdatePortGroups applies an update's security groups and port
	// security rules; it may rewrite the patch's security_groups.
	UpdatePortGroups(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error
	// DeletePortGroups runs before a port's row goes.
	DeletePortGroups(ctx context.Context, tx *store.Tx, port *resource.Object) error
}

// SetPortSecurityGroups makes ports take security groups from sg; call it
// once at start-up, before serving.
func (p *Plugin) SetPortSecurityGroups(sg PortSecurityGroups) { p.portSGs = sg }

func (p *Plugin) createPortGroups(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if p.portSGs == nil {
		return nil
	}
	return p.portSGs.CreatePortGroups(ctx, tx, port)
}

func (p *Plugin) updatePortGroups(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if p.portSGs == nil {
		return nil
	}
	return p.portSGs.UpdatePortGroups(ctx, tx, old, patch)
}

func (p *Plugin) deletePortGroups(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if p.portSGs == nil {
		return nil
	}
	return p.portSGs.DeletePortGroups(ctx, tx, port)
}

// securityGroupNotFound is the 404 of an RBAC policy on a missing group.
func securityGroupNotFound(id string) error {
	return fault.NotFound("SecurityGroupNotFound", fmt.Sprintf("Security group %s does not exist", id))
}

func init() {
	rbacTypes["security_group"] = rbacType{collection: apidef.SecurityGroups, actions: []string{accessAsShared},
		notFound: securityGroupNotFound}
}

// checkSecurityGroupAccessLoss refuses to take a shared security group
// away from a project whose ports use it, as Neutron's
// _validate_rbac_policy_delete does (RbacPolicyInUse).
func (p *Plugin) checkSecurityGroupAccessLoss(ctx context.Context, tx *store.Tx, policy *resource.Object) error {
	sg, err := p.rbacObject(ctx, tx, policy)
	if err != nil || sg == nil {
		return err
	}
	target := policy.String("target_tenant")
	users, err := tx.SecurityGroupPortProjects(ctx, sg.ID())
	if err != nil {
		return err
	}
	allowed, err := p.sharedTargets(ctx, tx, sg.ID(), policy.ID())
	if err != nil {
		return err
	}
	inUse := false
	for _, u := range users {
		switch {
		case u == sg.String("project_id"):
		case target != "*":
			inUse = inUse || (u == target && !allowed["*"])
		default:
			inUse = inUse || !allowed[u]
		}
	}
	if inUse {
		return fault.Conflict("RbacPolicyInUse",
			"RBAC policy on object %s cannot be removed because other objects depend on it.\nDetails: project_id=%s",
			sg.ID(), target)
	}
	return nil
}
