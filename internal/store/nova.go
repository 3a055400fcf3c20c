package store

import "context"

// AppendNovaEvents records Nova external events (their JSON bodies) in
// the transaction, so they commit or roll back with the port change they
// announce.
func (tx *Tx) AppendNovaEvents(ctx context.Context, bodies ...[]byte) error {
	return tx.appendQueue(ctx, "nova_events", "Nova event", bodies)
}

// DrainNovaEvents hands up to limit of the oldest recorded Nova events to
// send, in id order, and deletes them once send returns nil; an error
// keeps them for the next drain. Rows are claimed as DrainOutbox claims
// the RPC outbox's, so several servers on one PostgreSQL never send an
// event twice (short of a crash between send and commit).
func (s *Store) DrainNovaEvents(ctx context.Context, limit int, send func(context.Context, []OutboxEntry) error) (int, error) {
	return s.drainQueue(ctx, "nova_events", limit, send)
}

// NovaEventsLen counts the Nova events awaiting delivery.
func (s *Store) NovaEventsLen(ctx context.Context) (int, error) {
	return s.queueLen(ctx, "nova_events")
}
