package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// load describes how much work one measured run performs.
type load struct {
	concurrency int           // number of workers issuing operations
	ops         int           // operations to perform; 0 means no limit
	duration    time.Duration // stop starting operations after this long; 0 means no limit
}

// opFunc performs operation number seq (0, 1, 2, ...) of a run. Each seq is
// handed to exactly one worker.
type opFunc func(ctx context.Context, seq int) error

// measurement is the raw outcome of one run.
type measurement struct {
	latencies   []time.Duration // of successful operations, unsorted
	ops         int             // completed operations, failed ones included
	errors      int             // failed operations
	firstErr    error           // error of the earliest failure, if any
	elapsed     time.Duration   // wall time from start until the last worker stopped
	interrupted bool            // ctx was cancelled before the run finished
}

// runLoad runs op on l.concurrency workers until l.ops operations have been
// started, l.duration has passed, or ctx is cancelled, whichever comes first.
// Operations in flight when the duration ends are allowed to finish.
// Operations that fail because ctx was cancelled are not counted.
func runLoad(ctx context.Context, l load, op opFunc) measurement {
	type workerResult struct {
		latencies []time.Duration
		ops       int
		errors    int
	}
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
		results  = make([]workerResult, max(l.concurrency, 1))
		start    = time.Now()
		deadline time.Time
	)
	if l.duration > 0 {
		deadline = start.Add(l.duration)
	}
	for w := range results {
		wg.Go(func() {
			r := &results[w]
			if l.ops > 0 {
				r.latencies = make([]time.Duration, 0, l.ops/len(results)+1)
			}
			for ctx.Err() == nil {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				seq := int(next.Add(1) - 1)
				if l.ops > 0 && seq >= l.ops {
					return
				}
				t0 := time.Now()
				err := op(ctx, seq)
				d := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					return // cancelled mid-operation: neither a success nor a server error
				}
				r.ops++
				if err != nil {
					r.errors++
					errOnce.Do(func() { firstErr = err })
					continue
				}
				r.latencies = append(r.latencies, d)
			}
		})
	}
	wg.Wait()

	m := measurement{elapsed: time.Since(start), firstErr: firstErr, interrupted: ctx.Err() != nil}
	for _, r := range results {
		m.ops += r.ops
		m.errors += r.errors
		m.latencies = append(m.latencies, r.latencies...)
	}
	return m
}
