// Package dataplane_test proves the L2 and DHCP reconcilers with real
// namespaces and real packets: two "hosts" (network namespaces) joined by
// an underlay namespace, "VMs" as namespaces plugged with veths, dnsmasq in
// qdhcp namespaces, busybox udhcpc and ping in the VMs.
package dataplane_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/dataplane/dnsmasq"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(nopWriter{}, nil))
}

type nopWriter struct{}

func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }

// world is the two-host topology.
type world struct {
	r            *Rig
	ul           netns.Handle
	nsA, nsB     netns.Handle
	hostA, hostB *link.Host
	cfgA, cfgB   l2.Config
}

func newWorld(t testing.TB) *world {
	r := New(t)
	w := &world{r: r}
	w.ul = r.NS("ul")
	ul := r.Host(w.ul)
	_, err := ul.EnsureBridge("br-ul", 0)
	Must(t, err)
	_, err = ul.EnsureBridge("br-phys", 0)
	Must(t, err)
	w.nsA, w.nsB = r.NS("ha"), r.NS("hb")
	w.hostA, w.hostB = r.Host(w.nsA), r.Host(w.nsB)
	for i, h := range []*link.Host{w.hostA, w.hostB} {
		side := string(rune('a' + i))
		r.Veth(h, "tun0", w.ul, side+"-tun", "br-ul", "", "")
		r.Veth(h, "phys0", w.ul, side+"-phys", "br-phys", "", "")
	}
	Addr(t, w.hostA, "tun0", "10.99.0.1/24")
	Addr(t, w.hostB, "tun0", "10.99.0.2/24")
	base := l2.Config{
		PhysicalInterfaceMappings: map[string]string{"physnet1": "phys0"},
		EnableVXLAN:               true, L2Population: true, ARPResponder: true,
	}
	w.cfgA, w.cfgB = base, base
	w.cfgA.LocalIP, w.cfgB.LocalIP = "10.99.0.1", "10.99.0.2"
	return w
}

type portSpec struct {
	id, net, mac, ip string
}

func fixed(subnet, ip string) []dhcp.FixedIP {
	return []dhcp.FixedIP{{SubnetID: subnet, IPAddress: ip}}
}

func l2Port(p portSpec) l2.Port {
	return l2.Port{ID: p.id, NetworkID: p.net, MAC: p.mac, AdminStateUp: true}
}

func dhcpPort(p portSpec, subnet string) dhcp.Port {
	return dhcp.Port{ID: p.id, MAC: p.mac, FixedIPs: fixed(subnet, p.ip), DeviceOwner: "compute:nova"}
}

func linkNames(t testing.TB, h *link.Host) []string {
	all, err := h.Netlink().LinkList()
	Must(t, err)
	var out []string
	for _, l := range all {
		master := ""
		if l.Attrs().MasterIndex != 0 {
			if m, err := h.Netlink().LinkByIndex(l.Attrs().MasterIndex); err == nil {
				master = m.Attrs().Name
			}
		}
		out = append(out, l.Attrs().Name+"@"+master)
	}
	sort.Strings(out)
	return out
}

func TestTwoHosts(t *testing.T) {
	RequireDataplane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := newWorld(t)
	r := w.r
	log := testLogger(t)

	netV, netF, netVLAN := UUID(), UUID(), UUID()
	subV, subF := UUID(), UUID()
	const vni = 1001
	dhcpV := portSpec{UUID(), netV, "fa:16:3e:aa:00:02", "10.51.0.2"}
	dhcpF := portSpec{UUID(), netF, "fa:16:3e:bb:00:02", "10.52.0.2"}
	vmA1 := portSpec{UUID(), netV, "fa:16:3e:aa:00:11", "10.51.0.11"}
	vmB1 := portSpec{UUID(), netV, "fa:16:3e:aa:00:12", "10.51.0.12"}
	vmA2 := portSpec{UUID(), netF, "fa:16:3e:bb:00:11", "10.52.0.11"}
	vmB2 := portSpec{UUID(), netF, "fa:16:3e:bb:00:12", "10.52.0.12"}
	vmA3 := portSpec{UUID(), netV, "fa:16:3e:aa:00:13", "10.51.0.13"}
	vlanP := portSpec{UUID(), netVLAN, "fa:16:3e:cc:00:11", ""}

	networks := []l2.Network{
		{ID: netV, NetworkType: l2.TypeVXLAN, SegmentationID: vni, MTU: 1450},
		{ID: netF, NetworkType: l2.TypeFlat, PhysicalNetwork: "physnet1", MTU: 1500},
		{ID: netVLAN, NetworkType: l2.TypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 100, MTU: 1500},
	}
	desiredA := l2.Desired{Networks: networks, Ports: []l2.Port{l2Port(dhcpV), l2Port(dhcpF), l2Port(vmA1), l2Port(vmA2), l2Port(vlanP)}}
	desiredB := l2.Desired{Networks: networks, Ports: []l2.Port{l2Port(vmB1), l2Port(vmB2)}}
	flood := l2.FloodEntry
	fdbA := l2.FDBEntries{netV: {SegmentID: vni, NetworkType: "vxlan", Ports: map[string][]l2.PortInfo{
		"10.99.0.2": {flood, {MAC: vmB1.mac, IP: vmB1.ip}}}}}
	fdbB := l2.FDBEntries{netV: {SegmentID: vni, NetworkType: "vxlan", Ports: map[string][]l2.PortInfo{
		"10.99.0.1": {flood, {MAC: vmA1.mac, IP: vmA1.ip}, {MAC: dhcpV.mac, IP: dhcpV.ip}}}}}

	subnetV := dhcp.Subnet{ID: subV, CIDR: "10.51.0.0/24", IPVersion: 4, GatewayIP: "10.51.0.1", EnableDHCP: true,
		HostRoutes: []dhcp.HostRoute{{Destination: "10.60.0.0/16", Nexthop: "10.51.0.254"}}}
	subnetF := dhcp.Subnet{ID: subF, CIDR: "10.52.0.0/24", IPVersion: 4, GatewayIP: "10.52.0.1", EnableDHCP: true,
		DNSNameservers: []string{"192.0.2.53"}}
	dnets := []dhcp.Network{
		{ID: netV, MTU: 1450, Subnets: []dhcp.Subnet{subnetV},
			Ports:    []dhcp.Port{dhcpPort(vmA1, subV), dhcpPort(vmB1, subV)},
			DHCPPort: dhcp.Port{ID: dhcpV.id, MAC: dhcpV.mac, FixedIPs: fixed(subV, dhcpV.ip), DeviceOwner: "network:dhcp"}},
		{ID: netF, MTU: 1500, Subnets: []dhcp.Subnet{subnetF},
			Ports:    []dhcp.Port{dhcpPort(vmA2, subF), dhcpPort(vmB2, subF)},
			DHCPPort: dhcp.Port{ID: dhcpF.id, MAC: dhcpF.mac, FixedIPs: fixed(subF, dhcpF.ip), DeviceOwner: "network:dhcp"}},
	}
	dcfg := dhcp.DefaultConfig(filepath.Join(r.Dir, "dhcp"))
	dcfg.LogDir = filepath.Join(r.Dir, "log")
	dhcpA := dhcp.New(w.hostA, dcfg, log)
	t.Cleanup(func() {
		if err := dhcpA.Teardown(context.Background()); err != nil {
			t.Errorf("dhcp teardown: %v", err)
		}
	})

	// The compute side plugs the VMs before the agents run.
	vA1 := r.VM("vma1", w.hostA, vmA1.id, vmA1.mac)
	vB1 := r.VM("vmb1", w.hostB, vmB1.id, vmB1.mac)
	vA2 := r.VM("vma2", w.hostA, vmA2.id, vmA2.mac)
	vB2 := r.VM("vmb2", w.hostB, vmB2.id, vmB2.mac)
	r.VM("vmvlan", w.hostA, vlanP.id, vlanP.mac)

	dres := dhcpA.Reconcile(ctx, dnets)
	Must(t, dres.Err())
	for _, id := range []string{netV, netF} {
		if got := dres.Networks[id].Action; got != dhcp.ActionStarted {
			t.Fatalf("dhcp %s: action %q, want started", id, got)
		}
	}

	l2A := l2.New(w.hostA, w.cfgA, log)
	l2A.SetFDB(fdbA)
	l2B := l2.New(w.hostB, w.cfgB, log)
	l2B.SetFDB(fdbB)
	pass := func(rc *l2.Reconciler, d l2.Desired) l2.Result {
		t.Helper()
		res, err := rc.Reconcile(ctx, d)
		Must(t, err)
		if len(res.Errors) > 0 {
			t.Fatalf("l2 pass: %v", res.Errors)
		}
		return res
	}
	resA := pass(l2A, desiredA)
	resB := pass(l2B, desiredB)
	wantUpA := []string{dhcpV.id, dhcpF.id, vmA1.id, vmA2.id}
	sort.Strings(wantUpA)
	if !slices.Equal(resA.Up, wantUpA) {
		t.Fatalf("host A up = %v, want %v", resA.Up, wantUpA)
	}
	if len(resB.Up) != 2 {
		t.Fatalf("host B up = %v, want 2 ports", resB.Up)
	}
	if st := resA.Ports[vlanP.id]; st.State != l2.StateUnsupported {
		t.Fatalf("vlan port state = %+v, want unsupported", st)
	}
	if br, _ := w.hostA.Get(link.BridgeName(netVLAN)); br != nil {
		t.Errorf("a bridge was made for the unsupported VLAN network")
	}

	t.Run("devices", func(t *testing.T) {
		vx, err := w.hostA.Get(link.VXLANName(vni))
		Must(t, err)
		if vx == nil {
			t.Fatal("vxlan-1001 missing")
		}
		v := vx.(*netlink.Vxlan)
		if v.Learning || !v.Proxy || v.SrcAddr.String() != "10.99.0.1" || v.MTU != 1450 {
			t.Errorf("vxlan-1001: learning=%v proxy=%v local=%v mtu=%d", v.Learning, v.Proxy, v.SrcAddr, v.MTU)
		}
		br, _ := w.hostA.Get(link.BridgeName(netV))
		if br == nil || vx.Attrs().MasterIndex != br.Attrs().Index {
			t.Fatal("vxlan-1001 not in its bridge")
		}
		tap, _ := w.hostA.Get(link.TapName(vmA1.id))
		if tap.Attrs().MasterIndex != br.Attrs().Index || tap.Attrs().MTU != 1450 {
			t.Errorf("tap of vmA1: master %d mtu %d", tap.Attrs().MasterIndex, tap.Attrs().MTU)
		}
		phys, _ := w.hostA.Get("phys0")
		brF, _ := w.hostA.Get(link.BridgeName(netF))
		if phys.Attrs().MasterIndex != brF.Attrs().Index {
			t.Error("phys0 not in the flat network's bridge")
		}
		fdb, err := w.hostA.FDB(vx)
		Must(t, err)
		for _, e := range []link.FDBEntry{{MAC: "00:00:00:00:00:00", Dst: "10.99.0.2"}, {MAC: vmB1.mac, Dst: "10.99.0.2"}} {
			if !fdb[e] {
				t.Errorf("fdb entry %v missing: %v", e, fdb)
			}
		}
		neigh, err := w.hostA.Neighbors(vx)
		Must(t, err)
		if neigh[vmB1.ip] != vmB1.mac {
			t.Errorf("arp responder entry for %s missing: %v", vmB1.ip, neigh)
		}
		if !netns.Exists(link.DHCPNamespace(netV)) {
			t.Error("qdhcp namespace not visible under /run/netns")
		}
	})

	t.Run("dhcp lease", func(t *testing.T) {
		for _, c := range []struct {
			v      *VM
			ip, gw string
			mtu    string
			extra  func(Lease) string
		}{
			{vA1, vmA1.ip, "10.51.0.1", "1450", func(l Lease) string {
				if l["staticroutes"] != "10.60.0.0/16 10.51.0.254 0.0.0.0/0 10.51.0.1" {
					return "staticroutes " + l["staticroutes"]
				}
				return ""
			}},
			{vB1, vmB1.ip, "10.51.0.1", "1450", nil}, // across VXLAN to host A's dnsmasq
			{vA2, vmA2.ip, "10.52.0.1", "1500", func(l Lease) string {
				if l["dns"] != "192.0.2.53" {
					return "dns " + l["dns"]
				}
				return ""
			}},
			{vB2, vmB2.ip, "10.52.0.1", "1500", nil}, // across the flat physnet
		} {
			l, err := r.DHCP(ctx, c.v)
			Must(t, err)
			if l["ip"] != c.ip || l["router"] != c.gw || l["mtu"] != c.mtu || l["mask"] != "24" || l["domain"] != "openstacklocal" {
				t.Errorf("%s lease %v, want ip %s router %s mtu %s", c.v.Name, l, c.ip, c.gw, c.mtu)
			}
			if c.extra != nil {
				if msg := c.extra(l); msg != "" {
					t.Errorf("%s: %s", c.v.Name, msg)
				}
			}
		}
	})

	t.Run("ping", func(t *testing.T) {
		Must(t, Ping(ctx, vA1, vmB1.ip)) // VXLAN with l2pop FDB
		Must(t, Ping(ctx, vB1, dhcpV.ip))
		Must(t, Ping(ctx, vA2, vmB2.ip)) // flat via phys0
		// A full-size frame for the network MTU crosses the tunnel.
		out, err := Run(ctx, vB1.NS, nil, "busybox", "ping", "-c", "1", "-W", "2", "-s", "1422", vmA1.ip)
		if err != nil {
			t.Errorf("1450-byte packet across VXLAN: %v %s", err, out)
		}
	})

	t.Run("dns", func(t *testing.T) {
		for _, name := range []string{"host-10-51-0-11.openstacklocal", "host-10-51-0-11"} {
			out, err := Run(ctx, vB1.NS, nil, "busybox", "nslookup", "-type=a", name, dhcpV.ip)
			if err != nil || !strings.Contains(out, "Address: "+vmA1.ip) {
				t.Errorf("nslookup %s: %v\n%s", name, err, out)
			}
		}
		out, err := Run(ctx, vB1.NS, nil, "busybox", "nslookup", vmA1.ip, dhcpV.ip)
		if err != nil || !strings.Contains(out, "host-10-51-0-11.openstacklocal") {
			t.Errorf("reverse lookup %s: %v\n%s", vmA1.ip, err, out)
		}
	})

	t.Run("drift repair", func(t *testing.T) {
		Must(t, w.hostA.Delete(link.VXLANName(vni)))
		Must(t, w.hostA.Delete(link.BridgeName(netV)))
		res := pass(l2A, desiredA)
		if len(res.Up)+len(res.Down) != 0 {
			t.Errorf("repair reported transitions up=%v down=%v", res.Up, res.Down)
		}
		Must(t, Ping(ctx, vB1, vmA1.ip))
		Must(t, Ping(ctx, vB1, dhcpV.ip))
		// The DHCP side: the ns- device removed by hand is recreated.
		qns, err := netns.Open(link.DHCPNamespace(netV))
		Must(t, err)
		in, err := link.Open(qns)
		Must(t, err)
		Must(t, in.Delete(link.NSDevName(dhcpV.id)))
		in.Close()
		qns.Close()
		dr := dhcpA.Reconcile(ctx, dnets)
		Must(t, dr.Err())
		pass(l2A, desiredA)
		_, err = r.DHCP(ctx, vB1)
		Must(t, err)
	})

	t.Run("dnsmasq restarted after death", func(t *testing.T) {
		proc := dnsmasq.Process{Paths: dnsmasq.PathsFor(dcfg.StateDir, netV), NetworkID: netV}
		old := proc.PID()
		if old == 0 {
			t.Fatal("no dnsmasq for netV")
		}
		Must(t, syscall.Kill(old, syscall.SIGKILL))
		WaitFor(t, "dnsmasq gone", 2*time.Second, func() error {
			if proc.PID() != 0 {
				return os.ErrExist
			}
			return nil
		})
		dr := dhcpA.Reconcile(ctx, dnets)
		Must(t, dr.Err())
		st := dr.Networks[netV]
		if st.Action != dhcp.ActionRestarted || st.PID == 0 || st.PID == old {
			t.Fatalf("after kill: %+v (old pid %d)", st, old)
		}
		if dr.Networks[netF].Action != dhcp.ActionNone {
			t.Errorf("netF touched: %+v", dr.Networks[netF])
		}
		_, err := r.DHCP(ctx, vA1)
		Must(t, err)
	})

	t.Run("new port: SIGHUP, no restart", func(t *testing.T) {
		v3 := r.VM("vma3", w.hostA, vmA3.id, vmA3.mac)
		before := dhcpA.Reconcile(ctx, dnets).Networks[netV].PID
		dnets[0].Ports = append(dnets[0].Ports, dhcpPort(vmA3, subV))
		desiredA.Ports = append(desiredA.Ports, l2Port(vmA3))
		dr := dhcpA.Reconcile(ctx, dnets)
		Must(t, dr.Err())
		if st := dr.Networks[netV]; st.Action != dhcp.ActionReloaded || st.PID != before {
			t.Fatalf("after adding a port: %+v, want reloaded pid %d", st, before)
		}
		res := pass(l2A, desiredA)
		if !slices.Equal(res.Up, []string{vmA3.id}) {
			t.Fatalf("up = %v, want [%s]", res.Up, vmA3.id)
		}
		// The server's fdb_add for the new port reaches host B.
		add := l2.FDBEntries{netV: {SegmentID: vni, NetworkType: "vxlan", Ports: map[string][]l2.PortInfo{
			"10.99.0.1": {{MAC: vmA3.mac, IP: vmA3.ip}}}}}
		l2B.FDBAdd(add)
		fdbB[netV].Ports["10.99.0.1"] = append(fdbB[netV].Ports["10.99.0.1"], add[netV].Ports["10.99.0.1"]...)
		pass(l2B, desiredB)
		l, err := r.DHCP(ctx, v3)
		Must(t, err)
		if l["ip"] != vmA3.ip {
			t.Fatalf("vmA3 lease %v", l)
		}
		Must(t, Ping(ctx, v3, vmB1.ip))
	})

	t.Run("fdb remove", func(t *testing.T) {
		rm := l2.FDBEntries{netV: {SegmentID: vni, NetworkType: "vxlan", Ports: map[string][]l2.PortInfo{
			"10.99.0.2": {{MAC: vmB1.mac, IP: vmB1.ip}}}}}
		l2A.FDBRemove(rm)
		pass(l2A, desiredA)
		vx, _ := w.hostA.Get(link.VXLANName(vni))
		fdb, err := w.hostA.FDB(vx)
		Must(t, err)
		neigh, err := w.hostA.Neighbors(vx)
		Must(t, err)
		if fdb[link.FDBEntry{MAC: vmB1.mac, Dst: "10.99.0.2"}] || neigh[vmB1.ip] != "" {
			t.Fatalf("entries for vmB1 survive fdb_remove: %v %v", fdb, neigh)
		}
		if !fdb[link.FDBEntry{MAC: "00:00:00:00:00:00", Dst: "10.99.0.2"}] {
			t.Fatal("flood entry removed with a unicast one")
		}
		l2A.FDBAdd(l2.FDBEntries{netV: rm[netV]})
		pass(l2A, desiredA)
		Must(t, Ping(ctx, vA1, vmB1.ip))
	})

	t.Run("admin state", func(t *testing.T) {
		set := func(up bool) l2.Result {
			for i := range desiredA.Ports {
				if desiredA.Ports[i].ID == vmA1.id {
					desiredA.Ports[i].AdminStateUp = up
				}
			}
			return pass(l2A, desiredA)
		}
		res := set(false)
		if !slices.Equal(res.Down, []string{vmA1.id}) || res.Ports[vmA1.id].State != l2.StateAdminDown {
			t.Fatalf("admin down: down=%v state=%v", res.Down, res.Ports[vmA1.id])
		}
		tap, _ := w.hostA.Get(link.TapName(vmA1.id))
		if tap.Attrs().Flags&(1) != 0 { // net.FlagUp
			t.Error("tap still up")
		}
		if _, err := Run(ctx, vB1.NS, nil, "busybox", "ping", "-c", "1", "-W", "1", vmA1.ip); err == nil {
			t.Error("ping reached an admin-down port")
		}
		res = set(true)
		if !slices.Equal(res.Up, []string{vmA1.id}) {
			t.Fatalf("admin up: up=%v", res.Up)
		}
		Must(t, Ping(ctx, vB1, vmA1.ip))
	})

	t.Run("restart leaks nothing", func(t *testing.T) {
		beforeA, beforeB := linkNames(t, w.hostA), linkNames(t, w.hostB)
		pids := map[string]int{}
		for _, n := range []string{netV, netF} {
			pids[n] = (&dnsmasq.Process{Paths: dnsmasq.PathsFor(dcfg.StateDir, n), NetworkID: n}).PID()
		}
		nsBefore, _ := netns.List(link.DHCPNamespacePrefix)
		// New instances, as after an agent restart.
		l2A = l2.New(w.hostA, w.cfgA, log)
		l2A.SetFDB(fdbA)
		l2B = l2.New(w.hostB, w.cfgB, log)
		l2B.SetFDB(fdbB)
		dhcpA = dhcp.New(w.hostA, dcfg, log)
		dr := dhcpA.Reconcile(ctx, dnets)
		Must(t, dr.Err())
		for _, n := range []string{netV, netF} {
			if st := dr.Networks[n]; st.Action != dhcp.ActionNone || st.PID != pids[n] {
				t.Errorf("dhcp %s after restart: %+v, want unchanged pid %d", n, st, pids[n])
			}
		}
		resA := pass(l2A, desiredA)
		pass(l2B, desiredB)
		if len(resA.Up) != 5 { // a restarted agent reports every up port again
			t.Errorf("up after restart = %v", resA.Up)
		}
		if a := linkNames(t, w.hostA); !slices.Equal(a, beforeA) {
			t.Errorf("host A devices changed:\n before %v\n after  %v", beforeA, a)
		}
		if b := linkNames(t, w.hostB); !slices.Equal(b, beforeB) {
			t.Errorf("host B devices changed:\n before %v\n after  %v", beforeB, b)
		}
		if nsAfter, _ := netns.List(link.DHCPNamespacePrefix); !slices.Equal(nsAfter, nsBefore) {
			t.Errorf("qdhcp namespaces changed: %v -> %v", nsBefore, nsAfter)
		}
		Must(t, Ping(ctx, vA1, vmB1.ip))
	})

	t.Run("garbage collection", func(t *testing.T) {
		_, err := w.hostA.EnsureBridge("brqdeadbeef00", 0)
		Must(t, err)
		_, err = w.hostA.EnsureBridge("br-keep", 0)
		Must(t, err)
		_, err = w.hostA.EnsureVXLAN(link.VXLAN{VNI: 4242, Local: netIP("10.99.0.1")})
		Must(t, err)
		pass(l2A, desiredA)
		for name, want := range map[string]bool{"brqdeadbeef00": false, "vxlan-4242": false, "br-keep": true} {
			l, err := w.hostA.Get(name)
			Must(t, err)
			if (l != nil) != want {
				t.Errorf("%s present=%v, want %v", name, l != nil, want)
			}
		}
		Must(t, w.hostA.Delete("br-keep"))
	})

	t.Run("teardown", func(t *testing.T) {
		pids := []int{}
		for _, n := range []string{netV, netF} {
			pid := (&dnsmasq.Process{Paths: dnsmasq.PathsFor(dcfg.StateDir, n), NetworkID: n}).PID()
			if pid == 0 {
				t.Fatalf("no dnsmasq for %s before teardown", n)
			}
			pids = append(pids, pid)
		}
		Must(t, dhcpA.Teardown(ctx))
		// The compute side unplugs: deleting the VMs takes their taps.
		for _, name := range []string{"vma1", "vma2", "vma3", "vmb1", "vmb2", "vmvlan"} {
			r.Delete(name)
		}
		WaitFor(t, "taps gone", 5*time.Second, func() error {
			for _, h := range []*link.Host{w.hostA, w.hostB} {
				if taps, _ := h.List(link.TapPrefix); len(taps) > 0 {
					return os.ErrExist
				}
			}
			return nil
		})
		resA := pass(l2A, l2.Desired{})
		pass(l2B, l2.Desired{})
		if len(resA.Down) != 5 {
			t.Errorf("down on teardown = %v", resA.Down)
		}
		for _, h := range []*link.Host{w.hostA, w.hostB} {
			for _, prefix := range []string{"brq", "vxlan-", "tap"} {
				if left, _ := h.List(prefix); len(left) > 0 {
					t.Errorf("left behind: %v", left)
				}
			}
		}
		for _, n := range []string{netV, netF} {
			if netns.Exists(link.DHCPNamespace(n)) {
				t.Errorf("qdhcp-%s left behind", n)
			}
		}
		for _, pid := range pids {
			// A zombie awaiting its reaper has an empty cmdline.
			if b, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "cmdline")); strings.Contains(string(b), "dnsmasq") {
				t.Errorf("dnsmasq pid %d still running", pid)
			}
		}
		if ents, _ := os.ReadDir(dcfg.StateDir); len(ents) > 0 {
			t.Errorf("state dir not empty: %v", ents)
		}
	})
}
