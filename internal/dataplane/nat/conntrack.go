package nat

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ForgetAddress deletes the namespace's connection tracking entries of
// an address that stops being translated (a floating IP removed or
// moved), as Neutron's L3 agent runs `conntrack -D -d IP` and `-q IP`:
// entries sent to it (inbound through its DNAT) and entries answered to
// it (outbound through its SNAT). Without this, established flows would
// keep their old translation. It returns how many entries went.
func ForgetAddress(ns netns.NsHandle, a netip.Addr) (uint, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return 0, fmt.Errorf("conntrack: netlink handle: %w", err)
	}
	defer h.Close()
	family := netlink.InetFamily(netlink.FAMILY_V4)
	if a.Is6() {
		family = netlink.FAMILY_V6
	}
	ip := net.IP(a.AsSlice())
	in, out := &netlink.ConntrackFilter{}, &netlink.ConntrackFilter{}
	if err := errors.Join(in.AddIP(netlink.ConntrackOrigDstIP, ip), out.AddIP(netlink.ConntrackReplyDstIP, ip)); err != nil {
		return 0, fmt.Errorf("conntrack filter for %v: %w", a, err)
	}
	n, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, family, in, out)
	if err != nil {
		return n, fmt.Errorf("conntrack: delete entries of %v: %w", a, err)
	}
	return n, nil
}

// ForgetForwarding deletes the namespace's connection tracking entries
// of a port forwarding that goes or changes, as Neutron's port
// forwarding extension runs `conntrack -D -d FIP -p PROTO --dport PORT`:
// the connections sent to its external address, protocol and port range
// would otherwise keep their old translation. It returns how many went.
func ForgetForwarding(ns netns.NsHandle, pf PortForwarding) (uint, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return 0, fmt.Errorf("conntrack: netlink handle: %w", err)
	}
	defer h.Close()
	n, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, netlink.FAMILY_V4, forwardingFilter(pf))
	if err != nil {
		return n, fmt.Errorf("conntrack: delete entries of %s %v:%d-%d: %w", pf.Protocol, pf.External, pf.ExternalStart, pf.ExternalEnd, err)
	}
	return n, nil
}

// forwardingFilter matches the flows sent to a port forwarding's
// external address, protocol and ports (netlink's own filter takes one
// port, a forwarding may have a range).
type forwardingFilter PortForwarding

func (f forwardingFilter) MatchConntrackFlow(flow *netlink.ConntrackFlow) bool {
	proto := uint8(unix.IPPROTO_TCP)
	if f.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	dst, ok := netip.AddrFromSlice(flow.Forward.DstIP)
	return ok && dst.Unmap() == f.External && flow.Forward.Protocol == proto &&
		flow.Forward.DstPort >= f.ExternalStart && flow.Forward.DstPort <= f.ExternalEnd
}
