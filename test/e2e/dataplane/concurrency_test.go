package dataplane_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
)

// TestConcurrentPasses hammers one host: L2 and DHCP passes run in loops
// on their own goroutines (sharing the bridge) while "Nova" plugs VMs. No
// pass may fail, and once plugging stops one more pass of each leaves every
// port wired and one dnsmasq serving all of them.
func TestConcurrentPasses(t *testing.T) {
	RequireDataplane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := New(t)
	ns := r.NS("h")
	h := r.Host(ns)
	h2 := r.Host(ns) // the DHCP agent's own netlink sockets
	netID, subID := UUID(), UUID()
	const vms = 30
	dport := dhcp.Port{ID: UUID(), MAC: "fa:16:3e:66:00:02", FixedIPs: fixed(subID, "10.66.0.2"), DeviceOwner: "network:dhcp"}
	dn := dhcp.Network{ID: netID, MTU: 1500, DHCPPort: dport,
		Subnets: []dhcp.Subnet{{ID: subID, CIDR: "10.66.0.0/24", IPVersion: 4, GatewayIP: "10.66.0.1", EnableDHCP: true}}}
	d := l2.Desired{Networks: []l2.Network{{ID: netID, NetworkType: l2.TypeLocal, MTU: 1500}},
		Ports: []l2.Port{{ID: dport.ID, NetworkID: netID, AdminStateUp: true}}}
	ids := make([]string, vms)
	for i := range ids {
		ids[i] = UUID()
		mac := fmt.Sprintf("fa:16:3e:66:00:%02x", i+16)
		dn.Ports = append(dn.Ports, dhcp.Port{ID: ids[i], MAC: mac, FixedIPs: fixed(subID, fmt.Sprintf("10.66.0.%d", i+16)), DeviceOwner: "compute:nova"})
		d.Ports = append(d.Ports, l2.Port{ID: ids[i], NetworkID: netID, AdminStateUp: true})
	}
	lr := l2.New(h, l2.Config{}, testLogger(t))
	dr := dhcp.New(h2, dhcp.DefaultConfig(filepath.Join(r.Dir, "dhcp")), testLogger(t))
	t.Cleanup(func() { dr.Teardown(context.Background()) })

	var stop atomic.Bool
	var wg sync.WaitGroup
	var l2Passes, dhcpPasses atomic.Int64
	errs := make(chan error, 100)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			res, err := lr.Reconcile(ctx, d)
			if err == nil {
				err = res.Err()
			}
			if err != nil {
				errs <- fmt.Errorf("l2 pass: %w", err)
				return
			}
			l2Passes.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := dr.Reconcile(ctx, []dhcp.Network{dn}).Err(); err != nil {
				errs <- fmt.Errorf("dhcp pass: %w", err)
				return
			}
			dhcpPasses.Add(1)
		}
	}()
	for i, id := range ids {
		r.VM(fmt.Sprintf("v%d", i), h, id, fmt.Sprintf("fa:16:3e:66:00:%02x", i+16))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d L2 and %d DHCP passes ran during plugging", l2Passes.Load(), dhcpPasses.Load())

	Must(t, dr.Reconcile(ctx, []dhcp.Network{dn}).Err())
	res, err := lr.Reconcile(ctx, d)
	Must(t, err)
	Must(t, res.Err())
	for _, p := range d.Ports {
		if st := res.Ports[p.ID]; st.State != l2.StateUp {
			t.Errorf("port %s: %+v", p.ID, st)
		}
	}
	br, err := h.Get(link.BridgeName(netID))
	Must(t, err)
	members, err := h.Members(br)
	Must(t, err)
	if len(members) != vms+1 {
		t.Errorf("bridge has %d members, want %d", len(members), vms+1)
	}
	v := &VM{Name: r.Prefix + "v7", NS: r.Handles["v7"]}
	l, err := r.DHCP(ctx, v)
	Must(t, err)
	if l["ip"] != "10.66.0.23" {
		t.Errorf("lease %v", l)
	}
}
