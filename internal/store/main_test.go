package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// engine is a database engine the tests run on: newDSN returns the
// connection URL of a fresh, empty database.
type engine struct {
	name   string
	newDSN func(t *testing.T) string
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string {
		return "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite")
	}},
	{"postgresql", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
}

// forEngines runs f as a parallel subtest per engine.
func forEngines(t *testing.T, f func(t *testing.T, e engine)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			f(t, e)
		})
	}
}

// open opens connection and closes it when the test ends.
func open(t testing.TB, connection string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), connection)
	if err != nil {
		t.Fatalf("open %s: %v", connection, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return st
}

// openMigrated opens connection and migrates it to the current schema.
func openMigrated(t testing.TB, connection string) *store.Store {
	t.Helper()
	st := open(t, connection)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// coreExtensions mirrors the extensions the server enables for the core
// plugin (internal/server.coreExtensions), so the tests store networks
// exactly as the server does.
var coreExtensions = []string{
	"auto-allocated-topology", "empty-string-filtering", "external-net", "filter-validation",
	"l2_adjacency", "net-mtu", "net-mtu-writable", "network_availability_zone", "pagination",
	"port-security", "project-id", "revision-if-match", "sorting", "standard-attr-description",
	"standard-attr-revisions", "standard-attr-timestamp",
}

// networkDef is the networks resource as the server builds it.
func networkDef(t testing.TB) *resource.Resource {
	t.Helper()
	enabled := map[string]bool{}
	for _, e := range coreExtensions {
		enabled[e] = true
	}
	r := apidef.Build()[apidef.Networks]
	if r == nil {
		t.Fatal("apidef.Build has no networks")
	}
	return r.Restrict(func(alias string) bool { return enabled[alias] })
}
