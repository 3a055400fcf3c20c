package api_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// TestConcurrentAgentReports has 200 agents report at once into every
// server (two on one PostgreSQL), each agent's first report arriving on
// all servers together: every agent must end as one row, registered
// ("new") exactly once.
func TestConcurrentAgentReports(t *testing.T) {
	for _, engine := range []string{"postgresql", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			servers := concurrencyEnvs(t, engine)
			const agents, rounds = 200, 3
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var mu sync.Mutex
			news := map[string]int{}
			var fails failures
			start := time.Now()
			var wg sync.WaitGroup
			for i := range agents {
				host := fmt.Sprintf("compute-%03d", i)
				for s := range servers {
					wg.Go(func() {
						for r := range rounds {
							srv := servers[(s+r)%len(servers)]
							st, err := srv.srv.Agents.ReportState(ctx, rpcapi.AgentState{
								AgentType: rpcapi.AgentTypeLinuxBridge, Binary: "neutron-linuxbridge-agent", Host: host,
								Topic: "N/A", StartFlag: r == 0, Configurations: map[string]any{"devices": r}})
							if err != nil {
								fails.add("report %s: %v", host, err)
								return
							}
							if st == rpcapi.AgentNew {
								mu.Lock()
								news[host]++
								mu.Unlock()
							}
						}
					})
				}
			}
			wg.Wait()
			elapsed := time.Since(start)
			fails.report(t)
			reports := agents * rounds * len(servers)
			t.Logf("%s: %d reports from %d agents into %d server(s) in %v (%.0f reports/s)",
				engine, reports, agents, len(servers), elapsed.Round(time.Millisecond), float64(reports)/elapsed.Seconds())
			list := servers[0].do(admin, "GET", "/v2.0/agents", nil).expect(t, 200).list(t, "agents")
			if len(list) != agents {
				t.Errorf("%d agent rows, want %d", len(list), agents)
			}
			for i := range agents {
				if h := fmt.Sprintf("compute-%03d", i); news[h] != 1 {
					t.Errorf("%s registered %d times", h, news[h])
				}
			}
		})
	}
}

// TestConcurrentDHCPScheduling schedules many networks from many
// goroutines over every server at once, while DHCP agents start (and
// auto-schedule): no network may end with more than
// dhcp_agents_per_network agents, nor fewer when enough are alive.
func TestConcurrentDHCPScheduling(t *testing.T) {
	for _, engine := range []string{"postgresql", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			const perNetwork, networks = 2, 40
			overrides := map[string]string{"DEFAULT.dhcp_agents_per_network": fmt.Sprint(perNetwork)}
			var servers []*env
			if engine == "postgresql" {
				dsn := pgtest.NewDatabase(t)
				servers = []*env{newEnv(t, dsn, overrides), newEnv(t, dsn, overrides)}
			} else {
				servers = []*env{newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), overrides)}
			}
			e := servers[0]
			for i := range 3 {
				e.report(rpcapi.AgentTypeDHCP, fmt.Sprint("early-", i), "", false)
			}
			var nets []string
			for i := range networks {
				nets = append(nets, e.dhcpNet(fmt.Sprint("h", i), nil))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var fails failures
			var wg sync.WaitGroup
			for i, n := range nets {
				for k := range 3 {
					srv := servers[(i+k)%len(servers)]
					wg.Go(func() {
						if _, err := srv.srv.Agents.ScheduleNetwork(ctx, n); err != nil {
							fails.add("schedule %s: %v", n, err)
						}
					})
				}
			}
			for i := range 3 {
				srv := servers[i%len(servers)]
				wg.Go(func() {
					if _, err := srv.srv.Agents.ReportState(ctx, rpcapi.AgentState{AgentType: rpcapi.AgentTypeDHCP,
						Binary: "neutron-dhcp-agent", Host: fmt.Sprint("late-", i), Topic: "dhcp_agent", StartFlag: true}); err != nil {
						fails.add("report late-%d: %v", i, err)
					}
				})
			}
			wg.Wait()
			fails.report(t)
			load := map[string]int{}
			for _, n := range nets {
				hosts := e.hostsOf(n)
				if len(hosts) != perNetwork {
					t.Errorf("network %s hosted by %v, want %d agents", n, hosts, perNetwork)
				}
				for _, h := range hosts {
					load[h]++
				}
			}
			t.Logf("%s: networks per agent %v", engine, load)
		})
	}
}

// BenchmarkReportState measures one heartbeat of an already registered
// agent among 1,000 (the steady state of report_state), and listing
// those 1,000 agents through the API.
func BenchmarkReportState(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		b.Run(engine, func(b *testing.B) {
			e := benchEnv(b, engine)
			ctx := context.Background()
			const agents = 1000
			state := func(i int) rpcapi.AgentState {
				return rpcapi.AgentState{AgentType: rpcapi.AgentTypeLinuxBridge, Binary: "neutron-linuxbridge-agent",
					Host: fmt.Sprintf("compute-%04d", i), Topic: "N/A", Configurations: map[string]any{"devices": i}}
			}
			for i := range agents {
				if _, err := e.srv.Agents.ReportState(ctx, state(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("heartbeat", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := e.srv.Agents.ReportState(ctx, state(i%agents)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					e.get(b, "/v2.0/agents")
				}
			})
		})
	}
}
