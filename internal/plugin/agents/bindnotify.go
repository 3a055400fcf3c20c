package agents

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// addBinding places a network on a DHCP agent or a router on an L3
// agent and, in the same transaction, tells that agent: Neutron's
// network_create_end to the DHCP agent, router_added_to_agent to the L3
// agent (DhcpAgentNotifyAPI and L3AgentNotifyAPI).
func (p *Plugin) addBinding(ctx context.Context, tx *store.Tx, kind store.BindingKind, resourceID, agentID string, index int) error {
	if err := tx.AddBinding(ctx, kind, resourceID, agentID, index); err != nil {
		return err
	}
	if b, ok := p.routers.(RouterPortBinder); ok && kind == store.L3Bindings {
		a, err := tx.AgentByID(ctx, agentID)
		if err != nil {
			return fmt.Errorf("agent %s: %w", agentID, err)
		}
		if err := b.BindRouterPorts(ctx, tx, resourceID, a.Host); err != nil {
			return err
		}
	}
	return p.notifyBinding(ctx, tx, kind, resourceID, agentID, true)
}

// RouterPortBinder is what the routers plugin does when a router gets
// an L3 agent (scheduled, rescheduled, placed by the operator): it binds
// the router's ports to that agent's host in the same transaction, so
// that the host's L2 agent wires them while the L3 agent builds the
// router, and sync_routers has nothing to write.
type RouterPortBinder interface {
	BindRouterPorts(ctx context.Context, tx *store.Tx, routerID, host string) error
}

// removeBinding takes a network off a DHCP agent or a router off an L3
// agent and tells that agent (network_delete_end,
// router_removed_from_agent); it reports whether there was a binding.
func (p *Plugin) removeBinding(ctx context.Context, tx *store.Tx, kind store.BindingKind, resourceID, agentID string) (bool, error) {
	ok, err := tx.RemoveBinding(ctx, kind, resourceID, agentID)
	if err != nil || !ok {
		return ok, err
	}
	return true, p.notifyBinding(ctx, tx, kind, resourceID, agentID, false)
}

func (p *Plugin) notifyBinding(ctx context.Context, tx *store.Tx, kind store.BindingKind, resourceID, agentID string, added bool) error {
	if p.opts.Outbox == nil {
		return nil
	}
	a, err := tx.AgentByID(ctx, agentID)
	if err != nil {
		return fmt.Errorf("notify the agent of a binding: %w", err)
	}
	var n rpcapi.Notification
	var payload any
	switch {
	case kind == store.L3Bindings && added:
		n = rpcapi.Notification{Topic: rpcapi.HostTopic(rpcapi.TopicL3Agent, a.Host), Method: rpcapi.MethodRouterAddedToAgent}
		payload = map[string]any{"payload": []string{resourceID}}
	case kind == store.L3Bindings:
		n = rpcapi.Notification{Topic: rpcapi.HostTopic(rpcapi.TopicL3Agent, a.Host), Method: rpcapi.MethodRouterRemovedFromAgent}
		payload = map[string]any{"payload": map[string]string{"router_id": resourceID}}
	case added:
		n = rpcapi.Notification{Topic: rpcapi.HostTopic(rpcapi.TopicDHCPAgent, a.Host), Method: "network_create_end"}
		payload = map[string]any{"payload": map[string]any{"network": map[string]string{"id": resourceID}}}
	default:
		n = rpcapi.Notification{Topic: rpcapi.HostTopic(rpcapi.TopicDHCPAgent, a.Host), Method: "network_delete_end"}
		payload = map[string]any{"payload": map[string]string{"network_id": resourceID}}
	}
	if n.Args, err = json.Marshal(payload); err != nil {
		return err
	}
	n.Version = "1.0"
	return p.opts.Outbox.Record(ctx, tx, n)
}
