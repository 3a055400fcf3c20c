package agents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/server"
)

// logCapture keeps JSON log lines, written as the neutrino binary writes
// them: through reqctx.LogHandler, at debug level.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(reqctx.LogHandler{Handler: slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})})
}

// lines returns the captured lines for which keep is true.
func (c *logCapture) lines(keep func(map[string]any) bool) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for l := range strings.Lines(c.buf.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// TestPassFollowedIntoServerLog runs a real server and a host's agent
// (both parts, in a namespace of the test) and follows each part's pass,
// and a report, by request id from the agent's log into the server's: the
// server's line for the pass's call carries the id the agent logged.
func TestPassFollowedIntoServerLog(t *testing.T) {
	RequireDataplane(t)
	var serverLog, agentLog logCapture
	cfg, err := config.Options.LoadWithDefaults(map[string]string{
		"DEFAULT.auth_strategy":   "noauth",
		"DEFAULT.service_plugins": "",
		"database.connection":     "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite"),
		"nats.embedded_port":      "0",
		"ml2.mechanism_drivers":   "linuxbridge",
	}, nil, nil, serverLog.logger())
	Must(t, err)
	srv, err := server.New(context.Background(), cfg, serverLog.logger())
	Must(t, err)
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	Must(t, srv.StartRPC(ctx, false))

	r := New(t)
	ns := r.NS("trace")
	h := r.Host(ns)
	host := "trace-" + RandHex(2)
	acfg, err := config.Options.LoadWithDefaults(map[string]string{
		"DEFAULT.host":           host,
		"DEFAULT.state_path":     r.Dir,
		"vxlan.enable_vxlan":     "false",
		"agent.report_interval":  "30",
		"agent.polling_interval": "30",
	}, nil, nil, agentLog.logger())
	Must(t, err)
	env := agent.Env{Host: host, Config: acfg, Logger: agentLog.logger()}
	l2p, err := l2.NewPart(env, h, ns)
	Must(t, err)
	dp := dhcp.NewPart(env, h)
	bus, err := srv.Bus.InProcess("agent:"+host, agentLog.logger())
	Must(t, err)
	a := agent.New(bus, agent.OptionsFrom(acfg, env.Logger), l2p, dp)
	actx, acancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	t.Cleanup(func() {
		acancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		bus.Close()
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		if err := dp.Teardown(dctx); err != nil {
			t.Errorf("teardown DHCP: %v", err)
		}
	})
	WaitFor(t, "a pass and a report of each part", 20*time.Second, func() error {
		logged := func(msg string) bool {
			return len(agentLog.lines(func(m map[string]any) bool { return m["msg"] == msg })) > 0
		}
		if !logged("L2 pass") || !logged("DHCP pass") {
			return fmt.Errorf("passes: l2 %d, dhcp %d", l2p.Passes(), dp.Passes())
		}
		for _, typ := range []string{rpcapi.AgentTypeLinuxBridge, rpcapi.AgentTypeDHCP} {
			if a.State(typ) == "" {
				return fmt.Errorf("%s has not reported", typ)
			}
		}
		return nil
	})

	// The agent's line for each pass names its request id; the server's
	// line for the pass's call carries the same one.
	for _, c := range []struct{ agentMsg, method string }{
		{"L2 pass", rpcapi.MethodL2HostSnapshot},
		{"DHCP pass", rpcapi.MethodGetActiveNetworksInfo},
	} {
		passes := agentLog.lines(func(m map[string]any) bool { return m["msg"] == c.agentMsg })
		if len(passes) == 0 {
			t.Errorf("the agent logged no %q line", c.agentMsg)
			continue
		}
		id, _ := passes[0]["request_id"].(string)
		if !strings.HasPrefix(id, "req-") {
			t.Errorf("the agent's %q line has no request id: %v", c.agentMsg, passes[0])
			continue
		}
		served := serverLog.lines(func(m map[string]any) bool {
			return m["request_id"] == id && m["msg"] == "RPC call served" && m["method"] == c.method
		})
		if len(served) != 1 {
			t.Errorf("server lines serving %s with the %s's id %s: %v, want one", c.method, c.agentMsg, id, served)
		}
	}
	// Each report runs under its own id too.
	reports := map[string]int{}
	for _, m := range serverLog.lines(func(m map[string]any) bool { return m["method"] == "report_state" }) {
		id, _ := m["request_id"].(string)
		reports[id]++
	}
	if len(reports) < 2 {
		t.Errorf("report_state served under %d ids, want one per part's report at least: %v", len(reports), reports)
	}
	for id, n := range reports {
		if !strings.HasPrefix(id, "req-") || n != 1 {
			t.Errorf("report_state served %d times under id %q, want once under a req- id", n, id)
		}
	}
}
