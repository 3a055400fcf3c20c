package agent

import "sync/atomic"

// Kicker paces a level-triggered part: Trigger asks for a pass soon, and
// triggers that arrive while one is pending or running coalesce into one
// more pass. Parts embed it and count their finished passes with Done.
type Kicker struct {
	c      chan struct{}
	passes atomic.Int64
}

// NewKicker returns a Kicker with no pass pending.
func NewKicker() *Kicker { return &Kicker{c: make(chan struct{}, 1)} }

// Trigger asks for a pass soon; it never blocks.
func (k *Kicker) Trigger() {
	select {
	case k.c <- struct{}{}:
	default:
	}
}

// Kicked delivers a value when a pass was asked for.
func (k *Kicker) Kicked() <-chan struct{} { return k.c }

// Done records a finished pass.
func (k *Kicker) Done() { k.passes.Add(1) }

// Passes reports how many passes finished (tests, metrics).
func (k *Kicker) Passes() int { return int(k.passes.Load()) }
