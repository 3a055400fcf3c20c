package metering

import (
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
)

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "metering",
		Aliases:    []string{"neutron.services.metering.metering_plugin.MeteringPlugin"},
		Extensions: []string{"metering", "metering_source_and_destination_fields"},
		Configure: func(*config.Config, *slog.Logger) (registry.Build, error) {
			return func(env registry.Env) (registry.Plugin, error) {
				return New(env.Store, env.Defs, env.Outbox, env.Logger), nil
			}, nil
		},
	})
}

var _ registry.Wirer = (*Plugin)(nil)

// Wire implements registry.Wirer: routers are metered on the hosts of
// the L3 agents hosting them when agents are scheduled.
func (p *Plugin) Wire(all registry.Set) error {
	if h, ok := registry.Find[Hosts](all); ok {
		p.SetHosts(h)
	}
	return nil
}
