package link

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// FloodMAC is the all-zero MAC of the flood (BUM) entry of a VXLAN device.
var FloodMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

// FDBEntry is a remote forwarding entry on a VXLAN device: frames for MAC
// go to the VTEP Dst. Several entries may share the flood MAC.
type FDBEntry struct {
	MAC string // lower-case colon form
	Dst string // remote tunnel IP
}

// FDB lists the remote entries (those with a destination) of dev.
func (x *Host) FDB(dev netlink.Link) (map[FDBEntry]bool, error) {
	all, err := x.FDBAll()
	if err != nil {
		return nil, err
	}
	if m := all[dev.Attrs().Index]; m != nil {
		return m, nil
	}
	return map[FDBEntry]bool{}, nil
}

// FDBAll lists the static remote FDB entries of every device, by ifindex,
// in one dump: the kernel walks every bridge's table for each dump request,
// so one dump per pass beats one per VXLAN device.
func (x *Host) FDBAll() (map[int]map[FDBEntry]bool, error) {
	neighs, err := dump("fdb dump", func() ([]netlink.Neigh, error) { return x.h.NeighList(0, unix.AF_BRIDGE) })
	if err != nil {
		return nil, err
	}
	out := make(map[int]map[FDBEntry]bool)
	for _, n := range neighs {
		if n.IP == nil || n.Flags&netlink.NTF_SELF == 0 ||
			n.State&netlink.NUD_PERMANENT == 0 { // learned entries age out by themselves
			continue
		}
		m := out[n.LinkIndex]
		if m == nil {
			m = make(map[FDBEntry]bool)
			out[n.LinkIndex] = m
		}
		m[FDBEntry{MAC: n.HardwareAddr.String(), Dst: n.IP.String()}] = true
	}
	return out, nil
}

func fdbNeigh(dev netlink.Link, e FDBEntry) (*netlink.Neigh, error) {
	mac, err := net.ParseMAC(e.MAC)
	if err != nil {
		return nil, fmt.Errorf("fdb mac %q: %w", e.MAC, err)
	}
	ip := net.ParseIP(e.Dst)
	if ip == nil {
		return nil, fmt.Errorf("fdb dst %q: not an IP", e.Dst)
	}
	return &netlink.Neigh{
		LinkIndex:    dev.Attrs().Index,
		Family:       unix.AF_BRIDGE,
		State:        netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags:        netlink.NTF_SELF,
		IP:           ip,
		HardwareAddr: mac,
	}, nil
}

// AddFDB adds the entry. The flood MAC is appended (one entry per remote
// VTEP, `bridge fdb append`); a unicast MAC is replaced, since it lives
// behind exactly one VTEP.
func (x *Host) AddFDB(dev netlink.Link, e FDBEntry) error {
	n, err := fdbNeigh(dev, e)
	if err != nil {
		return err
	}
	if e.MAC == FloodMAC.String() {
		err = x.h.NeighAppend(n)
		if errors.Is(err, unix.EEXIST) {
			err = nil
		}
	} else {
		err = x.h.NeighSet(n)
	}
	if err != nil {
		return fmt.Errorf("fdb add %s dst %s dev %s: %w", e.MAC, e.Dst, dev.Attrs().Name, err)
	}
	return nil
}

// DelFDB removes the entry; absent is not an error.
func (x *Host) DelFDB(dev netlink.Link, e FDBEntry) error {
	n, err := fdbNeigh(dev, e)
	if err != nil {
		return err
	}
	if err := x.h.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("fdb del %s dst %s dev %s: %w", e.MAC, e.Dst, dev.Attrs().Name, err)
	}
	return nil
}

// Neighbors lists permanent IPv4 neighbour (ARP responder) entries on dev:
// IP → MAC.
func (x *Host) Neighbors(dev netlink.Link) (map[string]string, error) {
	all, err := x.NeighborsAll()
	if err != nil {
		return nil, err
	}
	if m := all[dev.Attrs().Index]; m != nil {
		return m, nil
	}
	return map[string]string{}, nil
}

// NeighborsAll lists permanent IPv4 neighbour entries of every device, by
// ifindex, in one dump.
func (x *Host) NeighborsAll() (map[int]map[string]string, error) {
	neighs, err := dump("neighbour dump", func() ([]netlink.Neigh, error) { return x.h.NeighList(0, unix.AF_INET) })
	if err != nil {
		return nil, err
	}
	out := make(map[int]map[string]string)
	for _, n := range neighs {
		if n.State&netlink.NUD_PERMANENT == 0 || n.IP == nil {
			continue
		}
		m := out[n.LinkIndex]
		if m == nil {
			m = make(map[string]string)
			out[n.LinkIndex] = m
		}
		m[n.IP.String()] = n.HardwareAddr.String()
	}
	return out, nil
}

// SetNeighbor installs a permanent neighbour entry ip → mac on dev.
func (x *Host) SetNeighbor(dev netlink.Link, ip, mac string) error {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("neighbour mac %q: %w", mac, err)
	}
	addr := net.ParseIP(ip)
	if addr == nil {
		return fmt.Errorf("neighbour ip %q: not an IP", ip)
	}
	n := &netlink.Neigh{LinkIndex: dev.Attrs().Index, Family: unix.AF_INET,
		State: netlink.NUD_PERMANENT, IP: addr, HardwareAddr: hw}
	if err := x.h.NeighSet(n); err != nil {
		return fmt.Errorf("neighbour %s lladdr %s dev %s: %w", ip, mac, dev.Attrs().Name, err)
	}
	return nil
}

// DelNeighbor removes the neighbour entry for ip on dev; absent is fine.
func (x *Host) DelNeighbor(dev netlink.Link, ip string) error {
	addr := net.ParseIP(ip)
	if addr == nil {
		return fmt.Errorf("neighbour ip %q: not an IP", ip)
	}
	n := &netlink.Neigh{LinkIndex: dev.Attrs().Index, Family: unix.AF_INET, IP: addr}
	if err := x.h.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("neighbour del %s dev %s: %w", ip, dev.Attrs().Name, err)
	}
	return nil
}
