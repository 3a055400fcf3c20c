package rpc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/internal/metrics"
)

// The bus's metrics, on both sides: what this process served, and the
// calls it made.
var (
	handled = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "rpc", Name: "handled_duration_seconds",
		Help:    "RPC requests this process served, by method (\"unknown\" for a method it has no handler for), kind (call: a reply is awaited; cast: a cast or fanout) and outcome (ok, error).",
		Buckets: metrics.Seconds,
	}, []string{"method", "kind", "outcome"})
	calls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "rpc", Name: "call_duration_seconds",
		Help:    "RPC calls this process made and waited for, by method and outcome (ok, error: a remote error, timeout: no reply in time, failed: not sent or no consumer).",
		Buckets: metrics.Seconds,
	}, []string{"method", "outcome"})
	sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "rpc", Name: "sent_total",
		Help: "Casts and fanouts this process sent (notifications among them), by method and kind (cast, fanout).",
	}, []string{"method", "kind"})
)

func init() { metrics.Registry.MustRegister(handled, calls, sent) }

func observeHandled(method string, known, call bool, start time.Time, err error) {
	if !known {
		method = "unknown"
	}
	kind, outcome := "cast", "ok"
	if call {
		kind = "call"
	}
	if err != nil {
		outcome = "error"
	}
	handled.WithLabelValues(method, kind, outcome).Observe(time.Since(start).Seconds())
}

func observeCall(method string, start time.Time, err error) {
	outcome := "ok"
	switch err.(type) {
	case nil:
	case *RemoteError:
		outcome = "error"
	case *TimeoutError:
		outcome = "timeout"
	default:
		outcome = "failed"
	}
	calls.WithLabelValues(method, outcome).Observe(time.Since(start).Seconds())
}
