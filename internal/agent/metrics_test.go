package agent_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcserver"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
)

// meteredPart runs three timed passes, then waits; a revival asks for
// one more.
type meteredPart struct {
	*agent.Kicker
}

func (*meteredPart) AgentType() string                       { return "Metered agent" }
func (*meteredPart) Binary() string                          { return "neutron-metered-agent" }
func (*meteredPart) Topic() string                           { return "metered_agent" }
func (*meteredPart) Configurations() map[string]any          { return map[string]any{} }
func (*meteredPart) Handlers(string) map[string]rpc.Handlers { return nil }
func (p *meteredPart) Revived()                              { p.Trigger() }
func (p *meteredPart) Run(ctx context.Context, _ *rpc.Bus) error {
	for range 3 {
		p.Trigger()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
			p.Begin()
			time.Sleep(2 * time.Millisecond)
			p.Done()
		}
	}
}

// TestAgentMetrics: [agent] metrics_bind serves the agent's metrics: its
// passes timed by agent type, and its resyncs (start, revived).
func TestAgentMetrics(t *testing.T) {
	tr := &rpctest.Transport{Name: "embedded"}
	reg := &registry{answer: "alive"}
	if err := (&rpcserver.Dispatcher{Agents: reg}).Serve(tr.Open(t)); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bind := l.Addr().String()
	l.Close()
	p := &meteredPart{Kicker: agent.NewKicker()}
	a := agent.New(tr.Open(t), agent.Options{Host: "host-m", ReportInterval: 30 * time.Millisecond, MetricsBind: bind}, p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	scrape := func() string {
		resp, err := http.Get("http://" + bind + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitFor := func(series string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(scrape(), series) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in:\n%s", series, scrape())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Triggers coalesce: the three before the first pass make one or two.
	waitFor(`neutrino_agent_resyncs_total{agent_type="Metered agent",reason="start"} 1`)
	waitFor(`neutrino_agent_pass_duration_seconds_bucket{agent_type="Metered agent",le="0.0025"}`)
	passes := p.Passes()
	if passes < 1 || passes > 2 {
		t.Fatalf("%d passes, want 1 or 2", passes)
	}
	if want := `neutrino_agent_pass_duration_seconds_count{agent_type="Metered agent"} ` + string(rune('0'+passes)); !strings.Contains(scrape(), want) {
		t.Errorf("no %q", want)
	}
	reg.mu.Lock()
	reg.answer = "revived"
	reg.mu.Unlock()
	waitFor(`neutrino_agent_resyncs_total{agent_type="Metered agent",reason="revived"}`)
	// The report_state calls are counted by the bus.
	if !strings.Contains(scrape(), `neutrino_rpc_call_duration_seconds_count{method="`+rpcapi.MethodReportState+`",outcome="ok"}`) {
		t.Error("report_state calls not counted")
	}
}
