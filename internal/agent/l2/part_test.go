package l2

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	vnetns "github.com/vishvananda/netns"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func ptr[T any](v T) *T { return &v }

func TestDesiredFromSnapshot(t *testing.T) {
	snap := rpcapi.HostSnapshot{Ports: []rpcapi.DeviceDetails{
		{Device: "p1", PortID: "p1", NetworkID: "n1", NetworkType: "vxlan", SegmentationID: ptr(101), MTU: 1450, MACAddress: "fa:16:3e:00:00:01", AdminStateUp: true},
		{Device: "p2", PortID: "p2", NetworkID: "n1", NetworkType: "vxlan", SegmentationID: ptr(101), MTU: 1450, MACAddress: "fa:16:3e:00:00:02"},
		{Device: "p3", PortID: "p3", NetworkID: "n2", NetworkType: "flat", PhysicalNetwork: ptr("physnet1"), MTU: 1500, MACAddress: "fa:16:3e:00:00:03", AdminStateUp: true},
		{Device: "unknown"}, // not bound here: skipped
	}}
	got := DesiredFrom(snap)
	want := Desired{
		Networks: []Network{
			{ID: "n1", NetworkType: "vxlan", SegmentationID: 101, MTU: 1450},
			{ID: "n2", NetworkType: "flat", PhysicalNetwork: "physnet1", MTU: 1500},
		},
		Ports: []Port{
			{ID: "p1", NetworkID: "n1", MAC: "fa:16:3e:00:00:01", AdminStateUp: true},
			{ID: "p2", NetworkID: "n1", MAC: "fa:16:3e:00:00:02"},
			{ID: "p3", NetworkID: "n2", MAC: "fa:16:3e:00:00:03", AdminStateUp: true},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DesiredFrom:\n got %+v\nwant %+v", got, want)
	}
}

func TestWithAdoptedRemovesAdoptedForm(t *testing.T) {
	e := FDBEntries{"n1": {SegmentID: 5, NetworkType: "vxlan", Ports: map[string][]PortInfo{
		"10.0.0.2": {FloodEntry, {MAC: "fa:16:3e:00:00:09", IP: "10.1.0.9"}},
	}}}
	got := withAdopted(e)["n1"].Ports["10.0.0.2"]
	want := []PortInfo{FloodEntry, {MAC: "fa:16:3e:00:00:09", IP: "10.1.0.9"}, {MAC: "fa:16:3e:00:00:09"}}
	if !slices.Equal(got, want) {
		t.Fatalf("withAdopted = %v, want %v", got, want)
	}
	// A removal then takes both what the server sent and what was adopted.
	r := New(nil, Config{}, nil)
	r.FDBAdd(FDBEntries{"n1": {Ports: map[string][]PortInfo{"10.0.0.2": {{MAC: "fa:16:3e:00:00:09"}, FloodEntry}}}})
	r.FDBRemove(withAdopted(e))
	if len(r.fdb) != 0 {
		t.Fatalf("entries left after removal: %v", r.fdb)
	}
}

func TestPartConfigurations(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    map[string]string
		want    string
		wantErr bool
	}{
		{"vxlan and a flat mapping", map[string]string{"vxlan.local_ip": "192.0.2.1", "vxlan.l2_population": "true",
			"linux_bridge.physical_interface_mappings": "physnet1:eth1"},
			`{"bridge_mappings":{},"devices":0,"interface_mappings":{"physnet1":"eth1"},"l2_population":true,"tunnel_types":["vxlan"],"tunneling_ip":"192.0.2.1"}`, false},
		{"no vxlan", map[string]string{"vxlan.enable_vxlan": "false", "linux_bridge.physical_interface_mappings": "physnet1:eth1,physnet2:eth2"},
			`{"bridge_mappings":{},"devices":0,"interface_mappings":{"physnet1":"eth1","physnet2":"eth2"},"l2_population":false,"tunnel_types":[],"tunneling_ip":""}`, false},
		{"vxlan without local_ip", map[string]string{}, "", true},
		{"bad mapping", map[string]string{"vxlan.local_ip": "192.0.2.1", "linux_bridge.physical_interface_mappings": "physnet1"}, "", true},
		{"mapped twice", map[string]string{"vxlan.local_ip": "192.0.2.1", "linux_bridge.physical_interface_mappings": "p:eth1,p:eth2"}, "", true},
	} {
		cfg, err := config.Options.LoadWithDefaults(c.opts, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, err := NewPart(agent.Env{Host: "h1", Config: cfg}, nil, vnetns.None())
		if (err != nil) != c.wantErr {
			t.Fatalf("%s: NewPart error %v, want error %v", c.name, err, c.wantErr)
		}
		if err != nil {
			continue
		}
		b, _ := json.Marshal(p.Configurations())
		if string(b) != c.want {
			t.Errorf("%s: configurations %s\nwant %s", c.name, b, c.want)
		}
		if p.AgentType() != rpcapi.AgentTypeLinuxBridge || p.Binary() != "neutron-linuxbridge-agent" || p.Topic() != "N/A" {
			t.Errorf("%s: identity %q %q %q", c.name, p.AgentType(), p.Binary(), p.Topic())
		}
		hs := p.Handlers("h1")
		for _, topic := range []string{rpcapi.TopicPortUpdate, rpcapi.TopicPortDelete, rpcapi.TopicNetworkUpdate,
			rpcapi.TopicNetworkDelete, rpcapi.TopicL2Population, rpcapi.HostTopic(rpcapi.TopicL2Population, "h1")} {
			if len(hs[topic]) == 0 {
				t.Errorf("%s: no handlers on %s", c.name, topic)
			}
		}
	}
	if !slices.Contains(agent.Registered(), "l2") {
		t.Errorf("l2 not registered: %v", agent.Registered())
	}
}

// TestPortNotificationsFilter: every L2 agent hears every port's
// port_update and port_delete; only those about its own ports (bound
// here, or known from its last snapshot) trigger a pass.
func TestPortNotificationsFilter(t *testing.T) {
	cfg, err := config.Options.LoadWithDefaults(map[string]string{"vxlan.local_ip": "192.0.2.1"}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPart(agent.Env{Host: "h1", Config: cfg}, nil, vnetns.None())
	if err != nil {
		t.Fatal(err)
	}
	p.known["known"] = true
	for _, c := range []struct {
		name, method, args string
		trigger            bool
	}{
		{"update of a port bound here", "port_update", `{"port": {"id": "new", "binding:host_id": "h1"}}`, true},
		{"update of another host's port", "port_update", `{"port": {"id": "other", "binding:host_id": "h2"}}`, false},
		{"update of a known port moved away", "port_update", `{"port": {"id": "known", "binding:host_id": "h2"}}`, true},
		{"malformed update", "port_update", `[]`, true},
		{"delete of a known port", "port_delete", `{"port_id": "known"}`, true},
		{"delete of another port", "port_delete", `{"port_id": "other"}`, false},
	} {
		select {
		case <-p.Kicked():
		default:
		}
		topic := rpcapi.TopicPortUpdate
		if c.method == "port_delete" {
			topic = rpcapi.TopicPortDelete
		}
		if _, err := p.Handlers("h1")[topic][c.method](t.Context(), json.RawMessage(c.args)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := len(p.Kicked()) == 1; got != c.trigger {
			t.Errorf("%s: triggered %v, want %v", c.name, got, c.trigger)
		}
	}
}

// TestFirewallOptions: [securitygroup] firewall_driver and
// enable_security_group decide whether ports are filtered, as Neutron's
// agent decides which driver to load (no driver: noop).
func TestFirewallOptions(t *testing.T) {
	for _, c := range []struct {
		driver, enable string
		filter, err    bool
	}{
		{"", "", false, false},
		{"noop", "", false, false},
		{"neutron.agent.firewall.NoopFirewallDriver", "", false, false},
		{"nftables", "", true, false},
		{"iptables", "", true, false},
		{"iptables_hybrid", "", true, false},
		{"neutron.agent.linux.iptables_firewall.IptablesFirewallDriver", "", true, false},
		{"iptables", "false", false, false},
		{"openvswitch", "", false, true},
	} {
		opts := map[string]string{"vxlan.local_ip": "192.0.2.1"}
		if c.driver != "" {
			opts["securitygroup.firewall_driver"] = c.driver
		}
		if c.enable != "" {
			opts["securitygroup.enable_security_group"] = c.enable
		}
		cfg, err := config.Options.LoadWithDefaults(opts, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, err := OptionsFrom(cfg)
		if (err != nil) != c.err || (err == nil && o.Filter != c.filter) {
			t.Errorf("firewall_driver %q enable_security_group %q: filter %v error %v; want filter %v error %v",
				c.driver, c.enable, o.Filter, err, c.filter, c.err)
		}
	}
}
