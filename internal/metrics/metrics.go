// Package metrics holds the Prometheus registry every component of the
// server and the agent registers its metrics on, and the HTTP handler that
// exposes them (/metrics on the API port, or on [DEFAULT] metrics_bind and
// the agent's [agent] metrics_bind).
//
// Components declare their own metrics next to their code, as they
// declare their options: namespace Namespace, subsystem the component
// ("api", "store", "outbox", "rpc", "agent"). The store, which must not
// link HTTP (and the Prometheus library does), reports through hooks that
// internal/store/storemetrics turns into metrics. The registry is global
// because the metrics are process-wide: several servers in one test
// process share them, so tests compare counts before and after.
package metrics

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Neutrino metric.
const Namespace = "neutrino"

// Registry is where Neutrino's metrics live. The binary adds the Go
// runtime's and the process's collectors (cmd/neutrino): their package
// links database/sql, which the API and the agents must not.
var Registry = prometheus.NewRegistry()

// Handler serves the registry in Prometheus' text (or negotiated) format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// DebugHandler serves /metrics and, for a listener operators bind to a
// private address, Go's profiler under /debug/pprof/: CPU and heap
// profiles under load are how the hot paths were found, and are how an
// operator finds the next one.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Seconds are the latency buckets of requests and transactions: 0.5 ms
// to 10 s, since an SQLite show takes well under a millisecond and a
// large list seconds.
var Seconds = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
