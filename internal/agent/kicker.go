package agent

import (
	"sync/atomic"
	"time"
)

// Kicker paces a level-triggered part: Trigger asks for a pass soon, and
// triggers that arrive while one is pending or running coalesce into one
// more pass. Parts embed it, mark a pass's start with Begin and count
// their finished passes with Done; the agent runtime names it after the
// part, and Done then times the pass in neutrino_agent_pass_duration_seconds.
type Kicker struct {
	c      chan struct{}
	passes atomic.Int64
	begun  atomic.Int64 // unix nanoseconds of the running pass's Begin; 0 for none
	// agentType labels the pass metrics; set by the runtime before the
	// part runs.
	agentType string
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

// Begin marks the start of a pass.
func (k *Kicker) Begin() { k.begun.Store(time.Now().UnixNano()) }

// Done records a finished pass, timing it from Begin.
func (k *Kicker) Done() {
	k.passes.Add(1)
	if begun := k.begun.Swap(0); begun != 0 && k.agentType != "" {
		passSeconds.WithLabelValues(k.agentType).Observe(time.Since(time.Unix(0, begun)).Seconds())
	}
}

// Passes reports how many passes finished (tests, metrics).
func (k *Kicker) Passes() int { return int(k.passes.Load()) }

func (k *Kicker) nameFor(agentType string) { k.agentType = agentType }

// kicked is a part that embeds a Kicker.
type kicked interface{ nameFor(agentType string) }
