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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the pure-Go "sqlite" driver (keeps the binary static)

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Store is a handle on Neutrino's database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect

	mu        sync.RWMutex
	tables    map[string]*table     // by collection
	relations map[string][]relation // by collection

	// queries counts the statements sent, so tests can check that a read
	// costs a fixed number of them however many rows it returns.
	queries atomic.Int64

	// throughFilters are the virtual attributes filtered through another
	// table, by collection and attribute name (see FilterThrough).
	throughFilters map[string]map[string]relation
}

// Queries returns how many queries the store has sent so far.
func (s *Store) Queries() int64 { return s.queries.Load() }

// Open connects to the database named by an oslo.db/SQLAlchemy-style URL:
// "sqlite://" (in memory), "sqlite:///relative/path", "sqlite:////abs/path",
// "postgresql://user:pass@host:port/db" (also "postgresql+psycopg2://…"
// and "postgres://…"). It does not migrate; call Migrate.
func Open(ctx context.Context, connection string) (*Store, error) {
	scheme, rest, ok := strings.Cut(connection, "://")
	if !ok {
		return nil, fmt.Errorf("database connection %q: not a URL", connection)
	}
	driver, _, _ := strings.Cut(scheme, "+") // "postgresql+psycopg2" → "postgresql"
	var (
		db  *sql.DB
		d   dialect
		err error
	)
	switch driver {
	case "sqlite":
		db, err = openSQLite(rest)
		d = sqliteDialect{}
	case "postgresql", "postgres":
		db, err = openPostgres(rest)
		d = postgresDialect{}
	default:
		return nil, fmt.Errorf("database connection %q: unsupported database %q (use sqlite or postgresql)", redact(connection), scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redact(connection), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redact(connection), err)
	}
	return &Store{db: db, dialect: d, tables: map[string]*table{},
		relations: map[string][]relation{}, throughFilters: map[string]map[string]relation{}}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Engine names the database engine: "sqlite" or "postgresql".
func (s *Store) Engine() string { return s.dialect.name() }

func openSQLite(rest string) (*sql.DB, error) {
	path, _, _ := strings.Cut(rest, "?")
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if path == "" || path == "/" {
		// One private in-memory database shared by the pool: memdb allows
		// several connections onto one database, unlike ":memory:".
		db, err := sql.Open("sqlite", "file:/neutrino-"+uuid.NewString()+"?vfs=memdb&"+pragmas)
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	// SQLAlchemy: after "sqlite://", "/rel" is relative and "//abs" absolute.
	path = strings.TrimPrefix(path, "/")
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// The path goes into a URI: escape what would end or alter it.
	escaped := strings.NewReplacer("%", "%25", "#", "%23", "?", "%3F").Replace(path)
	db, err := sql.Open("sqlite", "file:"+escaped+"?"+pragmas+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	return db, nil
}

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
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(50)
	db.SetMaxIdleConns(50)
	return db, nil
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
