package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// TestMain lets Run re-execute the test binary as the server process.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(pgtest.Run(m))
}

// TestRunSmall runs the benchmark small, so it cannot rot: every agent
// registers and every report succeeds, against the stand-in and against
// the real server. It asserts no throughput (that is the benchmark's
// job, and a loaded CI machine under the race detector is slow): only
// that every agent kept reporting after it registered.
func TestRunSmall(t *testing.T) {
	const agents, interval, duration = 20, 50 * time.Millisecond, time.Second
	for _, write := range []string{"tx", "server"} {
		t.Run(write, func(t *testing.T) {
			res, err := Run(context.Background(), Config{Agents: agents, Interval: interval, Duration: duration, Write: write}, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 {
				t.Errorf("%d reports failed", res.Errors)
			}
			if want := 2 * agents; res.Reports < want {
				t.Errorf("%d reports, want at least %d (two per agent)", res.Reports, want)
			}
			if res.ServerRows != agents {
				t.Errorf("server holds %d heartbeat rows, want %d", res.ServerRows, agents)
			}
			if res.P50MS <= 0 || res.P99MS < res.P50MS || res.ServerCPUS <= 0 {
				t.Errorf("implausible measurements: %+v", res)
			}
		})
	}
}

// TestLoad is the full load test: 1,000 agents reporting every 300 ms
// (100,000 agents at Neutron's 30 s) for 30 s, on SQLite and PostgreSQL,
// on the embedded and an external NATS, with each heartbeat write mode.
// It takes minutes, so it runs only with NEUTRINO_BENCH_AGENTS=1; the
// results are logged as the command's JSON lines.
func TestLoad(t *testing.T) {
	if os.Getenv("NEUTRINO_BENCH_AGENTS") == "" {
		t.Skip("set NEUTRINO_BENCH_AGENTS=1 to run the 1,000-agent load test")
	}
	for _, engine := range []string{"sqlite", "postgresql"} {
		for _, transport := range []string{"embedded", "external"} {
			for _, write := range []string{"tx", "batch"} {
				t.Run(engine+"/"+transport+"/"+write, func(t *testing.T) {
					c := Config{Agents: 1000, Interval: 300 * time.Millisecond, Duration: 30 * time.Second, Write: write}
					if engine == "postgresql" {
						c.DB = pgtest.NewDatabase(t)
					}
					if transport == "external" {
						c.Transport = rpctest.StartServer(t)
					}
					res, err := Run(context.Background(), c, os.Stderr)
					if err != nil {
						t.Fatal(err)
					}
					line, _ := json.Marshal(res)
					t.Logf("%s", line)
				})
			}
		}
	}
}
