// Package api_test drives a real Neutrino server, in process, over HTTP,
// on SQLite and on a throwaway PostgreSQL cluster, and checks Neutron's
// API behaviour: bodies, status codes and error types.
package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/server"
	"github.com/neutrino-net/neutrino/internal/testenv/apiserver"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// env is one running server.
type env struct {
	t    testing.TB
	url  string
	conn string
	srv  *server.Server
}

// engines runs f once per database engine, as subtests.
func engines(t *testing.T, f func(t *testing.T, e *env)) { enginesWith(t, nil, f) }

// enginesWith is engines with option overrides ("section.name" → value).
func enginesWith(t *testing.T, overrides map[string]string, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), overrides))
	})
	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		f(t, newEnv(t, pgtest.NewDatabase(t), overrides))
	})
}

// newEnv starts a server on the given database with noauth and any extra
// option overrides ("section.name" → value).
func newEnv(t testing.TB, connection string, overrides map[string]string) *env {
	t.Helper()
	url, srv := apiserver.Start(t, connection, overrides)
	return &env{t: t, url: url, conn: connection, srv: srv}
}

// pgEnv starts a server on a fresh PostgreSQL database, for tests
// that need several servers on one database.
func pgEnv(t testing.TB) *env {
	return newEnv(t, pgtest.NewDatabase(t), nil)
}

// caller is who a request acts as: nil means the noauth admin.
type caller struct {
	project string
	roles   string
}

var (
	admin   *caller
	member1 = &caller{project: "project-one", roles: "member,reader"}
	member2 = &caller{project: "project-two", roles: "member,reader"}
	reader1 = &caller{project: "project-one", roles: "reader"}
)

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request; body may be a string (sent verbatim) or any value
// (sent as JSON).
func (e *env) do(as *caller, method, path string, body any, headers ...string) *reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if as != nil {
		req.Header.Set("X-Project-Id", as.project)
		req.Header.Set("X-Roles", as.roles)
		req.Header.Set("X-User-Id", "user-of-"+as.project)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: reply is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// expect fails unless the reply has the status.
func (r *reply) expect(t testing.TB, status int) *reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// fault fails unless the reply is a NeutronError of the given status and
// type whose message contains msg.
func (r *reply) fault(t testing.TB, status int, typ, msg string) {
	t.Helper()
	r.expect(t, status)
	ne, ok := r.body["NeutronError"].(map[string]any)
	if !ok {
		t.Fatalf("no NeutronError in %s", r.raw)
	}
	if ne["type"] != typ {
		t.Errorf("type %v, want %s (%s)", ne["type"], typ, r.raw)
	}
	if m, _ := ne["message"].(string); !strings.Contains(m, msg) {
		t.Errorf("message %q does not contain %q", m, msg)
	}
	if _, ok := ne["detail"]; !ok {
		t.Errorf("NeutronError has no detail: %s", r.raw)
	}
}

// obj returns the member object under key.
func (r *reply) obj(t testing.TB, key string) map[string]any {
	t.Helper()
	m, ok := r.body[key].(map[string]any)
	if !ok {
		t.Fatalf("no %q object in %s", key, r.raw)
	}
	return m
}

// list returns the collection under key.
func (r *reply) list(t testing.TB, key string) []map[string]any {
	t.Helper()
	items, ok := r.body[key].([]any)
	if !ok {
		t.Fatalf("no %q list in %s", key, r.raw)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// createNetwork creates a network as the caller and returns it.
func (e *env) createNetwork(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/networks", map[string]any{"network": attrs}).expect(e.t, 201).obj(e.t, "network")
}

func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}
