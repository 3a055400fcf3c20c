package link_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// sysctl writes a namespace's /proc/sys/net value.
func sysctl(t *testing.T, ns netns.Handle, path, value string) {
	t.Helper()
	nsrig.Must(t, netns.Do(ns, func() error { return os.WriteFile("/proc/sys/net/"+path, []byte(value), 0o644) }))
}

// neighState is the state of a's neighbour entry for ip on dev, 0 when
// there is none.
func neighState(t *testing.T, h *link.Host, dev string, ip net.IP) int {
	t.Helper()
	l, err := h.Netlink().LinkByName(dev)
	nsrig.Must(t, err)
	ns, err := h.Netlink().NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	nsrig.Must(t, err)
	for _, n := range ns {
		if n.IP.Equal(ip) {
			return n.State
		}
	}
	return 0
}

// TestARPRequestResolvesIncompleteNeighbour: a neighbour entry left
// INCOMPLETE by a request no one answered resolves as soon as ARPRequest
// asks again, although the kernel would ask again only a minute later
// (retrans_time_ms is set so): the L3 part's cure for a router whose
// gateway device sent its first request before its tap was on a bridge.
func TestARPRequestResolvesIncompleteNeighbour(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	a, b := r.NS("arpa"), r.NS("arpb")
	ha := r.Host(a)
	r.Veth(ha, "a0", b, "b0", "", "", "10.77.0.2/24")
	nsrig.Addr(t, ha, "a0", "10.77.0.1/24")
	sysctl(t, a, "ipv4/neigh/a0/retrans_time_ms", "60000")
	sysctl(t, b, "ipv4/conf/all/arp_ignore", "8") // b hears a's first request but does not answer
	peer := net.ParseIP("10.77.0.2")

	nsrig.Must(t, netns.Do(a, func() error {
		c, err := net.Dial("udp4", "10.77.0.2:9")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("x"))
		return err
	}))
	nsrig.WaitFor(t, "an INCOMPLETE entry for the peer", 5*time.Second, func() error {
		if st := neighState(t, ha, "a0", peer); st != netlink.NUD_INCOMPLETE {
			return fmt.Errorf("state %#x", st)
		}
		return nil
	})
	sysctl(t, b, "ipv4/conf/all/arp_ignore", "0")
	time.Sleep(200 * time.Millisecond)
	if st := neighState(t, ha, "a0", peer); st != netlink.NUD_INCOMPLETE {
		t.Fatalf("the entry resolved without a request (state %#x): the test proves nothing", st)
	}

	nsrig.Must(t, link.ARPRequest(a, "a0", netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2")))
	nsrig.WaitFor(t, "the peer resolved", 5*time.Second, func() error {
		if st := neighState(t, ha, "a0", peer); st&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY) == 0 {
			return fmt.Errorf("state %#x", st)
		}
		return nil
	})
}

// TestGratuitousARPsResolveIncompleteNeighbours: addresses a neighbour
// asked for before they existed (the outside polling floating IPs as
// they are associated) resolve as soon as their new holder announces
// them, all on one sender, although the neighbour would ask again only
// a minute later (retrans_time_ms is set so).
func TestGratuitousARPsResolveIncompleteNeighbours(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	a, b := r.NS("garpa"), r.NS("garpb")
	ha, hb := r.Host(a), r.Host(b)
	r.Veth(ha, "a0", b, "b0", "", "", "10.78.0.2/24")
	nsrig.Addr(t, ha, "a0", "10.78.0.1/24")
	sysctl(t, a, "ipv4/neigh/a0/retrans_time_ms", "60000")
	var addrs []netip.Addr
	for i := range 20 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, 78, 0, byte(10 + i)}))
	}
	nsrig.Must(t, netns.Do(a, func() error {
		for _, ip := range addrs {
			c, err := net.Dial("udp4", ip.String()+":9")
			if err != nil {
				return err
			}
			_, err = c.Write([]byte("x"))
			c.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}))
	nsrig.WaitFor(t, "INCOMPLETE entries for the addresses", 5*time.Second, func() error {
		for _, ip := range addrs {
			if st := neighState(t, ha, "a0", net.IP(ip.AsSlice())); st != netlink.NUD_INCOMPLETE {
				return fmt.Errorf("%s: state %#x", ip, st)
			}
		}
		return nil
	})
	for _, ip := range addrs {
		nsrig.Addr(t, hb, "b0", ip.String()+"/32")
	}
	time.Sleep(200 * time.Millisecond)
	if st := neighState(t, ha, "a0", net.IP(addrs[0].AsSlice())); st != netlink.NUD_INCOMPLETE {
		t.Fatalf("the entry resolved without an announcement (state %#x): the test proves nothing", st)
	}

	s, err := link.OpenARP(b, "b0")
	nsrig.Must(t, err)
	for _, ip := range addrs {
		nsrig.Must(t, s.Gratuitous(ip))
	}
	nsrig.Must(t, s.Close())
	nsrig.WaitFor(t, "every address resolved", 5*time.Second, func() error {
		for _, ip := range addrs {
			if st := neighState(t, ha, "a0", net.IP(ip.AsSlice())); st&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY) == 0 {
				return fmt.Errorf("%s: state %#x", ip, st)
			}
		}
		return nil
	})
}
