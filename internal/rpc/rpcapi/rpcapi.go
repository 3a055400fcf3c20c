// Package rpcapi is the RPC API between the Neutrino server and its agents:
// topic names, method names and the JSON payloads both sides exchange over
// the message bus. Server and agents import this one package so the two
// sides cannot drift. It holds types and constants only (no I/O, no
// imports beyond the standard library), so an agent can import it without
// pulling in the server.
//
// Topics and methods carry Neutron's names (neutron/common/topics.py and
// the RPC APIs under neutron/api/rpc), so a reader of Neutron's sources
// finds the same protocol here. Payloads are JSON; each area (L2, DHCP,
// L3, security groups, agents) has a file of its own.
package rpcapi

import "encoding/json"

// Topics, as Neutron names them. Host-scoped topics are "<topic>.<host>".
const (
	TopicPlugin        = "q-plugin"                     // agents → server calls
	TopicReports       = "q-reports-plugin"             // agents' report_state
	TopicL3Plugin      = "q-l3-plugin"                  // L3 agents → server
	TopicDHCPPlugin    = "q-dhcp-notifer"               // DHCP agents → server (Neutron's spelling)
	TopicAgentNotifier = "q-agent-notifier"             // server → L2 agents, fanout, with suffixes below
	TopicDHCPAgent     = "dhcp_agent"                   // server → DHCP agent on a host
	TopicL3Agent       = "l3_agent"                     // server → L3 agent on a host
	TopicPortUpdate    = "q-agent-notifier-port-update" // fanout
	TopicPortDelete    = "q-agent-notifier-port-delete" // fanout
	TopicNetworkUpdate = "q-agent-notifier-network-update"
	TopicNetworkDelete = "q-agent-notifier-network-delete"
	TopicSecurityGroup = "q-agent-notifier-security_group-update"
	TopicL2Population  = "q-agent-notifier-l2population-update"
)

// HostTopic is a topic scoped to one host, as Neutron's topics.get_topic_name
// builds for cast-to-host notifications ("dhcp_agent.host1").
func HostTopic(topic, host string) string { return topic + "." + host }

// Notification is one message the server sends to agents after a change
// commits. Plugins record notifications in the transaction that makes the
// change (the outbox); a publisher sends them after commit.
type Notification struct {
	// Topic is where it goes: a fanout topic, or a host topic.
	Topic string `json:"topic"`
	// Method is the agent-side method (port_update, fdb_add,
	// network_create_end, routers_updated …).
	Method string `json:"method"`
	// Fanout delivers to every consumer of Topic; otherwise one consumer
	// (a cast).
	Fanout bool `json:"fanout,omitempty"`
	// Version is the RPC API version of the payload ("1.0").
	Version string `json:"version,omitempty"`
	// Args are the method's keyword arguments as JSON.
	Args json.RawMessage `json:"args"`
}
