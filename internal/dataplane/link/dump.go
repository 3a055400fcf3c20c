package link

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// dumpTries bounds retries of a dump the kernel flagged as interrupted.
const dumpTries = 5

// dump runs a netlink dump again while the kernel reports it interrupted
// (NLM_F_DUMP_INTR: the table changed during the dump, e.g. Nova plugging a
// tap or the other agent adding a device), so a reconciler never diffs
// against a partial view.
func dump[T any](what string, f func() ([]T, error)) ([]T, error) {
	var (
		out []T
		err error
	)
	for range dumpTries {
		out, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Links lists every device of the namespace.
func (x *Host) Links() ([]netlink.Link, error) {
	return dump("list links", x.h.LinkList)
}
