package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// ErrNotFound is returned when a row does not exist (or is outside the
// caller's scope).
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned when an insert or update violates a unique
// constraint; DuplicateKey tells which.
var ErrDuplicate = errors.New("duplicate")

// ErrRerun asks Write to run the transaction again from the start, as a
// serialization failure does, when the error its function returns wraps
// it: for a transaction that lost a race it can win with other choices
// (a random MAC address another port took meanwhile).
var ErrRerun = errors.New("store: rerun the transaction")

// Tx is one database transaction. Every API write runs in exactly one.
type Tx struct {
	s  *Store
	tx *sql.Tx
	// afterCommit runs once the transaction has committed.
	afterCommit []func()
	// onEnd runs once the transaction has ended, told whether it
	// committed (address claims settle there, see TakeFree).
	onEnd []func(committed bool)
	// outbox are the notification bodies to record at commit (see
	// AppendOutbox).
	outbox [][]byte
	// memo holds what callers share within the transaction (see Memo).
	memo map[string]any
	// attempt counts the runs of the transaction's function, from 1.
	attempt int
	// readMemo holds what the store read in this write transaction since
	// its last write statement, by query (the DHCP agents of a network,
	// read by each notifier of one change); every exec clears it.
	readMemo map[string]any
	// facts are what Prefetch read, until the first write statement;
	// dhcpFacts until a write that may change them (see Prefetch).
	facts     *createFacts
	dhcpFacts *networkBindings
	// deferred are writes waiting for the next statement (execLater).
	deferred []deferredExec
}

// ErrWriterBusy is returned when a SQLite write waited writerWait for the
// transactions ahead of it.
var ErrWriterBusy = errors.New("database busy: other writes held it")

// writerWait bounds a SQLite writer's wait for its turn; it matches the
// busy_timeout the connections are opened with (see openSQLite).
var writerWait = 10 * time.Second

// maxAttempts bounds how often a transaction that lost a serialization
// conflict is rerun.
const maxAttempts = 20

// Write runs fn in a read-write transaction and commits it. A transient
// conflict (serialization failure, deadlock, busy SQLite) reruns fn from
// the start, so fn must not have effects outside the transaction; use
// AfterCommit for those.
func (s *Store) Write(ctx context.Context, fn func(tx *Tx) error) error {
	return s.run(ctx, false, fn)
}

// Read runs fn for reading. Each query sees committed data; successive
// queries may see later commits (the queries run outside a transaction),
// so fn must not rely on two queries agreeing. Changes need Write.
func (s *Store) Read(ctx context.Context, fn func(tx *Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, readOnly bool, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		start := time.Now()
		err = s.attempt(ctx, readOnly, fn, attempt)
		s.observeAttempt(readOnly, start, err)
		if err == nil || !(s.dialect.retryable(err) || isContended(err) || errors.Is(err, errGroupLost) || errors.Is(err, ErrRerun)) || ctx.Err() != nil {
			return err
		}
		s.observeRetry(readOnly)
		// Jittered backoff so colliding writers spread out.
		d := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return fmt.Errorf("transaction kept conflicting after %d attempts: %w", maxAttempts, err)
}

func (s *Store) attempt(ctx context.Context, readOnly bool, fn func(tx *Tx) error, attempt int) error {
	if readOnly {
		// Reads run outside a transaction on both engines. SQLite opens
		// write transactions with BEGIN IMMEDIATE (see Open), so a reader
		// that never writes should not take the write lock; on PostgreSQL
		// a read-only transaction would add BEGIN and COMMIT, two of a
		// show's five round trips, and buy nothing: under READ COMMITTED
		// each statement sees its own snapshot anyway.
		tx := &Tx{s: s}
		if err := fn(tx); err != nil {
			return err
		}
		for _, f := range tx.afterCommit {
			f()
		}
		return nil
	}
	tx := &Tx{s: s, attempt: attempt}
	err := s.commit(ctx, readOnly, tx, fn)
	for _, f := range tx.onEnd {
		f(err == nil)
	}
	if err != nil {
		return err
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// commit runs fn in a new database transaction and commits it; on SQLite
// in turn with this process's other writers, and possibly in one SQLite
// transaction with them (see commitGrouped).
func (s *Store) commit(ctx context.Context, readOnly bool, tx *Tx, fn func(tx *Tx) error) error {
	if s.writers != nil {
		return s.commitGrouped(ctx, tx, fn)
	}
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx.tx = sqlTx
	defer func() {
		// A panicking fn must not leave the transaction (and SQLite's
		// write lock) held by a connection nobody will use again.
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := tx.flushOutbox(ctx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := tx.flushDeferred(ctx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rerun reports whether this run of the transaction's function is not
// its first: an earlier one lost a conflict (see Write).
func (tx *Tx) Rerun() bool { return tx.attempt > 1 }

// AfterCommit registers f to run after the transaction commits (and never
// if it rolls back).
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// Memo returns what SetMemo stored under key in this transaction. Plugins
// use it to read something once per transaction when several steps of
// one change need it (a port create's subnets), under keys of their own.
func (tx *Tx) Memo(key string) (any, bool) {
	v, ok := tx.memo[key]
	return v, ok
}

// SetMemo stores v under key for the rest of the transaction (a rerun of
// the transaction starts without it).
func (tx *Tx) SetMemo(key string, v any) {
	if tx.memo == nil {
		tx.memo = map[string]any{}
	}
	tx.memo[key] = v
}

// Engine names the database engine.
func (tx *Tx) Engine() string { return tx.s.dialect.name() }

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.queryBound(ctx, tx.s.dialect.rebind(q), args...)
}

// queryBound is query for q already in the engine's placeholders.
func (tx *Tx) queryBound(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := tx.flushDeferred(ctx); err != nil {
		return nil, err
	}
	tx.s.queries.Add(1)
	stmt, err := tx.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	switch {
	case stmt != nil && tx.tx == nil:
		return stmt.QueryContext(ctx, args...)
	case stmt != nil:
		return tx.tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	case tx.tx == nil:
		return tx.s.db.QueryContext(ctx, q, args...)
	}
	return tx.tx.QueryContext(ctx, q, args...)
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	tx.forgetReads(q)
	return tx.execKeep(ctx, q, args...)
}

// forgetReads drops what the transaction's memos of its reads (readMemo,
// facts) hold that the write q may change.
func (tx *Tx) forgetReads(q string) {
	tx.readMemo, tx.facts = nil, nil
	if tx.dhcpFacts != nil && !tx.dhcpFacts.keptBy(q) {
		tx.dhcpFacts = nil
	}
}

// execKeep is exec for a statement that changes nothing the transaction's
// memos of what it read hold (readMemo, facts): a lock's row.
func (tx *Tx) execKeep(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := tx.flushDeferred(ctx); err != nil {
		return nil, err
	}
	return tx.execNow(ctx, q, args...)
}

// execNow runs the write q, the deferred writes aside.
func (tx *Tx) execNow(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if tx.tx == nil {
		return nil, errors.New("store: write in a read-only transaction")
	}
	q = tx.s.dialect.rebind(q)
	stmt, err := tx.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	if stmt != nil {
		res, err = tx.tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	} else {
		res, err = tx.tx.ExecContext(ctx, q, args...)
	}
	if err != nil && tx.s.dialect.uniqueViolation(err) {
		return nil, fmt.Errorf("%w: %w", ErrDuplicate, err)
	}
	return res, err
}

// prepared returns q from the store's statement cache, or nil to run it
// unprepared (PostgreSQL, or a statement not worth caching).
func (tx *Tx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if tx.s.stmts == nil {
		return nil, nil
	}
	return tx.s.stmts.get(ctx, q)
}

// DuplicateKey returns the columns of the unique key whose violation err
// (an ErrDuplicate) reports, as the engine names them; nil when it does
// not name them.
func (tx *Tx) DuplicateKey(err error) []string {
	if !errors.Is(err, ErrDuplicate) {
		return nil
	}
	return tx.s.dialect.duplicateKey(err)
}

// Exec runs a statement; for plugin-specific tables the store's own
// helpers do not cover. The statement uses "?" placeholders.
func (tx *Tx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Count returns how many rows of collection's table have column = value.
func (tx *Tx) Count(ctx context.Context, collection, column string, value any) (int, error) {
	rows, err := tx.query(ctx, "SELECT COUNT(*) FROM "+tableName(collection)+" WHERE "+column+" = ?", value)
	if err != nil {
		return 0, fmt.Errorf("count %s by %s: %w", collection, column, err)
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

// selectSQL builds the SELECT list: the table's columns, then one
// aggregate per relation, then the object's tags. It is built once per
// table (and again only after Relate adds a relation): a show spent a
// twentieth of its CPU writing it out.
func (tx *Tx) selectSQL(t *table) (string, []relation) {
	sc := tx.s.selects(t)
	return sc.sel, sc.rels
}

// selects returns t's cached SELECT and the get-by-id statements built
// on it, building them when Relate has changed the relations since.
func (s *Store) selects(t *table) *selectCache {
	gen := s.relGen.Load()
	if sc := t.selects.Load(); sc != nil && sc.gen == gen {
		return sc
	}
	s.mu.RLock()
	rels := s.relations[t.res.Collection]
	s.mu.RUnlock()
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(t.selectList)
	for _, r := range rels {
		agg := s.dialect.aggregate("c." + r.valueCols[0])
		if len(r.valueCols) > 1 {
			agg = s.dialect.jsonAggregate("c", r.valueCols)
		}
		fmt.Fprintf(&b, ", (SELECT %s FROM %s c WHERE c.%s = t.id)", agg, r.childTable, r.fkCol)
	}
	if t.res.Standard {
		fmt.Fprintf(&b, ", (SELECT %s FROM tags g WHERE g.resource_id = t.id)", s.dialect.aggregate("g.tag"))
	}
	b.WriteString(" FROM ")
	b.WriteString(t.name)
	b.WriteString(" t")
	sel := b.String()
	get := s.dialect.rebind(sel + " WHERE t.id = ?")
	sc := &selectCache{gen: gen, sel: sel, rels: rels, get: get, getForUpdate: get + s.dialect.forUpdate()}
	t.selects.Store(sc)
	return sc
}

// selectCache is a table's SELECT (see selectSQL) as of the relations'
// generation gen, and the statements reading one row by id with it, in
// the engine's placeholders.
type selectCache struct {
	gen               uint64
	sel               string
	rels              []relation
	get, getForUpdate string
}

// columnsSQL builds a SELECT of the table's columns only; the related
// attributes of the rows it reads come from loadRelated.
func (t *table) columnsSQL() string {
	return "SELECT " + t.selectList + " FROM " + t.name + " t"
}

// scan reads rows of the table's columns followed by one aggregate per
// relation in rels and, for a standard resource when tags is set, the
// tags aggregate (as selectSQL builds them).
func (tx *Tx) scan(t *table, rels []relation, rows *sql.Rows) ([]*resource.Object, error) {
	return tx.scanRows(t, rels, t.res.Standard, rows)
}

func (tx *Tx) scanRows(t *table, rels []relation, tags bool, rows *sql.Rows) ([]*resource.Object, error) {
	raw, ptrs := scanDest(t, rels, tags)
	var out []*resource.Object
	for rows.Next() {
		o, err := scanObject(t, rels, tags, rows, raw, ptrs)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// scanDest returns the destinations of a row of the table's columns,
// rels' aggregates and, with tags, the tags aggregate.
func scanDest(t *table, rels []relation, tags bool) (raw, ptrs []any) {
	n := len(t.cols) + len(rels)
	if tags {
		n++
	}
	raw = make([]any, n)
	ptrs = make([]any, n)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	return raw, ptrs
}

// scanObject reads the current row into a new object (see scanRows).
func scanObject(t *table, rels []relation, tags bool, rows *sql.Rows, raw, ptrs []any) (*resource.Object, error) {
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("scan %s: %w", t.name, err)
	}
	return rowObject(t, rels, tags, raw)
}

// rowObject builds an object of t from a row's values as scanned (see
// scanRows).
func rowObject(t *table, rels []relation, tags bool, raw []any) (*resource.Object, error) {
	o := resource.New(t.res)
	for i, a := range t.cols {
		v, err := decode(a, raw[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		o.SetAt(a.Index(), v)
	}
	k := len(t.cols)
	for _, r := range rels {
		if a := t.res.Attr(r.attr); a != nil {
			if len(r.valueCols) == 1 {
				o.SetAt(a.Index(), splitAggregate(raw[k]))
			} else {
				objs, err := decodeObjects(raw[k], r.valueCols)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", t.name, r.attr, err)
				}
				o.SetAt(a.Index(), objs)
			}
		}
		k++
	}
	if tags {
		if a := t.res.Attr("tags"); a != nil {
			o.SetAt(a.Index(), splitAggregate(raw[k]))
		}
	}
	return o, nil
}

// Get reads one object by id. With forUpdate the row is locked until the
// transaction ends (on PostgreSQL; SQLite serializes writers anyway).
func (tx *Tx) Get(ctx context.Context, r *resource.Resource, id string, forUpdate bool) (*resource.Object, error) {
	t, err := tx.s.table(r)
	if err != nil {
		return nil, err
	}
	sc := tx.s.selects(t)
	q := sc.get
	if forUpdate {
		q = sc.getForUpdate
	}
	if tx.tx == nil && tx.s.rows != nil {
		// One row by its key on SQLite, outside a transaction: read
		// through SQLite itself (see rowReader). Like the statement
		// below, it is too short to be worth stopping midway; a request
		// whose context has ended does not start it.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tx.s.queries.Add(1)
		raw := make([]any, len(t.cols)+len(sc.rels)+boolInt(t.res.Standard))
		found, err := tx.s.rows.get(sc.get, id, raw)
		switch {
		case err == nil && !found:
			return nil, ErrNotFound
		case err == nil:
			return rowObject(t, sc.rels, t.res.Standard, raw)
		}
		// A failure (a busy database, say) is the driver's to report,
		// as its error, which Read knows to retry: the statement runs
		// again below.
	}
	qctx := ctx
	if tx.tx == nil && tx.s.writers != nil {
		// One row by its key on SQLite, outside a transaction: a
		// statement too short to be worth stopping midway, while
		// watching the context for it costs database/sql and the driver
		// a goroutine each, a seventh of a show's CPU. A request whose
		// context has ended still does not start it.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		qctx = context.WithoutCancel(ctx)
	}
	rows, err := tx.queryBound(qctx, q, id)
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", r.Name, id, err)
	}
	defer rows.Close()
	// The id is the key: the first row is the only one, and the rows
	// are closed without stepping the statement to its end.
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("get %s %s: %w", r.Name, id, err)
		}
		return nil, ErrNotFound
	}
	raw, ptrs := scanDest(t, sc.rels, t.res.Standard)
	return scanObject(t, sc.rels, t.res.Standard, rows, raw, ptrs)
}

// GetMany reads the objects with the given ids, by id; ids not found
// are missing from the map. With forUpdate the rows are locked until the
// transaction ends (PostgreSQL). It sends one query per maxInList ids.
func (tx *Tx) GetMany(ctx context.Context, r *resource.Resource, ids []string, forUpdate bool) (map[string]*resource.Object, error) {
	t, err := tx.s.table(r)
	if err != nil {
		return nil, err
	}
	sel, rels := tx.selectSQL(t)
	out := make(map[string]*resource.Object, len(ids))
	for chunk := range slices.Chunk(ids, maxInList) {
		q := sel + " WHERE t.id IN (" + placeholders(len(chunk)) + ")"
		if forUpdate {
			q += tx.s.dialect.forUpdate()
		}
		rows, err := tx.query(ctx, q, anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("get %d %s: %w", len(chunk), r.Collection, err)
		}
		objs, err := tx.scan(t, rels, rows)
		rows.Close()
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			out[o.ID()] = o
		}
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxInList bounds the values of one IN list, well under both engines'
// limits on a statement's parameters.
const maxInList = 500

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// Insert stores a new object: every present column attribute, and its
// tags.
func (tx *Tx) Insert(ctx context.Context, o *resource.Object) error {
	t, err := tx.s.table(o.Resource())
	if err != nil {
		return err
	}
	var cols, marks []string
	var args []any
	for _, a := range t.cols {
		if !o.HasAt(a.Index()) {
			continue
		}
		v, err := encode(a, o.At(a.Index()))
		if err != nil {
			return err
		}
		cols = append(cols, a.ColumnName())
		marks = append(marks, "?")
		args = append(args, v)
	}
	q := "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	if _, err := tx.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("insert %s: %w", o.Resource().Name, err)
	}
	if t.res.Standard && o.Has("tags") {
		// A new object has no tags to replace.
		return tx.insertTags(ctx, o.ID(), toStrings(o.Get("tags")))
	}
	return nil
}

// Update writes the present column attributes of patch onto the stored
// row with patch's id. It does not touch revision or timestamps: callers
// set those in the patch (see plugin.Generic).
func (tx *Tx) Update(ctx context.Context, patch *resource.Object) error {
	t, err := tx.s.table(patch.Resource())
	if err != nil {
		return err
	}
	var sets []string
	var args []any
	for _, a := range t.cols {
		if !patch.HasAt(a.Index()) || a.Name == "id" {
			continue
		}
		v, err := encode(a, patch.At(a.Index()))
		if err != nil {
			return err
		}
		sets = append(sets, a.ColumnName()+" = ?")
		args = append(args, v)
	}
	if len(sets) > 0 {
		args = append(args, patch.ID())
		res, err := tx.exec(ctx, "UPDATE "+t.name+" SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...)
		if err != nil {
			return fmt.Errorf("update %s %s: %w", t.res.Name, patch.ID(), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
	}
	if t.res.Standard && patch.Has("tags") {
		return tx.SetTags(ctx, patch.ID(), toStrings(patch.Get("tags")))
	}
	return nil
}

// Delete removes an object and its tags.
func (tx *Tx) Delete(ctx context.Context, r *resource.Resource, id string) error {
	t, err := tx.s.table(r)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM "+t.name+" WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", r.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if r.Standard {
		if _, err := tx.exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
			return fmt.Errorf("delete tags of %s %s: %w", r.Name, id, err)
		}
	}
	return nil
}

// SetTags replaces the tags of the resource with the given id.
func (tx *Tx) SetTags(ctx context.Context, id string, tags []string) error {
	if _, err := tx.exec(ctx, "DELETE FROM tags WHERE resource_id = ?", id); err != nil {
		return fmt.Errorf("replace tags of %s: %w", id, err)
	}
	return tx.insertTags(ctx, id, tags)
}

// insertTags adds tags (repeats once) to a resource that has none of
// them, in one statement.
func (tx *Tx) insertTags(ctx context.Context, id string, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(tags))
	var b strings.Builder
	b.WriteString("INSERT INTO tags (resource_id, tag) VALUES ")
	args := make([]any, 0, 2*len(tags))
	for _, tag := range tags {
		if seen[tag] {
			continue
		}
		seen[tag] = true
		if len(args) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, id, tag)
	}
	if _, err := tx.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("tag %s: %w", id, err)
	}
	return nil
}

func toStrings(v any) []string {
	ss, _ := v.([]string)
	return ss
}
