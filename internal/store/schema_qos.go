package store

// QoS (neutron/db/qos/models.py): policies and one table per rule type.
// Neutron keeps a policy's bindings to networks, ports, floating IPs and
// router gateways in binding tables; here each holds its policy in a
// qos_policy_id column (a router's for its gateway), so a port or a
// network reads its policy with no join and "is the policy in use" is one
// indexed lookup per table. A rule type may appear once per direction in a
// policy (DSCP marking once), which the unique keys hold against
// concurrent creates.
func init() {
	registerMigration(migration{19, "qos: policies, rules, bindings", []string{
		`CREATE TABLE policies (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			shared BOOLEAN NOT NULL DEFAULT FALSE,
			is_default BOOLEAN NOT NULL DEFAULT FALSE,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX policies_project_id ON policies (project_id)`,
		`CREATE TABLE bandwidth_limit_rules (
			id VARCHAR(36) PRIMARY KEY,
			qos_policy_id VARCHAR(36) NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
			max_kbps INTEGER NOT NULL,
			max_burst_kbps INTEGER NOT NULL DEFAULT 0,
			direction VARCHAR(16) NOT NULL DEFAULT 'egress',
			UNIQUE (qos_policy_id, direction)
		)`,
		`CREATE TABLE dscp_marking_rules (
			id VARCHAR(36) PRIMARY KEY,
			qos_policy_id VARCHAR(36) NOT NULL UNIQUE REFERENCES policies (id) ON DELETE CASCADE,
			dscp_mark INTEGER NOT NULL
		)`,
		`CREATE TABLE minimum_bandwidth_rules (
			id VARCHAR(36) PRIMARY KEY,
			qos_policy_id VARCHAR(36) NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
			min_kbps INTEGER NOT NULL,
			direction VARCHAR(16) NOT NULL DEFAULT 'egress',
			UNIQUE (qos_policy_id, direction)
		)`,
		`CREATE TABLE packet_rate_limit_rules (
			id VARCHAR(36) PRIMARY KEY,
			qos_policy_id VARCHAR(36) NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
			max_kpps INTEGER NOT NULL,
			max_burst_kpps INTEGER NOT NULL DEFAULT 0,
			direction VARCHAR(16) NOT NULL DEFAULT 'egress',
			UNIQUE (qos_policy_id, direction)
		)`,
		`CREATE TABLE minimum_packet_rate_rules (
			id VARCHAR(36) PRIMARY KEY,
			qos_policy_id VARCHAR(36) NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
			min_kpps INTEGER NOT NULL,
			direction VARCHAR(16) NOT NULL DEFAULT 'egress',
			UNIQUE (qos_policy_id, direction)
		)`,
		`ALTER TABLE networks ADD COLUMN qos_policy_id VARCHAR(36)`,
		`ALTER TABLE ports ADD COLUMN qos_policy_id VARCHAR(36)`,
		`ALTER TABLE floatingips ADD COLUMN qos_policy_id VARCHAR(36)`,
		`ALTER TABLE routers ADD COLUMN gw_qos_policy_id VARCHAR(36)`,
		`CREATE INDEX networks_qos_policy_id ON networks (qos_policy_id)`,
		`CREATE INDEX ports_qos_policy_id ON ports (qos_policy_id)`,
		`CREATE INDEX floatingips_qos_policy_id ON floatingips (qos_policy_id)`,
		`CREATE INDEX routers_gw_qos_policy_id ON routers (gw_qos_policy_id)`,
	}})
}
