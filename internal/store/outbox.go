package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OutboxEntry is one recorded notification awaiting publication.
type OutboxEntry struct {
	ID        int64
	CreatedAt string
	// Body is the notification as the recorder encoded it (JSON).
	Body []byte
}

// AppendOutbox records notification bodies in the transaction, so they
// commit or roll back with the change they announce. They are written
// when the transaction commits, all in one statement (a port create
// records two or three notifications: one round trip instead of each).
func (tx *Tx) AppendOutbox(ctx context.Context, bodies ...[]byte) error {
	if tx.tx == nil {
		return errors.New("store: write in a read-only transaction")
	}
	tx.outbox = append(tx.outbox, bodies...)
	return nil
}

// flushOutbox writes the notifications AppendOutbox collected.
func (tx *Tx) flushOutbox(ctx context.Context) error {
	for len(tx.outbox) > 0 {
		n := min(len(tx.outbox), 256)
		if err := tx.appendQueue(ctx, "rpc_outbox", "notification", tx.outbox[:n]); err != nil {
			return err
		}
		tx.outbox = tx.outbox[n:]
	}
	return nil
}

// appendQueue inserts bodies into a queue table (id, created_at, body):
// the RPC outbox, or Nova's events.
func (tx *Tx) appendQueue(ctx context.Context, table, what string, bodies [][]byte) error {
	if len(bodies) == 0 {
		return nil
	}
	now := time.Now().UTC().Format(TimeFormat)
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (created_at, body) VALUES ")
	args := make([]any, 0, 2*len(bodies))
	for i, body := range bodies {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, now, string(body))
	}
	// The writes waiting for the next statement go with this one.
	q, args, deferred := tx.withDeferred(b.String(), args)
	if _, err := tx.exec(ctx, q, args...); err != nil {
		if deferred != "" {
			return fmt.Errorf("%s, and record %d %s(s) in %s: %w", deferred, len(bodies), what, table, err)
		}
		return fmt.Errorf("record %d %s(s) in %s: %w", len(bodies), what, table, err)
	}
	return nil
}

// DrainOutbox hands up to limit of the oldest recorded notifications to
// publish, in id order, and deletes them once publish returns nil; an
// error from publish keeps them for the next drain. It returns how many
// it published.
//
// On PostgreSQL the rows are claimed with SELECT … FOR UPDATE SKIP LOCKED
// in a transaction held across publish, so several servers draining one
// database never publish the same row twice (short of a crash between
// publish and commit, which republishes: delivery is at least once). A
// SQLite database belongs to one process, whose one publisher drains it;
// reading outside a transaction there keeps API writes from waiting on
// the bus.
func (s *Store) DrainOutbox(ctx context.Context, limit int, publish func(context.Context, []OutboxEntry) error) (int, error) {
	return s.drainQueue(ctx, "rpc_outbox", limit, publish)
}

// drainQueue is DrainOutbox for any queue table (id, created_at, body).
//
// On SQLite a drain does not wait for the database's one writer: the
// rows it publishes are remembered (their highest id; AUTOINCREMENT ids
// grow in commit order there, one writer committing at a time) and
// deleted in the background. During a burst of API writes the writer is
// queued behind them, and a delete on the drain's path held every
// notification recorded meanwhile for as long (the publish lag then
// followed the API's own latency). Rows published and not deleted when
// the process stops are published again by the next one: delivery
// stays at least once.
func (s *Store) drainQueue(ctx context.Context, table string, limit int, publish func(context.Context, []OutboxEntry) error) (int, error) {
	if s.dialect.name() == "postgresql" {
		return s.drainClaimed(ctx, table, limit, publish)
	}
	after := s.published.get(table)
	rows, err := s.db.QueryContext(ctx, "SELECT id, created_at, body FROM "+table+" WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	entries, err := scanOutbox(rows)
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 {
		s.published.sweep(s, table) // after a failed one
		return 0, nil
	}
	if err := publish(ctx, entries); err != nil {
		return 0, err
	}
	s.published.set(table, entries[len(entries)-1].ID)
	s.published.sweep(s, table)
	return len(entries), nil
}

// queueMarks are, per SQLite queue table, the highest id this process
// published, the highest it deleted, and whether a sweep deleting the
// rows in between runs.
type queueMarks struct {
	mu       sync.Mutex
	pub      map[string]int64
	gone     map[string]int64
	sweeping map[string]bool
	sweeps   sync.WaitGroup
	// closing, closed by Close, ends the sweeps' waits.
	closing   chan struct{}
	closeOnce sync.Once
}

// sweepDelay is how long a sweep waits before each delete, so that one
// delete takes the rows of many drains: under a stream of writes every
// commit is drained at once, and a delete per drain was another write
// transaction per API write (at one client, a second commit for each).
const sweepDelay = 200 * time.Millisecond

// closingCh returns the channel Close closes. The caller holds m.mu.
func (m *queueMarks) closingCh() chan struct{} {
	if m.closing == nil {
		m.closing = make(chan struct{})
	}
	return m.closing
}

// close ends the sweeps' waits (each deletes what it has at once) and
// waits for them.
func (m *queueMarks) close() {
	m.mu.Lock()
	ch := m.closingCh()
	m.mu.Unlock()
	m.closeOnce.Do(func() { close(ch) })
	m.sweeps.Wait()
}

func (m *queueMarks) get(table string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pub[table]
}

func (m *queueMarks) set(table string, id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pub == nil {
		m.pub, m.gone, m.sweeping = map[string]int64{}, map[string]int64{}, map[string]bool{}
	}
	m.pub[table] = max(m.pub[table], id)
}

// sweep deletes, in the background and sweepDelay later, table's rows
// this process published, unless a sweep of it runs already (it goes on
// until none is left). A failed delete is tried again by the next
// drain's sweep.
func (m *queueMarks) sweep(s *Store, table string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sweeping[table] || m.pub[table] <= m.gone[table] {
		return
	}
	m.sweeping[table] = true
	m.sweeps.Add(1)
	closing := m.closingCh()
	go func() {
		defer m.sweeps.Done()
		for {
			wait := time.NewTimer(sweepDelay)
			select {
			case <-wait.C:
			case <-closing:
				wait.Stop()
			}
			m.mu.Lock()
			upTo := m.pub[table]
			if upTo <= m.gone[table] {
				m.sweeping[table] = false
				m.mu.Unlock()
				return
			}
			m.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // Close waits for it
			err := s.Write(ctx, func(tx *Tx) error {
				_, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE id <= ?", upTo)
				return err
			})
			cancel()
			m.mu.Lock()
			if err != nil {
				m.sweeping[table] = false
				m.mu.Unlock()
				return
			}
			m.gone[table] = max(m.gone[table], upTo)
			m.mu.Unlock()
		}
	}()
}

func (s *Store) drainClaimed(ctx context.Context, table string, limit int, publish func(context.Context, []OutboxEntry) error) (int, error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("drain %s: begin: %w", table, err)
	}
	defer sqlTx.Rollback()
	rows, err := sqlTx.QueryContext(ctx,
		"SELECT id, created_at, body FROM "+table+" ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
	if err != nil {
		return 0, fmt.Errorf("claim %s rows: %w", table, err)
	}
	entries, err := scanOutbox(rows)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	if err := publish(ctx, entries); err != nil {
		return 0, err
	}
	tx := &Tx{s: s, tx: sqlTx}
	if err := tx.deleteQueued(ctx, table, entries); err != nil {
		return 0, err
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("drain %s: commit: %w", table, err)
	}
	return len(entries), nil
}

func scanOutbox(rows *sql.Rows) ([]OutboxEntry, error) {
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var body string
		if err := rows.Scan(&e.ID, &e.CreatedAt, &body); err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		e.Body = []byte(body)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	return out, nil
}

func (tx *Tx) deleteQueued(ctx context.Context, table string, entries []OutboxEntry) error {
	ids := make([]any, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	q := "DELETE FROM " + table + " WHERE id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
	if _, err := tx.exec(ctx, q, ids...); err != nil {
		return fmt.Errorf("delete delivered %s rows: %w", table, err)
	}
	return nil
}

// OutboxLen counts the notifications awaiting publication.
func (s *Store) OutboxLen(ctx context.Context) (int, error) { return s.queueLen(ctx, "rpc_outbox") }

// queueLen counts a queue table's rows not yet published (on SQLite,
// published rows wait a while to be deleted: see drainQueue).
func (s *Store) queueLen(ctx context.Context, table string) (int, error) {
	var n int
	after := s.published.get(table)
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE id > "+strconv.FormatInt(after, 10)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}
