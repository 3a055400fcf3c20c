package dataplane_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/dataplane/dnsmasq"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// TestVXLANWithoutL2pop covers the two ways broadcast traffic reaches the
// other host without l2population: head-end replication to a list of
// VTEPs, and a multicast group chosen from a vxlan_group CIDR. MAC
// learning is on in both.
func TestVXLANWithoutL2pop(t *testing.T) {
	RequireDataplane(t)
	for _, c := range []struct {
		name  string
		setup func(a, b *l2.Config)
		check func(t *testing.T, vx *netlink.Vxlan, fdb map[link.FDBEntry]bool)
	}{
		{"head-end replication", func(a, b *l2.Config) {
			a.FloodPeers = []string{"10.99.0.1", "10.99.0.2"} // its own address is skipped
			b.FloodPeers = []string{"10.99.0.1", "10.99.0.2"}
		}, func(t *testing.T, vx *netlink.Vxlan, fdb map[link.FDBEntry]bool) {
			if len(fdb) != 1 || !fdb[link.FDBEntry{MAC: "00:00:00:00:00:00", Dst: "10.99.0.2"}] {
				t.Errorf("static fdb = %v, want only the flood entry to 10.99.0.2", fdb)
			}
		}},
		{"multicast group", func(a, b *l2.Config) {
			a.VXLANGroup, b.VXLANGroup = "239.1.1.0/24", "239.1.1.0/24"
			a.TTL, b.TTL = 1, 1
		}, func(t *testing.T, vx *netlink.Vxlan, fdb map[link.FDBEntry]bool) {
			if vx.Group.String() != "239.1.1.77" { // 1101 & 0xff = 77
				t.Errorf("group = %v, want 239.1.1.77", vx.Group)
			}
			// Only the kernel's own flood entry towards the group, untouched.
			if len(fdb) != 1 || !fdb[link.FDBEntry{MAC: "00:00:00:00:00:00", Dst: "239.1.1.77"}] {
				t.Errorf("static fdb = %v, want the group's flood entry only", fdb)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			w := newWorld(t)
			w.cfgA.L2Population, w.cfgB.L2Population = false, false
			w.cfgA.ARPResponder, w.cfgB.ARPResponder = false, false
			c.setup(&w.cfgA, &w.cfgB)
			netID := UUID()
			n := l2.Network{ID: netID, NetworkType: l2.TypeVXLAN, SegmentationID: 1101, MTU: 1450}
			pa, pb := UUID(), UUID()
			va := w.r.VM("va", w.hostA, pa, "fa:16:3e:dd:00:01")
			vb := w.r.VM("vb", w.hostB, pb, "fa:16:3e:dd:00:02")
			Addr(t, w.r.Host(va.NS), "eth0", "10.53.0.1/24")
			Addr(t, w.r.Host(vb.NS), "eth0", "10.53.0.2/24")
			for _, s := range []struct {
				h   *link.Host
				cfg l2.Config
				p   string
			}{{w.hostA, w.cfgA, pa}, {w.hostB, w.cfgB, pb}} {
				res, err := l2.New(s.h, s.cfg, testLogger(t)).Reconcile(ctx, l2.Desired{Networks: []l2.Network{n},
					Ports: []l2.Port{{ID: s.p, NetworkID: netID, AdminStateUp: true}}})
				Must(t, err)
				if len(res.Errors) > 0 || len(res.Up) != 1 {
					t.Fatalf("pass: %+v", res)
				}
			}
			l, err := w.hostA.Get(link.VXLANName(1101))
			Must(t, err)
			vx := l.(*netlink.Vxlan)
			if !vx.Learning {
				t.Error("learning off without l2population")
			}
			fdb, err := w.hostA.FDB(vx)
			Must(t, err)
			c.check(t, vx, fdb)
			Must(t, Ping(ctx, va, "10.53.0.2"))
		})
	}
}

// TestDHCPLifecycle: supervision restarts a killed dnsmasq, an argv change
// (the MTU) restarts it, turning DHCP off on every subnet removes it, and
// teardown leaves nothing.
func TestDHCPLifecycle(t *testing.T) {
	RequireDataplane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := New(t)
	ns := r.NS("h")
	h := r.Host(ns)
	netID, subID := UUID(), UUID()
	vmPort := UUID()
	v := r.VM("vm", h, vmPort, "fa:16:3e:ee:00:11")
	n := dhcp.Network{ID: netID, MTU: 1400,
		Subnets:  []dhcp.Subnet{{ID: subID, CIDR: "10.54.0.0/24", IPVersion: 4, GatewayIP: "10.54.0.1", EnableDHCP: true}},
		Ports:    []dhcp.Port{{ID: vmPort, MAC: v.MAC, FixedIPs: fixed(subID, "10.54.0.11"), DeviceOwner: "compute:nova"}},
		DHCPPort: dhcp.Port{ID: UUID(), MAC: "fa:16:3e:ee:00:02", FixedIPs: fixed(subID, "10.54.0.2")}}
	// Without an L2 agent on this host the VM's tap has to be enslaved
	// by hand, as os-vif would.
	plug := func() {
		br, err := h.Get(link.BridgeName(netID))
		Must(t, err)
		tap, err := h.Get(link.TapName(vmPort))
		Must(t, err)
		Must(t, h.EnsureMaster(tap, br))
		Must(t, h.EnsureState(tap, 0, true))
	}
	cfg := dhcp.DefaultConfig(filepath.Join(r.Dir, "dhcp"))
	rc := dhcp.New(h, cfg, testLogger(t))
	t.Cleanup(func() { rc.Teardown(context.Background()) })
	res := rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	plug()
	l, err := r.DHCP(ctx, v)
	Must(t, err)
	if l["mtu"] != "1400" {
		t.Fatalf("lease %v", l)
	}
	proc := &dnsmasq.Process{Paths: dnsmasq.PathsFor(cfg.StateDir, netID), NetworkID: netID}

	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { rc.Supervise(sctx, 100*time.Millisecond); close(done) }()
	old := proc.PID()
	Must(t, killPID(old))
	WaitFor(t, "supervisor respawns dnsmasq", 5*time.Second, func() error {
		if p := proc.PID(); p == 0 || p == old {
			return os.ErrNotExist
		}
		return nil
	})
	stop()
	<-done

	// The namespace deleted by hand: a new one is made and dnsmasq, left
	// serving the orphaned one, is restarted inside it.
	old = proc.PID()
	Must(t, netns.Delete(link.DHCPNamespace(netID)))
	res = rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	if st := res.Networks[netID]; st.Action != dhcp.ActionRestarted || st.PID == old {
		t.Fatalf("after namespace deletion: %+v (old pid %d)", st, old)
	}
	plug()
	_, err = r.DHCP(ctx, v)
	Must(t, err)

	n.MTU = 1380
	res = rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	if res.Networks[netID].Action != dhcp.ActionRestarted {
		t.Fatalf("MTU change: %+v, want restarted", res.Networks[netID])
	}
	l, err = r.DHCP(ctx, v)
	Must(t, err)
	if l["mtu"] != "1380" {
		t.Fatalf("lease after MTU change %v", l)
	}

	n.Subnets[0].EnableDHCP = false
	res = rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	if res.Networks[netID].Action != dhcp.ActionDisabled || proc.PID() != 0 || netns.Exists(link.DHCPNamespace(netID)) {
		t.Fatalf("DHCP off: %+v pid %d", res.Networks[netID], proc.PID())
	}
	n.Subnets[0].EnableDHCP = true
	res = rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	if res.Networks[netID].Action != dhcp.ActionStarted {
		t.Fatalf("DHCP on again: %+v", res.Networks[netID])
	}
	plug()
	_, err = r.DHCP(ctx, v)
	Must(t, err)

	// The port is deleted and its address goes to a new port with another
	// MAC: the old lease must be released or dnsmasq refuses the address.
	newMAC := "fa:16:3e:ee:00:99"
	n.Ports = []dhcp.Port{{ID: UUID(), MAC: newMAC, FixedIPs: fixed(subID, "10.54.0.11"), DeviceOwner: "compute:nova"}}
	res = rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	if res.Networks[netID].Action != dhcp.ActionReloaded {
		t.Fatalf("port replaced: %+v, want reloaded", res.Networks[netID])
	}
	vh := r.Host(v.NS)
	eth, err := vh.Netlink().LinkByName("eth0")
	Must(t, err)
	// Static leases only: a MAC no port has gets nothing.
	hw, _ := net.ParseMAC("fa:16:3e:ee:00:77")
	Must(t, vh.Netlink().LinkSetHardwareAddr(eth, hw))
	if l, err := r.DHCPTries(ctx, v, 2); err == nil {
		t.Fatalf("unknown MAC got a lease: %v", l)
	}
	hw, _ = net.ParseMAC(newMAC)
	Must(t, vh.Netlink().LinkSetHardwareAddr(eth, hw))
	l, err = r.DHCP(ctx, v)
	Must(t, err)
	if l["ip"] != "10.54.0.11" {
		t.Fatalf("new port's lease %v", l)
	}

	Must(t, rc.Teardown(ctx))
	if proc.PID() != 0 || netns.Exists(link.DHCPNamespace(netID)) {
		t.Fatal("teardown left dnsmasq or the namespace")
	}
	if tap, _ := h.Get(link.TapName(n.DHCPPort.ID)); tap != nil {
		t.Fatal("teardown left the DHCP tap")
	}
}
