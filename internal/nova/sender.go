package nova

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/store"
)

// Sender posts the events Recorders wrote to Nova: each batch in one
// request, deleted from the table once Nova has answered.
type Sender struct {
	st     *store.Store
	client *Client
	rec    *Recorder
	opts   Options
	log    *slog.Logger
	// batch bounds the events of one request.
	batch int
	// poll is how often the table is read without a nudge: events
	// another server recorded, or left by a failed send.
	poll time.Duration
}

// NewSender returns a sender of st's recorded events, woken by rec's
// nudges (rec may be nil: polling only).
func NewSender(st *store.Store, client *Client, rec *Recorder, o Options, logger *slog.Logger) *Sender {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{st: st, client: client, rec: rec, opts: o, log: logger, batch: 256,
		poll: max(o.Interval, time.Second)}
}

// Run sends until ctx is cancelled: first what a previous server left,
// then, after each nudge, everything recorded within send_events_interval
// of it in one request. A failed send is retried with a growing delay
// (up to 30 seconds); the events stay recorded meanwhile. It returns nil
// when ctx is cancelled.
func (s *Sender) Run(ctx context.Context) error {
	var wake <-chan struct{}
	if s.rec != nil {
		wake = s.rec.wake
	}
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	backoff := time.Duration(0)
	for {
		if _, err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, 250*time.Millisecond), 30*time.Second)
			s.log.Warn("notifying Nova failed; will retry", "error", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			// Let the batch fill, as Neutron's BatchNotifier does.
			if s.opts.Interval > 0 && !sleep(ctx, s.opts.Interval) {
				return nil
			}
		case <-tick.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Flush sends every recorded event now and returns how many it sent.
func (s *Sender) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.st.DrainNovaEvents(ctx, s.batch, s.send)
		total += n
		if err != nil {
			return total, err
		}
		if n < s.batch {
			return total, nil
		}
	}
}

// send posts one batch and logs Nova's answer for each event; it returns
// nil once Nova has answered, so the batch is deleted.
func (s *Sender) send(ctx context.Context, entries []store.OutboxEntry) error {
	events := make([]Event, 0, len(entries))
	for _, e := range entries {
		var ev Event
		if err := json.Unmarshal(e.Body, &ev); err != nil {
			// Retrying cannot fix it, and keeping it would block the rest.
			s.log.Error("dropping undecodable Nova event", "id", e.ID, "error", err)
			continue
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil
	}
	s.log.Debug("sending events to Nova", "events", len(events))
	results, err := s.client.Send(ctx, events)
	if errors.Is(err, ErrRejected) {
		// Neutron logs a 404 (no instance known) at debug level and
		// anything else as an error; neither is sent again.
		s.log.Warn("Nova did not take the events; dropping them", "events", events, "error", err)
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		attrs := []any{"name", r.Name, "server_uuid", r.ServerUUID, "tag", r.Tag, "status", r.Status, "code", r.Code}
		if r.Code != 200 {
			s.log.Warn("Nova event returned with failed status", attrs...)
		} else {
			s.log.Info("Nova event response", attrs...)
		}
	}
	if len(results) != len(events) {
		s.log.Error("unexpected response from Nova", "sent", len(events), "answered", len(results))
	}
	return nil
}
