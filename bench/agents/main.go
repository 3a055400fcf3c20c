// Command agents load-tests the server's side of agent heartbeats: it
// starts a server process (store, bus, RPC dispatcher) and N simulated
// agents, each a real agent runtime with its own NATS connection calling
// report_state every interval, and prints one JSON line: reports made,
// failures, report_state round-trip latency (p50, p99, max) and the
// server process's CPU time from getrusage.
//
// Neutron's agents report every 30 s; compressing that to 300 ms makes
// 1,000 agents here the load of 100,000 agents at the real interval.
//
//	go run ./bench/agents -agents 1000 -interval 300ms -duration 30s
//	go run ./bench/agents -db postgresql://… -transport nats://127.0.0.1:4222
//
// The server answers report_state with a stand-in for the agents plugin
// that upserts one heartbeat row per agent in a table of the benchmark's
// own (bench_agent_heartbeats), so each report costs a database write as
// the real one does.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcserver"
	"github.com/neutrino-net/neutrino/internal/server"
	"github.com/neutrino-net/neutrino/internal/store"
)

// roleEnv makes the re-executed binary the server.
const roleEnv = "NEUTRINO_BENCH_AGENTS_SERVER"

// Config is one benchmark run.
type Config struct {
	Agents    int
	Interval  time.Duration
	Duration  time.Duration
	DB        string // empty: a temporary SQLite file
	Transport string // empty: the server's embedded NATS on a free port
	// Write is how the server stores heartbeats: tx, batch or none.
	Write string
}

// Result is the benchmark's output line.
type Result struct {
	Agents        int     `json:"agents"`
	IntervalMS    int64   `json:"interval_ms"`
	DurationS     float64 `json:"duration_s"`
	Engine        string  `json:"engine"`
	Transport     string  `json:"transport"`
	Write         string  `json:"write"`
	Reports       int     `json:"reports"`
	Errors        int     `json:"errors"`
	ReportsPerSec float64 `json:"reports_per_s"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	MaxMS         float64 `json:"max_ms"`
	ServerCPUS    float64 `json:"server_cpu_s"`
	ServerCPUPct  float64 `json:"server_cpu_pct"`
	ServerRows    int     `json:"server_heartbeat_rows"`
	AgentsCPUS    float64 `json:"agents_cpu_s"`
}

func main() {
	if os.Getenv(roleEnv) != "" {
		if err := serve(os.Getenv(roleEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	var c Config
	flag.IntVar(&c.Agents, "agents", 1000, "simulated agents")
	flag.DurationVar(&c.Interval, "interval", 300*time.Millisecond, "report_state interval of each agent (Neutron: 30s)")
	flag.DurationVar(&c.Duration, "duration", 30*time.Second, "measured time, after every agent registered")
	flag.StringVar(&c.DB, "db", "", "database connection (default: a temporary SQLite file)")
	flag.StringVar(&c.Transport, "transport", "", "transport_url of an external NATS (default: the server's embedded NATS)")
	flag.StringVar(&c.Write, "write", "tx", "heartbeat writes: tx (a transaction per report), batch (group commit), none, or server (the real server: agents registry, report_state)")
	flag.Parse()
	res, err := Run(context.Background(), c, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

// serverReport is what the server process prints when it stops.
type serverReport struct {
	CPU  float64 `json:"cpu_s"`
	Wall float64 `json:"wall_s"`
	Rows int     `json:"rows"`
}

// Run starts the server process and the agents, measures for
// c.Duration and stops everything.
func Run(ctx context.Context, c Config, progress io.Writer) (*Result, error) {
	dir, err := os.MkdirTemp("", "neutrino-bench-agents-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if c.DB == "" {
		c.DB = "sqlite:///" + filepath.Join(dir, "bench.sqlite")
	}
	if c.Write == "" {
		c.Write = "tx"
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, _ := json.Marshal(c)
	srv := exec.Command(self)
	srv.Env = append(os.Environ(), roleEnv+"="+string(spec))
	srv.Stderr = progress
	stdin, _ := srv.StdinPipe()
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	defer srv.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		srv.Wait()
		return nil, errors.New("server did not start")
	}
	busURL := strings.TrimSpace(lines.Text())

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		measuring bool
		firstErr  error
	)
	observe := func(_ string, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if !measuring {
			return
		}
		if err != nil {
			failures++
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		latencies = append(latencies, took)
	}
	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var buses []*rpc.Bus
	defer func() {
		for _, b := range buses {
			b.Close()
		}
	}()
	fmt.Fprintf(progress, "starting %d agents over %s\n", c.Agents, c.Interval)
	for i := range c.Agents {
		b, err := rpc.Open(ctx, rpc.Options{TransportURL: busURL, Name: fmt.Sprintf("bench-agent-%d", i), Timeout: 10 * time.Second})
		if err != nil {
			stop()
			wg.Wait()
			return nil, fmt.Errorf("agent %d: %w", i, err)
		}
		buses = append(buses, b)
		a := agent.New(b, agent.Options{Host: fmt.Sprintf("compute-%04d", i), ReportInterval: c.Interval,
			AvailabilityZone: "nova", Observe: observe}, l2Part{})
		// Spread the agents over one interval, as hosts that started at
		// different times are.
		delay := c.Interval * time.Duration(i) / time.Duration(c.Agents)
		wg.Go(func() {
			select {
			case <-time.After(delay):
			case <-actx.Done():
				return
			}
			a.Run(actx)
		})
	}
	time.Sleep(2 * c.Interval) // every agent registered
	mu.Lock()
	measuring = true
	mu.Unlock()
	start := time.Now()
	agentsCPU0 := cpuTime()
	time.Sleep(c.Duration)
	agentsCPU := cpuTime() - agentsCPU0
	mu.Lock()
	measuring = false
	mu.Unlock()
	wall := time.Since(start)
	stop()
	wg.Wait()
	for _, b := range buses {
		b.Close()
	}
	buses = nil

	stdin.Close() // the server reports and exits
	var rep serverReport
	if lines.Scan() {
		json.Unmarshal(lines.Bytes(), &rep)
	}
	if err := srv.Wait(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if firstErr != nil {
		fmt.Fprintf(progress, "first report failure: %v\n", firstErr)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	engine, _, _ := strings.Cut(c.DB, ":")
	transport := "embedded"
	if c.Transport != "" {
		transport = "external"
	}
	return &Result{
		Agents: c.Agents, IntervalMS: c.Interval.Milliseconds(), DurationS: wall.Seconds(),
		Engine: engine, Transport: transport, Write: c.Write, AgentsCPUS: agentsCPU.Seconds(),
		Reports: len(latencies), Errors: failures, ReportsPerSec: float64(len(latencies)) / wall.Seconds(),
		P50MS: pct(0.50), P99MS: pct(0.99), MaxMS: pct(1),
		ServerCPUS: rep.CPU, ServerCPUPct: 100 * rep.CPU / rep.Wall, ServerRows: rep.Rows,
	}, nil
}

// l2Part is a simulated L2 agent: it reports and consumes the port
// update fanout, as a Linux bridge agent does.
type l2Part struct{}

func (l2Part) AgentType() string { return "Linux bridge agent" }
func (l2Part) Binary() string    { return "neutron-linuxbridge-agent" }
func (l2Part) Topic() string     { return "N/A" }
func (l2Part) Configurations() map[string]any {
	return map[string]any{"interface_mappings": map[string]any{"physnet1": "eth1"}, "devices": 12,
		"tunnel_types": []string{"vxlan"}, "l2_population": true}
}
func (l2Part) Handlers(string) map[string]rpc.Handlers {
	return map[string]rpc.Handlers{rpcapi.TopicPortUpdate: {"port_update": func(context.Context, json.RawMessage) (any, error) { return nil, nil }}}
}
func (l2Part) Run(ctx context.Context, _ *rpc.Bus) error { <-ctx.Done(); return nil }

// serve is the server process: store, bus and the report_state stand-in.
// It prints the bus URL, serves until stdin closes, then prints its CPU
// time.
func serve(spec string) error {
	var c Config
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	st, err := store.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	if c.Write == "server" {
		st.Close()
		return serveReal(ctx, c)
	}
	hb := &heartbeats{st: st, mode: c.Write, queue: make(chan *beat, 4096)}
	if err := hb.init(ctx); err != nil {
		return err
	}
	go hb.batcher(ctx)
	bus, err := rpc.Open(ctx, rpc.Options{TransportURL: c.Transport, EmbeddedPort: -1, Name: "bench-server",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer bus.Close()
	if err := (&rpcserver.Dispatcher{Agents: hb}).Serve(bus); err != nil {
		return err
	}
	url := c.Transport
	if url == "" {
		url = bus.ClientURL()
	}
	start := time.Now()
	cpu0 := cpuTime()
	fmt.Println(url)
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	cpu := cpuTime() - cpu0
	wall := time.Since(start)
	rows, err := hb.rows(ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(serverReport{CPU: cpu.Seconds(), Wall: wall.Seconds(), Rows: rows})
}

// serveReal is the server process of -write server: Neutrino's own
// server (store, agents plugin, RPC dispatcher, embedded or external
// NATS), so report_state is the real one writing the agents table.
func serveReal(ctx context.Context, c Config) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	overrides := map[string]string{"database.connection": c.DB, "nats.embedded_port": "-1", "DEFAULT.auth_strategy": "noauth"}
	if c.Transport != "" {
		overrides["DEFAULT.transport_url"] = c.Transport
	}
	cfg, err := config.Options.LoadWithDefaults(overrides, nil, nil, logger)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.StartRPC(ctx, false); err != nil {
		return err
	}
	url := c.Transport
	if url == "" {
		url = srv.Bus.ClientURL()
	}
	start := time.Now()
	cpu0 := cpuTime()
	fmt.Println(url)
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	cpu := cpuTime() - cpu0
	wall := time.Since(start)
	var rows int
	err = srv.Store.Read(ctx, func(tx *store.Tx) error {
		var err error
		rows, err = tx.Count(ctx, "agents", "1", 1)
		return err
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(serverReport{CPU: cpu.Seconds(), Wall: wall.Seconds(), Rows: rows})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
