// Package notify turns committed changes of networks, subnets and ports
// into Neutron's notifications to agents, recorded in the change's
// transaction through an outbox:
//
//   - to L2 agents, as ML2's AgentNotifierApi: port_update (with the
//     port's segment), port_delete, network_update and network_delete,
//     each a fanout on its q-agent-notifier-… topic;
//   - to DHCP agents, as DhcpAgentNotifyAPI: network|subnet|port
//     _create|_update|_delete_end with {"payload": …}, cast to the DHCP
//     agents hosting the network (dhcp_agent.<host>), or fanout on
//     dhcp_agent when none is scheduled (and always for network deletes).
//
// A Notifier is a change.Notifier: the server sets it on the networks,
// subnets and ports handlers.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// DHCPScheduler tells which hosts' DHCP agents serve a network; the
// agents plugin's network scheduler implements it. It runs inside the
// change's transaction.
type DHCPScheduler interface {
	DHCPHosts(ctx context.Context, tx *store.Tx, networkID string) ([]string, error)
}

// Segment is what L2 agents need to wire a port: its network's segment.
type Segment struct {
	NetworkType     string  `json:"network_type"`
	SegmentationID  *int    `json:"segmentation_id"`
	PhysicalNetwork *string `json:"physical_network"`
}

// SegmentFinder finds the segment a port is bound to (ML2 implements it).
type SegmentFinder interface {
	PortSegment(ctx context.Context, tx *store.Tx, port *resource.Object) (Segment, error)
}

// Notifier records agent notifications for network, subnet and port
// changes. Outbox must be set; DHCP and Segments may be nil (fanout to
// every DHCP agent; port_update without a segment).
type Notifier struct {
	Outbox   change.Outbox
	DHCP     DHCPScheduler
	Segments SegmentFinder
}

var _ change.Notifier = (*Notifier)(nil)

// DHCP notification priorities (lower is more urgent), as Neutron's
// dhcp_rpc_agent_api gives them, so a DHCP agent can order its work.
var dhcpPriority = map[string]int{
	"network_create_end": 0,
	"network_update_end": 1,
	"network_delete_end": 2,
	"subnet_create_end":  3,
	"subnet_update_end":  3,
	"subnet_delete_end":  4,
	"port_create_end":    6,
	"port_update_end":    6,
	"port_delete_end":    6,
}

// priorityPortCreateHigh is port_create_end's priority for the one agent
// chosen to serve a new port first.
const priorityPortCreateHigh = 5

// Notify implements change.Notifier.
func (n *Notifier) Notify(ctx context.Context, tx *store.Tx, ev change.Event) error {
	if n == nil || n.Outbox == nil {
		return nil
	}
	if ev.Action == change.ActionUpdate && ev.Old != nil && ev.New != nil &&
		ev.Old.Has("revision_number") && ev.Old.Int("revision_number") == ev.New.Int("revision_number") {
		return nil // nothing changed
	}
	var ns []note
	var err error
	switch ev.Resource {
	case "network":
		ns, err = n.network(ctx, tx, ev)
	case "subnet":
		ns, err = n.dhcp(ctx, tx, ev, "subnet")
	case "port":
		ns, err = n.port(ctx, tx, ev)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify agents of %s %s: %w", ev.Resource, ev.Action, err)
	}
	out := make([]rpcapi.Notification, len(ns))
	for i, x := range ns {
		raw, err := json.Marshal(x.args)
		if err != nil {
			return fmt.Errorf("notify agents of %s %s: encode %s: %w", ev.Resource, ev.Action, x.Method, err)
		}
		x.Args = raw
		out[i] = x.Notification
	}
	return n.Outbox.Record(ctx, tx, out...)
}

func (n *Notifier) network(ctx context.Context, tx *store.Tx, ev change.Event) ([]note, error) {
	var ns []note
	switch ev.Action {
	case change.ActionUpdate:
		ns = append(ns, fanout(rpcapi.TopicNetworkUpdate, "network_update", "1.4", map[string]any{"network": dict(ev.New)}))
	case change.ActionDelete:
		ns = append(ns, fanout(rpcapi.TopicNetworkDelete, "network_delete", "", map[string]any{"network_id": ev.Old.ID()}))
	}
	d, err := n.dhcp(ctx, tx, ev, "network")
	return append(ns, d...), err
}

func (n *Notifier) port(ctx context.Context, tx *store.Tx, ev change.Event) ([]note, error) {
	var ns []note
	switch ev.Action {
	case change.ActionUpdate:
		args := map[string]any{"port": dict(ev.New), "network_type": nil, "segmentation_id": nil, "physical_network": nil}
		if n.Segments != nil {
			seg, err := n.Segments.PortSegment(ctx, tx, ev.New)
			if err != nil {
				return nil, err
			}
			args["network_type"], args["segmentation_id"], args["physical_network"] = seg.NetworkType, seg.SegmentationID, seg.PhysicalNetwork
		}
		ns = append(ns, fanout(rpcapi.TopicPortUpdate, "port_update", "", args))
	case change.ActionDelete:
		ns = append(ns, fanout(rpcapi.TopicPortDelete, "port_delete", "", map[string]any{"port_id": ev.Old.ID()}))
	}
	if ev.Action == change.ActionUpdate && !dhcpRelevant(ev.Old, ev.New) {
		return ns, nil // a status or binding change: no work for DHCP
	}
	d, err := n.dhcp(ctx, tx, ev, "port")
	return append(ns, d...), err
}

// dhcpRelevant reports whether a port update changes what DHCP serves,
// as Neutron's _notification_is_needed decides.
func dhcpRelevant(old, updated *resource.Object) bool {
	for _, k := range []string{"fixed_ips", "mac_address", "extra_dhcp_opts", "dns_name", "dns_assignment", "dns_domain"} {
		a, _ := json.Marshal(old.Get(k))
		b, _ := json.Marshal(updated.Get(k))
		if string(a) != string(b) {
			return true
		}
	}
	return false
}

// dhcp builds the DHCP agents' <kind>_<action>_end notifications.
func (n *Notifier) dhcp(ctx context.Context, tx *store.Tx, ev change.Event, kind string) ([]note, error) {
	method := kind + "_" + ev.Action + "_end"
	var payload map[string]any
	var netID string
	if ev.Action == change.ActionDelete {
		netID = ev.Old.String("network_id")
		payload = map[string]any{kind + "_id": ev.Old.ID()}
		switch kind {
		case "network":
			netID = ev.Old.ID()
		case "port":
			payload["network_id"] = netID
			payload["fixed_ips"] = orEmpty(ev.Old.Get("fixed_ips"))
		default:
			payload["network_id"] = netID
		}
	} else {
		netID = ev.New.String("network_id")
		if kind == "network" {
			netID = ev.New.ID()
		}
		payload = map[string]any{kind: dict(ev.New)}
	}
	payload["priority"] = dhcpPriority[method]
	var hosts []string
	// A network is scheduled to DHCP agents in transactions of its own
	// once it has a DHCP-enabled subnet: none hosts it while it is being
	// created.
	if n.DHCP != nil && method != "network_delete_end" && method != "network_create_end" {
		var err error
		if hosts, err = n.DHCP.DHCPHosts(ctx, tx, netID); err != nil {
			return nil, fmt.Errorf("DHCP agents of network %s: %w", netID, err)
		}
	}
	// Fanout when nobody is known to listen; a created network has no
	// DHCP agent to tell until it gets a subnet or port.
	if len(hosts) == 0 {
		return []note{fanout(rpcapi.TopicDHCPAgent, method, "", map[string]any{"payload": payload})}, nil
	}
	if method == "network_create_end" {
		return nil, nil
	}
	ns := make([]note, 0, len(hosts))
	for i, h := range hosts {
		p := payload
		if method == "port_create_end" && i == 0 {
			p = maps.Clone(payload)
			p["priority"] = priorityPortCreateHigh
		}
		ns = append(ns, cast(rpcapi.HostTopic(rpcapi.TopicDHCPAgent, h), method, "", map[string]any{"payload": p}))
	}
	return ns, nil
}

func orEmpty(v any) any {
	if v == nil {
		return []any{}
	}
	return v
}

// dict is the object as the API shows it to an admin.
func dict(o *resource.Object) map[string]any {
	m := o.Map()
	if p, ok := m["project_id"]; ok {
		if _, has := m["tenant_id"]; !has && o.Resource().Attr("tenant_id") != nil {
			m["tenant_id"] = p
		}
	}
	return m
}

// note is a notification whose args are yet to be encoded.
type note struct {
	rpcapi.Notification
	args any
}

func fanout(topic, method, version string, args any) note {
	n := cast(topic, method, version, args)
	n.Fanout = true
	return n
}

func cast(topic, method, version string, args any) note {
	if version == "" {
		version = "1.0"
	}
	return note{Notification: rpcapi.Notification{Topic: topic, Method: method, Version: version}, args: args}
}
