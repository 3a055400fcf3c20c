package agents_test

import (
	"context"
	"fmt"
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
	"github.com/neutrino-net/neutrino/internal/metrics"
)

// staticVM configures v's eth0 with addr/prefix and a default route via
// gw, as a guest with a static configuration would.
func staticVM(v *VM, addr string, prefix int, gw string) error {
	h, err := link.Open(v.NS)
	if err != nil {
		return err
	}
	defer h.Close()
	eth, err := h.Netlink().LinkByName("eth0")
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(fmt.Sprintf("%s/%d", addr, prefix))
	if err != nil {
		return err
	}
	if err := h.Netlink().AddrReplace(eth, a); err != nil {
		return err
	}
	return h.Netlink().RouteReplace(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: net.ParseIP(gw)})
}

// envInt reads a positive integer from the environment, def when unset.
func envInt(t testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	Must(t, err)
	return n
}

// firstContact polls addr from ns every 10 ms until a connection is seen
// coming from want, and returns when that happened.
func firstContact(ctx context.Context, dial func() (string, error), want string) (time.Time, error) {
	for {
		if got, err := dial(); err == nil && got == want {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no contact as %s: %w", want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// BenchmarkRouterLatency measures, on one L3 agent (host A; host B's L3
// agent is disabled), the time from creating routers at once — each
// POST /routers with an external gateway, then add_router_interface on
// its own network where a VM already waits — to that VM's first TCP
// connection reaching the outside through SNAT (seen there as the
// router's gateway address). Then, for floating IPs created beforehand
// and associated at once with VMs behind one router, the time from the
// association call to the outside's first connection to the VM at its
// floating IP. It logs the distributions and reports their p50 and p90
// (snat-p50-ms …, fip-p50-ms …). L3_LATENCY_ROUTERS (default 20) and
// L3_LATENCY_FIPS (default 50) set the batch sizes. Run it with
// -benchtime 1x: each iteration builds its own world.
func BenchmarkRouterLatency(b *testing.B) {
	for range b.N {
		snat, reach := routerLatency(b)
		b.ReportMetric(ms(quantile(snat, 0.5)), "snat-p50-ms")
		b.ReportMetric(ms(quantile(snat, 0.9)), "snat-p90-ms")
		b.ReportMetric(ms(quantile(reach, 0.5)), "fip-p50-ms")
		b.ReportMetric(ms(quantile(reach, 0.9)), "fip-p90-ms")
	}
}

func quantile(ds []time.Duration, f float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(f*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func routerLatency(t testing.TB) (snat, reach []time.Duration) {
	nRouters, nFIPs := envInt(t, "L3_LATENCY_ROUTERS", 20), envInt(t, "L3_LATENCY_FIPS", 50)
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hA := w.hosts["hostA"]
	w.put("/v2.0/agents/"+w.agentID("L3 agent", "hostB"), map[string]any{"agent": map[string]any{"admin_state_up": false}})

	ext := w.create("network", map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "cidr": "203.0.113.0/24", "ip_version": 4,
		"enable_dhcp": false, "gateway_ip": OutsideIP})
	serve(t, w.outNS, 8080)
	outside := OutsideIP + ":8080"

	// Each router's network and VM exist first, wired and ACTIVE.
	type rig struct {
		subnet string
		vm     *VM
	}
	rigs := make([]rig, nRouters)
	for i := range rigs {
		n := w.create("network", map[string]any{"name": fmt.Sprintf("lat%d", i)})
		s := w.create("subnet", map[string]any{"network_id": n["id"], "cidr": fmt.Sprintf("10.%d.%d.0/24", 100+i/250, i%250),
			"ip_version": 4, "enable_dhcp": false})
		p := w.port(n["id"].(string), "hostA")
		v := w.r.VM(fmt.Sprintf("r%d", i), hA.h, p.id, p.mac)
		Must(t, staticVM(v, p.ip, 24, s["gateway_ip"].(string)))
		rigs[i] = rig{s["id"].(string), v}
	}
	for _, r := range rigs {
		WaitFor(t, "VM port ACTIVE", 30*time.Second, func() error {
			if s := w.status(r.vm.Port); s != "ACTIVE" {
				return fmt.Errorf("status %s", s)
			}
			return nil
		})
	}

	snat = make([]time.Duration, nRouters)
	answered := make([]time.Duration, nRouters)
	gws := make([]string, nRouters)
	var wg sync.WaitGroup
	errs := make(chan error, nRouters+nFIPs)
	start := make(chan struct{})
	for i, r := range rigs {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			var out map[string]map[string]any
			w.call(http.MethodPost, "/v2.0/routers", map[string]any{"router": map[string]any{
				"name": fmt.Sprintf("lat%d", i), "external_gateway_info": map[string]any{"network_id": ext}}}, &out)
			id := out["router"]["id"].(string)
			gws[i] = out["router"]["external_gateway_info"].(map[string]any)["external_fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
			w.call(http.MethodPut, "/v2.0/routers/"+id+"/add_router_interface", map[string]any{"subnet_id": r.subnet}, nil)
			answered[i] = time.Since(t0)
			at, err := firstContact(ctx, func() (string, error) { return whoamiQuick(r.vm.NS, outside) }, gws[i])
			if err != nil {
				errs <- fmt.Errorf("router %d: %w", i, err)
				return
			}
			snat[i] = at.Sub(t0)
		})
	}
	t.Logf("%d routers: calls start at %s", nRouters, time.Now().Format("15:04:05.000"))
	lag := outboxLag(t)
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d routers at once on one agent: both calls answered %s", nRouters, dist(answered))
	t.Logf("%d routers at once on one agent: gateway+interface to first SNAT connection %s", nRouters, dist(snat))
	t.Logf("%d routers at once on one agent: from the interface call's answer to first SNAT connection %s", nRouters, dist(since(snat, answered)))
	t.Logf("%d routers at once on one agent: %s", nRouters, lag())

	// Floating IPs: one router, nFIPs VMs behind it, floating IPs
	// created unassociated, then associated at once.
	n := w.create("network", map[string]any{"name": "fips"})
	s := w.create("subnet", map[string]any{"network_id": n["id"], "cidr": "10.90.0.0/24", "ip_version": 4, "enable_dhcp": false})
	var out map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/routers", map[string]any{"router": map[string]any{
		"name": "fips", "external_gateway_info": map[string]any{"network_id": ext}}}, &out)
	router := out["router"]["id"].(string)
	w.put("/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": s["id"]})
	type fipRig struct {
		port, fipID, fip string
		vm               *VM
	}
	fips := make([]fipRig, nFIPs)
	for i := range fips {
		p := w.port(n["id"].(string), "hostA")
		v := w.r.VM(fmt.Sprintf("f%d", i), hA.h, p.id, p.mac)
		Must(t, staticVM(v, p.ip, 24, s["gateway_ip"].(string)))
		serve(t, v.NS, 8080)
		f := w.create("floatingip", map[string]any{"floating_network_id": ext})
		fips[i] = fipRig{p.id, f["id"].(string), f["floating_ip_address"].(string), v}
	}
	for _, f := range fips {
		WaitFor(t, "VM port ACTIVE", 30*time.Second, func() error {
			if s := w.status(f.port); s != "ACTIVE" {
				return fmt.Errorf("status %s", s)
			}
			return nil
		})
	}
	WaitFor(t, "the floating IPs' router", 30*time.Second, func() error {
		_, err := whoamiQuick(fips[0].vm.NS, outside)
		return err
	})
	reach = make([]time.Duration, nFIPs)
	errs = make(chan error, nFIPs)
	answered = make([]time.Duration, nFIPs)
	start = make(chan struct{})
	for i, f := range fips {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			w.call(http.MethodPut, "/v2.0/floatingips/"+f.fipID, map[string]any{"floatingip": map[string]any{"port_id": f.port}}, nil)
			answered[i] = time.Since(t0)
			at, err := firstContact(ctx, func() (string, error) { return whoamiQuick(w.outNS, f.fip+":8080") }, OutsideIP)
			if err != nil {
				errs <- fmt.Errorf("floating IP %d: %w", i, err)
				return
			}
			reach[i] = at.Sub(t0)
		})
	}
	t.Logf("%d floating IPs: calls start at %s", nFIPs, time.Now().Format("15:04:05.000"))
	lag = outboxLag(t)
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d floating IPs associated at once: associate answered %s", nFIPs, dist(answered))
	t.Logf("%d floating IPs associated at once: associate to first connection from outside %s", nFIPs, dist(reach))
	t.Logf("%d floating IPs associated at once: from the answer to first connection from outside %s", nFIPs, dist(since(reach, answered)))
	t.Logf("%d floating IPs associated at once: %s", nFIPs, lag())
	return snat, reach
}

// since is, for each item, how long after its API answer it got
// through: the agents' share, with the server's notification.
func since(through, answered []time.Duration) []time.Duration {
	out := make([]time.Duration, len(through))
	for i := range through {
		out[i] = through[i] - answered[i]
	}
	return out
}

// outboxLag reads the server's outbox publish lag histogram now and
// returns what describes the drains between now and its call: their
// number and mean lag (commit to the bus holding the notifications).
func outboxLag(t testing.TB) func() string {
	read := func() (sum float64, n uint64) {
		mfs, err := metrics.Registry.Gather()
		Must(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "neutrino_outbox_publish_lag_seconds" {
				for _, m := range mf.GetMetric() {
					sum += m.GetHistogram().GetSampleSum()
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
		return sum, n
	}
	s0, n0 := read()
	return func() string {
		s1, n1 := read()
		if n1 == n0 {
			return "no outbox drain"
		}
		return fmt.Sprintf("%d outbox drains, publish lag mean %v", n1-n0,
			time.Duration((s1-s0)/float64(n1-n0)*float64(time.Second)).Round(time.Millisecond))
	}
}

// whoamiQuick is whoami with a short connect timeout, for polling: a
// SYN lost before the path exists would otherwise wait for TCP's 1 s
// retransmission.
func whoamiQuick(ns netns.Handle, addr string) (string, error) {
	return whoamiTimeout(ns, addr, 50*time.Millisecond)
}

// agentID is the id of the agent of agentType on host.
func (w *world) agentID(agentType, host string) string {
	w.t.Helper()
	var out struct {
		Agents []map[string]any `json:"agents"`
	}
	w.get("/v2.0/agents?host="+host, &out)
	for _, a := range out.Agents {
		if a["agent_type"] == agentType {
			return a["id"].(string)
		}
	}
	w.t.Fatalf("no %s on %s", agentType, host)
	return ""
}

// BenchmarkRouterResync measures an L3 agent's full resync: L3_RESYNC_ROUTERS
// routers (default 50), each with a gateway, an interface and
// L3_RESYNC_FIPS floating IPs (default 10), hosted by host A's agent.
// It logs the time from restarting the agent on the converged host to
// its first full pass being done (nothing to change), then from
// restarting it on a host whose routers were all removed to all of them
// being built again (restart-ms, rebuild-ms). Run it with -benchtime 1x.
func BenchmarkRouterResync(b *testing.B) {
	for range b.N {
		restart, rebuild := routerResync(b)
		b.ReportMetric(ms(restart), "restart-ms")
		b.ReportMetric(ms(rebuild), "rebuild-ms")
	}
}

func routerResync(t testing.TB) (restart, rebuild time.Duration) {
	nRouters, nFIPs := envInt(t, "L3_RESYNC_ROUTERS", 50), envInt(t, "L3_RESYNC_FIPS", 10)
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w.put("/v2.0/agents/"+w.agentID("L3 agent", "hostB"), map[string]any{"agent": map[string]any{"admin_state_up": false}})
	ext := w.create("network", map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "cidr": "100.64.0.0/16", "ip_version": 4,
		"enable_dhcp": false, "gateway_ip": "100.64.0.1"})
	var routers []string
	for i := range nRouters {
		n := w.create("network", map[string]any{"name": fmt.Sprintf("rs%d", i)})
		s := w.create("subnet", map[string]any{"network_id": n["id"], "cidr": fmt.Sprintf("10.%d.%d.0/24", 100+i/250, i%250),
			"ip_version": 4, "enable_dhcp": false})
		r := w.create("router", map[string]any{"name": fmt.Sprintf("rs%d", i), "external_gateway_info": map[string]any{"network_id": ext}})
		w.put("/v2.0/routers/"+r["id"].(string)+"/add_router_interface", map[string]any{"subnet_id": s["id"]})
		for range nFIPs {
			p := w.create("port", map[string]any{"network_id": n["id"], "device_owner": "compute:nova", "device_id": UUID()})
			w.create("floatingip", map[string]any{"floating_network_id": ext, "port_id": p["id"]})
		}
		routers = append(routers, r["id"].(string))
	}
	built := func() error {
		for _, id := range routers {
			if !netns.Exists(link.RouterNamespace(id)) {
				return fmt.Errorf("router %s not built", id)
			}
		}
		return nil
	}
	WaitFor(t, "every router built", 5*time.Minute, built)
	passDone := func(what string) time.Duration {
		t0 := time.Now()
		w.start("hostA")
		h := w.hosts["hostA"]
		WaitFor(t, what, 5*time.Minute, func() error {
			if h.l3.Passes() < 1 {
				return fmt.Errorf("no pass yet")
			}
			return built()
		})
		return time.Since(t0)
	}
	w.stop("hostA")
	restart = passDone("first pass after a restart")
	t.Logf("%d routers × %d floating IPs: restart on a converged host to its first full pass done: %v", nRouters, nFIPs, restart.Round(time.Millisecond))
	w.stop("hostA")
	Must(t, w.hosts["hostA"].l3.Teardown(ctx))
	rebuild = passDone("routers rebuilt after a restart on an empty host")
	t.Logf("%d routers × %d floating IPs: restart on a host without them to all built: %v", nRouters, nFIPs, rebuild.Round(time.Millisecond))
	return restart, rebuild
}
