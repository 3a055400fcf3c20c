// Package agents_test runs the real thing end to end: a Neutrino server
// and one agent (L2 and DHCP parts) per simulated host, driven only
// through the HTTP API, with "VMs" taking leases from dnsmasq and pinging
// each other over VXLAN and a flat physical network.
package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

func TestAgentsEndToEnd(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hA, hB := w.hosts["hostA"], w.hosts["hostB"]

	vxNet, _, vxGW := w.network("vx", "10.60.0.0/24", nil)
	flatNet, _, flatGW := w.network("flat", "10.61.0.0/24", map[string]any{
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})
	pA, pB := w.port(vxNet, "hostA"), w.port(vxNet, "hostB")
	pF := w.port(flatNet, "hostB")
	vmA := w.r.VM("vma", hA.h, pA.id, pA.mac)
	vmB := w.r.VM("vmb", hB.h, pB.id, pB.mac)
	vmF := w.r.VM("vmf", hB.h, pF.id, pF.mac)

	t.Run("ports go ACTIVE", func(t *testing.T) {
		for _, p := range []port{pA, pB, pF} {
			WaitFor(t, "port "+p.id+" ACTIVE", 20*time.Second, func() error {
				if s := w.status(p.id); s != "ACTIVE" {
					return fmt.Errorf("status %s", s)
				}
				return nil
			})
		}
	})

	t.Run("each VM leases its port's address", func(t *testing.T) {
		for _, c := range []struct {
			v      *VM
			p      port
			gw     string
			mtu    string
			prefix string
		}{
			{vmA, pA, vxGW, "1450", "24"}, {vmB, pB, vxGW, "1450", "24"}, {vmF, pF, flatGW, "1500", "24"},
		} {
			l, err := w.r.DHCP(ctx, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if l["ip"] != c.p.ip || l["router"] != c.gw || l["mtu"] != c.mtu || l["domain"] != "openstacklocal" {
				t.Errorf("%s lease %v; want ip %s router %s mtu %s", c.v.Name, l, c.p.ip, c.gw, c.mtu)
			}
		}
	})

	dp, err := w.dhcpPort(vxNet)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("VMs ping each other across VXLAN", func(t *testing.T) {
		Must(t, Ping(ctx, vmA, pB.ip))
		Must(t, Ping(ctx, vmB, pA.ip))
		Must(t, Ping(ctx, vmA, dp.ip))
	})

	t.Run("flat VM reaches its DHCP server over physnet1", func(t *testing.T) {
		fdp, err := w.dhcpPort(flatNet)
		Must(t, err)
		Must(t, Ping(ctx, vmF, fdp.ip))
	})

	t.Run("dnsmasq resolves the other VM", func(t *testing.T) {
		name := "host-" + strings.ReplaceAll(pB.ip, ".", "-") + ".openstacklocal"
		out, err := Run(ctx, vmA.NS, nil, "busybox", "nslookup", "-type=a", name, dp.ip)
		if err != nil || !strings.Contains(out, pB.ip) {
			t.Errorf("nslookup %s: %v\n%s", name, err, out)
		}
	})

	t.Run("restarting an agent keeps traffic and leaks nothing", func(t *testing.T) {
		before := map[string][]string{"hostA": linkNames(t, hA.h), "hostB": linkNames(t, hB.h)}
		procs := dnsmasqs(vxNet, flatNet)
		if procs != 2 {
			t.Fatalf("%d dnsmasq before the restart, want 2", procs)
		}
		for _, name := range []string{dp.host, otherHost(dp.host)} {
			w.stop(name)
			Must(t, Ping(ctx, vmA, pB.ip)) // the data plane outlives its agent
			w.start(name)
			h := w.hosts[name]
			WaitFor(t, name+" agent's passes", 10*time.Second, func() error {
				if h.l2.Passes() < 2 || h.dhcp.Passes() < 1 {
					return fmt.Errorf("l2 %d dhcp %d passes", h.l2.Passes(), h.dhcp.Passes())
				}
				return nil
			})
			Must(t, Ping(ctx, vmA, pB.ip))
			Must(t, Ping(ctx, vmB, pA.ip))
			if after := linkNames(t, h.h); !slices.Equal(after, before[name]) {
				t.Errorf("%s devices changed across the restart:\nbefore %v\nafter  %v", name, before[name], after)
			}
			if n := dnsmasqs(vxNet, flatNet); n != procs {
				t.Errorf("%d dnsmasq after restarting %s, want %d", n, name, procs)
			}
		}
		if _, err := w.r.DHCP(ctx, vmB); err != nil {
			t.Errorf("renewing after the restarts: %v", err)
		}
	})

	t.Run("an agent that missed notifications catches up from its snapshot", func(t *testing.T) {
		// Without DHCP the ports need only L2 to go ACTIVE, so host A's port
		// goes ACTIVE (and its fdb_add goes out) while host B's agent is down.
		net2 := w.create("network", map[string]any{"name": "vx2"})["id"].(string)
		w.create("subnet", map[string]any{"network_id": net2, "cidr": "10.63.0.0/24", "ip_version": 4, "enable_dhcp": false})
		active := func(id string) {
			WaitFor(t, "port "+id+" ACTIVE", 20*time.Second, func() error {
				if s := w.status(id); s != "ACTIVE" {
					return fmt.Errorf("status %s", s)
				}
				return nil
			})
		}
		static := func(v *VM, ip string) {
			if out, err := Run(ctx, v.NS, nil, "ip", "addr", "add", ip+"/24", "dev", "eth0"); err != nil {
				t.Fatalf("%s: %v %s", v.Name, err, out)
			}
		}
		b2 := w.port(net2, "hostB")
		vmB2 := w.r.VM("vmb2", hB.h, b2.id, b2.mac)
		static(vmB2, b2.ip)
		active(b2.id)
		w.stop("hostB")
		a2 := w.port(net2, "hostA")
		vmA2 := w.r.VM("vma2", hA.h, a2.id, a2.mac)
		static(vmA2, a2.ip)
		active(a2.id)
		w.start("hostB")
		WaitFor(t, "host B agent's first passes", 10*time.Second, func() error {
			if n := hB.l2.Passes(); n < 1 {
				return fmt.Errorf("%d passes", n)
			}
			return nil
		})
		Must(t, Ping(ctx, vmB2, a2.ip))
		Must(t, Ping(ctx, vmA2, b2.ip))
	})

	t.Run("deleting a port cuts its VM off", func(t *testing.T) {
		w.call(http.MethodDelete, "/v2.0/ports/"+pB.id, nil, nil)
		WaitFor(t, "vmB cut off", 10*time.Second, func() error {
			tap, err := hB.h.Get(link.TapName(pB.id))
			if err != nil || tap == nil {
				return fmt.Errorf("tap gone? %v", err)
			}
			if tap.Attrs().MasterIndex != 0 {
				return fmt.Errorf("tap %s still on a bridge", tap.Attrs().Name)
			}
			return nil
		})
		if err := Ping(ctx, vmA, pB.ip); err == nil {
			t.Error("vmA still reaches the deleted port's VM")
		}
		Must(t, Ping(ctx, vmA, dp.ip))
	})

	t.Run("a subnet added to the network is served too", func(t *testing.T) {
		sub := w.create("subnet", map[string]any{"network_id": vxNet, "cidr": "10.62.0.0/24", "ip_version": 4, "enable_dhcp": true})
		WaitFor(t, "DHCP port on the new subnet", 15*time.Second, func() error {
			var out map[string]map[string]any
			w.get("/v2.0/ports/"+dp.id, &out)
			if ips, _ := out["port"]["fixed_ips"].([]any); len(ips) != 2 {
				return fmt.Errorf("DHCP port fixed_ips %v", out["port"]["fixed_ips"])
			}
			return nil
		})
		created := w.create("port", map[string]any{"network_id": vxNet, "binding:host_id": "hostA",
			"device_owner": "compute:nova", "device_id": UUID(), "fixed_ips": []any{map[string]any{"subnet_id": sub["id"]}}})
		ip := created["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		v := w.r.VM("vmc", hA.h, created["id"].(string), created["mac_address"].(string))
		l, err := w.r.DHCP(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if l["ip"] != ip || l["router"] != sub["gateway_ip"] || l["mtu"] != "1450" {
			t.Errorf("lease %v; want ip %s router %s mtu 1450", l, ip, sub["gateway_ip"])
		}
	})

	t.Run("disabling DHCP releases the DHCP port", func(t *testing.T) {
		netID, subID, _ := w.network("nodhcp", "10.64.0.0/24", nil)
		var port3 port
		WaitFor(t, "DHCP port", 15*time.Second, func() (err error) { port3, err = w.dhcpPort(netID); return err })
		WaitFor(t, "dnsmasq serving it", 15*time.Second, func() error {
			if n := dnsmasqs(netID); n != 1 {
				return fmt.Errorf("%d dnsmasq", n)
			}
			return nil
		})
		w.call(http.MethodPut, "/v2.0/subnets/"+subID, map[string]any{"subnet": map[string]any{"enable_dhcp": false}}, nil)
		WaitFor(t, "DHCP server and port gone", 15*time.Second, func() error {
			if n := dnsmasqs(netID); n != 0 {
				return fmt.Errorf("%d dnsmasq still serve it", n)
			}
			if netns.Exists(link.DHCPNamespace(netID)) {
				return fmt.Errorf("namespace %s still there", link.DHCPNamespace(netID))
			}
			if code := w.get("/v2.0/ports/"+port3.id, nil); code != http.StatusNotFound {
				return fmt.Errorf("DHCP port %s: %d, want 404", port3.id, code)
			}
			return nil
		})
		w.call(http.MethodDelete, "/v2.0/networks/"+netID, nil, nil)
	})

	t.Run("deleting a network tears its DHCP server and bridges down", func(t *testing.T) {
		w.call(http.MethodDelete, "/v2.0/ports/"+pF.id, nil, nil)
		w.call(http.MethodDelete, "/v2.0/networks/"+flatNet, nil, nil)
		br := link.BridgeName(flatNet)
		WaitFor(t, "flat network gone from the hosts", 15*time.Second, func() error {
			if netns.Exists(link.DHCPNamespace(flatNet)) {
				return fmt.Errorf("namespace %s still there", link.DHCPNamespace(flatNet))
			}
			if n := dnsmasqs(flatNet); n != 0 {
				return fmt.Errorf("%d dnsmasq still serve it", n)
			}
			for _, h := range []*simHost{hA, hB} {
				if l, err := h.h.Get(br); err == nil && l != nil {
					return fmt.Errorf("%s still has %s", h.name, br)
				}
			}
			return nil
		})
		if n := dnsmasqs(vxNet); n != 1 {
			t.Errorf("%d dnsmasq serve the VXLAN network, want 1", n)
		}
		Must(t, Ping(ctx, vmA, dp.ip))
	})

	t.Run("teardown leaves nothing", func(t *testing.T) {
		w.teardown()
		for _, id := range []string{vxNet, flatNet} {
			if netns.Exists(link.DHCPNamespace(id)) {
				t.Errorf("namespace %s left", link.DHCPNamespace(id))
			}
		}
		if n := dnsmasqs(vxNet, flatNet); n != 0 {
			t.Errorf("%d dnsmasq left", n)
		}
	})
}

func otherHost(h string) string {
	if h == "hostA" {
		return "hostB"
	}
	return "hostA"
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
		out = append(out, fmt.Sprintf("%s@%s/%d", l.Attrs().Name, master, l.Attrs().Index))
	}
	slices.Sort(out)
	return out
}
