package nat_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"

	"github.com/neutrino-net/neutrino/internal/dataplane/nat"
	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

func ruleset() nat.Ruleset {
	return nat.Ruleset{GatewayDevice: "qg-test", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true,
		NoSNAT:      []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
		FloatingIPs: []nat.FloatingIP{{External: netip.MustParseAddr("203.0.113.20"), Internal: netip.MustParseAddr("10.1.0.5")}},
		PortForwardings: []nat.PortForwarding{
			{Protocol: "tcp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 22, ExternalEnd: 22, Internal: netip.MustParseAddr("10.1.0.6"), InternalStart: 2222, InternalEnd: 2222},
			{Protocol: "udp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 5000, ExternalEnd: 5010, Internal: netip.MustParseAddr("10.1.0.6"), InternalStart: 5000, InternalEnd: 5010},
			{Protocol: "tcp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 8000, ExternalEnd: 8003, Internal: netip.MustParseAddr("10.1.0.7"), InternalStart: 9000, InternalEnd: 9003},
		}}
}

// TestApplyIsIdempotentAndAtomic: a ruleset is written once, a second
// Apply of the same one writes nothing, a different one replaces it, and
// Remove leaves no table.
func TestApplyIsIdempotentAndAtomic(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("nat")
	rs := ruleset()
	if cur, err := nat.Current(ns); err != nil || cur != nil {
		t.Fatalf("Current before Apply: %x, %v", cur, err)
	}
	for i, want := range []bool{true, false} {
		wrote, err := nat.Apply(ns, rs)
		if err != nil || wrote != want {
			t.Fatalf("Apply #%d: wrote %v, %v; want %v", i+1, wrote, err, want)
		}
	}
	if cur, err := nat.Current(ns); err != nil || !bytes.Equal(cur, rs.Fingerprint()) {
		t.Fatalf("Current = %x, %v; want %x", cur, err, rs.Fingerprint())
	}
	rs.FloatingIPs = nil
	if wrote, err := nat.Apply(ns, rs); err != nil || !wrote {
		t.Fatalf("Apply of a changed ruleset: %v, %v", wrote, err)
	}
	if cur, _ := nat.Current(ns); !bytes.Equal(cur, rs.Fingerprint()) {
		t.Errorf("the table holds %x, want the new ruleset %x", cur, rs.Fingerprint())
	}
	if err := nat.Remove(ns); err != nil {
		t.Fatal(err)
	}
	if cur, err := nat.Current(ns); err != nil || cur != nil {
		t.Errorf("after Remove: %x, %v", cur, err)
	}
	if err := nat.Remove(ns); err != nil {
		t.Errorf("Remove of an absent table: %v", err)
	}
}

func TestValidate(t *testing.T) {
	bad := []nat.Ruleset{
		{GatewayDevice: "qg", SNAT: true},
		{GatewayDevice: "qg", FloatingIPs: []nat.FloatingIP{{External: netip.MustParseAddr("2001:db8::1"), Internal: netip.MustParseAddr("10.0.0.1")}}},
		{GatewayDevice: "qg", PortForwardings: []nat.PortForwarding{{Protocol: "sctp", External: netip.MustParseAddr("1.2.3.4"), Internal: netip.MustParseAddr("10.0.0.1")}}},
		{GatewayDevice: "qg", PortForwardings: []nat.PortForwarding{{Protocol: "tcp", External: netip.MustParseAddr("1.2.3.4"), ExternalStart: 10, ExternalEnd: 20,
			Internal: netip.MustParseAddr("10.0.0.1"), InternalStart: 30, InternalEnd: 35}}},
	}
	for i, rs := range bad {
		if err := rs.Validate(); err == nil {
			t.Errorf("ruleset %d accepted", i)
		}
	}
	if err := ruleset().Validate(); err != nil {
		t.Error(err)
	}
	a, b := ruleset(), ruleset()
	b.PortForwardings[0], b.PortForwardings[2] = b.PortForwardings[2], b.PortForwardings[0]
	if !bytes.Equal(a.Fingerprint(), b.Fingerprint()) {
		t.Error("the fingerprint depends on the order of the lists")
	}
}

// TestMetadataRedirect: with MetadataPort set, TCP to 169.254.169.254:80
// arriving on a qr- device reaches the namespace's listener on that port,
// while the port itself is closed to direct connections (Neutron guards it
// with a mark); a router without gateway gets the redirect too.
func TestMetadataRedirect(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	rt, vm := r.NS("rt"), r.NS("vm")
	h := r.Host(rt)
	r.Veth(h, "qr-meta", vm, "eth0", "", "", "10.66.0.2/24")
	nsrig.Addr(t, h, "qr-meta", "10.66.0.1/24")
	vh := r.Host(vm)
	eth, err := vh.Netlink().LinkByName("eth0")
	nsrig.Must(t, err)
	_, dst, _ := net.ParseCIDR("169.254.169.254/32")
	nsrig.Must(t, vh.Netlink().RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: net.ParseIP("10.66.0.1")}))
	nsrig.ServeEcho(t, rt, ":9697")

	dial := func(addr string) error {
		return netns.Do(vm, func() error {
			c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Second))
			fmt.Fprintln(c, "hello")
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "hello\n" {
				return fmt.Errorf("echo: %q %v", line, err)
			}
			return nil
		})
	}
	if err := dial("169.254.169.254:80"); err == nil {
		t.Fatal("169.254.169.254:80 answered without the redirect")
	}
	if _, err := nat.Apply(rt, nat.Ruleset{MetadataPort: 9697}); err != nil {
		t.Fatal(err)
	}
	if err := dial("169.254.169.254:80"); err != nil {
		t.Fatalf("through the redirect: %v", err)
	}
	if err := dial("10.66.0.1:9697"); err == nil {
		t.Error("the proxy's port answered a direct connection")
	}
	// IPv6: [fe80::a9fe:a9fe]:80 is redirected the same way. Nothing in
	// the router answers neighbour discovery for that address (nor in
	// Neutron's), so the guest is given a neighbour entry for it.
	qr, err := h.Netlink().LinkByName("qr-meta")
	nsrig.Must(t, err)
	nsrig.Must(t, vh.Netlink().NeighAdd(&netlink.Neigh{LinkIndex: eth.Attrs().Index, Family: netlink.FAMILY_V6,
		State: netlink.NUD_PERMANENT, IP: net.ParseIP("fe80::a9fe:a9fe"), HardwareAddr: qr.Attrs().HardwareAddr}))
	var v6err error
	for range 50 { // the guest's link-local source waits for duplicate address detection
		if v6err = dial("[fe80::a9fe:a9fe%eth0]:80"); v6err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v6err != nil {
		t.Fatalf("through the IPv6 redirect: %v", v6err)
	}
	if _, err := nat.Apply(rt, nat.Ruleset{}); err != nil {
		t.Fatal(err)
	}
	if err := dial("169.254.169.254:80"); err == nil {
		t.Error("the redirect outlived a ruleset without MetadataPort")
	}
	if err := dial("[fe80::a9fe:a9fe%eth0]:80"); err == nil {
		t.Error("the IPv6 redirect outlived a ruleset without MetadataPort")
	}
}

// TestForgetForwarding: a connection through a port forwarding's DNAT
// leaves a conntrack entry; forgetting another forwarding keeps it,
// forgetting this one deletes it.
func TestForgetForwarding(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("ct")
	h := r.Host(ns)
	lo, err := h.Netlink().LinkByName("lo")
	nsrig.Must(t, err)
	nsrig.Must(t, h.Netlink().LinkSetUp(lo))
	nsrig.Addr(t, h, "lo", "203.0.113.21/32")
	nsrig.Addr(t, h, "lo", "10.1.0.6/32")
	// The ruleset SNATs DNATed connections to the gateway (hairpin).
	nsrig.Addr(t, h, "lo", "203.0.113.10/32")
	nsrig.ServeEcho(t, ns, "10.1.0.6:2222")
	rs := ruleset() // its first forwarding: tcp 203.0.113.21:22 → 10.1.0.6:2222
	if _, err := nat.Apply(ns, rs); err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	nsrig.Must(t, netns.Do(ns, func() (err error) {
		c, err = net.DialTimeout("tcp", "203.0.113.21:22", time.Second)
		return err
	}))
	defer c.Close()
	fmt.Fprintln(c, "hi")
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatalf("through the forwarding: %v", err)
	}
	other := rs.PortForwardings[0]
	other.ExternalStart, other.ExternalEnd = 23, 23
	if n, err := nat.ForgetForwarding(ns, other); err != nil || n != 0 {
		t.Fatalf("forgetting another port: %d entries, %v", n, err)
	}
	if n, err := nat.ForgetForwarding(ns, rs.PortForwardings[0]); err != nil || n == 0 {
		t.Fatalf("forgetting the forwarding: %d entries, %v; want its connection's", n, err)
	}
}

// TestFloatingIPsChangeInPlace: associating, moving and disassociating
// floating IPs changes only the maps' elements — every rule keeps its
// handle, the table is not replaced — and traffic follows each change;
// any other change replaces the table.
func TestFloatingIPsChangeInPlace(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("fipmap")
	h := r.Host(ns)
	lo, err := h.Netlink().LinkByName("lo")
	nsrig.Must(t, err)
	nsrig.Must(t, h.Netlink().LinkSetUp(lo))
	nsrig.Addr(t, h, "lo", "10.1.0.5/32")
	nsrig.Addr(t, h, "lo", "10.1.0.6/32")
	nsrig.Addr(t, h, "lo", "203.0.113.20/32") // a route to the floating IP: the output chain comes after routing
	nsrig.Addr(t, h, "lo", "203.0.113.10/32") // the hairpin SNAT's source
	nsrig.ServeEcho(t, ns, "10.1.0.5:2000")
	nsrig.ServeEcho(t, ns, "10.1.0.6:3000")
	reaches := func(addr string) bool {
		return netns.Do(ns, func() error {
			c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Second))
			fmt.Fprintln(c, "hi")
			_, err = bufio.NewReader(c).ReadString('\n')
			return err
		}) == nil
	}
	handles := func() map[string][]uint64 {
		c, err := nftns.Open(ns)
		nsrig.Must(t, err)
		out := map[string][]uint64{}
		tb := &nftables.Table{Name: nat.TableName, Family: nftables.TableFamilyIPv4}
		for _, ch := range []string{"prerouting", "output", "postrouting"} {
			rules, err := c.GetRules(tb, &nftables.Chain{Name: ch, Table: tb})
			nsrig.Must(t, err)
			for _, r := range rules {
				out[ch] = append(out[ch], r.Handle)
			}
		}
		return out
	}
	fip := netip.MustParseAddr("203.0.113.20")
	rs := nat.Ruleset{GatewayDevice: "qg-test", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true,
		FloatingIPs: []nat.FloatingIP{{External: netip.MustParseAddr("203.0.113.30"), Internal: netip.MustParseAddr("10.1.0.9")}}}
	if _, err := nat.Apply(ns, rs); err != nil {
		t.Fatal(err)
	}
	before := handles()
	steps := []struct {
		name       string
		fips       []nat.FloatingIP
		to2000     bool // FIP:2000 reaches 10.1.0.5
		to3000     bool // FIP:3000 reaches 10.1.0.6
		otherStays bool
	}{
		{"associated", []nat.FloatingIP{{External: fip, Internal: netip.MustParseAddr("10.1.0.5")}}, true, false, false},
		{"moved", []nat.FloatingIP{{External: fip, Internal: netip.MustParseAddr("10.1.0.6")}}, false, true, false},
		{"a second one added", []nat.FloatingIP{{External: fip, Internal: netip.MustParseAddr("10.1.0.6")},
			{External: netip.MustParseAddr("203.0.113.30"), Internal: netip.MustParseAddr("10.1.0.9")}}, false, true, true},
		{"disassociated", nil, false, false, false},
	}
	for _, s := range steps {
		rs.FloatingIPs = s.fips
		wrote, err := nat.Apply(ns, rs)
		if err != nil || !wrote {
			t.Fatalf("%s: Apply wrote %v, %v", s.name, wrote, err)
		}
		if cur, _ := nat.Current(ns); !bytes.Equal(cur, rs.Fingerprint()) {
			t.Errorf("%s: the table holds %x, want %x", s.name, cur, rs.Fingerprint())
		}
		if got := handles(); !reflect.DeepEqual(got, before) {
			t.Errorf("%s: rules %v, want the same rules as before %v (the table was replaced)", s.name, got, before)
		}
		if got := reaches(fip.String() + ":2000"); got != s.to2000 {
			t.Errorf("%s: %s:2000 reaches 10.1.0.5: %v, want %v", s.name, fip, got, s.to2000)
		}
		if got := reaches(fip.String() + ":3000"); got != s.to3000 {
			t.Errorf("%s: %s:3000 reaches 10.1.0.6: %v, want %v", s.name, fip, got, s.to3000)
		}
		if wrote, err := nat.Apply(ns, rs); err != nil || wrote {
			t.Errorf("%s: a second Apply wrote %v, %v", s.name, wrote, err)
		}
	}
	rs.SNAT = false
	if wrote, err := nat.Apply(ns, rs); err != nil || !wrote {
		t.Fatalf("SNAT off: Apply wrote %v, %v", wrote, err)
	}
	if got := handles(); reflect.DeepEqual(got, before) {
		t.Errorf("SNAT off kept every rule: the table was not rewritten")
	}
	if cur, _ := nat.Current(ns); !bytes.Equal(cur, rs.Fingerprint()) {
		t.Errorf("SNAT off: the table holds %x, want %x", cur, rs.Fingerprint())
	}
}

// TestApplyRepairsATableWithoutFingerprint: a table whose postrouting
// chain was emptied by hand (so its fingerprint is gone but the table is
// there) is replaced, not created a second time; a fresh namespace's
// table is only created.
func TestApplyRepairsATableWithoutFingerprint(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("natfix")
	rs := ruleset()
	rs.MetadataPort = 9697
	if wrote, err := nat.Apply(ns, rs); err != nil || !wrote {
		t.Fatalf("Apply on a fresh namespace: wrote %v, %v", wrote, err)
	}
	c, err := nftns.Open(ns)
	nsrig.Must(t, err)
	tb := &nftables.Table{Name: nat.TableName, Family: nftables.TableFamilyIPv4}
	c.FlushChain(&nftables.Chain{Name: "postrouting", Table: tb})
	nsrig.Must(t, c.Flush())
	if cur, err := nat.Current(ns); err != nil || cur != nil {
		t.Fatalf("after emptying postrouting: Current %x, %v; want none", cur, err)
	}
	if wrote, err := nat.Apply(ns, rs); err != nil || !wrote {
		t.Fatalf("Apply over the damaged table: wrote %v, %v", wrote, err)
	}
	if cur, _ := nat.Current(ns); !bytes.Equal(cur, rs.Fingerprint()) {
		t.Errorf("the table holds %x, want %x", cur, rs.Fingerprint())
	}
}
