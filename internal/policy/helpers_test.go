package policy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is a slog.Handler that keeps every record's message and level.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}

// count returns how many records contain substr.
func (r *recorder) count(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.Contains(m, substr) {
			n++
		}
	}
	return n
}

// quiet is a logger that drops everything.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// mustNew builds an Enforcer or fails the test.
func mustNew(t testing.TB, opts Options) *Enforcer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// withRules returns an Enforcer (new defaults, scope enforced) whose policy
// file holds the given YAML.
func withRules(t testing.TB, yaml string) *Enforcer {
	t.Helper()
	p := writeFile(t, t.TempDir(), "policy.yaml", yaml)
	return mustNew(t, Options{PolicyFile: p, EnforceNewDefaults: true, EnforceScope: true})
}

// Personas of Neutron's new defaults. Keystone's implied roles are spelled
// out: admin implies manager, member and reader; manager implies member and
// reader; member implies reader.
var (
	adminCreds   = Credentials{UserID: "u-admin", ProjectID: "p-admin", Roles: []string{"admin", "manager", "member", "reader"}}
	managerP1    = Credentials{UserID: "u-manager", ProjectID: "p1", Roles: []string{"manager", "member", "reader"}}
	memberP1     = Credentials{UserID: "u-member", ProjectID: "p1", Roles: []string{"member", "reader"}}
	readerP1     = Credentials{UserID: "u-reader", ProjectID: "p1", Roles: []string{"reader"}}
	memberP2     = Credentials{UserID: "u-other", ProjectID: "p2", Roles: []string{"member", "reader"}}
	serviceCreds = Credentials{UserID: "u-neutron", ProjectID: "service", Roles: []string{"service"}}
	noRoleP1     = Credentials{UserID: "u-legacy", ProjectID: "p1", Roles: []string{"_member_"}}
	systemAdmin  = Credentials{UserID: "u-sys", SystemScope: "all", Roles: []string{"admin", "manager", "member", "reader"}}
)

// as returns creds with IsAdmin filled in from the enforcer, as a request
// context would carry it.
func as(e *Enforcer, c Credentials) Credentials {
	c.IsAdmin = e.IsAdmin(c)
	return c
}
