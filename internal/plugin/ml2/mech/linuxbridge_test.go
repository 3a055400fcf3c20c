package mech

import (
	"context"
	"testing"

	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

func TestReaches(t *testing.T) {
	agent := func(cfg map[string]any) Agent { return Agent{Type: rpcapi.AgentTypeLinuxBridge, Configurations: cfg} }
	seg := func(typ, physnet string) types.Segment {
		return types.Segment{NetworkType: typ, PhysicalNetwork: physnet}
	}
	tests := []struct {
		name  string
		agent Agent
		seg   types.Segment
		want  bool
	}{
		{"vlan via interface_mappings", agent(map[string]any{"interface_mappings": map[string]any{"physnet1": "eth1"}}), seg("vlan", "physnet1"), true},
		{"flat via bridge_mappings", agent(map[string]any{"bridge_mappings": map[string]any{"ext": "br-ex"}}), seg("flat", "ext"), true},
		{"string-typed mappings", agent(map[string]any{"interface_mappings": map[string]string{"physnet1": "eth1"}}), seg("flat", "physnet1"), true},
		{"vlan on another physnet", agent(map[string]any{"interface_mappings": map[string]any{"physnet2": "eth1"}}), seg("vlan", "physnet1"), false},
		{"vxlan with tunnel type", agent(map[string]any{"tunnel_types": []any{"vxlan"}}), seg("vxlan", ""), true},
		{"vxlan as []string", agent(map[string]any{"tunnel_types": []string{"vxlan"}}), seg("vxlan", ""), true},
		{"vxlan without tunnel type", agent(map[string]any{"tunnel_types": []any{}}), seg("vxlan", ""), false},
		{"gre when the agent lists it", agent(map[string]any{"tunnel_types": []any{"gre"}}), seg("gre", ""), true},
		{"geneve the agent does not list", agent(map[string]any{"tunnel_types": []any{"vxlan"}}), seg("geneve", ""), false},
		{"local always", agent(nil), seg("local", ""), true},
		{"no configuration", agent(nil), seg("vlan", "physnet1"), false},
	}
	for _, tt := range tests {
		if got := reaches(tt.agent, tt.seg); got != tt.want {
			t.Errorf("%s: reaches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

type lookup []Agent

func (l lookup) AliveAgents(_ context.Context, _ *store.Tx, host, agentType string) ([]Agent, error) {
	var out []Agent
	for _, a := range l {
		if a.Host == host && a.Type == agentType {
			out = append(out, a)
		}
	}
	return out, nil
}

func TestBindPort(t *testing.T) {
	port := resource.NewResource("port", "ports",
		&resource.Attr{Name: "id", Kind: resource.String},
		&resource.Attr{Name: "binding:host_id", Kind: resource.String},
		&resource.Attr{Name: "binding:vnic_type", Kind: resource.String})
	agents := lookup{
		{Host: "h1", Type: rpcapi.AgentTypeLinuxBridge, Configurations: map[string]any{"tunnel_types": []any{"vxlan"},
			"interface_mappings": map[string]any{"physnet1": "eth1"}}},
		{Host: "h2", Type: rpcapi.AgentTypeDHCP},
	}
	segs := []types.Segment{{ID: "s-vlan", NetworkType: "vlan", PhysicalNetwork: "physnet2"},
		{ID: "s-vx", NetworkType: "vxlan", SegmentationID: 5, HasSegmentationID: true}}
	tests := []struct {
		host, vnic string
		agents     AgentLookup
		wantSeg    string // "" for no binding
	}{
		{"h1", "normal", agents, "s-vx"},
		{"h1", "direct", agents, ""},
		{"h2", "normal", agents, ""}, // a DHCP agent does not bind
		{"h3", "normal", agents, ""},
		{"h1", "normal", nil, ""},
	}
	for _, tt := range tests {
		o := resource.New(port)
		o.Set("id", "p")
		o.Set("binding:host_id", tt.host)
		o.Set("binding:vnic_type", tt.vnic)
		pc := &PortContext{Current: o, Segments: segs, Agents: tt.agents}
		if err := (linuxBridge{}).BindPort(context.Background(), pc); err != nil {
			t.Fatal(err)
		}
		b := pc.Bound()
		switch {
		case tt.wantSeg == "" && b != nil:
			t.Errorf("%s/%s: bound with %+v, want no binding", tt.host, tt.vnic, b)
		case tt.wantSeg != "" && (b == nil || b.Segment.ID != tt.wantSeg || b.VIFType != VIFTypeBridge ||
			b.VIFDetails["port_filter"] != true || b.VIFDetails["connectivity"] != "l2" || b.Driver != "linuxbridge"):
			t.Errorf("%s/%s: binding %+v, want segment %s", tt.host, tt.vnic, b, tt.wantSeg)
		}
	}
}
