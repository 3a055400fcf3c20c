// Package agent is the runtime of `neutrino agent`, the process that runs
// on every host: it connects to the message bus, registers each of its
// data-plane parts (L2, DHCP, …) with the server and keeps them alive by
// calling report_state every [agent] report_interval, as Neutron's agents
// do, and delivers the server's notifications to the parts.
//
// A part is a Neutron agent in its own right (one row in the server's
// agents table per part and host): it names its agent_type, binary and
// topic, reports its configurations, consumes its topics and runs its
// loop. Parts register themselves with Register from an init function,
// as CoreDNS plugins do; the agent runs the parts named in its
// configuration (all registered ones by default).
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netns"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// Part is one data-plane part of the agent.
type Part interface {
	// AgentType is Neutron's agent_type ("Linux bridge agent", "DHCP agent").
	AgentType() string
	// Binary is the reported binary ("neutron-linuxbridge-agent").
	Binary() string
	// Topic is the topic the part reports ("N/A" for L2 agents,
	// "dhcp_agent" for DHCP agents).
	Topic() string
	// Configurations is the part's configurations dict, sent with every
	// report (bridge mappings, networks served, …).
	Configurations() map[string]any
	// Handlers are the topics the part consumes on host and their methods:
	// fanout topics (q-agent-notifier-port-update) and host topics
	// (rpcapi.HostTopic("dhcp_agent", host)).
	Handlers(host string) map[string]rpc.Handlers
	// Run does the part's work with the bus to call the server on, until
	// ctx ends; it should return nil then. Each pass should run with its
	// own PassContext and log with it.
	Run(ctx context.Context, bus *rpc.Bus) error
}

// PassContext returns ctx for one pass of a part (or one report): it
// carries a fresh request id, which the bus sends with every call made
// with it and the process's log handler (reqctx.LogHandler) adds to every
// line logged with it, so one grep for the id follows the pass through
// the agent's log and the server's.
func PassContext(ctx context.Context) context.Context { return reqctx.WithNewRequestID(ctx) }

// Reviver is a Part that wants to know when the server answers a report
// with "revived" (the server had considered it dead, so it may have
// missed notifications): it should resync fully, as Neutron's agents do.
type Reviver interface {
	Revived()
}

// Env is what a part's factory may read.
type Env struct {
	// Host is [DEFAULT] host.
	Host string
	// Config is the loaded configuration; a part reads the options it
	// declared on config.Options (one registry for the one binary).
	Config *config.Config
	Logger *slog.Logger
	// Namespace, when set, names the network namespace the parts build
	// the data plane in ([agent] network_namespace); the process stays in
	// its own.
	Namespace string
}

// OpenNamespace opens env's data-plane namespace: the named one, or the
// process's own when Namespace is empty (netns.None()).
func (env Env) OpenNamespace() (netns.NsHandle, error) {
	if env.Namespace == "" {
		return netns.None(), nil
	}
	ns, err := netns.GetFromName(env.Namespace)
	if err != nil {
		return netns.None(), fmt.Errorf("[agent] network_namespace %q: %w", env.Namespace, err)
	}
	return ns, nil
}

// OpenHost opens netlink on env's data-plane namespace (see
// OpenNamespace), which every part that touches links starts from; ns is
// that namespace, for watching it.
func (env Env) OpenHost() (*link.Host, netns.NsHandle, error) {
	ns, err := env.OpenNamespace()
	if err != nil {
		return nil, ns, err
	}
	h, err := link.Open(ns)
	if err != nil {
		return nil, ns, fmt.Errorf("netlink: %w", err)
	}
	return h, ns, nil
}

// Factory builds a part.
type Factory func(Env) (Part, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Factory{}
)

// Register makes a part available under name ("l2", "dhcp"); call it from
// an init function. Registering a name twice panics.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("agent: part " + name + " registered twice")
	}
	registry[name] = f
}

// Registered lists the registered parts' names, sorted.
func Registered() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Build builds the named parts (every registered one when names is empty).
func Build(env Env, names []string) ([]Part, error) {
	if len(names) == 0 {
		names = Registered()
	}
	var parts []Part
	for _, n := range names {
		registryMu.Lock()
		f := registry[n]
		registryMu.Unlock()
		if f == nil {
			return nil, fmt.Errorf("agent: no part named %q (have %v)", n, Registered())
		}
		p, err := f(env)
		if err != nil {
			return nil, fmt.Errorf("agent part %s: %w", n, err)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// Options configure an Agent.
type Options struct {
	// Host is [DEFAULT] host.
	Host string
	// ReportInterval is [agent] report_interval; zero or less disables
	// reporting after the first report (Neutron: reporting disabled).
	ReportInterval time.Duration
	// AvailabilityZone is [agent] availability_zone.
	AvailabilityZone string
	// Logger receives the agent's events; nil discards them.
	Logger *slog.Logger
	// MetricsBind is [agent] metrics_bind: the address to serve /metrics
	// and /debug/pprof/ on; empty for none.
	MetricsBind string
	// Observe, when set, hears of every report_state round trip: how
	// long it took and whether it failed (metrics, the load test).
	Observe func(agentType string, took time.Duration, err error)
}

// Agent runs parts on one host.
type Agent struct {
	bus   *rpc.Bus
	opts  Options
	parts []Part

	mu    sync.Mutex
	state map[string]string // agent_type → last report answer
}

// New returns an agent running parts over bus.
func New(bus *rpc.Bus, opts Options, parts ...Part) *Agent {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Agent{bus: bus, opts: opts, parts: parts, state: map[string]string{}}
}

// Run consumes the parts' topics, runs the parts and reports their state
// until ctx ends. It returns the first part's failure, or nil once ctx is
// cancelled.
func (a *Agent) Run(ctx context.Context) error {
	if len(a.parts) == 0 {
		return errors.New("agent: no parts to run")
	}
	for _, p := range a.parts {
		for topic, hs := range p.Handlers(a.opts.Host) {
			if err := a.bus.Serve(topic, hs); err != nil {
				return fmt.Errorf("agent %s: %w", p.AgentType(), err)
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(a.parts)+1)
	var wg sync.WaitGroup
	if a.opts.MetricsBind != "" {
		wg.Go(func() {
			if err := serveMetrics(ctx, a.opts.MetricsBind); err != nil && ctx.Err() == nil {
				errc <- err
				cancel()
			}
		})
	}
	for _, p := range a.parts {
		if k, ok := p.(kicked); ok {
			k.nameFor(p.AgentType())
		}
		resyncs.WithLabelValues(p.AgentType(), "start").Inc()
		wg.Go(func() {
			if err := p.Run(ctx, a.bus); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("agent %s: %w", p.AgentType(), err)
				cancel()
			}
		})
		wg.Go(func() { a.heartbeat(ctx, p) })
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// State is the server's last answer to a part's report ("new", "alive",
// "revived"), empty before one succeeded.
func (a *Agent) State(agentType string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state[agentType]
}

// heartbeat reports p's state now and then every report interval; until a
// report succeeds, each carries start_flag so the server knows the agent
// (re)started.
func (a *Agent) heartbeat(ctx context.Context, p Part) {
	started := false
	interval := a.opts.ReportInterval
	retry := interval
	if retry <= 0 {
		retry = 30 * time.Second
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx := PassContext(ctx)
		status, err := a.Report(rctx, p, !started)
		next := interval
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			a.opts.Logger.WarnContext(rctx, "failed reporting state", "agent_type", p.AgentType(), "host", a.opts.Host, "error", err)
			next = retry
		default:
			started = true
			if status == "revived" {
				a.opts.Logger.InfoContext(rctx, "agent has just been revived; resyncing", "agent_type", p.AgentType())
				if r, ok := p.(Reviver); ok {
					resyncs.WithLabelValues(p.AgentType(), "revived").Inc()
					r.Revived()
				}
			}
		}
		if next <= 0 {
			return // reporting disabled after the first report
		}
		t.Reset(next)
	}
}

// Report calls report_state once for p, as Neutron's PluginReportStateAPI
// does, and returns the server's answer. The call carries ctx's request
// id, or a fresh one.
func (a *Agent) Report(ctx context.Context, p Part, startFlag bool) (string, error) {
	if reqctx.RequestID(ctx) == "" {
		ctx = PassContext(ctx)
	}
	state := map[string]any{
		"agent_type":        p.AgentType(),
		"binary":            p.Binary(),
		"host":              a.opts.Host,
		"topic":             p.Topic(),
		"configurations":    p.Configurations(),
		"availability_zone": a.opts.AvailabilityZone,
		"resource_versions": map[string]any{},
	}
	if startFlag {
		state["start_flag"] = true
	}
	args := map[string]any{
		"agent_state": map[string]any{"agent_state": state},
		"time":        time.Now().UTC().Format("2006-01-02T15:04:05.000000"),
	}
	var raw json.RawMessage
	start := time.Now()
	err := a.bus.Call(ctx, rpcapi.TopicReports, "report_state", args, &raw)
	if a.opts.Observe != nil {
		a.opts.Observe(p.AgentType(), time.Since(start), err)
	}
	if err != nil {
		return "", err
	}
	var status string
	_ = json.Unmarshal(raw, &status) // a server may answer nothing (null)
	a.mu.Lock()
	a.state[p.AgentType()] = status
	a.mu.Unlock()
	return status, nil
}
