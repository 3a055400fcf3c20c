package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/store"
)

// TestMigrateFresh brings a fresh database to the current schema, then
// checks that migrating again (on the same and on a new handle) is a no-op.
func TestMigrateFresh(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dsn := e.newDSN(t)
		st := open(t, dsn)

		n, err := st.Migrate(ctx)
		if err != nil {
			t.Fatalf("first migrate: %v", err)
		}
		if n != store.NumMigrations() {
			t.Errorf("first migrate applied %d, want %d", n, store.NumMigrations())
		}
		if v, err := st.Version(ctx); err != nil || v != store.SchemaVersion() {
			t.Errorf("Version = %d, %v; want %d", v, err, store.SchemaVersion())
		}
		if n, err := st.Migrate(ctx); err != nil || n != 0 {
			t.Errorf("second migrate applied %d, %v; want 0", n, err)
		}

		// The schema is really there: a table of the first migration.
		var count int
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM networks").Scan(&count); err != nil {
			t.Errorf("networks table: %v", err)
		}
		checkVersionsOnce(t, st.DB())

		// A new handle (a restarted server) finds nothing to do either.
		again := open(t, dsn)
		if n, err := again.Migrate(ctx); err != nil || n != 0 {
			t.Errorf("migrate on a new handle applied %d, %v; want 0", n, err)
		}
		if v, err := again.Version(ctx); err != nil || v != store.SchemaVersion() {
			t.Errorf("Version on a new handle = %d, %v; want %d", v, err, store.SchemaVersion())
		}
	})
}

// checkVersionsOnce asserts schema_migrations records every version
// 1..SchemaVersion exactly once.
func checkVersionsOnce(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version")
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v, n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("version %d recorded %d times", v, n)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != store.NumMigrations() {
		t.Fatalf("schema_migrations has versions %v, want %d of them", got, store.NumMigrations())
	}
	if got[len(got)-1] != store.SchemaVersion() {
		t.Errorf("newest recorded version %d, want %d", got[len(got)-1], store.SchemaVersion())
	}
}

// TestMigrateConcurrent starts several servers' worth of migrations on one
// fresh database at once: each has its own pool, all succeed, exactly one
// applies each migration and each version is recorded once.
func TestMigrateConcurrent(t *testing.T) {
	const migrators = 8
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		dsn := e.newDSN(t)
		if e.name == "sqlite" {
			dsn = "sqlite:///" + filepath.Join(t.TempDir(), "shared.sqlite")
		}
		stores := make([]*store.Store, migrators)
		for i := range stores {
			stores[i] = open(t, dsn)
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			applied = make([]int, migrators)
			errs    = make([]error, migrators)
		)
		for i, st := range stores {
			wg.Go(func() {
				<-start
				applied[i], errs[i] = st.Migrate(ctx)
			})
		}
		close(start)
		wg.Wait()
		total := 0
		for i := range stores {
			if errs[i] != nil {
				t.Errorf("migrator %d: %v", i, errs[i])
			}
			total += applied[i]
		}
		if total != store.NumMigrations() {
			t.Errorf("migrators applied %v, %d in all; want %d in all", applied, total, store.NumMigrations())
		}
		checkVersionsOnce(t, stores[0].DB())
		for i, st := range stores {
			if v, err := st.Version(ctx); err != nil || v != store.SchemaVersion() {
				t.Errorf("store %d: Version = %d, %v; want %d", i, v, err, store.SchemaVersion())
			}
		}
	})
}
