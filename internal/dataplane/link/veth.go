package link

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// AgentPort is a veth pair joining a bridge on the host to a device inside
// an agent namespace (Neutron's BridgeInterfaceDriver: tap… on the bridge,
// ns-… in qdhcp-…).
type AgentPort struct {
	HostName string         // tap<port-id[:11]>
	NSName   string         // ns-<port-id[:11]>
	NS       netns.NsHandle // the agent namespace
	MAC      string         // MAC of the namespace-side device
	MTU      int            // both ends, if > 0
	Addrs    []*net.IPNet   // addresses of the namespace-side device
	// Bridge, when set, gets the host-side end attached; nil leaves the
	// attachment to the L2 agent, as for a VM's tap (router ports).
	Bridge netlink.Link
}

// EnsureAgentPort creates or repairs the veth pair and converges the
// namespace side's MAC, MTU and addresses. A half-present pair (one end
// deleted by hand) is recreated.
func (x *Host) EnsureAgentPort(p AgentPort) error {
	inner, err := netlink.NewHandleAt(p.NS)
	if err != nil {
		return fmt.Errorf("netlink handle in agent netns: %w", err)
	}
	defer inner.Close()

	hostEnd, err := x.Get(p.HostName)
	if err != nil {
		return err
	}
	nsEnd, err := inner.LinkByName(p.NSName)
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("link %s: %w", p.NSName, err)
	}
	if err != nil {
		nsEnd = nil
	}
	if hostEnd == nil || nsEnd == nil || hostEnd.Type() != "veth" {
		if hostEnd != nil {
			if err := x.h.LinkDel(hostEnd); err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete half pair %s: %w", p.HostName, err)
			}
		}
		if nsEnd != nil {
			if err := inner.LinkDel(nsEnd); err != nil && !IsNotFound(err) {
				return fmt.Errorf("delete half pair %s: %w", p.NSName, err)
			}
		}
		attrs := netlink.LinkAttrs{Name: p.HostName, MTU: p.MTU}
		if p.Bridge != nil {
			attrs.MasterIndex = p.Bridge.Attrs().Index
		}
		v := &netlink.Veth{
			LinkAttrs:     attrs,
			PeerName:      p.NSName,
			PeerNamespace: netlink.NsFd(int(p.NS)),
		}
		if p.MAC != "" {
			if v.PeerHardwareAddr, err = net.ParseMAC(p.MAC); err != nil {
				return fmt.Errorf("agent port mac %q: %w", p.MAC, err)
			}
		}
		if err := x.h.LinkAdd(v); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add veth %s/%s: %w", p.HostName, p.NSName, err)
		}
		if hostEnd, err = x.h.LinkByName(p.HostName); err != nil {
			return fmt.Errorf("link %s: %w", p.HostName, err)
		}
		if nsEnd, err = inner.LinkByName(p.NSName); err != nil {
			return fmt.Errorf("link %s: %w", p.NSName, err)
		}
	}
	if p.Bridge != nil {
		if err := x.EnsureMaster(hostEnd, p.Bridge); err != nil {
			return err
		}
	}
	if err := x.EnsureState(hostEnd, p.MTU, true); err != nil {
		return err
	}
	in := &Host{h: inner}
	if p.MAC != "" && nsEnd.Attrs().HardwareAddr.String() != p.MAC {
		mac, _ := net.ParseMAC(p.MAC)
		if err := inner.LinkSetHardwareAddr(nsEnd, mac); err != nil {
			return fmt.Errorf("%s mac: %w", p.NSName, err)
		}
	}
	if err := in.EnsureState(nsEnd, p.MTU, true); err != nil {
		return err
	}
	return in.EnsureAddrs(nsEnd, p.Addrs)
}

// EnsureAddrs makes the global addresses of l exactly want; link-local
// addresses (the kernel's IPv6 one) are added when wanted but never
// removed.
func (x *Host) EnsureAddrs(l netlink.Link, want []*net.IPNet) error {
	have, err := dump("addresses of "+l.Attrs().Name, func() ([]netlink.Addr, error) { return x.h.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return err
	}
	wantSet := make(map[string]*net.IPNet, len(want))
	for _, w := range want {
		wantSet[w.String()] = w
	}
	for _, a := range have {
		k := a.IPNet.String()
		if _, ok := wantSet[k]; ok {
			delete(wantSet, k)
			continue
		}
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		if err := x.h.AddrDel(l, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("%s del addr %s: %w", l.Attrs().Name, k, err)
		}
	}
	for k, w := range wantSet {
		if err := x.h.AddrAdd(l, &netlink.Addr{IPNet: w}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s add addr %s: %w", l.Attrs().Name, k, err)
		}
	}
	return nil
}
