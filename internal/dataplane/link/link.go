package link

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Host is a netlink handle bound to one network namespace: the "host" the
// agent manages (the root namespace in production, a test namespace in
// tests).
type Host struct {
	h *netlink.Handle
}

// Open returns a Host for the namespace ns (netns.None() for the caller's
// own namespace).
func Open(ns netns.NsHandle) (*Host, error) {
	var (
		h   *netlink.Handle
		err error
	)
	if ns.IsOpen() {
		h, err = netlink.NewHandleAt(ns)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("netlink handle: %w", err)
	}
	return &Host{h: h}, nil
}

// OpenCurrent returns a Host for the caller's own namespace (the agent
// running on the host itself).
func OpenCurrent() (*Host, error) { return Open(netns.None()) }

// Close releases the netlink sockets.
func (x *Host) Close() { x.h.Close() }

// Netlink exposes the underlying handle for calls this package does not wrap.
func (x *Host) Netlink() *netlink.Handle { return x.h }

// IsNotFound reports whether err means the device does not exist.
func IsNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// Get returns the device called name, or nil if there is none.
func (x *Host) Get(name string) (netlink.Link, error) {
	l, err := x.h.LinkByName(name)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", name, err)
	}
	return l, nil
}

// List returns the devices whose names start with prefix, by name.
func (x *Host) List(prefix string) (map[string]netlink.Link, error) {
	all, err := x.Links()
	if err != nil {
		return nil, err
	}
	out := make(map[string]netlink.Link)
	for _, l := range all {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			out[l.Attrs().Name] = l
		}
	}
	return out, nil
}

// Delete removes the device called name; absent is not an error.
func (x *Host) Delete(name string) error {
	l, err := x.Get(name)
	if err != nil || l == nil {
		return err
	}
	if err := x.h.LinkDel(l); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// EnsureBridge creates the bridge if missing, sets its MTU (if mtu > 0)
// and brings it up. It returns the bridge.
func (x *Host) EnsureBridge(name string, mtu int) (netlink.Link, error) {
	l, err := x.Get(name)
	if err != nil {
		return nil, err
	}
	if l != nil {
		if l.Type() != "bridge" {
			return nil, fmt.Errorf("%s exists and is a %s, not a bridge", name, l.Type())
		}
	} else {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu}}
		if err := x.h.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("add bridge %s: %w", name, err)
		}
		if l, err = x.h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("bridge %s: %w", name, err)
		}
	}
	return l, x.EnsureState(l, mtu, true)
}

// EnsureState sets the MTU (if mtu > 0 and different) and the
// administrative state of a device, touching only what differs.
func (x *Host) EnsureState(l netlink.Link, mtu int, up bool) error {
	a := l.Attrs()
	if mtu > 0 && a.MTU != mtu {
		if err := x.h.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("%s mtu %d: %w", a.Name, mtu, err)
		}
	}
	isUp := a.Flags&net.FlagUp != 0
	switch {
	case up && !isUp:
		if err := x.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("%s up: %w", a.Name, err)
		}
	case !up && isUp:
		if err := x.h.LinkSetDown(l); err != nil {
			return fmt.Errorf("%s down: %w", a.Name, err)
		}
	}
	return nil
}

// EnsureMaster attaches l to the bridge br unless it already is.
func (x *Host) EnsureMaster(l, br netlink.Link) error {
	if l.Attrs().MasterIndex == br.Attrs().Index {
		return nil
	}
	if err := x.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("%s master %s: %w", l.Attrs().Name, br.Attrs().Name, err)
	}
	return nil
}

// Members returns the devices attached to the bridge br, by name.
func (x *Host) Members(br netlink.Link) (map[string]netlink.Link, error) {
	all, err := x.Links()
	if err != nil {
		return nil, err
	}
	out := make(map[string]netlink.Link)
	for _, l := range all {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			out[l.Attrs().Name] = l
		}
	}
	return out, nil
}

// AddrOf returns the device holding the address ip, for VXLAN's underlay
// device (Neutron binds the VXLAN device to the interface of local_ip).
func (x *Host) AddrOf(ip net.IP) (netlink.Link, error) {
	addrs, err := dump("list addresses", func() ([]netlink.Addr, error) { return x.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			l, err := x.h.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("link of %s: %w", ip, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("no device holds local_ip %s", ip)
}
