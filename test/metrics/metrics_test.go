// Package metrics_test scrapes a real server's /metrics after known
// requests and checks the series and their counts. It is a package of its
// own because the counters are process-wide: no other test may make
// requests while these count.
package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/testenv/apiserver"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// scrape reads url's metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s: %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// value is the counter, gauge or histogram count of the series of name
// with exactly these labels; -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func do(t *testing.T, method, url, body string, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	return string(b)
}

// TestMetrics makes known requests, an RPC call and a notification on
// each engine, and checks what /metrics on the API port and on
// [DEFAULT] metrics_bind count.
func TestMetrics(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			dsn := "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite")
			if engine == "postgresql" {
				dsn = pgtest.NewDatabase(t)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			bind := l.Addr().String()
			l.Close()
			url, srv := apiserver.Start(t, dsn, map[string]string{"nats.embedded_port": "0", "DEFAULT.metrics_bind": bind})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := srv.StartRPC(ctx, false); err != nil {
				t.Fatal(err)
			}
			// metrics_bind is served by Serve; run it on a listener of its own.
			apiL, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, apiL) }()
			t.Cleanup(func() {
				cancel()
				if err := <-served; err != nil {
					t.Errorf("serve: %v", err)
				}
			})

			before := scrape(t, url+"/metrics")
			delta := func(after map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
				a, b := value(after, name, labels), value(before, name, labels)
				if a < 0 {
					return -1
				}
				return a - max(b, 0)
			}

			var ids []string
			for i := range 3 {
				body := do(t, "POST", url+"/v2.0/networks", fmt.Sprintf(`{"network": {"name": "m%d"}}`, i), 201)
				ids = append(ids, body[strings.Index(body, `"id":"`)+6:][:36])
			}
			do(t, "GET", url+"/v2.0/networks/"+ids[0], "", 200)
			do(t, "GET", url+"/v2.0/networks/"+ids[1], "", 200)
			do(t, "GET", url+"/v2.0/networks/00000000-0000-0000-0000-000000000000", "", 404)
			do(t, "GET", url+"/v2.0/networks", "", 200)
			do(t, "PUT", url+"/v2.0/networks/"+ids[2], `{"network": {"name": "renamed"}}`, 200)
			do(t, "DELETE", url+"/v2.0/networks/"+ids[2], "", 204)
			do(t, "GET", url+"/v2.0/no-such-collection", "", 404)
			// A port with an address makes notifications for the outbox.
			do(t, "POST", url+"/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "cidr": "10.9.0.0/24", "ip_version": 4}}`, ids[0]), 201)
			do(t, "POST", url+"/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, ids[0]), 201)
			// One RPC call, as a DHCP agent makes it.
			var nets []rpcapi.DHCPNetwork
			if err := srv.Bus.Call(ctx, rpcapi.TopicDHCPPlugin, rpcapi.MethodGetActiveNetworksInfo, rpcapi.HostArgs{Host: "h1"}, &nets); err != nil {
				t.Fatal(err)
			}

			var after map[string]*dto.MetricFamily
			scrapes := 1 // before's, counted once it was answered
			for deadline := time.Now().Add(10 * time.Second); ; scrapes++ {
				after = scrape(t, url+"/metrics")
				if delta(after, "neutrino_outbox_published_total", nil) >= 1 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			api := func(res, verb, status string) map[string]string {
				return map[string]string{"resource": res, "verb": verb, "status": status}
			}
			for _, c := range []struct {
				name   string
				labels map[string]string
				want   float64
			}{
				{"neutrino_api_requests_total", api("networks", "create", "201"), 3},
				{"neutrino_api_request_duration_seconds", api("networks", "create", "201"), 3},
				{"neutrino_api_requests_total", api("networks", "show", "200"), 2},
				{"neutrino_api_requests_total", api("networks", "show", "404"), 1},
				{"neutrino_api_requests_total", api("networks", "list", "200"), 1},
				{"neutrino_api_requests_total", api("networks", "update", "200"), 1},
				{"neutrino_api_requests_total", api("networks", "delete", "204"), 1},
				{"neutrino_api_requests_total", api("other", "other", "404"), 1},
				{"neutrino_api_requests_total", api("ports", "create", "201"), 1},
				{"neutrino_api_requests_total", api("metrics", "list", "200"), float64(scrapes)}, // each but the last
				{"neutrino_rpc_handled_duration_seconds", map[string]string{"method": "get_active_networks_info", "kind": "call", "outcome": "ok"}, 1},
				{"neutrino_rpc_call_duration_seconds", map[string]string{"method": "get_active_networks_info", "outcome": "ok"}, 1},
			} {
				if got := delta(after, c.name, c.labels); got != c.want {
					t.Errorf("%s%v: %v more, want %v", c.name, c.labels, got, c.want)
				}
			}
			// Writes commit: the creates, update, delete, subnet and port at least.
			if got := delta(after, "neutrino_store_transaction_duration_seconds", map[string]string{"engine": engine, "kind": "write", "outcome": "commit"}); got < 7 {
				t.Errorf("%s write commits: %v more, want at least 7", engine, got)
			}
			if got := delta(after, "neutrino_outbox_published_total", nil); got < 1 {
				t.Errorf("outbox published %v more, want at least 1", got)
			}
			if got := delta(after, "neutrino_outbox_publish_lag_seconds", nil); got < 1 {
				t.Errorf("outbox publish lag observed %v more times, want at least 1", got)
			}
			for name, labels := range map[string]map[string]string{
				"neutrino_outbox_depth":                 {},
				"neutrino_store_connections_in_use":     {"engine": engine},
				"neutrino_store_connections_idle":       {"engine": engine},
				"neutrino_store_connection_waits_total": {"engine": engine},
			} {
				if value(after, name, labels) < 0 {
					t.Errorf("no series %s%v", name, labels)
				}
			}
			if f := after["neutrino_api_request_duration_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
				t.Errorf("request durations are not a histogram: %v", f)
			}

			// The same registry on metrics_bind, with the profiler.
			for deadline := time.Now().Add(5 * time.Second); ; {
				resp, err := http.Get("http://" + bind + "/metrics")
				if err == nil {
					resp.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("metrics_bind %s: %v", bind, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			side := scrape(t, "http://"+bind+"/metrics")
			if value(side, "neutrino_api_requests_total", api("networks", "create", "201")) != value(after, "neutrino_api_requests_total", api("networks", "create", "201")) {
				t.Error("metrics_bind serves other counts than the API port")
			}
			do(t, "GET", "http://"+bind+"/debug/pprof/goroutine?debug=1", "", 200)
		})
	}
}
