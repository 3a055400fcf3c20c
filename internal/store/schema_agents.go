package store

// Agents and their scheduling bindings (Neutron's agents,
// networkdhcpagentbindings and routerl3agentbindings tables). Timestamps
// are text in Neutron's agent format ("2006-01-02 15:04:05", UTC), which
// sorts chronologically. Router bindings carry no foreign key to routers:
// routers live in another part of the schema and remove their bindings
// themselves. The agent's binary is stored as agent_binary: BINARY is
// reserved in PostgreSQL.
func init() {
	registerMigration(migration{10, "agents and agent scheduling", []string{
		`CREATE TABLE agents (
			id VARCHAR(36) PRIMARY KEY,
			agent_type VARCHAR(255) NOT NULL,
			agent_binary VARCHAR(255) NOT NULL,
			topic VARCHAR(255) NOT NULL,
			host VARCHAR(255) NOT NULL,
			availability_zone VARCHAR(255),
			admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
			created_at VARCHAR(20) NOT NULL,
			started_at VARCHAR(20) NOT NULL,
			heartbeat_timestamp VARCHAR(20) NOT NULL,
			description VARCHAR(255),
			configurations TEXT NOT NULL DEFAULT '{}',
			resource_versions TEXT,
			load INTEGER NOT NULL DEFAULT 0,
			resources_synced BOOLEAN,
			UNIQUE (agent_type, host)
		)`,
		`CREATE INDEX agents_host ON agents (host)`,
		`CREATE TABLE networkdhcpagentbindings (
			network_id VARCHAR(36) NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
			dhcp_agent_id VARCHAR(36) NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
			binding_index INTEGER NOT NULL DEFAULT 1,
			PRIMARY KEY (network_id, dhcp_agent_id),
			UNIQUE (network_id, binding_index)
		)`,
		`CREATE INDEX networkdhcpagentbindings_agent ON networkdhcpagentbindings (dhcp_agent_id)`,
		`CREATE TABLE routerl3agentbindings (
			router_id VARCHAR(36) NOT NULL,
			l3_agent_id VARCHAR(36) NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
			binding_index INTEGER NOT NULL DEFAULT 1,
			PRIMARY KEY (router_id, l3_agent_id),
			UNIQUE (router_id, binding_index)
		)`,
		`CREATE INDEX routerl3agentbindings_agent ON routerl3agentbindings (l3_agent_id)`,
	}})
}
