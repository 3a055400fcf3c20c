package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Test-only hooks into the store's internals, for the external store_test
// package.

// NumMigrations is how many migrations Migrate can apply.
func NumMigrations() int { return len(migrations) }

// MaxAttempts is how often Write/Read run a function that keeps failing
// with a retryable error.
const MaxAttempts = maxAttempts

// BreakRowReader makes every read of the store's row reader fail (its
// connections cannot be opened), so that Get must read through the
// connection pool.
func (s *Store) BreakRowReader() {
	if s.rows != nil {
		s.rows = newRowReader("file:/nonexistent-neutrino-dir/none.sqlite?mode=ro")
	}
}

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

// TableColumns returns the table r is stored in and the columns of its
// column-stored attributes by attribute name, exactly as Bind maps them.
func TableColumns(r *resource.Resource) (table string, cols map[string]string) {
	t := newTable(r)
	cols = make(map[string]string, len(t.cols))
	for _, a := range t.cols {
		cols[a.Name] = a.ColumnName()
	}
	return t.name, cols
}

// Columns reads the database's catalog: the columns of every table, by
// table.
func (s *Store) Columns(ctx context.Context) (map[string]map[string]bool, error) {
	q := `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	if s.dialect.name() == "sqlite" {
		q = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, fmt.Errorf("read the catalog: %w", err)
		}
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][col] = true
	}
	return out, rows.Err()
}

// SetMaxWindows changes how many subnets' address windows the store
// keeps.
func (s *Store) SetMaxWindows(n int) {
	s.ipWindows.mu.Lock()
	s.ipWindows.max = n
	s.ipWindows.mu.Unlock()
}

// Windows returns the subnets whose address windows the store keeps.
func (s *Store) Windows() map[string]bool {
	s.ipWindows.mu.Lock()
	defer s.ipWindows.mu.Unlock()
	out := make(map[string]bool, len(s.ipWindows.m))
	for id := range s.ipWindows.m {
		out[id] = true
	}
	return out
}

// PendingWrites returns how many SQLite writes wait for the writer.
func (s *Store) PendingWrites() int {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	return len(s.groups.pending)
}
