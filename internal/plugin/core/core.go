// Package core is Neutrino's core plugin: networks today, and the
// addressing resources (subnets, ports) as they arrive. It plays the part
// of Neutron's ML2 plugin's database layer; type and mechanism drivers
// hook in here.
package core

import (
	"context"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Options are the core plugin's settings, from the configuration.
type Options struct {
	// GlobalPhysnetMTU is [DEFAULT] global_physnet_mtu: the underlay MTU
	// that network MTUs derive from.
	GlobalPhysnetMTU int
}

// Plugin is the core plugin.
type Plugin struct {
	opts     Options
	store    *store.Store
	networks *generic.Handler
}

// New returns the core plugin serving the given (already restricted)
// resource definitions.
func New(s *store.Store, defs map[string]*resource.Resource, opts Options) *Plugin {
	p := &Plugin{opts: opts, store: s}
	p.networks = generic.New(defs[apidef.Networks], s, generic.Hooks{
		NotFound:        func(id string) error { return NetworkNotFound(id) },
		BeforeCreate:    p.beforeCreateNetwork,
		BeforeUpdate:    p.beforeUpdateNetwork,
		BeforeDelete:    p.beforeDeleteNetwork,
		InitialRevision: 1,
	})
	return p
}

// Handlers returns the core plugin's handler for each collection it serves.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	return map[string]plugin.Handler{apidef.Networks: p.networks}
}

// NetworkNotFound is neutron-lib's NetworkNotFound.
func NetworkNotFound(id string) error {
	return fault.NotFound("NetworkNotFound", fmt.Sprintf("Network %s could not be found.", id))
}

// NetworkInUse is neutron-lib's NetworkInUse.
func NetworkInUse(id string) error {
	return fault.Conflict("NetworkInUse",
		"Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
}

func (p *Plugin) beforeCreateNetwork(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	o.Set("status", "ACTIVE")
	if err := p.checkMTU(o); err != nil {
		return err
	}
	return nil
}

func (p *Plugin) beforeUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if patch.Has("mtu") {
		return p.checkMTU(patch)
	}
	return nil
}

// checkMTU fills a network's MTU when none was asked for (0) and refuses
// one the underlay cannot carry, as ML2 does. Overlay overheads arrive
// with the type drivers.
func (p *Plugin) checkMTU(o *resource.Object) error {
	if o.Resource().Attr("mtu") == nil {
		return nil
	}
	maxMTU := p.opts.GlobalPhysnetMTU
	mtu := o.Int("mtu")
	if mtu == 0 {
		o.Set("mtu", maxMTU)
		return nil
	}
	if mtu > maxMTU {
		return fault.InvalidInput(fmt.Sprintf("Requested MTU is too big, maximum is %d", maxMTU))
	}
	if mtu < 68 {
		return fault.InvalidInput("Requested MTU is too small, minimum is 68")
	}
	return nil
}

// beforeDeleteNetwork refuses to delete a network that still has ports or
// subnets in use. The ports and subnets tables arrive with IPAM; until
// then nothing can hold a network.
func (p *Plugin) beforeDeleteNetwork(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return nil
}
