package mech

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The l2population driver tells L2 agents where each port of a tunnelled
// network lives, so they fill their forwarding tables instead of flooding:
// when a port goes ACTIVE every agent hears of it (fdb_add, with the
// flooding entry when it is the network's first port on its host), and
// the port's host, for its first port of the network, hears of every
// other host's ports; when a port goes down, moves or is deleted, agents
// hear fdb_remove. Notifications are recorded in the outbox inside the
// change's transaction.
func init() {
	Register("l2population", func(d Deps) Driver { return &l2pop{ports: d.Ports} })
}

type l2pop struct {
	Base
	ports NetworkPorts
}

func (*l2pop) Name() string { return "l2population" }

func tunnelled(seg *types.Segment) bool {
	return seg != nil && (seg.NetworkType == types.VXLAN || seg.NetworkType == types.GRE || seg.NetworkType == types.Geneve)
}

func (d *l2pop) UpdatePortPrecommit(ctx context.Context, pc *PortContext) error {
	return d.UpdatePortsPrecommit(ctx, []*PortContext{pc})
}

// fdbGroup is ports of one network that arrived on, or left, one host
// with one segment in a transaction: they make one notification.
type fdbGroup struct {
	netID, host string
	seg         types.Segment
	pcs         []*PortContext
}

// UpdatePortsPrecommit implements BatchUpdater: ports going ACTIVE (or
// moving while ACTIVE) are announced with fdb_add, ports going DOWN (or
// moving away) with fdb_remove, one notification per network and host.
func (d *l2pop) UpdatePortsPrecommit(ctx context.Context, pcs []*PortContext) error {
	if len(pcs) == 0 || pcs[0].Outbox == nil || d.ports == nil {
		return nil
	}
	var added, removed []*fdbGroup
	group := func(groups []*fdbGroup, pc *PortContext, host string, seg types.Segment) []*fdbGroup {
		netID := pc.Current.String("network_id")
		for _, g := range groups {
			if g.netID == netID && g.host == host && g.seg.ID == seg.ID {
				g.pcs = append(g.pcs, pc)
				return groups
			}
		}
		return append(groups, &fdbGroup{netID: netID, host: host, seg: seg, pcs: []*PortContext{pc}})
	}
	for _, pc := range pcs {
		if pc.Original == nil {
			continue
		}
		wasActive := pc.Original.String("status") == "ACTIVE"
		isActive := pc.Current.String("status") == "ACTIVE"
		moved := pc.OriginalHost != pc.Host()
		if wasActive && (pc.Current.String("status") == "DOWN" || moved) && tunnelled(pc.OriginalBoundSegment) {
			removed = group(removed, pc, pc.OriginalHost, *pc.OriginalBoundSegment)
		}
		if isActive && (!wasActive || moved) && tunnelled(pc.BoundSegment) {
			added = group(added, pc, pc.Host(), *pc.BoundSegment)
		}
	}
	for _, g := range removed {
		if err := d.removed(ctx, pcs[0], g); err != nil {
			return err
		}
	}
	for _, g := range added {
		if err := d.added(ctx, pcs[0], g); err != nil {
			return err
		}
	}
	return nil
}

func (d *l2pop) DeletePortPrecommit(ctx context.Context, pc *PortContext) error {
	if pc.Outbox == nil || d.ports == nil || pc.Current.String("status") != "ACTIVE" || !tunnelled(pc.BoundSegment) {
		return nil
	}
	return d.removed(ctx, pc, &fdbGroup{netID: pc.Current.String("network_id"), host: pc.Host(), seg: *pc.BoundSegment,
		pcs: []*PortContext{pc}})
}

// tunnelIP is the tunnel endpoint of the L2 agent on host, "" if unknown.
func tunnelIP(ctx context.Context, tx *store.Tx, agents AgentLookup, host string) (string, error) {
	if agents == nil || host == "" {
		return "", nil
	}
	as, err := agents.AliveAgents(ctx, tx, host, rpcapi.AgentTypeLinuxBridge)
	if err != nil {
		return "", fmt.Errorf("l2population: agents on %s: %w", host, err)
	}
	for _, a := range as {
		if ip, ok := a.Configurations[rpcapi.AgentConfigTunnelingIP].(string); ok && ip != "" {
			return ip, nil
		}
	}
	return "", nil
}

func portEntries(p PortInfo) [][2]string {
	out := make([][2]string, 0, len(p.IPs))
	for _, ip := range p.IPs {
		out = append(out, [2]string{p.MAC, ip})
	}
	return out
}

func flooding() [2]string { return [2]string{rpcapi.FloodingMAC, rpcapi.FloodingIP} }

// added announces g's ports on g.host: to every agent, with the flooding
// entry when they are the network's first ports on the host; and, then,
// to the host, every other host's ports.
func (d *l2pop) added(ctx context.Context, pc *PortContext, g *fdbGroup) error {
	ip, err := tunnelIP(ctx, pc.Tx, pc.Agents, g.host)
	if err != nil || ip == "" {
		return err
	}
	active, err := d.ports.ActivePorts(ctx, pc.Tx, g.netID)
	if err != nil {
		return err
	}
	arriving := map[string]bool{}
	for _, p := range g.pcs {
		arriving[p.Current.ID()] = true
	}
	var selves []PortInfo
	first := true
	byHost := map[string][]PortInfo{}
	for _, p := range active {
		switch {
		case arriving[p.ID]:
			selves = append(selves, p)
		case p.Host == g.host:
			first = false
		default:
			byHost[p.Host] = append(byHost[p.Host], p)
		}
	}
	if len(selves) == 0 {
		return nil
	}
	var mine [][2]string
	if first {
		mine = append(mine, flooding())
	}
	for _, p := range selves {
		mine = append(mine, portEntries(p)...)
	}
	ns := []rpcapi.Notification{}
	n, err := fdbNotification(rpcapi.MethodFDBAdd, rpcapi.TopicL2Population, true,
		rpcapi.FDBEntries{g.netID: {SegmentID: g.seg.SegmentationID, NetworkType: g.seg.NetworkType, Ports: map[string][][2]string{ip: mine}}})
	if err != nil {
		return err
	}
	ns = append(ns, n)
	if first && len(byHost) > 0 {
		others := map[string][][2]string{}
		hosts := make([]string, 0, len(byHost))
		for h := range byHost {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			hip, err := tunnelIP(ctx, pc.Tx, pc.Agents, h)
			if err != nil {
				return err
			}
			if hip == "" || hip == ip {
				continue
			}
			entries := [][2]string{flooding()}
			for _, p := range byHost[h] {
				entries = append(entries, portEntries(p)...)
			}
			others[hip] = entries
		}
		if len(others) > 0 {
			n, err := fdbNotification(rpcapi.MethodFDBAdd, rpcapi.HostTopic(rpcapi.TopicL2Population, g.host), false,
				rpcapi.FDBEntries{g.netID: {SegmentID: g.seg.SegmentationID, NetworkType: g.seg.NetworkType, Ports: others}})
			if err != nil {
				return err
			}
			ns = append(ns, n)
		}
	}
	return pc.Outbox.Record(ctx, pc.Tx, ns...)
}

// HostFDB is what an L2 agent on host needs of a tunnelled network to
// forward without flooding: for every other host with ACTIVE ports on the
// network, keyed by its tunnel IP, the flooding entry and each port's
// [mac, ip] — what fdb_add tells a host about its peers, as a whole, for
// the agent's full resync. It is nil when no other host has ports there.
func HostFDB(ctx context.Context, tx *store.Tx, ports NetworkPorts, agents AgentLookup, host, netID string) (map[string][][2]string, error) {
	active, err := ports.ActivePorts(ctx, tx, netID)
	if err != nil {
		return nil, err
	}
	byHost := map[string][]PortInfo{}
	for _, p := range active {
		if p.Host != host && p.Host != "" {
			byHost[p.Host] = append(byHost[p.Host], p)
		}
	}
	var out map[string][][2]string
	for h, ps := range byHost {
		ip, err := tunnelIP(ctx, tx, agents, h)
		if err != nil {
			return nil, err
		}
		if ip == "" {
			continue
		}
		if out == nil {
			out = map[string][][2]string{}
		}
		entries := append(out[ip], flooding())
		for _, p := range ps {
			entries = append(entries, portEntries(p)...)
		}
		out[ip] = entries
	}
	return out, nil
}

// removed announces that g's ports left g.host (went down, moved or were
// deleted), with the flooding entry when no port of the network is left
// there.
func (d *l2pop) removed(ctx context.Context, pc *PortContext, g *fdbGroup) error {
	ip, err := tunnelIP(ctx, pc.Tx, pc.Agents, g.host)
	if err != nil || ip == "" {
		return err
	}
	active, err := d.ports.ActivePorts(ctx, pc.Tx, g.netID)
	if err != nil {
		return err
	}
	leaving := map[string]bool{}
	for _, p := range g.pcs {
		leaving[p.Current.ID()] = true
	}
	last := true
	for _, p := range active {
		if !leaving[p.ID] && p.Host == g.host {
			last = false
		}
	}
	var entries [][2]string
	if last {
		entries = append(entries, flooding())
	}
	for _, p := range g.pcs {
		source := p.Original
		if source == nil {
			source = p.Current
		}
		entries = append(entries, portEntries(PortInfo{MAC: source.String("mac_address"), IPs: FixedIPAddresses(source)})...)
	}
	n, err := fdbNotification(rpcapi.MethodFDBRemove, rpcapi.TopicL2Population, true,
		rpcapi.FDBEntries{g.netID: {SegmentID: g.seg.SegmentationID, NetworkType: g.seg.NetworkType, Ports: map[string][][2]string{ip: entries}}})
	if err != nil {
		return err
	}
	return pc.Outbox.Record(ctx, pc.Tx, n)
}

func fdbNotification(method, topic string, fanout bool, entries rpcapi.FDBEntries) (rpcapi.Notification, error) {
	args, err := json.Marshal(rpcapi.FDBArgs{FDBEntries: entries})
	if err != nil {
		return rpcapi.Notification{}, fmt.Errorf("l2population: encode %s: %w", method, err)
	}
	return rpcapi.Notification{Topic: topic, Method: method, Fanout: fanout, Version: "1.0", Args: args}, nil
}
