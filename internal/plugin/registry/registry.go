// Package registry is where Neutrino's plugins register themselves and
// how the server builds the ones its configuration selects, as CoreDNS
// plugins and Caddy modules do. A plugin declares the names Neutron
// knows it by ([DEFAULT] core_plugin, service_plugins: short aliases and
// class paths), the extensions it serves, and how to configure and build
// it. The server selects plugins by name, checks their options before
// anything is opened, builds them over the shared parts (store, quotas,
// outbox), then wires them to each other in one step.
//
// Plugins import this package from their init functions; the registry
// never imports a plugin.
package registry

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/quota"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Env holds the parts every plugin is built over.
type Env struct {
	Store *store.Store
	// Defs are the served resources, restricted to the enabled
	// extensions.
	Defs map[string]*resource.Resource
	// Enabled reports whether an extension is enabled.
	Enabled func(alias string) bool
	Quota   *quota.Engine
	Outbox  change.Outbox
	Logger  *slog.Logger
}

// Plugin is a built plugin.
type Plugin interface {
	// Handlers are the collections the plugin serves; those whose
	// resource is not enabled are not routed.
	Handlers() map[string]plugin.Handler
}

// Wirer is a Plugin that uses other plugins: Wire runs once every
// selected plugin is built, with all of them (see Find).
type Wirer interface {
	Wire(all Set) error
}

// Composite is a Plugin made of several parts (ML2: the core resources,
// segments and binding, security groups, agents); Find looks into them.
type Composite interface {
	Parts() []any
}

// Build is a configured plugin's constructor.
type Build func(Env) (Plugin, error)

// Descriptor describes a plugin.
type Descriptor struct {
	// Name is the plugin's entry point name ("ml2", "router").
	Name string
	// Aliases are other names Neutron accepts for it: older entry points
	// ("l3_router") and class paths
	// ("neutron.services.l3_router.l3_router_plugin.L3RouterPlugin").
	Aliases []string
	// Extensions are the aliases of the extensions it serves.
	Extensions []string
	// ExtensionsFrom, when set, adds the extensions the plugin serves
	// under a configuration (ML2's [ml2] extension_drivers).
	ExtensionsFrom func(cfg *config.Config) []string
	// Default service plugins are loaded whatever service_plugins says,
	// as Neutron's DEFAULT_SERVICE_PLUGINS are.
	Default bool
	// Configure reads and checks the plugin's options without touching
	// anything, and returns its constructor.
	Configure func(cfg *config.Config, logger *slog.Logger) (Build, error)
}

var (
	mu       sync.Mutex
	cores    []*Descriptor
	services []*Descriptor
)

// RegisterCore registers a core plugin; call it from init.
func RegisterCore(d Descriptor) { register(&cores, d) }

// RegisterService registers a service plugin; call it from init.
func RegisterService(d Descriptor) { register(&services, d) }

func register(list *[]*Descriptor, d Descriptor) {
	mu.Lock()
	defer mu.Unlock()
	for _, name := range append([]string{d.Name}, d.Aliases...) {
		if lookup(cores, name) != nil || lookup(services, name) != nil {
			panic("registry: plugin name " + name + " registered twice")
		}
	}
	*list = append(*list, &d)
}

func lookup(list []*Descriptor, name string) *Descriptor {
	for _, d := range list {
		if d.Name == name || slices.Contains(d.Aliases, name) {
			return d
		}
	}
	return nil
}

func names(list []*Descriptor, keep func(*Descriptor) bool) string {
	var out []string
	for _, d := range list {
		if keep(d) {
			out = append(out, d.Name)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// Selection is the plugins a configuration selects: the core plugin
// first, then the service plugins, each once.
type Selection []*Descriptor

// UnknownPluginError is a plugin name no registered plugin has.
type UnknownPluginError struct {
	// Core is true for core_plugin, false for service_plugins.
	Core      bool
	Name      string
	Available string
}

func (e *UnknownPluginError) Error() string {
	return fmt.Sprintf("%q is not available (Neutrino provides %s)", e.Name, e.Available)
}

// Select resolves [DEFAULT] core_plugin and service_plugins; a name no
// plugin has is an *UnknownPluginError naming what this build provides.
func Select(core string, serviceNames []string) (Selection, error) {
	mu.Lock()
	defer mu.Unlock()
	c := lookup(cores, core)
	if c == nil {
		return nil, &UnknownPluginError{Core: true, Name: core, Available: names(cores, func(*Descriptor) bool { return true })}
	}
	sel := Selection{c}
	for _, n := range serviceNames {
		d := lookup(services, n)
		if d == nil {
			return nil, &UnknownPluginError{Name: n, Available: names(services, func(d *Descriptor) bool { return !d.Default })}
		}
		if !slices.Contains(sel, d) {
			sel = append(sel, d)
		}
	}
	for _, d := range services {
		if d.Default && !slices.Contains(sel, d) {
			sel = append(sel, d)
		}
	}
	return sel, nil
}

// Extensions are the extensions the selected plugins serve under cfg,
// sorted, less those whose required extensions are not all served (as
// Neutron's extension manager drops them). An alias apidef does not
// declare is an error: a plugin must not list what it cannot describe.
func (s Selection) Extensions(cfg *config.Config) ([]*apidef.Extension, error) {
	served := map[string]*apidef.Extension{}
	for _, d := range s {
		aliases := d.Extensions
		if d.ExtensionsFrom != nil {
			aliases = append(slices.Clone(aliases), d.ExtensionsFrom(cfg)...)
		}
		for _, alias := range aliases {
			e := apidef.LookupExtension(alias)
			if e == nil {
				return nil, fmt.Errorf("plugin %s: extension %q is not declared in apidef", d.Name, alias)
			}
			served[alias] = e
		}
	}
	for changed := true; changed; {
		changed = false
		for alias, e := range served {
			for _, req := range e.Requires {
				if served[req] == nil {
					delete(served, alias)
					changed = true
					break
				}
			}
		}
	}
	out := make([]*apidef.Extension, 0, len(served))
	for _, e := range served {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *apidef.Extension) int { return strings.Compare(a.Alias, b.Alias) })
	return out, nil
}

// Configure checks every selected plugin's options and returns their
// constructors, in selection order; nothing is opened.
func (s Selection) Configure(cfg *config.Config, logger *slog.Logger) ([]Build, error) {
	builds := make([]Build, 0, len(s))
	for _, d := range s {
		b, err := d.Configure(cfg, logger)
		if err != nil {
			return nil, err
		}
		builds = append(builds, b)
	}
	return builds, nil
}

// Set is the built plugins, in selection order.
type Set []Plugin

// BuildAll builds the plugins over env, then wires each Wirer to the
// others.
func BuildAll(env Env, builds []Build) (Set, error) {
	set := make(Set, 0, len(builds))
	for _, b := range builds {
		p, err := b(env)
		if err != nil {
			return nil, err
		}
		set = append(set, p)
	}
	for _, p := range set {
		if w, ok := p.(Wirer); ok {
			if err := w.Wire(set); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}

// Handlers are the handlers of every plugin for the collections in defs.
func (s Set) Handlers(defs map[string]*resource.Resource) map[string]plugin.Handler {
	out := map[string]plugin.Handler{}
	for _, p := range s {
		for coll, h := range p.Handlers() {
			if defs[coll] != nil {
				out[coll] = h
			}
		}
	}
	return out
}

// Find returns the first plugin, or part of a Composite plugin, that is a
// T; plugins use it in Wire to find what they depend on.
func Find[T any](s Set) (T, bool) {
	for _, p := range s {
		candidates := []any{p}
		if c, ok := p.(Composite); ok {
			candidates = append(candidates, c.Parts()...)
		}
		for _, c := range candidates {
			if t, ok := c.(T); ok {
				return t, true
			}
		}
	}
	var zero T
	return zero, false
}

// FindAll returns every plugin, or part of a Composite plugin, that is a
// T, in selection order; for hooks several plugins may each provide.
func FindAll[T any](s Set) []T {
	var out []T
	for _, p := range s {
		candidates := []any{p}
		if c, ok := p.(Composite); ok {
			candidates = append(candidates, c.Parts()...)
		}
		for _, c := range candidates {
			if t, ok := c.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

// ExtensionsOnly configures a plugin whose extensions another plugin
// serves once they are enabled (port forwardings live on the L3 plugin's
// floating IPs): it builds nothing of its own.
func ExtensionsOnly(*config.Config, *slog.Logger) (Build, error) {
	return func(Env) (Plugin, error) { return noHandlers{}, nil }, nil
}

type noHandlers struct{}

func (noHandlers) Handlers() map[string]plugin.Handler { return nil }
