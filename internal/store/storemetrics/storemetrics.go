// Package storemetrics turns the store's observations into Prometheus
// metrics (subsystem "store"): transaction durations and outcomes,
// retries, and the connection pools. It lives apart from the store
// because the metrics library links net/http, which the store must not;
// the server links it (internal/server/components.go).
package storemetrics

import (
	"database/sql"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/internal/metrics"
	"github.com/neutrino-net/neutrino/internal/store"
)

var (
	txSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "store", Name: "transaction_duration_seconds",
		Help:    "Time of one transaction attempt, from waiting for a connection (and, on SQLite, for this process's writer turn) to commit or rollback, by engine, kind (read, write) and outcome (commit, rollback, conflict: rolled back to be rerun).",
		Buckets: metrics.Seconds,
	}, []string{"engine", "kind", "outcome"})
	txRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "store", Name: "transaction_retries_total",
		Help: "Transactions rerun after a transient conflict (serialization failure, deadlock, busy SQLite, a segmentation id taken concurrently), by engine and kind.",
	}, []string{"engine", "kind"})
)

func init() {
	metrics.Registry.MustRegister(txSeconds, txRetries, pools{})
	store.SetObserver(observer{})
}

type observer struct{}

func (observer) Attempt(engine, kind, outcome string, took time.Duration) {
	k := attemptLabels{engine, kind, outcome}
	o, ok := attemptSeries.Load(k)
	if !ok {
		o, _ = attemptSeries.LoadOrStore(k, txSeconds.WithLabelValues(engine, kind, outcome))
	}
	o.(prometheus.Observer).Observe(took.Seconds())
}

type attemptLabels struct{ engine, kind, outcome string }

// attemptSeries caches txSeconds' series by their (few) label sets: every
// read, a show's among them, reports an attempt.
var attemptSeries sync.Map // attemptLabels → prometheus.Observer

func (observer) Retry(engine, kind string) { txRetries.WithLabelValues(engine, kind).Inc() }

var (
	inUse = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "store", "connections_in_use"),
		"Database connections running a statement or transaction, by engine.", []string{"engine"}, nil)
	idle = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "store", "connections_idle"),
		"Database connections open and idle, by engine.", []string{"engine"}, nil)
	waits = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "store", "connection_waits_total"),
		"Times a transaction waited for a free connection of the pool, by engine.", []string{"engine"}, nil)
	waited = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "store", "connection_wait_seconds_total"),
		"Time spent waiting for a free connection of the pool, by engine.", []string{"engine"}, nil)
)

// pools reports the connection pools of the stores open in this process,
// summed by engine.
type pools struct{}

// Describe implements prometheus.Collector.
func (pools) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{inUse, idle, waits, waited} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (pools) Collect(ch chan<- prometheus.Metric) {
	by := map[string]*sql.DBStats{}
	var waitSecs = map[string]float64{}
	store.PoolStats(func(engine string, st sql.DBStats) {
		sum := by[engine]
		if sum == nil {
			sum = &sql.DBStats{}
			by[engine] = sum
		}
		sum.InUse += st.InUse
		sum.Idle += st.Idle
		sum.WaitCount += st.WaitCount
		waitSecs[engine] += st.WaitDuration.Seconds()
	})
	for engine, sum := range by {
		ch <- prometheus.MustNewConstMetric(inUse, prometheus.GaugeValue, float64(sum.InUse), engine)
		ch <- prometheus.MustNewConstMetric(idle, prometheus.GaugeValue, float64(sum.Idle), engine)
		ch <- prometheus.MustNewConstMetric(waits, prometheus.CounterValue, float64(sum.WaitCount), engine)
		ch <- prometheus.MustNewConstMetric(waited, prometheus.CounterValue, waitSecs[engine], engine)
	}
}
