package dataplane_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// benchHost is one host namespace with a VXLAN underlay device (tun0,
// 10.98.0.1) whose peer stays in the same namespace.
func benchHost(b *testing.B, r *Rig) (netns.Handle, *link.Host, l2.Config) {
	ns := r.NS("h")
	h := r.Host(ns)
	Must(b, h.Netlink().LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "tun0"}, PeerName: "tun0p"}))
	for _, n := range []string{"tun0", "tun0p"} {
		l, err := h.Netlink().LinkByName(n)
		Must(b, err)
		Must(b, h.Netlink().LinkSetUp(l))
	}
	Addr(b, h, "tun0", "10.98.0.1/24")
	return ns, h, l2.Config{EnableVXLAN: true, LocalIP: "10.98.0.1", L2Population: true, ARPResponder: true}
}

// hostTap makes tap<port-id[:11]> whose peer stays in the host namespace:
// enough for the L2 agent, which only sees the tap.
func hostTap(b testing.TB, h *link.Host, portID string) {
	peer := "p" + portID[:11]
	Must(b, h.Netlink().LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: link.TapName(portID)}, PeerName: peer}))
}

// BenchmarkWirePort measures one L2 pass that wires one port whose tap
// exists onto a network new to the host: bridge + vxlan-<vni> uplink + the
// tap attached with its MTU and up.
func BenchmarkWirePort(b *testing.B) {
	RequireDataplane(b)
	r := New(b)
	_, h, cfg := benchHost(b, r)
	rc := l2.New(h, cfg, testLogger(b))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		port := UUID()
		hostTap(b, h, port)
		net := l2.Network{ID: UUID(), NetworkType: l2.TypeVXLAN, SegmentationID: 2000 + i%10000, MTU: 1450}
		d := l2.Desired{Networks: []l2.Network{net}, Ports: []l2.Port{{ID: port, NetworkID: net.ID, AdminStateUp: true}}}
		b.StartTimer()
		res, err := rc.Reconcile(ctx, d)
		b.StopTimer()
		if err != nil || len(res.Up) != 1 || len(res.Errors) > 0 {
			b.Fatalf("pass: %v %+v", err, res)
		}
		Must(b, h.Delete(link.TapName(port)))
		if _, err := rc.Reconcile(ctx, l2.Desired{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkLeasePing measures, for N VMs plugged at once on one host, the
// time from handing the agents the desired state to every VM holding its
// DHCP lease (busybox udhcpc, all started at once) and pinging the DHCP
// server through the bridge. Setup (namespaces, taps) is not timed.
func BenchmarkLeasePing(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
			RequireDataplane(b)
			for i := 0; i < b.N; i++ {
				leasePingOnce(b, n)
			}
		})
	}
}

func leasePingOnce(b *testing.B, n int) {
	b.StopTimer()
	r := New(b)
	_, h, cfg := benchHost(b, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	netID, subID := UUID(), UUID()
	dport := dhcp.Port{ID: UUID(), MAC: "fa:16:3e:77:00:02", FixedIPs: fixed(subID, "10.70.0.2"), DeviceOwner: "network:dhcp"}
	dn := dhcp.Network{ID: netID, MTU: 1450, DHCPPort: dport,
		Subnets: []dhcp.Subnet{{ID: subID, CIDR: "10.70.0.0/16", IPVersion: 4, GatewayIP: "10.70.0.1", EnableDHCP: true}}}
	d := l2.Desired{Networks: []l2.Network{{ID: netID, NetworkType: l2.TypeVXLAN, SegmentationID: 3000, MTU: 1450}},
		Ports: []l2.Port{{ID: dport.ID, NetworkID: netID, AdminStateUp: true}}}
	vms := make([]*VM, n)
	ips := make([]string, n)
	for i := range vms {
		id := UUID()
		mac := fmt.Sprintf("fa:16:3e:77:%02x:%02x", (i+16)>>8, (i+16)&0xff)
		ips[i] = fmt.Sprintf("10.70.%d.%d", (i+16)>>8, (i+16)&0xff)
		vms[i] = r.VM(fmt.Sprintf("v%d", i), h, id, mac)
		dn.Ports = append(dn.Ports, dhcp.Port{ID: id, MAC: mac, FixedIPs: fixed(subID, ips[i]), DeviceOwner: "compute:nova"})
		d.Ports = append(d.Ports, l2.Port{ID: id, NetworkID: netID, AdminStateUp: true})
	}
	dcfg := dhcp.DefaultConfig(filepath.Join(r.Dir, "dhcp"))
	dr := dhcp.New(h, dcfg, testLogger(b))
	defer dr.Teardown(context.Background())
	lr := l2.New(h, cfg, testLogger(b))

	b.StartTimer()
	start := time.Now()
	Must(b, dr.Reconcile(ctx, []dhcp.Network{dn}).Err())
	tDHCP := time.Since(start)
	res, err := lr.Reconcile(ctx, d)
	Must(b, err)
	tWired := time.Since(start)
	if len(res.Up) != n+1 {
		b.Fatalf("up %d ports, want %d", len(res.Up), n+1)
	}
	per := make([]time.Duration, n)
	leased := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := r.DHCP(ctx, v)
			leased[i] = time.Since(start)
			if err == nil && l["ip"] != ips[i] {
				err = fmt.Errorf("%s got %s, want %s", v.Name, l["ip"], ips[i])
			}
			if err == nil {
				err = ping1(ctx, v, "10.70.0.2")
			}
			per[i], errs[i] = time.Since(start), err
		}()
	}
	wg.Wait()
	total := time.Since(start)
	b.StopTimer()
	for _, err := range errs {
		Must(b, err)
	}
	sort.Slice(per, func(i, j int) bool { return per[i] < per[j] })
	sort.Slice(leased, func(i, j int) bool { return leased[i] < leased[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(tDHCP), "dhcp-pass-ms")
	b.ReportMetric(ms(tWired), "wired-ms")
	b.ReportMetric(ms(leased[len(leased)/2]), "p50-leased-ms")
	b.ReportMetric(ms(leased[len(leased)-1]), "all-leased-ms")
	b.ReportMetric(ms(per[len(per)/2]), "p50-lease+ping-ms")
	b.ReportMetric(ms(total), "all-leased+pinged-ms")
}

func ping1(ctx context.Context, v *VM, ip string) error {
	out, err := Run(ctx, v.NS, nil, "busybox", "ping", "-c", "1", "-W", "2", ip)
	if err != nil {
		return fmt.Errorf("%s ping %s: %v: %s", v.Name, ip, err, out)
	}
	return nil
}

// BenchmarkReconcile1000 measures L2 passes over 1,000 ports (10 VXLAN
// networks of 100 ports) on one host: the first pass wires everything
// (reported as first-pass-ms), each timed iteration is a steady-state pass
// that finds nothing to change, and repair-pass-ms is a pass after one
// bridge and its vxlan device were deleted by hand.
func BenchmarkReconcile1000(b *testing.B) {
	RequireDataplane(b)
	r := New(b)
	_, h, cfg := benchHost(b, r)
	const nets, per = 10, 100
	var d l2.Desired
	fdb := l2.FDBEntries{}
	for i := 0; i < nets; i++ {
		n := l2.Network{ID: UUID(), NetworkType: l2.TypeVXLAN, SegmentationID: 4000 + i, MTU: 1450}
		d.Networks = append(d.Networks, n)
		entries := []l2.PortInfo{l2.FloodEntry}
		for j := 0; j < per; j++ {
			id := UUID()
			hostTap(b, h, id)
			d.Ports = append(d.Ports, l2.Port{ID: id, NetworkID: n.ID, AdminStateUp: true})
			entries = append(entries, l2.PortInfo{MAC: net.HardwareAddr{0xfa, 0x16, 0x3e, byte(i), byte(j), 1}.String(), IP: fmt.Sprintf("10.%d.%d.1", 80+i, j)})
		}
		fdb[n.ID] = l2.FDBNetwork{SegmentID: n.SegmentationID, NetworkType: "vxlan", Ports: map[string][]l2.PortInfo{"10.98.0.2": entries}}
	}
	rc := l2.New(h, cfg, testLogger(b))
	rc.SetFDB(fdb)
	ctx := context.Background()
	start := time.Now()
	res, err := rc.Reconcile(ctx, d)
	first := time.Since(start)
	Must(b, err)
	if len(res.Up) != nets*per || len(res.Errors) > 0 {
		b.Fatalf("first pass: %d up, errors %v", len(res.Up), res.Errors)
	}
	Must(b, h.Delete(link.VXLANName(4000)))
	Must(b, h.Delete(link.BridgeName(d.Networks[0].ID)))
	start = time.Now()
	if _, err := rc.Reconcile(ctx, d); err != nil {
		b.Fatal(err)
	}
	repair := time.Since(start)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := rc.Reconcile(ctx, d)
		if err != nil || len(res.Up)+len(res.Down) != 0 {
			b.Fatalf("steady pass: %v up=%d down=%d", err, len(res.Up), len(res.Down))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(first.Microseconds())/1000, "first-pass-ms")
	b.ReportMetric(float64(repair.Microseconds())/1000, "repair-pass-ms")
}

// BenchmarkDHCPPass measures DHCP passes over 20 networks of 50 ports on
// one host: the first pass (20 namespaces, veths and dnsmasqs) is
// first-pass-ms, one port added to one network (files rewritten, SIGHUP)
// is reload-pass-ms, and each timed iteration is a steady-state pass.
func BenchmarkDHCPPass(b *testing.B) {
	RequireDataplane(b)
	r := New(b)
	_, h, _ := benchHost(b, r)
	const nets, ports = 20, 50
	want := make([]dhcp.Network, nets)
	for i := range want {
		sub := UUID()
		n := dhcp.Network{ID: UUID(), MTU: 1450,
			Subnets:  []dhcp.Subnet{{ID: sub, CIDR: fmt.Sprintf("10.%d.0.0/24", 100+i), IPVersion: 4, GatewayIP: fmt.Sprintf("10.%d.0.1", 100+i), EnableDHCP: true}},
			DHCPPort: dhcp.Port{ID: UUID(), MAC: fmt.Sprintf("fa:16:3e:%02x:00:02", i), FixedIPs: fixed(sub, fmt.Sprintf("10.%d.0.2", 100+i))}}
		for j := 0; j < ports; j++ {
			n.Ports = append(n.Ports, dhcp.Port{ID: UUID(), MAC: fmt.Sprintf("fa:16:3e:%02x:01:%02x", i, j),
				FixedIPs: fixed(sub, fmt.Sprintf("10.%d.0.%d", 100+i, 10+j)), DeviceOwner: "compute:nova"})
		}
		want[i] = n
	}
	rc := dhcp.New(h, dhcp.DefaultConfig(filepath.Join(r.Dir, "dhcp")), testLogger(b))
	b.Cleanup(func() { rc.Teardown(context.Background()) })
	ctx := context.Background()
	start := time.Now()
	Must(b, rc.Reconcile(ctx, want).Err())
	first := time.Since(start)
	sub := want[0].Subnets[0].ID
	want[0].Ports = append(want[0].Ports, dhcp.Port{ID: UUID(), MAC: "fa:16:3e:ff:ff:01", FixedIPs: fixed(sub, "10.100.0.200"), DeviceOwner: "compute:nova"})
	start = time.Now()
	res := rc.Reconcile(ctx, want)
	reload := time.Since(start)
	Must(b, res.Err())
	if res.Networks[want[0].ID].Action != dhcp.ActionReloaded {
		b.Fatalf("reload pass: %+v", res.Networks[want[0].ID])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := rc.Reconcile(ctx, want)
		Must(b, res.Err())
	}
	b.StopTimer()
	b.ReportMetric(float64(first.Microseconds())/1000, "first-pass-ms")
	b.ReportMetric(float64(reload.Microseconds())/1000, "reload-pass-ms")
}
