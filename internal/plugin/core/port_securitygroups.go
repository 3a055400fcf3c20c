package core

import (
	"context"

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
	// EnsureDefaultGroup creates the project's default security group if
	// it has none and the caller may create it.
	EnsureDefaultGroup(ctx context.Context, tx *store.Tx, project string) error
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

// ensureDefaultGroup gives a project its default security group when one
// of its networks or ports is created or a port updated, as Neutron's
// handler of those events does, so the group exists (and quota details
// count it) before anything lists groups.
func (p *Plugin) ensureDefaultGroup(ctx context.Context, tx *store.Tx, project string) error {
	if p.portSGs == nil || project == "" {
		return nil
	}
	return p.portSGs.EnsureDefaultGroup(ctx, tx, project)
}
