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
// metadata_port, send_arp_for_ha, periodic_interval; [agent] l3_state_path.
//
// With enable_metadata_proxy each router's table redirects instances'
// requests to 169.254.169.254:80 from its qr- devices to metadata_port
// in the namespace, where the metadata part (internal/agent/metadata)
// listens, as Neutron's L3 agent redirects them to its haproxy.
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
	"sync/atomic"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func init() {
	agent.Register("l3", func(env agent.Env) (agent.Part, error) {
		h, _, err := env.OpenHost()
		if err != nil {
			return nil, err
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

// parallel bounds how many routers the passes under way converge at once.
const parallel = 4

// Part is the L3 agent as a part of `neutrino agent`.
type Part struct {
	host string
	opts Options
	log  *slog.Logger
	rec  *Reconciler
	*agent.Kicker

	full   chan struct{} // a full pass is wanted
	failed atomic.Bool   // the last pass failed: the next is full
	// converging holds a token per router being converged, across the
	// passes under way.
	converging chan struct{}

	reportMu  sync.Mutex     // one status report at a time, in pass order
	reporting sync.WaitGroup // reports under way

	mu sync.Mutex
	// pending are the routers notifications named since the last pass:
	// a pass that is not full fetches only them.
	pending map[string]bool
	// busy are the routers of the partial passes under way, running
	// their number.
	busy     map[string]bool
	running  int
	counts   map[string]map[string]int    // router → its share of the reported counts
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
		Kicker: agent.NewKicker(), full: make(chan struct{}, 1), converging: make(chan struct{}, parallel), busy: map[string]bool{},
		counts: map[string]map[string]int{}, statuses: map[string]map[string]string{}, pending: map[string]bool{}}, nil
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
	c := map[string]int{}
	p.mu.Lock()
	for _, rc := range p.counts {
		for k, n := range rc {
			c[k] += n
		}
	}
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
// host's topic and on the fanout (router_deleted is fanned out). Each
// names routers; the next pass fetches those (a notification it cannot
// read makes it a full pass).
func (p *Part) Handlers(host string) map[string]rpc.Handlers {
	named := func(read func(json.RawMessage) ([]string, error)) func(context.Context, json.RawMessage) (any, error) {
		return func(_ context.Context, raw json.RawMessage) (any, error) {
			ids, err := read(raw)
			if err != nil || len(ids) == 0 {
				p.wantFull()
				return nil, nil
			}
			p.mu.Lock()
			for _, id := range ids {
				p.pending[id] = true
			}
			p.mu.Unlock()
			p.Trigger()
			return nil, nil
		}
	}
	hs := rpc.Handlers{
		rpcapi.MethodRoutersUpdated: named(func(raw json.RawMessage) ([]string, error) {
			var a rpcapi.RoutersUpdatedArgs
			err := json.Unmarshal(raw, &a)
			return a.Routers, err
		}),
		rpcapi.MethodRouterDeleted: named(func(raw json.RawMessage) ([]string, error) {
			var a rpcapi.RouterDeletedArgs
			err := json.Unmarshal(raw, &a)
			return []string{a.RouterID}, err
		}),
		rpcapi.MethodRouterAddedToAgent: named(func(raw json.RawMessage) ([]string, error) {
			var a struct {
				Payload []string `json:"payload"`
			}
			err := json.Unmarshal(raw, &a)
			return a.Payload, err
		}),
		rpcapi.MethodRouterRemovedFromAgent: named(func(raw json.RawMessage) ([]string, error) {
			var a struct {
				Payload struct {
					RouterID string `json:"router_id"`
				} `json:"payload"`
			}
			err := json.Unmarshal(raw, &a)
			return []string{a.Payload.RouterID}, err
		}),
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

// Run implements agent.Part. A full pass runs alone. Partial passes
// overlap: routers named while one runs are fetched and built at once by
// another (at most maxPasses at a time, and never one router in two
// passes), so that a burst of routers arriving over a few hundred
// milliseconds — each API call's notification — is not built in turns
// of a whole pass each; the routers converging at once across passes
// are bounded by parallel.
func (p *Part) Run(ctx context.Context, bus *rpc.Bus) error {
	interval := p.opts.ResyncInterval
	if interval <= 0 {
		interval = 40 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	p.wantFull()
	defer p.rec.Wait()
	defer p.reporting.Wait()
	var passes sync.WaitGroup
	defer passes.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
		case <-tick.C:
			p.wantFull()
			continue
		}
		full := p.failed.Swap(false)
		select {
		case <-p.full:
			full = true
		default:
		}
		if full {
			passes.Wait()
			p.mu.Lock()
			p.pending = map[string]bool{}
			p.mu.Unlock()
			p.run(ctx, bus, nil)
			continue
		}
		p.mu.Lock()
		var ids []string
		if p.running < maxPasses {
			for id := range p.pending {
				if !p.busy[id] {
					ids = append(ids, id)
				}
			}
		}
		for _, id := range ids {
			delete(p.pending, id)
			p.busy[id] = true
		}
		if len(ids) > 0 {
			p.running++
		}
		p.mu.Unlock()
		if len(ids) == 0 {
			continue // nothing named, or what is named waits for its pass to end
		}
		slices.Sort(ids)
		passes.Add(1)
		go func() {
			defer passes.Done()
			p.run(ctx, bus, ids)
			p.mu.Lock()
			for _, id := range ids {
				delete(p.busy, id)
			}
			p.running--
			more := len(p.pending) > 0
			p.mu.Unlock()
			if more {
				p.Trigger()
			}
		}()
	}
}

// maxPasses bounds the partial passes under way at once.
const maxPasses = 4

// run is one pass with its request id and its failure handling: a
// failed pass makes the next one full, a second later.
func (p *Part) run(ctx context.Context, bus *rpc.Bus, ids []string) {
	pctx := agent.PassContext(ctx) // this pass's request id, in its calls and log lines
	err := p.pass(pctx, bus, ids)
	if err != nil && ctx.Err() == nil {
		p.failed.Store(true)
		p.log.WarnContext(pctx, "L3 pass failed", "error", err)
		// Retry soon: the server may not know this agent yet (its
		// first report races the first pass).
		time.AfterFunc(time.Second, p.Trigger)
	}
}

// pass is one level-triggered round. A full pass (only == nil) fetches
// every router of this host, checks each against the kernel and removes
// the routers built here that are no longer wanted; a partial pass
// fetches the routers of only, converges those that changed and
// removes those of only that did not come back.
func (p *Part) pass(ctx context.Context, bus *rpc.Bus, only []string) error {
	p.Begin() // times the pass for neutrino_agent pass metrics, as the l2 and dhcp parts do
	full := only == nil
	start := time.Now()
	var routers []rpcapi.Router
	if err := bus.Call(ctx, rpcapi.TopicL3Plugin, rpcapi.MethodSyncRouters, rpcapi.SyncRoutersArgs{Host: p.host, RouterIDs: only}, &routers); err != nil {
		if !full {
			// Whatever failed is fetched again by the retry's full pass.
			p.wantFull()
		}
		return fmt.Errorf("sync_routers: %w", err)
	}
	fetched := time.Now()
	wanted := map[string]bool{}
	counts := map[string]map[string]int{}
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
		if p.opts.EnableMetadataProxy {
			r.NAT.MetadataPort = uint16(p.opts.MetadataPort)
		}
		wanted[rr.ID] = true
		jobs = append(jobs, job{rr, r})
		rc := map[string]int{"routers": 1, "interfaces": len(r.Interfaces), "floating_ips": len(r.FloatingIPs)}
		if r.Gateway != nil {
			rc["ex_gw_ports"] = 1
		}
		counts[rr.ID] = rc
	}
	results := make([]error, len(jobs))
	var g sync.WaitGroup
	for i, j := range jobs {
		g.Go(func() {
			p.converging <- struct{}{}
			defer func() { <-p.converging }()
			_, results[i] = p.rec.Ensure(ctx, j.r, full)
		})
	}
	g.Wait()
	built := p.rec.Built()
	if !full {
		built = slices.DeleteFunc(slices.Clone(only), func(id string) bool { return !slices.Contains(built, id) })
	}
	// The floating IPs of a router removed here (deleted, unscheduled,
	// administratively down) go DOWN, as Neutron's agent reports them
	// when it deletes a router.
	gone := map[string]map[string]string{}
	for _, id := range built {
		if wanted[id] {
			continue
		}
		p.log.InfoContext(ctx, "removing router", "router", id)
		if err := p.rec.Remove(ctx, id); err != nil {
			errs = append(errs, err)
		}
		p.mu.Lock()
		down := map[string]string{}
		for fip, st := range p.statuses[id] {
			if st != StatusDown {
				down[fip] = StatusDown
			}
		}
		if len(down) > 0 {
			gone[id] = down
		}
		delete(p.statuses, id)
		delete(p.counts, id)
		p.mu.Unlock()
	}
	reconciled := time.Now()
	for i := range jobs {
		if results[i] != nil {
			errs = append(errs, results[i])
		}
	}
	// Statuses are reported off the pass's path: the next pass (a burst
	// of associations) need not wait for the server's write.
	p.reporting.Add(1)
	go func() {
		defer p.reporting.Done()
		p.reportMu.Lock()
		defer p.reportMu.Unlock()
		// Removed routers first: a floating IP that moved to a router
		// converged in this pass ends up with that router's status.
		for id, down := range gone {
			args := rpcapi.UpdateFloatingIPStatusesArgs{RouterID: id, FIPStatuses: down}
			if err := bus.Call(ctx, rpcapi.TopicL3Plugin, rpcapi.MethodUpdateFloatingIPStatuses, args, nil); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "reporting the floating IPs of a removed router DOWN", "router", id, "error", err)
			}
		}
		for i, j := range jobs {
			if err := p.reportFIPs(ctx, bus, j.src, results[i]); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "reporting floating IP statuses; retrying", "router", j.src.ID, "error", err)
				p.mu.Lock()
				p.pending[j.src.ID] = true
				p.mu.Unlock()
				time.AfterFunc(time.Second, p.Trigger)
			}
		}
	}()
	p.mu.Lock()
	if full {
		p.counts = counts
	} else {
		maps.Copy(p.counts, counts)
	}
	p.mu.Unlock()
	p.Done()
	p.log.DebugContext(ctx, "L3 pass", "routers", len(jobs), "full", full, "fetch", fetched.Sub(start),
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
