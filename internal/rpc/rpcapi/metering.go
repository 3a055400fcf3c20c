package rpcapi

// The metering agents' RPC (neutron/db/metering/metering_rpc.py and
// neutron/api/rpc/agentnotifiers/metering_rpc_agent_api.py): the agent
// calls get_sync_data_metering {host} on TopicMeteringPlugin and gets the
// routers of its host with their metering labels; the server casts label
// and rule changes on TopicMeteringAgent with the affected routers.
const (
	TopicMeteringPlugin = "metering_plugin"
	TopicMeteringAgent  = "metering_agent"

	AgentTypeMetering   = "Metering agent"
	BinaryMeteringAgent = "neutron-metering-agent"

	MethodGetSyncDataMetering      = "get_sync_data_metering"
	MethodAddMeteringLabel         = "add_metering_label"
	MethodRemoveMeteringLabel      = "remove_metering_label"
	MethodAddMeteringLabelRule     = "add_metering_label_rule"
	MethodRemoveMeteringLabelRule  = "remove_metering_label_rule"
	MethodUpdateMeteringLabelRules = "update_metering_label_rules"
)

// SyncMeteringArgs are get_sync_data_metering's arguments.
type SyncMeteringArgs struct {
	Host string `json:"host"`
}

// MeteringRouter is one router of get_sync_data_metering's answer (and of
// the notifications' routers argument): the router's own fields and the
// labels that apply to it (its project's labels and every shared one).
type MeteringRouter struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	ProjectID     string          `json:"project_id"`
	AdminStateUp  bool            `json:"admin_state_up"`
	Status        string          `json:"status"`
	GatewayPortID Nullable        `json:"gw_port_id"`
	Distributed   bool            `json:"distributed"`
	Labels        []MeteringLabel `json:"_metering_labels"`
}

// MeteringLabel is a label as the metering agents see it. Rule is set
// instead of Rules in the rule notifications.
type MeteringLabel struct {
	ID     string         `json:"id"`
	Name   string         `json:"name,omitempty"`
	Shared bool           `json:"shared"`
	Rules  []MeteringRule `json:"rules,omitempty"`
	Rule   *MeteringRule  `json:"rule,omitempty"`
}

// MeteringRule is a metering label rule; unset prefixes are null.
type MeteringRule struct {
	ID                  string  `json:"id"`
	MeteringLabelID     string  `json:"metering_label_id"`
	Direction           string  `json:"direction"`
	Excluded            bool    `json:"excluded"`
	RemoteIPPrefix      *string `json:"remote_ip_prefix"`
	SourceIPPrefix      *string `json:"source_ip_prefix"`
	DestinationIPPrefix *string `json:"destination_ip_prefix"`
}

// MeteringRoutersArgs are the metering notifications' arguments.
type MeteringRoutersArgs struct {
	Routers []MeteringRouter `json:"routers"`
}
