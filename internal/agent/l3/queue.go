package l3

// queue is the partial passes' work list: the routers notifications
// named and not yet fetched, in the order they were first named, and
// the routers being fetched and converged. A router is never in two
// passes at once: named again while busy, it waits for its pass to
// release it and is then fetched afresh.
type queue struct {
	pending map[string]bool
	order   []string // pending routers, oldest first (may hold ids no longer pending)
	busy    map[string]bool
}

func newQueue() *queue { return &queue{pending: map[string]bool{}, busy: map[string]bool{}} }

// name adds routers to the pending ones; a router already pending keeps
// its place.
func (q *queue) name(ids ...string) {
	for _, id := range ids {
		if !q.pending[id] {
			q.pending[id] = true
			q.order = append(q.order, id)
		}
	}
}

// take marks busy and returns up to n pending routers that are not
// busy, oldest first.
func (q *queue) take(n int) []string {
	var out []string
	keep := q.order[:0]
	for _, id := range q.order {
		switch {
		case !q.pending[id]:
			// taken, or cleared, since it was named
		case len(out) < n && !q.busy[id]:
			delete(q.pending, id)
			q.busy[id] = true
			out = append(out, id)
		default:
			keep = append(keep, id)
		}
	}
	clear(q.order[len(keep):])
	q.order = keep
	return out
}

// release ends a router's pass; it reports whether the router was busy.
func (q *queue) release(id string) bool {
	if !q.busy[id] {
		return false
	}
	delete(q.busy, id)
	return true
}

// forget drops every pending router (a full pass fetches them all).
func (q *queue) forget() {
	clear(q.pending)
	q.order = nil
}

// idle reports whether nothing is pending or busy.
func (q *queue) idle() bool { return len(q.pending) == 0 && len(q.busy) == 0 }
