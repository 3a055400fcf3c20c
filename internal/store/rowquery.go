package store

import (
	"errors"
	"fmt"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// errNotPrepared reports that the row reader could not prepare a
// statement: the caller asks database/sql instead, whose error names
// what the engine refused (a statement too complex to plan is a 400).
var errNotPrepared = errors.New("store: statement not prepared by the row reader")

// rawArgs reports whether the row reader can bind every one of args.
func rawArgs(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case string, int, int64, bool, float64, nil:
		default:
			return false
		}
	}
	return true
}

// query reads every row q (with args, see rawArgs) finds through
// SQLite's own interface on one of the reader's connections, as get
// reads one: each row's values go into dest, one per column, and each
// is then called. A long listing's chunk is read so (see Tx.List and
// loadRelation): through database/sql each of its thousands of values
// cost a boxed driver.Value converted again by Scan, and each call
// SQLite's per-connection mutex.
func (r *rowReader) query(q string, args, dest []any, each func() error) error {
	c, err := r.acquire()
	if err != nil {
		return err
	}
	err = c.query(q, args, dest, each)
	if err != nil && !errors.Is(err, errNotPrepared) {
		// A connection that failed is not trusted again.
		c.close()
		<-r.tokens
		return err
	}
	r.release(c)
	return err
}

// maxListStmts bounds the statements a connection keeps prepared for
// query; a listing's statements vary with its filters and the number of
// ids it names, and those past the bound are prepared for each use.
const maxListStmts = 32

func (c *rowConn) query(q string, args, dest []any, each func() error) error {
	s, keep := c.listStmts[q], true
	if s == 0 {
		var err error
		if s, err = c.prepare(q); err != nil {
			return fmt.Errorf("%w: %w", errNotPrepared, err)
		}
		if c.listStmts == nil {
			c.listStmts = map[string]uintptr{}
		}
		if keep = len(c.listStmts) < maxListStmts; keep {
			c.listStmts[q] = s
		}
	}
	defer func() {
		// Ends the statement's read transaction whatever happened.
		sqlite3.Xsqlite3_reset(c.tls, s)
		sqlite3.Xsqlite3_clear_bindings(c.tls, s)
		if !keep {
			sqlite3.Xsqlite3_finalize(c.tls, s)
		}
	}()
	if n := int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, s)); n != len(args) {
		return fmt.Errorf("sqlite: %d parameters, %d arguments", n, len(args))
	}
	if n := int(sqlite3.Xsqlite3_column_count(c.tls, s)); n != len(dest) {
		return fmt.Errorf("sqlite: %d columns, %d destinations", n, len(dest))
	}
	if err := c.bind(s, args); err != nil {
		return err
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, s); rc {
		case sqlite3.SQLITE_DONE:
			return nil
		case sqlite3.SQLITE_ROW:
		default:
			return c.err("step", rc)
		}
		c.columns(s, dest)
		if err := each(); err != nil {
			return err
		}
	}
}

// prepare prepares q on c.
func (c *rowConn) prepare(q string) (uintptr, error) {
	zq, err := libc.CString(q)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, zq)
	ps := libc.Xmalloc(c.tls, ptrSize)
	if ps == 0 {
		return 0, errors.New("sqlite: out of memory")
	}
	defer libc.Xfree(c.tls, ps)
	writePtr(ps, 0)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, zq, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, ps, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.err("prepare", rc)
	}
	s := readPtr(ps)
	if s == 0 {
		return 0, errors.New("sqlite prepare: no statement")
	}
	return s, nil
}

// bind binds args to s's parameters as the driver does: a bool as 1 or
// 0. The strings' bytes go into the connection's buffer, which SQLite
// reads during the steps (SQLITE_STATIC).
func (c *rowConn) bind(s uintptr, args []any) error {
	size := 0
	for _, a := range args {
		if v, ok := a.(string); ok {
			size += len(v) + 1
		}
	}
	if size > c.argCap {
		if c.arg != 0 {
			libc.Xfree(c.tls, c.arg)
		}
		n := max(64, size)
		if c.arg = libc.Xmalloc(c.tls, types.Size_t(n)); c.arg == 0 {
			c.argCap = 0
			return errors.New("sqlite: out of memory")
		}
		c.argCap = n
	}
	var buf []byte
	if c.argCap > 0 {
		buf = libc.GoBytes(c.arg, c.argCap)
	}
	off := 0
	for i, a := range args {
		n := int32(i + 1)
		var rc int32
		switch v := a.(type) {
		case string:
			copy(buf[off:], v)
			buf[off+len(v)] = 0
			rc = sqlite3.Xsqlite3_bind_text(c.tls, s, n, c.arg+uintptr(off), int32(len(v)), 0)
			off += len(v) + 1
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s, n, int64(v))
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s, n, v)
		case bool:
			b := int64(0)
			if v {
				b = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s, n, b)
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(c.tls, s, n, v)
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, s, n)
		default:
			return fmt.Errorf("sqlite: cannot bind %T", a)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.err("bind", rc)
		}
	}
	return nil
}

// columns reads the current row of s into dest, one value per column, as
// the driver gives them: text a string, an integer an int64, a real a
// float64, a blob a []byte (an empty one not nil), NULL nil.
func (c *rowConn) columns(s uintptr, dest []any) {
	for i := range dest {
		col := int32(i)
		switch sqlite3.Xsqlite3_column_type(c.tls, s, col) {
		case sqlite3.SQLITE_INTEGER:
			dest[i] = sqlite3.Xsqlite3_column_int64(c.tls, s, col)
		case sqlite3.SQLITE_FLOAT:
			dest[i] = sqlite3.Xsqlite3_column_double(c.tls, s, col)
		case sqlite3.SQLITE_TEXT:
			p := sqlite3.Xsqlite3_column_text(c.tls, s, col)
			n := int(sqlite3.Xsqlite3_column_bytes(c.tls, s, col))
			if p == 0 || n == 0 {
				dest[i] = ""
				continue
			}
			dest[i] = string(libc.GoBytes(p, n))
		case sqlite3.SQLITE_BLOB:
			p := sqlite3.Xsqlite3_column_blob(c.tls, s, col)
			n := int(sqlite3.Xsqlite3_column_bytes(c.tls, s, col))
			if p == 0 || n == 0 {
				// As the driver: an empty blob is not NULL.
				dest[i] = []byte{}
				continue
			}
			dest[i] = append([]byte(nil), libc.GoBytes(p, n)...)
		default:
			dest[i] = nil
		}
	}
}
