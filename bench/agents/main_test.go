package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestMain lets Run re-execute the test binary as the server process.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunSmall runs the benchmark small, so it cannot rot: every agent
// registers and every report succeeds.
func TestRunSmall(t *testing.T) {
	const agents, interval, duration = 20, 50 * time.Millisecond, time.Second
	res, err := Run(context.Background(), Config{Agents: agents, Interval: interval, Duration: duration}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 {
		t.Errorf("%d reports failed", res.Errors)
	}
	if want := agents * int(duration/interval) / 2; res.Reports < want {
		t.Errorf("%d reports, want at least %d", res.Reports, want)
	}
	if res.ServerRows != agents {
		t.Errorf("server holds %d heartbeat rows, want %d", res.ServerRows, agents)
	}
	if res.P50MS <= 0 || res.P99MS < res.P50MS || res.ServerCPUS <= 0 {
		t.Errorf("implausible measurements: %+v", res)
	}
}
