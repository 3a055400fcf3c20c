package main

import (
	"math"
	"slices"
	"time"
)

// Summary holds the figures reported for one measured run. Latency and
// throughput describe successful operations only; failed ones are counted
// in Errors.
type Summary struct {
	Ops       int     `json:"ops"`
	Errors    int     `json:"errors"`
	DurationS float64 `json:"duration_s"`
	OpsPerS   float64 `json:"ops_per_s"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest value such that
// at least p percent of the values are less than or equal to it. It returns
// 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Multiply before dividing so that whole-number ranks stay exact.
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}

// summarize computes the Summary of m. It sorts m.latencies in place.
func summarize(m measurement) Summary {
	slices.Sort(m.latencies)
	s := Summary{
		Ops:       m.ops,
		Errors:    m.errors,
		DurationS: round(m.elapsed.Seconds(), 3),
		P50Ms:     millis(percentile(m.latencies, 50)),
		P90Ms:     millis(percentile(m.latencies, 90)),
		P99Ms:     millis(percentile(m.latencies, 99)),
		MaxMs:     millis(percentile(m.latencies, 100)),
	}
	if m.elapsed > 0 {
		s.OpsPerS = round(float64(len(m.latencies))/m.elapsed.Seconds(), 2)
	}
	return s
}

// millis converts d to milliseconds, rounded to the microsecond.
func millis(d time.Duration) float64 {
	return round(float64(d)/float64(time.Millisecond), 3)
}

// round rounds v to the given number of decimal places.
func round(v float64, places int) float64 {
	scale := math.Pow10(places)
	return math.Round(v*scale) / scale
}
