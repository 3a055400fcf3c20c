package store

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect hides the few places where SQLite and PostgreSQL differ. Queries
// are written once, with "?" placeholders and portable SQL; a MySQL
// dialect would slot in here.
type dialect interface {
	name() string
	// rebind turns "?" placeholders into the engine's own.
	rebind(query string) string
	// aggregate returns an expression joining expr over a group with ','.
	aggregate(expr string) string
	// jsonAggregate returns an expression building a JSON list of objects
	// with the given keys from the columns of the same names of alias.
	jsonAggregate(alias string, keys []string) string
	// forUpdate is appended to a SELECT that must lock the rows it reads.
	forUpdate() string
	// retryable reports whether err is a transient conflict (serialization
	// failure, deadlock, busy database) that warrants rerunning the
	// transaction.
	retryable(err error) bool
	// uniqueViolation reports whether err is a unique-constraint violation.
	uniqueViolation(err error) bool
	// duplicateKey returns the columns of the unique key a unique
	// violation broke, as the engine's error names them, or nil.
	duplicateKey(err error) []string
	// ddl adapts a portable DDL statement to the engine.
	ddl(stmt string) string
	// tooComplex reports whether err is the engine refusing a statement
	// for its size (terms, depth, parameters) rather than its data.
	tooComplex(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string              { return "sqlite" }
func (sqliteDialect) rebind(q string) string    { return q }
func (sqliteDialect) aggregate(e string) string { return "group_concat(" + e + ", ',')" }
func (sqliteDialect) forUpdate() string         { return "" }
func (sqliteDialect) ddl(stmt string) string    { return stmt }
func (sqliteDialect) uniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// duplicateKey reads SQLite's "UNIQUE constraint failed: ports.network_id,
// ports.mac_address".
func (sqliteDialect) duplicateKey(err error) []string {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return nil
	}
	const marker = "constraint failed: "
	msg := e.Error()
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return nil
	}
	msg = msg[i+len(marker):]
	if j := strings.Index(msg, " ("); j >= 0 {
		msg = msg[:j]
	}
	var cols []string
	for _, c := range strings.Split(msg, ", ") {
		_, col, _ := strings.Cut(c, ".")
		cols = append(cols, col)
	}
	return cols
}

func (sqliteDialect) tooComplex(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_ERROR && e.Code()&0xff != sqlite3.SQLITE_TOOBIG {
		return false
	}
	msg := e.Error()
	for _, s := range []string{"too many terms", "Expression tree is too large", "too many SQL variables",
		"parser stack overflow", "too many arguments", "string or blob too big"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (sqliteDialect) retryable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

type postgresDialect struct{}

func (postgresDialect) name() string              { return "postgresql" }
func (postgresDialect) aggregate(e string) string { return "string_agg(" + e + ", ',')" }
func (postgresDialect) forUpdate() string         { return " FOR UPDATE" }
func (postgresDialect) jsonAggregate(alias string, keys []string) string {
	return "json_agg(json_build_object(" + jsonPairs(alias, keys) + "))::text"
}

// jsonPairs renders 'k1', alias.k1, 'k2', alias.k2 for JSON builders.
func jsonPairs(alias string, keys []string) string {
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		parts = append(parts, "'"+k+"'", alias+"."+k)
	}
	return strings.Join(parts, ", ")
}

func (postgresDialect) rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (postgresDialect) ddl(stmt string) string {
	// SQLite's affinity rules accept these names; PostgreSQL wants its own.
	return strings.NewReplacer("BLOB", "BYTEA",
		"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").Replace(stmt)
}

func (postgresDialect) retryable(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}

func (postgresDialect) tooComplex(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	// program_limit_exceeded, statement_too_complex (which also covers
	// the stack depth limit), too_many_columns, too_many_arguments.
	switch e.Code {
	case "54001", "54011", "54000", "54023":
		return true
	}
	return false
}

func (postgresDialect) uniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// duplicateKey reads PostgreSQL's detail "Key (network_id,
// mac_address)=(…) already exists.".
func (postgresDialect) duplicateKey(err error) []string {
	var e *pgconn.PgError
	if !errors.As(err, &e) || e.Code != "23505" {
		return nil
	}
	rest, ok := strings.CutPrefix(e.Detail, "Key (")
	if !ok {
		return nil
	}
	cols, _, ok := strings.Cut(rest, ")=(")
	if !ok {
		return nil
	}
	return strings.Split(cols, ", ")
}

func (sqliteDialect) jsonAggregate(alias string, keys []string) string {
	return "json_group_array(json_object(" + jsonPairs(alias, keys) + "))"
}
