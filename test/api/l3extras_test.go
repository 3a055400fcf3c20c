package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// TestRouterPortIPChangeNotAllowed: a router interface port's IPv4
// addresses may not change (l3-port-ip-change-not-allowed), not even by
// an admin; its other attributes may.
func TestRouterPortIPChangeNotAllowed(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		top := e.l3Setup(member1, "172.24.40.0/24", "10.40.0.0/24")
		router := e.routerCreate(member1, nil)["id"].(string)
		itf := e.routerAction(member1, router, "add_router_interface", map[string]any{"subnet_id": top.subnet}).
			expect(t, 200).body["port_id"].(string)
		e.portUpdate(admin, itf, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": top.subnet, "ip_address": "10.40.0.9"}}}).
			fault(t, 400, "IPAddressChangeNotAllowed", "IP updates for port "+itf+" are not allowed.")
		e.portUpdate(admin, itf, map[string]any{"name": "renamed"}).expect(t, 200)
		// A port that only claims to be a router's interface is not one.
		fake := e.portCreate(admin, top.net, map[string]any{"device_owner": "network:router_interface", "device_id": "no-router"})
		e.portUpdate(admin, fake["id"].(string), map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": top.subnet,
			"ip_address": "10.40.0.19"}}}).expect(t, 200)
	})
}

// TestL3ShimExtensions: the router plugin lists Neutron's shim extensions
// of behaviour it has.
func TestL3ShimExtensions(t *testing.T) {
	e := newEnv(t, "sqlite:///"+t.TempDir()+"/n.sqlite", nil)
	for _, alias := range []string{"floating-ip-port-forwarding-detail", "l3-port-ip-change-not-allowed",
		"router-admin-state-down-before-update", "l3-flavors"} {
		e.do(nil, "GET", "/v2.0/extensions/"+alias, nil).expect(t, 200)
	}
}

// TestAgentResourcesSynced: agents show resources_synced
// (agent-resources-synced), null until an agent reports it.
func TestAgentResourcesSynced(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		e.report(rpcapi.AgentTypeDHCP, "host-s", "", true)
		synced := true
		if _, err := e.srv.Agents.ReportState(context.Background(), rpcapi.AgentState{AgentType: rpcapi.AgentTypeL3,
			Binary: "neutron-l3-agent", Host: "host-s", Topic: "N/A", StartFlag: true, ResourcesSynced: &synced,
			Configurations: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
		for _, a := range e.do(admin, "GET", "/v2.0/agents?host=host-s", nil).expect(t, 200).list(t, "agents") {
			v, ok := a["resources_synced"]
			want := map[string]any{rpcapi.AgentTypeDHCP: nil, rpcapi.AgentTypeL3: true}[a["agent_type"].(string)]
			if !ok || v != want {
				t.Errorf("%s: resources_synced %v (shown %v), want %v", a["agent_type"], v, ok, want)
			}
		}
		e.do(nil, "GET", "/v2.0/extensions/agent-resources-synced", nil).expect(t, 200)
		e.do(nil, "GET", "/v2.0/extensions/availability_zone_filter", nil).expect(t, 200)
	})
}

// TestSubnetOnboard: onboard_network_subnets moves a network's subnets of
// the pool's IP version into the pool (subnet_onboard).
func TestSubnetOnboard(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		pool := e.do(member1, "POST", "/v2.0/subnetpools", map[string]any{"subnetpool": map[string]any{"name": "p",
			"prefixes": []any{"10.60.0.0/16"}}}).expect(t, 201).obj(t, "subnetpool")
		pid := pool["id"].(string)
		net := e.createNetwork(member1, map[string]any{})["id"].(string)
		s4 := e.portSubnet(member1, net, map[string]any{"cidr": "192.168.60.0/24"})
		e.portSubnet(member1, net, map[string]any{"cidr": "fd00:60::/64", "ip_version": 6})
		path := "/v2.0/subnetpools/" + pid + "/onboard_network_subnets"
		e.do(member1, "PUT", path, map[string]any{}).fault(t, 400, "InvalidInput", "network_id must be specified.")
		e.do(member2, "PUT", path, map[string]any{"network_id": net}).expect(t, 404)
		// The reply is a bare list, as Neutron's.
		req, _ := http.NewRequest("PUT", e.url+path, strings.NewReader(`{"network_id": "`+net+`"}`))
		req.Header.Set("X-Project-Id", member1.project)
		req.Header.Set("X-Roles", member1.roles)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var onboarded []any
		err = json.NewDecoder(resp.Body).Decode(&onboarded)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(onboarded) != 1 ||
			onboarded[0].(map[string]any)["id"] != s4["id"] || onboarded[0].(map[string]any)["cidr"] != "192.168.60.0/24" {
			t.Fatalf("onboarded %d %v (%v)", resp.StatusCode, onboarded, err)
		}
		if p := e.do(member1, "GET", "/v2.0/subnetpools/"+pid, nil).expect(t, 200).obj(t, "subnetpool"); fmt.Sprint(p["prefixes"]) != "[10.60.0.0/16 192.168.60.0/24]" {
			t.Errorf("pool prefixes %v", p["prefixes"])
		}
		if sn := e.do(member1, "GET", "/v2.0/subnets/"+s4["id"].(string), nil).expect(t, 200).obj(t, "subnet"); sn["subnetpool_id"] != pid {
			t.Errorf("subnet %v", sn)
		}
		// Its subnet is now the pool's: onboarding again conflicts.
		e.do(member1, "PUT", path, map[string]any{"network_id": net}).
			fault(t, 400, "IllegalSubnetPoolUpdate", "conflicts with allocated prefixes in subnet pool "+pid)
		other := e.createNetwork(member2, map[string]any{"shared": false})["id"].(string)
		e.do(member1, "PUT", path, map[string]any{"network_id": other}).expect(t, 403)
	})
}
