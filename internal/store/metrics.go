package store

import (
	"database/sql"
	"errors"
	"sync"
	"time"
)

// Observer hears of the store's transactions, for metrics. The store
// cannot link the metrics library (it links net/http, and the store knows
// no HTTP), so internal/store/storemetrics sets one from init.
type Observer interface {
	// Attempt reports one transaction attempt of kind "read" or "write":
	// its time, from waiting for a connection (and on SQLite for this
	// process's writer turn) to commit or rollback, and its outcome:
	// "commit", "rollback", or "conflict" (rolled back to be rerun).
	Attempt(engine, kind, outcome string, took time.Duration)
	// Retry reports a transaction rerun after a transient conflict.
	Retry(engine, kind string)
}

var (
	observerMu sync.RWMutex
	observer   Observer
)

// SetObserver installs o as the process's store observer.
func SetObserver(o Observer) {
	observerMu.Lock()
	defer observerMu.Unlock()
	observer = o
}

func currentObserver() Observer {
	observerMu.RLock()
	defer observerMu.RUnlock()
	return observer
}

// observeAttempt reports one transaction attempt.
func (s *Store) observeAttempt(readOnly bool, start time.Time, err error) {
	o := currentObserver()
	if o == nil {
		return
	}
	outcome := "commit"
	switch {
	case err != nil && (s.dialect.retryable(err) || isContended(err) || errors.Is(err, errGroupLost)):
		outcome = "conflict"
	case err != nil:
		outcome = "rollback"
	}
	o.Attempt(s.dialect.name(), kind(readOnly), outcome, time.Since(start))
}

func (s *Store) observeRetry(readOnly bool) {
	if o := currentObserver(); o != nil {
		o.Retry(s.dialect.name(), kind(readOnly))
	}
}

func kind(readOnly bool) string {
	if readOnly {
		return "read"
	}
	return "write"
}

// openStores are the stores open in this process (one in a server;
// several in tests), for their connection pools' figures.
var openStores = struct {
	sync.Mutex
	m map[*Store]bool
}{m: map[*Store]bool{}}

// PoolStats calls f with the engine and connection pool figures of every
// store open in this process.
func PoolStats(f func(engine string, st sql.DBStats)) {
	openStores.Lock()
	stores := make([]*Store, 0, len(openStores.m))
	for s := range openStores.m {
		stores = append(stores, s)
	}
	openStores.Unlock()
	for _, s := range stores {
		f(s.dialect.name(), s.db.Stats())
	}
}
