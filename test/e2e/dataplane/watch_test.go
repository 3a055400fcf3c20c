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
	requireDataplane(t)
	r := newRig(t)
	ns := r.ns("h")
	h := r.host(ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := link.Watch(ctx, ns, link.TapPrefix)
	must(t, err)

	_, err = h.EnsureBridge("br-other", 0)
	must(t, err)
	port := uuid()
	start := time.Now()
	r.vm("vm", h, port, "fa:16:3e:12:34:56")
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
