package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/store"
)

// TestSQLiteGroupCommit queues writes behind one that holds the writer,
// so that they run as groups in one SQLite transaction each, and checks
// that each write's outcome is its own: a failing write's rows are gone
// and the others' stay, a panicking write's caller sees the panic and
// the others commit, and a write that kills the whole transaction (a
// ROLLBACK of its own) fails alone while the writes it took down with it
// run again and commit.
func TestSQLiteGroupCommit(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		// fail is what write i does after inserting its row: nil keeps it.
		fail func(ctx context.Context, tx *store.Tx, i int) error
		// lost reports whether write i's row must be absent.
		lost func(i int) bool
	}{
		{"all commit", func(context.Context, *store.Tx, int) error { return nil }, func(int) bool { return false }},
		{"every third fails", func(_ context.Context, _ *store.Tx, i int) error {
			if i%3 == 0 {
				return boom
			}
			return nil
		}, func(i int) bool { return i%3 == 0 }},
		{"one panics", func(_ context.Context, _ *store.Tx, i int) error {
			if i == 7 {
				panic("write 7")
			}
			return nil
		}, func(i int) bool { return i == 7 }},
		{"one ends the transaction", func(ctx context.Context, tx *store.Tx, i int) error {
			if i == 5 {
				if _, err := tx.Exec(ctx, "ROLLBACK"); err != nil {
					return err
				}
				return boom
			}
			return nil
		}, func(i int) bool { return i == 5 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openMigrated(t, "sqlite:///"+t.TempDir()+"/group.sqlite")
			if _, err := st.DB().Exec("CREATE TABLE grouped (n INTEGER PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			const writes = 40 // more than one group's worth
			hold, held := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				err := st.Write(ctx, func(tx *store.Tx) error {
					close(held)
					<-hold
					_, err := tx.Exec(ctx, "INSERT INTO grouped (n) VALUES (-1)")
					return err
				})
				if err != nil {
					t.Errorf("the holding write: %v", err)
				}
			})
			<-held
			errs := make([]error, writes)
			panics := make([]any, writes)
			for i := range writes {
				wg.Go(func() {
					defer func() { panics[i] = recover() }()
					errs[i] = st.Write(ctx, func(tx *store.Tx) error {
						if _, err := tx.Exec(ctx, "INSERT INTO grouped (n) VALUES (?)", i); err != nil {
							return err
						}
						return tc.fail(ctx, tx, i)
					})
				})
			}
			deadline := time.Now().Add(10 * time.Second)
			for st.PendingWrites() < writes {
				if time.Now().After(deadline) {
					t.Fatalf("%d writes queued, want %d", st.PendingWrites(), writes)
				}
				time.Sleep(time.Millisecond)
			}
			close(hold)
			wg.Wait()
			rows, err := st.DB().Query("SELECT n FROM grouped")
			if err != nil {
				t.Fatal(err)
			}
			have := map[int]bool{}
			for rows.Next() {
				var n int
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				have[n] = true
			}
			rows.Close()
			if !have[-1] {
				t.Error("the holding write's row is missing")
			}
			for i := range writes {
				lost := tc.lost(i)
				failed := errs[i] != nil || panics[i] != nil
				if lost != failed {
					t.Errorf("write %d: err %v, panic %v; want it to fail: %v", i, errs[i], panics[i], lost)
				}
				if have[i] == lost {
					t.Errorf("write %d: row stored %v, want %v", i, have[i], !lost)
				}
			}
			if n := len(have); n != 1+writes-countTrue(writes, tc.lost) {
				t.Errorf("%d rows, want %d", n, 1+writes-countTrue(writes, tc.lost))
			}
		})
	}
}

func countTrue(n int, f func(int) bool) int {
	c := 0
	for i := range n {
		if f(i) {
			c++
		}
	}
	return c
}

// TestSQLiteGroupWithdraw: a queued write whose context ends before its
// turn leaves the queue and runs nothing.
func TestSQLiteGroupWithdraw(t *testing.T) {
	ctx := context.Background()
	st := openMigrated(t, "sqlite:///"+t.TempDir()+"/withdraw.sqlite")
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.Write(ctx, func(*store.Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	ran := false
	err := st.Write(cctx, func(*store.Tx) error {
		ran = true
		return nil
	})
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("a write whose context ended in the queue: ran %v, %v", ran, err)
	}
	if n := st.PendingWrites(); n != 0 {
		t.Fatalf("%d writes left queued", n)
	}
}
