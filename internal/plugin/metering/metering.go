// Package metering is Neutrino's metering service plugin, Neutron's
// neutron.services.metering.metering_plugin.MeteringPlugin: metering
// labels and their rules (/v2.0/metering/metering-labels and
// /v2.0/metering/metering-label-rules), admin-only by policy, and the
// metering agents' side of it — get_sync_data_metering, answering each
// host with the routers its L3 agent hosts and the labels that apply to
// them (their project's labels and every shared one), and a notification
// to the metering agents in the transaction of every label or rule
// change.
//
// Rules are checked as Neutron checks them: each prefix must parse as an
// IP interface, remote_ip_prefix (deprecated) excludes
// source_ip_prefix and destination_ip_prefix, one of them must be given,
// and a rule's remote_ip_prefix may not overlap that of another rule of
// its label with the same direction and excluded flag.
//
// It reads no options of its own.
package metering

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// MeteringLabelNotFound is neutron-lib's MeteringLabelNotFound.
func MeteringLabelNotFound(id string) error {
	return fault.NotFound("MeteringLabelNotFound", fmt.Sprintf("Metering label '%s' does not exist.", id))
}

// MeteringLabelRuleNotFound is neutron-lib's MeteringLabelRuleNotFound.
func MeteringLabelRuleNotFound(id string) error {
	return fault.NotFound("MeteringLabelRuleNotFound", fmt.Sprintf("Metering label rule '%s' does not exist.", id))
}

func ruleOverlaps(prefix string) error {
	return fault.Conflict("MeteringLabelRuleOverlaps",
		"Metering label rule with remote_ip_prefix '%s' overlaps another.", prefix)
}

func invalid(format string, args ...any) error {
	return fault.New(400, "Invalid", format, args...)
}

// Hosts is what the plugin needs of the L3 agent scheduler: which
// routers a host's L3 agent hosts. The agents plugin implements it.
type Hosts interface {
	HostedRouterIDs(ctx context.Context, host string, ids []string) ([]string, error)
}

// Plugin is the metering service plugin.
type Plugin struct {
	store    *store.Store
	outbox   change.Outbox
	log      *slog.Logger
	hosts    Hosts
	labelDef *resource.Resource
	ruleDef  *resource.Resource
	// routerDef is nil when the router plugin is not loaded: then no
	// router is metered.
	routerDef *resource.Resource

	labels, rules *generic.Handler
}

// New returns the plugin over the (restricted) definitions in defs.
func New(s *store.Store, defs map[string]*resource.Resource, outbox change.Outbox, log *slog.Logger) *Plugin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Plugin{store: s, outbox: outbox, log: log, labelDef: defs[apidef.MeteringLabels],
		ruleDef: defs[apidef.MeteringLabelRules], routerDef: defs[apidef.Routers]}
	p.labels = generic.New(p.labelDef, s, generic.Hooks{
		NotFound:     MeteringLabelNotFound,
		AfterCreate:  p.afterCreateLabel,
		BeforeDelete: p.beforeDeleteLabel,
	})
	p.rules = generic.New(p.ruleDef, s, generic.Hooks{
		NotFound:     MeteringLabelRuleNotFound,
		BeforeCreate: p.beforeCreateRule,
		AfterCreate:  p.afterCreateRule,
		BeforeDelete: p.beforeDeleteRule,
	})
	return p
}

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	return map[string]plugin.Handler{apidef.MeteringLabels: p.labels, apidef.MeteringLabelRules: p.rules}
}

// SetHosts installs the L3 agent scheduler; without one every router is
// any host's (Neutron without l3_agent_scheduler).
func (p *Plugin) SetHosts(h Hosts) { p.hosts = h }

func (p *Plugin) lockLabel(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	l, err := tx.Get(ctx, p.labelDef, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, MeteringLabelNotFound(id)
	}
	return l, err
}

// checkPrefix is Neutron's validate_metering_rule_ip_address: the value
// must read as an address with or without a prefix length.
func checkPrefix(attr, v string) error {
	if v == "" {
		return nil
	}
	if _, err := parseInterface(v); err != nil {
		return invalid("%s: %s is invalid [%s].", attr, v, err)
	}
	return nil
}

// parseInterface reads an IP interface ("10.0.0.1/24", "10.0.0.0/24",
// "10.0.0.1") and returns the network it names.
func parseInterface(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("'%s' does not appear to be an IPv4 or IPv6 interface", v)
		}
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("'%s' does not appear to be an IPv4 or IPv6 interface", v)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func str(o *resource.Object, attr string) string {
	if o.Resource().Attr(attr) == nil {
		return ""
	}
	s, _ := o.Get(attr).(string)
	return s
}

func (p *Plugin) beforeCreateRule(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	remote, src, dst := str(o, "remote_ip_prefix"), str(o, "source_ip_prefix"), str(o, "destination_ip_prefix")
	for _, c := range [][2]string{{"remote_ip_prefix", remote}, {"source_ip_prefix", src}, {"destination_ip_prefix", dst}} {
		if err := checkPrefix(c[0], c[1]); err != nil {
			return err
		}
	}
	if remote != "" && (src != "" || dst != "") {
		return invalid("Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.")
	}
	if remote == "" && src == "" && dst == "" {
		return invalid("You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.")
	}
	label, err := p.lockLabel(ctx, tx, o.String("metering_label_id"))
	if err != nil {
		return err
	}
	if remote == "" {
		return nil
	}
	// Overlaps are checked for remote_ip_prefix alone, among the label's
	// rules of the same direction and excluded flag, as Neutron does;
	// the label's row lock orders concurrent creates.
	siblings, err := p.labelRules(ctx, tx, label.ID())
	if err != nil {
		return err
	}
	want, _ := parseInterface(remote)
	for _, r := range siblings {
		if r.String("direction") != o.String("direction") || r.Bool("excluded") != o.Bool("excluded") {
			continue
		}
		have, err := parseInterface(str(r, "remote_ip_prefix"))
		if err != nil {
			continue
		}
		if have.Overlaps(want) {
			return ruleOverlaps(remote)
		}
	}
	return nil
}

func (p *Plugin) labelRules(ctx context.Context, tx *store.Tx, labelIDs ...string) ([]*resource.Object, error) {
	if len(labelIDs) == 0 {
		return nil, nil
	}
	vs := make([]any, len(labelIDs))
	for i, id := range labelIDs {
		vs[i] = id
	}
	rules, err := tx.List(ctx, p.ruleDef, &resource.Query{
		Filters: []resource.Filter{{Attr: p.ruleDef.Attr("metering_label_id"), Values: vs}},
		Sorts:   []resource.SortKey{{Attr: p.ruleDef.Attr("id")}},
	})
	if err != nil {
		return nil, fmt.Errorf("rules of metering labels %v: %w", labelIDs, err)
	}
	return rules, nil
}

func (p *Plugin) afterCreateLabel(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.notifyLabel(ctx, tx, rpcapi.MethodAddMeteringLabel, o, nil)
}

func (p *Plugin) beforeDeleteLabel(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	rules, err := p.labelRules(ctx, tx, o.ID())
	if err != nil {
		return err
	}
	return p.notifyLabel(ctx, tx, rpcapi.MethodRemoveMeteringLabel, o, rules)
}

func (p *Plugin) afterCreateRule(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.notifyRule(ctx, tx, rpcapi.MethodAddMeteringLabelRule, o)
}

func (p *Plugin) beforeDeleteRule(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.notifyRule(ctx, tx, rpcapi.MethodRemoveMeteringLabelRule, o)
}

func (p *Plugin) notifyRule(ctx context.Context, tx *store.Tx, method string, rule *resource.Object) error {
	label, err := tx.Get(ctx, p.labelDef, rule.String("metering_label_id"), false)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	routers, err := p.routersOf(ctx, tx, label)
	if err != nil {
		return err
	}
	r := toRule(rule)
	for i := range routers {
		routers[i].Labels = []rpcapi.MeteringLabel{{ID: label.ID(), Shared: label.Bool("shared"), Rule: &r}}
	}
	return p.record(ctx, tx, method, routers)
}

func (p *Plugin) notifyLabel(ctx context.Context, tx *store.Tx, method string, label *resource.Object, rules []*resource.Object) error {
	routers, err := p.routersOf(ctx, tx, label)
	if err != nil {
		return err
	}
	l := toLabel(label, rules)
	for i := range routers {
		routers[i].Labels = []rpcapi.MeteringLabel{l}
	}
	return p.record(ctx, tx, method, routers)
}

// record casts a metering notification to every metering agent; each
// agent fetches its own routers' state, so a fanout is enough.
func (p *Plugin) record(ctx context.Context, tx *store.Tx, method string, routers []rpcapi.MeteringRouter) error {
	if p.outbox == nil || len(routers) == 0 {
		return nil
	}
	args, err := json.Marshal(rpcapi.MeteringRoutersArgs{Routers: routers})
	if err != nil {
		return err
	}
	return p.outbox.Record(ctx, tx, rpcapi.Notification{Topic: rpcapi.TopicMeteringAgent, Method: method,
		Fanout: true, Version: "1.0", Args: args})
}

func toRule(r *resource.Object) rpcapi.MeteringRule {
	ptr := func(attr string) *string {
		if s := str(r, attr); s != "" {
			return &s
		}
		return nil
	}
	return rpcapi.MeteringRule{ID: r.ID(), MeteringLabelID: r.String("metering_label_id"),
		Direction: r.String("direction"), Excluded: r.Bool("excluded"), RemoteIPPrefix: ptr("remote_ip_prefix"),
		SourceIPPrefix: ptr("source_ip_prefix"), DestinationIPPrefix: ptr("destination_ip_prefix")}
}

func toLabel(l *resource.Object, rules []*resource.Object) rpcapi.MeteringLabel {
	out := rpcapi.MeteringLabel{ID: l.ID(), Name: l.String("name"), Shared: l.Bool("shared"), Rules: []rpcapi.MeteringRule{}}
	for _, r := range rules {
		if r.String("metering_label_id") == l.ID() {
			out.Rules = append(out.Rules, toRule(r))
		}
	}
	return out
}

// routersOf returns the routers a label applies to, without labels:
// every router for a shared label, its project's otherwise.
func (p *Plugin) routersOf(ctx context.Context, tx *store.Tx, label *resource.Object) ([]rpcapi.MeteringRouter, error) {
	if p.routerDef == nil {
		return nil, nil
	}
	q := &resource.Query{Sorts: []resource.SortKey{{Attr: p.routerDef.Attr("id")}}}
	if !label.Bool("shared") {
		q.Filters = []resource.Filter{{Attr: p.routerDef.Attr("project_id"), Values: []any{label.String("project_id")}}}
	}
	rs, err := tx.List(ctx, p.routerDef, q)
	if err != nil {
		return nil, fmt.Errorf("routers of metering label %s: %w", label.ID(), err)
	}
	out := make([]rpcapi.MeteringRouter, 0, len(rs))
	for _, r := range rs {
		out = append(out, toRouter(r))
	}
	return out, nil
}

func toRouter(r *resource.Object) rpcapi.MeteringRouter {
	gw, _ := r.Get("gw_port_id").(string)
	distributed := false
	if r.Resource().Attr("distributed") != nil {
		distributed, _ = r.Get("distributed").(bool)
	}
	return rpcapi.MeteringRouter{ID: r.ID(), Name: r.String("name"), ProjectID: r.String("project_id"),
		AdminStateUp: r.Bool("admin_state_up"), Status: r.String("status"), GatewayPortID: rpcapi.Nullable(gw),
		Distributed: distributed, Labels: []rpcapi.MeteringLabel{}}
}

// SyncData is get_sync_data_metering: the administratively up routers
// with at least one label, each with its labels and their rules;
// with a host, only the routers that host's L3 agent hosts (none when it
// has no L3 agent).
func (p *Plugin) SyncData(ctx context.Context, host string) ([]rpcapi.MeteringRouter, error) {
	out := []rpcapi.MeteringRouter{}
	if p.routerDef == nil {
		return out, nil
	}
	var hosted []string
	if host != "" && p.hosts != nil {
		var err error
		hosted, err = p.hosts.HostedRouterIDs(ctx, host, nil)
		if fault.Is(err, "AgentNotFoundByTypeHost") {
			p.log.ErrorContext(ctx, "Unable to find agent on host", "host", host)
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(hosted) == 0 {
			return out, nil
		}
	}
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		out = out[:0]
		labels, err := tx.List(ctx, p.labelDef, &resource.Query{Sorts: []resource.SortKey{{Attr: p.labelDef.Attr("id")}}})
		if err != nil || len(labels) == 0 {
			return err
		}
		ids := make([]string, len(labels))
		for i, l := range labels {
			ids[i] = l.ID()
		}
		rules, err := p.labelRules(ctx, tx, ids...)
		if err != nil {
			return err
		}
		q := &resource.Query{Sorts: []resource.SortKey{{Attr: p.routerDef.Attr("id")}}}
		if hosted != nil {
			vs := make([]any, len(hosted))
			for i, id := range hosted {
				vs[i] = id
			}
			q.Filters = []resource.Filter{{Attr: p.routerDef.Attr("id"), Values: vs}}
		}
		routers, err := tx.List(ctx, p.routerDef, q)
		if err != nil {
			return fmt.Errorf("routers to meter: %w", err)
		}
		for _, r := range routers {
			if !r.Bool("admin_state_up") {
				continue
			}
			mr := toRouter(r)
			for _, l := range labels {
				if l.Bool("shared") || l.String("project_id") == r.String("project_id") {
					mr.Labels = append(mr.Labels, toLabel(l, rules))
				}
			}
			if len(mr.Labels) > 0 {
				out = append(out, mr)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get_sync_data_metering for host %q: %w", host, err)
	}
	return out, nil
}

// RPCTopics serves the metering agents' calls on metering_plugin.
func (p *Plugin) RPCTopics() map[string]rpc.Handlers {
	return map[string]rpc.Handlers{rpcapi.TopicMeteringPlugin: {
		rpcapi.MethodGetSyncDataMetering: rpc.HandlerFunc(func(ctx context.Context, raw json.RawMessage) (any, error) {
			var a rpcapi.SyncMeteringArgs
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &a); err != nil {
					return nil, rpc.Remote("InvalidInput", "malformed arguments: %v", err)
				}
			}
			return p.SyncData(ctx, a.Host)
		}),
	}}
}
