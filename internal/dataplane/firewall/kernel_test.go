package firewall_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/firewall"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// bench is a host namespace with one bridge and VMs on it, and the
// firewall of that host.
type bench struct {
	t    *testing.T
	rig  *nsrig.Rig
	host *link.Host
	hns  netns.Handle
	fw   *firewall.Firewall
	vms  map[string]*nsrig.VM
	ips  map[string]string
}

const testBridge = "brqfwtest0001"

func newBench(t *testing.T) *bench {
	nsrig.RequireDataplane(t)
	rig := nsrig.New(t)
	hns := rig.NS("fwhost")
	host := rig.Host(hns)
	nl := host.Netlink()
	nsrig.Must(t, nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: testBridge}}))
	br, err := nl.LinkByName(testBridge)
	nsrig.Must(t, err)
	nsrig.Must(t, nl.LinkSetUp(br))
	fw, err := firewall.New(hns, nl, nil)
	nsrig.Must(t, err)
	return &bench{t: t, rig: rig, host: host, hns: hns, fw: fw, vms: map[string]*nsrig.VM{}, ips: map[string]string{}}
}

// vm plugs a VM with port id "port-<name>…", MAC and IPv4 address.
func (b *bench) vm(name, mac, ip string) *nsrig.VM {
	id := (name + "00000000000")[:11] + "-0000-0000-0000"
	v := b.rig.VM(name, b.host, id, mac)
	nl := b.host.Netlink()
	tap, err := nl.LinkByName(link.TapName(id))
	nsrig.Must(b.t, err)
	br, err := nl.LinkByName(testBridge)
	nsrig.Must(b.t, err)
	nsrig.Must(b.t, nl.LinkSetMaster(tap, br))
	nsrig.Must(b.t, nl.LinkSetUp(tap))
	vh := b.rig.Host(v.NS)
	nsrig.Addr(b.t, vh, "eth0", ip+"/24")
	b.vms[name], b.ips[name] = v, ip
	return v
}

func (b *bench) port(name string, groups ...string) firewall.Port {
	v := b.vms[name]
	mac, _ := net.ParseMAC(v.MAC)
	return firewall.Port{ID: v.Port, Device: link.TapName(v.Port), Bridge: testBridge, NetworkID: "net",
		MAC: mac, FixedIPs: []netip.Addr{netip.MustParseAddr(b.ips[name])}, PortSecurity: true, SecurityGroups: groups}
}

func (b *bench) apply(h *firewall.Host) firewall.Stats {
	b.t.Helper()
	st, err := b.fw.Apply(context.Background(), h)
	if err != nil {
		b.t.Fatal(err)
	}
	return st
}

// serve runs a TCP echo server on addr inside the VM.
func (b *bench) serve(name string, port int) {
	nsrig.ServeEcho(b.t, b.vms[name].NS, fmt.Sprintf("%s:%d", b.ips[name], port))
}

// dial connects from VM from to VM to's port.
func (b *bench) dial(from, to string, port int) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(b.vms[from].NS, func() (err error) {
		c, err = net.DialTimeout("tcp", fmt.Sprintf("%s:%d", b.ips[to], port), 700*time.Millisecond)
		return err
	})
	return c, err
}

func (b *bench) canTCP(from, to string, port int) bool {
	c, err := b.dial(from, to, port)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// echo sends a line on c and reports whether it comes back in time.
func echo(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(700 * time.Millisecond))
	if _, err := fmt.Fprintln(c, "hello"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "hello\n"
}

func (b *bench) canPing(from, to string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := nsrig.Run(ctx, b.vms[from].NS, nil, "busybox", "ping", "-c", "1", "-W", "1", b.ips[to])
	_ = out
	return err == nil
}

func ptr(n int) *int { return &n }

// expect checks a reachability: an expected success may take a few
// attempts (a loaded machine can miss the first ARP exchange), an
// expected failure is one attempt.
func expect(t *testing.T, what string, check func() bool, want bool) {
	t.Helper()
	got := check()
	for deadline := time.Now().Add(5 * time.Second); want && !got && time.Now().Before(deadline); {
		got = check()
	}
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// TestKernelStatefulRules: a group opening TCP 8000 from a CIDR lets
// exactly that in; adding an ICMP rule lets pings through; removing it
// stops them, and removing the TCP rule cuts an established connection.
func TestKernelStatefulRules(t *testing.T) {
	b := newBench(t)
	b.vm("web", "fa:16:3e:00:00:01", "10.9.0.1")
	b.vm("client", "fa:16:3e:00:00:02", "10.9.0.2")
	b.serve("web", 8000)
	b.serve("web", 8001)
	b.serve("client", 8000)

	// Control: without a firewall everything passes.
	expect(t, "control tcp 8001", func() bool { return b.canTCP("client", "web", 8001) }, true)
	expect(t, "control ping", func() bool { return b.canPing("client", "web") }, true)

	tcp8000 := firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(8000),
		PortRangeMax: ptr(8000), SourceIPPrefix: "10.9.0.0/24"}
	egressAll := firewall.Rule{Direction: "egress", Ethertype: "IPv4"}
	h := &firewall.Host{Ports: []firewall.Port{b.port("web", "sg")},
		Rules: map[string][]firewall.Rule{"sg": {tcp8000, egressAll}}}
	st := b.apply(h)
	if !st.Replaced || st.Objects == 0 {
		t.Fatalf("first pass: %+v", st)
	}
	expect(t, "tcp 8000 from the CIDR", func() bool { return b.canTCP("client", "web", 8000) }, true)
	expect(t, "tcp 8001", func() bool { return b.canTCP("client", "web", 8001) }, false)
	expect(t, "ping", func() bool { return b.canPing("client", "web") }, false)
	expect(t, "egress from web (stateful reply)", func() bool { return b.canTCP("web", "client", 8000) }, true)

	if st := b.apply(h); st.Objects != 0 || st.Replaced {
		t.Errorf("a pass with nothing to change touched %+v", st)
	}

	icmp := firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp"}
	h2 := &firewall.Host{Ports: h.Ports, Rules: map[string][]firewall.Rule{"sg": {tcp8000, egressAll, icmp}}}
	b.apply(h2)
	expect(t, "ping with an ICMP rule", func() bool { return b.canPing("client", "web") }, true)
	b.apply(h)
	expect(t, "ping after the ICMP rule is removed", func() bool { return b.canPing("client", "web") }, false)

	c, err := b.dial("client", "web", 8000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expect(t, "echo on the open connection", func() bool { return echo(c) }, true)
	st = b.apply(&firewall.Host{Ports: h.Ports, Rules: map[string][]firewall.Rule{"sg": {egressAll}}})
	if st.ConntrackDeleted == 0 {
		t.Errorf("removing the TCP rule deleted no connection: %+v", st)
	}
	expect(t, "echo on the connection after its rule is removed", func() bool { return echo(c) }, false)
	expect(t, "new tcp 8000 after its rule is removed", func() bool { return b.canTCP("client", "web", 8000) }, false)
}

// TestKernelRemoteGroupAndSpoofing: remote group membership decides who
// gets in, through set elements changed in place; spoofed sources are
// dropped; port security off lets everything through.
func TestKernelRemoteGroupAndSpoofing(t *testing.T) {
	b := newBench(t)
	b.vm("a", "fa:16:3e:00:00:0a", "10.9.0.10")
	b.vm("b", "fa:16:3e:00:00:0b", "10.9.0.11")
	b.vm("c", "fa:16:3e:00:00:0c", "10.9.0.12")
	for _, n := range []string{"a", "b", "c"} {
		b.serve(n, 22)
	}
	def := []firewall.Rule{
		{Direction: "ingress", Ethertype: "IPv4", RemoteGroupID: "default"},
		{Direction: "egress", Ethertype: "IPv4"},
	}
	member := func(names ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, n := range names {
			out = append(out, netip.MustParsePrefix(b.ips[n]+"/32"))
		}
		return out
	}
	pc := b.port("c", "other")
	h := &firewall.Host{Ports: []firewall.Port{b.port("a", "default"), b.port("b", "default"), pc},
		Rules:   map[string][]firewall.Rule{"default": def, "other": {{Direction: "egress", Ethertype: "IPv4"}}},
		Members: map[string][]netip.Prefix{"default": member("a", "b")}}
	b.apply(h)
	expect(t, "a→b (same group)", func() bool { return b.canTCP("a", "b", 22) }, true)
	expect(t, "b→a ping (same group)", func() bool { return b.canPing("b", "a") }, true)
	expect(t, "c→a (not a member)", func() bool { return b.canTCP("c", "a", 22) }, false)

	// c joins the group: only a set element changes.
	pc.SecurityGroups = []string{"default"}
	h2 := &firewall.Host{Ports: []firewall.Port{b.port("a", "default"), b.port("b", "default"), b.port("c", "other")},
		Rules:   map[string][]firewall.Rule{"default": def, "other": {{Direction: "egress", Ethertype: "IPv4"}}},
		Members: map[string][]netip.Prefix{"default": member("a", "b", "c")}}
	st := b.apply(h2)
	if st.Replaced || st.Objects == 0 || st.Objects > 2 {
		t.Errorf("a membership change should touch one set's elements in place: %+v", st)
	}
	expect(t, "c→a once c is a member", func() bool { return b.canTCP("c", "a", 22) }, true)
	conn, err := b.dial("c", "a", 22)
	nsrig.Must(t, err)
	defer conn.Close()
	st = b.apply(h)
	expect(t, "c→a once c left", func() bool { return b.canTCP("c", "a", 22) }, false)
	if st.ConntrackDeleted == 0 {
		t.Errorf("c leaving deleted no connection: %+v", st)
	}
	expect(t, "c's open connection once c left", func() bool { return echo(conn) }, false)

	// Spoofing: a sends from an address it does not own, then from a MAC
	// it does not own.
	ah := b.rig.Host(b.vms["a"].NS)
	nsrig.Addr(t, ah, "eth0", "10.9.0.99/24")
	spoofed := func() bool {
		var c net.Conn
		err := netns.Do(b.vms["a"].NS, func() (err error) {
			d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP("10.9.0.99")}}
			c, err = d.Dial("tcp", b.ips["b"]+":22")
			return err
		})
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	expect(t, "a→b from a spoofed IP", func() bool { return spoofed() }, false)
	pa := b.port("a", "default")
	pa.AllowedAddressPairs = []firewall.AddressPair{{Prefix: netip.MustParsePrefix("10.9.0.96/29")}}
	h3 := &firewall.Host{Ports: []firewall.Port{pa, b.port("b", "default"), b.port("c", "other")},
		Rules: h.Rules, Members: map[string][]netip.Prefix{"default": append(member("a", "b"), netip.MustParsePrefix("10.9.0.96/29"))}}
	b.apply(h3)
	expect(t, "a→b from an allowed address pair", func() bool { return spoofed() }, true)
	b.apply(h)
	eth, err := ah.Netlink().LinkByName("eth0")
	nsrig.Must(t, err)
	forged, _ := net.ParseMAC("fa:16:3e:00:00:ff")
	nsrig.Must(t, ah.Netlink().LinkSetHardwareAddr(eth, forged))
	expect(t, "a→b from a forged MAC", func() bool { return b.canTCP("a", "b", 22) }, false)

	// Port security off: no filtering at all for a, whatever it sends
	// from.
	nsrig.Must(t, ah.Netlink().LinkSetHardwareAddr(eth, net.HardwareAddr(pa.MAC)))
	pa = b.port("a")
	pa.PortSecurity = false
	// b lets 10.9.0.99 in: only a's anti-spoofing could stop it.
	h4 := &firewall.Host{Ports: []firewall.Port{pa, b.port("b", "default"), b.port("c", "other")}, Rules: h.Rules,
		Members: map[string][]netip.Prefix{"default": append(member("a", "b"), netip.MustParsePrefix("10.9.0.99/32"))}}
	b.apply(h4)
	expect(t, "c→a with a's port security off", func() bool { return b.canTCP("c", "a", 22) }, true)
	expect(t, "a→b from a spoofed IP with a's port security off", func() bool { return spoofed() }, true)
}

// TestKernelStateless: a stateless group's port takes no conntrack: the
// reply of its own connection needs a rule of its own.
func TestKernelStateless(t *testing.T) {
	b := newBench(t)
	b.vm("s", "fa:16:3e:00:00:21", "10.9.0.21")
	b.vm("x", "fa:16:3e:00:00:22", "10.9.0.22")
	b.serve("s", 80)
	b.serve("x", 80)
	no := false
	in80 := firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(80), PortRangeMax: ptr(80), Stateful: &no}
	out := firewall.Rule{Direction: "egress", Ethertype: "IPv4", Stateful: &no}
	h := &firewall.Host{Ports: []firewall.Port{b.port("s", "sl")}, Rules: map[string][]firewall.Rule{"sl": {in80, out}}}
	b.apply(h)
	expect(t, "x→s:80 (ingress rule, egress replies allowed)", func() bool { return b.canTCP("x", "s", 80) }, true)
	expect(t, "s→x:80 (no ingress rule for the replies)", func() bool { return b.canTCP("s", "x", 80) }, false)
	replies := firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", SourceIPPrefix: "10.9.0.22/32", Stateful: &no}
	b.apply(&firewall.Host{Ports: h.Ports, Rules: map[string][]firewall.Rule{"sl": {in80, out, replies}}})
	expect(t, "s→x:80 with a rule for the replies", func() bool { return b.canTCP("s", "x", 80) }, true)
}

// TestKernelZones: two networks with the same addresses on one host
// track connections apart. A UDP exchange allowed on network 1 must not
// make the same 5-tuple look like a reply on network 2.
func TestKernelZones(t *testing.T) {
	b := newBench(t)
	nl := b.host.Netlink()
	const bridge2 = "brqfwtest0002"
	nsrig.Must(t, nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge2}}))
	br2, err := nl.LinkByName(bridge2)
	nsrig.Must(t, err)
	nsrig.Must(t, nl.LinkSetUp(br2))
	b.vm("srv1", "fa:16:3e:00:01:01", "10.9.0.1")
	b.vm("cli1", "fa:16:3e:00:01:02", "10.9.0.2")
	b.vm("srv2", "fa:16:3e:00:02:01", "10.9.0.1")
	b.vm("cli2", "fa:16:3e:00:02:02", "10.9.0.2")
	for _, name := range []string{"srv2", "cli2"} { // onto the second bridge
		tap, err := nl.LinkByName(link.TapName(b.vms[name].Port))
		nsrig.Must(t, err)
		nsrig.Must(t, nl.LinkSetMaster(tap, br2))
	}
	port := func(name, bridge string) firewall.Port {
		p := b.port(name, "sg")
		p.Bridge = bridge
		return p
	}
	dns := firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp", PortRangeMin: ptr(53), PortRangeMax: ptr(53)}
	egress := firewall.Rule{Direction: "egress", Ethertype: "IPv4"}
	b.apply(&firewall.Host{
		Ports: []firewall.Port{port("srv1", testBridge), port("cli1", testBridge), port("srv2", bridge2), port("cli2", bridge2)},
		Rules: map[string][]firewall.Rule{"sg": {dns, egress}}})

	udp := func(from string, src int, to string, dst int) bool {
		var rc *net.UDPConn
		nsrig.Must(t, netns.Do(b.vms[to].NS, func() (err error) {
			rc, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(b.ips[to]), Port: dst})
			return err
		}))
		defer rc.Close()
		var sc *net.UDPConn
		nsrig.Must(t, netns.Do(b.vms[from].NS, func() (err error) {
			sc, err = net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(b.ips[from]), Port: src},
				&net.UDPAddr{IP: net.ParseIP(b.ips[to]), Port: dst})
			return err
		}))
		defer sc.Close()
		for range 3 {
			sc.Write([]byte("q"))
			rc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 8)
			if _, err := rc.Read(buf); err == nil {
				return true
			}
		}
		return false
	}
	expect(t, "cli1:5353 → srv1:53 on network 1 (rule)", func() bool { return udp("cli1", 5353, "srv1", 53) }, true)
	// The same tuple reversed on network 2: srv2 → cli2 would be the
	// reply of network 1's exchange if the zones were shared.
	expect(t, "srv2:53 → cli2:5353 on network 2 (no rule)", func() bool { return udp("srv2", 53, "cli2", 5353) }, false)
	// Control: on network 1 that reversed tuple is a reply.
	expect(t, "srv1:53 → cli1:5353 on network 1 (reply)", func() bool { return udp("srv1", 53, "cli1", 5353) }, true)
}

// TestKernelRestart: a new Firewall on a namespace a previous one
// filtered (an agent restart) writes the same tables, with the same
// port numbers and zones read back from the kernel, and an established
// connection survives.
func TestKernelRestart(t *testing.T) {
	b := newBench(t)
	b.vm("r1", "fa:16:3e:00:03:01", "10.9.0.31")
	b.vm("r2", "fa:16:3e:00:03:02", "10.9.0.32")
	b.vm("r3", "fa:16:3e:00:03:03", "10.9.0.33")
	b.serve("r2", 22)
	rules := map[string][]firewall.Rule{"sg": {
		{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(22), PortRangeMax: ptr(22)},
		{Direction: "egress", Ethertype: "IPv4"}}}
	// Numbered in an order a fresh start would not give: r3 first.
	b.apply(&firewall.Host{Ports: []firewall.Port{b.port("r3", "sg")}, Rules: rules})
	h := &firewall.Host{Ports: []firewall.Port{b.port("r1", "sg"), b.port("r2", "sg"), b.port("r3", "sg")}, Rules: rules}
	b.apply(h)
	var c net.Conn
	expect(t, "r1 → r2 tcp 22", func() bool {
		var err error
		c, err = b.dial("r1", "r2", 22)
		return err == nil
	}, true)
	defer c.Close()
	before := dump(t, b.hns)
	fw, err := firewall.New(b.hns, b.host.Netlink(), nil)
	nsrig.Must(t, err)
	st, err := fw.Apply(context.Background(), h)
	nsrig.Must(t, err)
	if !st.Replaced || st.ConntrackDeleted != 0 {
		t.Errorf("first pass after a restart: %+v", st)
	}
	if after := dump(t, b.hns); after != before {
		t.Errorf("the restart changed the tables:\n%s", diffLines(before, after))
	}
	expect(t, "the open connection across the restart", func() bool { return echo(c) }, true)
}

// TestKernelIPv6: neighbour discovery works through the filters (NS/NA
// in, ICMPv6 out, link-local sources), IPv6 rules apply, and a spoofed
// IPv6 source is dropped.
func TestKernelIPv6(t *testing.T) {
	b := newBench(t)
	six := map[string]string{"v6a": "2001:db8::a", "v6b": "2001:db8::b"}
	for name, mac := range map[string]string{"v6a": "fa:16:3e:00:06:0a", "v6b": "fa:16:3e:00:06:0b"} {
		b.vm(name, mac, map[string]string{"v6a": "10.9.0.61", "v6b": "10.9.0.62"}[name])
		vh := b.rig.Host(b.vms[name].NS)
		eth, err := vh.Netlink().LinkByName("eth0")
		nsrig.Must(t, err)
		for _, a := range []string{six[name] + "/64", "2001:db8::99/64"} {
			if name == "v6b" && a == "2001:db8::99/64" {
				continue
			}
			addr, err := netlink.ParseAddr(a)
			nsrig.Must(t, err)
			addr.Flags = unix.IFA_F_NODAD
			nsrig.Must(t, vh.Netlink().AddrAdd(eth, addr))
		}
	}
	port := func(name string) firewall.Port {
		p := b.port(name, "sg")
		p.FixedIPs = append(p.FixedIPs, netip.MustParseAddr(six[name]))
		return p
	}
	var listener net.Listener
	nsrig.Must(t, netns.Do(b.vms["v6b"].NS, func() (err error) {
		listener, err = net.Listen("tcp", "[2001:db8::b]:22")
		return err
	}))
	defer listener.Close()
	go func() {
		for {
			c, err := listener.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tcp6 := func(src string, port int) bool {
		var c net.Conn
		err := netns.Do(b.vms["v6a"].NS, func() (err error) {
			d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
			c, err = d.Dial("tcp", fmt.Sprintf("[2001:db8::b]:%d", port))
			return err
		})
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	ping6 := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		// From the owned address: v6a also holds one it may not use.
		_, err := nsrig.Run(ctx, b.vms["v6a"].NS, nil, "busybox", "ping6", "-c", "1", "-W", "1", "-I", "2001:db8::a", "2001:db8::b")
		return err == nil
	}
	ssh := firewall.Rule{Direction: "ingress", Ethertype: "IPv6", Protocol: "tcp", PortRangeMin: ptr(22), PortRangeMax: ptr(22)}
	egress := firewall.Rule{Direction: "egress", Ethertype: "IPv6"}
	h := &firewall.Host{Ports: []firewall.Port{port("v6a"), port("v6b")}, Rules: map[string][]firewall.Rule{"sg": {ssh, egress}}}
	b.apply(h)
	expect(t, "v6a → v6b tcp 22 over IPv6 (neighbour discovery through the filters)", func() bool { return tcp6("2001:db8::a", 22) }, true)
	expect(t, "ping6 without an ICMPv6 rule", ping6, false)
	expect(t, "v6a → v6b tcp 22 from an address v6a does not own", func() bool { return tcp6("2001:db8::99", 22) }, false)
	icmp := firewall.Rule{Direction: "ingress", Ethertype: "IPv6", Protocol: "icmp"} // Neutron's legacy name
	b.apply(&firewall.Host{Ports: h.Ports, Rules: map[string][]firewall.Rule{"sg": {ssh, egress, icmp}}})
	expect(t, "ping6 with an ICMP rule", ping6, true)
}

// TestKernelToHost: what a VM sends to an address of the host on its
// bridge passes the VM's egress rules (Neutron's INPUT jump).
func TestKernelToHost(t *testing.T) {
	b := newBench(t)
	b.vm("h1", "fa:16:3e:00:07:01", "10.9.0.71")
	nsrig.Addr(t, b.host, testBridge, "10.9.0.254/24")
	var l net.Listener
	nsrig.Must(t, netns.Do(b.hns, func() (err error) {
		l, err = net.Listen("tcp", "10.9.0.254:7000")
		return err
	}))
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	toHost := func() bool {
		var c net.Conn
		err := netns.Do(b.vms["h1"].NS, func() (err error) {
			c, err = net.DialTimeout("tcp", "10.9.0.254:7000", 700*time.Millisecond)
			return err
		})
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	expect(t, "control: h1 → host before any filtering", toHost, true)
	ingressOnly := []firewall.Rule{{Direction: "ingress", Ethertype: "IPv4"}}
	b.apply(&firewall.Host{Ports: []firewall.Port{b.port("h1", "sg")}, Rules: map[string][]firewall.Rule{"sg": ingressOnly}})
	expect(t, "h1 → host without an egress rule", toHost, false)
	egress := firewall.Rule{Direction: "egress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(7000), PortRangeMax: ptr(7000)}
	b.apply(&firewall.Host{Ports: []firewall.Port{b.port("h1", "sg")},
		Rules: map[string][]firewall.Rule{"sg": append(ingressOnly, egress)}})
	expect(t, "h1 → host with an egress rule", toHost, true)
}

// TestKernelVerify: a table deleted behind the firewall's back is
// noticed by Verify and written again by the next pass.
func TestKernelVerify(t *testing.T) {
	b := newBench(t)
	b.vm("x1", "fa:16:3e:00:08:01", "10.9.0.81")
	b.vm("x2", "fa:16:3e:00:08:02", "10.9.0.82")
	b.serve("x1", 22)
	h := &firewall.Host{Ports: []firewall.Port{b.port("x1", "sg")},
		Rules: map[string][]firewall.Rule{"sg": {{Direction: "egress", Ethertype: "IPv4"}}}}
	b.apply(h)
	expect(t, "x2 → x1 tcp 22 (no rule)", func() bool { return b.canTCP("x2", "x1", 22) }, false)
	if ok, err := b.fw.Verify(); !ok || err != nil {
		t.Fatalf("Verify of untouched tables: %v %v", ok, err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(b.hns)))
	nsrig.Must(t, err)
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: firewall.TableName})
	nsrig.Must(t, c.Flush())
	expect(t, "x2 → x1 tcp 22 with the inet table gone", func() bool { return b.canTCP("x2", "x1", 22) }, true)
	if st := b.apply(h); st.Objects != 0 {
		t.Fatalf("a pass with the same input wrote %d objects before Verify", st.Objects)
	}
	if ok, err := b.fw.Verify(); ok || err != nil {
		t.Fatalf("Verify of a deleted table: %v %v", ok, err)
	}
	if st := b.apply(h); !st.Replaced {
		t.Errorf("the pass after Verify: %+v", st)
	}
	expect(t, "x2 → x1 tcp 22 once the tables are back", func() bool { return b.canTCP("x2", "x1", 22) }, false)
}

// TestKernelRemove: Remove takes both tables away and filtering with
// them; on a namespace without them it does nothing.
func TestKernelRemove(t *testing.T) {
	b := newBench(t)
	b.vm("y1", "fa:16:3e:00:09:01", "10.9.0.91")
	b.vm("y2", "fa:16:3e:00:09:02", "10.9.0.92")
	b.serve("y1", 22)
	nsrig.Must(t, b.fw.Remove()) // nothing there yet
	b.apply(&firewall.Host{Ports: []firewall.Port{b.port("y1", "sg")}, Rules: map[string][]firewall.Rule{"sg": {}}})
	expect(t, "y2 → y1 tcp 22 filtered", func() bool { return b.canTCP("y2", "y1", 22) }, false)
	nsrig.Must(t, b.fw.Remove())
	c, err := nftables.New(nftables.WithNetNSFd(int(b.hns)))
	nsrig.Must(t, err)
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyBridge, nftables.TableFamilyINet} {
		if tbl, err := c.ListTableOfFamily(firewall.TableName, fam); err == nil && tbl != nil {
			t.Errorf("table %v left after Remove", fam)
		}
	}
	expect(t, "y2 → y1 tcp 22 after Remove", func() bool { return b.canTCP("y2", "y1", 22) }, true)
}

// TestKernelRemoteAddressGroup: a rule naming an address group lets in
// exactly the group's addresses (a /32 and a CIDR); the group's set
// changing in place lets a newcomer in, and one removed is shut out.
func TestKernelRemoteAddressGroup(t *testing.T) {
	b := newBench(t)
	b.vm("a", "fa:16:3e:00:01:0a", "10.9.1.10")
	b.vm("b", "fa:16:3e:00:01:0b", "10.9.1.11")
	b.vm("c", "fa:16:3e:00:01:0c", "10.9.1.20")
	b.vm("d", "fa:16:3e:00:01:0d", "10.9.1.40")
	b.serve("a", 22)
	const ag = "3f0c1d2e-0000-4000-8000-00000000a9a9"
	rules := map[string][]firewall.Rule{
		"web": {
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(22), PortRangeMax: ptr(22),
				RemoteAddressGroupID: ag},
			{Direction: "egress", Ethertype: "IPv4"},
		},
		"client": {{Direction: "egress", Ethertype: "IPv4"}},
	}
	host := func(addrs ...string) *firewall.Host {
		members := []netip.Prefix{}
		for _, a := range addrs {
			members = append(members, netip.MustParsePrefix(a))
		}
		return &firewall.Host{
			Ports: []firewall.Port{b.port("a", "web"), b.port("b", "client"), b.port("c", "client"), b.port("d", "client")},
			Rules: rules, Members: map[string][]netip.Prefix{ag: members}}
	}
	b.apply(host("10.9.1.11/32", "10.9.1.16/29"))
	expect(t, "b→a (its /32 is in the group)", func() bool { return b.canTCP("b", "a", 22) }, true)
	expect(t, "c→a (in the group's /29)", func() bool { return b.canTCP("c", "a", 22) }, true)
	expect(t, "d→a (not in the group)", func() bool { return b.canTCP("d", "a", 22) }, false)

	// d's address joins and b's leaves: only the set's elements change.
	st := b.apply(host("10.9.1.16/29", "10.9.1.40/32"))
	if st.Replaced || st.Objects == 0 {
		t.Errorf("an address group change should touch its set in place: %+v", st)
	}
	expect(t, "d→a once its address is in the group", func() bool { return b.canTCP("d", "a", 22) }, true)
	expect(t, "b→a once its address left the group", func() bool { return b.canTCP("b", "a", 22) }, false)
}
