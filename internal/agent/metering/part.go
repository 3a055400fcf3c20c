// Package metering is the metering agent part of `neutrino agent`
// (Neutron's neutron-metering-agent, agent_type "Metering agent", topic
// metering_agent): every [DEFAULT] measure_interval it fetches this
// host's routers with their metering labels (get_sync_data_metering),
// makes each router namespace's metering table hold their rules
// (package internal/dataplane/meter: nftables counters in qrouter-<id>,
// a table of its own beside the L3 part's NAT table) and reads the
// counters. Per label it adds up what each router counted since the last
// read; every [DEFAULT] report_interval it reports the packets and bytes
// gathered per label (Neutron's l3.meter notification, logged here:
// Neutrino sends no oslo notifications) and starts afresh. The totals
// since the part started are in its report_state configurations
// (metering_labels) and in the process's metrics
// (neutrino_metering_label_packets_total, _bytes_total).
//
// Label and rule notifications only make the next measure come sooner.
// A router whose namespace the L3 part has not built yet is metered once
// it appears. With the noop driver (Neutron's default) nothing is
// installed or counted.
//
// Options read: [DEFAULT] driver, measure_interval, report_interval.
package metering

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/meter"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/metrics"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func init() {
	agent.Register("metering", func(env agent.Env) (agent.Part, error) { return NewPart(env) })
	metrics.Registry.MustRegister(labelPackets, labelBytes)
}

var (
	labelPackets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "metering", Name: "label_packets_total",
		Help: "Packets the routers of this host counted for a metering label, by host and label id.",
	}, []string{"host", "label_id"})
	labelBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "metering", Name: "label_bytes_total",
		Help: "Bytes the routers of this host counted for a metering label, by host and label id.",
	}, []string{"host", "label_id"})
)

// Usage is what a label counted: packets and bytes, and (for a report
// interval) when it was first and last read, in Unix seconds, as
// Neutron's metering notifications carry them.
type Usage struct {
	Packets     uint64 `json:"pkts"`
	Bytes       uint64 `json:"bytes"`
	Time        int64  `json:"time"`
	FirstUpdate int64  `json:"first_update"`
	LastUpdate  int64  `json:"last_update"`
}

// Part is the metering agent as a part of `neutrino agent`.
type Part struct {
	host string
	opts Options
	log  *slog.Logger
	*agent.Kicker

	mu sync.Mutex
	// last is each router's counters at the previous read, per label.
	last map[string]map[string]meter.Count
	// metered are the routers whose namespace has a metering table.
	metered map[string]bool
	// interval is what each label counted since the last report;
	// totals since the part started.
	interval map[string]*Usage
	totals   map[string]*Usage
	// projects maps a label to the project of the routers it is on.
	projects   map[string]string
	lastReport time.Time
	// now is the clock (tests).
	now func() time.Time
}

var _ agent.Part = (*Part)(nil)

// NewPart builds the part for env.
func NewPart(env agent.Env) (*Part, error) {
	opts, err := OptionsFrom(env.Config)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Part{host: env.Host, opts: opts, log: log.With("part", "metering", "host", env.Host),
		Kicker: agent.NewKicker(), last: map[string]map[string]meter.Count{}, metered: map[string]bool{},
		interval: map[string]*Usage{}, totals: map[string]*Usage{}, projects: map[string]string{}, now: time.Now}, nil
}

// AgentType implements agent.Part.
func (*Part) AgentType() string { return rpcapi.AgentTypeMetering }

// Binary implements agent.Part.
func (*Part) Binary() string { return rpcapi.BinaryMeteringAgent }

// Topic implements agent.Part.
func (*Part) Topic() string { return rpcapi.TopicMeteringAgent }

// Configurations implements agent.Part: Neutron's keys, and (Neutrino)
// each label's totals since the part started.
func (p *Part) Configurations() map[string]any {
	driver := "neutron.services.metering.drivers.noop.noop_driver.NoopMeteringDriver"
	if p.opts.Driver == DriverIptables {
		driver = "neutron.services.metering.drivers.iptables.iptables_driver.IptablesMeteringDriver"
	}
	return map[string]any{
		"metering_driver":  driver,
		"measure_interval": int(p.opts.MeasureInterval / time.Second),
		"report_interval":  int(p.opts.ReportInterval / time.Second),
		"metering_labels":  p.Totals(),
	}
}

// Totals returns each label's packets and bytes since the part started.
func (p *Part) Totals() map[string]Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Usage, len(p.totals))
	for id, u := range p.totals {
		out[id] = *u
	}
	return out
}

// Handlers implements agent.Part: every metering notification, fanned out
// or cast to this host, makes the next measure come sooner.
func (p *Part) Handlers(host string) map[string]rpc.Handlers {
	kick := func(context.Context, json.RawMessage) (any, error) {
		p.Trigger()
		return nil, nil
	}
	hs := rpc.Handlers{}
	for _, m := range []string{rpcapi.MethodAddMeteringLabel, rpcapi.MethodRemoveMeteringLabel,
		rpcapi.MethodAddMeteringLabelRule, rpcapi.MethodRemoveMeteringLabelRule, rpcapi.MethodUpdateMeteringLabelRules,
		rpcapi.MethodRoutersUpdated, rpcapi.MethodRouterDeleted} {
		hs[m] = kick
	}
	return map[string]rpc.Handlers{
		rpcapi.TopicMeteringAgent:                         hs,
		rpcapi.HostTopic(rpcapi.TopicMeteringAgent, host): hs,
	}
}

// Run implements agent.Part.
func (p *Part) Run(ctx context.Context, bus *rpc.Bus) error {
	if p.opts.Driver == DriverNoop {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(p.opts.MeasureInterval)
	defer tick.Stop()
	p.mu.Lock()
	p.lastReport = p.now()
	p.mu.Unlock()
	p.Trigger()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
		case <-tick.C:
		}
		pctx := agent.PassContext(ctx)
		if err := p.Pass(pctx, bus); err != nil && ctx.Err() == nil {
			p.log.WarnContext(pctx, "metering pass failed", "error", err)
		}
		p.maybeReport(pctx)
	}
}

// Pass fetches this host's metered routers, converges their metering
// tables and adds up their counters.
func (p *Part) Pass(ctx context.Context, bus *rpc.Bus) error {
	p.Begin()
	defer p.Done()
	var routers []rpcapi.MeteringRouter
	if err := bus.Call(ctx, rpcapi.TopicMeteringPlugin, rpcapi.MethodGetSyncDataMetering,
		rpcapi.SyncMeteringArgs{Host: p.host}, &routers); err != nil {
		return fmt.Errorf("get_sync_data_metering: %w", err)
	}
	wanted := map[string]bool{}
	var errs []error
	for _, r := range routers {
		wanted[r.ID] = true
		if err := p.meterRouter(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("router %s: %w", r.ID, err))
		}
	}
	p.mu.Lock()
	gone := slices.Collect(maps.Keys(p.metered))
	p.mu.Unlock()
	for _, id := range gone {
		if !wanted[id] {
			errs = append(errs, p.forget(id))
		}
	}
	return errors.Join(errs...)
}

// meterRouter converges one router's table and reads its counters.
func (p *Part) meterRouter(ctx context.Context, r rpcapi.MeteringRouter) error {
	ns, err := netns.Open(link.RouterNamespace(r.ID))
	if err != nil {
		// The L3 part has not built the router (yet): nothing to count.
		return nil
	}
	defer ns.Close()
	rs := rulesetOf(r)
	if wrote, err := meter.Apply(ns, rs); err != nil {
		return err
	} else if wrote {
		p.log.DebugContext(ctx, "metering table written", "router_id", r.ID, "labels", len(rs.Labels))
	}
	counts, err := meter.Counters(ns)
	if err != nil {
		return err
	}
	p.account(r, counts)
	return nil
}

// account adds what each label counted on router r since the last read.
func (p *Part) account(r rpcapi.MeteringRouter, counts map[string]meter.Count) {
	now := p.now().Unix()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.metered[r.ID] = true
	prev := p.last[r.ID]
	for _, l := range r.Labels {
		p.projects[l.ID] = r.ProjectID
		c, ok := counts[l.ID]
		if !ok {
			continue
		}
		before := prev[l.ID]
		d := meter.Count{Packets: c.Packets - before.Packets, Bytes: c.Bytes - before.Bytes}
		if c.Packets < before.Packets || c.Bytes < before.Bytes {
			// The counter was made anew (the namespace was rebuilt).
			d = c
		}
		for _, m := range []map[string]*Usage{p.interval, p.totals} {
			u := m[l.ID]
			if u == nil {
				u = &Usage{FirstUpdate: now, LastUpdate: now}
				m[l.ID] = u
			}
			u.Packets += d.Packets
			u.Bytes += d.Bytes
			u.Time += now - u.LastUpdate
			u.LastUpdate = now
		}
		labelPackets.WithLabelValues(p.host, l.ID).Add(float64(d.Packets))
		labelBytes.WithLabelValues(p.host, l.ID).Add(float64(d.Bytes))
	}
	p.last[r.ID] = counts
}

// forget stops metering a router that is no longer this host's (or has
// no label any more): its table goes if its namespace is still there.
func (p *Part) forget(id string) error {
	p.mu.Lock()
	delete(p.metered, id)
	delete(p.last, id)
	p.mu.Unlock()
	ns, err := netns.Open(link.RouterNamespace(id))
	if err != nil {
		return nil
	}
	defer ns.Close()
	return meter.Remove(ns)
}

// maybeReport reports what each label counted once report_interval has
// passed since the last report, and starts the next interval, as
// Neutron's agent sends its l3.meter notifications.
func (p *Part) maybeReport(ctx context.Context) {
	p.mu.Lock()
	if p.now().Sub(p.lastReport) < p.opts.ReportInterval {
		p.mu.Unlock()
		return
	}
	p.lastReport = p.now()
	report := p.interval
	p.interval = map[string]*Usage{}
	projects := maps.Clone(p.projects)
	p.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(report)) {
		u := report[id]
		p.log.InfoContext(ctx, "l3.meter", "label_id", id, "project_id", projects[id], "pkts", u.Packets,
			"bytes", u.Bytes, "time", u.Time, "first_update", u.FirstUpdate, "last_update", u.LastUpdate)
	}
}

// rulesetOf is a router's metering as the meter package takes it; a
// prefix that does not parse is left out (the server checked them).
func rulesetOf(r rpcapi.MeteringRouter) meter.Ruleset {
	rs := meter.Ruleset{}
	if gw := string(r.GatewayPortID); gw != "" {
		rs.GatewayDevice = link.RouterGatewayName(gw)
	}
	for _, l := range r.Labels {
		ml := meter.Label{ID: l.ID}
		for _, rule := range l.Rules {
			ml.Rules = append(ml.Rules, meter.Rule{Ingress: rule.Direction == "ingress", Excluded: rule.Excluded,
				Remote: prefix(rule.RemoteIPPrefix), Source: prefix(rule.SourceIPPrefix),
				Destination: prefix(rule.DestinationIPPrefix)})
		}
		rs.Labels = append(rs.Labels, ml)
	}
	return rs
}

// prefix reads an IP interface as Neutron stores it ("10.0.0.1/24",
// "10.0.0.0/24" or "10.0.0.1") into the network it names.
func prefix(s *string) netip.Prefix {
	if s == nil || *s == "" {
		return netip.Prefix{}
	}
	if !strings.Contains(*s, "/") {
		a, err := netip.ParseAddr(*s)
		if err != nil {
			return netip.Prefix{}
		}
		return netip.PrefixFrom(a, a.BitLen())
	}
	pfx, err := netip.ParsePrefix(*s)
	if err != nil {
		return netip.Prefix{}
	}
	return pfx.Masked()
}
