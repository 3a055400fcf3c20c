package server

import (
	"context"
	"encoding/json"
	"maps"

	"github.com/neutrino-net/neutrino/internal/plugin/agents"
	"github.com/neutrino-net/neutrino/internal/plugin/l3"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/securitygroups"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcserver"
)

// wireAgents has the RPC dispatcher serve each area's calls from its
// plugin; an area whose plugin is not loaded is not served.
func (s *Server) wireAgents() {
	s.RPC.L2 = l2Area{s.ML2}
	s.RPC.Agents = agentsArea{s.Agents}
	s.RPC.DHCP = dhcpArea{s.Agents, s.ML2}
	s.RPC.Metadata = metadataArea{s.Agents}
	if s.L3 != nil {
		s.RPC.L3 = l3Area{s.L3, s.Agents}
	}
	if s.SecurityGroups != nil {
		s.RPC.SecurityGroups = sgArea{s.SecurityGroups}
	}
	// Service plugins with agents of their own (metering) serve their
	// topics themselves.
	for _, p := range s.Plugins {
		if t, ok := p.(interface {
			RPCTopics() map[string]rpc.Handlers
		}); ok {
			if s.RPC.More == nil {
				s.RPC.More = map[string]rpc.Handlers{}
			}
			maps.Copy(s.RPC.More, t.RPCTopics())
		}
	}
}

// decode reads an RPC method's keyword arguments; malformed ones are the
// caller's error.
func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	if len(raw) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, rpc.Remote("InvalidInput", "malformed arguments: %v", err)
	}
	return v, nil
}

type l2Area struct{ p *ml2.Plugin }

func (a l2Area) GetDeviceDetails(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.DeviceRequest](raw)
	if err != nil {
		return nil, err
	}
	return a.p.GetDeviceDetails(ctx, r.Device, r.AgentID, r.Host)
}

func (a l2Area) GetDevicesDetailsList(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.DevicesRequest](raw)
	if err != nil {
		return nil, err
	}
	return a.p.GetDevicesDetailsList(ctx, r.Devices, r.AgentID, r.Host)
}

func (a l2Area) UpdateDeviceUp(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.DeviceRequest](raw)
	if err != nil {
		return nil, err
	}
	return nil, a.p.UpdateDeviceUp(ctx, r.Device, r.AgentID, r.Host)
}

func (a l2Area) UpdateDeviceDown(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.DeviceRequest](raw)
	if err != nil {
		return nil, err
	}
	return a.p.UpdateDeviceDown(ctx, r.Device, r.AgentID, r.Host)
}

func (a l2Area) Snapshot(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.HostArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.HostSnapshot(ctx, r.Host)
}

var _ rpcserver.Extra = l2Area{}

// RPCMethods serves update_device_list: a batch of ups and downs in one
// transaction.
func (a l2Area) RPCMethods() rpc.Handlers {
	return rpc.Handlers{rpcapi.MethodUpdateDeviceList: func(ctx context.Context, raw json.RawMessage) (any, error) {
		r, err := decode[rpcapi.DeviceListRequest](raw)
		if err != nil {
			return nil, err
		}
		return a.p.UpdateDeviceList(ctx, r.DevicesUp, r.DevicesDown, r.AgentID, r.Host)
	}}
}

type agentsArea struct{ p *agents.Plugin }

func (a agentsArea) ReportState(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.ReportStateArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.ReportState(ctx, r.AgentState.AgentState)
}

type dhcpArea struct {
	p   *agents.Plugin
	ml2 *ml2.Plugin
}

var _ rpcserver.Extra = dhcpArea{}

func (a dhcpArea) GetActiveNetworksInfo(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.HostArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.GetActiveNetworksInfo(ctx, r.Host)
}

func (a dhcpArea) GetNetworkInfo(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.NetworkArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.GetNetworkInfo(ctx, r.Host, r.NetworkID)
}

func (a dhcpArea) CreateDHCPPort(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.CreateDHCPPortArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.CreateDHCPPort(ctx, r.Host, r.Port["port"])
}

func (a dhcpArea) UpdateDHCPPort(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.UpdateDHCPPortArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.UpdateDHCPPort(ctx, r.Host, r.PortID, r.Port["port"])
}

func (a dhcpArea) ReleaseDHCPPort(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.ReleaseDHCPPortArgs](raw)
	if err != nil {
		return nil, err
	}
	return nil, a.p.ReleaseDHCPPort(ctx, r.Host, r.NetworkID, r.DeviceID)
}

// RPCMethods serves dhcp_ready_on_ports: the DHCP agent has the ports'
// leases in place, which lifts their DHCP provisioning block.
func (a dhcpArea) RPCMethods() rpc.Handlers {
	return rpc.Handlers{rpcapi.MethodDHCPReadyOnPorts: func(ctx context.Context, raw json.RawMessage) (any, error) {
		r, err := decode[rpcapi.DHCPReadyArgs](raw)
		if err != nil {
			return nil, err
		}
		return nil, a.ml2.ProvisioningCompleteAll(ctx, r.PortIDs, rpcapi.ProvisioningEntityDHCP)
	}}
}

type l3Area struct {
	p      *l3.Plugin
	agents *agents.Plugin
}

// SyncRouters is Neutron's sync_routers: the routers of router_ids (all
// when none are given) that are scheduled to the asking host's L3 agent
// and administratively up. Their ports were bound to that host when the
// router was placed there (agents.RouterPortBinder), so it only reads;
// it writes only to repair a port whose binding failed or is elsewhere,
// as Neutron's _ensure_host_set_on_ports does.
func (a l3Area) SyncRouters(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.SyncRoutersArgs](raw)
	if err != nil {
		return nil, err
	}
	if len(r.RouterIDs) == 0 {
		// An agent asking for everything also picks up the unhosted
		// routers (router_auto_schedule), as get_router_ids does.
		if _, err := a.agents.RouterIDs(ctx, r.Host); err != nil {
			return nil, err
		}
	}
	ids, err := a.agents.HostedRouterIDs(ctx, r.Host, r.RouterIDs)
	if err != nil || len(ids) == 0 {
		return []rpcapi.Router{}, err
	}
	routers, err := a.p.SyncRouters(ctx, ids)
	if err != nil {
		return nil, err
	}
	changed, err := a.p.EnsureHostOnPorts(ctx, r.Host, routers)
	if err != nil || !changed {
		return routers, err
	}
	// Read again: the ports now show their binding.
	return a.p.SyncRouters(ctx, ids)
}

func (a l3Area) GetRouterIDs(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.HostArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.agents.RouterIDs(ctx, r.Host)
}

func (a l3Area) GetExternalNetworkID(ctx context.Context, _ json.RawMessage) (any, error) {
	return a.p.ExternalNetworkID(ctx)
}

func (a l3Area) UpdateFloatingIPStatuses(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.UpdateFloatingIPStatusesArgs](raw)
	if err != nil {
		return nil, err
	}
	return nil, a.p.UpdateFloatingIPStatuses(ctx, r.RouterID, r.FIPStatuses)
}

var _ rpcserver.Extra = l3Area{}

// RPCMethods serves get_host_ha_router_count: Neutrino hosts no HA
// routers, and Neutron's L3 agent asks at start.
func (a l3Area) RPCMethods() rpc.Handlers {
	return rpc.Handlers{rpcapi.MethodGetHostHARouterCount: func(context.Context, json.RawMessage) (any, error) {
		return 0, nil
	}}
}

type metadataArea struct{ p *agents.Plugin }

func (a metadataArea) GetPorts(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.GetPortsArgs](raw)
	if err != nil {
		return nil, err
	}
	return a.p.GetPorts(ctx, r.Filters)
}

type sgArea struct{ p *securitygroups.Plugin }

func (a sgArea) SecurityGroupInfoForDevices(ctx context.Context, raw json.RawMessage) (any, error) {
	r, err := decode[rpcapi.SecurityGroupInfoRequest](raw)
	if err != nil {
		return nil, err
	}
	return a.p.SecurityGroupInfoForDevices(ctx, r.Devices)
}
