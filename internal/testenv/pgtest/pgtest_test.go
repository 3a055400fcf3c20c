package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/neutrino-net/neutrino/internal/testenv/ci"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func userTables(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_catalog.pg_class c
		   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewDatabaseIsolation(t *testing.T) {
	start := time.Now()
	dsn1 := NewDatabase(t)
	t.Logf("first NewDatabase (includes cluster start if this test ran first): %v", time.Since(start))
	start = time.Now()
	dsn2 := NewDatabase(t)
	t.Logf("second NewDatabase: %v", time.Since(start))

	if dsn1 == dsn2 {
		t.Fatalf("two NewDatabase calls returned the same DSN %s", dsn1)
	}
	for _, dsn := range []string{dsn1, dsn2} {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != "postgresql" || u.User.Username() != "neutrino" || u.Hostname() != "127.0.0.1" ||
			u.Port() == "" || u.Query().Get("sslmode") != "disable" {
			t.Errorf("unexpected DSN shape: %s", dsn)
		}
	}

	c1, c2 := connect(t, dsn1), connect(t, dsn2)
	ctx := context.Background()

	var db1, db2 string
	if err := c1.QueryRow(ctx, "SELECT current_database()").Scan(&db1); err != nil {
		t.Fatal(err)
	}
	if err := c2.QueryRow(ctx, "SELECT current_database()").Scan(&db2); err != nil {
		t.Fatal(err)
	}
	if db1 == db2 {
		t.Fatalf("both DSNs reach database %q", db1)
	}

	if n := userTables(t, c1); n != 0 {
		t.Errorf("new database %s has %d user relations, want 0", db1, n)
	}
	if n := userTables(t, c2); n != 0 {
		t.Errorf("new database %s has %d user relations, want 0", db2, n)
	}

	if _, err := c1.Exec(ctx, `CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Exec(ctx, `INSERT INTO widgets VALUES (1, 'gear')`); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := c1.QueryRow(ctx, `SELECT name FROM widgets WHERE id = 1`).Scan(&name); err != nil || name != "gear" {
		t.Fatalf("reading back from %s: %q, %v", db1, name, err)
	}

	var reg *string
	if err := c2.QueryRow(ctx, `SELECT to_regclass('widgets')::text`).Scan(&reg); err != nil {
		t.Fatal(err)
	}
	if reg != nil {
		t.Errorf("table widgets created in %s is visible in %s", db1, db2)
	}
	if _, err := c2.Exec(ctx, `SELECT * FROM widgets`); err == nil {
		t.Errorf("querying widgets in %s succeeded, want undefined table", db2)
	}
	if n := userTables(t, c2); n != 0 {
		t.Errorf("database %s has %d user relations after creating a table in %s, want 0", db2, n, db1)
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var dbname string
	t.Run("inner", func(t *testing.T) {
		u, err := url.Parse(NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		dbname = strings.TrimPrefix(u.Path, "/")
		// Leave a connection open: the drop must still succeed.
		c := connect(t, u.String())
		_ = c
	})
	if t.Skipped() || dbname == "" {
		return
	}
	admin := connect(t, NewDatabase(t))
	var exists bool
	if err := admin.QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, dbname).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", dbname)
	}
}

func TestNewDatabaseParallel(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			dsn := NewDatabase(t)
			mu.Lock()
			if seen[dsn] {
				t.Errorf("duplicate DSN %s", dsn)
			}
			seen[dsn] = true
			mu.Unlock()
			c := connect(t, dsn)
			if _, err := c.Exec(context.Background(), `CREATE TABLE t (x int)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAvailable(t *testing.T) {
	_, err := findBinDir()
	if got, want := Available(), err == nil; got != want {
		t.Errorf("Available() = %v, but findBinDir error = %v", got, err)
	}
	if !Available() {
		ci.Require(t, "PostgreSQL not installed (Debian: apt-get install postgresql)")
	}
}

func TestDatabaseName(t *testing.T) {
	for _, tc := range []struct {
		test string
		n    int64
		want string
	}{
		{"TestFoo", 1, "t1_testfoo"},
		{"TestFoo/sub_case#01", 12, "t12_testfoo_sub_case_01"},
		{"Test/ünïcode-name", 3, "t3_test_n_code_name"},
		{strings.Repeat("x", 100), 7, "t7_" + strings.Repeat("x", 60)},
	} {
		if got := databaseName(tc.test, tc.n); got != tc.want {
			t.Errorf("databaseName(%q, %d) = %q, want %q", tc.test, tc.n, got, tc.want)
		}
		if got := databaseName(tc.test, tc.n); len(got) > 63 {
			t.Errorf("databaseName(%q) too long: %d bytes", tc.test, len(got))
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"9.6", "15", true},
		{"15", "9.6", false},
		{"15", "16", true},
		{"16", "16", false},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of acting.
type recorder struct {
	testing.TB
	skipped, fatal bool
	msg            string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped, r.msg = true, fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.fatal, r.msg = true, fmt.Sprint(args...) }

func TestUnavailableSkipsOrFailsInCI(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{}
	unavailable(r, errNoBinaries)
	if !r.skipped || r.fatal {
		t.Errorf("without CI: skipped=%v fatal=%v, want a skip", r.skipped, r.fatal)
	}
	if !strings.Contains(r.msg, "apt-get install postgresql") {
		t.Errorf("skip message lacks the install hint: %s", r.msg)
	}

	t.Setenv("CI", "true")
	r = &recorder{}
	unavailable(r, errNoBinaries)
	if !r.fatal || r.skipped {
		t.Errorf("with CI=true: skipped=%v fatal=%v, want a failure", r.skipped, r.fatal)
	}
}

func TestMissingBinDirOverride(t *testing.T) {
	t.Setenv("NEUTRINO_PG_BINDIR", t.TempDir())
	if Available() {
		t.Error("Available() = true with NEUTRINO_PG_BINDIR pointing at an empty dir")
	}
}
