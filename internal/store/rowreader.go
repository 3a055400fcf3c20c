package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// rowReader reads one row by its key on SQLite through SQLite's own
// interface (modernc's translation of the C library), on connections of
// its own, for a show: Get outside a transaction. Through database/sql
// and the driver, a show's one statement cost more around it than in
// it: database/sql's connection and statement bookkeeping, a driver.Rows
// that copies every column's name and declared type per statement (a
// port has over thirty), a boxed driver.Value per column converted again
// by Scan; a fifth of a show's CPU and half its allocations. Here a
// statement stays prepared on each connection, its one parameter is
// bound from a buffer the connection keeps, and each column is read
// straight into the value decode takes: text a string, an integer an
// int64, a real a float64, a blob a []byte, NULL nil (what the driver
// gives for the same columns, none of which is declared as a date).
//
// A connection is used by one goroutine at a time; at most
// rowReaderConns exist. Each statement is reset as soon as its row is
// read, so a connection holds no read snapshot between uses.
type rowReader struct {
	dsn    string
	idle   chan *rowConn
	tokens chan struct{}

	mu     sync.Mutex
	closed bool
}

// rowReaderConns bounds the reader's connections: a show holds one for
// the statement only, and each has a page cache of its own.
const rowReaderConns = 8

// rowConn is one SQLite connection of a rowReader and its statements,
// by query.
type rowConn struct {
	tls   *libc.TLS
	db    uintptr
	stmts map[string]uintptr
	// listStmts are query's statements, by query.
	listStmts map[string]uintptr
	// arg holds the bound parameter's bytes (SQLITE_STATIC: SQLite reads
	// them during the step), argCap its size.
	arg    uintptr
	argCap int
}

func newRowReader(dsn string) *rowReader {
	return &rowReader{dsn: dsn, idle: make(chan *rowConn, rowReaderConns), tokens: make(chan struct{}, rowReaderConns)}
}

// errRowReaderClosed is returned once the store is closed.
var errRowReaderClosed = errors.New("store: closed")

// get reads the first row q (one "?" parameter) finds for arg into dest,
// one value per column, and reports whether there was one.
func (r *rowReader) get(q, arg string, dest []any) (found bool, err error) {
	c, err := r.acquire()
	if err != nil {
		return false, err
	}
	found, err = c.get(q, arg, dest)
	if err != nil {
		// A connection that failed is not trusted again.
		c.close()
		<-r.tokens
		return false, err
	}
	r.release(c)
	return found, nil
}

func (r *rowReader) acquire() (*rowConn, error) {
	select {
	case c := <-r.idle:
		return c, nil
	default:
	}
	select {
	case c := <-r.idle:
		return c, nil
	case r.tokens <- struct{}{}:
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		<-r.tokens
		return nil, errRowReaderClosed
	}
	c, err := openRowConn(r.dsn)
	if err != nil {
		<-r.tokens
		return nil, err
	}
	return c, nil
}

func (r *rowReader) release(c *rowConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.close()
		<-r.tokens
		return
	}
	r.idle <- c
}

// close closes the idle connections; those in use close when released.
func (r *rowReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for {
		select {
		case c := <-r.idle:
			c.close()
			<-r.tokens
		default:
			return
		}
	}
}

func openRowConn(dsn string) (*rowConn, error) {
	tls := libc.NewTLS()
	name, err := libc.CString(dsn)
	if err != nil {
		tls.Close()
		return nil, err
	}
	defer libc.Xfree(tls, name)
	pdb := libc.Xmalloc(tls, ptrSize)
	if pdb == 0 {
		tls.Close()
		return nil, errors.New("sqlite: out of memory")
	}
	defer libc.Xfree(tls, pdb)
	writePtr(pdb, 0)
	// NOMUTEX: one goroutine at a time uses a connection, so SQLite
	// need not lock it around every call.
	rc := sqlite3.Xsqlite3_open_v2(tls, name, pdb,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
	c := &rowConn{tls: tls, db: readPtr(pdb), stmts: map[string]uintptr{}}
	if rc != sqlite3.SQLITE_OK {
		err := c.err("open", rc)
		c.close()
		return nil, err
	}
	// As the pool's connections (see openSQLite): wait for a writer's
	// commit rather than fail.
	sqlite3.Xsqlite3_busy_timeout(tls, c.db, 10000)
	return c, nil
}

// err describes a failed call by its code and the connection's message.
func (c *rowConn) err(what string, rc int32) error {
	msg := "unknown error"
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return fmt.Errorf("sqlite %s: %s (%d)", what, msg, rc)
}

func (c *rowConn) close() {
	for _, s := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, s)
	}
	c.stmts = nil
	for _, s := range c.listStmts {
		sqlite3.Xsqlite3_finalize(c.tls, s)
	}
	c.listStmts = nil
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	if c.arg != 0 {
		libc.Xfree(c.tls, c.arg)
		c.arg = 0
	}
	c.tls.Close()
}

// stmt returns q prepared on c.
func (c *rowConn) stmt(q string) (uintptr, error) {
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	s, err := c.prepare(q)
	if err != nil {
		return 0, err
	}
	if n := sqlite3.Xsqlite3_bind_parameter_count(c.tls, s); n != 1 {
		sqlite3.Xsqlite3_finalize(c.tls, s)
		return 0, fmt.Errorf("sqlite prepare: %d parameters, want 1", n)
	}
	c.stmts[q] = s
	return s, nil
}

func (c *rowConn) get(q, arg string, dest []any) (bool, error) {
	s, err := c.stmt(q)
	if err != nil {
		return false, err
	}
	if n := int(sqlite3.Xsqlite3_column_count(c.tls, s)); n != len(dest) {
		return false, fmt.Errorf("sqlite: %d columns, %d destinations", n, len(dest))
	}
	if len(arg)+1 > c.argCap {
		if c.arg != 0 {
			libc.Xfree(c.tls, c.arg)
		}
		n := max(64, len(arg)+1)
		if c.arg = libc.Xmalloc(c.tls, types.Size_t(n)); c.arg == 0 {
			c.argCap = 0
			return false, errors.New("sqlite: out of memory")
		}
		c.argCap = n
	}
	buf := libc.GoBytes(c.arg, c.argCap)
	copy(buf, arg)
	buf[len(arg)] = 0
	defer func() {
		// Ends the statement's read transaction whatever happened.
		sqlite3.Xsqlite3_reset(c.tls, s)
	}()
	if rc := sqlite3.Xsqlite3_bind_text(c.tls, s, 1, c.arg, int32(len(arg)), 0); rc != sqlite3.SQLITE_OK {
		return false, c.err("bind", rc)
	}
	switch rc := sqlite3.Xsqlite3_step(c.tls, s); rc {
	case sqlite3.SQLITE_DONE:
		return false, nil
	case sqlite3.SQLITE_ROW:
	default:
		return false, c.err("step", rc)
	}
	c.columns(s, dest)
	return true, nil
}

// ptrSize is the size of a C pointer.
const ptrSize = types.Size_t(unsafe.Sizeof(uintptr(0)))

// readPtr reads the C pointer stored at p (an out parameter).
func readPtr(p uintptr) uintptr {
	b := libc.GoBytes(p, int(ptrSize))
	if ptrSize == 4 {
		return uintptr(binary.NativeEndian.Uint32(b))
	}
	return uintptr(binary.NativeEndian.Uint64(b))
}

// writePtr stores the C pointer v at p.
func writePtr(p, v uintptr) {
	b := libc.GoBytes(p, int(ptrSize))
	if ptrSize == 4 {
		binary.NativeEndian.PutUint32(b, uint32(v))
		return
	}
	binary.NativeEndian.PutUint64(b, uint64(v))
}
