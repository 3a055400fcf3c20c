package flavors

import (
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/l3"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
)

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:    "flavors",
		Aliases: []string{"neutron.services.flavors.flavors_plugin.FlavorsPlugin"},
		// Neutron's flavors plugin also lists service-type, which the
		// always-loaded service_providers plugin serves here.
		Extensions: []string{"flavors"},
		Configure: func(*config.Config, *slog.Logger) (registry.Build, error) {
			return func(env registry.Env) (registry.Plugin, error) {
				return New(env.Store, env.Defs), nil
			}, nil
		},
	})
}

// Typed is a loaded plugin that names its service, as Neutron's
// get_plugin_type does; flavors may be made for those services.
type Typed interface {
	PluginType() string
}

var (
	_ registry.Wirer = (*Plugin)(nil)
	_ l3.Flavors     = (*Plugin)(nil)
)

// Wire implements registry.Wirer: profiles' drivers are checked against
// the service providers, flavors' service types against the loaded
// plugins.
func (p *Plugin) Wire(all registry.Set) error {
	if sp, ok := registry.Find[Providers](all); ok {
		p.providers = sp
	}
	for _, t := range registry.FindAll[Typed](all) {
		p.types = append(p.types, t.PluginType())
	}
	return nil
}
