package metadata_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// TestMetadataThroughRouterNamespace: on networks without DHCP (so no
// qdhcp namespace and no pushed route), VMs reach 169.254.169.254 through
// their default route, the router: its NAT table redirects the request to
// the metadata part's listener in the qrouter namespace, which finds the
// instance on the router's networks. Two routers each have a network with
// the same subnet and a VM with the same address: each VM gets its own
// instance id. An address no port has on the router's networks gets 404
// without Nova hearing of it.
func TestMetadataThroughRouterNamespace(t *testing.T) {
	w := newWorldWith(t, "0", true)
	const cidr, gw, vmIP = "10.81.0.0/24", "10.81.0.1", "10.81.0.10"

	type side struct {
		router, instance string
		vm               *nsrig.VM
	}
	sides := make([]side, 2)
	for i := range sides {
		s := &sides[i]
		var n struct{ Network map[string]any }
		api(t, w.url, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{
			"name": fmt.Sprintf("mdr%d", i), "provider:network_type": "local"}}, &n)
		netID := n.Network["id"].(string)
		var sub struct{ Subnet map[string]any }
		api(t, w.url, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID,
			"ip_version": 4, "cidr": cidr, "enable_dhcp": false}}, &sub)
		var r struct{ Router map[string]any }
		api(t, w.url, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": fmt.Sprintf("mdr%d", i)}}, &r)
		s.router = r.Router["id"].(string)
		api(t, w.url, "PUT", "/v2.0/routers/"+s.router+"/add_router_interface",
			map[string]any{"subnet_id": sub.Subnet["id"]}, nil)
		s.instance = nsrig.UUID()
		var p struct{ Port map[string]any }
		api(t, w.url, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:host_id": "mdhost", "device_owner": "compute:nova", "device_id": s.instance,
			"fixed_ips": []map[string]any{{"ip_address": vmIP}}}}, &p)
		s.vm = w.r.VM(fmt.Sprintf("rvm%d", i), w.h, p.Port["id"].(string), p.Port["mac_address"].(string))
		staticAddress(t, s.vm, vmIP+"/24", gw)
	}
	nsrig.WaitFor(t, "metadata listeners in both router namespaces", 30*time.Second, func() error {
		got := w.mp.ServingRouters()
		for _, s := range sides {
			if !slices.Contains(got, s.router) {
				return fmt.Errorf("serving routers %v", got)
			}
		}
		return nil
	})
	get := func(v *nsrig.VM, path string) (string, error) {
		// Bounded from outside: this busybox's wget -T crashes.
		ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
		defer cancel()
		return nsrig.Run(ctx, v.NS, nil, "busybox", "wget", "-q", "-O", "-", "http://169.254.169.254"+path)
	}
	for _, s := range sides {
		// The router's qr- device is wired by the L2 part shortly after
		// the namespace exists: the first requests may find no route yet.
		var out string
		nsrig.WaitFor(t, "metadata through router "+s.router, 30*time.Second, func() error {
			var err error
			out, err = get(s.vm, "/latest/meta-data/instance-id")
			if err != nil {
				return fmt.Errorf("%q: %w", out, err)
			}
			return nil
		})
		if out != s.instance {
			t.Fatalf("through router %s: instance-id %q, want %s", s.router, out, s.instance)
		}
		hd := w.novaMD.last()
		if hd.Get("X-Instance-ID") != s.instance || hd.Get("X-Forwarded-For") != vmIP {
			t.Fatalf("Nova saw X-Instance-ID %q X-Forwarded-For %q, want %s %s",
				hd.Get("X-Instance-ID"), hd.Get("X-Forwarded-For"), s.instance, vmIP)
		}
		if out, err := get(s.vm, "/latest/meta-data/local-ipv4"); err != nil || out != vmIP {
			t.Fatalf("local-ipv4 through router %s: %q %v", s.router, out, err)
		}
	}

	// A Go client dialling from inside the VM reads the same, and the
	// proxy's own port is closed to direct connections.
	c := guestClient(sides[0].vm.NS)
	c.Timeout = 3 * time.Second
	resp, err := c.Get("http://169.254.169.254/latest/meta-data/instance-id")
	nsrig.Must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != sides[0].instance {
		t.Fatalf("Go client: %d %q", resp.StatusCode, b)
	}
	if resp, err := c.Get("http://" + gw + ":9697/latest/meta-data/instance-id"); err == nil {
		resp.Body.Close()
		t.Fatalf("the proxy's port answered a direct request: %d", resp.StatusCode)
	}

	// An address no port has on the router's networks: 404, and Nova
	// never hears of it.
	staticAddress(t, sides[1].vm, "10.81.0.99/24", gw)
	before := w.novaMD.count()
	if out, err := get(sides[1].vm, "/latest/meta-data/instance-id"); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("unknown address through the router: %q %v, want a 404", out, err)
	}
	if w.novaMD.count() != before {
		t.Fatal("Nova was asked about an address no port has")
	}

	// Deleting a router closes its listener.
	api(t, w.url, "PUT", "/v2.0/routers/"+sides[1].router+"/remove_router_interface",
		map[string]any{"subnet_id": subnetOf(t, w, sides[1].router)}, nil)
	api(t, w.url, "DELETE", "/v2.0/routers/"+sides[1].router, nil, nil)
	nsrig.WaitFor(t, "listener of the deleted router closed", 30*time.Second, func() error {
		if got := w.mp.ServingRouters(); slices.Contains(got, sides[1].router) {
			return fmt.Errorf("serving routers %v", got)
		}
		return nil
	})
}

// subnetOf is the subnet of the router's one interface.
func subnetOf(t *testing.T, w *world, router string) string {
	t.Helper()
	var out struct{ Ports []map[string]any }
	api(t, w.url, "GET", "/v2.0/ports?device_owner=network:router_interface&device_id="+router, nil, &out)
	if len(out.Ports) != 1 {
		t.Fatalf("router %s has %d interfaces", router, len(out.Ports))
	}
	return out.Ports[0]["fixed_ips"].([]any)[0].(map[string]any)["subnet_id"].(string)
}

// staticAddress gives v's eth0 exactly cidr, with its default route via
// gw, as a guest configured without DHCP.
func staticAddress(t *testing.T, v *nsrig.VM, cidr, gw string) {
	t.Helper()
	h, err := link.Open(v.NS)
	nsrig.Must(t, err)
	defer h.Close()
	eth, err := h.Netlink().LinkByName("eth0")
	nsrig.Must(t, err)
	old, err := h.Netlink().AddrList(eth, netlink.FAMILY_V4)
	nsrig.Must(t, err)
	for _, a := range old {
		nsrig.Must(t, h.Netlink().AddrDel(eth, &a))
	}
	a, err := netlink.ParseAddr(cidr)
	nsrig.Must(t, err)
	nsrig.Must(t, h.Netlink().AddrAdd(eth, a))
	nsrig.Must(t, h.Netlink().RouteReplace(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)},
		Gw: net.ParseIP(gw)}))
}

// TestMetadataIPv6ThroughDHCPNamespace: a network with an IPv6 subnet
// gets fe80::a9fe:a9fe in its DHCP namespace (as Neutron's DHCP agent
// adds it) and the metadata part listens there; a VM reads its own
// instance id from http://[fe80::a9fe:a9fe%eth0]/ with its link-local
// address, whose port the proxy finds by the MAC in it (EUI-64).
func TestMetadataIPv6ThroughDHCPNamespace(t *testing.T) {
	w := newWorld(t, "0")
	api(t, w.url, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": w.netID,
		"ip_version": 6, "cidr": "2001:db8:77::/64"}}, nil)
	instance := nsrig.UUID()
	vm, _ := w.vmPort("v6vm", instance)
	nsrig.WaitFor(t, "metadata listener on the IPv6 address", 30*time.Second, func() error {
		if got := w.mp.ServingV6(); !slices.Contains(got, w.netID) {
			return fmt.Errorf("serving over IPv6 %v", got)
		}
		return nil
	})
	c := guestClient(vm.NS)
	c.Timeout = 3 * time.Second
	var body string
	nsrig.WaitFor(t, "metadata over IPv6", 30*time.Second, func() error {
		// The guest's own link-local address is usable once its duplicate
		// address detection is over.
		resp, err := c.Get("http://[fe80::a9fe:a9fe%25eth0]/latest/meta-data/instance-id")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("%d %q", resp.StatusCode, b)
		}
		body = string(b)
		return nil
	})
	if body != instance {
		t.Fatalf("instance-id over IPv6: %q, want %s", body, instance)
	}
	if xff := w.novaMD.last().Get("X-Forwarded-For"); !strings.HasPrefix(xff, "fe80::") {
		t.Errorf("Nova saw X-Forwarded-For %q, want the guest's link-local address", xff)
	}
}
