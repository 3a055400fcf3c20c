package store_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// childDSN tells a re-executed test binary to act as the process that
// dies in TestStatementsDieWithTheirProcess.
const childDSN = "NEUTRINO_STORE_TEST_CHILD_DSN"

// TestStatementsDieWithTheirProcess kills (SIGKILL) a process whose store
// waits in PostgreSQL for a row lock: nobody is left to cancel the
// statement, and it must still stop within seconds instead of holding
// its backend until the lock is released.
func TestStatementsDieWithTheirProcess(t *testing.T) {
	if dsn := os.Getenv(childDSN); dsn != "" {
		waitForLock(t, dsn)
		return
	}
	dsn := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE lockme (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO lockme VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, "SELECT id FROM lockme WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^TestStatementsDieWithTheirProcess$", "-test.count=1")
	child.Env = append(os.Environ(), childDSN+"="+dsn)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()

	waiting := func() int {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%lockme%FOR UPDATE%'
			AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for waiting() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the child never waited for the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now()
	for waiting() > 0 {
		if time.Since(killed) > 3*time.Second {
			t.Fatal("the killed process's statement still waits 3 s later")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("statement stopped %v after its process died", time.Since(killed).Round(time.Millisecond))
}

// waitForLock is the child: it waits for the locked row until killed.
func waitForLock(t *testing.T, dsn string) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "SELECT id FROM lockme WHERE id = 1 FOR UPDATE")
		return err
	})
	t.Fatalf("the lock wait ended: %v", err)
}

// TestCancelStopsAStatement cancels a statement that would run forever
// (a recursive count with no end): on both engines it stops at once,
// SQLite by interruption, PostgreSQL by a cancel request.
func TestCancelStopsAStatement(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		st := open(t, e.newDSN(t))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		err := st.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
			return err
		})
		if err == nil {
			t.Fatal("an endless statement ended")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the cancelled statement ran %v", d)
		}
		// The store serves on.
		if err := st.Ping(context.Background()); err != nil {
			t.Fatalf("after a cancelled statement: %v", err)
		}
	})
}
