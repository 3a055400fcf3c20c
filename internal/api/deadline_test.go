package api

import (
	"context"
	"errors"
	"testing"
	"time"
)

type testKey struct{}

// TestLazyDeadline checks that the request context's deadline behaves
// as context.WithDeadline's whether or not, and when, something waits
// on it.
func TestLazyDeadline(t *testing.T) {
	waitDone := func(t *testing.T, ctx context.Context, want error) {
		t.Helper()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed after 5 s")
		}
		if err := ctx.Err(); !errors.Is(err, want) {
			t.Fatalf("Err = %v, want %v", err, want)
		}
	}
	t.Run("deadline passes unwatched", func(t *testing.T) {
		c := &lazyDeadline{parent: context.Background(), deadline: time.Now().Add(20 * time.Millisecond)}
		defer c.stop()
		if err := c.Err(); err != nil {
			t.Fatalf("Err before the deadline = %v", err)
		}
		if d, ok := c.Deadline(); !ok || !d.Equal(c.deadline) {
			t.Fatalf("Deadline = %v, %v", d, ok)
		}
		time.Sleep(30 * time.Millisecond)
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err after the deadline = %v", err)
		}
		waitDone(t, c, context.DeadlineExceeded)
	})
	t.Run("deadline passes watched by a derived context", func(t *testing.T) {
		c := &lazyDeadline{parent: context.Background(), deadline: time.Now().Add(20 * time.Millisecond)}
		defer c.stop()
		child, cancel := context.WithCancel(context.WithValue(c, testKey{}, 1))
		defer cancel()
		waitDone(t, child, context.DeadlineExceeded)
	})
	t.Run("parent cancelled", func(t *testing.T) {
		for _, watchFirst := range []bool{false, true} {
			parent, cancel := context.WithCancel(context.Background())
			c := &lazyDeadline{parent: parent, deadline: time.Now().Add(time.Hour)}
			if watchFirst {
				c.Done()
			}
			cancel()
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("watched first %v: Err = %v", watchFirst, err)
			}
			waitDone(t, c, context.Canceled)
			c.stop()
		}
	})
	t.Run("stopped", func(t *testing.T) {
		c := &lazyDeadline{parent: context.Background(), deadline: time.Now().Add(time.Hour)}
		child, cancel := context.WithCancel(c)
		defer cancel()
		c.stop()
		waitDone(t, child, context.Canceled)
	})
	t.Run("used after the request", func(t *testing.T) {
		c := &lazyDeadline{parent: context.Background(), deadline: time.Now().Add(time.Hour)}
		c.stop()
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after stop = %v", err)
		}
		waitDone(t, c, context.Canceled)
	})
	t.Run("parent's deadline earlier", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := &lazyDeadline{parent: parent, deadline: time.Now().Add(time.Hour)}
		defer c.stop()
		if d, _ := c.Deadline(); d.After(time.Now().Add(2 * time.Minute)) {
			t.Fatalf("Deadline = %v, want the parent's", d)
		}
	})
}
