package serviceproviders

import (
	"log/slog"

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
				return served{env.Defs, providers}, nil
			}, nil
		},
	})
}

type served struct {
	defs      map[string]*resource.Resource
	providers []Provider
}

func (s served) Handlers() map[string]plugin.Handler {
	def := s.defs[apidef.ServiceProviders]
	if def == nil {
		return nil
	}
	return map[string]plugin.Handler{apidef.ServiceProviders: New(def, s.providers)}
}
