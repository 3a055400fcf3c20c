// Package store keeps Neutrino's state in SQL: SQLite (embedded, the
// default) or PostgreSQL (several servers on one database). It owns every
// SQL statement in Neutrino: the schema and its migrations, the generic
// mapping of API resources onto tables, and the transactions plugins run
// their writes in.
//
// Only the server and its plugins import store; the API layer never does.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver (keeps the binary static)

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Store is a handle on Neutrino's database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect

	mu        sync.RWMutex
	tables    map[string]*table     // by collection
	relations map[string][]relation // by collection
	// relGen counts the relations' changes, so that a table's cached
	// SELECT is rebuilt after Relate (see selects).
	relGen atomic.Uint64

	// queries counts the statements sent, so tests can check that a read
	// costs a fixed number of them however many rows it returns.
	queries atomic.Int64

	// throughFilters are the virtual attributes filtered through another
	// table, by collection and attribute name (see FilterThrough).
	throughFilters map[string]map[string]relation

	// writers queues this process's write transactions on SQLite, which
	// has one writer at a time anyway. Without it, concurrent writers poll
	// the lock in SQLite's busy handler (sleeps growing to 100 ms), so a
	// burst of writes is served in no order with long tails; waiting on a
	// channel hands the lock over in arrival order the moment it is free.
	// Other processes on the same file still meet the busy timeout. Nil on
	// PostgreSQL, where writers run in parallel.
	writers chan struct{}
	// groups are the SQLite writes waiting for the writer that commits
	// them (see commitGrouped).
	groups writeGroups
	// stmts keeps statements prepared on SQLite; nil on PostgreSQL.
	stmts *stmtCache
	// rows reads one row by its key for Get outside a transaction on
	// SQLite; nil on PostgreSQL.
	rows *rowReader
	// ipWindows are the candidate addresses of each subnet this process
	// allocates on (see TakeFree).
	ipWindows ipWindows
	// published are the SQLite queue tables' rows this process handed
	// out and has not deleted yet (see drainQueue).
	published queueMarks
}

// Queries returns how many queries the store has sent so far.
func (s *Store) Queries() int64 { return s.queries.Load() }

// parseConnection splits a connection URL into the engine ("sqlite" or
// "postgresql") and the rest, refusing what Open cannot use.
func parseConnection(connection string) (driver, rest string, err error) {
	scheme, rest, ok := strings.Cut(connection, "://")
	if !ok {
		return "", "", fmt.Errorf("database connection %q: not a URL", redact(connection))
	}
	driver, _, _ = strings.Cut(scheme, "+") // "postgresql+psycopg2" → "postgresql"
	switch driver {
	case "sqlite":
	case "postgresql", "postgres":
		driver = "postgresql"
	default:
		return "", "", fmt.Errorf("database connection %q: unsupported database %q (use sqlite or postgresql)", redact(connection), scheme)
	}
	return driver, rest, nil
}

// Open connects to the database named by an oslo.db/SQLAlchemy-style URL:
// "sqlite://" (in memory), "sqlite:///relative/path", "sqlite:////abs/path",
// "postgresql://user:pass@host:port/db" (also "postgresql+psycopg2://…"
// and "postgres://…"). It does not migrate; call Migrate.
func Open(ctx context.Context, connection string) (*Store, error) {
	driver, rest, err := parseConnection(connection)
	if err != nil {
		return nil, err
	}
	var (
		db       *sql.DB
		d        dialect
		inMemory bool
		dsn      string
	)
	switch driver {
	case "sqlite":
		db, dsn, inMemory, err = openSQLite(rest)
		d = sqliteDialect{}
		if err == nil {
			db.SetMaxOpenConns(sqliteConns)
			db.SetMaxIdleConns(sqliteConns)
		}
	default:
		db, err = openPostgres(rest)
		d = postgresDialect{}
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redact(connection), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redact(connection), err)
	}
	st := &Store{db: db, dialect: d, tables: map[string]*table{},
		relations: map[string][]relation{}, throughFilters: map[string]map[string]relation{}}
	if d.name() == "sqlite" {
		st.writers = make(chan struct{}, 1)
		st.rows = newRowReader(dsn)
		if !inMemory {
			st.stmts = newStmtCache(db)
		}
	}
	openStores.Lock()
	openStores.m[st] = true
	openStores.Unlock()
	return st, nil
}

// Close closes the database.
func (s *Store) Close() error {
	openStores.Lock()
	delete(openStores.m, s)
	openStores.Unlock()
	s.published.close()
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.rows != nil {
		s.rows.close()
	}
	return s.db.Close()
}

// Engine names the database engine: "sqlite" or "postgresql".
func (s *Store) Engine() string { return s.dialect.name() }

// openSQLite opens the database file named by rest, or a private
// in-memory database, and returns the driver's name for it (which
// rowReader opens too). The statement cache prepares on a connection of
// its own, which in memory, without WAL, would wait for a running
// writer.
func openSQLite(rest string) (db *sql.DB, dsn string, inMemory bool, err error) {
	path, _, _ := strings.Cut(rest, "?")
	// temp_store(MEMORY): a grouped write's savepoint (see commitGrouped)
	// keeps the pages it changes in a sub-journal, which is a temporary
	// file otherwise; writing it was a tenth of the server's CPU under
	// port creates.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	if path == "" || path == "/" {
		// One private in-memory database shared by the pool: memdb allows
		// several connections onto one database, unlike ":memory:".
		dsn := "file:/neutrino-" + uuid.NewString() + "?vfs=memdb&" + pragmas
		db, err := sql.Open("sqlite", dsn)
		return db, dsn, true, err
	}
	// SQLAlchemy: after "sqlite://", "/rel" is relative and "//abs" absolute.
	path = strings.TrimPrefix(path, "/")
	// The directory is usually state_path, where the DHCP agent's dnsmasq,
	// unprivileged, must reach its files: it is made traversable, and the
	// database itself private (SQLite gives its -wal and -shm files the
	// database file's mode).
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", false, fmt.Errorf("create database directory: %w", err)
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, "", false, fmt.Errorf("create database file: %w", err)
	}
	// The path goes into a URI: escape what would end or alter it.
	// (No mmap_size: each connection maps the file on its own, and the
	// pages a listing touches count in the process's RSS once per
	// connection, 115 MB for 16 lists of 5,000 ports against 30 MB.)
	escaped := strings.NewReplacer("%", "%25", "#", "%23", "?", "%3F").Replace(path)
	dsn = "file:" + escaped + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err = sql.Open("sqlite", dsn)
	return db, dsn, false, err
}

// sqliteConns bounds the SQLite connection pool and keeps it open between
// uses. A new SQLite connection runs the pragmas and parses the whole
// schema before its first statement: with database/sql's defaults (no
// bound, two idle connections) every burst of concurrent requests opened
// dozens of connections and paid that again, for no parallelism a
// database with one writer and a few CPUs can use. No store code queries
// while it still reads another query's rows, so requests wait for a
// connection rather than for each other.
const sqliteConns = 16

func openPostgres(rest string) (*sql.DB, error) {
	u, err := url.Parse("postgresql://" + rest)
	if err != nil {
		// The parse error quotes the URL, password included.
		return nil, errors.New("not a valid URL (percent-encode special characters in the user name and password)")
	}
	// psycopg2-only parameters that pgx would reject.
	q := u.Query()
	q.Del("charset")
	q.Del("client_encoding")
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, errors.New("not a valid PostgreSQL connection URL")
	}
	// A cancelled context (the client went away, the request's deadline
	// passed) must stop the statement on the server. pgx's default only
	// closes the socket, and a backend busy planning, sorting or waiting
	// for a lock does not notice that until it next writes: the query ran
	// on for minutes. A cancel request stops it at once; the deadline
	// drops the connection if the server does not answer that either.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: pgCancelGrace}
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(checkClientConnection))
	db.SetMaxOpenConns(50)
	db.SetMaxIdleConns(50)
	return db, nil
}

// pgCancelGrace is how long a cancelled statement's connection waits for
// the server to confirm the cancel before it is dropped.
const pgCancelGrace = 2 * time.Second

// checkClientConnection makes the server check, during long statements,
// that this connection is still there (PostgreSQL 14 and later): when
// the process dies without cancelling, its statements stop within a
// second instead of running to the end.
func checkClientConnection(ctx context.Context, c *pgx.Conn) error {
	v, _ := strconv.Atoi(c.PgConn().ParameterStatus("server_version_num"))
	if v == 0 {
		// server_version_num is reported from PostgreSQL 15 on; older
		// servers report "14.2 (Debian …)" as server_version.
		major, _, _ := strings.Cut(c.PgConn().ParameterStatus("server_version"), ".")
		m, _ := strconv.Atoi(major)
		v = m * 10000
	}
	if v < 140000 {
		return nil
	}
	if _, err := c.Exec(ctx, "SET client_connection_check_interval = 1000"); err != nil {
		return fmt.Errorf("set client_connection_check_interval: %w", err)
	}
	return nil
}

// redact hides a password in a connection URL for logs and errors, even
// in a URL too malformed to parse (a password with an unescaped '#').
func redact(connection string) string {
	if u, err := url.Parse(connection); err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	scheme, rest, ok := strings.Cut(connection, "://")
	at := strings.LastIndexByte(rest, '@')
	if !ok || at < 0 {
		return connection
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return connection
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// Bind makes a resource storable: its column attributes map onto the table
// named after its collection. Call it once per resource at start-up, with
// the resource as the API serves it (disabled extensions removed).
func (s *Store) Bind(r *resource.Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[r.Collection] = newTable(r)
}

func (s *Store) table(r *resource.Resource) (*table, error) {
	s.mu.RLock()
	t := s.tables[r.Collection]
	s.mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("store: resource %s is not bound", r.Collection)
	}
	return t, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }
