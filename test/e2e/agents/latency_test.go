package agents_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
)

// TestPortLatency measures, for ports created at once on one host of a
// network whose DHCP server already runs, the time from the port-create
// API call to (a) the port ACTIVE in the API and (b) the VM holding its
// lease and answering its first ping from the DHCP server's side. The VMs
// follow Nova's order: the tap is plugged as soon as the create returns,
// and the guest (here its DHCP client) starts when the port goes ACTIVE,
// Nova's network-vif-plugged event, which in Neutron and here waits for
// the DHCP server to know the port. One watcher lists the network's port
// statuses every 10 ms, as Nova learns of the event once rather than by
// asking per port. It logs the distribution; it asserts only that every
// port gets there (timing is not asserted: the machine is shared).
// AGENT_LATENCY_PORTS sets the batch sizes (default "1,20").
func TestPortLatency(t *testing.T) {
	sizes := []int{1, 20}
	if s := os.Getenv("AGENT_LATENCY_PORTS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			Must(t, err)
			sizes = append(sizes, n)
		}
	}
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	netID, _, _ := w.network("lat", "10.70.0.0/22", nil)
	// A first port brings up the network's DHCP server and wiring.
	warm := w.port(netID, "hostA")
	warmVM := w.r.VM("warm", w.hosts["hostA"].h, warm.id, warm.mac)
	var dp port
	WaitFor(t, "DHCP port", 20*time.Second, func() (err error) { dp, err = w.dhcpPort(netID); return err })
	WaitFor(t, "warm port ACTIVE", 20*time.Second, func() error {
		if s := w.status(warm.id); s != "ACTIVE" {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})

	// Also writes udhcpc's hook script once, before the VMs run it at once.
	if _, err := w.r.DHCP(ctx, warmVM); err != nil {
		t.Fatal(err)
	}
	watch := w.watchActive(ctx, netID)

	host := w.hosts["hostB"]
	for _, n := range sizes {
		// The VMs exist before their ports, as Nova's do.
		vms := make([]*VM, n)
		for i := range vms {
			vms[i] = &VM{Name: fmt.Sprintf("%sl%d-%d", w.r.Prefix, n, i), NS: w.r.NS(fmt.Sprintf("l%d-%d", n, i))}
		}
		created := make([]time.Duration, n)
		active := make([]time.Duration, n)
		leased := make([]time.Duration, n)
		pinged := make([]time.Duration, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := make(chan struct{})
		for i, v := range vms {
			wg.Go(func() {
				<-start
				if err := w.provision(ctx, watch, host, netID, v, dp, &created[i], &active[i], &leased[i], &pinged[i]); err != nil {
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		t.Logf("%d port(s) at once on %s: create answered %s", n, host.name, dist(created))
		t.Logf("%d port(s) at once on %s: ACTIVE %s", n, host.name, dist(active))
		t.Logf("%d port(s) at once on %s: leased %s", n, host.name, dist(leased))
		exchange := make([]time.Duration, n)
		for i := range exchange {
			exchange[i] = leased[i] - active[i]
		}
		t.Logf("%d port(s) at once on %s: DHCP exchange (ACTIVE to leased) %s", n, host.name, dist(exchange))
		t.Logf("%d port(s) at once on %s: leased+pinged %s", n, host.name, dist(pinged))
	}
}

// activeWatch tells waiters when a port of one network first shows ACTIVE.
type activeWatch struct {
	mu      sync.Mutex
	waiters map[string]chan struct{}
}

// watchActive lists netID's port statuses every 10 ms until ctx ends.
func (w *world) watchActive(ctx context.Context, netID string) *activeWatch {
	aw := &activeWatch{waiters: map[string]chan struct{}{}}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var out struct {
				Ports []struct{ ID, Status string } `json:"ports"`
			}
			if w.get("/v2.0/ports?network_id="+netID+"&fields=id&fields=status", &out) != http.StatusOK {
				continue
			}
			aw.mu.Lock()
			for _, p := range out.Ports {
				if c, ok := aw.waiters[p.ID]; ok && p.Status == "ACTIVE" {
					close(c)
					delete(aw.waiters, p.ID)
				}
			}
			aw.mu.Unlock()
		}
	}()
	return aw
}

// active returns a channel closed once portID is seen ACTIVE.
func (aw *activeWatch) active(portID string) <-chan struct{} {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	c := make(chan struct{})
	aw.waiters[portID] = c
	return c
}

// provision creates a port on netID bound to host, plugs v's tap with the
// port's MAC and, once the port is ACTIVE, runs v's DHCP client and pings
// the DHCP server. It records when the API answered, when the port went
// ACTIVE, when v leased its address and when it first answered ping.
func (w *world) provision(ctx context.Context, watch *activeWatch, host *simHost, netID string, v *VM, dp port, created, active, leased, pinged *time.Duration) error {
	t0 := time.Now()
	p := w.port(netID, host.name)
	*created = time.Since(t0)
	isActive := watch.active(p.id)
	v.MAC, v.Port = p.mac, p.id
	if err := plug(host.h, v, p); err != nil {
		return err
	}
	select {
	case <-isActive:
		*active = time.Since(t0)
	case <-time.After(60 * time.Second):
		return fmt.Errorf("port %s not ACTIVE after 60s", p.id)
	}
	l, err := w.r.DHCPTries(ctx, v, 30)
	if err != nil {
		return err
	}
	*leased = time.Since(t0)
	if l["ip"] != p.ip {
		return fmt.Errorf("%s leased %s, want %s", v.Name, l["ip"], p.ip)
	}
	if err := PingFirst(ctx, v, dp.ip); err != nil {
		return err
	}
	*pinged = time.Since(t0)
	return nil
}

// plug creates tap<port> in host with v's eth0 (the port's MAC) as its
// peer, both up: os-vif's part.
func plug(h *link.Host, v *VM, p port) error {
	hw, err := net.ParseMAC(p.mac)
	if err != nil {
		return err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: link.TapName(p.id)}, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(int(v.NS)), PeerHardwareAddr: hw}
	if err := h.Netlink().LinkAdd(veth); err != nil {
		return fmt.Errorf("plug %s: %w", p.id, err)
	}
	vh, err := link.Open(v.NS)
	if err != nil {
		return err
	}
	defer vh.Close()
	eth, err := vh.Netlink().LinkByName("eth0")
	if err != nil {
		return err
	}
	return vh.Netlink().LinkSetUp(eth)
}

func dist(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(f float64) time.Duration { return s[int(f*float64(len(s)-1))].Round(time.Millisecond) }
	return fmt.Sprintf("min %v p50 %v p90 %v max %v", q(0), q(0.5), q(0.9), q(1))
}
