package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter records what is written and how many writes it took.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

func (c *countingWriter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func TestLineWriter(t *testing.T) {
	for _, tc := range []struct {
		name              string
		writers, perWrite int
		size              int
	}{
		{"alone", 1, 50, flushSize},
		{"concurrent", 16, 200, flushSize},
		{"concurrent, small buffer", 16, 200, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cw := &countingWriter{}
			lw := newLineWriter(cw)
			lw.size = tc.size
			var wg sync.WaitGroup
			for g := range tc.writers {
				wg.Go(func() {
					for i := range tc.perWrite {
						line := fmt.Sprintf("writer=%d line=%d %s\n", g, i, strings.Repeat("x", i%40))
						if n, err := lw.Write([]byte(line)); err != nil || n != len(line) {
							t.Errorf("Write = %d, %v; want %d, nil", n, err, len(line))
						}
					}
				})
			}
			wg.Wait()
			lw.Flush()
			// Every line is out, whole, and each writer's in its order.
			lines := strings.Split(strings.TrimSuffix(cw.String(), "\n"), "\n")
			if len(lines) != tc.writers*tc.perWrite {
				t.Fatalf("%d lines written, want %d", len(lines), tc.writers*tc.perWrite)
			}
			next := make([]int, tc.writers)
			for _, l := range lines {
				var g, i int
				fmt.Sscanf(l, "writer=%d line=%d", &g, &i)
				if g < 0 || g >= tc.writers || i != next[g] || l != fmt.Sprintf("writer=%d line=%d %s", g, i, strings.Repeat("x", i%40)) {
					t.Fatalf("line %q out of order or torn", l)
				}
				next[g]++
			}
			if cw.writes >= len(lines)/4 {
				t.Errorf("%d writes for %d lines: not gathered", cw.writes, len(lines))
			}
		})
	}
}

// TestLineWriterFlushesAlone checks that a line nothing follows is
// written within the delay, without a Flush.
func TestLineWriterFlushesAlone(t *testing.T) {
	cw := &countingWriter{}
	lw := newLineWriter(cw)
	lw.Write([]byte("one\n"))
	deadline := time.Now().Add(5 * time.Second)
	for cw.String() != "one\n" {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the writer holds %q", cw.String())
		}
		time.Sleep(time.Millisecond)
	}
}
