package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Writes sent with the next one (PostgreSQL).
//
// Some writes of a transaction are read by nothing that follows them in
// it, and fail only when something else is wrong (a port's security group
// bindings). On PostgreSQL each was a round trip of its own; now such a
// write waits in the transaction (execLater) and goes with the
// notifications' INSERT at commit, as a data-modifying WITH clause of
// that one statement, or on its own just before any other statement, so
// every read and every other write still sees it. A WITH clause and the
// statement it is part of do not see each other's rows, which is why only
// the notifications' INSERT, which reads nothing of the transaction's,
// takes them along. SQLite runs them at once: its statements cost no
// round trip.

// deferredExec is a write waiting for the next statement.
type deferredExec struct {
	q    string // "?" placeholders
	args []any
	what string // what it does, for its errors
}

// execLater runs the write q now on SQLite and with the transaction's next
// statement on PostgreSQL (see above); what names it in errors. Its
// errors, ErrDuplicate included, may come from a later statement or from
// the commit.
func (tx *Tx) execLater(ctx context.Context, what, q string, args ...any) error {
	if tx.s.dialect.name() != "postgresql" {
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if tx.tx == nil {
		return fmt.Errorf("%s: store: write in a read-only transaction", what)
	}
	tx.forgetReads(q)
	tx.deferred = append(tx.deferred, deferredExec{q: q, args: args, what: what})
	return nil
}

// flushDeferred runs the waiting writes, each on its own.
func (tx *Tx) flushDeferred(ctx context.Context) error {
	for len(tx.deferred) > 0 {
		d := tx.deferred[0]
		tx.deferred = tx.deferred[1:]
		if _, err := tx.execNow(ctx, d.q, d.args...); err != nil {
			return fmt.Errorf("%s: %w", d.what, err)
		}
	}
	tx.deferred = nil
	return nil
}

// withDeferred makes the waiting writes WITH clauses of the write q (in
// "?" placeholders, args its arguments) and returns the statement, its
// arguments and what it does in errors; the writes no longer wait.
func (tx *Tx) withDeferred(q string, args []any) (string, []any, string) {
	if len(tx.deferred) == 0 {
		return q, args, ""
	}
	var b strings.Builder
	var all []any
	var whats []string
	b.WriteString("WITH ")
	for i, d := range tx.deferred {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("deferred" + strconv.Itoa(i) + " AS (" + d.q + ")")
		all = append(all, d.args...)
		whats = append(whats, d.what)
	}
	b.WriteString(" ")
	b.WriteString(q)
	tx.deferred = nil
	return b.String(), append(all, args...), strings.Join(whats, ", ")
}
