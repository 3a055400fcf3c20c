// Package l3 is the L3 agent part of `neutrino agent` (Neutron's
// neutron-l3-agent in legacy mode with the Linux bridge interface
// driver): it builds the routers the server scheduled to this host, each
// in a qrouter-<router-id> namespace with qr-/qg- devices whose
// tap<port-id[:11]> peers sit on the networks' bridges (the L2 part
// wires them as it wires any port bound here), the routers' addresses
// and routes, and their NAT as one nftables table (package
// internal/dataplane/nat): SNAT, floating IPs, port forwardings.
//
// It is level-triggered: a pass fetches every router of this host with
// one sync_routers call, converges each router that changed (and every
// router on a full pass: at start, after a revival, every
// periodic_interval), removes the routers it built that are no longer
// wanted (deleted, unscheduled, administratively down), and reports
// floating IP statuses with update_floatingip_statuses. Notifications
// (routers_updated, router_deleted, router_added_to_agent,
// router_removed_from_agent) only make the next pass come sooner.
//
// Options read: [DEFAULT] interface_driver, external_network_bridge,
// agent_mode, handle_internal_only_routers, enable_metadata_proxy,
// send_arp_for_ha, periodic_interval; [agent] l3_state_path.
package l3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func init() {
	agent.Register("l3", func(env agent.Env) (agent.Part, error) {
		ns, err := env.OpenNamespace()
		if err != nil {
			return nil, err
		}
		h, err := link.Open(ns)
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		return NewPart(env, h)
	})
}

// Floating IP statuses (neutron_lib.constants).
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
	StatusError  = "ERROR"
)

// parallel bounds how many routers a pass converges at once.
const parallel = 4

// Part is the L3 agent as a part of `neutrino agent`.
type Part struct {
	host string
	opts Options
	log  *slog.Logger
	rec  *Reconciler
	*agent.Kicker

	full chan struct{} // a full pass is wanted

	mu       sync.Mutex
	counts   map[string]int
	statuses map[string]map[string]string // router → floating IP → status reported
}

var (
	_ agent.Part    = (*Part)(nil)
	_ agent.Reviver = (*Part)(nil)
)

// NewPart builds the part for env; bridges and the routers' tap ends
// live in the namespace of h.
func NewPart(env agent.Env, h *link.Host) (*Part, error) {
	opts, err := OptionsFrom(env.Config)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("part", "l3", "host", env.Host)
	return &Part{host: env.Host, opts: opts, log: log, rec: NewReconciler(h, opts.StateDir, opts.SendARPForHA, log),
		Kicker: agent.NewKicker(), full: make(chan struct{}, 1),
		counts: map[string]int{}, statuses: map[string]map[string]string{}}, nil
}

// AgentType implements agent.Part.
func (*Part) AgentType() string { return rpcapi.AgentTypeL3 }

// Binary implements agent.Part.
func (*Part) Binary() string { return rpcapi.BinaryL3Agent }

// Topic implements agent.Part.
func (*Part) Topic() string { return rpcapi.TopicL3Agent }

// Configurations implements agent.Part with the keys Neutron's L3 agent
// reports (the schedulers read agent_mode and
// handle_internal_only_routers).
func (p *Part) Configurations() map[string]any {
	p.mu.Lock()
	c := maps.Clone(p.counts)
	p.mu.Unlock()
	return map[string]any{
		"agent_mode":                   "legacy",
		"gateway_external_network_id":  "",
		"handle_internal_only_routers": p.opts.HandleInternalOnlyRouters,
		"external_network_bridge":      "",
		"interface_driver":             p.opts.InterfaceDriver,
		"log_agent_heartbeats":         false,
		"routers":                      c["routers"],
		"ex_gw_ports":                  c["ex_gw_ports"],
		"interfaces":                   c["interfaces"],
		"floating_ips":                 c["floating_ips"],
	}
}

// Handlers implements agent.Part: the L3 agent's notifications, on the
// host's topic and on the fanout (router_deleted is fanned out).
func (p *Part) Handlers(host string) map[string]rpc.Handlers {
	trigger := func(context.Context, json.RawMessage) (any, error) { p.Trigger(); return nil, nil }
	hs := rpc.Handlers{
		rpcapi.MethodRoutersUpdated:         trigger,
		rpcapi.MethodRouterDeleted:          trigger,
		rpcapi.MethodRouterAddedToAgent:     trigger,
		rpcapi.MethodRouterRemovedFromAgent: trigger,
	}
	return map[string]rpc.Handlers{
		rpcapi.HostTopic(rpcapi.TopicL3Agent, host): hs,
		rpcapi.TopicL3Agent:                         hs,
	}
}

// Revived implements agent.Reviver: converge and report everything.
func (p *Part) Revived() {
	p.mu.Lock()
	p.statuses = map[string]map[string]string{}
	p.mu.Unlock()
	p.wantFull()
}

func (p *Part) wantFull() {
	select {
	case p.full <- struct{}{}:
	default:
	}
	p.Trigger()
}

// Teardown removes every router this part built.
func (p *Part) Teardown(ctx context.Context) error {
	var errs []error
	for _, id := range p.rec.Built() {
		errs = append(errs, p.rec.Remove(ctx, id))
	}
	return errors.Join(errs...)
}

// Run implements agent.Part.
func (p *Part) Run(ctx context.Context, bus *rpc.Bus) error {
	interval := p.opts.ResyncInterval
	if interval <= 0 {
		interval = 40 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	p.wantFull()
	failed := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
		case <-tick.C:
			p.wantFull()
			continue
		}
		full := failed
		select {
		case <-p.full:
			full = true
		default:
		}
		err := p.pass(ctx, bus, full)
		failed = err != nil
		if err != nil && ctx.Err() == nil {
			p.log.Warn("L3 pass failed", "error", err)
			// Retry soon: the server may not know this agent yet (its
			// first report races the first pass).
			time.AfterFunc(time.Second, p.Trigger)
		}
	}
}

// pass is one level-triggered round; full checks every router against
// the kernel, otherwise only routers that changed are touched.
func (p *Part) pass(ctx context.Context, bus *rpc.Bus, full bool) error {
	start := time.Now()
	var routers []rpcapi.Router
	if err := bus.Call(ctx, rpcapi.TopicL3Plugin, rpcapi.MethodSyncRouters, rpcapi.SyncRoutersArgs{Host: p.host}, &routers); err != nil {
		return fmt.Errorf("sync_routers: %w", err)
	}
	fetched := time.Now()
	wanted := map[string]bool{}
	counts := map[string]int{}
	var errs []error
	type job struct {
		src rpcapi.Router
		r   Router
	}
	var jobs []job
	for _, rr := range routers {
		if rr.Distributed || rr.HA {
			errs = append(errs, fmt.Errorf("router %s: distributed and HA routers are not supported", rr.ID))
			continue
		}
		if rr.GatewayPort == nil && !p.opts.HandleInternalOnlyRouters {
			continue
		}
		r, err := RouterFrom(rr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		wanted[rr.ID] = true
		jobs = append(jobs, job{rr, r})
		counts["routers"]++
		counts["interfaces"] += len(r.Interfaces)
		counts["floating_ips"] += len(r.FloatingIPs)
		if r.Gateway != nil {
			counts["ex_gw_ports"]++
		}
	}
	results := make([]error, len(jobs))
	var g errgroup.Group
	g.SetLimit(parallel)
	for i, j := range jobs {
		g.Go(func() error {
			_, results[i] = p.rec.Ensure(ctx, j.r, full)
			return nil
		})
	}
	_ = g.Wait()
	for _, id := range p.rec.Built() {
		if wanted[id] {
			continue
		}
		p.log.Info("removing router", "router", id)
		if err := p.rec.Remove(ctx, id); err != nil {
			errs = append(errs, err)
		}
		p.mu.Lock()
		delete(p.statuses, id)
		p.mu.Unlock()
	}
	reconciled := time.Now()
	for i, j := range jobs {
		if results[i] != nil {
			errs = append(errs, results[i])
		}
		if err := p.reportFIPs(ctx, bus, j.src, results[i]); err != nil {
			errs = append(errs, err)
		}
	}
	p.mu.Lock()
	p.counts = counts
	p.mu.Unlock()
	p.Done()
	p.log.Debug("L3 pass", "routers", len(jobs), "full", full, "fetch", fetched.Sub(start),
		"reconcile", reconciled.Sub(fetched), "report", time.Since(reconciled))
	return errors.Join(errs...)
}

// reportFIPs tells the server the status of the router's floating IPs
// when it changed: ACTIVE once plumbed, ERROR when the router failed,
// DOWN for the ones the router no longer serves (as Neutron's
// update_fip_statuses does).
func (p *Part) reportFIPs(ctx context.Context, bus *rpc.Bus, r rpcapi.Router, failure error) error {
	now := map[string]string{}
	for _, f := range r.FloatingIPs {
		st := StatusActive
		if failure != nil || r.GatewayPort == nil {
			st = StatusError
		}
		now[f.ID] = st
	}
	p.mu.Lock()
	last := p.statuses[r.ID]
	p.mu.Unlock()
	changes := map[string]string{}
	for id, st := range now {
		if last[id] != st || (st == StatusActive && findFIP(r, id) != StatusActive) {
			changes[id] = st
		}
	}
	for id := range last {
		if _, ok := now[id]; !ok {
			changes[id] = StatusDown
		}
	}
	if len(changes) == 0 {
		return nil
	}
	args := rpcapi.UpdateFloatingIPStatusesArgs{RouterID: r.ID, FIPStatuses: changes}
	if err := bus.Call(ctx, rpcapi.TopicL3Plugin, rpcapi.MethodUpdateFloatingIPStatuses, args, nil); err != nil {
		return fmt.Errorf("update_floatingip_statuses for router %s: %w", r.ID, err)
	}
	p.mu.Lock()
	p.statuses[r.ID] = now
	p.mu.Unlock()
	return nil
}

// findFIP is the status the server shows for a router's floating IP.
func findFIP(r rpcapi.Router, id string) string {
	i := slices.IndexFunc(r.FloatingIPs, func(f rpcapi.FloatingIP) bool { return f.ID == id })
	if i < 0 {
		return ""
	}
	return r.FloatingIPs[i].Status
}

// Built lists the routers this part has built on the host.
func (p *Part) Built() []string { return p.rec.Built() }
