package agents

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// checkRouter answers RouterNotFound for a router the routers plugin does
// not know (or when no routers plugin is wired).
func (p *Plugin) checkRouter(ctx context.Context, routerID string) error {
	if p.routers == nil {
		return routerNotFound(routerID)
	}
	ok, err := p.routers.RouterExists(ctx, routerID)
	if err != nil {
		return fmt.Errorf("check router %s: %w", routerID, err)
	}
	if !ok {
		return routerNotFound(routerID)
	}
	return nil
}

// ScheduleRouter binds a router to an eligible L3 agent when no agent
// hosts it yet, choosing by [DEFAULT] router_scheduler_driver (the agent
// with the fewest routers, or at random), among agents of
// default_availability_zones when set; it returns the hosting agent's
// host, or "" when no agent is eligible. The L3 plugin calls it after
// creating a router or adding its gateway or first interface.
func (p *Plugin) ScheduleRouter(ctx context.Context, routerID string) (string, error) {
	return p.ScheduleRouterInZones(ctx, routerID, nil)
}

// ScheduleRouterInZones is ScheduleRouter for a router with
// availability_zone_hints (router_availability_zone): only agents in
// those zones are eligible.
func (p *Plugin) ScheduleRouterInZones(ctx context.Context, routerID string, azHints []string) (string, error) {
	if len(azHints) == 0 {
		azHints = p.opts.DefaultAvailabilityZones
	}
	var host string
	err := p.writeRetrying(ctx, func(tx *store.Tx) error {
		host = ""
		bs, err := tx.Bindings(ctx, store.L3Bindings, routerID, "")
		if err != nil {
			return err
		}
		if len(bs) > 0 {
			a, err := tx.AgentByID(ctx, bs[0].AgentID)
			if err == nil {
				host = a.Host
			}
			return nil
		}
		agents, err := tx.Agents(ctx, rpcapi.AgentTypeL3, "")
		if err != nil {
			return err
		}
		var candidates []store.AgentRow
		for _, a := range agents {
			if p.eligible(a) && (len(azHints) == 0 || slices.Contains(azHints, a.AvailabilityZone)) && !dvrOnly(a) {
				candidates = append(candidates, a)
			}
		}
		if len(candidates) == 0 {
			return nil
		}
		chosen := candidates[rand.IntN(len(candidates))]
		if p.opts.RouterSchedulerDriver != ChanceScheduler {
			counts, err := tx.BindingCounts(ctx, store.L3Bindings)
			if err != nil {
				return err
			}
			chosen = candidates[0]
			for _, a := range candidates[1:] {
				if counts[a.ID] < counts[chosen.ID] {
					chosen = a
				}
			}
		}
		if err := p.addBinding(ctx, tx, store.L3Bindings, routerID, chosen.ID, 1); err != nil {
			return err
		}
		host = chosen.Host
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("schedule router %s: %w", routerID, err)
	}
	return host, nil
}

// dvrOnly reports whether an L3 agent runs in agent_mode dvr, where
// legacy routers are never scheduled.
func dvrOnly(a store.AgentRow) bool {
	return toAgent(a).Configurations["agent_mode"] == "dvr"
}

// AutoScheduleRouters gives the L3 agent on host the routers no agent
// hosts (Neutron's auto_schedule_routers when an L3 agent syncs).
func (p *Plugin) AutoScheduleRouters(ctx context.Context, host string) error {
	if p.routers == nil {
		return nil
	}
	ids, err := p.routers.RouterIDs(ctx)
	if err != nil {
		return fmt.Errorf("auto-schedule routers to %s: %w", host, err)
	}
	// As for networks: look first, take the write lock only when some
	// router needs an agent.
	needed := false
	err = p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		needed, err = p.autoScheduleRouters(ctx, tx, host, ids, false)
		return err
	})
	if err == nil && needed {
		err = p.writeRetrying(ctx, func(tx *store.Tx) error {
			_, err := p.autoScheduleRouters(ctx, tx, host, ids, true)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("auto-schedule routers to %s: %w", host, err)
	}
	return nil
}

// autoScheduleRouters binds to host's L3 agent (with bind) the routers of
// ids that no agent hosts; it reports whether there were any.
func (p *Plugin) autoScheduleRouters(ctx context.Context, tx *store.Tx, host string, ids []string, bind bool) (bool, error) {
	agent, err := tx.AgentByTypeHost(ctx, rpcapi.AgentTypeL3, host, false)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || !p.eligible(agent) || dvrOnly(agent) {
		return false, err
	}
	all, err := tx.Bindings(ctx, store.L3Bindings, "", "")
	if err != nil {
		return false, err
	}
	hosted := map[string]bool{}
	for _, b := range all {
		hosted[b.ResourceID] = true
	}
	found := false
	for _, id := range ids {
		if hosted[id] {
			continue
		}
		found = true
		if !bind {
			return true, nil
		}
		if err := p.addBinding(ctx, tx, store.L3Bindings, id, agent.ID, 1); err != nil {
			return false, err
		}
	}
	return found, nil
}

// RescheduleL3 moves routers off L3 agents silent for longer than the
// dead limit onto alive ones (allow_automatic_l3agent_failover).
func (p *Plugin) RescheduleL3(ctx context.Context) error {
	moved, err := p.removeFromDead(ctx, store.L3Bindings, rpcapi.AgentTypeL3)
	if err != nil {
		return err
	}
	for _, m := range moved {
		if _, err := p.ScheduleRouter(ctx, m.ResourceID); err != nil {
			p.log.WarnContext(ctx, "rescheduling router failed", "router", m.ResourceID, "error", err)
		}
	}
	return nil
}

// RouterIDs returns the ids of the routers the L3 agent on host hosts
// (Neutron's get_router_ids), scheduling unhosted routers to it first
// when router_auto_schedule is on.
func (p *Plugin) RouterIDs(ctx context.Context, host string) ([]string, error) {
	if p.opts.RouterAutoSchedule {
		if err := p.AutoScheduleRouters(ctx, host); err != nil {
			p.log.WarnContext(ctx, "auto-scheduling routers failed", "host", host, "error", err)
		}
	}
	var ids []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		ids = []string{}
		agent, err := tx.AgentByTypeHost(ctx, rpcapi.AgentTypeL3, host, false)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || !agent.AdminStateUp {
			return err
		}
		bs, err := tx.Bindings(ctx, store.L3Bindings, "", agent.ID)
		for _, b := range bs {
			ids = append(ids, b.ResourceID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("routers of %s: %w", host, err)
	}
	return ids, nil
}

// AddL3Router binds a router to an L3 agent by the operator's choice
// (POST /agents/{id}/l3-routers).
func (p *Plugin) AddL3Router(ctx context.Context, agentID, routerID string) error {
	if err := p.checkRouter(ctx, routerID); err != nil {
		return err
	}
	return p.store.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.AgentByID(ctx, agentID)
		if errors.Is(err, store.ErrNotFound) {
			return AgentNotFound(agentID)
		}
		if err != nil {
			return err
		}
		if a.Type != rpcapi.AgentTypeL3 || !a.AdminStateUp {
			return invalidL3Agent(agentID)
		}
		bs, err := tx.Bindings(ctx, store.L3Bindings, routerID, "")
		if err != nil {
			return err
		}
		// A legacy router lives on one agent: Neutron refuses a second,
		// naming the agent that hosts it.
		if len(bs) > 0 {
			return routerHostedByL3Agent(routerID, bs[0].AgentID)
		}
		return p.addBinding(ctx, tx, store.L3Bindings, routerID, agentID, 1)
	})
}

// RemoveL3Router unbinds a router from an L3 agent.
func (p *Plugin) RemoveL3Router(ctx context.Context, agentID, routerID string) error {
	return p.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.AgentByID(ctx, agentID); errors.Is(err, store.ErrNotFound) {
			return AgentNotFound(agentID)
		} else if err != nil {
			return err
		}
		ok, err := p.removeBinding(ctx, tx, store.L3Bindings, routerID, agentID)
		if err == nil && !ok {
			return routerNotHostedByL3Agent(routerID, agentID)
		}
		return err
	})
}

// UnbindRouter removes every binding of a router; the L3 plugin calls it
// inside the transaction deleting the router.
func (p *Plugin) UnbindRouter(ctx context.Context, tx *store.Tx, routerID string) error {
	_, err := tx.RemoveBinding(ctx, store.L3Bindings, routerID, "")
	return err
}

// RouterHosts returns, per router, the hosts of the administratively up
// L3 agents hosting it (Neutron's get_hosts_to_notify): routers_updated
// is cast to each of them rather than fanned out to every L3 agent.
func (p *Plugin) RouterHosts(ctx context.Context, tx *store.Tx, routerIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	agents := map[string]store.AgentRow{}
	for _, id := range routerIDs {
		bs, err := tx.Bindings(ctx, store.L3Bindings, id, "")
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			a, ok := agents[b.AgentID]
			if !ok {
				if a, err = tx.AgentByID(ctx, b.AgentID); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					return nil, err
				}
				agents[b.AgentID] = a
			}
			if a.AdminStateUp && !slices.Contains(out[id], a.Host) {
				out[id] = append(out[id], a.Host)
			}
		}
	}
	return out, nil
}

// HostedRouterIDs returns the routers of ids (all when ids is empty)
// scheduled to the L3 agent on host, as Neutron's
// list_active_sync_routers_on_active_l3_agent chooses what sync_routers
// returns: none when the agent is administratively down, and
// AgentNotFoundByTypeHost when host has no L3 agent.
func (p *Plugin) HostedRouterIDs(ctx context.Context, host string, ids []string) ([]string, error) {
	var out []string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		out = []string{}
		agent, err := tx.AgentByTypeHost(ctx, rpcapi.AgentTypeL3, host, false)
		if errors.Is(err, store.ErrNotFound) {
			return agentNotFoundByTypeHost(rpcapi.AgentTypeL3, host)
		}
		if err != nil || !agent.AdminStateUp {
			return err
		}
		bs, err := tx.Bindings(ctx, store.L3Bindings, "", agent.ID)
		for _, b := range bs {
			if len(ids) == 0 || slices.Contains(ids, b.ResourceID) {
				out = append(out, b.ResourceID)
			}
		}
		return err
	})
	return out, err
}
