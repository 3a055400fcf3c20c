package ml2

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
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
	segs, err := p.networkSegments(ctx, tx, netID)
	if err != nil {
		return nil, err
	}
	pc := &mech.PortContext{Tx: tx, Current: current, Original: original, Network: net, Segments: segs[netID],
		Agents: p.agentLookup(), Outbox: p.outboxOf()}
	levels, err := tx.PortBindingLevels(ctx, "", current.ID())
	if err != nil {
		return nil, err
	}
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
	return pc, nil
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

// BeforeCreatePort binds a port being created when it names a host, and
// adds the provisioning blocks that hold it DOWN until its agents report.
func (p *Plugin) BeforeCreatePort(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	pc, err := p.portContext(ctx, tx, port, nil)
	if err != nil {
		return err
	}
	if err := p.bind(ctx, pc, port); err != nil {
		return err
	}
	if err := p.addDHCPBlock(ctx, tx, port); err != nil {
		return err
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

// addDHCPBlock holds a new port until DHCP has its address, when the
// network has a DHCP-enabled subnet and a DHCP agent is alive.
func (p *Plugin) addDHCPBlock(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if port.String("device_owner") == ownerDHCP {
		return nil
	}
	agents := p.agentLookup()
	if agents == nil {
		return nil
	}
	n, err := tx.CountWhere(ctx, apidef.Subnets, map[string]any{"network_id": port.String("network_id"), "enable_dhcp": true})
	if err != nil || n == 0 {
		return err
	}
	dhcp, err := agents.AliveAgents(ctx, tx, "", rpcapi.AgentTypeDHCP)
	if err != nil {
		return fmt.Errorf("ml2: find DHCP agents: %w", err)
	}
	if len(dhcp) == 0 {
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

// setPortStatus changes a port's status inside tx, with a new revision,
// and lets the drivers see the change (l2population announces a port
// going ACTIVE or DOWN). It reports whether the port exists.
func (p *Plugin) setPortStatus(ctx context.Context, tx *store.Tx, portID, status string) (bool, error) {
	def := p.defs[apidef.Ports]
	old, err := tx.Get(ctx, def, portID, true)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if old.String("status") == status {
		return true, nil
	}
	patch := resource.New(def)
	patch.Set("id", portID)
	patch.Set("status", status)
	setIfDeclared(patch, "revision_number", old.Int("revision_number")+1)
	setIfDeclared(patch, "updated_at", p.now().UTC().Truncate(1e9))
	if err := tx.Update(ctx, patch); err != nil {
		return false, fmt.Errorf("ml2: set status of port %s: %w", portID, err)
	}
	current := old.Clone()
	current.Merge(patch)
	pc, err := p.portContext(ctx, tx, current, old)
	if err != nil {
		return false, err
	}
	for _, d := range p.drivers {
		if err := d.UpdatePortPrecommit(ctx, pc); err != nil {
			return false, err
		}
	}
	p.postcommit(tx, func(ctx context.Context, d mech.Driver) { d.UpdatePortPostcommit(ctx, pc) }, ctx)
	return true, nil
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
		for _, id := range portIDs {
			if err := p.provisioningComplete(ctx, tx, id, entity); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *Plugin) provisioningComplete(ctx context.Context, tx *store.Tx, portID, entity string) error {
	left, err := tx.RemoveProvisioningBlock(ctx, portID, entity)
	if err != nil || left > 0 {
		return err
	}
	port, err := tx.Get(ctx, p.defs[apidef.Ports], portID, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if vt := port.String("binding:vif_type"); vt == mech.VIFTypeUnbound || vt == mech.VIFTypeBindingFailed || vt == "" {
		p.log.DebugContext(ctx, "port cannot go ACTIVE: it is not bound", "port_id", portID)
		return nil
	}
	_, err = p.setPortStatus(ctx, tx, portID, StatusActive)
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

// GetDeviceDetails is the L2 agent's get_device_details: what the agent
// needs to wire the device into its network. A device the server does
// not know, or not bound, gets only {"device": …}. As in Neutron, a
// successful call from the port's host moves the port to BUILD (DOWN when
// administratively down) until the agent reports it up.
func (p *Plugin) GetDeviceDetails(ctx context.Context, device, agentID, host string) (rpcapi.DeviceDetails, error) {
	var out rpcapi.DeviceDetails
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		out, err = p.deviceDetails(ctx, tx, device, host, true)
		return err
	})
	return out, err
}

// GetDevicesDetailsList is get_devices_details_list: GetDeviceDetails for
// each device, in order.
func (p *Plugin) GetDevicesDetailsList(ctx context.Context, devices []string, agentID, host string) ([]rpcapi.DeviceDetails, error) {
	out := make([]rpcapi.DeviceDetails, 0, len(devices))
	for _, d := range devices {
		det, err := p.GetDeviceDetails(ctx, d, agentID, host)
		if err != nil {
			return nil, err
		}
		out = append(out, det)
	}
	return out, nil
}

func (p *Plugin) deviceDetails(ctx context.Context, tx *store.Tx, device, host string, touchStatus bool) (rpcapi.DeviceDetails, error) {
	out := rpcapi.DeviceDetails{Device: device}
	portID, err := resolveDevice(ctx, tx, device)
	if err != nil || portID == "" {
		return out, err
	}
	port, err := tx.Get(ctx, p.defs[apidef.Ports], portID, false)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	levels, err := tx.PortBindingLevels(ctx, "", portID)
	if err != nil {
		return out, err
	}
	level, bound := levels[portID]
	if !bound {
		return out, nil
	}
	netID := port.String("network_id")
	segs, err := p.networkSegments(ctx, tx, netID)
	if err != nil {
		return out, err
	}
	var seg *types.Segment
	for i := range segs[netID] {
		if segs[netID][i].ID == level.SegmentID {
			seg = &segs[netID][i]
		}
	}
	if seg == nil {
		return out, nil
	}
	if strings.HasPrefix(port.String("device_owner"), "compute:") && level.Host != host {
		out.NoActiveBinding = true
		return out, nil
	}
	net, err := tx.Get(ctx, p.defs[apidef.Networks], netID, false)
	if err != nil {
		return out, fmt.Errorf("ml2: network %s: %w", netID, err)
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
	out.FixedIPs = sortedIPs(out.FixedIPs)
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
	if touchStatus && (host == "" || host == level.Host) {
		status := StatusBuild
		if !port.Bool("admin_state_up") {
			status = StatusDown
		}
		if port.String("status") != status {
			if _, err := p.setPortStatus(ctx, tx, portID, status); err != nil {
				return out, err
			}
			out.RevisionNumber++
		}
	}
	return out, nil
}

func sortedIPs(ips []rpcapi.FixedIP) []rpcapi.FixedIP {
	for i := 1; i < len(ips); i++ {
		for j := i; j > 0 && ips[j].IPAddress < ips[j-1].IPAddress; j-- {
			ips[j], ips[j-1] = ips[j-1], ips[j]
		}
	}
	return ips
}

// UpdateDeviceUp is update_device_up: the agent on host has wired the
// device; its L2 provisioning block is lifted, and the port goes ACTIVE
// when no other entity is pending. A report from a host the port is not
// bound to is ignored.
func (p *Plugin) UpdateDeviceUp(ctx context.Context, device, agentID, host string) error {
	return p.store.Write(ctx, func(tx *store.Tx) error { return p.deviceUp(ctx, tx, device, host) })
}

func (p *Plugin) deviceUp(ctx context.Context, tx *store.Tx, device, host string) error {
	portID, err := resolveDevice(ctx, tx, device)
	if err != nil || portID == "" {
		return err
	}
	if host != "" {
		levels, err := tx.PortBindingLevels(ctx, "", portID)
		if err != nil {
			return err
		}
		if l, ok := levels[portID]; !ok || l.Host != host {
			p.log.DebugContext(ctx, "device up on a host the port is not bound to", "device", device, "host", host)
			return nil
		}
	}
	return p.provisioningComplete(ctx, tx, portID, rpcapi.ProvisioningEntityL2)
}

// UpdateDeviceDown is update_device_down: the device is gone from the
// agent's host; the port goes DOWN. Exists is false for an unknown port.
func (p *Plugin) UpdateDeviceDown(ctx context.Context, device, agentID, host string) (rpcapi.DeviceDownReply, error) {
	var out rpcapi.DeviceDownReply
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		out, err = p.deviceDown(ctx, tx, device, host)
		return err
	})
	return out, err
}

func (p *Plugin) deviceDown(ctx context.Context, tx *store.Tx, device, host string) (rpcapi.DeviceDownReply, error) {
	out := rpcapi.DeviceDownReply{Device: device, Exists: true}
	portID, err := resolveDevice(ctx, tx, device)
	if err != nil {
		return out, err
	}
	if portID == "" {
		out.Exists = false
		return out, nil
	}
	if host != "" {
		levels, err := tx.PortBindingLevels(ctx, "", portID)
		if err != nil {
			return out, err
		}
		if l, ok := levels[portID]; !ok || l.Host != host {
			return out, nil
		}
	}
	out.Exists, err = p.setPortStatus(ctx, tx, portID, StatusDown)
	return out, err
}

// UpdateDeviceList is update_device_list: a batch of update_device_up and
// update_device_down in one transaction, so an agent that wired a hundred
// ports reports them in one round trip and one commit.
func (p *Plugin) UpdateDeviceList(ctx context.Context, up, down []string, agentID, host string) (rpcapi.DeviceListReply, error) {
	out := rpcapi.DeviceListReply{DevicesUp: []string{}, FailedDevicesUp: []string{}, DevicesDown: []rpcapi.DeviceDownReply{},
		FailedDevicesDown: []string{}}
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		out.DevicesUp, out.DevicesDown = out.DevicesUp[:0], out.DevicesDown[:0]
		for _, d := range up {
			if err := p.deviceUp(ctx, tx, d, host); err != nil {
				return fmt.Errorf("device %s up: %w", d, err)
			}
			out.DevicesUp = append(out.DevicesUp, d)
		}
		for _, d := range down {
			r, err := p.deviceDown(ctx, tx, d, host)
			if err != nil {
				return fmt.Errorf("device %s down: %w", d, err)
			}
			out.DevicesDown = append(out.DevicesDown, r)
		}
		return nil
	})
	if err != nil {
		// One transaction: nothing of the batch was recorded.
		return rpcapi.DeviceListReply{DevicesUp: []string{}, FailedDevicesUp: up, DevicesDown: []rpcapi.DeviceDownReply{},
			FailedDevicesDown: down}, err
	}
	return out, nil
}

// HostSnapshot lists everything the L2 agent on host needs: the details
// of every port bound to the host (its network and segment included) and
// each port's revision, so an agent syncs from a snapshot and then
// applies only newer deltas. It changes no port status.
func (p *Plugin) HostSnapshot(ctx context.Context, host string) (rpcapi.HostSnapshot, error) {
	out := rpcapi.HostSnapshot{Host: host, Ports: []rpcapi.DeviceDetails{}, Revisions: map[string]int{},
		Networks: map[string]string{}}
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		out.Ports = out.Ports[:0]
		levels, err := tx.PortBindingLevels(ctx, host)
		if err != nil {
			return err
		}
		for id := range levels {
			det, err := p.deviceDetails(ctx, tx, id, host, false)
			if err != nil {
				return err
			}
			if !det.Found() {
				continue
			}
			out.Ports = append(out.Ports, det)
			out.Revisions[id] = det.RevisionNumber
			out.Networks[det.NetworkID] = det.NetworkType
		}
		return p.snapshotFDB(ctx, tx, &out)
	})
	sortDetails(out.Ports)
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

func sortDetails(d []rpcapi.DeviceDetails) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j].PortID < d[j-1].PortID; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}
