package metadata_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/nova"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// TestMetadataLoad measures, for METADATA_VMS VMs plugged one after
// another (5
// unless set), the time from plugging each tap to Nova having its
// network-vif-plugged (with send_events_interval = NOVA_INTERVAL, 0
// unless set), then the latency and throughput of metadata requests
// from all of them at once (METADATA_REQUESTS each, 20 unless set)
// through the proxy to a Nova that answers at once. The guests' HTTP
// clients are Go's, dialling from inside each VM's namespace, so the
// numbers are the proxy's and not process starts.
func TestMetadataLoad(t *testing.T) {
	vms, reqs := envInt("METADATA_VMS", 5), envInt("METADATA_REQUESTS", 20)
	interval := os.Getenv("NOVA_INTERVAL")
	if interval == "" {
		interval = "0"
	}
	w := newWorld(t, interval)
	dhcpIP := w.dhcpIP()

	type guest struct {
		vm       *nsrig.VM
		instance string
		port     map[string]any
		plugged  time.Time
	}
	guests := make([]guest, vms)
	for i := range guests {
		g := &guests[i]
		g.instance = nsrig.UUID()
		g.vm, g.port = w.vmPort(fmt.Sprintf("g%d", i), g.instance)
		g.plugged = w.plugged
	}
	var plugLat []time.Duration
	for _, g := range guests {
		at := w.events.wait(t, nova.Event{Name: nova.VIFPlugged, ServerUUID: g.instance, Tag: g.port["id"].(string), Status: "completed"})
		plugLat = append(plugLat, at.Sub(g.plugged))
	}
	t.Logf("%d taps plugged one after another, send_events_interval = %s: tap → Nova has network-vif-plugged: %s", vms, interval, dist(plugLat))

	for _, g := range guests {
		ip := g.port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		h, err := link.Open(g.vm.NS)
		nsrig.Must(t, err)
		eth, err := h.Netlink().LinkByName("eth0")
		nsrig.Must(t, err)
		a, _ := netlink.ParseAddr(ip + "/24")
		nsrig.Must(t, h.Netlink().AddrAdd(eth, a))
		h.Close()
		route(t, g.vm, dhcpIP)
	}
	nsrig.WaitFor(t, "metadata listener", 20*time.Second, func() error {
		if !slices.Contains(w.mp.Serving(), w.netID) {
			return fmt.Errorf("serving %v", w.mp.Serving())
		}
		return nil
	})

	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for _, g := range guests {
		client := guestClient(g.vm.NS)
		wg.Go(func() {
			for range reqs {
				t0 := time.Now()
				resp, err := client.Get("http://169.254.169.254/latest/meta-data/instance-id")
				if err != nil {
					t.Errorf("%s: %v", g.vm.Name, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 || string(b) != g.instance {
					t.Errorf("%s: %d %q, want its instance id", g.vm.Name, resp.StatusCode, b)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := time.Since(start)
	t.Logf("%d VMs × %d metadata requests at once: latency %s; %.0f requests/s", vms, reqs, dist(lat),
		float64(len(lat))/total.Seconds())
}

// dhcpIP is the DHCP port's address on the world's network, where the
// route to the metadata address points.
func (w *world) dhcpIP() string {
	var out struct{ Ports []map[string]any }
	nsrig.WaitFor(w.t, "DHCP port", 20*time.Second, func() error {
		api(w.t, w.url, "GET", "/v2.0/ports?device_owner=network:dhcp&network_id="+w.netID, nil, &out)
		if len(out.Ports) != 1 {
			return fmt.Errorf("%d DHCP ports", len(out.Ports))
		}
		return nil
	})
	return out.Ports[0]["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
}

// guestClient is an HTTP client whose connections are opened inside ns.
func guestClient(ns netns.Handle) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := netns.Do(ns, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// dist is "p50 … p90 … max …" of ds.
func dist(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("p50 %v, p90 %v, max %v (n=%d)", q(0.5), q(0.9), s[len(s)-1].Round(100*time.Microsecond), len(s))
}
