package l3

import (
	"slices"
	"testing"
)

// TestQueue checks the partial passes' work list: routers are taken
// oldest first, at most as many as asked, never one that is busy; a
// router named again while busy waits for its release and keeps its
// place among the pending.
func TestQueue(t *testing.T) {
	type step struct {
		name    []string // named before the take
		release []string // released before the take
		take    int
		want    []string
		idle    bool // after the take
	}
	for _, c := range []struct {
		what  string
		steps []step
	}{
		{"oldest first, bounded", []step{
			{name: []string{"c", "a", "b", "a"}, take: 2, want: []string{"c", "a"}},
			{take: 4, want: []string{"b"}},
			{release: []string{"a", "b", "c"}, take: 4, idle: true},
		}},
		{"named again while busy", []step{
			{name: []string{"a"}, take: 4, want: []string{"a"}},
			{name: []string{"a", "b"}, take: 4, want: []string{"b"}},
			{release: []string{"a"}, take: 4, want: []string{"a"}},
			{release: []string{"a", "b"}, take: 4, idle: true},
		}},
		{"a busy router keeps its place", []step{
			{name: []string{"a"}, take: 1, want: []string{"a"}},
			{name: []string{"a", "b", "c"}, take: 0},
			{release: []string{"a"}, take: 2, want: []string{"a", "b"}},
			{take: 1, want: []string{"c"}},
		}},
	} {
		q := newQueue()
		for i, s := range c.steps {
			q.name(s.name...)
			for _, id := range s.release {
				if !q.release(id) {
					t.Errorf("%s: step %d: %s was not busy", c.what, i, id)
				}
			}
			if got := q.take(s.take); !slices.Equal(got, s.want) {
				t.Errorf("%s: step %d: took %v, want %v", c.what, i, got, s.want)
			}
			if q.idle() != s.idle {
				t.Errorf("%s: step %d: idle %v, want %v", c.what, i, q.idle(), s.idle)
			}
		}
	}
	q := newQueue()
	q.name("a", "b")
	q.forget()
	if got := q.take(4); len(got) != 0 || !q.idle() {
		t.Errorf("after forget: took %v, idle %v", got, q.idle())
	}
}
