package localip

import (
	"errors"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/core"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
)

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "local_ip",
		Aliases:    []string{"neutron.services.local_ip.local_ip_plugin.LocalIPPlugin"},
		Extensions: []string{"local_ip"},
		Configure: func(*config.Config, *slog.Logger) (registry.Build, error) {
			return func(env registry.Env) (registry.Plugin, error) {
				return New(env.Store, env.Defs), nil
			}, nil
		},
	})
}

var (
	_ registry.Wirer        = (*Plugin)(nil)
	_ core.PortDeletionHook = (*Plugin)(nil)
)

// Wire implements registry.Wirer: local IPs make their ports through the
// core plugin.
func (p *Plugin) Wire(all registry.Set) error {
	c, ok := registry.Find[Core](all)
	if !ok {
		return errors.New("local_ip: the core plugin does not create ports for service plugins")
	}
	p.core = c
	return nil
}

// PluginType names the service for flavors' service_type (Neutron's
// plugin_constants.LOCAL_IP).
func (p *Plugin) PluginType() string { return "LOCAL_IP" }
