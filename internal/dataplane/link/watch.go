package link

import (
	"context"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Watch reports the names of devices starting with prefix that are added,
// changed or removed in namespace ns (netns.None() for the caller's own),
// until ctx ends. An agent uses it to run a pass as soon as Nova plugs a tap
// instead of polling for it (Neutron's Linux-bridge agent polls every
// polling_interval). Events are hints: a pass still reads the whole state,
// and a full buffer drops events rather than blocking netlink (the periodic
// resync covers a dropped one). The channel is closed when ctx ends or the
// subscription fails.
func Watch(ctx context.Context, ns netns.NsHandle, prefix string) (<-chan string, error) {
	updates := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	opts := netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}}
	if ns.IsOpen() {
		opts.Namespace = &ns
	}
	if err := netlink.LinkSubscribeWithOptions(updates, done, opts); err != nil {
		close(done)
		return nil, fmt.Errorf("link subscribe: %w", err)
	}
	out := make(chan string, 64)
	go func() {
		defer close(out)
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				name := u.Attrs().Name
				if !strings.HasPrefix(name, prefix) {
					continue
				}
				select {
				case out <- name:
				default:
				}
			}
		}
	}()
	return out, nil
}
