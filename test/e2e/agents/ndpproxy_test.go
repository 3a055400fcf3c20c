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
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
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

// TestNDPProxyEndToEnd: an NDP proxy created through the API makes the
// router answer the external network's neighbour solicitations for an
// internal port's IPv6 address (proxy_ndp on the qg- device, a proxy
// neighbour entry), and stops when the proxy is deleted; disabling
// enable_ndp_proxy turns proxy_ndp off.
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
	inSub := w.create("subnet", map[string]any{"network_id": inNet, "ip_version": 6, "subnetpool_id": pool,
		"cidr": "2001:db8:78::/64", "enable_dhcp": false})["id"].(string)
	routerID := w.create("router", map[string]any{"name": "ndp", "enable_ndp_proxy": true,
		"external_gateway_info": map[string]any{"network_id": ext}})["id"].(string)
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": inSub})
	host := w.routerHost(routerID)
	vm := w.create("port", map[string]any{"network_id": inNet, "binding:host_id": host,
		"device_owner": "compute:nova", "device_id": UUID(),
		"fixed_ips": []any{map[string]any{"subnet_id": inSub, "ip_address": "2001:db8:78::99"}}})
	var r map[string]map[string]any
	w.get("/v2.0/routers/"+routerID, &r)
	if r["router"]["enable_ndp_proxy"] != true {
		t.Fatalf("router %v", r["router"])
	}
	var gws struct {
		Ports []map[string]any `json:"ports"`
	}
	w.get("/v2.0/ports?device_owner=network:router_gateway&device_id="+routerID, &gws)
	if len(gws.Ports) != 1 {
		t.Fatalf("gateway ports %v", gws.Ports)
	}
	gwMAC := gws.Ports[0]["mac_address"].(string)
	qg := link.RouterGatewayName(gws.Ports[0]["id"].(string))

	// The outside: an address on the external IPv6 subnet (its gateway)
	// and the internal prefix on-link, so that it solicits the port's
	// address on the external network, as a provider's router would.
	eth0, err := w.outside.Netlink().LinkByName("eth0")
	Must(t, err)
	a, err := netlink.ParseAddr("2001:db8:77::1/64")
	Must(t, err)
	a.Flags = unix.IFA_F_NODAD
	Must(t, w.outside.Netlink().AddrAdd(eth0, a))
	_, dst, _ := net.ParseCIDR("2001:db8:78::/64")
	Must(t, w.outside.Netlink().RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: dst}))

	WaitFor(t, "router gateway with proxy_ndp on", 30*time.Second, func() error {
		v, err := proxyNDP(routerID, qg)
		if err != nil {
			return err
		}
		if v != "1" {
			return fmt.Errorf("proxy_ndp = %s", v)
		}
		return nil
	})
	// No proxy yet: nobody answers for the port's address.
	time.Sleep(3 * time.Second)
	if mac, err := resolvedMAC(w.outNS, w.outside, "2001:db8:78::99"); err != nil || mac != "" {
		t.Fatalf("resolved without an NDP proxy: %q (%v): the test proves nothing", mac, err)
	}

	var np map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/ndp_proxies", map[string]any{"ndp_proxy": map[string]any{
		"router_id": routerID, "port_id": vm["id"]}}, &np)
	if np["ndp_proxy"]["ip_address"] != "2001:db8:78::99" {
		t.Fatalf("ndp proxy %v", np)
	}
	WaitFor(t, "the router answers for the port's address", 30*time.Second, func() error {
		mac, err := resolvedMAC(w.outNS, w.outside, "2001:db8:78::99")
		if err != nil {
			return err
		}
		if mac != gwMAC {
			return fmt.Errorf("resolved to %q, want the gateway's %s", mac, gwMAC)
		}
		return nil
	})

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
	w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"enable_ndp_proxy": false}})
	WaitFor(t, "proxy_ndp off", 30*time.Second, func() error {
		v, err := proxyNDP(routerID, qg)
		if err != nil {
			return err
		}
		if v != "0" {
			return fmt.Errorf("proxy_ndp = %s", v)
		}
		return nil
	})
}
