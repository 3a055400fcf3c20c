package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/internal/metrics"
)

// The API's metrics: every request by resource, verb and status.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "api", Name: "requests_total",
		Help: "API requests answered, by resource (collection, or sub-resource as parent/child), verb (Neutron's: list, show, create, update, delete, or a member action's name) and HTTP status.",
	}, []string{"resource", "verb", "status"})
	requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "api", Name: "request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its reply, by resource, verb and HTTP status.",
		Buckets: metrics.Seconds,
	}, []string{"resource", "verb", "status"})
)

func init() { metrics.Registry.MustRegister(requestsTotal, requestSeconds) }

// observe counts one answered request.
func (s *Server) observe(r *http.Request, status int, took time.Duration) {
	res, verb := s.routeLabels(r)
	m := requestMetricsFor(res, verb, status)
	m.count.Inc()
	m.seconds.Observe(took.Seconds())
}

// requestMetrics are one label set's series.
type requestMetrics struct {
	count   prometheus.Counter
	seconds prometheus.Observer
}

type requestLabels struct {
	resource, verb string
	status         int
}

// requestSeries caches each label set's series: finding them in the
// vectors hashes and checks the label values again for every request.
// The label values are bounded (see routeLabels), and so is the cache.
var requestSeries sync.Map // requestLabels → *requestMetrics

func requestMetricsFor(res, verb string, status int) *requestMetrics {
	k := requestLabels{res, verb, status}
	if m, ok := requestSeries.Load(k); ok {
		return m.(*requestMetrics)
	}
	code := strconv.Itoa(status)
	m := &requestMetrics{count: requestsTotal.WithLabelValues(res, verb, code),
		seconds: requestSeconds.WithLabelValues(res, verb, code)}
	requestSeries.Store(k, m)
	return m
}

// routeLabels names a request's resource and verb for metrics. Only names
// the server serves become label values ("other" stands for any path it
// does not route), so a client cannot grow the series without bound.
func (s *Server) routeLabels(r *http.Request) (resource, verb string) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "":
		return "versions", methodVerb(r.Method, false)
	case "/healthcheck":
		return "healthcheck", methodVerb(r.Method, false)
	case "/v2.0":
		return "index", methodVerb(r.Method, false)
	case "/metrics":
		return "metrics", methodVerb(r.Method, false)
	}
	rest, ok := strings.CutPrefix(path, "/v2.0/")
	if !ok {
		return "other", "other"
	}
	parts := s.splitPath(strings.TrimSuffix(rest, ".json"))
	switch {
	case parts[0] == "extensions" || parts[0] == "quotas":
		return parts[0], methodVerb(r.Method, len(parts) > 1)
	case len(parts) >= 3 && s.subControllers[parts[0]+"/"+parts[2]] != nil:
		return parts[0] + "/" + parts[2], methodVerb(r.Method, len(parts) > 3)
	}
	c := s.controllers[parts[0]]
	switch {
	case c == nil:
		return "other", "other"
	case len(parts) >= 3 && parts[2] == "tags":
		return parts[0] + "/tags", methodVerb(r.Method, len(parts) > 3)
	case len(parts) == 3 && (slices.Contains(c.res.Actions, parts[2]) || slices.Contains(c.res.GetActions, parts[2])):
		return parts[0], parts[2]
	case len(parts) > 2:
		return parts[0], "other"
	}
	return parts[0], methodVerb(r.Method, len(parts) == 2)
}

// methodVerb is Neutron's name for what a method does to a collection or
// one of its members.
func methodVerb(method string, member bool) string {
	switch {
	case method == http.MethodGet && member:
		return "show"
	case method == http.MethodGet || method == http.MethodHead:
		return "list"
	case method == http.MethodPost:
		return "create"
	case method == http.MethodPut:
		return "update"
	case method == http.MethodDelete:
		return "delete"
	}
	return "other"
}

var metricsHandler = metrics.Handler()
