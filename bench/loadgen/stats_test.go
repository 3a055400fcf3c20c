package main

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// ms returns n milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// rangeMs returns 1ms, 2ms, ..., n ms.
func rangeMs(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = ms(i + 1)
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", []time.Duration{ms(7)}, 50, ms(7)},
		{"single p99", []time.Duration{ms(7)}, 99, ms(7)},
		{"two p50 takes lower", []time.Duration{ms(1), ms(2)}, 50, ms(1)},
		{"two p51 takes upper", []time.Duration{ms(1), ms(2)}, 51, ms(2)},
		{"ten p50", rangeMs(10), 50, ms(5)},
		{"ten p90", rangeMs(10), 90, ms(9)},
		{"ten p99", rangeMs(10), 99, ms(10)},
		{"hundred p50", rangeMs(100), 50, ms(50)},
		{"hundred p90", rangeMs(100), 90, ms(90)},
		{"hundred p99", rangeMs(100), 99, ms(99)},
		{"hundred p100 is max", rangeMs(100), 100, ms(100)},
		{"thousand p99", rangeMs(1000), 99, ms(990)},
		{"five p90 rounds rank up", rangeMs(5), 90, ms(5)},
		{"tiny p clamps to first", rangeMs(10), 0.001, ms(1)},
		{"duplicates", []time.Duration{ms(1), ms(1), ms(1), ms(9)}, 75, ms(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		m    measurement
		want Summary
	}{
		{
			name: "nothing ran",
			m:    measurement{},
			want: Summary{},
		},
		{
			name: "unsorted input",
			m: measurement{
				latencies: []time.Duration{ms(4), ms(1), ms(3), ms(2)},
				ops:       4,
				elapsed:   2 * time.Second,
			},
			want: Summary{Ops: 4, DurationS: 2, OpsPerS: 2, P50Ms: 2, P90Ms: 4, P99Ms: 4, MaxMs: 4},
		},
		{
			name: "errors excluded from throughput and latency",
			m: measurement{
				latencies: rangeMs(100),
				ops:       110,
				errors:    10,
				elapsed:   4 * time.Second,
			},
			want: Summary{Ops: 110, Errors: 10, DurationS: 4, OpsPerS: 25, P50Ms: 50, P90Ms: 90, P99Ms: 99, MaxMs: 100},
		},
		{
			name: "rounding",
			m: measurement{
				latencies: []time.Duration{1234567 * time.Nanosecond},
				ops:       1,
				elapsed:   3 * time.Second,
			},
			want: Summary{Ops: 1, DurationS: 3, OpsPerS: 0.33, P50Ms: 1.235, P90Ms: 1.235, P99Ms: 1.235, MaxMs: 1.235},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.m); got != tt.want {
				t.Errorf("summarize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewResultStatus(t *testing.T) {
	boom := errors.New("POST /v2.0/networks: 409 Conflict: quota")
	tests := []struct {
		name, wantStatus, wantError, wantFirst string
		m                                      measurement
	}{
		{"clean", statusOK, "", "", measurement{ops: 3, latencies: rangeMs(3)}},
		{"some errors", statusOK, "", boom.Error(), measurement{ops: 3, errors: 1, latencies: rangeMs(2), firstErr: boom}},
		{"all errors", statusFailed, "all 2 operations failed", boom.Error(), measurement{ops: 2, errors: 2, firstErr: boom}},
		{"interrupted", statusFailed, "interrupted", "", measurement{ops: 1, latencies: rangeMs(1), interrupted: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResult("network-create", 4, tt.m)
			if r.Status != tt.wantStatus || r.Error != tt.wantError || r.FirstError != tt.wantFirst {
				t.Errorf("got status=%q error=%q first_error=%q, want %q %q %q",
					r.Status, r.Error, r.FirstError, tt.wantStatus, tt.wantError, tt.wantFirst)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{
			name: "unsupported has only scenario and status",
			r:    Result{Scenario: "subnet-create", Status: statusUnsupported},
			want: `{"scenario":"subnet-create","status":"unsupported"}`,
		},
		{
			name: "measured with zero extras kept",
			r: Result{
				Scenario: "network-list-full", Concurrency: 16,
				Summary: &Summary{Ops: 2, DurationS: 1, OpsPerS: 2, P50Ms: 1, P90Ms: 2, P99Ms: 2, MaxMs: 2},
				Items:   new(0), Bytes: new(int64(15)), Prepopulated: new(0),
				Status: statusOK,
			},
			want: `{"scenario":"network-list-full","concurrency":16,"ops":2,"errors":0,"duration_s":1,"ops_per_s":2,` +
				`"p50_ms":1,"p90_ms":2,"p99_ms":2,"max_ms":2,"items":0,"bytes":15,"prepopulated":0,"status":"ok"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
