package serviceproviders

import (
	"log/slog"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/resource"
)

var optServiceProviders = config.Options.MultiString("service_providers", "service_provider", nil,
	"Service providers of advanced services, <service_type>:<name>:<driver>[:default]; listed by /v2.0/service-providers.")

// The service-type extension is always served, as Neutron's core serves
// it: a default plugin.
func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "service_providers",
		Extensions: []string{"service-type"},
		Default:    true,
		Configure: func(cfg *config.Config, _ *slog.Logger) (registry.Build, error) {
			providers, err := Parse(cfg.MultiString(optServiceProviders))
			if err != nil {
				return nil, cfg.Invalid(optServiceProviders, err)
			}
			return func(env registry.Env) (registry.Plugin, error) {
				return &Served{defs: env.Defs, providers: providers}, nil
			}, nil
		},
	})
}

// Builtin is a plugin whose providers are there without configuration,
// as Neutron's L3 plugin adds its ha, dvr, dvrha and single_node drivers.
type Builtin interface {
	BuiltinProviders() []Provider
}

// Served is the built plugin: the configured providers and the loaded
// plugins' built-in ones.
type Served struct {
	defs      map[string]*resource.Resource
	providers []Provider
}

var _ registry.Wirer = (*Served)(nil)

// Wire implements registry.Wirer: built-in providers join the configured
// ones, an operator's provider of the same type and name taking
// precedence, as in Neutron.
func (s *Served) Wire(all registry.Set) error {
	for _, b := range registry.FindAll[Builtin](all) {
		for _, p := range b.BuiltinProviders() {
			if !slices.ContainsFunc(s.providers, func(q Provider) bool {
				return q.ServiceType == p.ServiceType && q.Name == p.Name
			}) {
				s.providers = append(s.providers, p)
			}
		}
	}
	return nil
}

// Providers are the service providers, configured and built-in; they are
// complete once the plugins are wired.
func (s *Served) Providers() []Provider { return s.providers }

// Handlers implements registry.Plugin.
func (s *Served) Handlers() map[string]plugin.Handler {
	def := s.defs[apidef.ServiceProviders]
	if def == nil {
		return nil
	}
	return map[string]plugin.Handler{apidef.ServiceProviders: New(def, s.Providers)}
}
