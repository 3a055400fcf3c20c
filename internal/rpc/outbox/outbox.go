// Package outbox delivers the server's notifications to agents at least
// once. Plugins record notifications (rpcapi.Notification) in the
// transaction that makes the change they announce (Outbox.Record, the
// change.Outbox a plugin holds); after commit a Publisher sends them on
// the bus, waits for the bus server to have them, and deletes them. A
// server that crashes between commit and publish leaves its rows, and the
// next publisher to start (or another server's, on a shared PostgreSQL)
// sends them. Rows are claimed so that several servers on one PostgreSQL
// never publish the same row twice.
//
// Order: one publisher sends rows in id order. With several publishers on
// one PostgreSQL, two batches may go out concurrently; agents drop updates
// older than the revision they hold (DESIGN.md rule 8), which is what
// makes that harmless.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Outbox records notifications in the caller's transaction and wakes the
// local publisher once that transaction commits. It implements
// change.Outbox. The zero value is not usable; call New.
type Outbox struct {
	wake chan struct{}
	// firstCommit is when the first commit since the last drain nudged
	// (unix nanoseconds, 0 for none): the start of the publish lag.
	firstCommit atomic.Int64
}

// New returns an Outbox; a Publisher built on it hears its nudges.
func New() *Outbox { return &Outbox{wake: make(chan struct{}, 1)} }

// Record stores ns in tx; they are published after tx commits and never
// if it rolls back.
func (o *Outbox) Record(ctx context.Context, tx *store.Tx, ns ...rpcapi.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	bodies := make([][]byte, len(ns))
	for i, n := range ns {
		if n.Topic == "" || n.Method == "" {
			return fmt.Errorf("outbox: notification without topic or method: %+v", n)
		}
		b, err := encode(n)
		if err != nil {
			return fmt.Errorf("outbox: encode %s notification: %w", n.Method, err)
		}
		bodies[i] = b
	}
	if err := tx.AppendOutbox(ctx, bodies...); err != nil {
		return err
	}
	tx.AfterCommit(o.nudge)
	return nil
}

// encode is json.Marshal(n) without its second pass over the arguments,
// which encoding/json compacts (and HTML-escapes) byte by byte into its
// buffer although the notifier has just encoded them; a port's
// notification is mostly its arguments. They are checked, then written
// as they are inside the envelope: the same JSON value.
func encode(n rpcapi.Notification) ([]byte, error) {
	if len(n.Args) == 0 || !plain(n.Topic) || !plain(n.Method) || !plain(n.Version) || !json.Valid(n.Args) {
		return json.Marshal(n) // null arguments, names to escape, or json.Marshal's own error
	}
	b := make([]byte, 0, len(n.Args)+len(n.Topic)+len(n.Method)+len(n.Version)+64)
	b = append(b, `{"topic":"`...)
	b = append(b, n.Topic...)
	b = append(b, `","method":"`...)
	b = append(b, n.Method...)
	b = append(b, '"')
	if n.Fanout {
		b = append(b, `,"fanout":true`...)
	}
	if n.Version != "" {
		b = append(b, `,"version":"`...)
		b = append(b, n.Version...)
		b = append(b, '"')
	}
	b = append(b, `,"args":`...)
	b = append(b, n.Args...)
	return append(b, '}'), nil
}

// plain reports whether s is a JSON string's body as is: printable
// ASCII, nothing escaped (json.Marshal also escapes <, > and &).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func (o *Outbox) nudge() {
	o.firstCommit.CompareAndSwap(0, time.Now().UnixNano())
	select {
	case o.wake <- struct{}{}:
	default: // a nudge is already pending; the publisher drains everything
	}
}

// Options tune a Publisher.
type Options struct {
	// Batch is how many rows one drain claims; zero means 256.
	Batch int
	// Poll is how often the publisher looks for rows without a nudge:
	// rows another server recorded and did not publish (it crashed), or
	// rows left when the bus was down. Zero means one second.
	Poll time.Duration
	// Logger receives publish failures; nil discards them.
	Logger *slog.Logger
}

// Publisher sends recorded notifications on the bus.
type Publisher struct {
	st   *store.Store
	bus  *rpc.Bus
	ob   *Outbox
	opts Options
}

// NewPublisher returns a publisher draining st's outbox onto bus, woken
// by ob's nudges (ob may be nil: polling only).
func NewPublisher(st *store.Store, bus *rpc.Bus, ob *Outbox, opts Options) *Publisher {
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Publisher{st: st, bus: bus, ob: ob, opts: opts}
}

// Run publishes until ctx is cancelled: first whatever a previous server
// left, then after every nudge and poll tick. It returns nil when ctx is
// cancelled.
func (p *Publisher) Run(ctx context.Context) error {
	running.add(p)
	defer running.remove(p)
	var wake <-chan struct{}
	if p.ob != nil {
		wake = p.ob.wake
	}
	tick := time.NewTicker(p.opts.Poll)
	defer tick.Stop()
	backoff := time.Duration(0)
	for {
		if _, err := p.Drain(ctx); err != nil && ctx.Err() == nil {
			publishFailures.Inc()
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			p.opts.Logger.Warn("publishing notifications failed; will retry", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-tick.C:
		}
	}
}

// Drain publishes every row now in the outbox and returns how many.
func (p *Publisher) Drain(ctx context.Context) (int, error) {
	var firstCommit int64
	if p.ob != nil {
		firstCommit = p.ob.firstCommit.Swap(0)
	}
	total, oldest := 0, ""
	publish := func(ctx context.Context, entries []store.OutboxEntry) error {
		if oldest == "" && len(entries) > 0 {
			oldest = entries[0].CreatedAt
		}
		return p.publish(ctx, entries)
	}
	for {
		n, err := p.st.DrainOutbox(ctx, p.opts.Batch, publish)
		total += n
		if err != nil {
			if p.ob != nil && firstCommit != 0 {
				// Still unpublished: the lag goes on from the same commit.
				p.ob.firstCommit.CompareAndSwap(0, firstCommit)
			}
			observeDrain(total, 0, "")
			return total, err
		}
		if n < p.opts.Batch {
			observeDrain(total, firstCommit, oldest)
			return total, nil
		}
	}
}

// publish sends one batch and returns once the bus server has all of it.
func (p *Publisher) publish(ctx context.Context, entries []store.OutboxEntry) error {
	for _, e := range entries {
		var n rpcapi.Notification
		if err := json.Unmarshal(e.Body, &n); err != nil {
			// Retrying cannot fix it, and keeping it would block the rest.
			p.opts.Logger.Error("dropping undecodable outbox row", "id", e.ID, "error", err)
			continue
		}
		if err := p.bus.Send(n); err != nil {
			return fmt.Errorf("publish outbox row %d: %w", e.ID, err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.bus.Flush(fctx); err != nil {
		return errors.Join(errors.New("outbox batch not acknowledged by the bus"), err)
	}
	return nil
}
