package dhcp

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// TestToNetwork decodes get_active_networks_info's dicts as they arrive
// over the bus (JSON numbers, nulls, lists of objects).
func TestToNetwork(t *testing.T) {
	raw := `{"id":"n1","project_id":"p","admin_state_up":true,"mtu":1450,"revision_number":3,
	  "subnets":[{"id":"s4","cidr":"10.0.0.0/24","ip_version":4,"gateway_ip":"10.0.0.1","enable_dhcp":true,
	    "dns_nameservers":["192.0.2.53"],"host_routes":[{"destination":"198.51.100.0/24","nexthop":"10.0.0.254"}],
	    "ipv6_address_mode":null,"ipv6_ra_mode":null},
	   {"id":"s6","cidr":"2001:db8::/64","ip_version":6,"gateway_ip":null,"enable_dhcp":false,
	    "dns_nameservers":[],"host_routes":[],"ipv6_address_mode":"slaac","ipv6_ra_mode":"slaac"}],
	  "non_local_subnets":[],
	  "ports":[{"id":"vm","mac_address":"fa:16:3e:00:00:01","device_owner":"compute:nova","revision_number":2,
	    "fixed_ips":[{"subnet_id":"s4","ip_address":"10.0.0.5"}],
	    "extra_dhcp_opts":[{"opt_name":"bootfile-name","opt_value":"pxe.0","ip_version":4}]}]}`
	var rn rpcapi.DHCPNetwork
	if err := json.Unmarshal([]byte(raw), &rn); err != nil {
		t.Fatal(err)
	}
	want := Network{ID: "n1", MTU: 1450,
		Subnets: []Subnet{
			{ID: "s4", CIDR: "10.0.0.0/24", IPVersion: 4, GatewayIP: "10.0.0.1", EnableDHCP: true,
				DNSNameservers: []string{"192.0.2.53"}, HostRoutes: []HostRoute{{Destination: "198.51.100.0/24", Nexthop: "10.0.0.254"}}},
			{ID: "s6", CIDR: "2001:db8::/64", IPVersion: 6, IPv6AddressMode: "slaac", IPv6RAMode: "slaac"},
		},
		Ports: []Port{{ID: "vm", MAC: "fa:16:3e:00:00:01", DeviceOwner: "compute:nova",
			FixedIPs:      []FixedIP{{SubnetID: "s4", IPAddress: "10.0.0.5"}},
			ExtraDHCPOpts: []ExtraDHCPOpt{{OptName: "bootfile-name", OptValue: "pxe.0", IPVersion: 4}}}},
	}
	if got := ToNetwork(rn); !reflect.DeepEqual(got, want) {
		t.Fatalf("ToNetwork:\n got %+v\nwant %+v", got, want)
	}
}

func TestPartIdentity(t *testing.T) {
	state := t.TempDir()
	cfg, err := config.Options.LoadWithDefaults(map[string]string{"DEFAULT.dhcp_lease_duration": "600", "DEFAULT.state_path": state}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPart(agent.Env{Host: "h1", Config: cfg}, nil)
	b, _ := json.Marshal(p.Configurations())
	want := `{"dhcp_driver":"neutron.agent.linux.dhcp.Dnsmasq","dhcp_lease_duration":600,"dnsmasq_errors":0,"dnsmasq_no_address":0,"inconsistent_objects":0,"log_agent_heartbeats":false,"networks":0,"ports":0,"reconcile_panics":0,"subnets":0}`
	if string(b) != want {
		t.Errorf("configurations %s\nwant %s", b, want)
	}
	if p.AgentType() != rpcapi.AgentTypeDHCP || p.Binary() != "neutron-dhcp-agent" || p.Topic() != "dhcp_agent" {
		t.Errorf("identity %q %q %q", p.AgentType(), p.Binary(), p.Topic())
	}
	if c := p.rec.cfg; c.LeaseDuration != 600 || c.DNSDomain != "openstacklocal" || c.StateDir != state+"/dhcp" {
		t.Errorf("reconciler config %+v", c)
	}
	hs := p.Handlers("h1")
	for _, topic := range []string{rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "h1"), rpcapi.TopicDHCPAgent} {
		for _, ev := range Events {
			if hs[topic][ev] == nil {
				t.Errorf("no %s handler on %s", ev, topic)
			}
		}
	}
	if !slices.Contains(agent.Registered(), "dhcp") {
		t.Errorf("dhcp not registered: %v", agent.Registered())
	}
}

// TestPartReportsHealth: what the reconciler skipped and the panics it
// recovered reach the agent's configurations, so an operator sees them in
// GET /v2.0/agents.
func TestPartReportsHealth(t *testing.T) {
	cfg, err := config.Options.LoadWithDefaults(map[string]string{"DEFAULT.state_path": t.TempDir()}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPart(agent.Env{Host: "h1", Config: cfg}, nil)
	p.rec.testHook = func(Network) { panic("a bug") }
	ok := Network{ID: "3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7a", Subnets: []Subnet{{ID: "s", CIDR: "10.0.0.0/24", IPVersion: 4, EnableDHCP: true}},
		Ports: []Port{{ID: "p", MAC: "fa:16:3e:00:00:01", FixedIPs: []FixedIP{{SubnetID: "s", IPAddress: "10.9.0.1"}}}}}
	res := p.rec.Reconcile(context.Background(), []Network{{ID: "not-a-uuid"}, ok})
	if st := res.Networks[ok.ID]; !st.Panicked || len(st.Skipped) != 1 {
		t.Fatalf("status %+v", st)
	}
	c := p.Configurations()
	if c["inconsistent_objects"] != 2 || c["reconcile_panics"] != 1 || c["dnsmasq_errors"] != 0 {
		t.Errorf("configurations %v", c)
	}
}
