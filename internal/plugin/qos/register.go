package qos

import (
	"context"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Extensions are the extensions the QoS plugin serves, as Neutron's
// QoSPlugin lists them.
var Extensions = []string{
	"qos", "qos-bw-limit-direction", "qos-bw-minimum-ingress", "qos-default", "qos-fip", "qos-gateway-ip",
	"qos-port-network-policy", "qos-pps", "qos-pps-minimum", "qos-pps-minimum-rule-alias",
	"qos-rule-type-details", "qos-rule-type-filter", "qos-rules-alias",
	"port-resource-request", "port-resource-request-groups",
}

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "qos",
		Aliases:    []string{"neutron.services.qos.qos_plugin.QoSPlugin"},
		Extensions: Extensions,
		Configure: func(*config.Config, *slog.Logger) (registry.Build, error) {
			return func(env registry.Env) (registry.Plugin, error) {
				return New(env.Store, env.Defs, env.Outbox), nil
			}, nil
		},
	})
}

var _ registry.Wirer = (*Plugin)(nil)

// Wire implements registry.Wirer: the QoS drivers are those of ML2's
// mechanism drivers, networks and ports take policies when ML2's qos
// extension driver is loaded, and port details carry the rules.
func (p *Plugin) Wire(all registry.Set) error {
	if r, ok := registry.Find[rbac.Registrar](all); ok && r.RBACTypes().Enabled() {
		p.rbac = r.RBACTypes()
		if err := p.rbac.Register(rbac.Type{
			ObjectType:    rbacObjectType,
			Resource:      p.defs[apidef.QoSPolicies],
			Actions:       []string{rbac.AccessAsShared},
			NotFound:      PolicyNotFound,
			Flags:         map[string]string{rbac.AccessAsShared: "shared"},
			BoundProjects: p.boundProjects,
		}); err != nil {
			return err
		}
	}
	m, ok := registry.Find[*ml2.Plugin](all)
	if !ok {
		return nil
	}
	p.drivers = driversFor(m.MechanismDrivers())
	p.portPolicies = m.ExtensionDriverEnabled("qos")
	p.physnets = m.FirstSegmentPhysnets
	m.SetQoSRules(p.rulesForAgents)
	return nil
}

// rulesForAgents reads policies' rules for port details.
func (p *Plugin) rulesForAgents(ctx context.Context, tx *store.Tx, policyIDs []string) (map[string][]rpcapi.QoSRule, error) {
	rules, err := p.policyRules(ctx, tx, policyIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]rpcapi.QoSRule, len(rules))
	for id, rs := range rules {
		for _, r := range rs {
			out[id] = append(out[id], rpcapi.QoSRule(r))
		}
	}
	return out, nil
}

func callerIsAdmin(ctx context.Context) bool { return reqctx.CallerFrom(ctx).IsAdmin }
