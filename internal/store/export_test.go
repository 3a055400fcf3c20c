package store

import (
	"database/sql"
	"time"
)

// Test-only hooks into the store's internals, for the external store_test
// package.

// NumMigrations is how many migrations Migrate can apply.
func NumMigrations() int { return len(migrations) }

// MaxAttempts is how often Write/Read run a function that keeps failing
// with a retryable error.
const MaxAttempts = maxAttempts

// DB exposes the store's connection pool, to inspect the database behind
// the store's back.
func (s *Store) DB() *sql.DB { return s.db }

// SetWriterWait changes how long a SQLite writer waits for its turn, and
// returns the function that restores it.
func SetWriterWait(d time.Duration) (restore func()) {
	old := writerWait
	writerWait = d
	return func() { writerWait = old }
}
