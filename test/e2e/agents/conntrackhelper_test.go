package agents_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// tftpAnswered sends a TFTP read request from ns to server and reports
// whether the answer came back: TFTP servers answer from a port of their
// own, which a router's SNAT lets back only with the tftp helper.
func tftpAnswered(ns netns.Handle, server string) error {
	var conn *net.UDPConn
	if err := netns.Do(ns, func() (err error) {
		conn, err = net.ListenUDP("udp4", nil)
		return err
	}); err != nil {
		return err
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		return err
	}
	if _, err := conn.WriteToUDP([]byte("\x00\x01file\x00octet\x00"), dst); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(buf[:n], []byte("\x00\x03")) {
		return errors.New("not a TFTP data packet")
	}
	return nil
}

// serveTFTPFromNewPort answers every read request on :69 in ns from a
// new port, as a TFTP server does.
func serveTFTPFromNewPort(t *testing.T, ns netns.Handle) {
	var l *net.UDPConn
	Must(t, netns.Do(ns, func() (err error) {
		l, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 69})
		return err
	}))
	t.Cleanup(func() { l.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := l.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_ = netns.Do(ns, func() error {
				c, err := net.ListenUDP("udp4", nil)
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.WriteToUDP([]byte("\x00\x03\x00\x01data"), from)
				return err
			})
		}
	}()
}

// TestConntrackHelperEndToEnd: a router's conntrack helper, created
// through the API, reaches the router's namespace: a VM behind the
// router's SNAT gets a TFTP server's answer (from another port) only
// while the router has the tftp helper on UDP 69.
func TestConntrackHelperEndToEnd(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ext := w.create("network", map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "cidr": "203.0.113.0/24", "ip_version": 4,
		"enable_dhcp": false, "gateway_ip": OutsideIP})
	inNet, inSub, _ := w.network("tftp", "10.73.0.0/24", nil)
	routerID := w.create("router", map[string]any{"name": "helped",
		"external_gateway_info": map[string]any{"network_id": ext}})["id"].(string)
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": inSub})
	host := w.routerHost(routerID)
	pv := w.port(inNet, host)
	vm := w.r.VM("tftp-vm", w.hosts[host].h, pv.id, pv.mac)
	if _, err := w.r.DHCP(ctx, vm); err != nil {
		t.Fatal(err)
	}
	serveTFTPFromNewPort(t, w.outNS)
	server := OutsideIP + ":69"
	// The router passes traffic (SNAT) before the helper exists ...
	WaitFor(t, "vm → outside through the router", 30*time.Second, func() error { return nsrig.PingFirst(ctx, vm, OutsideIP) })
	if err := tftpAnswered(vm.NS, server); err == nil {
		t.Fatal("a TFTP answer came back without a helper: the test proves nothing")
	}
	var out map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/routers/"+routerID+"/conntrack_helpers", map[string]any{"conntrack_helper": map[string]any{
		"protocol": "udp", "port": 69, "helper": "tftp"}}, &out)
	id := out["conntrack_helper"]["id"].(string)
	WaitFor(t, "a TFTP answer through the router's helper", 20*time.Second, func() error { return tftpAnswered(vm.NS, server) })
	w.call(http.MethodDelete, "/v2.0/routers/"+routerID+"/conntrack_helpers/"+id, nil, nil)
	WaitFor(t, "no TFTP answer once the helper is gone", 20*time.Second, func() error {
		if tftpAnswered(vm.NS, server) == nil {
			return errors.New("answered")
		}
		return nil
	})
}
