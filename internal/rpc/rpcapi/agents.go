package rpcapi

// Agent types, as Neutron's agents report them (neutron_lib.constants
// AGENT_TYPE_*).
const (
	AgentTypeDHCP        = "DHCP agent"
	AgentTypeL3          = "L3 agent"
	AgentTypeLinuxBridge = "Linux bridge agent"
	AgentTypeOVS         = "Open vSwitch agent"
	AgentTypeMetadata    = "Metadata agent"
)

// Agent statuses report_state returns, from the server's point of view
// (neutron_lib.agent.constants): a new agent, one that was alive, and one
// whose previous heartbeat was older than agent_down_time. An agent that
// hears "revived" resyncs fully.
const (
	AgentNew     = "new"
	AgentAlive   = "alive"
	AgentRevived = "revived"
)

// MethodReportState is the state-report call agents make on TopicReports.
const MethodReportState = "report_state"

// AgentState is the agent_state an agent reports periodically (Neutron's
// agent_state dict): who it is, what it serves, and how it is configured.
type AgentState struct {
	AgentType string `json:"agent_type"`
	Binary    string `json:"binary"`
	Host      string `json:"host"`
	Topic     string `json:"topic"`
	// Configurations are free-form, per agent type (bridge_mappings,
	// networks, routers …); shown as the agent's configurations.
	Configurations map[string]any `json:"configurations,omitempty"`
	// StartFlag is set on the first report after the agent started.
	StartFlag        bool              `json:"start_flag,omitempty"`
	AvailabilityZone string            `json:"availability_zone,omitempty"`
	ResourceVersions map[string]string `json:"resource_versions,omitempty"`
	// UUID identifies one run of the agent (Neutron logs it).
	UUID string `json:"uuid,omitempty"`
	// ResourcesSynced is set once the agent has synced its resources.
	ResourcesSynced *bool `json:"resources_synced,omitempty"`
}

// ReportStateArgs are report_state's arguments: Neutron nests the state
// as agent_state.agent_state and sends the agent's clock as time
// ("%Y-%m-%dT%H:%M:%S.%f").
type ReportStateArgs struct {
	AgentState struct {
		AgentState AgentState `json:"agent_state"`
	} `json:"agent_state"`
	Time string `json:"time,omitempty"`
}
