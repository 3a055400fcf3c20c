package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// insertNetwork stores a network named name through a Write transaction
// and returns its id.
func insertNetwork(t testing.TB, st *store.Store, def *resource.Resource, id, name string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	o := resource.New(def)
	o.Set("id", id)
	o.Set("name", name)
	o.Set("project_id", "p1")
	o.Set("mtu", 1400)
	o.Set("created_at", now)
	o.Set("updated_at", now)
	o.Set("revision_number", 1)
	if err := st.Write(context.Background(), func(tx *store.Tx) error { return tx.Insert(context.Background(), o) }); err != nil {
		t.Fatalf("insert network %s: %v", name, err)
	}
}

// getNetwork reads a network back through a Read transaction.
func getNetwork(t testing.TB, st *store.Store, def *resource.Resource, id string) (*resource.Object, error) {
	t.Helper()
	var o *resource.Object
	err := st.Read(context.Background(), func(tx *store.Tx) error {
		var err error
		o, err = tx.Get(context.Background(), def, id, false)
		return err
	})
	return o, err
}

// roundTrip migrates st, writes a network and reads it back.
func roundTrip(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	def := networkDef(t)
	st.Bind(def)
	const id = "5f1d9a1e-5c55-4a47-9d3b-6f2a4f1f7f01"
	insertNetwork(t, st, def, id, "round-trip")
	o, err := getNetwork(t, st, def, id)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if o.String("name") != "round-trip" || o.Int("mtu") != 1400 || o.String("project_id") != "p1" {
		t.Errorf("read back %v", o.Map())
	}
}

func TestOpenSQLiteMemory(t *testing.T) {
	ctx := context.Background()
	st := openMigrated(t, "sqlite://")
	if st.Engine() != "sqlite" {
		t.Errorf("Engine() = %q", st.Engine())
	}
	def := networkDef(t)
	st.Bind(def)
	const id = "0b8f7c43-2f0d-4d5c-9d44-b0e3b1c0b001"
	insertNetwork(t, st, def, id, "in-memory")

	// Pin the pool's only connection, so the Read below must run on
	// another one: an in-memory database private to one connection would
	// look empty there.
	db := st.DB()
	if n := db.Stats().OpenConnections; n != 1 {
		t.Logf("pool has %d open connections before pinning", n)
	}
	pinned, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	var objs []*resource.Object
	err = st.Read(ctx, func(tx *store.Tx) error {
		var err error
		// A short page, read through database/sql (a longer listing
		// reads through the row reader, as a show does below).
		objs, err = tx.List(ctx, def, &resource.Query{Limit: 10})
		return err
	})
	if err != nil || len(objs) != 1 || objs[0].String("name") != "in-memory" {
		t.Fatalf("list on a second connection: %v, %v", objs, err)
	}
	if n := db.Stats().OpenConnections; n < 2 {
		t.Errorf("pool has %d open connections; the read did not use a second one", n)
	}
	// A show and a long listing read through connections of their own
	// (the row reader), which must find the same database too.
	err = st.Read(ctx, func(tx *store.Tx) error {
		var err error
		objs, err = tx.List(ctx, def, &resource.Query{})
		return err
	})
	if err != nil || len(objs) != 1 || objs[0].String("name") != "in-memory" {
		t.Fatalf("list through the row reader: %v, %v", objs, err)
	}
	o, err := getNetwork(t, st, def, id)
	if err != nil {
		t.Fatalf("get on the row reader's connection: %v", err)
	}
	if o.String("name") != "in-memory" {
		t.Errorf("read back name %q", o.String("name"))
	}
	// And the other way round: the pinned connection sees the row too.
	var name string
	if err := pinned.QueryRowContext(ctx, "SELECT name FROM networks WHERE id = ?", id).Scan(&name); err != nil || name != "in-memory" {
		t.Errorf("pinned connection reads %q, %v", name, err)
	}

	// Each "sqlite://" store is its own database.
	other := open(t, "sqlite://")
	if _, err := other.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other.Bind(def)
	if _, err := getNetwork(t, other, def, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a second in-memory store sees the first one's network: %v", err)
	}
}

func TestOpenSQLiteRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	st := open(t, "sqlite:///state/sub/neutrino.sqlite")
	roundTrip(t, st)
	if _, err := os.Stat(filepath.Join(dir, "state", "sub", "neutrino.sqlite")); err != nil {
		t.Errorf("database not created relative to the working directory: %v", err)
	}
	if _, err := os.Stat("/state/sub/neutrino.sqlite"); err == nil {
		t.Errorf("database created at the absolute path /state/sub/neutrino.sqlite")
	}
}

func TestOpenSQLiteAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	// Run from elsewhere so a relative interpretation would miss.
	t.Chdir(t.TempDir())
	path := filepath.Join(dir, "abs", "neutrino.sqlite")
	if !strings.HasPrefix(path, "/") {
		t.Fatalf("temp path %q is not absolute", path)
	}
	st := open(t, "sqlite:///"+path) // "sqlite:////tmp/…"
	roundTrip(t, st)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %s: %v", path, err)
	}

	// The data is in the file: a new handle sees it.
	again := open(t, "sqlite:///"+path)
	def := networkDef(t)
	again.Bind(def)
	if _, err := getNetwork(t, again, def, "5f1d9a1e-5c55-4a47-9d3b-6f2a4f1f7f01"); err != nil {
		t.Errorf("reopened file: %v", err)
	}
}

// TestOpenPostgresForms opens the same PostgreSQL database through every
// URL spelling oslo.db configurations use.
func TestOpenPostgresForms(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	rest, ok := strings.CutPrefix(dsn, "postgresql://")
	if !ok {
		t.Fatalf("unexpected pgtest DSN %q", dsn)
	}
	forms := []struct{ name, url string }{
		{"postgresql", "postgresql://" + rest},
		{"postgresql+psycopg2", "postgresql+psycopg2://" + rest},
		{"postgres", "postgres://" + rest},
		{"psycopg2 charset parameter", "postgresql+psycopg2://" + rest + "&charset=utf8"},
		{"client_encoding parameter", "postgresql://" + rest + "&client_encoding=utf8"},
	}
	for i, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			st := open(t, f.url)
			if st.Engine() != "postgresql" {
				t.Errorf("Engine() = %q", st.Engine())
			}
			n, err := st.Migrate(context.Background())
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			// All forms reach the one database: only the first migrates.
			want := 0
			if i == 0 {
				want = store.NumMigrations()
			}
			if n != want {
				t.Errorf("migrate applied %d, want %d", n, want)
			}
			if v, err := st.Version(context.Background()); err != nil || v != store.SchemaVersion() {
				t.Errorf("Version = %d, %v", v, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name       string
		connection string
		want       []string // substrings of the error
	}{
		{"unsupported scheme", "mysql+pymysql://neutron:sekret@127.0.0.1/neutron", []string{"unsupported", "mysql"}},
		{"unsupported scheme without password", "oracle://db/neutron", []string{"unsupported", "oracle"}},
		{"not a URL", "/var/lib/neutron/neutron.sqlite", []string{"not a URL"}},
		{"postgresql unreachable", "postgresql://neutron:sekret@127.0.0.1:1/neutron?sslmode=disable&connect_timeout=5",
			[]string{"127.0.0.1:1", "neutron:xxxxx@"}},
		{"postgresql+psycopg2 unreachable", "postgresql+psycopg2://neutron:sekret@127.0.0.1:1/neutron?sslmode=disable&connect_timeout=5",
			[]string{"127.0.0.1:1", "neutron:xxxxx@"}},
		{"postgres unreachable", "postgres://neutron:sekret@127.0.0.1:1/neutron?sslmode=disable&connect_timeout=5",
			[]string{"127.0.0.1:1", "neutron:xxxxx@"}},
		{"sqlite directory cannot be created", "sqlite:////dev/null/neutrino.sqlite", []string{"neutrino.sqlite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := store.Open(ctx, tt.connection)
			if err == nil {
				st.Close()
				t.Fatalf("Open(%q) succeeded", tt.connection)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if strings.Contains(msg, "sekret") {
				t.Errorf("error reveals the password: %s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestGetAfterRelate checks that a relation declared after a table was
// first read shows in the next read: the SELECT built for the table is
// kept, and must be rebuilt after Relate.
func TestGetAfterRelate(t *testing.T) {
	for _, engine := range []struct{ name, conn string }{
		{"sqlite", "sqlite:///" + filepath.Join(t.TempDir(), "relate.sqlite")},
		{"postgresql", ""},
	} {
		t.Run(engine.name, func(t *testing.T) {
			conn := engine.conn
			if conn == "" {
				conn = pgtest.NewDatabase(t)
			}
			ctx := context.Background()
			st := openMigrated(t, conn)
			def := networkDef(t)
			st.Bind(def)
			const id = "7a3e7c1a-2222-4c2b-8e0e-3b9e3f0a0c01"
			insertNetwork(t, st, def, id, "related")
			if err := st.Write(ctx, func(tx *store.Tx) error { return tx.SetTags(ctx, id, []string{"t2", "t1"}) }); err != nil {
				t.Fatal(err)
			}
			o, err := getNetwork(t, st, def, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Has("subnets") {
				t.Fatalf("subnets before the relation: %v", o.Get("subnets"))
			}
			// Any child table will do: the network's subnets as its tags.
			st.Relate(def.Collection, "subnets", "tags", "resource_id", "tag")
			if o, err = getNetwork(t, st, def, id); err != nil {
				t.Fatal(err)
			}
			if got := o.Get("subnets"); !reflect.DeepEqual(got, []string{"t1", "t2"}) {
				t.Errorf("subnets after the relation: %#v, want [t1 t2]", got)
			}
		})
	}
}
