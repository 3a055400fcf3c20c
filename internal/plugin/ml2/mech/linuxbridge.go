package mech

import (
	"context"
	"fmt"
	"slices"

	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// The linuxbridge driver binds normal ports on hosts whose alive Linux
// bridge agent reaches one of the network's segments: a flat or VLAN
// segment whose physical network is in the agent's interface_mappings or
// bridge_mappings, an overlay segment whose type is among the agent's
// tunnel_types (vxlan), or a local segment. The binding is vif_type "bridge" with
// Neutron's vif_details for the driver.
func init() {
	Register("linuxbridge", func(Deps) Driver { return linuxBridge{} })
}

// VIF types of port bindings.
const (
	VIFTypeBridge        = "bridge"
	VIFTypeUnbound       = "unbound"
	VIFTypeBindingFailed = "binding_failed"
)

type linuxBridge struct{ Base }

func (linuxBridge) Name() string { return "linuxbridge" }

func (d linuxBridge) BindPort(ctx context.Context, pc *PortContext) error {
	if vnic := pc.Current.String("binding:vnic_type"); vnic != "" && vnic != "normal" {
		return nil
	}
	if pc.Agents == nil {
		return nil
	}
	agents, err := pc.Agents.AliveAgents(ctx, pc.Tx, pc.Host(), rpcapi.AgentTypeLinuxBridge)
	if err != nil {
		return fmt.Errorf("linuxbridge: find agents on %s: %w", pc.Host(), err)
	}
	for _, a := range agents {
		for _, seg := range pc.Segments {
			if reaches(a, seg) {
				pc.SetBinding(Binding{Segment: seg, VIFType: VIFTypeBridge, Driver: d.Name(),
					VIFDetails: map[string]any{"port_filter": true, "connectivity": "l2"}})
				return nil
			}
		}
	}
	return nil
}

// reaches reports whether the agent can wire a port into seg.
func reaches(a Agent, seg types.Segment) bool {
	switch seg.NetworkType {
	case types.Local:
		return true
	case types.Flat, types.VLAN:
		for _, key := range []string{rpcapi.AgentConfigInterfaceMappings, rpcapi.AgentConfigBridgeMappings} {
			switch m := a.Configurations[key].(type) {
			case map[string]any:
				if _, ok := m[seg.PhysicalNetwork]; ok {
					return true
				}
			case map[string]string:
				if _, ok := m[seg.PhysicalNetwork]; ok {
					return true
				}
			}
		}
	default:
		// Overlays the agent lists among its tunnel_types (vxlan for the
		// Linux bridge agent).
		return slices.Contains(stringList(a.Configurations[rpcapi.AgentConfigTunnelTypes]), seg.NetworkType)
	}
	return false
}

func stringList(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
