package agents_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// tftpAnswered is nil when a TFTP read request from ns to server comes
// back answered, for WaitFor.
func tftpAnswered(ns netns.Handle, server string) error {
	ok, err := nsrig.TFTPAnswered(ns, server)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no TFTP answer")
	}
	return nil
}

// TestConntrackHelperEndToEnd: a router's conntrack helper, created
// through the API, reaches the router's namespace: a VM behind the
// router's SNAT gets a TFTP server's answer (from another port) only
// while the router has the tftp helper on UDP 69.
func TestConntrackHelperEndToEnd(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ext := w.outsideNetwork()
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
	nsrig.ServeTFTP(t, w.outNS)
	server := OutsideIP + ":69"
	// The router passes traffic (SNAT) before the helper exists ...
	WaitFor(t, "vm → outside through the router", 30*time.Second, func() error { return nsrig.PingFirst(ctx, vm, OutsideIP) })
	if ok, err := nsrig.TFTPAnswered(vm.NS, server); err != nil || ok {
		t.Fatalf("a TFTP answer came back without a helper (%v): the test proves nothing", err)
	}
	var out map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/routers/"+routerID+"/conntrack_helpers", map[string]any{"conntrack_helper": map[string]any{
		"protocol": "udp", "port": 69, "helper": "tftp"}}, &out)
	id := out["conntrack_helper"]["id"].(string)
	WaitFor(t, "a TFTP answer through the router's helper", 20*time.Second, func() error { return tftpAnswered(vm.NS, server) })
	w.call(http.MethodDelete, "/v2.0/routers/"+routerID+"/conntrack_helpers/"+id, nil, nil)
	WaitFor(t, "no TFTP answer once the helper is gone", 20*time.Second, func() error {
		ok, err := nsrig.TFTPAnswered(vm.NS, server)
		if err == nil && ok {
			return errors.New("answered")
		}
		return err
	})
}
