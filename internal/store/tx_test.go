package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// TestWriteRetriesSerializationFailure makes two PostgreSQL transactions
// read-modify-write one row under SERIALIZABLE, both reading before either
// writes. The loser fails with a real serialization failure (40001); Write
// must rerun it so that both increments land.
func TestWriteRetriesSerializationFailure(t *testing.T) {
	ctx := context.Background()
	st := openMigrated(t, pgtest.NewDatabase(t))
	def := networkDef(t)
	st.Bind(def)
	const id = "7a3e7c1a-1111-4c2b-8e0e-3b9e3f0a0c01"
	insertNetwork(t, st, def, id, "counter") // mtu 1400

	const writers = 2
	var (
		attempts atomic.Int32
		commits  atomic.Int32
		bothRead sync.WaitGroup
		wg       sync.WaitGroup
		errs     = make([]error, writers)
	)
	bothRead.Add(writers)
	for i := range writers {
		wg.Go(func() {
			first := true
			errs[i] = st.Write(ctx, func(tx *store.Tx) error {
				attempts.Add(1)
				tx.AfterCommit(func() { commits.Add(1) })
				if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"); err != nil {
					return err
				}
				old, err := tx.Get(ctx, def, id, false)
				if err != nil {
					return err
				}
				if first {
					// Both transactions have their snapshot before
					// either writes: one of them must lose.
					first = false
					bothRead.Done()
					bothRead.Wait()
				}
				patch := resource.New(def)
				patch.Set("id", id)
				patch.Set("mtu", old.Int("mtu")+1)
				return tx.Update(ctx, patch)
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	o, err := getNetwork(t, st, def, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Int("mtu"); got != 1400+writers {
		t.Errorf("mtu = %d after %d increments from 1400: an increment was lost", got, writers)
	}
	if n := attempts.Load(); n <= writers {
		t.Errorf("%d attempts for %d writers: no transaction was retried, so none conflicted", n, writers)
	}
	if n := commits.Load(); n != writers {
		t.Errorf("AfterCommit ran %d times, want %d (once per committed transaction)", n, writers)
	}
}

// TestRunRetries checks which errors make Write and Read rerun their
// function: the engine's transient conflicts, wrapped or not, up to
// MaxAttempts, and nothing else.
func TestRunRetries(t *testing.T) {
	serialization := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	uniqueViolation := &pgconn.PgError{Code: "23505", Message: "duplicate key"}
	plain := errors.New("plain failure")

	dsns := map[string]string{}
	stores := map[string]*store.Store{}
	for _, e := range engines {
		dsns[e.name] = e.newDSN(t)
		stores[e.name] = openMigrated(t, dsns[e.name])
	}

	tests := []struct {
		name   string
		engine string
		read   bool
		// failures are returned by the first attempts, in order; then
		// the function succeeds.
		failures []error
		always   error // returned by every attempt, if set
		wantRuns int
		wantErr  error
	}{
		{name: "serialization failure once", engine: "postgresql", failures: []error{serialization}, wantRuns: 2},
		{name: "serialization and deadlock", engine: "postgresql", failures: []error{serialization, deadlock, serialization}, wantRuns: 4},
		{name: "wrapped serialization failure", engine: "postgresql", failures: []error{fmt.Errorf("hook: %w", serialization)}, wantRuns: 2},
		{name: "serialization failure in a read", engine: "postgresql", read: true, failures: []error{serialization}, wantRuns: 2},
		{name: "unique violation is final", engine: "postgresql", failures: []error{uniqueViolation}, wantRuns: 1, wantErr: uniqueViolation},
		{name: "plain error is final", engine: "postgresql", failures: []error{plain}, wantRuns: 1, wantErr: plain},
		{name: "gives up after MaxAttempts", engine: "postgresql", always: serialization, wantRuns: store.MaxAttempts, wantErr: serialization},
		// A PostgreSQL error code means nothing to SQLite.
		{name: "postgresql code is final", engine: "sqlite", failures: []error{serialization}, wantRuns: 1, wantErr: serialization},
		{name: "plain error is final", engine: "sqlite", failures: []error{plain}, wantRuns: 1, wantErr: plain},
		{name: "plain error in a read is final", engine: "sqlite", read: true, failures: []error{plain}, wantRuns: 1, wantErr: plain},
		// A function asks for a rerun on either engine.
		{name: "rerun asked for", engine: "sqlite", failures: []error{fmt.Errorf("%w: lost", store.ErrRerun)}, wantRuns: 2},
		{name: "rerun asked for", engine: "postgresql", failures: []error{fmt.Errorf("%w: lost", store.ErrRerun)}, wantRuns: 2},
	}
	for _, tt := range tests {
		t.Run(tt.engine+"/"+tt.name, func(t *testing.T) {
			st := stores[tt.engine]
			run := st.Write
			if tt.read {
				run = st.Read
			}
			var runs, commits int
			err := run(context.Background(), func(tx *store.Tx) error {
				runs++
				// Only the attempt that commits may have its
				// AfterCommit functions run.
				tx.AfterCommit(func() { commits++ })
				if tt.always != nil {
					return tt.always
				}
				if runs <= len(tt.failures) {
					return tt.failures[runs-1]
				}
				return nil
			})
			if runs != tt.wantRuns {
				t.Errorf("function ran %d times, want %d", runs, tt.wantRuns)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("error %v, want success", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			wantCommits := 0
			if err == nil {
				wantCommits = 1
			}
			if commits != wantCommits {
				t.Errorf("AfterCommit ran %d times, want %d", commits, wantCommits)
			}
		})
	}
}

// TestRetryStopsOnCancel checks that a retry loop gives up as soon as the
// context ends rather than running all attempts.
func TestRetryStopsOnCancel(t *testing.T) {
	st := openMigrated(t, pgtest.NewDatabase(t))
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	start := time.Now()
	err := st.Write(ctx, func(tx *store.Tx) error {
		runs++
		if runs == 2 {
			cancel()
		}
		return &pgconn.PgError{Code: "40001"}
	})
	if err == nil {
		t.Fatal("Write succeeded")
	}
	if runs >= store.MaxAttempts {
		t.Errorf("ran %d times after the context was cancelled", runs)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestWriteRollsBack checks that a failed Write leaves nothing behind.
func TestWriteRollsBack(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		def := networkDef(t)
		st.Bind(def)
		boom := errors.New("boom")
		const id = "c7d0a3c4-2222-4d33-9f44-5a6b7c8d9e01"
		err := st.Write(ctx, func(tx *store.Tx) error {
			o := resource.New(def)
			o.Set("id", id)
			o.Set("created_at", time.Now())
			o.Set("updated_at", time.Now())
			if err := tx.Insert(ctx, o); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Write = %v, want boom", err)
		}
		if _, err := getNetwork(t, st, def, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("row of a rolled-back Write: %v", err)
		}
	})
}

// TestSQLiteWritersTakeTurns: many goroutines writing one SQLite file at
// once all succeed (they queue in the process instead of failing or
// polling on SQLite's lock), a panicking writer gives its turn and its
// transaction back, and a write that waits on another write of its own
// process fails after the wait bound instead of hanging.
func TestSQLiteWritersTakeTurns(t *testing.T) {
	ctx := context.Background()
	st := openMigrated(t, "sqlite:///"+t.TempDir()+"/turns.sqlite")
	if _, err := st.DB().Exec("CREATE TABLE turns (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec("INSERT INTO turns VALUES (0)"); err != nil {
		t.Fatal(err)
	}
	const writers, each = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				errs <- st.Write(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, "UPDATE turns SET n = n + 1")
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		var n int
		if err := st.DB().QueryRow("SELECT n FROM turns").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != writers*each {
		t.Fatalf("n = %d after %d increments", n, writers*each)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("the writer's panic did not reach its caller")
			}
		}()
		st.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE turns SET n = 0"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if err := st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE turns SET n = n + 1")
		return err
	}); err != nil {
		t.Fatalf("write after a panicking one: %v", err)
	}
	if n := count(); n != writers*each+1 {
		t.Fatalf("n = %d: the panicking write was not rolled back", n)
	}

	defer store.SetWriterWait(50 * time.Millisecond)()
	err := st.Write(ctx, func(tx *store.Tx) error {
		return st.Write(ctx, func(*store.Tx) error { return nil })
	})
	if !errors.Is(err, store.ErrWriterBusy) {
		t.Fatalf("nested write: %v, want ErrWriterBusy", err)
	}
}

// TestDuplicateKey checks that a unique violation names the key it broke
// on both engines (a port's generated MAC, taken, reruns its create).
func TestDuplicateKey(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		def := networkDef(t)
		st.Bind(def)
		insertNetwork(t, st, def, "7a3e7c1a-1111-4c2b-8e0e-3b9e3f0a0c02", "n")
		insert := func(id, mac string) (key []string, err error) {
			err = st.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO ports (id, network_id, mac_address, created_at, updated_at) VALUES (?, ?, ?, '', '')",
					id, "7a3e7c1a-1111-4c2b-8e0e-3b9e3f0a0c02", mac)
				key = tx.DuplicateKey(err)
				return err
			})
			return key, err
		}
		if _, err := insert("p1", "fa:16:3e:00:00:01"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			id, mac string
			want    []string
		}{
			{"p2", "fa:16:3e:00:00:01", []string{"network_id", "mac_address"}},
			{"p1", "fa:16:3e:00:00:02", []string{"id"}},
		} {
			key, err := insert(tt.id, tt.mac)
			if !errors.Is(err, store.ErrDuplicate) || fmt.Sprint(key) != fmt.Sprint(tt.want) {
				t.Errorf("port %s with %s: key %q, error %v; want key %q and ErrDuplicate", tt.id, tt.mac, key, err, tt.want)
			}
		}
	})
}
