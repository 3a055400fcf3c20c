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

// parallel bounds how many routers the partial passes under way fetch
// and converge at once, and how many a full pass converges at once.
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
	// fetches numbers the passes' sync_routers calls, in the order
	// they were made.
	fetches atomic.Uint64

	reportMu  sync.Mutex     // one status report at a time
	reporting sync.WaitGroup // reports under way

	mu sync.Mutex
	// work are the routers notifications named since their last fetch,
	// and those the partial passes under way hold.
	work     *queue
	counts   map[string]map[string]int    // router → its share of the reported counts
	statuses map[string]map[string]string // router → floating IP → status reported
	// reported is, per router, the number of the fetch whose statuses
	// were last reported: a pass's report never overwrites a later
	// fetch's.
	reported map[string]uint64
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
		Kicker: agent.NewKicker(), full: make(chan struct{}, 1), work: newQueue(),
		counts: map[string]map[string]int{}, statuses: map[string]map[string]string{}, reported: map[string]uint64{}}, nil
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
	named := func(method string, read func(json.RawMessage) ([]string, error)) func(context.Context, json.RawMessage) (any, error) {
		return func(ctx context.Context, raw json.RawMessage) (any, error) {
			ids, err := read(raw)
			if err != nil || len(ids) == 0 {
				p.wantFull()
				return nil, nil
			}
			p.log.DebugContext(ctx, "routers named", "method", method, "routers", ids)
			p.name(ids...)
			return nil, nil
		}
	}
	hs := rpc.Handlers{
		rpcapi.MethodRoutersUpdated: named(rpcapi.MethodRoutersUpdated, func(raw json.RawMessage) ([]string, error) {
			var a rpcapi.RoutersUpdatedArgs
			err := json.Unmarshal(raw, &a)
			return a.Routers, err
		}),
		rpcapi.MethodRouterDeleted: named(rpcapi.MethodRouterDeleted, func(raw json.RawMessage) ([]string, error) {
			var a rpcapi.RouterDeletedArgs
			err := json.Unmarshal(raw, &a)
			return []string{a.RouterID}, err
		}),
		rpcapi.MethodRouterAddedToAgent: named(rpcapi.MethodRouterAddedToAgent, func(raw json.RawMessage) ([]string, error) {
			var a struct {
				Payload []string `json:"payload"`
			}
			err := json.Unmarshal(raw, &a)
			return a.Payload, err
		}),
		rpcapi.MethodRouterRemovedFromAgent: named(rpcapi.MethodRouterRemovedFromAgent, func(raw json.RawMessage) ([]string, error) {
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

// name makes the routers' next partial pass come soon.
func (p *Part) name(ids ...string) {
	p.mu.Lock()
	p.work.name(ids...)
	p.mu.Unlock()
	p.Trigger()
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
// overlap: each takes, oldest first, as many named routers as there are
// free slots (parallel in all), fetches them with one sync_routers call
// and converges them, releasing each router's slot as soon as it is
// done. A router is fetched only when it can be converged at once, so
// the notifications that name it while it waits (a burst's router
// gaining its gateway, then its interface) are served by one fetch and
// one convergence, with no timer; and a router named while its pass
// runs is fetched afresh once that pass is done with it, not once the
// whole pass is. The periodic full pass waits for the partial passes
// under way and the routers named to be done (at most one more
// periodic_interval), so that it does not hold up a burst; a full pass
// asked for by a failure or a revival runs next.
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
	var due time.Time // when the periodic full pass fell due; zero when not
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
		case <-tick.C:
			if due.IsZero() {
				due = time.Now()
			}
		}
		full := p.failed.Swap(false)
		select {
		case <-p.full:
			full = true
		default:
		}
		if !full && !due.IsZero() {
			p.mu.Lock()
			idle := p.work.idle()
			p.mu.Unlock()
			full = idle || time.Since(due) >= interval
		}
		if full {
			due = time.Time{}
			passes.Wait()
			p.mu.Lock()
			p.work.forget()
			p.mu.Unlock()
			p.run(ctx, bus, nil)
			continue
		}
		p.mu.Lock()
		ids := p.work.take(parallel - len(p.work.busy))
		p.mu.Unlock()
		if len(ids) == 0 {
			continue // nothing named, or no slot free: a release kicks again
		}
		passes.Add(1)
		go func() {
			defer passes.Done()
			p.run(ctx, bus, ids)
		}()
	}
}

// release ends a partial pass's hold on a router and frees its slot.
func (p *Part) release(id string) {
	p.mu.Lock()
	released := p.work.release(id)
	p.mu.Unlock()
	if released {
		p.Trigger()
	}
}

// run is one pass with its request id and its failure handling: a
// failed pass makes the next one full, a second later. A partial pass's
// routers are all released when it ends (those it converged or removed
// already were).
func (p *Part) run(ctx context.Context, bus *rpc.Bus, ids []string) {
	pctx := agent.PassContext(ctx) // this pass's request id, in its calls and log lines
	err := p.pass(pctx, bus, ids)
	for _, id := range ids {
		p.release(id)
	}
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
// removes those of only that did not come back, releasing each router
// as soon as it is done with it.
func (p *Part) pass(ctx context.Context, bus *rpc.Bus, only []string) error {
	p.Begin() // times the pass for neutrino_agent pass metrics, as the l2 and dhcp parts do
	full := only == nil
	start := time.Now()
	seq := p.fetches.Add(1)
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
	slots := make(chan struct{}, parallel) // a partial pass's routers hold their slots already
	for i, j := range jobs {
		g.Go(func() {
			if full {
				slots <- struct{}{}
				defer func() { <-slots }()
			}
			_, results[i] = p.rec.Ensure(ctx, j.r, full)
			if !full {
				p.mu.Lock()
				p.counts[j.src.ID] = counts[j.src.ID]
				p.mu.Unlock()
				p.release(j.src.ID)
			}
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
		if !full {
			p.release(id)
		}
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
		// A later fetch's report for a router stands: this pass's would
		// be older news.
		later := func(id string) bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.reported[id] > seq {
				return true
			}
			p.reported[id] = seq
			return false
		}
		// Removed routers first: a floating IP that moved to a router
		// converged in this pass ends up with that router's status.
		for id, down := range gone {
			if later(id) {
				continue
			}
			args := rpcapi.UpdateFloatingIPStatusesArgs{RouterID: id, FIPStatuses: down}
			if err := bus.Call(ctx, rpcapi.TopicL3Plugin, rpcapi.MethodUpdateFloatingIPStatuses, args, nil); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "reporting the floating IPs of a removed router DOWN", "router", id, "error", err)
			}
			p.mu.Lock()
			if p.reported[id] == seq {
				delete(p.reported, id) // the router is gone
			}
			p.mu.Unlock()
		}
		for i, j := range jobs {
			if later(j.src.ID) {
				continue
			}
			if err := p.reportFIPs(ctx, bus, j.src, results[i]); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "reporting floating IP statuses; retrying", "router", j.src.ID, "error", err)
				time.AfterFunc(time.Second, func() { p.name(j.src.ID) })
			}
		}
	}()
	if full {
		p.mu.Lock()
		p.counts = counts
		p.mu.Unlock()
	}
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
