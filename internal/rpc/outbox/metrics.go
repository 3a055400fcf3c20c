package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/internal/metrics"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The outbox's metrics: how much waits, how long it waited, what went out.
var (
	published = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "outbox", Name: "published_total",
		Help: "Notifications published on the bus and removed from the outbox.",
	})
	publishLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "outbox", Name: "publish_lag_seconds",
		Help:    "Time from a commit that recorded notifications to the bus holding them: from this server's first commit since the last drain, or from the oldest row's created_at (one-second resolution) for rows another server or an earlier run left.",
		Buckets: metrics.Seconds,
	})
	publishFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "outbox", Name: "publish_failures_total",
		Help: "Drains that failed (bus or database unavailable); their rows stay for the next.",
	})
)

func init() {
	metrics.Registry.MustRegister(published, publishLag, publishFailures, running)
}

// publishers counts the outbox rows of the databases that running
// publishers drain, at scrape time.
type publishers struct {
	mu    sync.Mutex
	by    map[*Publisher]bool
	depth *prometheus.Desc
}

var running = &publishers{by: map[*Publisher]bool{},
	depth: prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "outbox", "depth"),
		"Notifications recorded and not yet published (rows of the outbox table), per database a running publisher drains.", nil, nil)}

func (ps *publishers) add(p *Publisher) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.by[p] = true
}

func (ps *publishers) remove(p *Publisher) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	delete(ps.by, p)
}

// Describe implements prometheus.Collector.
func (ps *publishers) Describe(ch chan<- *prometheus.Desc) { ch <- ps.depth }

// Collect implements prometheus.Collector: one count per database (the
// publishers of servers sharing one count the same rows once).
func (ps *publishers) Collect(ch chan<- prometheus.Metric) {
	ps.mu.Lock()
	stores := map[*store.Store]bool{}
	for p := range ps.by {
		stores[p.st] = true
	}
	ps.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	total := 0
	for st := range stores {
		if n, err := st.OutboxLen(ctx); err == nil {
			total += n
		}
	}
	if len(stores) > 0 {
		ch <- prometheus.MustNewConstMetric(ps.depth, prometheus.GaugeValue, float64(total))
	}
}

// observeDrain records a drain of n rows that began with the local
// commits since firstCommit (unix nanoseconds; 0 when none nudged).
func observeDrain(n int, firstCommit int64, oldest string) {
	if n == 0 {
		return
	}
	published.Add(float64(n))
	switch {
	case firstCommit != 0:
		publishLag.Observe(time.Since(time.Unix(0, firstCommit)).Seconds())
	case oldest != "":
		if t, err := time.Parse(store.TimeFormat, oldest); err == nil {
			publishLag.Observe(max(time.Since(t), 0).Seconds())
		}
	}
}
