package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/metering"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/meter"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/metrics"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// startMetering runs a metering agent (the metering part alone) for host,
// with the iptables driver and a one-second measure.
func (w *world) startMetering(host string) *metering.Part {
	w.t.Helper()
	cfg, err := config.Options.LoadWithDefaults(map[string]string{
		"DEFAULT.host":             host,
		"DEFAULT.driver":           "iptables",
		"DEFAULT.measure_interval": "1",
		"DEFAULT.report_interval":  "1",
		"agent.report_interval":    "1",
	}, nil, nil, logger())
	Must(w.t, err)
	p, err := metering.NewPart(agent.Env{Host: host, Config: cfg, Logger: logger()})
	Must(w.t, err)
	bus, err := w.srv.Bus.InProcess("metering:"+host, nil)
	Must(w.t, err)
	a := agent.New(bus, agent.OptionsFrom(cfg, logger()), p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			w.t.Errorf("metering agent %s: %v", host, err)
		}
	}()
	w.t.Cleanup(func() {
		cancel()
		<-done
		bus.Close()
	})
	return p
}

// promCounter reads a counter of the process's metrics registry.
func promCounter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	Must(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return counterValue(m)
		}
	}
	return 0
}

func counterValue(m *dto.Metric) float64 { return m.GetCounter().GetValue() }

// TestMeteringCountsRouterTraffic: metering labels on a router count the
// real packets a VM exchanges with the outside through it — egress by
// destination, ingress by the legacy remote prefix — while a label whose
// rules select nothing stays at zero and another project's label is not
// installed; the counts show in the agent's report and in its metrics,
// and a deleted label's counter leaves the router.
func TestMeteringCountsRouterTraffic(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ext := w.outsideNetwork()
	inNet, inSub, _ := w.network("metered", "10.72.0.0/24", nil)
	routerID := w.create("router", map[string]any{"name": "metered",
		"external_gateway_info": map[string]any{"network_id": ext}})["id"].(string)
	w.put("/v2.0/routers/"+routerID+"/add_router_interface", map[string]any{"subnet_id": inSub})
	host := w.routerHost(routerID)

	label := func(name string, extra map[string]any, rules ...map[string]any) string {
		body := map[string]any{"name": name}
		for k, v := range extra {
			body[k] = v
		}
		var out map[string]map[string]any
		w.call(http.MethodPost, "/v2.0/metering/metering-labels", map[string]any{"metering_label": body}, &out)
		id := out["metering_label"]["id"].(string)
		for _, r := range rules {
			r["metering_label_id"] = id
			w.call(http.MethodPost, "/v2.0/metering/metering-label-rules", map[string]any{"metering_label_rule": r}, nil)
		}
		return id
	}
	out := label("to-outside", nil, map[string]any{"direction": "egress", "destination_ip_prefix": "203.0.113.0/24"})
	back := label("back-inside", nil, map[string]any{"direction": "ingress", "remote_ip_prefix": "10.72.0.0/24"})
	none := label("elsewhere", nil, map[string]any{"direction": "egress", "destination_ip_prefix": "198.51.100.0/24"},
		map[string]any{"direction": "egress", "excluded": true, "destination_ip_prefix": "0.0.0.0/0"})
	foreign := label("theirs", map[string]any{"tenant_id": "another-project"},
		map[string]any{"direction": "egress", "destination_ip_prefix": "0.0.0.0/0"})

	p := w.startMetering(host)
	pv := w.port(inNet, host)
	vm := w.r.VM("metered-vm", w.hosts[host].h, pv.id, pv.mac)
	if _, err := w.r.DHCP(ctx, vm); err != nil {
		t.Fatal(err)
	}

	nsName := link.RouterNamespace(routerID)
	counters := func() (map[string]meter.Count, error) {
		ns, err := netns.Open(nsName)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", nsName, err)
		}
		defer ns.Close()
		return meter.Counters(ns)
	}
	WaitFor(t, "the router's metering table", 30*time.Second, func() error {
		c, err := counters()
		if err != nil {
			return err
		}
		for _, id := range []string{out, back, none} {
			if _, ok := c[id]; !ok {
				return fmt.Errorf("no counter for label %s: %v", id, c)
			}
		}
		return nil
	})
	if c, err := counters(); err != nil {
		t.Fatal(err)
	} else if _, ok := c[foreign]; ok {
		t.Errorf("another project's label is installed on the router")
	}

	// Five echo requests out, five replies back: 84 bytes each.
	if o, err := nsrig.Run(ctx, vm.NS, nil, "busybox", "ping", "-c", "5", "-i", "0.2", "-W", "2", OutsideIP); err != nil {
		t.Fatalf("ping the outside: %v: %s", err, o)
	}
	want := map[string]uint64{out: 5, back: 5, none: 0}
	WaitFor(t, "the agent's totals", 20*time.Second, func() error {
		tot := p.Totals()
		for id, n := range want {
			if tot[id].Packets != n {
				return fmt.Errorf("label %s: %d packets, want %d (%+v)", id, tot[id].Packets, n, tot)
			}
		}
		if tot[out].Bytes != 5*84 {
			return fmt.Errorf("label %s: %d bytes, want %d", out, tot[out].Bytes, 5*84)
		}
		return nil
	})
	if _, ok := p.Totals()[foreign]; ok {
		t.Errorf("another project's label counted on this router")
	}
	if v := promCounter(t, "neutrino_metering_label_packets_total", map[string]string{"host": host, "label_id": out}); v != 5 {
		t.Errorf("neutrino_metering_label_packets_total{label_id=%s} = %v, want 5", out, v)
	}
	if v := promCounter(t, "neutrino_metering_label_bytes_total", map[string]string{"host": host, "label_id": back}); v != 5*84 {
		t.Errorf("neutrino_metering_label_bytes_total{label_id=%s} = %v, want %d", back, v, 5*84)
	}
	WaitFor(t, "the metering agent's report", 20*time.Second, func() error {
		var agents struct {
			Agents []map[string]any `json:"agents"`
		}
		w.get("/v2.0/agents?agent_type=Metering+agent&host="+host, &agents)
		if len(agents.Agents) != 1 {
			return fmt.Errorf("%d metering agents", len(agents.Agents))
		}
		a := agents.Agents[0]
		if a["binary"] != "neutron-metering-agent" || a["topic"] != "metering_agent" {
			return fmt.Errorf("agent %v", a)
		}
		labels, _ := a["configurations"].(map[string]any)["metering_labels"].(map[string]any)
		got, _ := labels[out].(map[string]any)
		if got["pkts"] != float64(5) || got["bytes"] != float64(5*84) {
			return fmt.Errorf("reported %v", labels)
		}
		return nil
	})

	// A deleted label's counter leaves the router; the others keep
	// theirs.
	w.call(http.MethodDelete, "/v2.0/metering/metering-labels/"+none, nil, nil)
	WaitFor(t, "the deleted label's counter gone", 20*time.Second, func() error {
		c, err := counters()
		if err != nil {
			return err
		}
		if _, ok := c[none]; ok {
			return fmt.Errorf("label %s still counted", none)
		}
		if c[out].Packets != 5 {
			return fmt.Errorf("label %s lost its count: %v", out, c[out])
		}
		return nil
	})
}
