// Package server is the one place that wires Neutrino's server together:
// configuration → store → plugins → policy → API → HTTP listener. Only
// cmd/neutrino and integration tests import it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/neutrino-net/neutrino/internal/api"
	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/auth/keystone"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/metrics"
	"github.com/neutrino-net/neutrino/internal/nova"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/agents"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/l3"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/plugin/securitygroups"
	"github.com/neutrino-net/neutrino/internal/policy"
	"github.com/neutrino-net/neutrino/internal/quota"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/notify"
	"github.com/neutrino-net/neutrino/internal/rpc/outbox"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcserver"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Server is a running Neutrino API server.
type Server struct {
	cfg   *config.Config
	log   *slog.Logger
	Store *store.Store
	API   *api.Server
	// Plugins are the built core and service plugins.
	Plugins registry.Set
	// ML2 is the core plugin's segment and binding machinery, whose
	// device functions serve the L2 agents' calls.
	ML2 *ml2.Plugin
	// Agents is the agent registry and schedulers: the RPC server calls
	// its ReportState and DHCP callbacks.
	Agents *agents.Plugin
	// SecurityGroups serves the security group RPC calls of firewall
	// agents; nil without security groups.
	SecurityGroups *securitygroups.Plugin
	// L3 serves the L3 agents' calls; nil without the router plugin.
	L3 *l3.Plugin

	// Outbox records notifications to agents in the writing transaction.
	Outbox *outbox.Outbox
	// Notifier records agents' notifications of network, subnet and port
	// changes.
	Notifier *notify.Notifier
	// RPC dispatches the agents' calls; set its areas before StartRPC.
	RPC *rpcserver.Dispatcher
	// Nova sends the recorded Nova events (StartRPC runs it); nil when
	// Nova is not to be notified.
	Nova *nova.Sender
	// Bus is the message bus once StartRPC has run.
	Bus *rpc.Bus

	busOpts rpc.Options
	stopRPC func()
}

// checked is a configuration that passed every check: what New builds
// once it may touch the database.
type checked struct {
	db      store.Config
	bus     rpc.Options
	plugins registry.Selection
	builds  []registry.Build
	policy  policy.Options
	auth    *keystone.Validator // nil for noauth
	nova    nova.Options
	novaAPI *nova.Client // nil when Nova is not notified
}

// check refuses a bad configuration — plugin and driver names, option
// values, the database URL, the bus — before anything is opened.
func check(cfg *config.Config, logger *slog.Logger) (checked, error) {
	var c checked
	var err error
	if c.plugins, err = registry.Select(cfg.String(optCorePlugin), cfg.List(optServicePlugins)); err != nil {
		var unknown *registry.UnknownPluginError
		if errors.As(err, &unknown) && unknown.Core {
			return c, cfg.Invalid(optCorePlugin, err)
		}
		return c, cfg.Invalid(optServicePlugins, err)
	}
	if cfg.String(optAuthStrategy) == "keystone" {
		if c.auth, err = keystone.FromConfig(cfg, logger); errors.Is(err, keystone.ErrNoAuthType) {
			return c, cfg.Invalid(optAuthStrategy, err)
		} else if err != nil {
			return c, err
		}
	}
	if c.builds, err = c.plugins.Configure(cfg, logger); err != nil {
		return c, err
	}
	if c.db, err = store.ConfigFrom(cfg); err != nil {
		return c, err
	}
	if c.bus, err = rpc.OptionsFrom(cfg, "neutrino-server:"+config.Host(cfg), logger); err != nil {
		return c, err
	}
	c.policy = policy.OptionsFrom(cfg, logger)
	if c.nova, err = nova.OptionsFrom(cfg, logger); err != nil {
		return c, err
	}
	if c.nova.Enabled() {
		if c.novaAPI, err = nova.NewClient(c.nova.Client); err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
	}
	return c, nil
}

// New builds a server from configuration: it checks the configuration,
// loads policy, opens (and unless disabled, migrates) the database,
// builds the selected plugins over it and the API on top.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (_ *Server, err error) {
	c, err := check(cfg, logger)
	if err != nil {
		return nil, err
	}
	enforcer, err := policy.New(c.policy)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	exts, err := c.plugins.Extensions(cfg)
	if err != nil {
		return nil, err
	}

	st, err := store.Open(ctx, c.db.Connection)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if c.db.AutoMigrate {
		n, err := st.Migrate(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			logger.Info("database migrated", "applied", n, "version", store.SchemaVersion())
		}
	}

	enabled := map[string]bool{}
	for _, e := range exts {
		enabled[e.Alias] = true
	}
	isEnabled := func(alias string) bool { return enabled[alias] }
	defs := map[string]*resource.Resource{}
	reg := resource.NewRegistry()
	for coll, r := range apidef.Build() {
		if r.Extension != "" && !enabled[r.Extension] {
			continue
		}
		r = r.Restrict(isEnabled)
		defs[coll] = r
		reg.Register(r)
	}
	quotas := quota.New(st, quota.ResourcesFrom(cfg))
	ob := outbox.New()
	plugins, err := registry.BuildAll(registry.Env{Store: st, Defs: defs, Enabled: isEnabled,
		Quota: quotas, Outbox: ob, Logger: logger}, c.builds)
	if err != nil {
		return nil, err
	}

	s := &Server{cfg: cfg, log: logger, Store: st, Plugins: plugins, Outbox: ob,
		RPC: &rpcserver.Dispatcher{}, busOpts: c.bus}
	s.ML2, _ = registry.Find[*ml2.Plugin](plugins)
	s.Agents, _ = registry.Find[*agents.Plugin](plugins)
	s.SecurityGroups, _ = registry.Find[*securitygroups.Plugin](plugins)
	s.L3, _ = registry.Find[*l3.Plugin](plugins)
	if s.ML2 == nil || s.Agents == nil {
		return nil, fmt.Errorf("core plugin %s: no ML2 or agents registry to serve the agents", cfg.String(optCorePlugin))
	}
	handlers := plugins.Handlers(defs)
	s.Notifier = &notify.Notifier{Outbox: ob, DHCP: s.Agents}
	for _, coll := range []string{apidef.Networks, apidef.Subnets, apidef.Ports} {
		if g, ok := handlers[coll].(interface{ Generic() *generic.Handler }); ok {
			g.Generic().Notify = s.Notifier
		}
	}
	if c.novaAPI != nil {
		s.wireNova(c, handlers, defs[apidef.Ports])
	}
	s.wireAgents()

	authz := authorizer{enforcer}
	auth := api.NoAuth(authz.isAdmin)
	if c.auth != nil {
		auth = c.auth.Middleware(authz.isAdmin)
	}
	opts := api.OptionsFrom(cfg)
	opts.Resources, opts.Handlers, opts.Extensions = reg, handlers, exts
	opts.Authorizer, opts.Auth, opts.Logger = authz, auth, logger
	opts.Healthy, opts.Quotas, opts.AgentScheduler = st.Ping, quotas, s.Agents
	opts.ScopeShows = !c.policy.EnforceNewDefaults
	s.API = api.New(opts)
	return s, nil
}

// wireNova records Nova's events in the transactions of port and
// floating IP changes, and of the port status changes ML2 makes itself.
func (s *Server) wireNova(c checked, handlers map[string]plugin.Handler, portDef *resource.Resource) {
	ports := func(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
		o, err := tx.Get(ctx, portDef, id, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return o, err
	}
	rec := nova.NewRecorder(c.nova, ports)
	for _, coll := range []string{apidef.Ports, apidef.FloatingIPs} {
		if g, ok := handlers[coll].(interface{ Generic() *generic.Handler }); ok {
			h := g.Generic()
			if h.Notify != nil {
				h.Notify = change.Notifiers{h.Notify, rec}
			} else {
				h.Notify = rec
			}
		}
	}
	s.ML2.SetStatusNotifier(rec)
	s.Nova = nova.NewSender(s.Store, c.novaAPI, rec, c.nova, s.log)
}

// Close stops the RPC side (if started) and releases the database.
func (s *Server) Close() error {
	if s.stopRPC != nil {
		s.stopRPC()
		s.stopRPC = nil
	}
	return s.Store.Close()
}

// Addr is the configured listen address.
func (s *Server) Addr() string {
	return net.JoinHostPort(s.cfg.String(optBindHost), fmt.Sprint(s.cfg.Int(optBindPort)))
}

// Serve answers API requests on l until ctx is cancelled, then shuts down
// gracefully, letting requests in flight finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := s.HTTPServer()
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(l) }()
	if addr := s.cfg.String(optMetricsBind); addr != "" {
		ml, err := net.Listen("tcp", addr)
		if err != nil {
			hs.Close()
			return fmt.Errorf("[DEFAULT] metrics_bind: %w", err)
		}
		ms := &http.Server{Handler: metrics.DebugHandler(), ReadHeaderTimeout: 10 * time.Second}
		defer ms.Close()
		go func() {
			if err := ms.Serve(ml); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("[DEFAULT] metrics_bind: %w", err)
			}
		}()
		s.log.Info("serving metrics and pprof", "address", ml.Addr().String())
	}
	go s.Agents.Run(ctx)
	s.log.Info("serving Neutron API", "address", l.Addr().String(), "database", s.Store.Engine())
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// ListenAndServe listens on the configured address and serves until ctx
// is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", s.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr(), err)
	}
	return s.Serve(ctx, l)
}

// authorizer adapts the policy engine to the API: it reads the caller
// from the request context.
type authorizer struct{ e *policy.Enforcer }

func credentials(c *reqctx.Caller) policy.Credentials {
	return policy.Credentials{UserID: c.UserID, ProjectID: c.ProjectID, DomainID: c.DomainID,
		Roles: c.Roles, SystemScope: c.SystemScope, IsAdmin: c.IsAdmin}
}

// Check implements api.Authorizer.
func (a authorizer) Check(ctx context.Context, action string, target map[string]any) (bool, bool) {
	return a.e.Check(action, policy.Target(target), credentials(reqctx.CallerFrom(ctx)))
}

// Decide implements api.Decider.
func (a authorizer) Decide(ctx context.Context, action string) (allowed, defined, known bool) {
	return a.e.Decide(action, credentials(reqctx.CallerFrom(ctx)))
}

// DecideAll implements api.BatchDecider.
func (a authorizer) DecideAll(ctx context.Context, actions []string, allowed, defined []bool) bool {
	return a.e.DecideAll(actions, credentials(reqctx.CallerFrom(ctx)), allowed, defined)
}

// CheckKnown implements api.PartialChecker.
func (a authorizer) CheckKnown(ctx context.Context, action string, target map[string]any, unknown func(string) bool) (allowed, defined, known bool) {
	return a.e.CheckKnown(action, policy.Target(target), credentials(reqctx.CallerFrom(ctx)), unknown)
}

func (a authorizer) isAdmin(c *reqctx.Caller) bool { return a.e.IsAdmin(credentials(c)) }
