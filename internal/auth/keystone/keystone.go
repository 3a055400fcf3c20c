// Package keystone authenticates API requests against OpenStack Keystone
// (identity API v3), as keystonemiddleware's auth_token filter does in
// front of Neutron, configured by the same [keystone_authtoken] options.
//
// Every request must carry a token in X-Auth-Token (or the older
// X-Storage-Token). The [Validator] validates it with Keystone — GET
// /v3/auth/tokens with X-Subject-Token, authenticated with the service's
// own token, obtained with the password of the configured service user —
// and puts the caller it describes (user, project or domain or system
// scope, roles) into the request context with [reqctx.WithCaller].
//
//   - No token, or one Keystone does not recognise (404) or that has
//     expired: 401 with keystonemiddleware's JSON body and
//     WWW-Authenticate: Keystone uri="<www_authenticate_uri>".
//   - Keystone unreachable, timing out, answering 5xx or refusing the
//     service's own credentials: 503 with a NeutronError body. The request
//     never reaches the API.
//   - Identity headers sent by the client (X-Identity-Status, X-Roles,
//     X-Project-Id, X-User-Id, ...) are removed before anything else, and
//     set again from the validated token, so that they can be trusted
//     downstream, as keystonemiddleware does.
//
// Validation results are cached in memory (bounded LRU, keyed by the
// token's SHA-256): a valid token until it expires or for the cache TTL
// (keystonemiddleware's token_cache_time), whichever is sooner; an invalid
// one for at most 10 seconds, to shed load from clients retrying with a
// bad token. Concurrent requests with the same uncached token share one
// call to Keystone. A revoked token is therefore accepted until its cache
// entry expires, as with keystonemiddleware.
//
// The service token is obtained lazily, on the first request, so that the
// server starts even when Keystone is down. It is renewed shortly before it
// expires, and whenever Keystone answers 401 to it (gophercloud's
// re-authentication).
//
// A service token in X-Service-Token (sent by Nova and other services
// acting for a user) is validated too: an invalid one gets a 401. If it
// holds one of the service_token_roles, the user token may have expired
// (Keystone is asked with allow_expired=1), as keystonemiddleware allows;
// with service_token_roles_required, a service token lacking those roles
// is rejected.
package keystone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"golang.org/x/sync/singleflight"

	"github.com/neutrino-net/neutrino/internal/reqctx"
)

// Defaults for zero Options fields.
const (
	DefaultCacheTTL   = 300 * time.Second
	DefaultCacheSize  = 10000
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 3

	// negativeTTL bounds how long an invalid token is remembered.
	negativeTTL = 10 * time.Second
	// serviceRenewal is how long before its expiry the service token is
	// renewed.
	serviceRenewal = 2 * time.Minute
	// retryDelay is the first pause before retrying a connection failure;
	// it doubles with each retry, as keystoneauth's does.
	retryDelay = 200 * time.Millisecond
)

// Options configures a Validator. The fields are Neutron's
// [keystone_authtoken] options.
type Options struct {
	// WWWAuthenticateURI is the public identity endpoint clients are sent
	// to in WWW-Authenticate (www_authenticate_uri). Defaults to AuthURL.
	WWWAuthenticateURI string
	// AuthURL is the identity endpoint the service authenticates and
	// validates tokens with (auth_url), with or without /v3.
	AuthURL string
	// Username and Password are the service user's (username, password).
	Username string
	Password string
	// ProjectName is the service user's project (project_name).
	ProjectName string
	// The service user's domain, by name or ID (user_domain_name,
	// user_domain_id); one is required.
	UserDomainName string
	UserDomainID   string
	// The service project's domain (project_domain_name,
	// project_domain_id); defaults to the user's domain.
	ProjectDomainName string
	ProjectDomainID   string
	// RegionName (region_name), if set, selects the identity endpoint
	// used for validation from the service token's catalog (internal
	// interface, else public); unset, or not found there, AuthURL is used.
	RegionName string

	// ServiceTokenRoles are the roles a service token (X-Service-Token)
	// must hold one of (service_token_roles); nil means ["service"].
	ServiceTokenRoles []string
	// ServiceTokenRolesRequired rejects service tokens without one of
	// ServiceTokenRoles (service_token_roles_required). Without it they
	// are accepted but cannot vouch for expired user tokens.
	ServiceTokenRolesRequired bool

	// CacheTTL is how long a validated token is cached
	// (token_cache_time): 0 means DefaultCacheTTL, negative disables
	// caching. A token is never cached beyond its expiry.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached tokens; 0 means
	// DefaultCacheSize.
	CacheSize int
	// Timeout bounds each exchange with Keystone, retries included
	// (http_connect_timeout); 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is how many times a request that could not reach
	// Keystone is retried (http_request_max_retries); 0 means
	// DefaultMaxRetries, negative none.
	MaxRetries int

	// CAFile is a PEM bundle of the CAs to trust for an https Keystone
	// (cafile), instead of the system's.
	CAFile string
	// Insecure skips verification of Keystone's certificate (insecure).
	Insecure bool
	// HTTPClient carries every request to Keystone; nil means a client
	// built from CAFile and Insecure. When set, those two are ignored.
	HTTPClient *http.Client
	// Logger receives the validator's logs; nil discards them.
	Logger *slog.Logger
}

// Validator validates tokens with Keystone. It is safe for concurrent use.
type Validator struct {
	opts         Options
	log          *slog.Logger
	authOpts     gophercloud.AuthOptions
	wwwAuth      string // WWW-Authenticate header value
	serviceRoles map[string]bool
	cacheTTL     time.Duration
	cache        *cache // nil: caching disabled
	flight       singleflight.Group
	now          func() time.Time

	mu       sync.Mutex
	provider *gophercloud.ProviderClient // nil until the first authentication
	identity *gophercloud.ServiceClient
	// svcToken is the service token last seen and svcRenewAt when to
	// renew it: shortly before it expires.
	svcToken   string
	svcRenewAt time.Time

	roleWarned atomic.Bool
}

// New checks the options and returns a Validator. It does not contact
// Keystone: the service authenticates on the first request.
func New(opts Options) (*Validator, error) {
	if opts.AuthURL == "" {
		return nil, errors.New("[keystone_authtoken] auth_url is required")
	}
	if u, err := url.Parse(opts.AuthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("[keystone_authtoken] auth_url %q is not an http(s) URL", opts.AuthURL)
	}
	if opts.Username == "" || opts.Password == "" {
		return nil, errors.New("[keystone_authtoken] username and password are required (auth_type = password)")
	}
	if opts.ProjectName == "" {
		return nil, errors.New("[keystone_authtoken] project_name is required")
	}
	if opts.UserDomainName == "" && opts.UserDomainID == "" {
		return nil, errors.New("[keystone_authtoken] user_domain_name or user_domain_id is required")
	}
	if opts.HTTPClient == nil && (opts.CAFile != "" || opts.Insecure) {
		tc := &tls.Config{InsecureSkipVerify: opts.Insecure}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("[keystone_authtoken] cafile: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("[keystone_authtoken] cafile: no PEM certificate in %s", opts.CAFile)
			}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Validator{opts: opts, log: log, now: time.Now}

	scope := &gophercloud.AuthScope{ProjectName: opts.ProjectName,
		DomainID: opts.ProjectDomainID, DomainName: opts.ProjectDomainName}
	if scope.DomainID == "" && scope.DomainName == "" {
		scope.DomainID, scope.DomainName = opts.UserDomainID, opts.UserDomainName
	}
	if scope.DomainID != "" {
		scope.DomainName = "" // gophercloud refuses both
	}
	v.authOpts = gophercloud.AuthOptions{
		IdentityEndpoint: opts.AuthURL,
		Username:         opts.Username,
		Password:         opts.Password,
		DomainID:         opts.UserDomainID,
		AllowReauth:      true,
		Scope:            scope,
	}
	if opts.UserDomainID == "" {
		v.authOpts.DomainName = opts.UserDomainName
	}

	www := opts.WWWAuthenticateURI
	if www == "" {
		log.Warn("[keystone_authtoken] www_authenticate_uri is not set; sending clients to auth_url", "auth_url", opts.AuthURL)
		www = opts.AuthURL
	}
	v.wwwAuth = `Keystone uri="` + www + `"`

	roles := opts.ServiceTokenRoles
	if roles == nil {
		roles = []string{"service"}
	}
	v.serviceRoles = map[string]bool{}
	for _, r := range roles {
		v.serviceRoles[strings.ToLower(r)] = true
	}

	switch {
	case opts.CacheTTL < 0:
	case opts.CacheTTL == 0:
		v.cacheTTL = DefaultCacheTTL
	default:
		v.cacheTTL = opts.CacheTTL
	}
	if v.cacheTTL > 0 {
		size := opts.CacheSize
		if size <= 0 {
			size = DefaultCacheSize
		}
		v.cache = newCache(size)
	}
	if v.opts.Timeout <= 0 {
		v.opts.Timeout = DefaultTimeout
	}
	switch {
	case v.opts.MaxRetries == 0:
		v.opts.MaxRetries = DefaultMaxRetries
	case v.opts.MaxRetries < 0:
		v.opts.MaxRetries = 0
	}
	return v, nil
}

// tokenInfo is what Neutrino keeps of a validated token.
type tokenInfo struct {
	UserID, UserName, UserDomainID, UserDomainName             string
	ProjectID, ProjectName, ProjectDomainID, ProjectDomainName string
	DomainID, DomainName                                       string
	SystemScope                                                string
	Roles                                                      []string // as Keystone spells them
	IsAdminProject                                             bool
	ExpiresAt                                                  time.Time
}

// caller builds a fresh request caller from the token.
func (t *tokenInfo) caller() *reqctx.Caller {
	c := &reqctx.Caller{UserID: t.UserID, ProjectID: t.ProjectID, DomainID: t.DomainID,
		SystemScope: t.SystemScope, Roles: make([]string, 0, len(t.Roles))}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, strings.ToLower(r))
	}
	return c
}

func (t *tokenInfo) hasRole(roles map[string]bool) bool {
	for _, r := range t.Roles {
		if roles[strings.ToLower(r)] {
			return true
		}
	}
	return false
}

// errInvalid is a token Keystone rejects, or that has expired.
var errInvalid = errors.New("invalid token")

// unavailableError is a failure to get an answer from Keystone.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "keystone unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// tokenBody is the part of Keystone's token document Neutrino reads. It is
// decoded by gophercloud (ExtractInto) into gophercloud's own types, plus
// the fields gophercloud has no extractor for (system scope,
// is_admin_project, application credential restrictions).
type tokenBody struct {
	User           tokens.User     `json:"user"`
	Project        *tokens.Project `json:"project"`
	Domain         *tokens.Domain  `json:"domain"`
	Roles          []tokens.Role   `json:"roles"`
	System         map[string]any  `json:"system"`
	IsAdminProject *bool           `json:"is_admin_project"`
	ExpiresAt      time.Time       `json:"expires_at"`
	AppCredential  *struct {
		AccessRules *[]json.RawMessage `json:"access_rules"`
	} `json:"application_credential"`
}

// parseToken extracts a tokenInfo from Keystone's answer.
func parseToken(r tokens.GetResult) (*tokenInfo, error) {
	var b tokenBody
	if err := r.ExtractInto(&b); err != nil {
		return nil, fmt.Errorf("%w: unreadable token document: %v", errInvalid, err)
	}
	if b.User.ID == "" {
		return nil, fmt.Errorf("%w: token document without a user", errInvalid)
	}
	if b.AppCredential != nil && b.AppCredential.AccessRules != nil {
		// keystonemiddleware checks access rules against [keystone_authtoken]
		// service_type; Neutrino does not implement them, so it refuses
		// restricted application credentials rather than ignore the
		// restriction.
		return nil, fmt.Errorf("%w: application credential with access rules", errInvalid)
	}
	t := &tokenInfo{
		UserID: b.User.ID, UserName: b.User.Name,
		UserDomainID: b.User.Domain.ID, UserDomainName: b.User.Domain.Name,
		ExpiresAt:      b.ExpiresAt,
		IsAdminProject: b.IsAdminProject == nil || *b.IsAdminProject,
	}
	switch {
	case b.Project != nil:
		t.ProjectID, t.ProjectName = b.Project.ID, b.Project.Name
		t.ProjectDomainID, t.ProjectDomainName = b.Project.Domain.ID, b.Project.Domain.Name
	case b.Domain != nil:
		t.DomainID, t.DomainName = b.Domain.ID, b.Domain.Name
	}
	if all, _ := b.System["all"].(bool); all {
		t.SystemScope = "all"
	}
	for _, role := range b.Roles {
		if role.Name != "" {
			t.Roles = append(t.Roles, role.Name)
		}
	}
	return t, nil
}

// client returns the identity client, authenticating the service first if
// needed, and renewing its token if it is about to expire.
func (v *Validator) client(ctx context.Context) (*gophercloud.ServiceClient, error) {
	v.mu.Lock()
	provider, identity := v.provider, v.identity
	v.mu.Unlock()
	if identity == nil {
		_, err, _ := v.flight.Do("\x00authenticate", func() (any, error) { return nil, v.authenticate(ctx) })
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.identity, nil
	}
	if at := v.renewAt(provider); !at.IsZero() && !v.now().Before(at) {
		// Concurrent callers share one renewal (gophercloud's
		// Reauthenticate); if it fails the old token is still used, and a
		// 401 for it triggers another attempt.
		if err := provider.Reauthenticate(ctx, provider.Token()); err != nil {
			v.log.WarnContext(ctx, "renewing the Keystone service token failed", "error", err)
		} else {
			v.log.InfoContext(ctx, "renewed the Keystone service token")
		}
	}
	return identity, nil
}

// authenticate obtains the service token and builds the identity client.
func (v *Validator) authenticate(ctx context.Context) error {
	v.mu.Lock()
	done := v.identity != nil
	v.mu.Unlock()
	if done {
		return nil
	}
	provider, err := openstack.NewClient(v.opts.AuthURL)
	if err != nil {
		return fmt.Errorf("[keystone_authtoken] auth_url: %w", err)
	}
	if v.opts.HTTPClient != nil {
		provider.HTTPClient = *v.opts.HTTPClient
	}
	provider.UserAgent.Prepend("neutrino-keystone")
	provider.RetryFunc = v.retry
	// Only v3 is supported, so skip version discovery (which
	// openstack.AuthenticatedClient would do first): AuthenticateV3 is the
	// rest of what it does, on a client whose HTTPClient is ours.
	if err := openstack.AuthenticateV3(ctx, provider, &v.authOpts, gophercloud.EndpointOpts{}); err != nil {
		return &unavailableError{fmt.Errorf("authenticating service user %q: %w", v.opts.Username, err)}
	}
	identity, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		return &unavailableError{err}
	}
	if region := v.opts.RegionName; region != "" {
		found := false
		for _, av := range []gophercloud.Availability{gophercloud.AvailabilityInternal, gophercloud.AvailabilityPublic} {
			if c, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{Region: region, Availability: av}); err == nil {
				identity, found = c, true
				break
			}
		}
		if !found {
			v.log.WarnContext(ctx, "no identity endpoint for region_name in the catalog; validating tokens at auth_url",
				"region_name", region, "auth_url", v.opts.AuthURL)
		}
	}
	v.mu.Lock()
	v.provider, v.identity = provider, identity
	v.mu.Unlock()
	v.log.InfoContext(ctx, "authenticated with Keystone", "user", v.opts.Username,
		"project", v.opts.ProjectName, "identity_endpoint", identity.Endpoint)
	return nil
}

// renewAt returns when the provider's current token should be renewed, or
// zero if unknown: serviceRenewal before it expires, or half-way through
// its remaining life if that is shorter, so that short-lived tokens are not
// renewed on every request.
func (v *Validator) renewAt(p *gophercloud.ProviderClient) time.Time {
	tok := p.Token()
	v.mu.Lock()
	defer v.mu.Unlock()
	if tok == v.svcToken {
		return v.svcRenewAt
	}
	v.svcToken, v.svcRenewAt = tok, time.Time{}
	if r, ok := p.GetAuthResult().(tokens.CreateResult); ok {
		if t, err := r.ExtractToken(); err == nil && t.ID == tok && !t.ExpiresAt.IsZero() {
			left := t.ExpiresAt.Sub(v.now())
			v.svcRenewAt = t.ExpiresAt.Add(-min(serviceRenewal, left/2))
		}
	}
	return v.svcRenewAt
}

// retry is the provider's RetryFunc: requests that did not reach Keystone
// are retried a few times with a growing pause; HTTP answers are final.
func (v *Validator) retry(ctx context.Context, method, u string, _ *gophercloud.RequestOpts, err error, n uint) error {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) || int(n) > v.opts.MaxRetries || ctx.Err() != nil {
		return err
	}
	delay := retryDelay << (n - 1)
	v.log.DebugContext(ctx, "retrying Keystone request", "method", method, "url", u, "error", err, "attempt", n, "delay", delay)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return err
	}
}

// fetch asks Keystone about token.
func (v *Validator) fetch(ctx context.Context, token string, allowExpired bool) (*tokenInfo, error) {
	identity, err := v.client(ctx)
	if err != nil {
		var ue *unavailableError
		if !errors.As(err, &ue) {
			err = &unavailableError{err}
		}
		return nil, err
	}
	var r tokens.GetResult
	if allowExpired {
		r = getAllowExpired(ctx, identity, token)
	} else {
		r = tokens.Get(ctx, identity, token)
	}
	if r.Err != nil {
		if gophercloud.ResponseCodeIs(r.Err, http.StatusNotFound) {
			return nil, errInvalid
		}
		// 401 after re-authenticating, 403 (the service user may not
		// validate tokens), 5xx, network errors: keystonemiddleware's
		// ServiceError.
		return nil, &unavailableError{r.Err}
	}
	return parseToken(r)
}

// getAllowExpired is tokens.Get with ?allow_expired=1, which the tokens
// package has no option for.
func getAllowExpired(ctx context.Context, c *gophercloud.ServiceClient, token string) (r tokens.GetResult) {
	resp, err := c.Get(ctx, c.ServiceURL("auth", "tokens")+"?allow_expired=1", &r.Body, &gophercloud.RequestOpts{
		MoreHeaders: map[string]string{"X-Subject-Token": token},
		OkCodes:     []int{200, 203},
	})
	_, r.Header, r.Err = gophercloud.ParseResponse(resp, err)
	return r
}

// check validates token, from the cache if possible.
func (v *Validator) check(ctx context.Context, token string, allowExpired bool) (*tokenInfo, error) {
	key := newCacheKey(token, allowExpired)
	if e, ok := v.cache.get(key, v.now()); ok {
		if e.info == nil {
			return nil, errInvalid
		}
		return e.info, nil
	}
	res, err, _ := v.flight.Do(key.flightKey(), func() (any, error) {
		// One caller's departure must not fail the others waiting on
		// this call.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.Timeout)
		defer cancel()
		info, err := v.fetch(fctx, token, allowExpired)
		now := v.now()
		if err == nil && !allowExpired && !info.ExpiresAt.After(now) {
			err = fmt.Errorf("%w: expired at %s", errInvalid, info.ExpiresAt.Format(time.RFC3339))
		}
		switch {
		case err == nil:
			until := now.Add(v.cacheTTL)
			if !allowExpired && info.ExpiresAt.Before(until) {
				until = info.ExpiresAt
			}
			v.cache.put(key, info, until)
		case errors.Is(err, errInvalid):
			v.cache.put(key, nil, now.Add(min(negativeTTL, v.cacheTTL)))
		}
		return info, err
	})
	if err != nil {
		return nil, err
	}
	return res.(*tokenInfo), nil
}

// authHeaders are the request headers keystonemiddleware removes before
// validating (and then sets from the token), so that a client cannot pose
// as someone else.
var authHeaders = func() []string {
	h := []string{"X-Identity-Status", "X-Service-Identity-Status", "X-Is-Admin-Project", "X-Service-Catalog",
		"X-Role", "X-User", "X-Tenant-Id", "X-Tenant-Name", "X-Tenant", "OpenStack-System-Scope"}
	for _, prefix := range []string{"X-", "X-Service-"} {
		for _, name := range []string{"Domain-Id", "Domain-Name", "Project-Id", "Project-Name",
			"Project-Domain-Id", "Project-Domain-Name", "User-Id", "User-Name", "User-Domain-Id",
			"User-Domain-Name", "Roles"} {
			h = append(h, prefix+name)
		}
	}
	return h
}()

// setHeaders describes a validated token in request headers, as
// keystonemiddleware does for the services behind it.
func setHeaders(h http.Header, prefix string, t *tokenInfo) {
	set := func(name, value string) {
		if value != "" {
			h.Set(prefix+name, value)
		}
	}
	set("User-Id", t.UserID)
	set("User-Name", t.UserName)
	set("User-Domain-Id", t.UserDomainID)
	set("User-Domain-Name", t.UserDomainName)
	set("Project-Id", t.ProjectID)
	set("Project-Name", t.ProjectName)
	set("Project-Domain-Id", t.ProjectDomainID)
	set("Project-Domain-Name", t.ProjectDomainName)
	set("Domain-Id", t.DomainID)
	set("Domain-Name", t.DomainName)
	h.Set(prefix+"Roles", strings.Join(t.Roles, ","))
}

// Middleware returns the authentication middleware (an api.Middleware).
// isAdmin decides the caller's IsAdmin (Neutron's context_is_admin); nil
// means never.
func (v *Validator) Middleware(isAdmin func(*reqctx.Caller) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			userToken := strings.TrimSpace(r.Header.Get("X-Auth-Token"))
			if userToken == "" {
				userToken = strings.TrimSpace(r.Header.Get("X-Storage-Token"))
			}
			serviceToken := strings.TrimSpace(r.Header.Get("X-Service-Token"))
			for _, name := range authHeaders {
				r.Header.Del(name)
			}
			if userToken == "" {
				v.log.InfoContext(ctx, "rejecting request without a token")
				v.unauthorized(w)
				return
			}

			allowExpired := false
			var service *tokenInfo
			if serviceToken != "" {
				info, err := v.check(ctx, serviceToken, false)
				if err != nil {
					v.reject(w, r, "service token", err)
					return
				}
				roleOK := info.hasRole(v.serviceRoles)
				if !roleOK {
					if v.opts.ServiceTokenRolesRequired {
						v.log.InfoContext(ctx, "rejecting a service token without any of service_token_roles",
							"user_id", info.UserID)
						v.unauthorized(w)
						return
					}
					if !v.roleWarned.Swap(true) {
						v.log.WarnContext(ctx, "a valid token without any of service_token_roles was sent as a service token; "+
							"accepted because service_token_roles_required is false", "user_id", info.UserID)
					}
				}
				allowExpired = roleOK
				service = info
			}

			info, err := v.check(ctx, userToken, allowExpired)
			if err != nil {
				v.reject(w, r, "token", err)
				return
			}

			h := r.Header
			h.Set("X-Identity-Status", "Confirmed")
			setHeaders(h, "X-", info)
			h.Set("X-Is-Admin-Project", map[bool]string{true: "True", false: "False"}[info.IsAdminProject])
			h.Set("X-Role", h.Get("X-Roles"))
			for old, cur := range map[string]string{"X-User": "X-User-Name", "X-Tenant-Id": "X-Project-Id",
				"X-Tenant-Name": "X-Project-Name", "X-Tenant": "X-Project-Name"} {
				if val := h.Get(cur); val != "" {
					h.Set(old, val)
				}
			}
			if info.SystemScope != "" {
				h.Set("OpenStack-System-Scope", info.SystemScope)
			}
			if service != nil {
				h.Set("X-Service-Identity-Status", "Confirmed")
				setHeaders(h, "X-Service-", service)
			}

			c := info.caller()
			c.IsAdmin = isAdmin != nil && isAdmin(c)
			next.ServeHTTP(w, r.WithContext(reqctx.WithCaller(ctx, c)))
		})
	}
}

// reject answers a failed validation: 503 if Keystone could not be asked,
// else 401.
func (v *Validator) reject(w http.ResponseWriter, r *http.Request, what string, err error) {
	var ue *unavailableError
	if errors.As(err, &ue) {
		v.log.ErrorContext(r.Context(), "unable to validate "+what+" with Keystone", "error", err)
		writeUnavailable(w)
		return
	}
	v.log.InfoContext(r.Context(), "rejecting invalid "+what, "reason", err)
	v.unauthorized(w)
}

// unauthorizedBody is keystonemiddleware's 401 body, as it writes it.
const unauthorizedBody = `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`

func (v *Validator) unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("WWW-Authenticate", v.wwwAuth)
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", fmt.Sprint(len(unauthorizedBody)))
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(unauthorizedBody))
}

// unavailableBody is Neutron's error body carrying keystonemiddleware's
// message for an unreachable Keystone.
var unavailableBody = func() []byte {
	type body struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	}
	b, _ := json.Marshal(map[string]body{"NeutronError": {
		Type:    "ServiceUnavailable",
		Message: "The Keystone service is temporarily unavailable.",
	}})
	return b
}()

func writeUnavailable(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(unavailableBody)))
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(unavailableBody)
}
