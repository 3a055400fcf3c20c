package dataplane_test

import (
	"context"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
)

// TestWatchTaps: a tap plugged into a host namespace is reported at once,
// other devices are not, and cancelling the context closes the channel.
func TestWatchTaps(t *testing.T) {
	RequireDataplane(t)
	r := New(t)
	ns := r.NS("h")
	h := r.Host(ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := link.Watch(ctx, ns, link.TapPrefix)
	Must(t, err)

	_, err = h.EnsureBridge("br-other", 0)
	Must(t, err)
	port := UUID()
	start := time.Now()
	r.VM("vm", h, port, "fa:16:3e:12:34:56")
	select {
	case name := <-events:
		if name != link.TapName(port) {
			t.Fatalf("event for %q, want %q", name, link.TapName(port))
		}
		t.Logf("tap event after %v", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the new tap")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case name, ok := <-events:
			if !ok {
				return
			}
			if name != link.TapName(port) {
				t.Fatalf("event for %q", name)
			}
		case <-deadline:
			t.Fatal("channel not closed after cancel")
		}
	}
}
