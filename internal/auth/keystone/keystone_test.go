package keystone

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/reqctx"
)

// fakeKeystone is just enough of Keystone's v3 token API: password
// authentication for the service user, and token validation.
type fakeKeystone struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	tokens    map[string]map[string]any // token → its document
	svcTokens map[string]bool           // service tokens still accepted
	svcTTL    time.Duration             // lifetime of issued service tokens
	n         int

	status     atomic.Int32 // if non-zero, every request gets this status
	delay      time.Duration
	auths      atomic.Int32 // POST /v3/auth/tokens
	validation atomic.Int32 // GET /v3/auth/tokens
}

func newFakeKeystone(t *testing.T) *fakeKeystone {
	f := &fakeKeystone{t: t, tokens: map[string]map[string]any{}, svcTokens: map[string]bool{}, svcTTL: time.Hour}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKeystone) serve(w http.ResponseWriter, r *http.Request) {
	if s := f.status.Load(); s != 0 {
		http.Error(w, "broken", int(s))
		return
	}
	if r.URL.Path != "/v3/auth/tokens" {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.auths.Add(1)
		var body struct {
			Auth struct {
				Identity struct {
					Password struct {
						User struct {
							Name     string `json:"name"`
							Password string `json:"password"`
							Domain   struct {
								Name string `json:"name"`
								ID   string `json:"id"`
							} `json:"domain"`
						} `json:"user"`
					} `json:"password"`
				} `json:"identity"`
				Scope struct {
					Project struct {
						Name   string `json:"name"`
						Domain struct {
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"project"`
				} `json:"scope"`
			} `json:"auth"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		u := body.Auth.Identity.Password.User
		p := body.Auth.Scope.Project
		if u.Name != "neutron" || u.Password != "secret" || u.Domain.Name != "Default" ||
			p.Name != "service" || p.Domain.Name != "Default" {
			writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401}})
			return
		}
		f.mu.Lock()
		f.n++
		tok := fmt.Sprintf("svc-%d", f.n)
		f.svcTokens[tok] = true
		exp := time.Now().Add(f.svcTTL)
		f.mu.Unlock()
		w.Header().Set("X-Subject-Token", tok)
		writeJSON(w, 201, map[string]any{"token": map[string]any{
			"expires_at": exp.UTC().Format("2006-01-02T15:04:05.000000Z"),
			"user":       map[string]any{"id": "neutron-id", "name": "neutron"},
			"project":    map[string]any{"id": "service-id", "name": "service"},
			"roles":      []any{map[string]any{"name": "service"}, map[string]any{"name": "admin"}},
			"catalog":    []any{},
		}})
	case http.MethodGet:
		f.validation.Add(1)
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		f.mu.Lock()
		ok := f.svcTokens[r.Header.Get("X-Auth-Token")]
		doc := f.tokens[r.Header.Get("X-Subject-Token")]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401}})
			return
		}
		if doc == nil {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"code": 404}})
			return
		}
		exp, _ := time.Parse(time.RFC3339, doc["expires_at"].(string))
		if time.Now().After(exp) && r.URL.Query().Get("allow_expired") != "1" {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"code": 404}})
			return
		}
		w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
		writeJSON(w, 200, map[string]any{"token": doc})
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// addToken registers a user token expiring after ttl, scoped as scope
// ("project", "domain" or "system").
func (f *fakeKeystone) addToken(tok, scope string, ttl time.Duration, roles ...string) {
	doc := map[string]any{
		"expires_at": time.Now().Add(ttl).UTC().Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": "u-" + tok, "name": "user " + tok, "domain": map[string]any{"id": "default", "name": "Default"}},
	}
	switch scope {
	case "project":
		doc["project"] = map[string]any{"id": "p-" + tok, "name": "project " + tok,
			"domain": map[string]any{"id": "default", "name": "Default"}}
	case "domain":
		doc["domain"] = map[string]any{"id": "d-" + tok, "name": "domain " + tok}
	case "system":
		doc["system"] = map[string]any{"all": true}
	}
	var rs []any
	for _, r := range roles {
		rs = append(rs, map[string]any{"id": "r-" + r, "name": r})
	}
	doc["roles"] = rs
	f.mu.Lock()
	f.tokens[tok] = doc
	f.mu.Unlock()
}

func (f *fakeKeystone) setDoc(tok, key string, val any) {
	f.mu.Lock()
	f.tokens[tok][key] = val
	f.mu.Unlock()
}

func (f *fakeKeystone) revokeServiceTokens() {
	f.mu.Lock()
	f.svcTokens = map[string]bool{}
	f.mu.Unlock()
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a validator in front of an echo handler.
type harness struct {
	t       *testing.T
	v       *Validator
	clock   *clock
	handler http.Handler
	calls   atomic.Int32
}

func baseOptions(authURL string) Options {
	return Options{
		WWWAuthenticateURI: "https://keystone.example/identity",
		AuthURL:            authURL,
		Username:           "neutron",
		Password:           "secret",
		ProjectName:        "service",
		UserDomainName:     "Default",
		ProjectDomainName:  "Default",
		MaxRetries:         -1,
		Timeout:            5 * time.Second,
	}
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	v.now = c.now
	h := &harness{t: t, v: v, clock: c}
	isAdmin := func(c *reqctx.Caller) bool { return c.HasRole("admin") }
	h.handler = v.Middleware(isAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		c := reqctx.CallerFrom(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"caller": c, "roles_header": r.Header.Get("X-Roles"),
			"project_header": r.Header.Get("X-Project-Id"), "status_header": r.Header.Get("X-Identity-Status"),
			"service_status": r.Header.Get("X-Service-Identity-Status")})
	}))
	return h
}

type result struct {
	status int
	header http.Header
	body   string
	caller reqctx.Caller
	echo   map[string]any
}

func (h *harness) do(headers ...string) result {
	h.t.Helper()
	req := httptest.NewRequest("GET", "/v2.0/networks", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if rec.Code == 200 {
		var e struct {
			Caller reqctx.Caller `json:"caller"`
		}
		json.Unmarshal(rec.Body.Bytes(), &e)
		json.Unmarshal(rec.Body.Bytes(), &res.echo)
		res.caller = e.Caller
	}
	return res
}

func expect401(t *testing.T, r result) {
	t.Helper()
	if r.status != 401 {
		t.Fatalf("status %d, want 401: %s", r.status, r.body)
	}
	if got := r.header.Get("WWW-Authenticate"); got != `Keystone uri="https://keystone.example/identity"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("401 body is not JSON: %v: %s", err, r.body)
	}
	if body.Error.Code != 401 || body.Error.Title != "Unauthorized" ||
		body.Error.Message != "The request you have made requires authentication." {
		t.Errorf("401 body = %s", r.body)
	}
}

func expect503(t *testing.T, r result) {
	t.Helper()
	if r.status != 503 {
		t.Fatalf("status %d, want 503: %s", r.status, r.body)
	}
	want := `{"NeutronError":{"type":"ServiceUnavailable","message":"The Keystone service is temporarily unavailable.","detail":""}}`
	if r.body != want {
		t.Errorf("503 body = %s, want %s", r.body, want)
	}
}

func TestNewRequiresOptions(t *testing.T) {
	good := baseOptions("http://127.0.0.1:5000/v3")
	for name, mutate := range map[string]func(*Options){
		"auth_url":    func(o *Options) { o.AuthURL = "" },
		"bad url":     func(o *Options) { o.AuthURL = "127.0.0.1:5000" },
		"username":    func(o *Options) { o.Username = "" },
		"password":    func(o *Options) { o.Password = "" },
		"project":     func(o *Options) { o.ProjectName = "" },
		"user domain": func(o *Options) { o.UserDomainName = "" },
	} {
		o := good
		mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

func TestProjectToken(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("member", "project", time.Hour, "Member", "reader")
	h := newHarness(t, baseOptions(f.srv.URL+"/v3"))
	r := h.do("X-Auth-Token", " member ", "X-Roles", "admin", "X-Project-Id", "evil", "X-Identity-Status", "Confirmed")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	c := r.caller
	if c.UserID != "u-member" || c.ProjectID != "p-member" || c.DomainID != "" || c.SystemScope != "" || c.IsAdmin {
		t.Errorf("caller = %+v", c)
	}
	if strings.Join(c.Roles, ",") != "member,reader" {
		t.Errorf("roles = %v, want lower-cased [member reader]", c.Roles)
	}
	if r.echo["roles_header"] != "Member,reader" || r.echo["project_header"] != "p-member" ||
		r.echo["status_header"] != "Confirmed" || r.echo["service_status"] != "" {
		t.Errorf("downstream headers = %v", r.echo)
	}
}

func TestScopes(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("sys", "system", time.Hour, "admin", "reader")
	f.addToken("dom", "domain", time.Hour, "manager")
	h := newHarness(t, baseOptions(f.srv.URL))
	if c := h.do("X-Auth-Token", "sys").caller; c.SystemScope != "all" || c.ProjectID != "" || !c.IsAdmin {
		t.Errorf("system caller = %+v", c)
	}
	if c := h.do("X-Auth-Token", "dom").caller; c.DomainID != "d-dom" || c.ProjectID != "" || c.SystemScope != "" || c.IsAdmin {
		t.Errorf("domain caller = %+v", c)
	}
}

func TestMissingAndInvalidTokens(t *testing.T) {
	f := newFakeKeystone(t)
	h := newHarness(t, baseOptions(f.srv.URL))
	expect401(t, h.do())
	expect401(t, h.do("X-Identity-Status", "Confirmed", "X-Roles", "admin", "X-Project-Id", "p"))
	if n := f.validation.Load(); n != 0 {
		t.Errorf("%d validations for requests without a token", n)
	}
	expect401(t, h.do("X-Auth-Token", "garbage"))
	expect401(t, h.do("X-Auth-Token", "garbage"))
	if n := f.validation.Load(); n != 1 {
		t.Errorf("%d validations of one invalid token, want 1 (negative cache)", n)
	}
	h.clock.advance(negativeTTL + time.Second)
	expect401(t, h.do("X-Auth-Token", "garbage"))
	if n := f.validation.Load(); n != 2 {
		t.Errorf("%d validations after the negative TTL, want 2", n)
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("handler called %d times", n)
	}
}

func TestCacheTTLAndExpiry(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("long", "project", time.Hour, "member")
	f.addToken("short", "project", 3*time.Second, "member")
	opts := baseOptions(f.srv.URL)
	opts.CacheTTL = time.Minute
	h := newHarness(t, opts)
	for range 10 {
		if r := h.do("X-Auth-Token", "long"); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	if n := f.validation.Load(); n != 1 {
		t.Fatalf("%d validations for 10 requests, want 1", n)
	}
	h.clock.advance(time.Minute + time.Second)
	h.do("X-Auth-Token", "long")
	if n := f.validation.Load(); n != 2 {
		t.Fatalf("%d validations after the TTL, want 2", n)
	}

	// A token is cached until it expires, not for the whole TTL.
	h = newHarness(t, opts)
	if r := h.do("X-Auth-Token", "short"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	h.clock.advance(4 * time.Second)
	time.Sleep(3 * time.Second) // let the fake Keystone see it expire too
	expect401(t, h.do("X-Auth-Token", "short"))
}

func TestExpiredDocumentRejected(t *testing.T) {
	// Keystone validated it, but by our clock it has expired.
	f := newFakeKeystone(t)
	f.addToken("tok", "project", time.Minute, "member")
	h := newHarness(t, baseOptions(f.srv.URL))
	h.clock.advance(2 * time.Minute)
	expect401(t, h.do("X-Auth-Token", "tok"))
}

func TestCacheDisabled(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("tok", "project", time.Hour, "member")
	opts := baseOptions(f.srv.URL)
	opts.CacheTTL = -1
	h := newHarness(t, opts)
	for range 3 {
		h.do("X-Auth-Token", "tok")
	}
	if n := f.validation.Load(); n != 3 {
		t.Errorf("%d validations with caching disabled, want 3", n)
	}
}

func TestConcurrentRequestsShareOneValidation(t *testing.T) {
	f := newFakeKeystone(t)
	f.delay = 200 * time.Millisecond
	f.addToken("tok", "project", time.Hour, "member")
	h := newHarness(t, baseOptions(f.srv.URL))
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if r := h.do("X-Auth-Token", "tok"); r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		})
	}
	wg.Wait()
	if n := f.validation.Load(); n != 1 {
		t.Errorf("%d validations for 50 concurrent requests, want 1", n)
	}
	if n := f.auths.Load(); n != 1 {
		t.Errorf("%d service authentications, want 1", n)
	}
}

func TestKeystoneErrors(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("tok", "project", time.Hour, "member")
	f.addToken("other", "project", time.Hour, "member")
	h := newHarness(t, baseOptions(f.srv.URL))
	if r := h.do("X-Auth-Token", "tok"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	for _, status := range []int{500, 502, 503, 403} {
		f.status.Store(int32(status))
		expect503(t, h.do("X-Auth-Token", "other"))
	}
	// A cached token keeps working while Keystone is broken.
	if r := h.do("X-Auth-Token", "tok"); r.status != 200 {
		t.Errorf("cached token: status %d", r.status)
	}
	f.status.Store(0)
	if r := h.do("X-Auth-Token", "other"); r.status != 200 {
		t.Errorf("after recovery: status %d: %s", r.status, r.body)
	}
	if n := h.calls.Load(); n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
}

func TestKeystoneUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts := baseOptions("http://" + addr + "/v3")
	opts.MaxRetries = 2
	h := newHarness(t, opts)
	start := time.Now()
	expect503(t, h.do("X-Auth-Token", "tok"))
	if d := time.Since(start); d < 3*retryDelay {
		t.Errorf("answered in %v: not retried", d)
	}
	if h.calls.Load() != 0 {
		t.Error("handler called")
	}
}

func TestWrongServicePassword(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("tok", "project", time.Hour, "member")
	opts := baseOptions(f.srv.URL)
	opts.Password = "wrong"
	h := newHarness(t, opts)
	expect503(t, h.do("X-Auth-Token", "tok"))
}

func TestServiceTokenReauthenticationOn401(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("a", "project", time.Hour, "member")
	f.addToken("b", "project", time.Hour, "member")
	h := newHarness(t, baseOptions(f.srv.URL))
	if r := h.do("X-Auth-Token", "a"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	f.revokeServiceTokens()
	if r := h.do("X-Auth-Token", "b"); r.status != 200 {
		t.Fatalf("after the service token was revoked: status %d: %s", r.status, r.body)
	}
	if n := f.auths.Load(); n != 2 {
		t.Errorf("%d service authentications, want 2", n)
	}
}

func TestServiceTokenRenewedBeforeExpiry(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("a", "project", 2*time.Hour, "member")
	f.addToken("b", "project", 2*time.Hour, "member")
	h := newHarness(t, baseOptions(f.srv.URL))
	h.do("X-Auth-Token", "a")
	h.do("X-Auth-Token", "b")
	if n := f.auths.Load(); n != 1 {
		t.Fatalf("%d service authentications, want 1", n)
	}
	h.clock.advance(time.Hour - time.Minute) // the service token has a minute left
	f.addToken("c", "project", 2*time.Hour, "member")
	if r := h.do("X-Auth-Token", "c"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if n := f.auths.Load(); n != 2 {
		t.Errorf("%d service authentications, want 2 (renewed before expiry)", n)
	}
	f.addToken("d", "project", 2*time.Hour, "member")
	h.do("X-Auth-Token", "d")
	if n := f.auths.Load(); n != 2 {
		t.Errorf("%d service authentications, want 2 (renewed once)", n)
	}
}

func TestServiceTokens(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("svc", "project", time.Hour, "service")
	f.addToken("plain", "project", time.Hour, "member")
	f.addToken("expired", "project", -time.Minute, "member")

	h := newHarness(t, baseOptions(f.srv.URL))
	expect401(t, h.do("X-Auth-Token", "expired"))
	r := h.do("X-Auth-Token", "expired", "X-Service-Token", "svc")
	if r.status != 200 || r.caller.UserID != "u-expired" || r.echo["service_status"] != "Confirmed" {
		t.Fatalf("expired user token with a service token: %d %s", r.status, r.body)
	}
	expect401(t, h.do("X-Auth-Token", "plain", "X-Service-Token", "garbage"))
	// Without the role, a valid service token is accepted
	// (service_token_roles_required = false) but vouches for nothing.
	if r := h.do("X-Auth-Token", "plain", "X-Service-Token", "plain"); r.status != 200 {
		t.Errorf("status %d", r.status)
	}
	expect401(t, h.do("X-Auth-Token", "expired", "X-Service-Token", "plain"))

	opts := baseOptions(f.srv.URL)
	opts.ServiceTokenRolesRequired = true
	h = newHarness(t, opts)
	expect401(t, h.do("X-Auth-Token", "plain", "X-Service-Token", "plain"))
	if r := h.do("X-Auth-Token", "plain", "X-Service-Token", "svc"); r.status != 200 {
		t.Errorf("status %d", r.status)
	}
}

func TestAccessRulesRejected(t *testing.T) {
	f := newFakeKeystone(t)
	f.addToken("ac", "project", time.Hour, "member")
	f.setDoc("ac", "application_credential", map[string]any{"id": "x", "access_rules": []any{}})
	f.addToken("ac2", "project", time.Hour, "member")
	f.setDoc("ac2", "application_credential", map[string]any{"id": "y"})
	h := newHarness(t, baseOptions(f.srv.URL))
	expect401(t, h.do("X-Auth-Token", "ac"))
	if r := h.do("X-Auth-Token", "ac2"); r.status != 200 {
		t.Errorf("unrestricted application credential: status %d", r.status)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(2)
	now := time.Now()
	for i := range 5 {
		c.put(newCacheKey(fmt.Sprint(i), false), &tokenInfo{}, now.Add(time.Hour))
	}
	if c.len() != 2 {
		t.Fatalf("len %d, want 2", c.len())
	}
	if _, ok := c.get(newCacheKey("4", false), now); !ok {
		t.Error("most recent entry evicted")
	}
	if _, ok := c.get(newCacheKey("0", false), now); ok {
		t.Error("oldest entry kept")
	}
	if _, ok := c.get(newCacheKey("4", true), now); ok {
		t.Error("allow_expired entry shares the key")
	}
	if _, ok := c.get(newCacheKey("4", false), now.Add(time.Hour)); ok {
		t.Error("entry returned after its deadline")
	}
}

func TestDefaultWWWAuthenticate(t *testing.T) {
	opts := baseOptions("http://127.0.0.1:1/v3")
	opts.WWWAuthenticateURI = ""
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	v.Middleware(nil)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Keystone uri="http://127.0.0.1:1/v3"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	b, _ := io.ReadAll(rec.Body)
	if string(b) != unauthorizedBody {
		t.Errorf("body = %s", b)
	}
}

func TestTLS(t *testing.T) {
	f := &fakeKeystone{t: t, tokens: map[string]map[string]any{}, svcTokens: map[string]bool{}, svcTTL: time.Hour}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.addToken("tok", "project", time.Hour, "member")

	// The system's CAs do not know the test server's certificate.
	expect503(t, newHarness(t, baseOptions(f.srv.URL)).do("X-Auth-Token", "tok"))

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := baseOptions(f.srv.URL)
	opts.CAFile = ca
	if r := newHarness(t, opts).do("X-Auth-Token", "tok"); r.status != 200 {
		t.Errorf("with cafile: status %d: %s", r.status, r.body)
	}
	opts = baseOptions(f.srv.URL)
	opts.Insecure = true
	if r := newHarness(t, opts).do("X-Auth-Token", "tok"); r.status != 200 {
		t.Errorf("insecure: status %d: %s", r.status, r.body)
	}
	opts.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := New(opts); err == nil {
		t.Error("New accepted a missing cafile")
	}
}
