package nsrig

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// Router builds a router namespace between an inside and an outside
// namespace, as the data-plane tests of a router's tables need one: the
// router has qr-<tag> with the first address of inside and qg-<tag> with
// 203.0.113.1/24, and forwards IPv4; the inside's eth0 has inside's
// second address and its default route through the router, the
// outside's eth0 has 203.0.113.2/24 and a route back to inside through
// the router. The namespaces are named <tag>r, <tag>in and
// <tag>out.
func (r *Rig) Router(tag string, inside netip.Prefix) (rns, in, out netns.Handle) {
	tb := r.TB
	tb.Helper()
	gw := inside.Masked().Addr().Next()
	rns, in, out = r.NS(tag+"r"), r.NS(tag+"in"), r.NS(tag+"out")
	ih, oh := r.Host(in), r.Host(out)
	r.Veth(ih, "eth0", rns, "qr-"+tag, "", "", fmt.Sprintf("%s/%d", gw, inside.Bits()))
	r.Veth(oh, "eth0", rns, "qg-"+tag, "", "", "203.0.113.1/24")
	Addr(tb, ih, "eth0", fmt.Sprintf("%s/%d", gw.Next(), inside.Bits()))
	Addr(tb, oh, "eth0", "203.0.113.2/24")
	Must(tb, netns.Do(rns, func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644) }))
	for _, rt := range []struct {
		h   interface{ Netlink() *netlink.Handle }
		dst string
		via string
	}{{ih, "0.0.0.0/0", gw.String()}, {oh, inside.Masked().String(), "203.0.113.1"}} {
		l, err := rt.h.Netlink().LinkByName("eth0")
		Must(tb, err)
		_, dst, err := net.ParseCIDR(rt.dst)
		Must(tb, err)
		Must(tb, rt.h.Netlink().RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: net.ParseIP(rt.via)}))
	}
	return rns, in, out
}
