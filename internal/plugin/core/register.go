package core

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/agents"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/plugin/securitygroups"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Extensions are the extensions the ML2 core plugin serves: Neutron's
// Ml2Plugin with its mixins (security groups, agents and their
// schedulers, RBAC, subnet pools, quotas …), and the default service
// plugins' standard attributes that Neutrino builds into every resource.
// security-groups-rules-belongs-to-default-sg (declared in apidef) came
// after Neutron 21, the reference, and is not served: its
// belongs_to_default_sg would be a key Neutron 21's rules lack.
var Extensions = []string{
	"address-group",
	"address-scope",
	"agent",
	"allowed-address-pairs",
	"agent-resources-synced",
	"availability_zone",
	"availability_zone_filter",
	"binding",
	"binding-extended",
	"default-subnetpools",
	"dhcp_agent_scheduler",
	"empty-string-filtering",
	"external-net",
	"extra_dhcp_opt",
	"filter-validation",
	"ip-substring-filtering",
	"multi-provider",
	"net-mtu",
	"net-mtu-writable",
	"network-ip-availability",
	"network_availability_zone",
	"pagination",
	"port-mac-address-regenerate",
	"port-mac-override",
	"port-security",
	"port-security-groups-filtering",
	"project-id",
	"provider",
	"quota-check-limit",
	"quota_details",
	"quotas",
	"rbac-address-group",
	"rbac-address-scope",
	"rbac-policies",
	"rbac-security-groups",
	"rbac-subnetpool",
	"revision-if-match",
	"security-group",
	"security-groups-normalized-cidr",
	"security-groups-remote-address-group",
	"security-groups-shared-filtering",
	"sorting",
	"standard-attr-description",
	"standard-attr-revisions",
	"standard-attr-tag",
	"standard-attr-timestamp",
	"stateful-security-group",
	"subnet-service-types",
	"subnet_allocation",
	"subnet_onboard",
	"subnetpool-prefix-ops",
	"tag",
	"tag-creation",
	"tag-ext",
	"tag-ports-during-bulk-creation",
}

func init() {
	registry.RegisterCore(registry.Descriptor{
		Name:           "ml2",
		Aliases:        []string{"neutron.plugins.ml2.plugin.Ml2Plugin"},
		Extensions:     Extensions,
		ExtensionsFrom: ml2.ExtensionsFrom,
		Configure:      configureML2,
	})
}

// ML2 is the built core plugin, Neutron's Ml2Plugin: the core resources,
// ML2's segments and port binding, security groups, and the agents
// registry with its schedulers.
type ML2 struct {
	Core           *Plugin
	ML2            *ml2.Plugin
	SecurityGroups *securitygroups.Plugin // nil when security groups are not enabled
	Agents         *agents.Plugin
}

var (
	_ registry.Wirer     = (*ML2)(nil)
	_ registry.Composite = (*ML2)(nil)
)

func configureML2(cfg *config.Config, logger *slog.Logger) (registry.Build, error) {
	ml2Opts, err := ml2.OptionsFrom(cfg, logger)
	if err != nil {
		return nil, err
	}
	coreOpts := OptionsFrom(cfg)
	agentsOpts := agents.OptionsFrom(cfg)
	return func(env registry.Env) (registry.Plugin, error) {
		agentsOpts.Outbox, agentsOpts.Logger = env.Outbox, env.Logger
		a := agents.New(env.Store, env.Defs, agentsOpts)

		// ML2 keeps segments whether or not the segments service plugin
		// serves them (/v2.0/segments): every network has them.
		defs := env.Defs
		if defs[apidef.Segments] == nil {
			defs = make(map[string]*resource.Resource, len(env.Defs)+1)
			for k, v := range env.Defs {
				defs[k] = v
			}
			defs[apidef.Segments] = apidef.Build()[apidef.Segments].Restrict(env.Enabled)
		}
		ml2Opts.Agents, ml2Opts.Outbox = agentLookup{a}, env.Outbox
		m, err := ml2.New(env.Store, defs, ml2Opts)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		coreOpts.ML2, coreOpts.NetworkZones, coreOpts.Quota = m, a.NetworkAvailabilityZones, env.Quota
		coreOpts.SegmentHostRoutes = env.Enabled("segments-peer-subnet-host-routes")
		c := New(env.Store, env.Defs, coreOpts)
		sg := securitygroups.New(env.Store, env.Defs, securitygroups.Options{Quota: env.Quota, Outbox: env.Outbox,
			RBAC: c.RBACTypes()})
		if sg != nil {
			c.SetPortSecurityGroups(sg)
			if err := c.RBACTypes().Register(sg.RBACType()); err != nil {
				return nil, err
			}
			if env.Enabled("rbac-address-group") {
				if err := c.RBACTypes().Register(sg.AddressGroupRBACType()); err != nil {
					return nil, err
				}
			}
		}
		a.SetCore(c.Handlers())
		return &ML2{Core: c, ML2: m, SecurityGroups: sg, Agents: a}, nil
	}, nil
}

// Handlers implements registry.Plugin.
func (p *ML2) Handlers() map[string]plugin.Handler {
	out := map[string]plugin.Handler{}
	for _, part := range []registry.Plugin{p.Core, p.ML2, p.Agents} {
		for coll, h := range part.Handlers() {
			out[coll] = h
		}
	}
	if p.SecurityGroups != nil {
		for coll, h := range p.SecurityGroups.Handlers() {
			out[coll] = h
		}
	}
	return out
}

// Parts implements registry.Composite.
func (p *ML2) Parts() []any {
	parts := []any{p.Core, p.ML2, p.Agents}
	if p.SecurityGroups != nil {
		parts = append(parts, p.SecurityGroups)
	}
	return parts
}

// Wire implements registry.Wirer: a service plugin that guards ports
// (L3: router and floating IP ports) is asked before port changes, and
// the L3 scheduler reaches routers through the routers plugin.
func (p *ML2) Wire(all registry.Set) error {
	if g, ok := registry.Find[ServiceGuard](all); ok {
		p.Core.SetServiceGuard(g)
	}
	for _, h := range registry.FindAll[PortDeletionHook](all) {
		p.Core.AddPortDeletionHook(h)
	}
	for _, h := range registry.FindAll[SubnetUpdateHook](all) {
		p.Core.AddSubnetUpdateHook(h)
	}
	for _, e := range registry.FindAll[PortExtension](all) {
		p.Core.AddPortExtension(e)
	}
	for _, d := range registry.FindAll[ExtensionDriver](all) {
		p.Core.AddExtensionDriver(d)
	}
	if r, ok := registry.Find[agents.Routers](all); ok {
		p.Agents.SetRouters(r)
	}
	return nil
}

// agentLookup adapts the agents registry to ML2's view of agents.
type agentLookup struct{ p *agents.Plugin }

var _ mech.AnyAlive = agentLookup{}

// AnyAlive implements mech.AnyAlive.
func (l agentLookup) AnyAlive(ctx context.Context, tx *store.Tx, agentType string) (bool, error) {
	if tx == nil {
		as, err := l.AliveAgents(ctx, nil, "", agentType)
		return len(as) > 0, err
	}
	return l.p.AnyAliveIn(ctx, tx, agentType)
}

func (l agentLookup) AliveAgents(ctx context.Context, tx *store.Tx, host, agentType string) ([]mech.Agent, error) {
	var as []agents.Agent
	var err error
	if tx != nil {
		as, err = l.p.AliveAgentsIn(ctx, tx, host, agentType)
	} else {
		as, err = l.p.AliveAgents(ctx, host, agentType)
	}
	if err != nil {
		return nil, err
	}
	out := make([]mech.Agent, 0, len(as))
	for _, a := range as {
		if !a.AdminStateUp {
			continue
		}
		out = append(out, mech.Agent{ID: a.ID, Host: a.Host, Type: a.Type, Configurations: a.Configurations})
	}
	return out, nil
}
