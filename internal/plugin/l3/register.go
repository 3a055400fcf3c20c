package l3

import (
	"errors"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/resource"
)

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:    "router",
		Aliases: []string{"l3_router", "neutron.services.l3_router.l3_router_plugin.L3RouterPlugin"},
		Extensions: []string{"router", "ext-gw-mode", "extraroute", "extraroute-atomic", "l3-ha", "dvr",
			"router_availability_zone", "l3_agent_scheduler", "fip-port-details", "floatingip-pools",
			"floating-ip-port-forwarding-detail", "l3-port-ip-change-not-allowed",
			"router-admin-state-down-before-update", "l3-flavors"},
		Configure: func(cfg *config.Config, _ *slog.Logger) (registry.Build, error) {
			opts, err := OptionsFrom(cfg)
			if err != nil {
				return nil, err
			}
			return func(env registry.Env) (registry.Plugin, error) {
				opts.Quota, opts.Outbox = env.Quota, env.Outbox
				return New(env.Store, env.Defs, nil, opts), nil
			}, nil
		},
	})
	// Port forwardings are served by the L3 plugin's floating IPs; the
	// service plugin enables their extensions.
	registry.RegisterService(registry.Descriptor{
		Name:    "port_forwarding",
		Aliases: []string{"neutron.services.portforwarding.pf_plugin.PFPlugin"},
		Extensions: []string{"floating-ip-port-forwarding", "floating-ip-port-forwarding-description",
			"floating-ip-port-forwarding-port-ranges", "expose-port-forwarding-in-fip"},
		Configure: registry.ExtensionsOnly,
	})
	// Conntrack helpers are served by the L3 plugin on its routers; the
	// service plugin enables their extensions.
	registry.RegisterService(registry.Descriptor{
		Name:       "conntrack_helper",
		Aliases:    []string{"neutron.services.conntrack_helper.plugin.Plugin"},
		Extensions: []string{"l3-conntrack-helper", "expose-l3-conntrack-helper"},
		Configure:  registry.ExtensionsOnly,
	})
	// NDP proxies and routers' enable_ndp_proxy are served by the L3
	// plugin; the service plugin enables their extensions.
	registry.RegisterService(registry.Descriptor{
		Name:       "ndp_proxy",
		Aliases:    []string{"neutron.services.ndp_proxy.plugin.NDPProxyPlugin"},
		Extensions: []string{"l3-ndp-proxy", "l3-ext-ndp-proxy"},
		Configure:  registry.ExtensionsOnly,
	})
}

var _ registry.Wirer = (*Plugin)(nil)

// Wire implements registry.Wirer: routers and floating IPs create their
// ports through the core plugin, routers are placed on L3 agents by the
// agents' scheduler when there is one, and take flavors when the
// flavors plugin is loaded.
func (p *Plugin) Wire(all registry.Set) error {
	core, ok := registry.Find[Core](all)
	if !ok {
		return errors.New("router: the core plugin does not create ports for service plugins")
	}
	p.core = core
	if q, ok := registry.Find[QoSPolicies](all); ok {
		p.qos = q
	}
	if s, ok := registry.Find[Scheduler](all); ok {
		p.SetScheduler(s)
	}
	if f, ok := registry.Find[Flavors](all); ok {
		p.SetFlavors(f)
	}
	if p.netDef != nil && p.subnetDef != nil {
		hs := all.Handlers(map[string]*resource.Resource{apidef.Networks: p.netDef, apidef.Subnets: p.subnetDef})
		p.ha = haCore{networks: hs[apidef.Networks], subnets: hs[apidef.Subnets]}
	}
	return nil
}
