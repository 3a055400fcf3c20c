package agents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The server side of the DHCP agent's RPC calls (Neutron's
// DhcpRpcCallback). The RPC layer decodes the rpcapi argument types and
// calls these; errors that are *fault.Error are the agent's to see.

func (p *Plugin) handler(coll string) (plugin.Handler, error) {
	h := p.core[coll]
	if h == nil {
		return nil, fmt.Errorf("agents: no core handler for %s", coll)
	}
	return h, nil
}

// GetActiveNetworksInfo returns the enabled networks the DHCP agent on
// host serves, each with its DHCP-enabled subnets and its ports (Neutron's
// get_active_networks_info); unhosted networks are scheduled to the agent
// first when network_auto_schedule is on. A host without an enabled DHCP
// agent serves nothing.
func (p *Plugin) GetActiveNetworksInfo(ctx context.Context, host string) ([]rpcapi.DHCPNetwork, error) {
	if p.opts.NetworkAutoSchedule {
		if err := p.AutoScheduleNetworks(ctx, host); err != nil {
			p.log.WarnContext(ctx, "auto-scheduling networks failed", "host", host, "error", err)
		}
	}
	var netIDs []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		netIDs = nil
		agent, err := tx.AgentByTypeHost(ctx, rpcapi.AgentTypeDHCP, host, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || !agent.AdminStateUp {
			return err
		}
		bs, err := tx.Bindings(ctx, store.DHCPBindings, "", agent.ID)
		for _, b := range bs {
			netIDs = append(netIDs, b.ResourceID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("active networks of %s: %w", host, err)
	}
	out := []rpcapi.DHCPNetwork{}
	if len(netIDs) == 0 {
		return out, nil
	}
	nets, err := p.listBy(ctx, apidef.Networks, "id", netIDs)
	if err != nil {
		return nil, err
	}
	subnets, err := p.listBy(ctx, apidef.Subnets, "network_id", netIDs)
	if err != nil {
		return nil, err
	}
	ports, err := p.listBy(ctx, apidef.Ports, "network_id", netIDs)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if !n.Bool("admin_state_up") {
			continue
		}
		out = append(out, dhcpNetwork(n, subnets, ports))
	}
	return out, nil
}

// GetNetworkInfo returns one network as GetActiveNetworksInfo shows it,
// or nil when it does not exist (deleted meanwhile).
func (p *Plugin) GetNetworkInfo(ctx context.Context, host, networkID string) (*rpcapi.DHCPNetwork, error) {
	nets, err := p.listBy(ctx, apidef.Networks, "id", []string{networkID})
	if err != nil || len(nets) == 0 {
		return nil, err
	}
	subnets, err := p.listBy(ctx, apidef.Subnets, "network_id", []string{networkID})
	if err != nil {
		return nil, err
	}
	ports, err := p.listBy(ctx, apidef.Ports, "network_id", []string{networkID})
	if err != nil {
		return nil, err
	}
	n := dhcpNetwork(nets[0], subnets, ports)
	return &n, nil
}

// listBy lists coll's objects whose attr is one of ids, as an admin.
func (p *Plugin) listBy(ctx context.Context, coll, attr string, ids []string) ([]*resource.Object, error) {
	h, err := p.handler(coll)
	if err != nil {
		return nil, err
	}
	def := p.defs[coll]
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id
	}
	objs, err := h.List(ctx, &resource.Query{Filters: []resource.Filter{{Attr: def.Attr(attr), Values: vals}},
		Sorts: []resource.SortKey{{Attr: def.Attr("id")}}})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", coll, err)
	}
	return objs, nil
}

func dhcpNetwork(n *resource.Object, subnets, ports []*resource.Object) rpcapi.DHCPNetwork {
	out := rpcapi.DHCPNetwork{ID: n.ID(), ProjectID: n.String("project_id"), AdminStateUp: n.Bool("admin_state_up"),
		MTU: n.Int("mtu"), RevisionNumber: n.Int("revision_number"),
		Subnets: []map[string]any{}, NonLocalSubnets: []map[string]any{}, Ports: []map[string]any{}}
	for _, s := range subnets {
		if s.String("network_id") == n.ID() && s.Bool("enable_dhcp") {
			out.Subnets = append(out.Subnets, apiMap(s))
		}
	}
	sort.Slice(out.Subnets, func(i, j int) bool { return out.Subnets[i]["id"].(string) < out.Subnets[j]["id"].(string) })
	for _, pt := range ports {
		if pt.String("network_id") == n.ID() {
			out.Ports = append(out.Ports, apiMap(pt))
		}
	}
	return out
}

// apiMap is an object as the API shows it to an admin: its visible
// attributes, timestamps in Neutron's format.
func apiMap(o *resource.Object) map[string]any {
	m := map[string]any{}
	for _, a := range o.Resource().Attrs() {
		if !a.Visible || !o.HasAt(a.Index()) {
			continue
		}
		v := o.At(a.Index())
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(store.TimeFormat)
		}
		m[a.Name] = v
	}
	return m
}

// objectFrom converts a port dict into an object of def: the attributes
// allowed by op ("create" or "update") are converted and validated as the
// API would; on create, absent ones take their defaults.
func objectFrom(def *resource.Resource, m map[string]any, create bool) (*resource.Object, error) {
	o := resource.New(def)
	if pid, ok := m["tenant_id"]; ok {
		if _, has := m["project_id"]; !has {
			m["project_id"] = pid
		}
	}
	for _, a := range def.Attrs() {
		v, given := m[a.Name]
		allowed := a.AllowPut
		if create {
			allowed = a.AllowPost
		}
		if !allowed {
			continue
		}
		if !given {
			if create && a.Default != resource.NotSpecified && a.Default != nil {
				o.SetAt(a.Index(), a.Default)
			}
			continue
		}
		cv, err := resource.ConvertValue(a, v)
		if err != nil {
			return nil, fault.InvalidInput(err.Error())
		}
		o.SetAt(a.Index(), cv)
	}
	return o, nil
}

// CreateDHCPPort creates the DHCP port the agent on host asks for
// (Neutron's create_dhcp_port): owned by network:dhcp, bound to host,
// with addresses from IPAM as any port (the first free address of each
// subnet unless the agent names one). The port belongs to the network's
// project unless the agent says otherwise.
func (p *Plugin) CreateDHCPPort(ctx context.Context, host string, port map[string]any) (map[string]any, error) {
	h, err := p.handler(apidef.Ports)
	if err != nil {
		return nil, err
	}
	m := copyMap(port)
	m["device_owner"] = rpcapi.DeviceOwnerDHCP
	m["binding:host_id"] = host
	netID, _ := m["network_id"].(string)
	if _, ok := m["project_id"]; !ok {
		if _, ok := m["tenant_id"]; !ok {
			nets, err := p.listBy(ctx, apidef.Networks, "id", []string{netID})
			if err != nil {
				return nil, err
			}
			if len(nets) == 0 {
				return nil, networkNotFound(netID)
			}
			m["project_id"] = nets[0].String("project_id")
		}
	}
	o, err := objectFrom(p.defs[apidef.Ports], m, true)
	if err != nil {
		return nil, err
	}
	objs, err := h.Create(ctx, []*resource.Object{o})
	if err != nil {
		return nil, fmt.Errorf("create DHCP port on %s for %s: %w", host, netID, err)
	}
	return apiMap(objs[0]), nil
}

// UpdateDHCPPort updates a DHCP port for the agent on host (Neutron's
// update_dhcp_port): only a port reserved for DHCP or owned by this
// agent, on a network the agent hosts. It returns nil when the port is
// not the agent's to change or no longer exists.
func (p *Plugin) UpdateDHCPPort(ctx context.Context, host, portID string, port map[string]any) (map[string]any, error) {
	h, err := p.handler(apidef.Ports)
	if err != nil {
		return nil, err
	}
	old, err := h.Get(ctx, portID)
	if fault.Is(err, "PortNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := copyMap(port)
	m["binding:host_id"] = host
	netID, _ := m["network_id"].(string)
	if netID == "" {
		netID = old.String("network_id")
	}
	if d := old.String("device_id"); d != rpcapi.DeviceIDReservedDHCPPort && d != rpcapi.DHCPDeviceID(netID, host) {
		return nil, nil
	}
	hosts, err := p.hostingHosts(ctx, netID)
	if err != nil {
		return nil, err
	}
	if !contains(hosts, host) {
		return nil, networkNotFound(netID)
	}
	delete(m, "network_id")
	patch, err := objectFrom(p.defs[apidef.Ports], m, false)
	if err != nil {
		return nil, err
	}
	updated, err := h.Update(ctx, portID, patch, plugin.NoRevision)
	if fault.Is(err, "PortNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update DHCP port %s: %w", portID, err)
	}
	return apiMap(updated), nil
}

// hostingHosts are the hosts of every DHCP agent bound to a network,
// alive or not: an agent that just restarted may still update its port.
func (p *Plugin) hostingHosts(ctx context.Context, networkID string) ([]string, error) {
	var hosts []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		hosts = nil
		bs, err := tx.Bindings(ctx, store.DHCPBindings, networkID, "")
		if err != nil {
			return err
		}
		for _, b := range bs {
			if a, err := tx.AgentByID(ctx, b.AgentID); err == nil {
				hosts = append(hosts, a.Host)
			}
		}
		return nil
	})
	return hosts, err
}

// ReleaseDHCPPort deletes the ports of deviceID on a network (Neutron's
// release_dhcp_port), returning their addresses to IPAM.
func (p *Plugin) ReleaseDHCPPort(ctx context.Context, host, networkID, deviceID string) error {
	h, err := p.handler(apidef.Ports)
	if err != nil {
		return err
	}
	def := p.defs[apidef.Ports]
	ports, err := h.List(ctx, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("network_id"), Values: []any{networkID}},
		{Attr: def.Attr("device_id"), Values: []any{deviceID}}}})
	if err != nil {
		return fmt.Errorf("release DHCP port of %s on %s: %w", host, networkID, err)
	}
	for _, pt := range ports {
		if err := h.Delete(ctx, pt.ID(), plugin.NoRevision); err != nil && !fault.Is(err, "PortNotFound") {
			return fmt.Errorf("release DHCP port %s: %w", pt.ID(), err)
		}
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
