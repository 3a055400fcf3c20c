// Package autoallocate is Neutron's auto_allocate service plugin (the
// auto-allocated-topology extension, "get me a network"): GET
// /v2.0/auto-allocated-topology/{project_id} gives a project a network
// of its own — a network, a subnet from each default subnet pool, and a
// router on the default external network — building it on first use;
// ?fields=dry-run checks that it could; DELETE removes it.
//
// As in Neutron it builds through the other plugins' handlers, one
// resource at a time, and undoes what it built when a step fails. Two
// concurrent first requests may both build; the topology recorded first
// wins and the other is removed. It is a default service plugin, served
// whenever the router, subnet_allocation and external-net extensions are.
package autoallocate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "auto_allocate",
		Aliases:    []string{"neutron.services.auto_allocate.plugin.Plugin"},
		Extensions: []string{"auto-allocated-topology"},
		Default:    true,
		Configure: func(*config.Config, *slog.Logger) (registry.Build, error) {
			return func(env registry.Env) (registry.Plugin, error) {
				return &Plugin{store: env.Store, defs: env.Defs, log: env.Logger}, nil
			}, nil
		},
	})
}

// dryRun is the ?fields= value that asks for a check only.
const dryRun = "dry-run"

// Plugin serves auto-allocated topologies.
type Plugin struct {
	store *store.Store
	defs  map[string]*resource.Resource
	log   *slog.Logger

	networks, subnets, subnetPools, routers plugin.Handler
}

var (
	_ registry.Wirer = (*Plugin)(nil)
	_ plugin.Shower  = (*Plugin)(nil)
)

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	if p.defs[apidef.AutoAllocatedTopologies] == nil {
		return nil
	}
	return map[string]plugin.Handler{apidef.AutoAllocatedTopologies: p}
}

// Wire implements registry.Wirer: the topology is built through the core
// and router plugins' handlers.
func (p *Plugin) Wire(all registry.Set) error {
	if p.defs[apidef.AutoAllocatedTopologies] == nil {
		return nil // the extension is not served: no router plugin
	}
	hs := all.Handlers(p.defs)
	p.networks, p.subnets, p.subnetPools, p.routers = hs[apidef.Networks], hs[apidef.Subnets], hs[apidef.SubnetPools], hs[apidef.Routers]
	if p.networks == nil || p.subnets == nil || p.subnetPools == nil || p.routers == nil {
		return errors.New("auto_allocate: networks, subnets, subnet pools and routers must be served")
	}
	if _, ok := p.routers.(plugin.Actioner); !ok {
		return errors.New("auto_allocate: routers have no interface actions")
	}
	return nil
}

// AutoAllocationFailure is Neutron's AutoAllocationFailure (409).
func AutoAllocationFailure(reason string) error {
	return fault.Conflict("AutoAllocationFailure", "Deployment error: %s.", reason)
}

// project resolves the project a request addresses, as Neutron's
// _validate does: "None" is the caller's own, and only an admin may
// address another project's.
func project(ctx context.Context, id string) (string, error) {
	caller := reqctx.CallerFrom(ctx)
	if id == "None" {
		id = caller.ProjectID
	}
	if !caller.IsAdmin && id != caller.ProjectID {
		return "", fault.New(403, "NotAuthorized", "Not authorized.")
	}
	return id, nil
}

func (p *Plugin) object(id, project string) *resource.Object {
	o := resource.New(p.defs[apidef.AutoAllocatedTopologies])
	o.Set("id", id)
	o.Set("tenant_id", project)
	o.Set("project_id", project)
	return o
}

// Get implements plugin.Handler: the project's topology as it stands,
// building nothing (its id is empty while there is none), so that policy
// can be checked against the project before Show or Delete act.
func (p *Plugin) Get(ctx context.Context, id string) (*resource.Object, error) {
	proj, err := project(ctx, id)
	if err != nil {
		return nil, err
	}
	var network string
	err = p.store.Read(ctx, func(tx *store.Tx) error {
		network, _, _, err = tx.AutoAllocatedTopology(ctx, proj)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.object(network, proj), nil
}

// Show implements plugin.Shower: the project's network, built on first
// use; with fields=dry-run only the check that it could be built.
func (p *Plugin) Show(ctx context.Context, id string, fields []string) (*resource.Object, []string, error) {
	proj, err := project(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if slices.Contains(fields, dryRun) {
		if _, err := p.defaultExternalNetwork(ctx); err != nil {
			return nil, nil, err
		}
		if pools, err := p.defaultSubnetPools(ctx, proj); err != nil {
			return nil, nil, err
		} else if len(pools) == 0 {
			return nil, nil, AutoAllocationFailure("No default subnetpools defined")
		}
		return p.object("dry-run=pass", proj), nil, nil
	}
	if len(fields) > 0 {
		return nil, nil, fault.NeutronBadRequest("auto_allocate", "Unrecognized field")
	}
	network, err := p.topology(ctx, proj)
	if err != nil {
		return nil, nil, err
	}
	return p.object(network, proj), nil, nil
}

// topology returns the project's network, building the topology if it
// has none (or its network was deleted since).
func (p *Plugin) topology(ctx context.Context, proj string) (string, error) {
	var network string
	var found bool
	err := p.store.Read(ctx, func(tx *store.Tx) (err error) {
		network, _, found, err = tx.AutoAllocatedTopology(ctx, proj)
		return err
	})
	if err != nil {
		return "", err
	}
	if found {
		if _, err := p.networks.Get(ctx, network); err == nil {
			return network, nil
		} else if !isNotFound(err) {
			return "", err
		}
		// Its network was deleted: forget it and build anew.
		if err := p.store.Write(ctx, func(tx *store.Tx) error { return tx.DeleteAutoAllocatedTopology(ctx, proj) }); err != nil {
			return "", err
		}
	}
	external, err := p.defaultExternalNetwork(ctx)
	if err != nil {
		return "", err
	}
	return p.build(ctx, proj, external)
}

func isNotFound(err error) bool {
	e, ok := fault.As(err)
	return ok && e.Status == 404
}

// built is what a build has made so far, for undoing it.
type built struct {
	network  string
	subnets  []string
	router   string
	attached []string
}

// build makes the project's network, subnets and router, and records the
// topology; on failure it removes what it made.
func (p *Plugin) build(ctx context.Context, proj, external string) (network string, err error) {
	var b built
	defer func() {
		if err != nil {
			p.cleanup(ctx, proj, b)
		}
	}()
	if err := p.privateNetwork(ctx, proj, &b); err != nil {
		return "", err
	}
	if err := p.connect(ctx, proj, external, &b); err != nil {
		return "", err
	}
	var saved bool
	err = p.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		saved, err = tx.SaveAutoAllocatedTopology(ctx, proj, b.network, b.router)
		return err
	})
	if err != nil {
		return "", err
	}
	if !saved {
		// Another request's topology was recorded first: use it, and
		// remove this one.
		p.cleanup(ctx, proj, b)
		var winner string
		err := p.store.Read(ctx, func(tx *store.Tx) (err error) {
			winner, _, _, err = tx.AutoAllocatedTopology(ctx, proj)
			return err
		})
		return winner, err
	}
	patch := resource.New(p.defs[apidef.Networks])
	patch.Set("admin_state_up", true)
	if _, err := p.networks.Update(ctx, b.network, patch, plugin.NoRevision); err != nil {
		return "", fmt.Errorf("enable auto-allocated network %s: %w", b.network, err)
	}
	return b.network, nil
}

// privateNetwork creates the project's network, down until the topology
// is complete, and a subnet from each default subnet pool.
func (p *Plugin) privateNetwork(ctx context.Context, proj string, b *built) error {
	pools, err := p.defaultSubnetPools(ctx, proj)
	if err != nil {
		return err
	}
	if len(pools) == 0 {
		return AutoAllocationFailure("No default subnetpools defined")
	}
	nets, err := p.networks.Create(ctx, []*resource.Object{resource.NewWithDefaults(p.defs[apidef.Networks], map[string]any{
		"name": "auto_allocated_network", "admin_state_up": false, "shared": false, "project_id": proj,
	})})
	if err != nil {
		p.log.ErrorContext(ctx, "unable to auto allocate topology for project", "project_id", proj, "error", err)
		return AutoAllocationFailure("Unable to provide tenant private network")
	}
	b.network = nets[0].ID()
	for _, pool := range pools {
		v := pool.Int("ip_version")
		subnets, err := p.subnets.Create(ctx, []*resource.Object{resource.NewWithDefaults(p.defs[apidef.Subnets], map[string]any{
			"name": fmt.Sprintf("auto_allocated_subnet_v%d", v), "network_id": b.network, "project_id": proj,
			"ip_version": v, "subnetpool_id": pool.ID(),
		})})
		if err != nil {
			p.log.ErrorContext(ctx, "unable to auto allocate topology for project", "project_id", proj, "error", err)
			return AutoAllocationFailure("Unable to provide tenant private network")
		}
		b.subnets = append(b.subnets, subnets[0].ID())
	}
	return nil
}

// connect creates the project's router with its gateway on the default
// external network and attaches the subnets.
func (p *Plugin) connect(ctx context.Context, proj, external string, b *built) error {
	def := p.defs[apidef.Routers]
	gw := any(map[string]any{"network_id": external})
	if a := def.Attr("external_gateway_info"); a != nil && a.Convert != nil {
		var err error
		if gw, err = a.Convert(gw); err != nil {
			return err
		}
	}
	routers, err := p.routers.Create(ctx, []*resource.Object{resource.NewWithDefaults(def, map[string]any{
		"name": "auto_allocated_router", "external_gateway_info": gw, "project_id": proj, "admin_state_up": true,
	})})
	if err != nil {
		p.log.ErrorContext(ctx, "unable to auto allocate topology for project", "project_id", proj, "error", err)
		return AutoAllocationFailure("Unable to provide external connectivity")
	}
	b.router = routers[0].ID()
	for _, s := range b.subnets {
		if _, err := p.routers.(plugin.Actioner).Action(ctx, b.router, "add_router_interface", map[string]any{"subnet_id": s}); err != nil {
			p.log.ErrorContext(ctx, "unable to auto allocate topology for project", "project_id", proj, "error", err)
			return AutoAllocationFailure("Unable to provide external connectivity")
		}
		b.attached = append(b.attached, s)
	}
	return nil
}

// cleanup removes what a build made, as far as it can; what it cannot
// remove is logged, not returned, since the caller already has an error.
func (p *Plugin) cleanup(ctx context.Context, proj string, b built) {
	fail := func(what string, err error) {
		if err != nil && !isNotFound(err) {
			p.log.ErrorContext(ctx, "auto-allocated topology left behind", "project_id", proj, "what", what, "error", err)
		}
	}
	for _, s := range b.attached {
		_, err := p.routers.(plugin.Actioner).Action(ctx, b.router, "remove_router_interface", map[string]any{"subnet_id": s})
		fail("router interface", err)
	}
	if b.router != "" {
		fail("router", p.routers.Delete(ctx, b.router, plugin.NoRevision))
	}
	if b.network != "" {
		fail("network", p.networks.Delete(ctx, b.network, plugin.NoRevision))
	}
}

// Delete implements plugin.Handler: removes the project's topology, if
// it has one.
func (p *Plugin) Delete(ctx context.Context, id string, _ int) error {
	proj, err := project(ctx, id)
	if err != nil {
		return err
	}
	var b built
	var found bool
	err = p.store.Read(ctx, func(tx *store.Tx) (err error) {
		b.network, b.router, found, err = tx.AutoAllocatedTopology(ctx, proj)
		return err
	})
	if err != nil || !found {
		return err
	}
	subnets, err := p.subnets.List(ctx, &resource.Query{Filters: []resource.Filter{
		{Attr: p.defs[apidef.Subnets].Attr("network_id"), Values: []any{b.network}}}})
	if err != nil {
		return err
	}
	for _, s := range subnets {
		b.attached = append(b.attached, s.ID())
	}
	p.cleanup(ctx, proj, b)
	return p.store.Write(ctx, func(tx *store.Tx) error { return tx.DeleteAutoAllocatedTopology(ctx, proj) })
}

// defaultExternalNetwork is the external network marked is_default.
func (p *Plugin) defaultExternalNetwork(ctx context.Context) (string, error) {
	def := p.defs[apidef.Networks]
	nets, err := p.networks.List(ctx, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("router:external"), Values: []any{true}},
		{Attr: def.Attr("is_default"), Values: []any{true}},
	}, Sorts: []resource.SortKey{{Attr: def.Attr("id")}}})
	if err != nil {
		return "", err
	}
	if len(nets) == 0 {
		p.log.ErrorContext(ctx, "unable to find default external network for deployment; create or mark one to allow auto-allocation")
		return "", AutoAllocationFailure("No default router:external network")
	}
	if len(nets) > 1 {
		p.log.ErrorContext(ctx, "multiple default external networks", "default", nets[0].ID())
	}
	return nets[0].ID(), nil
}

// defaultSubnetPools are the default IPv4 and IPv6 pools the project may
// use (its own or shared), as Neutron's get_default_subnetpool finds them.
func (p *Plugin) defaultSubnetPools(ctx context.Context, proj string) ([]*resource.Object, error) {
	def := p.defs[apidef.SubnetPools]
	pools, err := p.subnetPools.List(ctx, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("is_default"), Values: []any{true}},
	}, Sorts: []resource.SortKey{{Attr: def.Attr("created_at")}, {Attr: def.Attr("id")}}})
	if err != nil {
		return nil, err
	}
	var out []*resource.Object
	seen := map[int]bool{}
	for _, pool := range pools {
		v := pool.Int("ip_version")
		if seen[v] || (pool.String("project_id") != proj && !pool.Bool("shared")) {
			continue
		}
		seen[v] = true
		out = append(out, pool)
	}
	slices.SortFunc(out, func(a, b *resource.Object) int { return a.Int("ip_version") - b.Int("ip_version") })
	return out, nil
}

// List implements plugin.Handler: topologies are addressed by project
// only, as in Neutron.
func (p *Plugin) List(context.Context, *resource.Query) ([]*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Create implements plugin.Handler: topologies are built by GET.
func (p *Plugin) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Update implements plugin.Handler: topologies are not updated.
func (p *Plugin) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}
