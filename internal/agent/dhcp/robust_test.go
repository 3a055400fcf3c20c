package dhcp

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// syncBuffer is a log sink the test reads while passes write to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInconsistentSnapshotsAndPanics feeds the reconciler, on a real
// kernel with real dnsmasq, a network whose snapshot is inconsistent (a
// port on a subnet the network does not list — the snapshot that crashed
// the agent in dnsmasq.Config.Render —, a duplicate address, a subnet
// with a bad CIDR, a port without a MAC), a consistent network, and a
// network whose pass panics. The bad objects are skipped and reported,
// every VM with a consistent port gets its lease, the panic is recovered
// and counted, and the next pass serves the network that panicked.
func TestInconsistentSnapshotsAndPanics(t *testing.T) {
	nsrig.RequireDataplane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := nsrig.New(t)
	h := r.Host(r.NS("h"))
	var logs syncBuffer
	rc := New(h, DefaultConfig(filepath.Join(r.Dir, "dhcp")), slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { rc.Teardown(context.Background()) })

	type vmNet struct {
		n  Network
		vm *nsrig.VM
		ip string
	}
	mk := func(name, cidr3 string, mac byte) vmNet {
		netID, subID, port := nsrig.UUID(), nsrig.UUID(), nsrig.UUID()
		macs := "fa:16:3e:7a:00:"
		vm := r.VM(name, h, port, macs+hex2(mac))
		ip := cidr3 + ".11"
		return vmNet{vm: vm, ip: ip, n: Network{ID: netID, MTU: 1500,
			Subnets:  []Subnet{{ID: subID, CIDR: cidr3 + ".0/24", IPVersion: 4, GatewayIP: cidr3 + ".1", EnableDHCP: true}},
			Ports:    []Port{{ID: port, MAC: vm.MAC, DeviceOwner: "compute:nova", FixedIPs: []FixedIP{{SubnetID: subID, IPAddress: ip}}}},
			DHCPPort: Port{ID: nsrig.UUID(), MAC: macs + hex2(mac+0x80), FixedIPs: []FixedIP{{SubnetID: subID, IPAddress: cidr3 + ".2"}}}}}
	}
	bad, good, panicky := mk("bad", "10.71.0", 1), mk("good", "10.72.0", 2), mk("panic", "10.73.0", 3)
	sub := bad.n.Subnets[0].ID
	// The stray port is a VM too: it must get nothing, not crash anything.
	strayPort := nsrig.UUID()
	stray := r.VM("stray", h, strayPort, "fa:16:3e:7a:00:41")
	badSub := nsrig.UUID()
	bad.n.Subnets = append(bad.n.Subnets, Subnet{ID: badSub, CIDR: "10.71.1.0/33", IPVersion: 4, EnableDHCP: true})
	bad.n.Ports = append(bad.n.Ports,
		Port{ID: strayPort, MAC: stray.MAC, DeviceOwner: "compute:nova", FixedIPs: []FixedIP{{SubnetID: nsrig.UUID(), IPAddress: "10.71.9.9"}}},
		Port{ID: nsrig.UUID(), MAC: "fa:16:3e:7a:00:42", DeviceOwner: "compute:nova", FixedIPs: []FixedIP{{SubnetID: sub, IPAddress: bad.ip}}},
		Port{ID: nsrig.UUID(), MAC: "fa:16:3e:7a:00:43", DeviceOwner: "compute:nova", FixedIPs: []FixedIP{{SubnetID: badSub, IPAddress: "10.71.1.5"}}},
		Port{ID: nsrig.UUID(), DeviceOwner: "compute:nova", FixedIPs: []FixedIP{{SubnetID: sub, IPAddress: "10.71.0.44"}}},
	)
	rc.testHook = func(n Network) {
		if n.ID == panicky.n.ID {
			// The crash the agent had in Render: a subnet looked up
			// by id and not there.
			subnets := map[string]*Subnet{}
			_ = subnets["missing"].ID
		}
	}
	// The networks with consistent data are served before and after the
	// one that panics.
	res := rc.Reconcile(ctx, []Network{bad.n, panicky.n, good.n})
	for _, v := range []vmNet{bad, good} {
		if st := res.Networks[v.n.ID]; st.Err != nil || st.Action != ActionStarted {
			t.Fatalf("network %s: %+v", v.vm.Name, st)
		}
	}
	st := res.Networks[bad.n.ID]
	if len(st.Skipped) != 4 {
		t.Errorf("skipped %v, want the duplicate, the bad subnet, the address on it and the port without MAC", st.Skipped)
	}
	// An address on a subnet the network does not list (DHCP disabled
	// there, or created during the pass) is not the agent's to serve: it
	// does not hold the port back.
	if un := st.Unserved(); un[strayPort] || un[bad.n.Ports[0].ID] {
		t.Errorf("unserved ports %v", un)
	}
	if st := res.Networks[panicky.n.ID]; !st.Panicked || st.Err == nil || !strings.Contains(st.Err.Error(), "panic") {
		t.Fatalf("panicking network: %+v", st)
	}
	if hl := rc.Health(); hl.Panics != 1 || hl.Skipped != 4 {
		t.Errorf("health %+v, want 1 panic and 4 skipped", hl)
	}
	for _, want := range []string{"level=ERROR msg=\"DHCP network pass panicked", "invalid memory address or nil pointer dereference",
		"which was left out", "is also port", "cidr \\\"10.71.1.0/33\\\"", "is not a MAC address"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("agent log lacks %q:\n%s", want, logs.String())
		}
	}
	plug := func(v vmNet) {
		t.Helper()
		br, err := h.Get(link.BridgeName(v.n.ID))
		nsrig.Must(t, err)
		tap, err := h.Get(link.TapName(v.vm.Port))
		nsrig.Must(t, err)
		nsrig.Must(t, h.EnsureMaster(tap, br))
		nsrig.Must(t, h.EnsureState(tap, 0, true))
	}
	for _, v := range []vmNet{bad, good} {
		plug(v)
		l, err := r.DHCP(ctx, v.vm)
		nsrig.Must(t, err)
		if l["ip"] != v.ip {
			t.Errorf("%s leased %v, want %s", v.vm.Name, l, v.ip)
		}
	}
	// The stray port's VM, plugged into the bad network, gets nothing.
	br, err := h.Get(link.BridgeName(bad.n.ID))
	nsrig.Must(t, err)
	tap, err := h.Get(link.TapName(strayPort))
	nsrig.Must(t, err)
	nsrig.Must(t, h.EnsureMaster(tap, br))
	nsrig.Must(t, h.EnsureState(tap, 0, true))
	if l, err := r.DHCPTries(ctx, stray, 2); err == nil {
		t.Errorf("port on an unknown subnet got a lease: %v", l)
	}

	// The bug is gone (fixed, or the snapshot that triggered it changed):
	// the next pass serves the network, the others stay as they were, and
	// inconsistencies already reported are not logged again.
	rc.testHook = nil
	before := strings.Count(logs.String(), "skipping an inconsistent object")
	res = rc.Reconcile(ctx, []Network{bad.n, panicky.n, good.n})
	nsrig.Must(t, res.Err())
	if a := res.Networks[panicky.n.ID].Action; a != ActionStarted {
		t.Errorf("resync of the network that panicked: %s", a)
	}
	for _, v := range []vmNet{bad, good} {
		if a := res.Networks[v.n.ID].Action; a != ActionNone {
			t.Errorf("network %s: %s on the second pass", v.vm.Name, a)
		}
	}
	if after := strings.Count(logs.String(), "skipping an inconsistent object"); after != before {
		t.Errorf("skipped objects logged again: %d lines, then %d", before, after)
	}
	plug(panicky)
	l, err := r.DHCP(ctx, panicky.vm)
	nsrig.Must(t, err)
	if l["ip"] != panicky.ip {
		t.Errorf("%s leased %v", panicky.vm.Name, l)
	}
	if hl := rc.Health(); hl.Panics != 1 {
		t.Errorf("health %+v", hl)
	}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&0xf]})
}
