package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/internal/metrics"
)

// The agent runtime's metrics, labelled by the part's agent type.
var (
	passSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "agent", Name: "pass_duration_seconds",
		Help:    "Time of one pass of a part (fetch the desired state, converge the data plane, report), by agent type.",
		Buckets: metrics.Seconds,
	}, []string{"agent_type"})
	resyncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "agent", Name: "resyncs_total",
		Help: "Full resyncs a part was asked for, by agent type and reason (start: the agent started; revived: the server had considered it dead).",
	}, []string{"agent_type", "reason"})
)

func init() { metrics.Registry.MustRegister(passSeconds, resyncs) }

// serveMetrics serves the process's metrics (and the profiler) on addr
// until ctx ends.
func serveMetrics(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("[agent] metrics_bind: %w", err)
	}
	srv := &http.Server{Handler: metrics.DebugHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("[agent] metrics_bind: %w", err)
	}
	return nil
}
