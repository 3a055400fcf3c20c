// Package pgtest gives tests real, throwaway PostgreSQL databases.
//
// Each test binary (that is, each Go package under test) that uses pgtest
// gets its own private PostgreSQL cluster, started lazily on the first
// NewDatabase call: initdb into a fresh temporary directory, then a postgres
// server listening on 127.0.0.1 on a free port. Every NewDatabase call creates
// a brand-new empty database in that cluster and drops it when the test ends.
// The cluster is stopped and its directory removed when the test binary ends,
// which requires the package to route its TestMain through Run:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
// The server binaries are taken from $NEUTRINO_PG_BINDIR if set, otherwise
// from the newest /usr/lib/postgresql/<version>/bin (Debian's layout),
// otherwise from $PATH. PostgreSQL 13 or newer is required. If none is found,
// NewDatabase skips the test, unless CI=true, in which case it fails it.
//
// PostgreSQL refuses to run as root. When the tests run as root, the cluster
// directory is owned by, and initdb and postgres run as, the unprivileged
// "postgres" system user (created by Debian's postgresql package), falling
// back to "nobody"; the switch is done by the kernel via
// SysProcAttr.Credential, without runuser or sudo. Otherwise they run as the
// current user.
//
// The server runs with fsync, synchronous_commit and full_page_writes off:
// fast, and crash-unsafe, which is fine for data thrown away after the run.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/neutrino-net/neutrino/internal/testenv/ci"
)

// superuser is the bootstrap superuser created by initdb; trust auth, no password.
const superuser = "neutrino"

var (
	runCalled atomic.Bool

	startOnce  sync.Once
	theCluster *cluster
	startErr   error

	dbCounter atomic.Int64
)

// Run runs the tests of m and then stops and removes the package's cluster if
// any test started one. It starts nothing by itself. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
func Run(m *testing.M) int {
	runCalled.Store(true)
	code := m.Run()
	if c := started(); c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: warning: stopping the PostgreSQL cluster: %v\n", err)
		}
	}
	return code
}

// started returns the cluster if one was started successfully, without
// starting one.
func started() *cluster {
	startMu.Lock()
	defer startMu.Unlock()
	return liveCluster
}

var (
	startMu     sync.Mutex
	liveCluster *cluster
)

// Available reports whether a PostgreSQL cluster can be started here: the
// server binaries were found (and, when running as root, an unprivileged user
// to run them as exists). It starts nothing.
func Available() bool {
	_, err := findBinDir()
	if err != nil {
		return false
	}
	_, err = serverUser()
	return err == nil
}

// NewDatabase returns the DSN of a brand-new empty database in the package's
// throwaway cluster, of the form
//
//	postgresql://neutrino@127.0.0.1:PORT/DBNAME?sslmode=disable
//
// The cluster is started on first use. The database is dropped (forcibly,
// closing any connection still open to it) in t.Cleanup. If PostgreSQL is not
// installed the test is skipped, or failed when CI=true.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if !runCalled.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Run, e.g. " +
			"func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }, " +
			"so that the PostgreSQL cluster is stopped after the tests")
	}
	if _, err := findBinDir(); err != nil {
		unavailable(t, err)
		return ""
	}
	if _, err := serverUser(); err != nil {
		unavailable(t, err)
		return ""
	}
	startOnce.Do(func() {
		theCluster, startErr = startCluster()
		if startErr == nil {
			startMu.Lock()
			liveCluster = theCluster
			startMu.Unlock()
		}
	})
	if startErr != nil {
		t.Fatalf("pgtest: starting the PostgreSQL cluster: %v", startErr)
	}
	c := theCluster

	name := databaseName(t.Name(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return c.dsn(name)
}

// unavailable skips t because PostgreSQL cannot be run here, or fails it when
// running in CI, where a missing PostgreSQL is a setup bug, not a reason to
// silently skip.
func unavailable(t testing.TB, reason error) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: PostgreSQL is not available (%v); "+
		"install it (Debian: apt-get install postgresql) or set NEUTRINO_PG_BINDIR", reason)
	ci.Require(t, "%s", msg)
}

// databaseName makes a valid, unique PostgreSQL identifier (at most 63 bytes)
// from a test name and a per-process counter.
func databaseName(testName string, n int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t%d_", n)
	lastUnderscore := true
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	s := strings.TrimRight(b.String(), "_")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "_")
	}
	return s
}

var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found")
