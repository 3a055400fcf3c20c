package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// stmtCache keeps SQLite's statements prepared. The SQLite driver parses
// and plans every statement it is given anew, which cost a quarter of the
// server's CPU under a burst of port creates; a statement prepared through
// database/sql stays prepared on each pooled connection that ran it.
// PostgreSQL needs none of this: pgx caches prepared statements per
// connection itself.
//
// Statements are never evicted, so one handed out is never closed under
// its user; once the cache is full, new statements run unprepared.
type stmtCache struct {
	db  *sql.DB
	max int

	mu  sync.RWMutex
	byQ map[string]*sql.Stmt
}

// cacheableArgs bounds the placeholders of a cached statement that holds
// a list (IN (…), or rows of VALUES): longer ones are id lists whose
// length varies with the request and would only fill the cache, but for
// those of exactly maxInList ids, the full chunks of a long listing's
// related rows, which recur with every chunk (preparing them anew cost a
// tenth of a listing's CPU).
const cacheableArgs = 16

// cacheable reports whether q is worth keeping prepared: one statement,
// and either few placeholders or no list of them. A row's INSERT has a
// placeholder per column (a port's, over twenty) and is the same for
// every row; parsing it anew cost a tenth of the server's CPU under
// port creates.
func cacheable(q string) bool {
	if strings.Contains(q, ";") {
		return false
	}
	n := strings.Count(q, "?")
	return n <= cacheableArgs || n == maxInList || !(strings.Contains(q, "IN (") || strings.Contains(q, "), ("))
}

// stmtCacheSize bounds the cache: Neutrino runs a few hundred distinct
// statements.
const stmtCacheSize = 1024

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, max: stmtCacheSize, byQ: map[string]*sql.Stmt{}}
}

// get returns q prepared, or nil when q is not cached and should run
// unprepared.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.RLock()
	stmt, ok := c.byQ[q]
	full := len(c.byQ) >= c.max
	c.mu.RUnlock()
	if ok {
		return stmt, nil
	}
	if full || !cacheable(q) {
		return nil, nil
	}
	// Prepared outside the lock: two callers may both prepare q, and the
	// later one keeps the earlier's.
	stmt, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have, ok := c.byQ[q]; ok {
		stmt.Close()
		return have, nil
	}
	c.byQ[q] = stmt
	return stmt, nil
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.byQ {
		s.Close()
	}
	c.byQ = map[string]*sql.Stmt{}
}
