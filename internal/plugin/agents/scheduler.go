package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Neutron's agent scheduler exceptions (neutron-lib
// exceptions/dhcpagentscheduler.py, neutron/extensions/l3agentscheduler.py).
func invalidDHCPAgent(id string) error {
	return fault.NotFound("InvalidDHCPAgent", "Agent "+id+" is not a valid DHCP Agent or has been disabled.")
}

func networkHostedByDHCPAgent(net, agent string) error {
	return fault.Conflict("NetworkHostedByDHCPAgent", "The network %s has been already hosted by the DHCP Agent %s.", net, agent)
}

func networkNotHostedByDHCPAgent(net, agent string) error {
	return fault.Conflict("NetworkNotHostedByDhcpAgent", "The network %s is not hosted by the DHCP Agent %s.", net, agent)
}

func invalidL3Agent(id string) error {
	return fault.NotFound("InvalidL3Agent", "Agent "+id+" is not a L3 Agent or has been disabled")
}

func routerHostedByL3Agent(router, agent string) error {
	return fault.Conflict("RouterHostedByL3Agent", "The router %s has been already hosted by the L3 Agent %s.", router, agent)
}

func routerNotHostedByL3Agent(router, agent string) error {
	return fault.Conflict("RouterNotHostedByL3Agent", "The router %s is not hosted by the L3 Agent %s.", router, agent)
}

func routerNotFound(id string) error {
	return fault.NotFound("RouterNotFound", "Router "+id+" could not be found")
}

func networkNotFound(id string) error {
	return fault.NotFound("NetworkNotFound", "Network "+id+" could not be found.")
}

// writeRetrying runs fn in a write transaction, rerunning it when a
// concurrent scheduler took the binding slot it chose: the unique index
// per resource and binding index is the arbiter, so the rerun sees the
// winner's binding and chooses again.
func (p *Plugin) writeRetrying(ctx context.Context, fn func(tx *store.Tx) error) error {
	var err error
	for range 10 {
		if err = p.store.Write(ctx, fn); !errors.Is(err, store.ErrDuplicate) {
			return err
		}
		time.Sleep(time.Duration(1+rand.IntN(5)) * time.Millisecond)
	}
	return err
}

// vacantIndex is the lowest binding index in 1..limit not in use, or 0.
func vacantIndex(bindings []store.Binding, limit int) int {
	used := map[int]bool{}
	for _, b := range bindings {
		used[b.Index] = true
	}
	for i := 1; i <= limit; i++ {
		if !used[i] {
			return i
		}
	}
	return 0
}

// eligible reports whether an agent may be given new work: enabled and
// alive.
func (p *Plugin) eligible(a store.AgentRow) bool { return a.AdminStateUp && p.alive(a.Heartbeat) }

// zoneHints decodes a resource's availability_zone_hints, falling back
// to [DEFAULT] default_availability_zones.
func (p *Plugin) zoneHints(raw string) []string {
	var hints []string
	_ = json.Unmarshal([]byte(raw), &hints)
	if len(hints) == 0 {
		return p.opts.DefaultAvailabilityZones
	}
	return hints
}

// ScheduleNetwork binds a network with DHCP-enabled subnets to the
// least-loaded eligible DHCP agents until it has dhcp_agents_per_network
// of them, honouring its availability zone hints and spreading over
// zones; it returns the hosts newly given the network. Concurrent calls
// never bind more agents than allowed.
func (p *Plugin) ScheduleNetwork(ctx context.Context, networkID string) ([]string, error) {
	var hosts []string
	err := p.writeRetrying(ctx, func(tx *store.Tx) error {
		hosts = nil
		nets, err := tx.DHCPEnabledNetworks(ctx, networkID)
		if err != nil {
			return err
		}
		raw, ok := nets[networkID]
		if !ok {
			return nil
		}
		hosts, err = p.scheduleNetwork(ctx, tx, networkID, p.zoneHints(raw))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("schedule network %s: %w", networkID, err)
	}
	return hosts, nil
}

func (p *Plugin) scheduleNetwork(ctx context.Context, tx *store.Tx, networkID string, hints []string) ([]string, error) {
	bindings, err := tx.Bindings(ctx, store.DHCPBindings, networkID, "")
	if err != nil {
		return nil, err
	}
	need := p.opts.DHCPAgentsPerNetwork - len(bindings)
	if need <= 0 {
		return nil, nil
	}
	agents, err := tx.Agents(ctx, rpcapi.AgentTypeDHCP, "")
	if err != nil {
		return nil, err
	}
	hosted := map[string]bool{}
	for _, b := range bindings {
		hosted[b.AgentID] = true
	}
	hostedZones := map[string]int{}
	var candidates []store.AgentRow
	for _, a := range agents {
		if hosted[a.ID] {
			hostedZones[a.AvailabilityZone]++
			continue
		}
		if !p.eligible(a) || (len(hints) > 0 && !slices.Contains(hints, a.AvailabilityZone)) {
			continue
		}
		candidates = append(candidates, a)
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	counts, err := tx.BindingCounts(ctx, store.DHCPBindings)
	if err != nil {
		return nil, err
	}
	chosen := pickSpread(candidates, counts, hostedZones, need)
	var hosts []string
	for _, a := range chosen {
		idx := vacantIndex(bindings, p.opts.DHCPAgentsPerNetwork)
		if idx == 0 {
			break
		}
		if err := p.addBinding(ctx, tx, store.DHCPBindings, networkID, a.ID, idx); err != nil {
			return nil, err
		}
		bindings = append(bindings, store.Binding{ResourceID: networkID, AgentID: a.ID, Index: idx})
		hosts = append(hosts, a.Host)
	}
	return hosts, nil
}

// pickSpread chooses n agents: least loaded first, taking each next agent
// from the zone hosting the fewest so far (Neutron's AZAwareWeightScheduler).
func pickSpread(candidates []store.AgentRow, load map[string]int, zones map[string]int, n int) []store.AgentRow {
	sort.SliceStable(candidates, func(i, j int) bool {
		if load[candidates[i].ID] != load[candidates[j].ID] {
			return load[candidates[i].ID] < load[candidates[j].ID]
		}
		return candidates[i].ID < candidates[j].ID
	})
	zones = maps(zones)
	var out []store.AgentRow
	left := slices.Clone(candidates)
	for len(out) < n && len(left) > 0 {
		best := 0
		for i := 1; i < len(left); i++ {
			if zones[left[i].AvailabilityZone] < zones[left[best].AvailabilityZone] {
				best = i
			}
		}
		out = append(out, left[best])
		zones[left[best].AvailabilityZone]++
		left = slices.Delete(left, best, best+1)
	}
	return out
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// AutoScheduleNetworks gives the DHCP agent on host the networks with
// DHCP-enabled subnets that have fewer than dhcp_agents_per_network
// agents and whose zone hints admit it (Neutron's auto_schedule_networks).
func (p *Plugin) AutoScheduleNetworks(ctx context.Context, host string) error {
	// Every DHCP agent asks on every pass, and nearly always nothing is to
	// be scheduled: look first without taking the write lock.
	needed := false
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		needed, err = p.autoScheduleNetworks(ctx, tx, host, false)
		return err
	})
	if err == nil && needed {
		err = p.writeRetrying(ctx, func(tx *store.Tx) error {
			_, err := p.autoScheduleNetworks(ctx, tx, host, true)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("auto-schedule networks to %s: %w", host, err)
	}
	return nil
}

// autoScheduleNetworks binds to host's DHCP agent (with bind) the
// networks that lack agents and may have this one; it reports whether
// there were any.
func (p *Plugin) autoScheduleNetworks(ctx context.Context, tx *store.Tx, host string, bind bool) (bool, error) {
	agent, err := tx.AgentByTypeHost(ctx, rpcapi.AgentTypeDHCP, host, false)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || !p.eligible(agent) {
		return false, err
	}
	nets, err := tx.DHCPEnabledNetworks(ctx, "")
	if err != nil {
		return false, err
	}
	all, err := tx.Bindings(ctx, store.DHCPBindings, "", "")
	if err != nil {
		return false, err
	}
	byNet := map[string][]store.Binding{}
	for _, b := range all {
		byNet[b.ResourceID] = append(byNet[b.ResourceID], b)
	}
	ids := make([]string, 0, len(nets))
	for id := range nets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	found := false
	for _, id := range ids {
		bs := byNet[id]
		if len(bs) >= p.opts.DHCPAgentsPerNetwork || slices.ContainsFunc(bs, func(b store.Binding) bool { return b.AgentID == agent.ID }) {
			continue
		}
		if hints := p.zoneHints(nets[id]); len(hints) > 0 && !slices.Contains(hints, agent.AvailabilityZone) {
			continue
		}
		idx := vacantIndex(bs, p.opts.DHCPAgentsPerNetwork)
		if idx == 0 {
			continue
		}
		found = true
		if !bind {
			return true, nil
		}
		if err := p.addBinding(ctx, tx, store.DHCPBindings, id, agent.ID, idx); err != nil {
			return false, err
		}
	}
	return found, nil
}

// deadLimit is how long an agent must be silent before its work moves
// (Neutron's agent_dead_limit_seconds: twice agent_down_time).
func (p *Plugin) deadLimit() time.Duration { return 2 * p.opts.AgentDownTime }

// startingUp reports whether a silent agent is still within its start-up
// grace: the dead limit plus two seconds per resource it hosts.
func (p *Plugin) startingUp(a store.AgentRow, hosted int) bool {
	return a.StartedAt.Add(p.deadLimit() + time.Duration(hosted)*2*time.Second).After(p.opts.Now())
}

// RescheduleDHCP moves networks off DHCP agents silent for longer than
// the dead limit onto alive ones (Neutron's
// remove_networks_from_down_agents), when some DHCP agent is alive.
func (p *Plugin) RescheduleDHCP(ctx context.Context) error {
	moved, err := p.removeFromDead(ctx, store.DHCPBindings, rpcapi.AgentTypeDHCP)
	if err != nil {
		return err
	}
	for _, m := range moved {
		if err := p.reserveDHCPPort(ctx, m.ResourceID, m.AgentID); err != nil {
			p.log.WarnContext(ctx, "reserving DHCP port failed", "network", m.ResourceID, "error", err)
		}
	}
	if !p.opts.NetworkAutoSchedule {
		return nil
	}
	for _, m := range moved {
		id := m.ResourceID
		if _, err := p.ScheduleNetwork(ctx, id); err != nil {
			p.log.WarnContext(ctx, "rescheduling network failed", "network", id, "error", err)
		}
	}
	return nil
}

// removeFromDead unbinds the resources of dead agents of agentType and
// returns them, each with the dead agent's host in AgentID; nothing moves
// when no agent of the type is alive.
func (p *Plugin) removeFromDead(ctx context.Context, kind store.BindingKind, agentType string) ([]store.Binding, error) {
	var moved []store.Binding
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		moved = nil
		agents, err := tx.Agents(ctx, agentType, "")
		if err != nil {
			return err
		}
		counts, err := tx.BindingCounts(ctx, kind)
		if err != nil {
			return err
		}
		cutoff := p.opts.Now().Add(-p.deadLimit())
		var dead []store.AgentRow
		anyAlive := false
		for _, a := range agents {
			switch {
			case p.eligible(a):
				anyAlive = true
			case a.Heartbeat.Before(cutoff) && counts[a.ID] > 0 && !p.startingUp(a, counts[a.ID]):
				dead = append(dead, a)
			}
		}
		if !anyAlive {
			return nil
		}
		for _, a := range dead {
			bs, err := tx.Bindings(ctx, kind, "", a.ID)
			if err != nil {
				return err
			}
			for _, b := range bs {
				p.log.WarnContext(ctx, "removing resource from dead agent", "resource", b.ResourceID,
					"agent", a.ID, "host", a.Host, "dead_time", p.deadLimit())
				if _, err := p.removeBinding(ctx, tx, kind, b.ResourceID, a.ID); err != nil {
					return err
				}
				moved = append(moved, store.Binding{ResourceID: b.ResourceID, AgentID: a.Host})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("remove %s work from dead agents: %w", agentType, err)
	}
	return moved, nil
}

// Run performs the periodic agent checks until ctx ends: every half
// agent_down_time, moves networks and routers off dead agents when
// allow_automatic_dhcp_failover and allow_automatic_l3agent_failover
// allow it.
func (p *Plugin) Run(ctx context.Context) {
	if !p.opts.AllowAutomaticDHCPFailover && !p.opts.AllowAutomaticL3AgentFailover {
		return
	}
	interval := max(p.opts.AgentDownTime/2, time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.opts.AllowAutomaticDHCPFailover {
			if err := p.RescheduleDHCP(ctx); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "DHCP failover check failed", "error", err)
			}
		}
		if p.opts.AllowAutomaticL3AgentFailover {
			if err := p.RescheduleL3(ctx); err != nil && ctx.Err() == nil {
				p.log.WarnContext(ctx, "L3 failover check failed", "error", err)
			}
		}
	}
}

// DHCPHosts returns the hosts of the alive, enabled DHCP agents hosting a
// network, inside the caller's transaction: the DHCP notifier casts to
// these hosts.
func (p *Plugin) DHCPHosts(ctx context.Context, tx *store.Tx, networkID string) ([]string, error) {
	return p.hostsOf(ctx, tx, store.DHCPBindings, networkID)
}

// L3Hosts returns the hosts of the alive, enabled L3 agents hosting a
// router, inside the caller's transaction, for the L3 notifier.
func (p *Plugin) L3Hosts(ctx context.Context, tx *store.Tx, routerID string) ([]string, error) {
	return p.hostsOf(ctx, tx, store.L3Bindings, routerID)
}

func (p *Plugin) hostsOf(ctx context.Context, tx *store.Tx, kind store.BindingKind, id string) ([]string, error) {
	bs, err := tx.Bindings(ctx, kind, id, "")
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, b := range bs {
		a, err := tx.AgentByID(ctx, b.AgentID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.eligible(a) {
			hosts = append(hosts, a.Host)
		}
	}
	return hosts, nil
}

// DHCPNetworks lists the ids of the networks a DHCP agent hosts.
func (p *Plugin) DHCPNetworks(ctx context.Context, agentID string) ([]string, error) {
	return p.hostedBy(ctx, store.DHCPBindings, agentID)
}

// L3Routers lists the ids of the routers an L3 agent hosts.
func (p *Plugin) L3Routers(ctx context.Context, agentID string) ([]string, error) {
	return p.hostedBy(ctx, store.L3Bindings, agentID)
}

func (p *Plugin) hostedBy(ctx context.Context, kind store.BindingKind, agentID string) ([]string, error) {
	var ids []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		ids = nil
		if _, err := tx.AgentByID(ctx, agentID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return AgentNotFound(agentID)
			}
			return err
		}
		bs, err := tx.Bindings(ctx, kind, "", agentID)
		for _, b := range bs {
			ids = append(ids, b.ResourceID)
		}
		return err
	})
	return ids, err
}

// NetworkDHCPAgents lists the ids of the DHCP agents hosting a network.
func (p *Plugin) NetworkDHCPAgents(ctx context.Context, networkID string) ([]string, error) {
	return p.hosting(ctx, store.DHCPBindings, networkID)
}

// RouterL3Agents lists the ids of the L3 agents hosting a router; an
// unknown router is RouterNotFound.
func (p *Plugin) RouterL3Agents(ctx context.Context, routerID string) ([]string, error) {
	if err := p.checkRouter(ctx, routerID); err != nil {
		return nil, err
	}
	return p.hosting(ctx, store.L3Bindings, routerID)
}

func (p *Plugin) hosting(ctx context.Context, kind store.BindingKind, id string) ([]string, error) {
	var ids []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		bs, err := tx.Bindings(ctx, kind, id, "")
		ids = nil
		for _, b := range bs {
			ids = append(ids, b.AgentID)
		}
		return err
	})
	return ids, err
}

// AddDHCPNetwork binds a network to a DHCP agent by the operator's
// choice (POST /agents/{id}/dhcp-networks), beyond
// dhcp_agents_per_network if need be, as Neutron's forced scheduling.
func (p *Plugin) AddDHCPNetwork(ctx context.Context, agentID, networkID string) error {
	return p.writeRetrying(ctx, func(tx *store.Tx) error {
		if n, err := tx.Count(ctx, "networks", "id", networkID); err != nil {
			return err
		} else if n == 0 {
			return networkNotFound(networkID)
		}
		a, err := tx.AgentByID(ctx, agentID)
		if errors.Is(err, store.ErrNotFound) {
			return AgentNotFound(agentID)
		}
		if err != nil {
			return err
		}
		if a.Type != rpcapi.AgentTypeDHCP || !a.AdminStateUp {
			return invalidDHCPAgent(agentID)
		}
		bs, err := tx.Bindings(ctx, store.DHCPBindings, networkID, "")
		if err != nil {
			return err
		}
		if slices.ContainsFunc(bs, func(b store.Binding) bool { return b.AgentID == agentID }) {
			return networkHostedByDHCPAgent(networkID, agentID)
		}
		return p.addBinding(ctx, tx, store.DHCPBindings, networkID, agentID, vacantIndex(bs, len(bs)+1))
	})
}

// RemoveDHCPNetwork unbinds a network from a DHCP agent. The agent's DHCP
// port stays, with device_id reserved_dhcp_port, so the next agent given
// the network reuses its address (as Neutron does).
func (p *Plugin) RemoveDHCPNetwork(ctx context.Context, agentID, networkID string) error {
	var host string
	err := p.store.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.AgentByID(ctx, agentID)
		if errors.Is(err, store.ErrNotFound) {
			return AgentNotFound(agentID)
		} else if err != nil {
			return err
		}
		host = a.Host
		ok, err := p.removeBinding(ctx, tx, store.DHCPBindings, networkID, agentID)
		if err == nil && !ok {
			return networkNotHostedByDHCPAgent(networkID, agentID)
		}
		return err
	})
	if err != nil {
		return err
	}
	return p.reserveDHCPPort(ctx, networkID, host)
}

// reserveDHCPPort marks the DHCP port of the agent on host for a network
// as reserved.
func (p *Plugin) reserveDHCPPort(ctx context.Context, networkID, host string) error {
	h := p.core[apidef.Ports]
	def := p.defs[apidef.Ports]
	if h == nil || def == nil {
		return nil
	}
	ports, err := h.List(ctx, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("network_id"), Values: []any{networkID}},
		{Attr: def.Attr("device_id"), Values: []any{rpcapi.DHCPDeviceID(networkID, host)}}}})
	if err != nil {
		return fmt.Errorf("reserve DHCP port of %s on %s: %w", host, networkID, err)
	}
	for _, pt := range ports {
		patch := resource.New(def)
		patch.Set("device_id", rpcapi.DeviceIDReservedDHCPPort)
		if _, err := h.Update(ctx, pt.ID(), patch, plugin.NoRevision); err != nil && !fault.Is(err, "PortNotFound") {
			return fmt.Errorf("reserve DHCP port %s: %w", pt.ID(), err)
		}
	}
	return nil
}

// NetworkAvailabilityZones returns, per network id, the zones of the
// DHCP agents hosting it: a network's availability_zones.
func (p *Plugin) NetworkAvailabilityZones(ctx context.Context, tx *store.Tx, networkIDs []string) (map[string][]string, error) {
	return zonesOf(ctx, tx, store.DHCPBindings, networkIDs)
}

// RouterAvailabilityZones returns, per router id, the zones of the L3
// agents hosting it: a router's availability_zones
// (router_availability_zone).
func (p *Plugin) RouterAvailabilityZones(ctx context.Context, tx *store.Tx, routerIDs []string) (map[string][]string, error) {
	return zonesOf(ctx, tx, store.L3Bindings, routerIDs)
}

// zonesOf returns, per resource id, the zones of the agents bound to it.
func zonesOf(ctx context.Context, tx *store.Tx, kind store.BindingKind, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	// One resource (a show) reads its own bindings; a list reads them all
	// in one query rather than one per resource.
	only := ""
	if len(ids) == 1 {
		only = ids[0]
	}
	bs, err := tx.Bindings(ctx, kind, only, "")
	if err != nil {
		return nil, err
	}
	zones := map[string]string{}
	for _, b := range bs {
		if !want[b.ResourceID] {
			continue
		}
		z, ok := zones[b.AgentID]
		if !ok {
			a, err := tx.AgentByID(ctx, b.AgentID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			z = a.AvailabilityZone
			zones[b.AgentID] = z
		}
		if z != "" && !slices.Contains(out[b.ResourceID], z) {
			out[b.ResourceID] = append(out[b.ResourceID], z)
		}
	}
	for _, zs := range out {
		sort.Strings(zs)
	}
	return out, nil
}

func agentNotFoundByTypeHost(agentType, host string) error {
	return fault.NotFound("AgentNotFoundByTypeHost", "Agent with agent_type="+agentType+" and host="+host+" could not be found")
}
