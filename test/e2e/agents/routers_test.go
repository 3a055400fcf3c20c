package agents_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/nat"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// serve listens on TCP port in namespace ns: each connection is told the
// address it comes from (as the server sees it), then echoed.
func serve(t testing.TB, ns netns.Handle, port int) {
	t.Helper()
	var ln net.Listener
	Must(t, netns.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}))
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				fmt.Fprintln(c, host)
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// connect opens a TCP connection from namespace ns.
func connect(ns netns.Handle, addr string) (net.Conn, error) {
	return connectTimeout(ns, addr, time.Second)
}

func connectTimeout(ns netns.Handle, addr string, d time.Duration) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, d)
		return err
	})
	return c, err
}

// whoami connects from ns to addr and returns the source address the
// server saw.
func whoami(ns netns.Handle, addr string) (string, error) {
	return whoamiTimeout(ns, addr, time.Second)
}

func whoamiTimeout(ns netns.Handle, addr string, d time.Duration) (string, error) {
	c, err := connectTimeout(ns, addr, d)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	return strings.TrimSpace(line), nil
}

// seenAs waits until a connection from ns to addr is seen coming from
// want.
func seenAs(t *testing.T, what string, ns netns.Handle, addr, want string) {
	t.Helper()
	WaitFor(t, what, 20*time.Second, func() error {
		got, err := whoami(ns, addr)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("seen as %s, want %s", got, want)
		}
		return nil
	})
}

// fipStatusOf checks the floating IP's status.
func fipStatusOf(w *world, id, want string) func() error {
	return func() error {
		var out map[string]map[string]any
		w.get("/v2.0/floatingips/"+id, &out)
		if s := out["floatingip"]["status"]; s != want {
			return fmt.Errorf("status %v", s)
		}
		return nil
	}
}

// echo sends a line on c and reads it back within d.
func echo(c net.Conn, d time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := fmt.Fprintln(c, "ping"); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.TrimSpace(line) == "ping" {
			return nil
		}
	}
}

func (w *world) put(path string, body any) map[string]any {
	w.t.Helper()
	var out map[string]any
	w.call(http.MethodPut, path, body, &out)
	return out
}

// routerHost is the host of the L3 agent hosting router.
func (w *world) routerHost(router string) string {
	var out struct {
		Agents []map[string]any `json:"agents"`
	}
	w.get("/v2.0/routers/"+router+"/l3-agents", &out)
	if len(out.Agents) != 1 {
		w.t.Fatalf("router %s hosted by %d agents", router, len(out.Agents))
	}
	return out.Agents[0]["host"].(string)
}

// interfacePort is the id of router's interface port on subnet.
func interfacePort(t testing.TB, w *world, router, subnet string) string {
	t.Helper()
	var out struct {
		Ports []map[string]any `json:"ports"`
	}
	w.get("/v2.0/ports?device_owner=network:router_interface&device_id="+router, &out)
	for _, p := range out.Ports {
		for _, f := range p["fixed_ips"].([]any) {
			if f.(map[string]any)["subnet_id"] == subnet {
				return p["id"].(string)
			}
		}
	}
	t.Fatalf("router %s has no interface on subnet %s", router, subnet)
	return ""
}

// nsLinks names a namespace's devices with their index (a recreated
// device gets a new one).
func nsLinks(t testing.TB, name string) []string {
	t.Helper()
	ns, err := netns.Open(name)
	Must(t, err)
	defer ns.Close()
	h, err := link.Open(ns)
	Must(t, err)
	defer h.Close()
	ls, err := h.Links()
	Must(t, err)
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s#%d", l.Attrs().Name, l.Attrs().Index))
	}
	slices.Sort(out)
	return out
}

// TestRoutersEndToEnd runs with security groups enforced, as a cloud
// runs: router ports are trusted (network:* owners), VMs need a rule
// for what the outside sends them.
func TestRoutersEndToEnd(t *testing.T) {
	w := sgWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	hA, hB := w.hosts["hostA"], w.hosts["hostB"]

	ext := w.create("network", map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "cidr": "203.0.113.0/24", "ip_version": 4,
		"enable_dhcp": false, "gateway_ip": OutsideIP})
	// The outside may reach the VMs' TCP 8080 (members of the default
	// group reach each other anyway).
	w.rule(map[string]any{"security_group_id": w.defaultGroup(), "direction": "ingress", "protocol": "tcp",
		"port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "0.0.0.0/0"})
	inNet, inSub, _ := w.network("inside", "10.70.0.0/24", nil)
	otherNet, otherSub, _ := w.network("other", "10.71.0.0/24", nil)
	router := w.create("router", map[string]any{"name": "r1", "external_gateway_info": map[string]any{"network_id": ext}})
	routerID := router["id"].(string)
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": inSub})
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": otherSub})
	var got map[string]map[string]any
	w.get("/v2.0/routers/"+routerID, &got)
	gwIP := got["router"]["external_gateway_info"].(map[string]any)["external_fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	host := w.routerHost(routerID)
	nsName := link.RouterNamespace(routerID)

	pA, pB := w.port(inNet, "hostA"), w.port(inNet, "hostB")
	pC := w.port(otherNet, "hostB")
	vmA := w.r.VM("vma", hA.h, pA.id, pA.mac)
	vmB := w.r.VM("vmb", hB.h, pB.id, pB.mac)
	vmC := w.r.VM("vmc", hB.h, pC.id, pC.mac)
	for _, v := range []*VM{vmA, vmB, vmC} {
		if _, err := w.r.DHCP(ctx, v); err != nil {
			t.Fatal(err)
		}
		serve(t, v.NS, 8080)
	}
	serve(t, w.outNS, 8080)
	outside := OutsideIP + ":8080"

	t.Run("the router's ports are bound to its host and go ACTIVE", func(t *testing.T) {
		var out struct {
			Ports []map[string]any `json:"ports"`
		}
		w.get("/v2.0/ports?device_id="+routerID, &out)
		if len(out.Ports) != 3 {
			t.Fatalf("%d router ports", len(out.Ports))
		}
		for _, p := range out.Ports {
			WaitFor(t, "router port ACTIVE", 20*time.Second, func() error {
				if s := w.status(p["id"].(string)); s != "ACTIVE" {
					return fmt.Errorf("port %s (%s) is %s", p["id"], p["device_owner"], s)
				}
				return nil
			})
			var one map[string]map[string]any
			w.get("/v2.0/ports/"+p["id"].(string), &one)
			if one["port"]["binding:host_id"] != host {
				t.Errorf("router port %s bound to %v, want %s", p["id"], one["port"]["binding:host_id"], host)
			}
		}
	})

	t.Run("a VM reaches the outside through SNAT, seen as the gateway address", func(t *testing.T) {
		seenAs(t, "vmA → outside via SNAT", vmA.NS, outside, gwIP)
		seenAs(t, "vmC → outside via SNAT", vmC.NS, outside, gwIP)
	})

	t.Run("the router's own subnets talk without NAT", func(t *testing.T) {
		seenAs(t, "vmC → vmA through the router", vmC.NS, pA.ip+":8080", pC.ip)
	})

	fip := w.create("floatingip", map[string]any{"floating_network_id": ext, "port_id": pB.id})
	fipID, fipIP := fip["id"].(string), fip["floating_ip_address"].(string)
	t.Run("the outside reaches a VM at its floating IP, and the VM goes out as it", func(t *testing.T) {
		seenAs(t, "outside → floating IP", w.outNS, fipIP+":8080", OutsideIP)
		seenAs(t, "vmB → outside as its floating IP", vmB.NS, outside, fipIP)
		WaitFor(t, "floating IP ACTIVE", 10*time.Second, func() error {
			var out map[string]map[string]any
			w.get("/v2.0/floatingips/"+fipID, &out)
			if s := out["floatingip"]["status"]; s != "ACTIVE" {
				return fmt.Errorf("status %v", s)
			}
			return nil
		})
	})

	pfFIP := w.create("floatingip", map[string]any{"floating_network_id": ext})
	pfIP := pfFIP["floating_ip_address"].(string)
	var pf map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/floatingips/"+pfFIP["id"].(string)+"/port_forwardings", map[string]any{"port_forwarding": map[string]any{
		"protocol": "tcp", "external_port": 2222, "internal_port": 8080, "internal_port_id": pA.id, "internal_ip_address": pA.ip}}, &pf)
	t.Run("a port forwarding reaches a VM's TCP port", func(t *testing.T) {
		seenAs(t, "outside → port forwarding → vmA", w.outNS, pfIP+":2222", OutsideIP)
	})

	t.Run("extra routes are installed and used", func(t *testing.T) {
		// vmA answers for 192.0.2.1 (an address its port allows, or the
		// firewall's anti-spoofing drops its answers); the router learns
		// the way there.
		w.put("/v2.0/ports/"+pA.id, map[string]any{"port": map[string]any{"allowed_address_pairs": []any{
			map[string]any{"ip_address": "192.0.2.1"}}}})
		vh := w.r.Host(vmA.NS)
		lo, err := vh.Netlink().LinkByName("lo")
		Must(t, err)
		a, _ := netlink.ParseAddr("192.0.2.1/32")
		Must(t, vh.Netlink().AddrAdd(lo, a))
		w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "192.0.2.0/24", "nexthop": pA.ip}}}})
		seenAs(t, "vmC → 192.0.2.1 via the extra route", vmC.NS, "192.0.2.1:8080", pC.ip)
		w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"routes": []any{}}})
		WaitFor(t, "extra route removed", 10*time.Second, func() error {
			if _, err := whoami(vmC.NS, "192.0.2.1:8080"); err == nil {
				return errors.New("192.0.2.1 still reachable")
			}
			return nil
		})
	})

	var v6Subnets []string
	t.Run("IPv6 subnets are routed without NAT", func(t *testing.T) {
		in6 := w.create("subnet", map[string]any{"network_id": inNet, "cidr": "fd70::/64", "ip_version": 6, "enable_dhcp": false})
		other6 := w.create("subnet", map[string]any{"network_id": otherNet, "cidr": "fd71::/64", "ip_version": 6, "enable_dhcp": false})
		w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": in6["id"]})
		w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": other6["id"]})
		v6Subnets = []string{in6["id"].(string), other6["id"].(string)}
		addr6 := func(v *VM, p port, sub map[string]any) string {
			var out map[string]map[string]any
			w.call(http.MethodPut, "/v2.0/ports/"+p.id, map[string]any{"port": map[string]any{"fixed_ips": []any{
				map[string]any{"ip_address": p.ip}, map[string]any{"subnet_id": sub["id"]}}}}, &out)
			var ip string
			for _, f := range out["port"]["fixed_ips"].([]any) {
				if f.(map[string]any)["subnet_id"] == sub["id"] {
					ip = f.(map[string]any)["ip_address"].(string)
				}
			}
			vh := w.r.Host(v.NS)
			eth, err := vh.Netlink().LinkByName("eth0")
			Must(t, err)
			a, err := netlink.ParseAddr(ip + "/64")
			Must(t, err)
			a.Flags = unix.IFA_F_NODAD
			Must(t, vh.Netlink().AddrAdd(eth, a))
			Must(t, vh.Netlink().RouteReplace(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: net.ParseIP(sub["gateway_ip"].(string))}))
			return ip
		}
		a6, c6 := addr6(vmA, pA, in6), addr6(vmC, pC, other6)
		seenAs(t, "vmC → vmA over IPv6 through the router", vmC.NS, "["+a6+"]:8080", c6)
	})

	t.Run("restarting the agent changes nothing and keeps traffic flowing", func(t *testing.T) {
		h := w.hosts[host]
		before := nsLinks(t, nsName)
		hostBefore := linkNames(t, h.h)
		ns, err := netns.Open(nsName)
		Must(t, err)
		fpBefore, err := nat.Current(ns)
		ns.Close()
		Must(t, err)
		w.stop(host)
		w.start(host)
		WaitFor(t, host+" L3 passes", 20*time.Second, func() error {
			if n := w.hosts[host].l3.Passes(); n < 2 {
				return fmt.Errorf("%d passes", n)
			}
			return nil
		})
		seenAs(t, "vmA → outside after the restart", vmA.NS, outside, gwIP)
		seenAs(t, "outside → floating IP after the restart", w.outNS, fipIP+":8080", OutsideIP)
		if after := nsLinks(t, nsName); !slices.Equal(before, after) {
			t.Errorf("router devices changed:\nbefore %v\nafter  %v", before, after)
		}
		if after := linkNames(t, h.h); !slices.Equal(hostBefore, after) {
			t.Errorf("host devices changed:\nbefore %v\nafter  %v", hostBefore, after)
		}
		ns, err = netns.Open(nsName)
		Must(t, err)
		fpAfter, err := nat.Current(ns)
		ns.Close()
		Must(t, err)
		if string(fpBefore) != string(fpAfter) || len(fpAfter) == 0 {
			t.Errorf("NAT table changed across the restart: %x → %x", fpBefore, fpAfter)
		}
	})

	t.Run("drift is repaired: a deleted device and NAT table come back", func(t *testing.T) {
		ns, err := netns.Open(nsName)
		Must(t, err)
		defer ns.Close()
		in, err := link.Open(ns)
		Must(t, err)
		defer in.Close()
		Must(t, in.Delete(link.RouterInterfaceName(interfacePort(t, w, routerID, inSub))))
		Must(t, nat.Remove(ns))
		if _, err := whoamiTimeout(vmA.NS, outside, 300*time.Millisecond); err == nil {
			t.Fatal("vmA still reaches the outside with its router interface and NAT gone")
		}
		// The periodic full pass (periodic_interval = 5 here) repairs both.
		seenAs(t, "vmA → outside after the repair", vmA.NS, outside, gwIP)
		seenAs(t, "outside → floating IP after the repair", w.outNS, fipIP+":8080", OutsideIP)
	})

	t.Run("disassociating a floating IP cuts the flow, established connection included", func(t *testing.T) {
		c, err := connect(w.outNS, fipIP+":8080")
		Must(t, err)
		defer c.Close()
		Must(t, echo(c, 2*time.Second))
		w.put("/v2.0/floatingips/"+fipID, map[string]any{"floatingip": map[string]any{"port_id": nil}})
		WaitFor(t, "floating IP unreachable", 10*time.Second, func() error {
			if _, err := whoami(w.outNS, fipIP+":8080"); err == nil {
				return errors.New("still reachable")
			}
			return nil
		})
		if err := echo(c, time.Second); err == nil {
			t.Error("the established connection still works after the disassociation")
		}
		seenAs(t, "vmB → outside via SNAT again", vmB.NS, outside, gwIP)
		WaitFor(t, "floating IP DOWN", 10*time.Second, func() error {
			var out map[string]map[string]any
			w.get("/v2.0/floatingips/"+fipID, &out)
			if s := out["floatingip"]["status"]; s != "DOWN" {
				return fmt.Errorf("status %v", s)
			}
			return nil
		})
	})

	var pf2 map[string]map[string]any
	t.Run("deleting a port forwarding cuts its established connection", func(t *testing.T) {
		// A second forwarding keeps the floating IP (and its address) in
		// place: only the deleted forwarding's entries may go.
		w.call(http.MethodPost, "/v2.0/floatingips/"+pfFIP["id"].(string)+"/port_forwardings", map[string]any{"port_forwarding": map[string]any{
			"protocol": "tcp", "external_port": 2223, "internal_port": 8080, "internal_port_id": pC.id, "internal_ip_address": pC.ip}}, &pf2)
		seenAs(t, "outside → second port forwarding → vmC", w.outNS, pfIP+":2223", OutsideIP)
		kept, err := connect(w.outNS, pfIP+":2223")
		Must(t, err)
		defer kept.Close()
		Must(t, echo(kept, 2*time.Second))
		c, err := connect(w.outNS, pfIP+":2222")
		Must(t, err)
		defer c.Close()
		Must(t, echo(c, 2*time.Second))
		w.delete("/v2.0/floatingips/" + pfFIP["id"].(string) + "/port_forwardings/" + pf["port_forwarding"]["id"].(string))
		WaitFor(t, "port forwarding unreachable", 10*time.Second, func() error {
			if _, err := whoamiTimeout(w.outNS, pfIP+":2222", 300*time.Millisecond); err == nil {
				return errors.New("still reachable")
			}
			return nil
		})
		// Its conntrack entry goes with the rule, just after it (fails
		// without: the entry keeps translating the established connection).
		WaitFor(t, "established connection cut", 5*time.Second, func() error {
			if err := echo(c, 300*time.Millisecond); err == nil {
				return errors.New("the established connection still works after the port forwarding was deleted")
			}
			return nil
		})
		if err := echo(kept, 2*time.Second); err != nil {
			t.Errorf("the other forwarding's connection was cut: %v", err)
		}
	})

	t.Run("an administratively down router has no data path", func(t *testing.T) {
		WaitFor(t, "floating IP ACTIVE", 10*time.Second, fipStatusOf(w, pfFIP["id"].(string), "ACTIVE"))
		w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"admin_state_up": false}})
		WaitFor(t, "router namespace removed", 15*time.Second, func() error {
			if netns.Exists(nsName) {
				return errors.New("namespace " + nsName + " still there")
			}
			return nil
		})
		if _, err := whoamiTimeout(vmA.NS, outside, 300*time.Millisecond); err == nil {
			t.Error("vmA still reaches the outside through a router that is down")
		}
		// Its floating IPs go DOWN (the one of the second port forwarding
		// is left),
		// as Neutron's agent reports them when it removes a router, and
		// ACTIVE again when it is back.
		fipStatus := func(want string) func() error { return fipStatusOf(w, pfFIP["id"].(string), want) }
		if pf2 == nil {
			t.Fatal("no second port forwarding")
		}
		WaitFor(t, "floating IP of the down router DOWN", 10*time.Second, fipStatus("DOWN"))
		w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"admin_state_up": true}})
		seenAs(t, "vmA → outside once the router is up again", vmA.NS, outside, gwIP)
		WaitFor(t, "floating IP ACTIVE again", 10*time.Second, fipStatus("ACTIVE"))
	})

	// Floating IPs hold the gateway: they go first.
	if pf2 != nil {
		w.delete("/v2.0/floatingips/" + pfFIP["id"].(string) + "/port_forwardings/" + pf2["port_forwarding"]["id"].(string))
	}
	w.delete("/v2.0/floatingips/" + pfFIP["id"].(string))
	w.delete("/v2.0/floatingips/" + fipID)

	t.Run("clearing the gateway removes it and SNAT; setting it back restores them", func(t *testing.T) {
		w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"external_gateway_info": map[string]any{}}})
		WaitFor(t, "gateway device removed", 15*time.Second, func() error {
			for _, l := range nsLinks(t, nsName) {
				if strings.HasPrefix(l, link.RouterGatewayPrefix) {
					return fmt.Errorf("%s still there", l)
				}
			}
			return nil
		})
		if _, err := whoamiTimeout(vmA.NS, outside, 300*time.Millisecond); err == nil {
			t.Error("vmA still reaches the outside without a gateway")
		}
		seenAs(t, "the router's subnets still talk", vmC.NS, pA.ip+":8080", pC.ip)
		out := w.put("/v2.0/routers/"+routerID, map[string]any{"router": map[string]any{"external_gateway_info": map[string]any{"network_id": ext}}})
		gw := out["router"].(map[string]any)["external_gateway_info"].(map[string]any)["external_fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		seenAs(t, "vmA → outside through the new gateway", vmA.NS, outside, gw)
	})

	t.Run("deleting the router leaves no namespace, device or table", func(t *testing.T) {
		var ports struct {
			Ports []map[string]any `json:"ports"`
		}
		w.get("/v2.0/ports?device_id="+routerID, &ports)
		for _, sub := range append([]string{inSub, otherSub}, v6Subnets...) {
			w.put("/v2.0/routers/"+routerID+"/remove_router_interface", map[string]any{"subnet_id": sub})
		}
		w.delete("/v2.0/routers/" + routerID)
		WaitFor(t, "router namespace gone", 15*time.Second, func() error {
			if netns.Exists(nsName) {
				return errors.New("namespace " + nsName + " still there")
			}
			return nil
		})
		h := w.hosts[host]
		for _, p := range ports.Ports {
			if l, _ := h.h.Get(link.TapName(p["id"].(string))); l != nil {
				t.Errorf("router port device %s left on %s", l.Attrs().Name, host)
			}
		}
		// The state goes last, just after the namespace.
		WaitFor(t, "router state removed", 5*time.Second, func() error {
			if built := h.l3.Built(); len(built) != 0 {
				return fmt.Errorf("L3 part still records routers %v", built)
			}
			return nil
		})
	})
}

// TestRoutersAddressScope: a project subnet in the external network's
// address scope is routed out without NAT (the outside sees the VM's own
// address and routes back to it through the router), while a subnet
// outside the scope is SNATed, as in Neutron.
func TestRoutersAddressScope(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/address-scopes", map[string]any{"address_scope": map[string]any{
		"name": "public-scope", "ip_version": 4, "shared": true}}, &out)
	scope := out["address_scope"]["id"]
	pool := func(name, prefix string) any {
		var out map[string]map[string]any
		w.call(http.MethodPost, "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{"name": name,
			"prefixes": []string{prefix}, "default_prefixlen": 24, "address_scope_id": scope, "shared": true}}, &out)
		return out["subnetpool"]["id"]
	}
	extPool, inPool := pool("ext-pool", "203.0.113.0/24"), pool("in-pool", "10.72.0.0/16")
	ext := w.create("network", map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "subnetpool_id": extPool, "cidr": "203.0.113.0/24", "ip_version": 4,
		"enable_dhcp": false, "gateway_ip": OutsideIP})
	scoped := w.create("network", map[string]any{"name": "scoped"})["id"].(string)
	scopedSub := w.create("subnet", map[string]any{"network_id": scoped, "subnetpool_id": inPool, "ip_version": 4})
	plainNet, plainSub, _ := w.network("plain", "10.73.0.0/24", nil)
	router := w.create("router", map[string]any{"name": "r", "external_gateway_info": map[string]any{"network_id": ext}})
	routerID := router["id"].(string)
	gwIP := router["external_gateway_info"].(map[string]any)["external_fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": scopedSub["id"]})
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": plainSub})

	pS, pU := w.port(scoped, "hostA"), w.port(plainNet, "hostB")
	vmS := w.r.VM("vms", w.hosts["hostA"].h, pS.id, pS.mac)
	vmU := w.r.VM("vmu", w.hosts["hostB"].h, pU.id, pU.mac)
	for _, v := range []*VM{vmS, vmU} {
		if _, err := w.r.DHCP(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// The outside routes the scope's project prefixes to the router, as
	// an upstream router of an address scope would.
	Must(t, w.outside.Netlink().RouteReplace(&netlink.Route{Dst: &net.IPNet{IP: net.IPv4(10, 72, 0, 0), Mask: net.CIDRMask(16, 32)},
		Gw: net.ParseIP(gwIP)}))
	serve(t, w.outNS, 8080)
	outside := OutsideIP + ":8080"
	seenAs(t, "the scoped VM goes out unNATed", vmS.NS, outside, pS.ip)
	seenAs(t, "the unscoped VM goes out through SNAT", vmU.NS, outside, gwIP)
}
