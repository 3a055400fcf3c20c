// Package rpcserver serves the agents' calls to the server, on Neutron's
// topics, and dispatches each method to the plugin of its area:
//
//	q-plugin          L2 (ML2's RpcCallbacks) and security groups
//	q-reports-plugin  agents' report_state
//	q-dhcp-notifer    DHCP agents (Neutron's spelling of the topic)
//	q-l3-plugin       L3 agents
//
// Each area is a narrow interface taking the call's keyword arguments as
// raw JSON and returning any JSON-encodable result, so an area's plugin
// decodes into its own rpcapi types. An area left nil answers its methods
// with a NotSupported remote error naming the method; an area may serve
// further methods of its topic by also implementing Extra.
package rpcserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// L2 serves L2 agents (ML2's RpcCallbacks) on q-plugin.
type L2 interface {
	// GetDeviceDetails answers get_device_details {device, agent_id, host}.
	GetDeviceDetails(ctx context.Context, args json.RawMessage) (any, error)
	// GetDevicesDetailsList answers get_devices_details_list {devices, agent_id, host}.
	GetDevicesDetailsList(ctx context.Context, args json.RawMessage) (any, error)
	// UpdateDeviceUp answers update_device_up {device, agent_id, host}.
	UpdateDeviceUp(ctx context.Context, args json.RawMessage) (any, error)
	// UpdateDeviceDown answers update_device_down {device, agent_id, host}.
	UpdateDeviceDown(ctx context.Context, args json.RawMessage) (any, error)
	// Snapshot answers get_snapshot {host, …}: everything a host's agent
	// needs, with revisions, to start from (Neutrino's resync, DESIGN.md
	// rule 8).
	Snapshot(ctx context.Context, args json.RawMessage) (any, error)
}

// Agents serves report_state {agent_state: {agent_state: {…}}, time} on
// q-reports-plugin, answering "new", "revived" or "alive".
type Agents interface {
	ReportState(ctx context.Context, args json.RawMessage) (any, error)
}

// DHCP serves DHCP agents (DhcpRpcCallback) on q-dhcp-notifer.
type DHCP interface {
	GetActiveNetworksInfo(ctx context.Context, args json.RawMessage) (any, error)
	GetNetworkInfo(ctx context.Context, args json.RawMessage) (any, error)
	CreateDHCPPort(ctx context.Context, args json.RawMessage) (any, error)
	UpdateDHCPPort(ctx context.Context, args json.RawMessage) (any, error)
	ReleaseDHCPPort(ctx context.Context, args json.RawMessage) (any, error)
}

// L3 serves L3 agents (L3RpcCallback) on q-l3-plugin. update_ha_routers_states
// is answered by the dispatcher itself: Neutrino has no L3 HA.
type L3 interface {
	SyncRouters(ctx context.Context, args json.RawMessage) (any, error)
	GetRouterIDs(ctx context.Context, args json.RawMessage) (any, error)
	GetExternalNetworkID(ctx context.Context, args json.RawMessage) (any, error)
	UpdateFloatingIPStatuses(ctx context.Context, args json.RawMessage) (any, error)
}

// SecurityGroups serves security_group_info_for_devices {devices} on
// q-plugin (SecurityGroupServerRpcCallback).
type SecurityGroups interface {
	SecurityGroupInfoForDevices(ctx context.Context, args json.RawMessage) (any, error)
}

// Metadata serves the metadata agent's get_ports.
type Metadata interface {
	GetPorts(ctx context.Context, args json.RawMessage) (any, error)
}

// Extra lets an area's implementation serve more methods on its topic
// (dhcp_ready_on_ports, tunnel_sync, …) without widening the interfaces.
// Its handlers take precedence over the dispatcher's.
type Extra interface {
	RPCMethods() rpc.Handlers
}

// Dispatcher routes the agents' calls to the areas' plugins. Set the
// areas before Serve; nil ones answer NotSupported.
type Dispatcher struct {
	L2             L2
	Agents         Agents
	DHCP           DHCP
	L3             L3
	SecurityGroups SecurityGroups
	Metadata       Metadata
	// More are further topics service plugins serve on their own
	// (metering_plugin); they may not replace the topics above.
	More map[string]rpc.Handlers
}

// ErrL3HA is the answer to update_ha_routers_states.
var ErrL3HA = rpc.Remote("NotSupported", "unsupported: L3 HA is not implemented")

// Topics returns each served topic's handlers.
func (d *Dispatcher) Topics() map[string]rpc.Handlers {
	plugin := rpc.Handlers{}
	add(plugin, "L2", d.L2 != nil, map[string]func(context.Context, json.RawMessage) (any, error){
		"get_device_details":       method(d.L2, L2.GetDeviceDetails),
		"get_devices_details_list": method(d.L2, L2.GetDevicesDetailsList),
		"update_device_up":         method(d.L2, L2.UpdateDeviceUp),
		"update_device_down":       method(d.L2, L2.UpdateDeviceDown),
		"get_snapshot":             method(d.L2, L2.Snapshot),
	}, d.L2)
	add(plugin, "security group", d.SecurityGroups != nil, map[string]func(context.Context, json.RawMessage) (any, error){
		"security_group_info_for_devices": method(d.SecurityGroups, SecurityGroups.SecurityGroupInfoForDevices),
	}, d.SecurityGroups)

	add(plugin, "metadata", d.Metadata != nil, map[string]func(context.Context, json.RawMessage) (any, error){
		rpcapi.MethodGetPorts: method(d.Metadata, Metadata.GetPorts),
	}, d.Metadata)

	reports := rpc.Handlers{}
	add(reports, "agents", d.Agents != nil, map[string]func(context.Context, json.RawMessage) (any, error){
		"report_state": method(d.Agents, Agents.ReportState),
	}, d.Agents)

	dhcp := rpc.Handlers{}
	add(dhcp, "DHCP", d.DHCP != nil, map[string]func(context.Context, json.RawMessage) (any, error){
		"get_active_networks_info": method(d.DHCP, DHCP.GetActiveNetworksInfo),
		"get_network_info":         method(d.DHCP, DHCP.GetNetworkInfo),
		"create_dhcp_port":         method(d.DHCP, DHCP.CreateDHCPPort),
		"update_dhcp_port":         method(d.DHCP, DHCP.UpdateDHCPPort),
		"release_dhcp_port":        method(d.DHCP, DHCP.ReleaseDHCPPort),
	}, d.DHCP)

	l3 := rpc.Handlers{}
	add(l3, "L3", d.L3 != nil, map[string]func(context.Context, json.RawMessage) (any, error){
		"sync_routers":               method(d.L3, L3.SyncRouters),
		"get_router_ids":             method(d.L3, L3.GetRouterIDs),
		"get_external_network_id":    method(d.L3, L3.GetExternalNetworkID),
		"update_floatingip_statuses": method(d.L3, L3.UpdateFloatingIPStatuses),
	}, d.L3)
	l3["update_ha_routers_states"] = func(context.Context, json.RawMessage) (any, error) { return nil, ErrL3HA }

	out := map[string]rpc.Handlers{
		rpcapi.TopicPlugin:     plugin,
		rpcapi.TopicReports:    reports,
		rpcapi.TopicDHCPPlugin: dhcp,
		rpcapi.TopicL3Plugin:   l3,
	}
	for topic, hs := range d.More {
		if out[topic] == nil {
			out[topic] = hs
		}
	}
	return out
}

// Serve consumes the agents' topics on b.
func (d *Dispatcher) Serve(b *rpc.Bus) error {
	var errs []error
	for topic, hs := range d.Topics() {
		if err := b.Serve(topic, hs); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serve agents' RPC: %w", err)
	}
	return nil
}

// method binds an area's method to its implementation, which may be nil
// (the handler is then replaced by add).
func method[T any](impl T, m func(T, context.Context, json.RawMessage) (any, error)) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, args json.RawMessage) (any, error) { return m(impl, ctx, args) }
}

// add registers an area's methods, or NotSupported answers when the area
// has no plugin, then the area's Extra methods.
func add(hs rpc.Handlers, area string, present bool, methods map[string]func(context.Context, json.RawMessage) (any, error), impl any) {
	for name, fn := range methods {
		if !present {
			fn = func(context.Context, json.RawMessage) (any, error) {
				return nil, rpc.Remote("NotSupported", "%s is not supported: no %s plugin is enabled on this server", name, area)
			}
		}
		hs[name] = rpc.HandlerFunc(fn)
	}
	if x, ok := impl.(Extra); ok && present {
		for name, fn := range x.RPCMethods() {
			hs[name] = fn
		}
	}
}
