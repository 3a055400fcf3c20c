package link

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VXLAN is the wanted configuration of a VXLAN device.
type VXLAN struct {
	VNI     int
	Local   net.IP
	DevName string // underlay device; looked up from Local when empty
	Group   net.IP // multicast group, nil for unicast (l2pop or head-end)
	TTL     int
	TOS     int
	Port    int  // UDP port; 0 keeps the kernel default, as Neutron does
	Learn   bool // MAC learning; off with l2population
	Proxy   bool // ARP proxy (Neutron's arp_responder)
	MTU     int
}

// EnsureVXLAN creates vxlan-<vni> as wanted, or replaces it when an
// existing one differs in an attribute that cannot be changed in place,
// sets its MTU and brings it up.
func (x *Host) EnsureVXLAN(v VXLAN) (netlink.Link, error) {
	name := VXLANName(v.VNI)
	var dev netlink.Link
	var err error
	if v.DevName != "" {
		dev, err = x.h.LinkByName(v.DevName)
	} else {
		dev, err = x.AddrOf(v.Local)
	}
	if err != nil {
		return nil, fmt.Errorf("vxlan %d underlay: %w", v.VNI, err)
	}
	want := &netlink.Vxlan{
		LinkAttrs:    netlink.LinkAttrs{Name: name, MTU: v.MTU},
		VxlanId:      v.VNI,
		VtepDevIndex: dev.Attrs().Index,
		SrcAddr:      v.Local,
		Group:        v.Group,
		TTL:          v.TTL,
		TOS:          v.TOS,
		Learning:     v.Learn,
		Proxy:        v.Proxy,
		Port:         v.Port,
	}
	l, err := x.Get(name)
	if err != nil {
		return nil, err
	}
	if l != nil && !vxlanMatches(l, want) {
		if err := x.h.LinkDel(l); err != nil && !IsNotFound(err) {
			return nil, fmt.Errorf("replace %s: %w", name, err)
		}
		l = nil
	}
	if l == nil {
		if err := x.h.LinkAdd(want); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("add %s: %w", name, err)
		}
		if l, err = x.h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return l, x.EnsureState(l, v.MTU, true)
}

func vxlanMatches(l netlink.Link, want *netlink.Vxlan) bool {
	have, ok := l.(*netlink.Vxlan)
	if !ok {
		return false
	}
	eqIP := func(a, b net.IP) bool { return (len(a) == 0 && len(b) == 0) || a.Equal(b) }
	return have.VxlanId == want.VxlanId &&
		have.VtepDevIndex == want.VtepDevIndex &&
		eqIP(have.SrcAddr, want.SrcAddr) &&
		eqIP(have.Group, want.Group) &&
		have.TTL == want.TTL && have.TOS == want.TOS &&
		have.Learning == want.Learning && have.Proxy == want.Proxy &&
		(want.Port == 0 || have.Port == want.Port)
}
