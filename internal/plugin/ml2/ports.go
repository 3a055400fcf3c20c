package ml2

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Port statuses.
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
	StatusBuild  = "BUILD"
)

const ownerDHCP = "network:dhcp"

// portContext builds what drivers see of a port change.
func (p *Plugin) portContext(ctx context.Context, tx *store.Tx, current, original *resource.Object) (*mech.PortContext, error) {
	netID := current.String("network_id")
	net, err := tx.Get(ctx, p.defs[apidef.Networks], netID, false)
	if err != nil {
		return nil, fmt.Errorf("ml2: network %s of port %s: %w", netID, current.ID(), err)
	}
	segs, err := p.segmentsOf(ctx, tx, net)
	if err != nil {
		return nil, err
	}
	levels, err := tx.PortBindingLevels(ctx, "", current.ID())
	if err != nil {
		return nil, err
	}
	return p.newPortContext(tx, current, original, net, segs, levels), nil
}

// segmentsOf returns the segments of a network as read from the store:
// from the segment rows read with it, or else from the segments table.
func (p *Plugin) segmentsOf(ctx context.Context, tx *store.Tx, net *resource.Object) ([]types.Segment, error) {
	if rows, ok := net.Get(apidef.NetworkSegmentRows).([]any); ok {
		return segmentsFromRows(net.ID(), rows), nil
	}
	segs, err := p.networkSegments(ctx, tx, net.ID())
	if err != nil {
		return nil, err
	}
	return segs[net.ID()], nil
}

// newPortContext assembles a PortContext from what was read of the port's
// network, segments and binding level.
func (p *Plugin) newPortContext(tx *store.Tx, current, original, net *resource.Object, segs []types.Segment,
	levels map[string]store.PortBindingLevel) *mech.PortContext {
	pc := &mech.PortContext{Tx: tx, Current: current, Original: original, Network: net, Segments: segs,
		Agents: p.agentLookup(), Outbox: p.outboxOf()}
	if l, ok := levels[current.ID()]; ok {
		pc.OriginalHost = l.Host
		for i := range pc.Segments {
			if pc.Segments[i].ID == l.SegmentID {
				s := pc.Segments[i]
				pc.BoundSegment, pc.OriginalBoundSegment = &s, &s
			}
		}
	} else if original != nil {
		pc.OriginalHost = original.String("binding:host_id")
	}
	return pc
}

// bind binds the port in pc (whose Current carries the wanted host,
// vnic type and profile) and writes the result into target: vif_type
// and vif_details, the binding level, and an L2 provisioning block.
func (p *Plugin) bind(ctx context.Context, pc *mech.PortContext, target *resource.Object) error {
	tx, port := pc.Tx, pc.Current
	host := pc.Host()
	level := store.PortBindingLevel{PortID: port.ID(), Host: host}
	vifType, details := mech.VIFTypeUnbound, map[string]any{}
	pc.BoundSegment = nil
	if host != "" {
		for _, d := range p.drivers {
			if err := d.BindPort(ctx, pc); err != nil {
				return err
			}
			if b := pc.Bound(); b != nil {
				vifType, details = b.VIFType, b.VIFDetails
				level.SegmentID, level.Driver = b.Segment.ID, b.Driver
				seg := b.Segment
				pc.BoundSegment = &seg
				break
			}
		}
		if pc.Bound() == nil {
			vifType = mech.VIFTypeBindingFailed
			p.log.WarnContext(ctx, "failed to bind port", "port_id", port.ID(), "host", host,
				"network_id", port.String("network_id"))
		}
	}
	if target.Resource().Attr("binding:vif_type") != nil {
		target.Set("binding:vif_type", vifType)
		target.Set("binding:vif_details", details)
	}
	// A port being created has no level to replace.
	if pc.Original != nil || level.SegmentID != "" {
		if err := tx.SetPortBindingLevel(ctx, level); err != nil {
			return err
		}
	}
	if level.SegmentID != "" {
		return tx.AddProvisioningBlock(ctx, port.ID(), rpcapi.ProvisioningEntityL2)
	}
	return nil
}

// NewPortNetwork is what the core plugin read, in a port create's
// transaction, of the port's network.
type NewPortNetwork struct {
	// Network is the network's row as tx.Get read it (with its segment
	// rows).
	Network *resource.Object
	// DHCPSubnets is whether a subnet of the network has DHCP enabled.
	DHCPSubnets bool
}

// BeforeCreatePort binds a port being created when it names a host, and
// adds the provisioning blocks that hold it DOWN until its agents report.
func (p *Plugin) BeforeCreatePort(ctx context.Context, tx *store.Tx, port *resource.Object, net NewPortNetwork) error {
	segs, err := p.segmentsOf(ctx, tx, net.Network)
	if err != nil {
		return err
	}
	pc := p.newPortContext(tx, port, nil, net.Network, segs, nil)
	if err := p.bind(ctx, pc, port); err != nil {
		return err
	}
	if net.DHCPSubnets {
		if err := p.addDHCPBlock(ctx, tx, port); err != nil {
			return err
		}
	}
	for _, d := range p.drivers {
		if err := d.CreatePortPrecommit(ctx, pc); err != nil {
			return err
		}
	}
	p.postcommit(tx, func(ctx context.Context, d mech.Driver) { d.CreatePortPostcommit(ctx, pc) }, ctx)
	return nil
}

func (p *Plugin) postcommit(tx *store.Tx, f func(context.Context, mech.Driver), ctx context.Context) {
	if len(p.drivers) == 0 {
		return
	}
	tx.AfterCommit(func() {
		for _, d := range p.drivers {
			f(context.WithoutCancel(ctx), d)
		}
	})
}

// addDHCPBlock holds a new port on a network with a DHCP-enabled subnet
// until DHCP has its address, when a DHCP agent is alive.
func (p *Plugin) addDHCPBlock(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if port.String("device_owner") == ownerDHCP {
		return nil
	}
	agents := p.agentLookup()
	if agents == nil {
		return nil
	}
	var alive bool
	var err error
	if a, ok := agents.(mech.AnyAlive); ok {
		alive, err = a.AnyAlive(ctx, tx, rpcapi.AgentTypeDHCP)
	} else {
		var dhcp []mech.Agent
		dhcp, err = agents.AliveAgents(ctx, tx, "", rpcapi.AgentTypeDHCP)
		alive = len(dhcp) > 0
	}
	if err != nil {
		return fmt.Errorf("ml2: find DHCP agents: %w", err)
	}
	if !alive {
		return nil
	}
	return tx.AddProvisioningBlock(ctx, port.ID(), rpcapi.ProvisioningEntityDHCP)
}

// BeforeUpdatePort rebinds a port whose host, vnic type or profile
// changes; a port moving to another host goes DOWN until the new host's
// agent reports it up.
func (p *Plugin) BeforeUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	current := old.Clone()
	current.Merge(patch)
	pc, err := p.portContext(ctx, tx, current, old)
	if err != nil {
		return err
	}
	rebind := false
	for _, a := range []string{"binding:host_id", "binding:vnic_type", "binding:profile"} {
		if patch.Has(a) && fmt.Sprint(patch.Get(a)) != fmt.Sprint(old.Get(a)) {
			rebind = true
		}
	}
	if rebind {
		if err := p.bind(ctx, pc, patch); err != nil {
			return err
		}
		if old.String("binding:host_id") != current.String("binding:host_id") && old.String("status") != StatusDown {
			patch.Set("status", StatusDown)
		}
		current.Merge(patch)
	}
	for _, d := range p.drivers {
		if err := d.UpdatePortPrecommit(ctx, pc); err != nil {
			return err
		}
	}
	p.postcommit(tx, func(ctx context.Context, d mech.Driver) { d.UpdatePortPostcommit(ctx, pc) }, ctx)
	return nil
}

// BeforeDeletePort tells the drivers a port goes, and drops its binding
// level and provisioning blocks.
func (p *Plugin) BeforeDeletePort(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	pc, err := p.portContext(ctx, tx, port, nil)
	if err != nil {
		return err
	}
	for _, d := range p.drivers {
		if err := d.DeletePortPrecommit(ctx, pc); err != nil {
			return err
		}
	}
	if err := tx.SetPortBindingLevel(ctx, store.PortBindingLevel{PortID: port.ID()}); err != nil {
		return err
	}
	if _, err := tx.RemoveProvisioningBlock(ctx, port.ID(), ""); err != nil {
		return err
	}
	p.postcommit(tx, func(ctx context.Context, d mech.Driver) { d.DeletePortPostcommit(ctx, pc) }, ctx)
	return nil
}

// ActivePorts implements mech.NetworkPorts.
func (p *Plugin) ActivePorts(ctx context.Context, tx *store.Tx, networkID string) ([]mech.PortInfo, error) {
	def := p.defs[apidef.Ports]
	ports, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("network_id"), Values: []any{networkID}},
		{Attr: def.Attr("status"), Values: []any{StatusActive}},
	}})
	if err != nil {
		return nil, fmt.Errorf("ml2: active ports of %s: %w", networkID, err)
	}
	out := make([]mech.PortInfo, 0, len(ports))
	for _, o := range ports {
		out = append(out, mech.PortInfo{ID: o.ID(), MAC: o.String("mac_address"), IPs: mech.FixedIPAddresses(o),
			Host: o.String("binding:host_id")})
	}
	return out, nil
}

// portSet is what status changes and device details need of a set of
// ports: the ports, their binding levels, networks and segments, read with
// a fixed number of queries however many ports the set holds, so that an
// agent reporting a hundred ports costs no more round trips than one.
type portSet struct {
	ports    map[string]*resource.Object
	levels   map[string]store.PortBindingLevel
	networks map[string]*resource.Object
	segments map[string][]types.Segment
}

// loadPorts reads the ports with the given ids (locked with forUpdate)
// and what goes with them; levels, when the caller already read them,
// saves a query.
func (p *Plugin) loadPorts(ctx context.Context, tx *store.Tx, ids []string, forUpdate bool, levels map[string]store.PortBindingLevel) (*portSet, error) {
	s := &portSet{ports: map[string]*resource.Object{}, levels: levels, networks: map[string]*resource.Object{},
		segments: map[string][]types.Segment{}}
	if len(ids) == 0 {
		return s, nil
	}
	var err error
	if s.ports, err = tx.GetMany(ctx, p.defs[apidef.Ports], ids, forUpdate); err != nil {
		return nil, fmt.Errorf("ml2: read ports: %w", err)
	}
	if s.levels == nil {
		if s.levels, err = tx.PortBindingLevels(ctx, "", ids...); err != nil {
			return nil, err
		}
	}
	var netIDs []string
	seen := map[string]bool{}
	for _, port := range s.ports {
		if id := port.String("network_id"); !seen[id] {
			seen[id] = true
			netIDs = append(netIDs, id)
		}
	}
	if len(netIDs) == 0 {
		return s, nil
	}
	if s.networks, err = tx.GetMany(ctx, p.defs[apidef.Networks], netIDs, false); err != nil {
		return nil, fmt.Errorf("ml2: read networks of ports: %w", err)
	}
	if s.segments, err = p.networkSegments(ctx, tx, netIDs...); err != nil {
		return nil, err
	}
	return s, nil
}

// context is portContext for a port of the set.
func (s *portSet) context(p *Plugin, tx *store.Tx, current, original *resource.Object) (*mech.PortContext, error) {
	netID := current.String("network_id")
	net, ok := s.networks[netID]
	if !ok {
		return nil, fmt.Errorf("ml2: network %s of port %s: %w", netID, current.ID(), store.ErrNotFound)
	}
	return p.newPortContext(tx, current, original, net, s.segments[netID], s.levels), nil
}

// setStatuses sets the status of the set's ports named by ids, each with
// a new revision, and lets the drivers see the changes (l2population
// announces ports going ACTIVE or DOWN), in one batch for drivers that
// take batches. It returns the ids that name a port.
func (p *Plugin) setStatuses(ctx context.Context, tx *store.Tx, s *portSet, ids []string, status string) (map[string]bool, error) {
	def := p.defs[apidef.Ports]
	exists := map[string]bool{}
	var pcs []*mech.PortContext
	now := p.now().UTC().Truncate(1e9)
	listener := p.statusNotifier()
	var evs []change.Event
	for _, id := range ids {
		old, ok := s.ports[id]
		if !ok || exists[id] {
			continue
		}
		exists[id] = true
		if old.String("status") == status {
			continue
		}
		patch := resource.New(def)
		patch.Set("id", id)
		patch.Set("status", status)
		setIfDeclared(patch, "revision_number", old.Int("revision_number")+1)
		setIfDeclared(patch, "updated_at", now)
		if err := tx.Update(ctx, patch); err != nil {
			return nil, fmt.Errorf("ml2: set status of port %s: %w", id, err)
		}
		current := old.Clone()
		current.Merge(patch)
		s.ports[id] = current
		if listener != nil {
			evs = append(evs, change.Event{Resource: "port", Action: change.ActionStatus, Old: old, New: current})
		}
		pc, err := s.context(p, tx, current, old)
		if err != nil {
			return nil, err
		}
		pcs = append(pcs, pc)
	}
	if err := notifyStatuses(ctx, tx, listener, evs); err != nil {
		return nil, err
	}
	if len(pcs) == 0 {
		return exists, nil
	}
	for _, d := range p.drivers {
		if b, ok := d.(mech.BatchUpdater); ok {
			if err := b.UpdatePortsPrecommit(ctx, pcs); err != nil {
				return nil, err
			}
			continue
		}
		for _, pc := range pcs {
			if err := d.UpdatePortPrecommit(ctx, pc); err != nil {
				return nil, err
			}
		}
	}
	p.postcommit(tx, func(ctx context.Context, d mech.Driver) {
		for _, pc := range pcs {
			d.UpdatePortPostcommit(ctx, pc)
		}
	}, ctx)
	return exists, nil
}

// notifyStatuses tells the status listener of the ports whose status
// changed, all at once when it takes batches.
func notifyStatuses(ctx context.Context, tx *store.Tx, listener change.Notifier, evs []change.Event) error {
	if listener == nil || len(evs) == 0 {
		return nil
	}
	if b, ok := listener.(change.Batcher); ok {
		if err := b.NotifyBatch(ctx, tx, evs); err != nil {
			return fmt.Errorf("ml2: status of %d port(s): %w", len(evs), err)
		}
		return nil
	}
	for _, ev := range evs {
		if err := listener.Notify(ctx, tx, ev); err != nil {
			return fmt.Errorf("ml2: status of port %s: %w", ev.New.ID(), err)
		}
	}
	return nil
}

// AddProvisioningBlock holds the port DOWN until entity reports it
// provisioned (ProvisioningComplete).
func (p *Plugin) AddProvisioningBlock(ctx context.Context, portID, entity string) error {
	return p.store.Write(ctx, func(tx *store.Tx) error {
		return tx.AddProvisioningBlock(ctx, portID, entity)
	})
}

// ProvisioningComplete records that entity has wired the port; once no
// entity is left, a bound port goes ACTIVE.
func (p *Plugin) ProvisioningComplete(ctx context.Context, portID, entity string) error {
	return p.ProvisioningCompleteAll(ctx, []string{portID}, entity)
}

// ProvisioningCompleteAll is ProvisioningComplete for many ports in one
// transaction (a DHCP agent's dhcp_ready_on_ports).
func (p *Plugin) ProvisioningCompleteAll(ctx context.Context, portIDs []string, entity string) error {
	return p.store.Write(ctx, func(tx *store.Tx) error {
		return p.provisioningComplete(ctx, tx, portIDs, entity, nil)
	})
}

// provisioningComplete lifts entity's blocks of the ports and makes those
// left with none, and bound, ACTIVE.
func (p *Plugin) provisioningComplete(ctx context.Context, tx *store.Tx, portIDs []string, entity string, levels map[string]store.PortBindingLevel) error {
	if len(portIDs) == 0 {
		return nil
	}
	blocked, err := tx.RemoveProvisioningBlocks(ctx, portIDs, entity)
	if err != nil {
		return err
	}
	var free []string
	for _, id := range portIDs {
		if !blocked[id] {
			free = append(free, id)
		}
	}
	set, err := p.loadPorts(ctx, tx, free, true, levels)
	if err != nil {
		return err
	}
	var ready []string
	for _, id := range free {
		port, ok := set.ports[id]
		if !ok {
			continue
		}
		if vt := port.String("binding:vif_type"); vt == mech.VIFTypeUnbound || vt == mech.VIFTypeBindingFailed || vt == "" {
			p.log.DebugContext(ctx, "port cannot go ACTIVE: it is not bound", "port_id", id)
			continue
		}
		ready = append(ready, id)
	}
	_, err = p.setStatuses(ctx, tx, set, ready, StatusActive)
	return err
}

// resolveDevice turns an agent's device name into a port id: a port id,
// a unique prefix of one, or a tap device name ("tap" + the id's first
// 11 characters). It returns "" for a device no single port matches.
func resolveDevice(ctx context.Context, tx *store.Tx, device string) (string, error) {
	id := strings.TrimPrefix(device, "tap")
	if id == "" {
		return "", nil
	}
	ids, err := tx.PortIDsByPrefix(ctx, id)
	if err != nil || len(ids) != 1 {
		return "", err
	}
	return ids[0], nil
}

// hostDevices resolves an agent's devices against the ports bound to its
// host, read once: the port id of each device that names one of them.
// It also returns the host's binding levels.
func hostDevices(ctx context.Context, tx *store.Tx, devices []string, host string) (map[string]string, map[string]store.PortBindingLevel, error) {
	levels, err := tx.PortBindingLevels(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	ids := slices.Sorted(maps.Keys(levels))
	out := make(map[string]string, len(devices))
	for _, d := range devices {
		prefix := strings.TrimPrefix(d, "tap")
		if prefix == "" {
			continue
		}
		i, _ := slices.BinarySearch(ids, prefix)
		if i < len(ids) && strings.HasPrefix(ids[i], prefix) && (i+1 == len(ids) || !strings.HasPrefix(ids[i+1], prefix)) {
			out[d] = ids[i]
		}
	}
	return out, levels, nil
}

// GetDeviceDetails is the L2 agent's get_device_details: what the agent
// needs to wire the device into its network. A device the server does
// not know, or not bound, gets only {"device": …}. As in Neutron, a
// successful call from the port's host moves the port to BUILD (DOWN when
// administratively down) until the agent reports it up.
func (p *Plugin) GetDeviceDetails(ctx context.Context, device, agentID, host string) (rpcapi.DeviceDetails, error) {
	out, err := p.GetDevicesDetailsList(ctx, []string{device}, agentID, host)
	if err != nil {
		return rpcapi.DeviceDetails{Device: device}, err
	}
	return out[0], nil
}

// GetDevicesDetailsList is get_devices_details_list: GetDeviceDetails for
// each device, in order, in one transaction that reads a fixed number of
// queries for the devices bound to host.
func (p *Plugin) GetDevicesDetailsList(ctx context.Context, devices []string, agentID, host string) ([]rpcapi.DeviceDetails, error) {
	out := make([]rpcapi.DeviceDetails, 0, len(devices))
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		out = out[:0]
		var mine map[string]string
		if host != "" {
			var err error
			if mine, _, err = hostDevices(ctx, tx, devices, host); err != nil {
				return err
			}
		}
		ids := make([]string, len(devices))
		var found []string
		for i, d := range devices {
			id, ok := mine[d]
			if !ok {
				var err error
				if id, err = resolveDevice(ctx, tx, d); err != nil {
					return err
				}
			}
			if ids[i] = id; id != "" {
				found = append(found, id)
			}
		}
		set, err := p.loadPorts(ctx, tx, found, true, nil)
		if err != nil {
			return err
		}
		// The host's own devices move to BUILD, or DOWN when
		// administratively down.
		moved := map[string]bool{}
		byStatus := map[string][]string{}
		for i, d := range devices {
			det := set.details(d, ids[i], host)
			if det.Found() && (host == "" || host == set.levels[ids[i]].Host) {
				status := StatusBuild
				if !det.AdminStateUp {
					status = StatusDown
				}
				if set.ports[ids[i]].String("status") != status && !moved[ids[i]] {
					moved[ids[i]] = true
					byStatus[status] = append(byStatus[status], ids[i])
				}
				if moved[ids[i]] {
					det.RevisionNumber++
				}
			}
			out = append(out, det)
		}
		for _, status := range []string{StatusBuild, StatusDown} {
			if _, err := p.setStatuses(ctx, tx, set, byStatus[status], status); err != nil {
				return err
			}
		}
		return p.addQoSRules(ctx, tx, out)
	})
	return out, err
}

// SetQoSRules installs the QoS plugin's reader of policies' rules, so
// that port details carry the rules of each port's effective policy.
func (p *Plugin) SetQoSRules(f func(ctx context.Context, tx *store.Tx, policyIDs []string) (map[string][]rpcapi.QoSRule, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.qosRules = f
}

// addQoSRules fills the QoS rules of each found device: its port's
// policy, else its network's unless the port is a network device (a
// router's gateway port excepted), as Neutron's should_apply_to_port
// decides.
func (p *Plugin) addQoSRules(ctx context.Context, tx *store.Tx, dets []rpcapi.DeviceDetails) error {
	p.mu.RLock()
	f := p.qosRules
	p.mu.RUnlock()
	if f == nil {
		return nil
	}
	effective := make([]string, len(dets))
	var ids []string
	for i, d := range dets {
		if !d.Found() {
			continue
		}
		switch {
		case d.QoSPolicyID != nil:
			effective[i] = *d.QoSPolicyID
		case d.NetworkQoSPolicyID != nil && (!strings.HasPrefix(d.DeviceOwner, "network:") ||
			d.DeviceOwner == "network:router_gateway" || d.DeviceOwner == "network:floatingip_agent_gateway"):
			effective[i] = *d.NetworkQoSPolicyID
		}
		if effective[i] != "" {
			ids = append(ids, effective[i])
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rules, err := f(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("QoS rules of ports: %w", err)
	}
	for i := range dets {
		if effective[i] != "" {
			dets[i].QoSRules = rules[effective[i]]
		}
	}
	return nil
}

// details is what the L2 agent on host needs to wire the set's port
// portID, known to it as device.
func (s *portSet) details(device, portID, host string) rpcapi.DeviceDetails {
	out := rpcapi.DeviceDetails{Device: device}
	port, ok := s.ports[portID]
	if !ok {
		return out
	}
	level, bound := s.levels[portID]
	if !bound {
		return out
	}
	netID := port.String("network_id")
	var seg *types.Segment
	for i := range s.segments[netID] {
		if s.segments[netID][i].ID == level.SegmentID {
			seg = &s.segments[netID][i]
		}
	}
	net, ok := s.networks[netID]
	if seg == nil || !ok {
		return out
	}
	if strings.HasPrefix(port.String("device_owner"), "compute:") && level.Host != host {
		out.NoActiveBinding = true
		return out
	}
	out.NetworkID, out.PortID = netID, portID
	out.MACAddress = port.String("mac_address")
	out.AdminStateUp = port.Bool("admin_state_up")
	out.NetworkType = seg.NetworkType
	if seg.HasSegmentationID {
		id := seg.SegmentationID
		out.SegmentationID = &id
	}
	if seg.PhysicalNetwork != "" {
		pn := seg.PhysicalNetwork
		out.PhysicalNetwork = &pn
	}
	if net.Resource().Attr("mtu") != nil {
		out.MTU = net.Int("mtu")
	}
	ips, _ := port.Get("fixed_ips").([]any)
	for _, it := range ips {
		m, _ := it.(map[string]any)
		sid, _ := m["subnet_id"].(string)
		ip, _ := m["ip_address"].(string)
		out.FixedIPs = append(out.FixedIPs, rpcapi.FixedIP{SubnetID: sid, IPAddress: ip})
	}
	slices.SortFunc(out.FixedIPs, func(a, b rpcapi.FixedIP) int { return strings.Compare(a.IPAddress, b.IPAddress) })
	pairs, _ := port.Get("allowed_address_pairs").([]any)
	for _, it := range pairs {
		m, _ := it.(map[string]any)
		ip, _ := m["ip_address"].(string)
		mac, _ := m["mac_address"].(string)
		out.AllowedAddressPairs = append(out.AllowedAddressPairs, rpcapi.AddressPair{IPAddress: ip, MACAddress: mac})
	}
	out.DeviceOwner = port.String("device_owner")
	out.PortSecurityEnabled = true
	if port.Resource().Attr("port_security_enabled") != nil {
		out.PortSecurityEnabled = port.Bool("port_security_enabled")
	}
	if prof, ok := port.Get("binding:profile").(map[string]any); ok {
		out.Profile = prof
	} else {
		out.Profile = map[string]any{}
	}
	if port.Resource().Attr("security_groups") != nil {
		switch sg := port.Get("security_groups").(type) {
		case []string:
			out.SecurityGroups = sg
		case []any:
			for _, s := range sg {
				if str, ok := s.(string); ok {
					out.SecurityGroups = append(out.SecurityGroups, str)
				}
			}
		}
	}
	if q, ok := port.Get("qos_policy_id").(string); ok && port.Resource().Attr("qos_policy_id") != nil {
		out.QoSPolicyID = &q
	}
	if q, ok := net.Get("qos_policy_id").(string); ok && net.Resource().Attr("qos_policy_id") != nil {
		out.NetworkQoSPolicyID = &q
	}
	out.RevisionNumber = port.Int("revision_number")
	return out
}

// UpdateDeviceUp is update_device_up: the agent on host has wired the
// device; its L2 provisioning block is lifted, and the port goes ACTIVE
// when no other entity is pending. A report from a host the port is not
// bound to is ignored.
func (p *Plugin) UpdateDeviceUp(ctx context.Context, device, agentID, host string) error {
	_, err := p.UpdateDeviceList(ctx, []string{device}, nil, agentID, host)
	return err
}

// UpdateDeviceDown is update_device_down: the device is gone from the
// agent's host; the port goes DOWN. Exists is false for an unknown port.
func (p *Plugin) UpdateDeviceDown(ctx context.Context, device, agentID, host string) (rpcapi.DeviceDownReply, error) {
	r, err := p.UpdateDeviceList(ctx, nil, []string{device}, agentID, host)
	if err != nil || len(r.DevicesDown) == 0 {
		return rpcapi.DeviceDownReply{Device: device, Exists: true}, err
	}
	return r.DevicesDown[0], nil
}

// UpdateDeviceList is update_device_list: a batch of update_device_up and
// update_device_down in one transaction, so an agent that wired a hundred
// ports reports them in one round trip and one commit, read with a fixed
// number of queries.
func (p *Plugin) UpdateDeviceList(ctx context.Context, up, down []string, agentID, host string) (rpcapi.DeviceListReply, error) {
	out := rpcapi.DeviceListReply{DevicesUp: []string{}, FailedDevicesUp: []string{}, DevicesDown: []rpcapi.DeviceDownReply{},
		FailedDevicesDown: []string{}}
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		out.DevicesUp = append(out.DevicesUp[:0], up...)
		out.DevicesDown, err = p.devicesUpDown(ctx, tx, up, down, host)
		return err
	})
	if err != nil {
		// One transaction: nothing of the batch was recorded.
		return rpcapi.DeviceListReply{DevicesUp: []string{}, FailedDevicesUp: up, DevicesDown: []rpcapi.DeviceDownReply{},
			FailedDevicesDown: down}, err
	}
	return out, nil
}

// devicesUpDown applies an agent's report inside tx. Devices are looked up
// among the ports bound to host; a device up elsewhere is ignored, a
// device down elsewhere (or unknown) is looked up on its own.
func (p *Plugin) devicesUpDown(ctx context.Context, tx *store.Tx, up, down []string, host string) ([]rpcapi.DeviceDownReply, error) {
	var mine map[string]string
	var levels map[string]store.PortBindingLevel
	if host != "" {
		var err error
		if mine, levels, err = hostDevices(ctx, tx, append(slices.Clone(up), down...), host); err != nil {
			return nil, err
		}
	}
	var upIDs []string
	for _, d := range up {
		id, ok := mine[d]
		if !ok && host == "" {
			var err error
			if id, err = resolveDevice(ctx, tx, d); err != nil {
				return nil, err
			}
			ok = id != ""
		}
		if !ok {
			p.log.DebugContext(ctx, "device up on a host the port is not bound to", "device", d, "host", host)
			continue
		}
		upIDs = append(upIDs, id)
	}
	if err := p.provisioningComplete(ctx, tx, upIDs, rpcapi.ProvisioningEntityL2, levels); err != nil {
		return nil, err
	}
	if len(down) == 0 {
		return []rpcapi.DeviceDownReply{}, nil
	}
	replies := make([]rpcapi.DeviceDownReply, len(down))
	var downIDs []string
	for i, d := range down {
		replies[i] = rpcapi.DeviceDownReply{Device: d, Exists: true}
		if id, ok := mine[d]; ok {
			downIDs = append(downIDs, id)
			continue
		}
		id, err := resolveDevice(ctx, tx, d)
		if err != nil {
			return nil, err
		}
		switch {
		case id == "":
			replies[i].Exists = false
		case host == "":
			downIDs = append(downIDs, id)
		}
		// Else bound to another host: its report is not ours to act on.
	}
	set, err := p.loadPorts(ctx, tx, downIDs, true, nil)
	if err != nil {
		return nil, err
	}
	exists, err := p.setStatuses(ctx, tx, set, downIDs, StatusDown)
	if err != nil {
		return nil, err
	}
	for i, d := range down {
		if id, ok := mine[d]; ok || host == "" {
			if !ok {
				id, _ = resolveDevice(ctx, tx, d)
			}
			if id != "" {
				replies[i].Exists = exists[id]
			}
		}
	}
	return replies, nil
}

// HostSnapshot lists everything the L2 agent on host needs: the details
// of every port bound to the host (its network and segment included) and
// each port's revision, so an agent syncs from a snapshot and then
// applies only newer deltas. It changes no port status, and costs the
// same few queries however many ports the host has.
func (p *Plugin) HostSnapshot(ctx context.Context, host string) (rpcapi.HostSnapshot, error) {
	out := rpcapi.HostSnapshot{Host: host, Ports: []rpcapi.DeviceDetails{}, Revisions: map[string]int{},
		Networks: map[string]string{}}
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		out.Ports = out.Ports[:0]
		levels, err := tx.PortBindingLevels(ctx, host)
		if err != nil {
			return err
		}
		set, err := p.loadPorts(ctx, tx, slices.Sorted(maps.Keys(levels)), false, levels)
		if err != nil {
			return err
		}
		for id := range levels {
			det := set.details(id, id, host)
			if !det.Found() {
				continue
			}
			out.Ports = append(out.Ports, det)
			out.Revisions[id] = det.RevisionNumber
			out.Networks[det.NetworkID] = det.NetworkType
		}
		if err := p.addQoSRules(ctx, tx, out.Ports); err != nil {
			return err
		}
		return p.snapshotFDB(ctx, tx, &out)
	})
	slices.SortFunc(out.Ports, func(a, b rpcapi.DeviceDetails) int { return strings.Compare(a.PortID, b.PortID) })
	return out, err
}

// snapshotFDB adds, with l2population, the forwarding entries of the
// host's tunnelled networks, so an agent's full resync needs no earlier
// fdb_add.
func (p *Plugin) snapshotFDB(ctx context.Context, tx *store.Tx, out *rpcapi.HostSnapshot) error {
	if !p.l2pop {
		return nil
	}
	out.FDB = rpcapi.FDBEntries{}
	done := map[string]bool{}
	for _, det := range out.Ports {
		if done[det.NetworkID] || det.SegmentationID == nil {
			continue
		}
		done[det.NetworkID] = true
		if t := det.NetworkType; t != types.VXLAN && t != types.GRE && t != types.Geneve {
			continue
		}
		entries, err := mech.HostFDB(ctx, tx, p, p.agentLookup(), out.Host, det.NetworkID)
		if err != nil {
			return fmt.Errorf("ml2: snapshot FDB of %s: %w", det.NetworkID, err)
		}
		if entries != nil {
			out.FDB[det.NetworkID] = rpcapi.FDBNetwork{SegmentID: *det.SegmentationID, NetworkType: det.NetworkType, Ports: entries}
		}
	}
	return nil
}

// TryBind asks the mechanism drivers to bind port on host with the given
// VNIC type and profile, and returns the VIF type and details they would
// give it, changing nothing: binding-extended's inactive bindings (a live
// migration's destination) are bound so, while the port keeps its
// active binding.
func (p *Plugin) TryBind(ctx context.Context, tx *store.Tx, port *resource.Object, host, vnicType string, profile map[string]any) (string, map[string]any, error) {
	if host == "" {
		return mech.VIFTypeUnbound, map[string]any{}, nil
	}
	cur := port.Clone()
	cur.Set("binding:host_id", host)
	cur.Set("binding:vnic_type", vnicType)
	cur.Set("binding:profile", profile)
	pc, err := p.portContext(ctx, tx, cur, port)
	if err != nil {
		return "", nil, err
	}
	pc.BoundSegment = nil
	for _, d := range p.drivers {
		if err := d.BindPort(ctx, pc); err != nil {
			return "", nil, err
		}
		if b := pc.Bound(); b != nil {
			return b.VIFType, b.VIFDetails, nil
		}
	}
	p.log.WarnContext(ctx, "failed to bind port", "port_id", port.ID(), "host", host, "network_id", port.String("network_id"))
	return mech.VIFTypeBindingFailed, map[string]any{}, nil
}
