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
	"path/filepath"
	"time"

	"github.com/neutrino-net/neutrino/internal/api"
	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/auth/keystone"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/agents"
	"github.com/neutrino-net/neutrino/internal/plugin/core"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/l3"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/securitygroups"
	"github.com/neutrino-net/neutrino/internal/plugin/serviceproviders"
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

// coreExtensions are the extensions the core plugin (ML2) and the L3
// plugin provide today, in the order /v2.0/extensions lists them (sorted).
var coreExtensions = []string{
	"address-scope",
	"agent",
	"allowed-address-pairs",
	"auto-allocated-topology",
	"availability_zone",
	"binding",
	"default-subnetpools",
	"dhcp_agent_scheduler",
	"dvr",
	"empty-string-filtering",
	"expose-port-forwarding-in-fip",
	"ext-gw-mode",
	"external-net",
	"extra_dhcp_opt",
	"extraroute",
	"extraroute-atomic",
	"filter-validation",
	"fip-port-details",
	"floating-ip-port-forwarding",
	"floating-ip-port-forwarding-description",
	"floating-ip-port-forwarding-port-ranges",
	"floatingip-pools",
	"ip-substring-filtering",
	"ip_allocation",
	"l2_adjacency",
	"l3-ha",
	"l3_agent_scheduler",
	"multi-provider",
	"net-mtu",
	"net-mtu-writable",
	"network-ip-availability",
	"network_availability_zone",
	"pagination",
	"port-security",
	"project-id",
	"provider",
	"quota_details",
	"quotas",
	"rbac-policies",
	"rbac-security-groups",
	"revision-if-match",
	"router",
	"router_availability_zone",
	"security-group",
	"security-groups-normalized-cidr",
	"security-groups-rules-belongs-to-default-sg",
	"security-groups-shared-filtering",
	"segment",
	"service-type",
	"sorting",
	"standard-attr-description",
	"standard-attr-revisions",
	"standard-attr-tag",
	"standard-attr-timestamp",
	"stateful-security-group",
	"subnet-service-types",
	"subnet_allocation",
	"subnetpool-prefix-ops",
	"tag",
	"tag-creation",
	"tag-ext",
	"tag-ports-during-bulk-creation",
}

// Server is a running Neutrino API server.
type Server struct {
	cfg   *config.Config
	log   *slog.Logger
	Store *store.Store
	// ML2 is the core plugin's segment and binding machinery: the L2
	// agent RPC calls its device functions, and the agents registry is
	// plugged in with ML2.SetAgents.
	ML2 *ml2.Plugin
	API *api.Server
	// L3 is the L3 plugin, whose SyncRouters, ExternalNetworkID and
	// UpdateFloatingIPStatuses serve the L3 agents' calls.
	L3     *l3.Plugin
	policy *policy.Enforcer
	// SecurityGroups serves the security group RPC calls of firewall
	// agents (SecurityGroupInfoForDevices); nil without security groups.
	SecurityGroups *securitygroups.Plugin

	// Agents is the agent registry and schedulers: the RPC server calls
	// its ReportState and DHCP callbacks, the L3 plugin its ScheduleRouter.
	Agents *agents.Plugin

	// Outbox records notifications to agents in the writing transaction;
	// plugins take it as their generic.Outbox.
	Outbox *outbox.Outbox
	// Notifier records agents' notifications of network, subnet and port
	// changes; set its DHCP (scheduler) and Segments before serving.
	Notifier *notify.Notifier
	// RPC dispatches the agents' calls; set its areas before StartRPC.
	RPC *rpcserver.Dispatcher
	// Bus is the message bus once StartRPC has run.
	Bus *rpc.Bus

	stopRPC func()
}

// New builds a server from configuration: it opens (and unless disabled,
// migrates) the database, builds the enabled resources, plugins and
// policy, and the API on top.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Server, error) {
	if core := cfg.String(optCorePlugin); core != "ml2" && core != "neutron.plugins.ml2.plugin.Ml2Plugin" {
		return nil, fmt.Errorf("config: %s: [DEFAULT] core_plugin: unsupported core plugin %q (Neutrino provides ml2)",
			source(cfg, optCorePlugin), core)
	}
	// Refuse bad settings before touching the database.
	var ksValidator *keystone.Validator
	if cfg.String(optAuthStrategy) == "keystone" {
		v, err := keystoneValidator(cfg, logger)
		if err != nil {
			return nil, err
		}
		ksValidator = v
	}
	ml2Opts, err := ml2Options(cfg, logger)
	if err != nil {
		return nil, err
	}
	for _, sp := range cfg.List(optServicePlugins) {
		logger.Warn("service plugin not available yet; ignored", "service_plugin", sp)
	}
	conn := cfg.String(optConnection)
	if conn == "" {
		return nil, errors.New("config: [database] connection is not set")
	}
	st, err := store.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	if cfg.Bool(optAutoMigrate) {
		n, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if n > 0 {
			logger.Info("database migrated", "applied", n, "version", store.SchemaVersion())
		}
	}

	enforcer, err := policy.New(policy.Options{
		PolicyFile:         cfg.String(optPolicyFile),
		PolicyDirs:         cfg.MultiString(optPolicyDirs),
		ConfigDirs:         configDirs(cfg),
		EnforceNewDefaults: cfg.Bool(optEnforceNewDefaults),
		EnforceScope:       cfg.Bool(optEnforceScope),
		Logger:             logger,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load policy: %w", err)
	}

	enabled := map[string]bool{}
	var exts []*apidef.Extension
	for _, alias := range coreExtensions {
		e := apidef.LookupExtension(alias)
		if e == nil {
			st.Close()
			return nil, fmt.Errorf("extension %q is enabled but not declared", alias)
		}
		enabled[alias] = true
		exts = append(exts, e)
	}
	defs := map[string]*resource.Resource{}
	reg := resource.NewRegistry()
	for coll, r := range apidef.Build() {
		if r.Extension != "" && !enabled[r.Extension] {
			continue
		}
		r = r.Restrict(func(alias string) bool { return enabled[alias] })
		defs[coll] = r
		reg.Register(r)
	}
	quotas := quota.New(st, quotaResources(cfg))
	// Plugins record their agents' notifications here (generic.Outbox).
	ob := outbox.New()
	agentsPlugin := agents.New(st, defs, agents.Options{
		AgentDownTime:                 time.Duration(cfg.Int(optAgentDownTime)) * time.Second,
		EnableNewAgents:               cfg.Bool(optEnableNewAgents),
		DHCPAgentsPerNetwork:          cfg.Int(optDHCPAgentsPerNetwork),
		NetworkAutoSchedule:           cfg.Bool(optNetworkAutoSchedule),
		AllowAutomaticDHCPFailover:    cfg.Bool(optAllowAutomaticDHCPFailover),
		RouterSchedulerDriver:         cfg.String(optRouterSchedulerDriver),
		RouterAutoSchedule:            cfg.Bool(optRouterAutoSchedule),
		AllowAutomaticL3AgentFailover: cfg.Bool(optAllowAutomaticL3AgentFailover),
		DefaultAvailabilityZones:      cfg.List(optDefaultAvailabilityZones),
		Outbox:                        ob,
		Logger:                        logger,
	})
	ml2Plugin, err := ml2.New(st, defs, ml2Opts)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("config: %w", err)
	}
	corePlugin := core.New(st, defs, core.Options{
		ML2:                 ml2Plugin,
		NetworkZones:        agentsPlugin.NetworkAvailabilityZones,
		Quota:               quotas,
		BaseMAC:             cfg.String(optBaseMAC),
		AllowOverlappingIPs: cfg.Bool(optAllowOverlappingIPs),
		MaxDNSNameservers:   cfg.Int(optMaxDNSNameservers),
		MaxSubnetHostRoutes: cfg.Int(optMaxSubnetHostRoutes),
	})
	handlers := map[string]plugin.Handler{}
	for coll, h := range corePlugin.Handlers() {
		handlers[coll] = h
	}
	sgPlugin := securitygroups.New(st, defs, securitygroups.Options{Quota: quotas, Outbox: ob})
	if sgPlugin != nil {
		corePlugin.SetPortSecurityGroups(sgPlugin)
		for coll, h := range sgPlugin.Handlers() {
			handlers[coll] = h
		}
	}
	l3Plugin := l3.New(st, defs, corePlugin, l3.Options{
		EnableSNATByDefault: cfg.Bool(optEnableSNATByDefault),
		RouterDistributed:   cfg.Bool(optRouterDistributed),
		L3HA:                cfg.Bool(optL3HA),
		MaxRoutes:           cfg.Int(optQuotaRouterRoute),
		Quota:               quotas,
		Outbox:              ob,
	})
	corePlugin.SetServiceGuard(l3Plugin)
	l3Plugin.SetScheduler(agentsPlugin)
	agentsPlugin.SetRouters(l3Plugin)
	for coll, h := range l3Plugin.Handlers() {
		handlers[coll] = h
	}
	for coll, h := range ml2Plugin.Handlers() {
		handlers[coll] = h
	}
	agentsPlugin.SetCore(corePlugin.Handlers())
	for coll, h := range agentsPlugin.Handlers() {
		handlers[coll] = h
	}
	notifier := &notify.Notifier{Outbox: ob, DHCP: agentsPlugin}
	for _, coll := range []string{apidef.Networks, apidef.Subnets, apidef.Ports} {
		if g, ok := handlers[coll].(interface{ Generic() *generic.Handler }); ok {
			g.Generic().Notify = notifier
		}
	}

	if def := defs[apidef.ServiceProviders]; def != nil {
		providers, err := serviceproviders.Parse(cfg.MultiString(optServiceProviders))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("config: %s: [service_providers] service_provider: %w", source(cfg, optServiceProviders), err)
		}
		handlers[apidef.ServiceProviders] = serviceproviders.New(def, providers)
	}

	authz := authorizer{enforcer}
	auth := api.NoAuth(authz.isAdmin)
	if ksValidator != nil {
		auth = ksValidator.Middleware(authz.isAdmin)
	}

	s := &Server{cfg: cfg, log: logger, Store: st, policy: enforcer,
		SecurityGroups: sgPlugin, ML2: ml2Plugin, L3: l3Plugin, Agents: agentsPlugin,
		Outbox: ob, Notifier: notifier, RPC: &rpcserver.Dispatcher{}}
	s.wireAgents()
	s.API = api.New(api.Options{
		Resources:          reg,
		Handlers:           handlers,
		Extensions:         exts,
		Authorizer:         authz,
		Auth:               auth,
		PaginationMaxLimit: cfg.Int(optPaginationMaxLimit),
		MaxBodySize:        int64(cfg.Int(optMaxBodySize)),
		ProxyHeaders:       cfg.Bool(optProxyHeaders),
		CORS: api.CORS{
			AllowedOrigin:    cfg.List(optCORSOrigin),
			AllowCredentials: cfg.Bool(optCORSCredentials),
			ExposeHeaders:    cfg.List(optCORSExpose),
			MaxAge:           cfg.Int(optCORSMaxAge),
			AllowMethods:     cfg.List(optCORSMethods),
			AllowHeaders:     cfg.List(optCORSHeaders),
		},
		Logger:         logger,
		Healthy:        st.Ping,
		Quotas:         quotas,
		AgentScheduler: agentsPlugin,
	})
	return s, nil
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
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
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

// quotaResources are Neutron's quota resources with their [quotas]
// limits (default_quota for those without an option of their own); those
// whose resource Neutrino does not serve yet show with no usage.
func quotaResources(cfg *config.Config) []quota.Resource {
	limit := cfg.Int
	return []quota.Resource{
		{Name: "network", Collection: apidef.Networks, Default: limit(optQuotaNetwork)},
		{Name: "subnet", Collection: apidef.Subnets, Default: limit(optQuotaSubnet)},
		{Name: "port", Collection: apidef.Ports, Default: limit(optQuotaPort)},
		{Name: "subnetpool", Collection: apidef.SubnetPools, Default: cfg.Int(optQuotaDefault)},
		{Name: "router", Collection: apidef.Routers, Default: limit(optQuotaRouter)},
		{Name: "floatingip", Collection: apidef.FloatingIPs, Default: limit(optQuotaFloatingIP)},
		{Name: "security_group", Collection: apidef.SecurityGroups, Default: limit(optQuotaSecurityGroup)},
		{Name: "security_group_rule", Collection: apidef.SecurityGroupRules, Default: limit(optQuotaSecurityGroupRule)},
		{Name: "rbac_policy", Collection: apidef.RBACPolicies, Default: limit(optQuotaRBACPolicy)},
	}
}

// source names where an option's value came from, for error messages.
func source(cfg *config.Config, o config.Opt) string {
	if src := cfg.Source(o); src != "" {
		return src
	}
	return "default value"
}

// configDirs are the directories of the loaded config files, where
// relative policy paths are looked up (as oslo.config does).
func configDirs(cfg *config.Config) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, f := range cfg.Files() {
		d := filepath.Dir(f)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
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

func (a authorizer) isAdmin(c *reqctx.Caller) bool { return a.e.IsAdmin(credentials(c)) }

// keystoneValidator builds Keystone token validation from
// [keystone_authtoken], as keystonemiddleware's auth_token filter is
// configured in front of Neutron. It does not contact Keystone.
func keystoneValidator(cfg *config.Config, logger *slog.Logger) (*keystone.Validator, error) {
	switch t := cfg.String(optKSAuthType); t {
	case "password", "v3password":
	case "":
		return nil, fmt.Errorf("config: %s: [DEFAULT] auth_strategy = keystone needs [keystone_authtoken] auth_type = password, "+
			"with auth_url, username, password, project_name, user_domain_name and project_domain_name",
			source(cfg, optAuthStrategy))
	default:
		return nil, fmt.Errorf("config: %s: [keystone_authtoken] auth_type: %q is not supported (Neutrino supports password)",
			source(cfg, optKSAuthType), t)
	}
	// keystonemiddleware: -1 disables the cache; keystone.Options: any
	// negative TTL does (0 there means the default).
	cacheTTL := time.Duration(cfg.Int(optKSTokenCacheTime)) * time.Second
	if cacheTTL <= 0 {
		cacheTTL = -1
	}
	retries := cfg.Int(optKSHTTPRequestMaxRetries)
	if retries == 0 {
		retries = -1 // keystone.Options: 0 means the default, negative none
	}
	v, err := keystone.New(keystone.Options{
		WWWAuthenticateURI:        cfg.String(optKSWWWAuthenticateURI),
		AuthURL:                   cfg.String(optKSAuthURL),
		Username:                  cfg.String(optKSUsername),
		Password:                  cfg.String(optKSPassword),
		ProjectName:               cfg.String(optKSProjectName),
		UserDomainName:            cfg.String(optKSUserDomainName),
		UserDomainID:              cfg.String(optKSUserDomainID),
		ProjectDomainName:         cfg.String(optKSProjectDomainName),
		ProjectDomainID:           cfg.String(optKSProjectDomainID),
		RegionName:                cfg.String(optKSRegionName),
		ServiceTokenRoles:         cfg.List(optKSServiceTokenRoles),
		ServiceTokenRolesRequired: cfg.Bool(optKSServiceTokenRolesRequired),
		CacheTTL:                  cacheTTL,
		Timeout:                   time.Duration(cfg.Int(optKSHTTPConnectTimeout)) * time.Second,
		MaxRetries:                retries,
		CAFile:                    cfg.String(optKSCAFile),
		Insecure:                  cfg.Bool(optKSInsecure),
		Logger:                    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("config: %s: [DEFAULT] auth_strategy = keystone: %w", source(cfg, optAuthStrategy), err)
	}
	return v, nil
}
