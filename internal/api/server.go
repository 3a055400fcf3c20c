// Package api serves Neutron's REST API v2.0 over HTTP: middleware,
// routing, the root documents, and one generic controller that serves
// every declared resource (validation, defaults, policy, fields, filters,
// sorting, pagination, bulk create, If-Match).
//
// The API owns HTTP and nothing else: meaning lives in plugins, SQL in
// the store. This package must not import the store or a SQL driver.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Authorizer answers policy questions for the caller in ctx. The policy
// engine implements it; the API asks it about actions ("create_network"),
// attribute actions ("create_network:shared") and targets.
type Authorizer interface {
	// Check reports whether the caller may perform action on target, and
	// whether a rule for action exists at all (attribute rules are only
	// enforced when defined, as in Neutron).
	Check(ctx context.Context, action string, target map[string]any) (allowed, defined bool)
}

// Decider is an Authorizer that can tell when the caller's credentials
// alone answer an action, whatever the target (an admin and get_port):
// known is false when the answer depends on the target. The API then
// asks once per request rather than once per object, and builds no
// policy targets.
type Decider interface {
	Decide(ctx context.Context, action string) (allowed, defined, known bool)
}

// BatchDecider is a Decider that answers several actions at once, into
// allowed and defined (as long as actions); known is false as soon as one
// answer depends on the target.
type BatchDecider interface {
	DecideAll(ctx context.Context, actions []string, allowed, defined []bool) (known bool)
}

// PartialChecker is an Authorizer that can answer with part of the
// target not known yet (the keys for which unknown is true): known is
// false when the answer depends on them. A show then looks up what a
// handler adds to its policy targets (plugin.PolicyTargetKeyer) only when
// a rule reads it.
type PartialChecker interface {
	CheckKnown(ctx context.Context, action string, target map[string]any, unknown func(string) bool) (allowed, defined, known bool)
}

// Options configure a Server.
type Options struct {
	// Resources are the served resources, restricted to the enabled
	// extensions.
	Resources *resource.Registry
	// Handlers serve each collection in Resources.
	Handlers map[string]plugin.Handler
	// Extensions are the enabled extensions, as /v2.0/extensions lists
	// them.
	Extensions []*apidef.Extension
	Authorizer Authorizer
	// Auth builds the request context (noauth or Keystone).
	Auth Middleware
	// PaginationMaxLimit caps limit=; -1 means no cap.
	PaginationMaxLimit int
	// MaxBodySize is [oslo_middleware] max_request_body_size; 0 for none.
	MaxBodySize int64
	// ProxyHeaders is [oslo_middleware] enable_proxy_headers_parsing.
	ProxyHeaders bool
	CORS         CORS
	Logger       *slog.Logger
	// Quotas, when set, serves the quotas extension.
	Quotas Quotas
	// AgentScheduler, when set, serves the agent scheduler extensions'
	// sub-resources (agents/{id}/dhcp-networks …).
	AgentScheduler AgentScheduler
	// Healthy reports whether the server can serve (the database answers);
	// /healthcheck uses it.
	Healthy func(ctx context.Context) error
	// ScopeShows finds another project's object, for a caller that is not
	// an admin, only within its handler's scope (plugin.Scoper: the
	// project's, shared, RBAC-shared, on its networks), as Neutron's
	// database query does before any policy check. The new policy
	// defaults check ownership and sharing themselves; the deprecated
	// ones honoured without [oslo_policy] enforce_new_defaults do not
	// (get_policy, get_security_group: any user), so the server sets it
	// in that mode.
	ScopeShows bool
}

// Server is the Neutron API as an http.Handler.
type Server struct {
	opts        Options
	log         *slog.Logger
	enabled     map[string]bool
	controllers map[string]*controller
	// subControllers serve sub-resources by "<parent path>/<path>".
	subControllers map[string]*controller
	handler        http.Handler
}

// New builds the API server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, log: opts.Logger, enabled: map[string]bool{}, controllers: map[string]*controller{},
		subControllers: map[string]*controller{}}
	for _, e := range opts.Extensions {
		s.enabled[e.Alias] = true
	}
	for _, r := range opts.Resources.All() {
		h := opts.Handlers[r.Collection]
		if h == nil || r.Parent != "" {
			continue
		}
		c := newController(s, r, h)
		s.controllers[r.URLPath()] = c
		// Neutron finds a controller by its path with dashes or, failing
		// that, with underscores: /v2.0/network-segment-ranges (Tempest)
		// and /v2.0/network_segment_ranges (openstacksdk) are one.
		if alt := r.Collection; alt != r.URLPath() && s.controllers[alt] == nil {
			s.controllers[alt] = c
		}
	}
	s.addSubControllers()
	var h http.Handler = http.HandlerFunc(s.route)
	if opts.Auth != nil {
		h = s.authExceptPublic(opts.Auth(h), h)
	}
	h = bodyLimit(opts.MaxBodySize)(h)
	h = s.checkStrings(h)
	h = cors(opts.CORS)(h)
	if opts.ProxyHeaders {
		h = proxyHeaders(h)
	}
	h = s.accessLog(h)
	s.handler = requestID(h)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// authExceptPublic skips authentication for the unauthenticated documents
// Neutron serves without a token: the versions document and the health
// check.
func (s *Server) authExceptPublic(authed, public http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case "", "/healthcheck", "/metrics":
			public.ServeHTTP(w, r)
		default:
			authed.ServeHTTP(w, r)
		}
	})
}

// extensionEnabled reports whether alias is enabled.
func (s *Server) extensionEnabled(alias string) bool { return s.enabled[alias] }
