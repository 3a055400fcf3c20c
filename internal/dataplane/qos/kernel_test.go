package qos_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/dataplane/qos"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// TestApply sets limits and marks on a tap in a namespace of the test's,
// reads them back from the kernel, sees a marked packet cross the bridge,
// changes and removes them.
func TestApply(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("qos")
	h := r.Host(ns)
	br, err := h.EnsureBridge("brqqostest", 0)
	nsrig.Must(t, err)
	a := r.VM("a", h, nsrig.UUID(), "fa:16:3e:00:00:01")
	b := r.VM("b", h, nsrig.UUID(), "fa:16:3e:00:00:02")
	for i, v := range []*nsrig.VM{a, b} {
		tap, err := h.Get(link.TapName(v.Port))
		nsrig.Must(t, err)
		nsrig.Must(t, h.EnsureMaster(tap, br))
		nsrig.Must(t, h.EnsureState(tap, 0, true))
		vh := r.Host(v.NS)
		nsrig.Addr(t, vh, "eth0", fmt.Sprintf("10.77.0.%d/24", i+1))
	}
	nsrig.Must(t, h.EnsureState(br, 0, true))
	tapA := link.TapName(a.Port)
	e, err := qos.New(ns, h.Netlink())
	nsrig.Must(t, err)
	nl := h.Netlink()
	l, err := nl.LinkByName(tapA)
	nsrig.Must(t, err)

	tbfOf := func() *netlink.Tbf {
		t.Helper()
		qs, err := nl.QdiscList(l)
		nsrig.Must(t, err)
		for _, q := range qs {
			if x, ok := q.(*netlink.Tbf); ok {
				return x
			}
		}
		return nil
	}
	rules := func() int {
		t.Helper()
		c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
		nsrig.Must(t, err)
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyBridge)
		nsrig.Must(t, err)
		for _, tb := range tables {
			if tb.Name == qos.TableName {
				rs, err := c.GetRules(tb, &nftables.Chain{Name: "qos", Table: tb})
				nsrig.Must(t, err)
				return len(rs)
			}
		}
		return -1
	}

	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA, EgressKbps: 8000, IngressKbps: 4000, IngressBurstKbit: 400, DSCP: 26, HasDSCP: true},
		{Tap: "tapmissing00"}}))
	if tbf := tbfOf(); tbf == nil || tbf.Rate != 4000*1000/8 {
		t.Errorf("token bucket %+v, want 500000 bytes/s", tbf)
	}
	if n := rules(); n != 3 {
		t.Errorf("%d rules, want 3 (the policer, the IPv4 and IPv6 marks)", n)
	}
	if tos, err := tosOf(a, b, "10.77.0.2"); err != nil || tos>>2 != 26 {
		t.Errorf("a's datagram arrives with TOS %#x (%v), want DSCP 26", tos, err)
	}
	if tos, err := tosOf(b, a, "10.77.0.1"); err != nil || tos != 0 {
		t.Errorf("b's datagram arrives with TOS %#x (%v), want 0", tos, err)
	}
	// A second pass changes nothing and fails nothing.
	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA, EgressKbps: 8000, IngressKbps: 4000, IngressBurstKbit: 400, DSCP: 26, HasDSCP: true}}))
	// Changed, then removed.
	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA, EgressKbps: 2000}}))
	if tbf := tbfOf(); tbf != nil {
		t.Errorf("token bucket %+v after the ingress limit went", tbf)
	}
	if n := rules(); n != 1 {
		t.Errorf("%d rules after the marks went, want the policer", n)
	}
	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA}}))
	if n := rules(); n != -1 {
		t.Errorf("table with %d rules after every rule went", n)
	}
	if tos, err := tosOf(a, b, "10.77.0.2"); err != nil || tos != 0 {
		t.Errorf("a's datagram after the marks went: TOS %#x (%v)", tos, err)
	}
}

// tosOf sends a UDP datagram from one VM to another's address and
// returns the TOS byte it arrives with.
func tosOf(from, to *nsrig.VM, ip string) (byte, error) {
	var rc *net.UDPConn
	err := netns.Do(to.NS, func() error {
		l, err := net.ListenUDP("udp4", &net.UDPAddr{Port: 5999})
		if err != nil {
			return err
		}
		rc = l
		raw, err := l.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1) }); err != nil {
			return err
		}
		return serr
	})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var sc net.Conn
	if err := netns.Do(from.NS, func() (err error) {
		sc, err = net.Dial("udp4", net.JoinHostPort(ip, "5999"))
		return err
	}); err != nil {
		return 0, err
	}
	defer sc.Close()
	for range 10 {
		if _, err := sc.Write([]byte("tos?")); err != nil {
			return 0, err
		}
		rc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf, oob := make([]byte, 16), make([]byte, 64)
		_, oobn, _, _, err := rc.ReadMsgUDP(buf, oob)
		if err != nil {
			continue
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TOS && len(m.Data) > 0 {
				return m.Data[0], nil
			}
		}
		return 0, fmt.Errorf("no TOS among the datagram's control messages")
	}
	return 0, fmt.Errorf("no datagram arrived")
}
