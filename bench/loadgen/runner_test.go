package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunLoad(t *testing.T) {
	errOdd := errors.New("odd")
	tests := []struct {
		name        string
		load        load
		op          opFunc
		wantOps     int
		wantErrors  int
		wantFirst   error
		wantLatency int
	}{
		{
			name:        "exact op count at concurrency 1",
			load:        load{concurrency: 1, ops: 7},
			op:          func(context.Context, int) error { return nil },
			wantOps:     7,
			wantLatency: 7,
		},
		{
			name:        "more workers than ops",
			load:        load{concurrency: 16, ops: 5},
			op:          func(context.Context, int) error { return nil },
			wantOps:     5,
			wantLatency: 5,
		},
		{
			name: "failures counted, not timed",
			load: load{concurrency: 4, ops: 10},
			op: func(_ context.Context, seq int) error {
				if seq%2 == 1 {
					return errOdd
				}
				return nil
			},
			wantOps:     10,
			wantErrors:  5,
			wantFirst:   errOdd,
			wantLatency: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := runLoad(context.Background(), tt.load, tt.op)
			if m.ops != tt.wantOps || m.errors != tt.wantErrors || len(m.latencies) != tt.wantLatency {
				t.Errorf("ops=%d errors=%d latencies=%d, want %d %d %d",
					m.ops, m.errors, len(m.latencies), tt.wantOps, tt.wantErrors, tt.wantLatency)
			}
			if !errors.Is(m.firstErr, tt.wantFirst) {
				t.Errorf("firstErr = %v, want %v", m.firstErr, tt.wantFirst)
			}
			if m.interrupted {
				t.Error("interrupted = true, want false")
			}
		})
	}
}

func TestRunLoadEachSeqOnce(t *testing.T) {
	var mu sync.Mutex
	seen := make(map[int]int)
	runLoad(context.Background(), load{concurrency: 8, ops: 1000}, func(_ context.Context, seq int) error {
		mu.Lock()
		seen[seq]++
		mu.Unlock()
		return nil
	})
	for seq := range 1000 {
		if seen[seq] != 1 {
			t.Fatalf("seq %d ran %d times, want once", seq, seen[seq])
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct seqs ran, want 1000", len(seen))
	}
}

func TestRunLoadDuration(t *testing.T) {
	m := runLoad(context.Background(), load{concurrency: 2, duration: 50 * time.Millisecond}, func(context.Context, int) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	if m.ops == 0 || m.elapsed < 50*time.Millisecond || m.elapsed > 5*time.Second {
		t.Errorf("ops=%d elapsed=%v, want some ops over about 50ms", m.ops, m.elapsed)
	}
}

func TestRunLoadCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	m := runLoad(ctx, load{concurrency: 4}, func(ctx context.Context, _ int) error {
		if started.Add(1) == 20 {
			cancel()
		}
		if started.Load() < 20 {
			return nil
		}
		<-ctx.Done()
		return ctx.Err() // a cancelled operation is not counted as an error
	})
	if !m.interrupted {
		t.Error("interrupted = false, want true")
	}
	if m.errors != 0 {
		t.Errorf("errors = %d, want 0", m.errors)
	}
}
