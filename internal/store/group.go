package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group commit on SQLite.
//
// SQLite runs one write transaction at a time, so this process's writers
// queue (Store.writers) and each used to hold the writer for a whole
// transaction of its own: BEGIN, its statements, COMMIT (which writes
// every page it touched to the WAL), then a wake-up of the next writer.
// Under many concurrent writes the commits and the hand-overs cost as
// much as the work. Now the writer that gets the turn (the leader) runs
// the writes waiting behind it too, each inside a SAVEPOINT of one SQLite
// transaction, and commits them together: a write whose function fails
// rolls back to its savepoint, so it undoes only its own changes and the
// others commit; each caller hears its own outcome only once the group
// committed, and runs its own after-commit work.
//
// If a write's failure takes the whole SQLite transaction with it (an
// interrupted statement: SQLite rolls back the transaction of an
// interrupted write), the writes already done in the group are lost;
// their callers get errGroupLost, which Write reruns like a
// serialization failure, and the rest of the group goes on in a new
// transaction.

// maxGroup bounds the writes committed together, so one group holds the
// writer for a bounded time and a caller's reply waits for a bounded
// number of others.
const maxGroup = 32

// errGroupLost is a write's outcome when its group's transaction was
// rolled back by another write's failure; Write reruns it.
var errGroupLost = errors.New("store: the write's group transaction was rolled back by another write")

// groupWrite is one caller's write waiting for, or run by, a leader.
type groupWrite struct {
	ctx  context.Context
	tx   *Tx
	fn   func(*Tx) error
	done chan groupResult // buffered: the leader never waits for the caller
}

type groupResult struct {
	err      error
	panicked bool
	panicVal any
}

// writeGroups holds the writes waiting for a leader.
type writeGroups struct {
	mu      sync.Mutex
	pending []*groupWrite
}

// commitGrouped runs fn in a SQLite write transaction, possibly together
// with other writers' (see above).
func (s *Store) commitGrouped(ctx context.Context, tx *Tx, fn func(*Tx) error) error {
	w := &groupWrite{ctx: ctx, tx: tx, fn: fn, done: make(chan groupResult, 1)}
	s.groups.mu.Lock()
	s.groups.pending = append(s.groups.pending, w)
	s.groups.mu.Unlock()
	wait := time.NewTimer(writerWait)
	defer wait.Stop()
	var res groupResult
	select {
	case s.writers <- struct{}{}:
		// Our turn: lead groups until ours has run (a leader before us
		// may have run it already).
		func() {
			defer func() { <-s.writers }()
			for {
				select {
				case res = <-w.done:
					return
				default:
				}
				s.runGroup(s.takeGroup())
			}
		}()
	case res = <-w.done:
	case <-ctx.Done():
		if s.withdraw(w) {
			return ctx.Err()
		}
		res = <-w.done
	case <-wait.C:
		// As long as SQLite's own busy timeout: a writer never waits
		// forever, even for a transaction that (wrongly) waits on
		// another write of this process.
		if s.withdraw(w) {
			return fmt.Errorf("begin transaction: %w after %v", ErrWriterBusy, writerWait)
		}
		res = <-w.done
	}
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// takeGroup removes up to maxGroup waiting writes, oldest first.
func (s *Store) takeGroup() []*groupWrite {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	n := min(len(s.groups.pending), maxGroup)
	group := make([]*groupWrite, n)
	copy(group, s.groups.pending)
	rest := copy(s.groups.pending, s.groups.pending[n:])
	clear(s.groups.pending[rest:])
	s.groups.pending = s.groups.pending[:rest]
	return group
}

// withdraw removes w from the waiting writes; false when a leader has
// taken it already (its outcome will come).
func (s *Store) withdraw(w *groupWrite) bool {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	for i, p := range s.groups.pending {
		if p == w {
			s.groups.pending = append(s.groups.pending[:i], s.groups.pending[i+1:]...)
			return true
		}
	}
	return false
}

// runGroup runs the writes in one SQLite transaction, each in a savepoint
// of its own, commits, and tells each its outcome. The caller holds the
// writer.
func (s *Store) runGroup(group []*groupWrite) {
	for len(group) > 0 {
		group = s.runGroupTx(group)
	}
}

// runGroupTx runs writes of the group in one transaction until they are
// done or the transaction is lost, and returns the writes it did not run.
func (s *Store) runGroupTx(group []*groupWrite) []*groupWrite {
	// The transaction serves several callers: none's cancellation may end
	// it (each statement still runs under its own caller's context).
	sqlTx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, w := range group {
			w.done <- groupResult{err: fmt.Errorf("begin transaction: %w", err)}
		}
		return nil
	}
	single := len(group) == 1
	var ran []*groupWrite // run and kept, to commit
	finish := func(w *groupWrite, r groupResult) { w.done <- r }
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			finish(w, groupResult{err: err})
			continue
		}
		if !single {
			if _, err := sqlTx.Exec("SAVEPOINT w"); err != nil {
				// The transaction is gone: what ran is lost, the rest
				// runs in a new one.
				s.lose(sqlTx, ran, err)
				return group[i:]
			}
		}
		w.tx.tx = sqlTx
		r := runWrite(w)
		if r.err == nil && !r.panicked {
			ran = append(ran, w)
			if !single {
				if _, err := sqlTx.Exec("RELEASE w"); err != nil {
					s.lose(sqlTx, ran, err)
					return group[i+1:]
				}
			}
			continue
		}
		if single {
			sqlTx.Rollback()
			finish(w, r)
			return nil
		}
		if _, err := sqlTx.Exec("ROLLBACK TO w"); err != nil {
			// The failure took the transaction with it.
			finish(w, r)
			s.lose(sqlTx, ran, err)
			return group[i+1:]
		}
		if _, err := sqlTx.Exec("RELEASE w"); err != nil {
			finish(w, r)
			s.lose(sqlTx, ran, err)
			return group[i+1:]
		}
		finish(w, r)
	}
	if len(ran) == 0 {
		sqlTx.Rollback()
		return nil
	}
	if err := sqlTx.Commit(); err != nil {
		for _, w := range ran {
			finish(w, groupResult{err: fmt.Errorf("commit: %w", err)})
		}
		return nil
	}
	for _, w := range ran {
		finish(w, groupResult{})
	}
	return nil
}

// lose rolls the transaction back and tells the writes that had run in
// it to run again.
func (s *Store) lose(sqlTx *sql.Tx, ran []*groupWrite, cause error) {
	sqlTx.Rollback()
	for _, w := range ran {
		w.done <- groupResult{err: fmt.Errorf("%w: %w", errGroupLost, cause)}
	}
}

// runWrite runs one write's function and records its notifications,
// catching a panic to hand it to the write's caller.
func runWrite(w *groupWrite) (r groupResult) {
	defer func() {
		if p := recover(); p != nil {
			r = groupResult{panicked: true, panicVal: p}
		}
	}()
	if err := w.fn(w.tx); err != nil {
		return groupResult{err: err}
	}
	if err := w.tx.flushOutbox(w.ctx); err != nil {
		return groupResult{err: err}
	}
	return groupResult{}
}
