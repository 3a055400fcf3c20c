package agent_test

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcserver"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
)

// part is a DHCP-like part: it consumes dhcp_agent fanouts and its host
// topic, and records what it hears.
type part struct {
	heard   chan string
	revived chan struct{}
}

func (*part) AgentType() string { return "DHCP agent" }
func (*part) Binary() string    { return "neutron-dhcp-agent" }
func (*part) Topic() string     { return rpcapi.TopicDHCPAgent }
func (*part) Configurations() map[string]any {
	return map[string]any{"dhcp_driver": "dnsmasq", "networks": 0}
}
func (p *part) Handlers(host string) map[string]rpc.Handlers {
	h := rpc.Handlers{"network_create_end": func(_ context.Context, args json.RawMessage) (any, error) {
		p.heard <- string(args)
		return nil, nil
	}}
	return map[string]rpc.Handlers{rpcapi.TopicDHCPAgent: h, rpcapi.HostTopic(rpcapi.TopicDHCPAgent, host): h}
}
func (*part) Run(ctx context.Context, _ *rpc.Bus) error { <-ctx.Done(); return nil }
func (p *part) Revived()                                { p.revived <- struct{}{} }

// registry is a stand-in agents plugin: it keeps the reports it got and
// answers as Neutron's create_or_update_agent does.
type registry struct {
	mu      sync.Mutex
	reports []map[string]any
	answer  string
}

func (r *registry) ReportState(_ context.Context, args json.RawMessage) (any, error) {
	var a struct {
		AgentState struct {
			AgentState map[string]any `json:"agent_state"`
		} `json:"agent_state"`
		Time string `json:"time"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, err
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000", a.Time); err != nil {
		return nil, rpc.Remote("InvalidInput", "bad time %q", a.Time)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, a.AgentState.AgentState)
	if len(r.reports) == 1 {
		return "new", nil
	}
	return r.answer, nil
}

func (r *registry) snapshot() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.reports...)
}

func TestAgentRegistersAndHeartbeats(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		reg := &registry{answer: "alive"}
		srvBus := tr.Open(t)
		if err := (&rpcserver.Dispatcher{Agents: reg}).Serve(srvBus); err != nil {
			t.Fatal(err)
		}
		p := &part{heard: make(chan string, 8), revived: make(chan struct{}, 4)}
		a := agent.New(tr.Open(t), agent.Options{Host: "host-a", ReportInterval: 50 * time.Millisecond, AvailabilityZone: "az1"}, p)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent: %v", err)
			}
		}()

		deadline := time.Now().Add(10 * time.Second)
		for len(reg.snapshot()) < 4 {
			if time.Now().After(deadline) {
				t.Fatalf("%d reports in 10s, want 4", len(reg.snapshot()))
			}
			time.Sleep(10 * time.Millisecond)
		}
		reports := reg.snapshot()
		first := reports[0]
		for k, want := range map[string]any{"agent_type": "DHCP agent", "binary": "neutron-dhcp-agent", "host": "host-a",
			"topic": "dhcp_agent", "availability_zone": "az1", "start_flag": true} {
			if first[k] != want {
				t.Errorf("first report %s = %v, want %v", k, first[k], want)
			}
		}
		if conf, _ := first["configurations"].(map[string]any); conf["dhcp_driver"] != "dnsmasq" {
			t.Errorf("configurations = %v", first["configurations"])
		}
		for i, r := range reports[1:] {
			if _, has := r["start_flag"]; has {
				t.Errorf("report %d carries start_flag", i+2)
			}
		}
		if got := a.State("DHCP agent"); got != "alive" {
			t.Errorf("state = %q, want alive", got)
		}

		// The server's notifications reach the part: by fanout and on its
		// host topic, not on another host's.
		for _, send := range []func() error{
			func() error {
				return srvBus.Fanout(ctx, rpcapi.TopicDHCPAgent, "network_create_end", map[string]any{"n": 1})
			},
			func() error {
				return srvBus.Cast(ctx, rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host-a"), "network_create_end", map[string]any{"n": 2})
			},
			func() error {
				return srvBus.Cast(ctx, rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host-b"), "network_create_end", map[string]any{"n": 3})
			},
		} {
			if err := send(); err != nil {
				t.Fatal(err)
			}
		}
		// Then a marker on each of the part's four subscriptions (its
		// topics, cast and fanout), from the same sender: another host's
		// cast, misdelivered, would arrive before the marker of its
		// subscription.
		const marker = `"marker"`
		for _, topic := range []string{rpcapi.TopicDHCPAgent, rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host-a")} {
			if err := srvBus.Cast(ctx, topic, "network_create_end", json.RawMessage(marker)); err != nil {
				t.Fatal(err)
			}
			if err := srvBus.Fanout(ctx, topic, "network_create_end", json.RawMessage(marker)); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]int{}
		for markers := 0; markers < 4; {
			select {
			case s := <-p.heard:
				if s == marker {
					markers++
				} else {
					got[s]++
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("part heard %v and %d of 4 markers", got, markers)
			}
		}
		if want := map[string]int{`{"n":1}`: 1, `{"n":2}`: 1}; !maps.Equal(got, want) {
			t.Errorf("part heard %v, want %v (not another host's cast)", got, want)
		}

		// A server that had given the agent up answers "revived": the part
		// is told to resync.
		reg.mu.Lock()
		reg.answer = "revived"
		reg.mu.Unlock()
		select {
		case <-p.revived:
		case <-time.After(5 * time.Second):
			t.Fatal("part not told it was revived")
		}
	})
}

// TestAgentRetriesUntilServer: an agent started before the server keeps
// its start_flag until a report gets through.
func TestAgentRetriesUntilServer(t *testing.T) {
	tr := &rpctest.Transport{Name: "embedded"}
	srvBus := tr.Open(t)
	p := &part{heard: make(chan string, 1), revived: make(chan struct{}, 1)}
	agentBus := tr.Open(t, func(o *rpc.Options) { o.Timeout = 50 * time.Millisecond })
	a := agent.New(agentBus, agent.Options{Host: "h", ReportInterval: 30 * time.Millisecond}, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	time.Sleep(150 * time.Millisecond) // a few failed reports
	reg := &registry{answer: "alive"}
	if err := (&rpcserver.Dispatcher{Agents: reg}).Serve(srvBus); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(reg.snapshot()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reports after the server started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := reg.snapshot(); r[0]["start_flag"] != true || r[1]["start_flag"] != nil {
		t.Errorf("start_flag: first %v, second %v; want true, absent", r[0]["start_flag"], r[1]["start_flag"])
	}
}
