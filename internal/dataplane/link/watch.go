package link

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// watchBuffer is the netlink socket's receive buffer. The kernel's default
// (about 200 KiB) overflows when a hundred taps are plugged at once, each
// announced several times, and an overflowed subscription ends.
const watchBuffer = 4 << 20

// Resubscribed is sent on a Watch channel when the subscription failed
// (the socket overflowed, so events were lost) and was made again: the
// receiver should look at everything.
const Resubscribed = ""

// Watch reports the names of devices starting with prefix that are added,
// changed or removed in namespace ns (netns.None() for the caller's own),
// until ctx ends. An agent uses it to run a pass as soon as Nova plugs a tap
// instead of polling for it (Neutron's Linux-bridge agent polls every
// polling_interval). Events are hints: a pass still reads the whole state,
// and a full channel drops events rather than blocking netlink. A failed
// subscription is made again and announced with Resubscribed. The channel
// is closed when ctx ends.
func Watch(ctx context.Context, ns netns.NsHandle, prefix string) (<-chan string, error) {
	updates, done, err := subscribe(ns)
	if err != nil {
		return nil, err
	}
	out := make(chan string, 64)
	send := func(name string) {
		select {
		case out <- name:
		default:
		}
	}
	go func() {
		defer close(out)
		defer func() { close(done) }()
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if ok {
					if name := u.Attrs().Name; strings.HasPrefix(name, prefix) {
						send(name)
					}
					continue
				}
			}
			// The subscription ended (netlink closes it on a receive
			// error): subscribe again, then have everything looked at.
			close(done)
			for {
				if updates, done, err = subscribe(ns); err == nil {
					break
				}
				select {
				case <-ctx.Done():
					done = make(chan struct{})
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			send(Resubscribed)
		}
	}()
	return out, nil
}

// subscribe subscribes to ns's link updates with a watchBuffer receive
// buffer: forced past the system's limit with CAP_NET_ADMIN, else as large
// as the limit allows.
func subscribe(ns netns.NsHandle) (chan netlink.LinkUpdate, chan struct{}, error) {
	var err error
	for _, force := range []bool{true, false} {
		updates := make(chan netlink.LinkUpdate, 256)
		done := make(chan struct{})
		opts := netlink.LinkSubscribeOptions{ErrorCallback: func(error) {},
			ReceiveBufferSize: watchBuffer, ReceiveBufferForceSize: force}
		if ns.IsOpen() {
			opts.Namespace = &ns
		}
		if err = netlink.LinkSubscribeWithOptions(updates, done, opts); err == nil {
			return updates, done, nil
		}
		close(done)
	}
	return nil, nil, fmt.Errorf("link subscribe: %w", err)
}
