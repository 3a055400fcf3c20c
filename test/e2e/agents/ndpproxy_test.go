package agents_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/ndpfilter"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// resolvedMAC is the link-layer address the outside namespace's
// neighbour table holds for ip, once neighbour discovery answered; ""
// while unresolved. It sends a datagram to ip first, which makes the
// kernel solicit it.
func resolvedMAC(ns netns.Handle, h *link.Host, ip string) (string, error) {
	err := netns.Do(ns, func() error {
		c, err := net.Dial("udp6", "["+ip+"]:9")
		if err != nil {
			return err
		}
		defer c.Close()
		_, _ = c.Write([]byte("ndp"))
		return nil
	})
	if err != nil {
		return "", err
	}
	neighs, err := h.Netlink().NeighList(0, netlink.FAMILY_V6)
	if err != nil {
		return "", err
	}
	for _, n := range neighs {
		if n.IP.String() == ip && n.HardwareAddr != nil &&
			n.State&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) != 0 {
			return n.HardwareAddr.String(), nil
		}
	}
	return "", nil
}

// proxyNDP reads proxy_ndp of a device in the router's namespace.
func proxyNDP(routerID, dev string) (string, error) {
	ns, err := netns.Open(link.RouterNamespace(routerID))
	if err != nil {
		return "", err
	}
	defer ns.Close()
	var v string
	err = netns.Do(ns, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + dev + "/proxy_ndp")
		v = strings.TrimSpace(string(b))
		return err
	})
	return v, err
}

// ndpTable is the fingerprint the router namespace's NDP filter table
// holds (nil: no table).
func ndpTable(routerID string) ([]byte, error) {
	ns, err := netns.Open(link.RouterNamespace(routerID))
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return ndpfilter.Current(ns)
}

// TestNDPProxyEndToEnd: a router's NDP proxies, made through the API,
// reach its namespace as Neutron's L3 agent plumbs them. A VM has two
// addresses on the router's IPv6 subnet, in the external network's
// address scope, both routed by the outside through the router's
// gateway. With enable_ndp_proxy the router drops what comes in by its
// gateway for that subnet but for proxied addresses: the outside
// reaches the proxied address only while its NDP proxy exists, and the
// other address never. An NDP proxy also makes the router answer the
// external network's neighbour solicitations for the port's address
// (proxy_ndp on the qg- device, a proxy neighbour entry); deleting it
// undoes both. Disabling enable_ndp_proxy turns proxy_ndp off and
// removes the filter, as does removing the router's gateway.
func TestNDPProxyEndToEnd(t *testing.T) {
	w := newWorld(t)
	ext := w.outsideNetwork()
	var sc map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{"name": "as6", "ip_version": 6}}, &sc)
	pool := w.create("subnetpool", map[string]any{"name": "sp6", "address_scope_id": sc["address_scope"]["id"],
		"prefixes": []string{"2001:db8:70::/44"}, "default_prefixlen": 64})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "ip_version": 6, "subnetpool_id": pool,
		"cidr": "2001:db8:77::/64", "gateway_ip": "2001:db8:77::1", "enable_dhcp": false})
	inNet, _, _ := w.network("ndp", "10.74.0.0/24", nil)
	sub := w.create("subnet", map[string]any{"network_id": inNet, "ip_version": 6, "subnetpool_id": pool,
		"cidr": "2001:db8:78::/64", "enable_dhcp": false})
	inSub, inGW := sub["id"].(string), sub["gateway_ip"].(string)
	routerID := w.create("router", map[string]any{"name": "ndp",
		"external_gateway_info": map[string]any{"network_id": ext}})["id"].(string)
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": inSub})
	host := w.routerHost(routerID)
	// vmIP gets an NDP proxy, otherIP (the same port, the same subnet)
	// never does.
	const vmIP, otherIP = "2001:db8:78::99", "2001:db8:78::98"
	pv := w.create("port", map[string]any{"network_id": inNet, "binding:host_id": host,
		"device_owner": "compute:nova", "device_id": UUID(),
		"fixed_ips": []any{map[string]any{"subnet_id": inSub, "ip_address": vmIP},
			map[string]any{"subnet_id": inSub, "ip_address": otherIP}}})
	vm := w.r.VM("ndp-vm", w.hosts[host].h, pv["id"].(string), pv["mac_address"].(string))
	vmHost := w.r.Host(vm.NS)
	nsrig.AddrNoDAD(t, vmHost, "eth0", vmIP+"/64")
	nsrig.AddrNoDAD(t, vmHost, "eth0", otherIP+"/64")
	nsrig.Route(t, vmHost, "eth0", "::/0", inGW)

	var gws struct {
		Ports []map[string]any `json:"ports"`
	}
	w.get("/v2.0/ports?device_owner=network:router_gateway&device_id="+routerID, &gws)
	if len(gws.Ports) != 1 {
		t.Fatalf("gateway ports %v", gws.Ports)
	}
	gwMAC := gws.Ports[0]["mac_address"].(string)
	qg := link.RouterGatewayName(gws.Ports[0]["id"].(string))
	var gwIP6 string
	for _, f := range gws.Ports[0]["fixed_ips"].([]any) {
		if ip := f.(map[string]any)["ip_address"].(string); strings.Contains(ip, ":") {
			gwIP6 = ip
		}
	}

	// The outside: the external IPv6 subnet's gateway, reaching the
	// port's addresses through the router's gateway address.
	nsrig.AddrNoDAD(t, w.outside, "eth0", "2001:db8:77::1/64")
	nsrig.Route(t, w.outside, "eth0", vmIP+"/128", gwIP6)
	nsrig.Route(t, w.outside, "eth0", otherIP+"/128", gwIP6)
	reaches := func(what string, ip string) {
		t.Helper()
		WaitFor(t, what+": outside → "+ip, 60*time.Second, func() error { return nsrig.PingFrom(w.outNS, ip) })
	}
	// kept waits until the outside no longer reaches ip.
	kept := func(what string, ip string) {
		t.Helper()
		WaitFor(t, what+": outside kept from "+ip, 30*time.Second, func() error {
			if nsrig.PingFrom(w.outNS, ip) == nil {
				return errors.New("answered")
			}
			return nil
		})
	}
	proxyNDPIs := func(want string) {
		t.Helper()
		WaitFor(t, "proxy_ndp "+want, 30*time.Second, func() error {
			v, err := proxyNDP(routerID, qg)
			if err != nil {
				return err
			}
			if v != want {
				return fmt.Errorf("proxy_ndp = %s", v)
			}
			return nil
		})
	}
	// Without enable_ndp_proxy both addresses are routed.
	reaches("no NDP proxies", vmIP)
	reaches("no NDP proxies", otherIP)
	if fp, err := ndpTable(routerID); err != nil || fp != nil {
		t.Fatalf("NDP filter table before enable_ndp_proxy: %x, %v", fp, err)
	}

	w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"enable_ndp_proxy": true}})
	proxyNDPIs("1")
	kept("enable_ndp_proxy, no proxy", vmIP)
	kept("enable_ndp_proxy, no proxy", otherIP)

	var np map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/ndp_proxies", map[string]any{"ndp_proxy": map[string]any{
		"router_id": routerID, "port_id": pv["id"], "ip_address": vmIP}}, &np)
	if np["ndp_proxy"]["ip_address"] != vmIP {
		t.Fatalf("ndp proxy %v", np)
	}
	reaches("an NDP proxy", vmIP)
	// The table that lets vmIP in is written in one transaction: the
	// other address is dropped by it.
	if nsrig.PingFrom(w.outNS, otherIP) == nil {
		t.Errorf("outside → %s (not proxied) answered", otherIP)
	}
	// On the external network the port's address is the router's: the
	// outside finds it by neighbour discovery, with the prefix on-link.
	nsrig.RouteDel(t, w.outside, "eth0", vmIP+"/128", gwIP6)
	nsrig.Route(t, w.outside, "eth0", "2001:db8:78::/64", "")
	WaitFor(t, "the router answers for the port's address", 30*time.Second, func() error {
		mac, err := resolvedMAC(w.outNS, w.outside, vmIP)
		if err != nil {
			return err
		}
		if mac != gwMAC {
			return fmt.Errorf("resolved to %q, want the gateway's %s", mac, gwMAC)
		}
		return nsrig.PingFrom(w.outNS, vmIP)
	})
	// Routed through the gateway again, so that what follows is the
	// router's filter and not an unanswered solicitation.
	nsrig.RouteDel(t, w.outside, "eth0", "2001:db8:78::/64", "")
	nsrig.Route(t, w.outside, "eth0", vmIP+"/128", gwIP6)

	w.call(http.MethodDelete, "/v2.0/ndp_proxies/"+np["ndp_proxy"]["id"].(string), nil, nil)
	WaitFor(t, "the proxy neighbour entry gone", 30*time.Second, func() error {
		ns, err := netns.Open(link.RouterNamespace(routerID))
		if err != nil {
			return err
		}
		defer ns.Close()
		inner, err := link.Open(ns)
		if err != nil {
			return err
		}
		defer inner.Close()
		l, err := inner.Netlink().LinkByName(qg)
		if err != nil {
			return err
		}
		ps, err := inner.Netlink().NeighProxyList(l.Attrs().Index, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		if len(ps) != 0 {
			return errors.New("proxy entries remain")
		}
		return nil
	})
	kept("the NDP proxy deleted", vmIP)
	if nsrig.PingFrom(w.outNS, otherIP) == nil {
		t.Errorf("outside → %s (not proxied) answered", otherIP)
	}

	w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"enable_ndp_proxy": false}})
	proxyNDPIs("0")
	WaitFor(t, "the NDP filter table gone with enable_ndp_proxy", 30*time.Second, func() error {
		if fp, err := ndpTable(routerID); err != nil || fp != nil {
			return fmt.Errorf("table %x, %v", fp, err)
		}
		return nil
	})
	reaches("enable_ndp_proxy off", vmIP)
	reaches("enable_ndp_proxy off", otherIP)

	// The filter goes with the router's gateway.
	w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"enable_ndp_proxy": true}})
	WaitFor(t, "the NDP filter table back", 30*time.Second, func() error {
		if fp, err := ndpTable(routerID); err != nil || fp == nil {
			return fmt.Errorf("table %x, %v", fp, err)
		}
		return nil
	})
	w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"external_gateway_info": map[string]any{}}})
	WaitFor(t, "the NDP filter table gone with the gateway", 30*time.Second, func() error {
		if fp, err := ndpTable(routerID); err != nil || fp != nil {
			return fmt.Errorf("table %x, %v", fp, err)
		}
		return nil
	})
}
