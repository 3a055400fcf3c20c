package api_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	agentsplugin "github.com/neutrino-net/neutrino/internal/plugin/agents"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// report sends one state report of an agent and returns the status.
func (e *env) report(agentType, host, zone string, start bool) string {
	e.t.Helper()
	binary := map[string]string{rpcapi.AgentTypeDHCP: "neutron-dhcp-agent", rpcapi.AgentTypeL3: "neutron-l3-agent"}[agentType]
	if binary == "" {
		binary = "neutron-linuxbridge-agent"
	}
	st, err := e.srv.Agents.ReportState(context.Background(), rpcapi.AgentState{
		AgentType: agentType, Binary: binary, Host: host, Topic: "N/A", StartFlag: start,
		AvailabilityZone: zone, Configurations: map[string]any{"networks": 0, "interface_driver": "linuxbridge"},
	})
	if err != nil {
		e.t.Fatalf("report %s on %s: %v", agentType, host, err)
	}
	return st
}

// agentID returns the id of the agent of agentType on host.
func (e *env) agentID(agentType, host string) string {
	e.t.Helper()
	for _, a := range e.do(admin, "GET", "/v2.0/agents?host="+host, nil).expect(e.t, 200).list(e.t, "agents") {
		if a["agent_type"] == agentType {
			return a["id"].(string)
		}
	}
	e.t.Fatalf("no %s on %s", agentType, host)
	return ""
}

// age makes an agent's last heartbeat (and start) look d old, as if it
// had stopped reporting, without waiting.
func (e *env) age(host string, d time.Duration) {
	e.t.Helper()
	then := time.Now().UTC().Add(-d).Format(store.AgentTimeFormat)
	err := e.srv.Store.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE agents SET heartbeat_timestamp = ?, started_at = ? WHERE host = ?", then, then, host)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// dhcpNet creates a network with a DHCP-enabled subnet.
func (e *env) dhcpNet(name string, attrs map[string]any) string {
	e.t.Helper()
	if attrs == nil {
		attrs = map[string]any{}
	}
	attrs["name"] = name
	k := cidrSeq.Add(1)
	n := e.createNetwork(admin, attrs)
	e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": n["id"], "cidr": fmt.Sprintf("10.%d.%d.0/24", k/250, k%250), "ip_version": 4}}).expect(e.t, 201)
	return n["id"].(string)
}

// cidrSeq numbers the subnets tests create, so they never overlap.
var cidrSeq atomic.Int64

var agentTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)

func TestAgentReportState(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		if st := e.report(rpcapi.AgentTypeDHCP, "host-a", "nova", true); st != rpcapi.AgentNew {
			t.Fatalf("first report: %q, want new", st)
		}
		if st := e.report(rpcapi.AgentTypeDHCP, "host-a", "nova", false); st != rpcapi.AgentAlive {
			t.Fatalf("second report: %q, want alive", st)
		}
		e.report(rpcapi.AgentTypeLinuxBridge, "host-a", "", true)
		agents := e.do(admin, "GET", "/v2.0/agents", nil).expect(t, 200).list(t, "agents")
		if len(agents) != 2 {
			t.Fatalf("%d agents, want 2: %v", len(agents), agents)
		}
		a := e.do(admin, "GET", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeDHCP, "host-a"), nil).expect(t, 200).obj(t, "agent")
		want := map[string]any{"agent_type": "DHCP agent", "binary": "neutron-dhcp-agent", "host": "host-a", "topic": "N/A",
			"admin_state_up": true, "alive": true, "availability_zone": "nova", "description": nil}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("%s = %#v, want %#v", k, a[k], v)
			}
		}
		for _, k := range []string{"created_at", "started_at", "heartbeat_timestamp"} {
			if s, _ := a[k].(string); !agentTime.MatchString(s) {
				t.Errorf("%s = %#v, want Neutron's agent time format", k, a[k])
			}
		}
		if c, _ := a["configurations"].(map[string]any); c["interface_driver"] != "linuxbridge" {
			t.Errorf("configurations = %v", a["configurations"])
		}
		for _, k := range []string{"agent_binary", "load"} {
			if _, ok := a[k]; ok {
				t.Errorf("agent shows internal %s", k)
			}
		}
		// Filters, including the virtual binary and alive.
		for q, n := range map[string]int{"agent_type=DHCP+agent": 1, "binary=neutron-dhcp-agent": 1,
			"alive=True": 2, "alive=False": 0, "host=nowhere": 0, "admin_state_up=true": 2} {
			if got := len(e.do(admin, "GET", "/v2.0/agents?"+q, nil).expect(t, 200).list(t, "agents")); got != n {
				t.Errorf("?%s: %d agents, want %d", q, got, n)
			}
		}
	})
}

func TestAgentNewAgentsDisabled(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.enable_new_agents": "false"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeDHCP, "host-a", "", true)
		a := e.do(admin, "GET", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeDHCP, "host-a"), nil).expect(t, 200).obj(t, "agent")
		if a["admin_state_up"] != false {
			t.Errorf("admin_state_up = %v with enable_new_agents = false", a["admin_state_up"])
		}
	})
}

func TestAgentDeadAndRevived(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.agent_down_time": "5"}, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "host-b", "", true)
		id := e.agentID(rpcapi.AgentTypeL3, "host-b")
		e.age("host-b", 6*time.Second)
		if a := e.do(admin, "GET", "/v2.0/agents/"+id, nil).expect(t, 200).obj(t, "agent"); a["alive"] != false {
			t.Fatalf("alive = %v after 6 s of silence with agent_down_time 5", a["alive"])
		}
		if n := len(e.do(admin, "GET", "/v2.0/agents?alive=false", nil).expect(t, 200).list(t, "agents")); n != 1 {
			t.Errorf("alive=false lists %d agents, want 1", n)
		}
		if st := e.report(rpcapi.AgentTypeL3, "host-b", "", false); st != rpcapi.AgentRevived {
			t.Errorf("report after silence: %q, want revived", st)
		}
		if a := e.do(admin, "GET", "/v2.0/agents/"+id, nil).expect(t, 200).obj(t, "agent"); a["alive"] != true {
			t.Errorf("alive = %v after a fresh report", a["alive"])
		}
	})
}

func TestAgentAPI(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeDHCP, "host-a", "", true)
		id := e.agentID(rpcapi.AgentTypeDHCP, "host-a")
		missing := "5f2c7a6e-0000-4000-8000-000000000001"
		e.do(admin, "GET", "/v2.0/agents/"+missing, nil).fault(t, 404, "AgentNotFound", "Agent "+missing+" could not be found.")

		a := e.do(admin, "PUT", "/v2.0/agents/"+id, map[string]any{"agent": map[string]any{
			"admin_state_up": false, "description": "maintenance"}}).expect(t, 200).obj(t, "agent")
		if a["admin_state_up"] != false || a["description"] != "maintenance" {
			t.Errorf("update: %v", a)
		}
		e.do(admin, "PUT", "/v2.0/agents/"+id, map[string]any{"agent": map[string]any{"host": "x"}}).
			fault(t, 400, "HTTPBadRequest", "Cannot update read-only attribute host")
		e.do(admin, "POST", "/v2.0/agents", map[string]any{"agent": map[string]any{}}).
			fault(t, 400, "BadRequest", "Agent creation using API is not supported.")

		// Non-admins see no agents (Tempest's test_list_agents_non_admin)
		// and may not touch one.
		if got := e.do(member1, "GET", "/v2.0/agents", nil).expect(t, 200).list(t, "agents"); len(got) != 0 {
			t.Errorf("a member lists %d agents, want none", len(got))
		}
		e.do(member1, "GET", "/v2.0/agents/"+id, nil).fault(t, 404, "AgentNotFound", id)
		e.do(member1, "PUT", "/v2.0/agents/"+id, map[string]any{"agent": map[string]any{"description": "x"}}).expect(t, 404)
		e.do(member1, "DELETE", "/v2.0/agents/"+id, nil).expect(t, 404)

		e.do(admin, "DELETE", "/v2.0/agents/"+id, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/agents/"+id, nil).expect(t, 404)
		// A deleted agent that reports again registers afresh.
		if st := e.report(rpcapi.AgentTypeDHCP, "host-a", "", false); st != rpcapi.AgentNew {
			t.Errorf("report after delete: %q, want new", st)
		}
	})
}

func TestAvailabilityZones(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeDHCP, "host-a", "az1", true)
		e.report(rpcapi.AgentTypeDHCP, "host-b", "az2", true)
		e.report(rpcapi.AgentTypeL3, "host-a", "az1", true)
		e.report(rpcapi.AgentTypeLinuxBridge, "host-a", "az1", true)
		e.do(admin, "PUT", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeDHCP, "host-b"), map[string]any{"agent": map[string]any{
			"admin_state_up": false}}).expect(t, 200)
		got := e.do(member1, "GET", "/v2.0/availability_zones", nil).expect(t, 200).list(t, "availability_zones")
		want := []map[string]any{
			{"name": "az1", "resource": "network", "state": "available"},
			{"name": "az1", "resource": "router", "state": "available"},
			{"name": "az2", "resource": "network", "state": "unavailable"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("zones:\n got %v\nwant %v", got, want)
		}
		if got := e.do(admin, "GET", "/v2.0/availability_zones?resource=router", nil).expect(t, 200).list(t, "availability_zones"); len(got) != 1 {
			t.Errorf("resource=router: %v", got)
		}
		if got := e.do(admin, "GET", "/v2.0/availability_zones?state=unavailable", nil).expect(t, 200).list(t, "availability_zones"); len(got) != 1 || got[0]["name"] != "az2" {
			t.Errorf("state=unavailable: %v", got)
		}
		// A network's availability_zones are its DHCP agents' zones.
		net := e.dhcpNet("zoned", nil)
		e.do(admin, "POST", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeDHCP, "host-a")+"/dhcp-networks",
			map[string]any{"network_id": net}).expect(t, 201)
		n := e.do(admin, "GET", "/v2.0/networks/"+net, nil).expect(t, 200).obj(t, "network")
		if fmt.Sprint(n["availability_zones"]) != "[az1]" {
			t.Errorf("availability_zones = %v, want [az1]", n["availability_zones"])
		}
		// A router's are its L3 agents' zones: the only L3 agent takes it
		// when it is created.
		r := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "zoned"}}).expect(t, 201).obj(t, "router")
		for _, path := range []string{"/v2.0/routers/" + r["id"].(string), "/v2.0/routers?name=zoned"} {
			var got any
			if strings.HasSuffix(path, "zoned") {
				got = e.do(admin, "GET", path, nil).expect(t, 200).list(t, "routers")[0]["availability_zones"]
			} else {
				got = e.do(admin, "GET", path, nil).expect(t, 200).obj(t, "router")["availability_zones"]
			}
			if fmt.Sprint(got) != "[az1]" {
				t.Errorf("GET %s: availability_zones = %v, want [az1]", path, got)
			}
		}
	})
}

// hostsOf returns the sorted hosts of the DHCP agents hosting a network,
// through the API.
func (e *env) hostsOf(net string) []string {
	e.t.Helper()
	var hosts []string
	for _, a := range e.do(admin, "GET", "/v2.0/networks/"+net+"/dhcp-agents", nil).expect(e.t, 200).list(e.t, "agents") {
		hosts = append(hosts, a["host"].(string))
	}
	sort.Strings(hosts)
	return hosts
}

func TestDHCPSchedulingLeastLoaded(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.dhcp_agents_per_network": "2"}, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, h := range []string{"h1", "h2", "h3"} {
			e.report(rpcapi.AgentTypeDHCP, h, "nova", false)
		}
		e.report(rpcapi.AgentTypeL3, "h4", "nova", false)
		load := map[string]int{}
		for i := range 6 {
			net := e.dhcpNet(fmt.Sprint("n", i), nil)
			hosts, err := e.srv.Agents.ScheduleNetwork(ctx, net)
			if err != nil {
				t.Fatal(err)
			}
			if len(hosts) != 2 {
				t.Fatalf("network %d scheduled to %v, want 2 agents", i, hosts)
			}
			// Scheduling again adds nobody: the network has its agents.
			if again, err := e.srv.Agents.ScheduleNetwork(ctx, net); err != nil || len(again) != 0 {
				t.Fatalf("rescheduling a hosted network: %v, %v", again, err)
			}
			for _, h := range hosts {
				load[h]++
			}
			if got := e.hostsOf(net); len(got) != 2 {
				t.Errorf("dhcp-agents of network %d: %v", i, got)
			}
		}
		// 12 bindings over 3 agents, least loaded first: 4 each.
		if fmt.Sprint(load) != "map[h1:4 h2:4 h3:4]" {
			t.Errorf("load %v, want 4 networks on each agent", load)
		}
		// A network without DHCP-enabled subnets is not scheduled.
		plain := e.createNetwork(admin, map[string]any{"name": "plain"})
		if hosts, _ := e.srv.Agents.ScheduleNetwork(ctx, plain["id"].(string)); len(hosts) != 0 {
			t.Errorf("network without subnets scheduled to %v", hosts)
		}
	})
}

func TestDHCPSchedulingZonesAndEligibility(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.report(rpcapi.AgentTypeDHCP, "a1", "az1", false)
		e.report(rpcapi.AgentTypeDHCP, "a2", "az2", false)
		e.report(rpcapi.AgentTypeDHCP, "a3", "az2", false)
		e.do(admin, "PUT", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeDHCP, "a3"), map[string]any{"agent": map[string]any{
			"admin_state_up": false}}).expect(t, 200)
		net := e.dhcpNet("hinted", map[string]any{"availability_zone_hints": []string{"az2"}})
		hosts, err := e.srv.Agents.ScheduleNetwork(ctx, net)
		if err != nil || fmt.Sprint(hosts) != "[a2]" {
			t.Fatalf("hinted az2: %v, %v; want [a2] (a3 is disabled)", hosts, err)
		}
		// A dead agent gets nothing.
		e.age("a1", time.Hour)
		e.age("a2", time.Hour)
		other := e.dhcpNet("other", nil)
		if hosts, err := e.srv.Agents.ScheduleNetwork(ctx, other); err != nil || len(hosts) != 0 {
			t.Errorf("scheduled to dead agents: %v, %v", hosts, err)
		}
		if got, err := e.srv.Agents.AliveAgents(ctx, "a1", rpcapi.AgentTypeDHCP); err != nil || len(got) != 0 {
			t.Errorf("AliveAgents of a dead host: %v, %v", got, err)
		}
		e.report(rpcapi.AgentTypeDHCP, "a1", "az1", false)
		got, err := e.srv.Agents.AliveAgents(ctx, "a1", rpcapi.AgentTypeDHCP)
		if err != nil || len(got) != 1 || got[0].Host != "a1" || got[0].Configurations["interface_driver"] != "linuxbridge" {
			t.Errorf("AliveAgents: %+v, %v", got, err)
		}
	})
}

func TestDHCPAutoScheduleAndFailover(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.agent_down_time": "10"}, func(t *testing.T, e *env) {
		ctx := context.Background()
		n1 := e.dhcpNet("n1", nil)
		n2 := e.dhcpNet("n2", nil)
		// An agent that starts gets the unhosted networks.
		e.report(rpcapi.AgentTypeDHCP, "first", "", true)
		for _, n := range []string{n1, n2} {
			if got := e.hostsOf(n); fmt.Sprint(got) != "[first]" {
				t.Fatalf("network hosted by %v after the agent started, want [first]", got)
			}
		}
		info, err := e.srv.Agents.GetActiveNetworksInfo(ctx, "first")
		if err != nil || len(info) != 2 {
			t.Fatalf("GetActiveNetworksInfo: %d networks, %v", len(info), err)
		}
		e.report(rpcapi.AgentTypeDHCP, "second", "", true)
		// The first agent dies; the periodic check moves its networks.
		e.age("first", time.Minute)
		if err := e.srv.Agents.RescheduleDHCP(ctx); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{n1, n2} {
			if got := e.hostsOf(n); fmt.Sprint(got) != "[second]" {
				t.Errorf("network hosted by %v after failover, want [second]", got)
			}
		}
		// The notifier's view: alive, enabled hosting agents only.
		var hosts []string
		if err := e.srv.Store.Read(ctx, func(tx *store.Tx) error {
			var err error
			hosts, err = e.srv.Agents.DHCPHosts(ctx, tx, n1)
			return err
		}); err != nil || fmt.Sprint(hosts) != "[second]" {
			t.Errorf("DHCPHosts = %v, %v; want [second]", hosts, err)
		}
	})
}

func TestDHCPSchedulerAPI(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeDHCP, "host-a", "", false)
		e.report(rpcapi.AgentTypeL3, "host-a", "", false)
		dhcp := e.agentID(rpcapi.AgentTypeDHCP, "host-a")
		l3 := e.agentID(rpcapi.AgentTypeL3, "host-a")
		net := e.createNetwork(admin, map[string]any{"name": "api"})["id"].(string)
		missing := "5f2c7a6e-0000-4000-8000-000000000001"
		path := "/v2.0/agents/" + dhcp + "/dhcp-networks"

		e.do(admin, "POST", path, map[string]any{"network_id": net}).expect(t, 201)
		e.do(admin, "POST", path, map[string]any{"network_id": net}).
			fault(t, 409, "NetworkHostedByDHCPAgent", "The network "+net+" has been already hosted by the DHCP Agent "+dhcp+".")
		nets := e.do(admin, "GET", path, nil).expect(t, 200).list(t, "networks")
		if len(nets) != 1 || nets[0]["id"] != net || nets[0]["name"] != "api" {
			t.Errorf("dhcp-networks: %v", nets)
		}
		agents := e.do(admin, "GET", "/v2.0/networks/"+net+"/dhcp-agents", nil).expect(t, 200).list(t, "agents")
		if len(agents) != 1 || agents[0]["id"] != dhcp || agents[0]["alive"] != true {
			t.Errorf("dhcp-agents: %v", agents)
		}
		e.do(admin, "POST", "/v2.0/agents/"+l3+"/dhcp-networks", map[string]any{"network_id": net}).
			fault(t, 404, "InvalidDHCPAgent", "Agent "+l3+" is not a valid DHCP Agent or has been disabled.")
		e.do(admin, "POST", path, map[string]any{"network_id": missing}).fault(t, 404, "NetworkNotFound", missing)
		e.do(admin, "POST", "/v2.0/agents/"+missing+"/dhcp-networks", map[string]any{"network_id": net}).
			fault(t, 404, "AgentNotFound", missing)
		e.do(admin, "GET", "/v2.0/agents/"+missing+"/dhcp-networks", nil).fault(t, 404, "AgentNotFound", missing)
		e.do(admin, "POST", path, map[string]any{}).expect(t, 400)
		e.do(admin, "PUT", path, map[string]any{}).expect(t, 405)

		e.do(member1, "GET", path, nil).expect(t, 403)
		e.do(member1, "POST", path, map[string]any{"network_id": net}).expect(t, 403)
		e.do(member1, "DELETE", path+"/"+net, nil).expect(t, 403)
		e.do(member1, "GET", "/v2.0/networks/"+net+"/dhcp-agents", nil).expect(t, 403)

		e.do(admin, "DELETE", path+"/"+net, nil).expect(t, 204)
		e.do(admin, "DELETE", path+"/"+net, nil).
			fault(t, 409, "NetworkNotHostedByDhcpAgent", "The network "+net+" is not hosted by the DHCP Agent "+dhcp+".")
		if got := e.do(admin, "GET", path, nil).expect(t, 200).list(t, "networks"); len(got) != 0 {
			t.Errorf("dhcp-networks after removal: %v", got)
		}
		// A disabled agent takes no network.
		e.do(admin, "PUT", "/v2.0/agents/"+dhcp, map[string]any{"agent": map[string]any{"admin_state_up": false}}).expect(t, 200)
		e.do(admin, "POST", path, map[string]any{"network_id": net}).expect(t, 404)
		// Deleting a network drops its bindings.
		e.do(admin, "PUT", "/v2.0/agents/"+dhcp, map[string]any{"agent": map[string]any{"admin_state_up": true}}).expect(t, 200)
		e.do(admin, "POST", path, map[string]any{"network_id": net}).expect(t, 201)
		e.do(admin, "DELETE", "/v2.0/networks/"+net, nil).expect(t, 204)
		if got := e.do(admin, "GET", path, nil).expect(t, 200).list(t, "networks"); len(got) != 0 {
			t.Errorf("dhcp-networks after network delete: %v", got)
		}
		// Deleting an agent drops its bindings too.
		e.do(admin, "DELETE", "/v2.0/agents/"+dhcp, nil).expect(t, 204)
	})
}

// fakeRouters stands in for the routers plugin.
type fakeRouters []string

func (f fakeRouters) RouterExists(_ context.Context, id string) (bool, error) {
	return slices.Contains(f, id), nil
}
func (f fakeRouters) RouterIDs(context.Context) ([]string, error) { return f, nil }

func TestL3Scheduling(t *testing.T) {
	for _, driver := range []string{"LeastRoutersScheduler", "ChanceScheduler"} {
		t.Run(driver, func(t *testing.T) {
			enginesWith(t, map[string]string{"DEFAULT.router_scheduler_driver": "neutron.scheduler.l3_agent_scheduler." + driver,
				"DEFAULT.agent_down_time": "10"}, func(t *testing.T, e *env) {
				ctx := context.Background()
				routers := fakeRouters{}
				for i := range 9 {
					routers = append(routers, fmt.Sprintf("5f2c7a6e-0000-4000-8000-00000000000%d", i))
				}
				for _, h := range []string{"l1", "l2", "l3"} {
					e.report(rpcapi.AgentTypeL3, h, "", false)
				}
				e.report(rpcapi.AgentTypeL3, "off", "", false)
				e.do(admin, "PUT", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "off"), map[string]any{"agent": map[string]any{
					"admin_state_up": false}}).expect(t, 200)
				// Routers appear after the agents registered: a new agent
				// takes every unhosted router.
				e.srv.Agents.SetRouters(routers)
				count := map[string]int{}
				for _, r := range routers {
					host, err := e.srv.Agents.ScheduleRouter(ctx, r)
					if err != nil || host == "" || host == "off" {
						t.Fatalf("ScheduleRouter: %q, %v", host, err)
					}
					if again, _ := e.srv.Agents.ScheduleRouter(ctx, r); again != host {
						t.Errorf("a scheduled router moved from %s to %s", host, again)
					}
					count[host]++
				}
				// Zone hints restrict the choice.
				e.report(rpcapi.AgentTypeL3, "zoned", "az9", false)
				zr := "5f2c7a6e-0000-4000-8000-0000000000a9"
				if host, err := e.srv.Agents.ScheduleRouterInZones(ctx, zr, []string{"az9"}); err != nil || host != "zoned" {
					t.Errorf("ScheduleRouterInZones(az9) = %q, %v; want zoned", host, err)
				}
				if err := e.srv.Agents.RemoveL3Router(ctx, e.agentID(rpcapi.AgentTypeL3, "zoned"), zr); err != nil {
					t.Fatal(err)
				}
				e.do(admin, "DELETE", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeL3, "zoned"), nil).expect(t, 204)
				if driver == "LeastRoutersScheduler" && fmt.Sprint(count) != "map[l1:3 l2:3 l3:3]" {
					t.Errorf("least routers: %v, want 3 on each", count)
				}
				total := 0
				for _, h := range []string{"l1", "l2", "l3", "off"} {
					ids, err := e.srv.Agents.RouterIDs(ctx, h)
					if err != nil {
						t.Fatal(err)
					}
					total += len(ids)
					if len(ids) != count[h] {
						t.Errorf("RouterIDs(%s) = %d routers, want %d", h, len(ids), count[h])
					}
				}
				if total != len(routers) {
					t.Errorf("%d routers hosted, want %d", total, len(routers))
				}
				// Manual binding rules.
				l1 := e.agentID(rpcapi.AgentTypeL3, "l1")
				r0 := routers[0]
				if err := e.srv.Agents.AddL3Router(ctx, l1, "5f2c7a6e-0000-4000-8000-0000000000ff"); err == nil {
					t.Error("AddL3Router accepted an unknown router")
				}
				hosting, _ := e.srv.Agents.RouterL3Agents(ctx, r0)
				if len(hosting) != 1 {
					t.Fatalf("RouterL3Agents = %v", hosting)
				}
				if err := e.srv.Agents.AddL3Router(ctx, hosting[0], r0); err == nil {
					t.Error("AddL3Router bound a router twice")
				}
				if err := e.srv.Agents.RemoveL3Router(ctx, hosting[0], r0); err != nil {
					t.Fatal(err)
				}
				if err := e.srv.Agents.RemoveL3Router(ctx, hosting[0], r0); err == nil {
					t.Error("RemoveL3Router of an unbound router succeeded")
				}
				// A starting agent picks up the unhosted router.
				e.report(rpcapi.AgentTypeL3, "l4", "", true)
				if ids, _ := e.srv.Agents.RouterIDs(ctx, "l4"); fmt.Sprint(ids) != "["+r0+"]" {
					t.Errorf("new agent hosts %v, want [%s]", ids, r0)
				}
				// It dies; failover moves the router to an alive agent.
				e.age("l4", time.Minute)
				if err := e.srv.Agents.RescheduleL3(ctx); err != nil {
					t.Fatal(err)
				}
				if ids, _ := e.srv.Agents.RouterIDs(ctx, "l4"); len(ids) != 0 {
					t.Errorf("dead agent still hosts %v", ids)
				}
				if hosting, _ := e.srv.Agents.RouterL3Agents(ctx, r0); len(hosting) != 1 || hosting[0] == e.agentID(rpcapi.AgentTypeL3, "l4") {
					t.Errorf("router %s hosted by %v after failover", r0, hosting)
				}
			})
		})
	}
}

func TestDHCPRPCCallbacks(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.srv.Agents
		e.report(rpcapi.AgentTypeDHCP, "dhcp-host", "", true)
		net := e.dhcpNet("served", nil)
		sub := e.do(admin, "GET", "/v2.0/subnets?network_id="+net, nil).expect(t, 200).list(t, "subnets")[0]
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net,
			"cidr": "fd00:9::/64", "ip_version": 6, "enable_dhcp": false}}).expect(t, 201)
		if _, err := a.ScheduleNetwork(ctx, net); err != nil {
			t.Fatal(err)
		}
		// The agent's DHCP port: first free address of the pool.
		deviceID := rpcapi.DHCPDeviceID(net, "dhcp-host")
		port, err := a.CreateDHCPPort(ctx, "dhcp-host", map[string]any{"network_id": net, "device_id": deviceID,
			"fixed_ips": []any{map[string]any{"subnet_id": sub["id"]}}, "name": ""})
		if err != nil {
			t.Fatal(err)
		}
		ips, _ := port["fixed_ips"].([]any)
		if port["device_owner"] != "network:dhcp" || port["binding:host_id"] != "dhcp-host" || port["project_id"] != "fake_project_id" ||
			len(ips) != 1 || ips[0].(map[string]any)["ip_address"] != firstHost(sub["cidr"].(string)) || port["revision_number"] == nil {
			t.Errorf("DHCP port: %v", port)
		}
		info, err := a.GetActiveNetworksInfo(ctx, "dhcp-host")
		if err != nil || len(info) != 1 {
			t.Fatalf("GetActiveNetworksInfo: %v, %v", info, err)
		}
		n := info[0]
		if n.ID != net || n.MTU != 1500 || !n.AdminStateUp || n.RevisionNumber < 1 || len(n.Subnets) != 1 ||
			n.Subnets[0]["id"] != sub["id"] || n.Subnets[0]["revision_number"] == nil || len(n.Ports) != 1 || n.Ports[0]["id"] != port["id"] ||
			n.NonLocalSubnets == nil {
			t.Errorf("network info: %+v", n)
		}
		if none, _ := a.GetActiveNetworksInfo(ctx, "elsewhere"); len(none) != 0 {
			t.Errorf("a host without a DHCP agent serves %v", none)
		}
		one, err := a.GetNetworkInfo(ctx, "dhcp-host", net)
		if err != nil || one == nil || one.ID != net || len(one.Ports) != 1 {
			t.Errorf("GetNetworkInfo: %+v, %v", one, err)
		}
		if gone, err := a.GetNetworkInfo(ctx, "dhcp-host", "5f2c7a6e-0000-4000-8000-000000000001"); gone != nil || err != nil {
			t.Errorf("GetNetworkInfo of a missing network: %+v, %v", gone, err)
		}
		// Updates: the agent's own port, on a network it hosts.
		up, err := a.UpdateDHCPPort(ctx, "dhcp-host", port["id"].(string), map[string]any{"network_id": net, "name": "dhcp-port"})
		if err != nil || up["name"] != "dhcp-port" {
			t.Errorf("UpdateDHCPPort: %v, %v", up, err)
		}
		if up, err := a.UpdateDHCPPort(ctx, "other-host", port["id"].(string), map[string]any{"network_id": net, "name": "x"}); up != nil || err != nil {
			t.Errorf("another host updated the port: %v, %v", up, err)
		}
		// Taking the network from the agent keeps its port, reserved.
		agentID := e.agentID(rpcapi.AgentTypeDHCP, "dhcp-host")
		e.do(admin, "DELETE", "/v2.0/agents/"+agentID+"/dhcp-networks/"+net, nil).expect(t, 204)
		if p := e.do(admin, "GET", "/v2.0/ports/"+port["id"].(string), nil).expect(t, 200).obj(t, "port"); p["device_id"] != "reserved_dhcp_port" {
			t.Errorf("device_id after removal: %v", p["device_id"])
		}
		deviceID = "reserved_dhcp_port"
		// Release frees the port and its address.
		if err := a.ReleaseDHCPPort(ctx, "dhcp-host", net, deviceID); err != nil {
			t.Fatal(err)
		}
		e.do(admin, "GET", "/v2.0/ports/"+port["id"].(string), nil).expect(t, 404)
	})
}

// firstHost is the first address after the gateway of an IPv4 /24.
func firstHost(cidr string) string {
	base := cidr[:len(cidr)-len("0/24")]
	return base + "2"
}

func TestAgentListPaging(t *testing.T) {
	e := newEnv(t, "sqlite://", nil)
	for _, h := range []string{"p1", "p2", "p3"} {
		e.report(rpcapi.AgentTypeDHCP, h, "az-"+h, false)
	}
	page := e.do(admin, "GET", "/v2.0/agents?limit=2&sort_key=host&sort_dir=desc", nil).expect(t, 200)
	if got := page.list(t, "agents"); len(got) != 2 || got[0]["host"] != "p3" || got[1]["host"] != "p2" {
		t.Errorf("first page: %v", got)
	}
	if _, ok := page.body["agents_links"]; !ok {
		t.Errorf("no agents_links: %s", page.raw)
	}
	zones := e.do(admin, "GET", "/v2.0/availability_zones?limit=2", nil).expect(t, 200).list(t, "availability_zones")
	if len(zones) != 2 {
		t.Errorf("zones page: %v", zones)
	}
	// Zone attributes are not sort keys in Neutron.
	e.do(admin, "GET", "/v2.0/availability_zones?sort_key=name&sort_dir=desc", nil).
		fault(t, 400, "HTTPBadRequest", "['name'] is invalid attribute for sort_keys")
	e.do(admin, "GET", "/v2.0/availability_zones/az-p1", nil).expect(t, 404)
	e.do(admin, "POST", "/v2.0/availability_zones", map[string]any{"availability_zone": map[string]any{}}).expect(t, 405)
}

// TestRouterScheduledOnCreate: a new router lands on an alive L3 agent
// at once, and deleting it drops the binding, through the L3 plugin's
// scheduler wiring rather than the scheduling API.
func TestRouterScheduledOnCreate(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeL3, "l3-host", "nova", true)
		agent := e.agentID(rpcapi.AgentTypeL3, "l3-host")
		router := e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r"}}).
			expect(t, 201).obj(t, "router")["id"].(string)
		hosting := e.do(admin, "GET", "/v2.0/routers/"+router+"/l3-agents", nil).expect(t, 200).list(t, "agents")
		if got := ids(hosting); len(got) != 1 || got[0] != agent {
			t.Fatalf("router hosted by %v, want [%s]", got, agent)
		}
		// The agent hears of it: router_added_to_agent, cast to its host,
		// waits in the outbox with the binding.
		if n := e.outboxCount(`%"topic":"l3_agent.l3-host","method":"router_added_to_agent"%` + router + `%`); n != 1 {
			t.Errorf("%d router_added_to_agent notifications recorded, want 1", n)
		}
		e.do(member1, "DELETE", "/v2.0/routers/"+router, nil).expect(t, 204)
		if left := e.do(admin, "GET", "/v2.0/agents/"+agent+"/l3-routers", nil).expect(t, 200).list(t, "routers"); len(left) != 0 {
			t.Errorf("agent still hosts %v after the router's delete", ids(left))
		}
	})
}

// outboxCount counts the notifications waiting in the outbox whose JSON
// matches the LIKE pattern (rows are counted by a no-op update: the store
// has no generic count-where-like query, and tests need no new one).
func (e *env) outboxCount(pattern string) int64 {
	e.t.Helper()
	var n int64
	err := e.srv.Store.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		n, err = tx.Exec(context.Background(), "UPDATE rpc_outbox SET body = body WHERE body LIKE ?", pattern)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestAnyAliveAgent: whether a DHCP agent is alive and up (what holds a
// new port for DHCP) is, read as the newest heartbeat, what the list of
// alive agents that are up says, through registration, other types,
// administrative state, silence and revival.
func TestAnyAliveAgent(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.agent_down_time": "5"}, func(t *testing.T, e *env) {
		ctx := context.Background()
		setUp := func(host string, up bool) {
			e.do(admin, "PUT", "/v2.0/agents/"+e.agentID(rpcapi.AgentTypeDHCP, host), map[string]any{
				"agent": map[string]any{"admin_state_up": up}}).expect(t, 200)
		}
		for _, step := range []struct {
			name string
			do   func()
			want bool
		}{
			{"no agents", func() {}, false},
			{"an L3 agent only", func() { e.report(rpcapi.AgentTypeL3, "host-l3", "", true) }, false},
			{"a DHCP agent", func() { e.report(rpcapi.AgentTypeDHCP, "host-a", "", true) }, true},
			{"it is disabled", func() { setUp("host-a", false) }, false},
			{"a second one, silent", func() { e.report(rpcapi.AgentTypeDHCP, "host-b", "", true); e.age("host-b", 6*time.Second) }, false},
			{"the first enabled again", func() { setUp("host-a", true); e.report(rpcapi.AgentTypeDHCP, "host-a", "", false) }, true},
			{"the first silent too", func() { e.age("host-a", 6*time.Second) }, false},
			{"the second reports", func() { e.report(rpcapi.AgentTypeDHCP, "host-b", "", false) }, true},
		} {
			step.do()
			err := e.srv.Store.Read(ctx, func(tx *store.Tx) error {
				got, err := e.srv.Agents.AnyAliveIn(ctx, tx, rpcapi.AgentTypeDHCP)
				if err != nil {
					return err
				}
				all, err := e.srv.Agents.AliveAgentsIn(ctx, tx, "", rpcapi.AgentTypeDHCP)
				if err != nil {
					return err
				}
				up := slices.ContainsFunc(all, func(a agentsplugin.Agent) bool { return a.AdminStateUp })
				if got != step.want || up != step.want {
					t.Errorf("%s: AnyAliveIn %v, alive agents up %v, want %v", step.name, got, up, step.want)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
	})
}
