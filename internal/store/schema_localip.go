package store

// The local_ip extension's schema: local IPs and their port associations
// (Neutron's local_ips and local_ip_associations). An association is
// keyed by its local IP and fixed port, as in Neutron; its id column
// holds both joined, the key the API's sub-resource addresses.
func init() {
	registerMigration(migration{13, "local IPs and their port associations", []string{
		`CREATE TABLE local_ips (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(1024) NOT NULL DEFAULT '',
			local_port_id VARCHAR(36) NOT NULL REFERENCES ports (id),
			network_id VARCHAR(36) NOT NULL,
			local_ip_address VARCHAR(64) NOT NULL,
			ip_mode VARCHAR(32) NOT NULL,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX local_ips_project_id ON local_ips (project_id)`,
		`CREATE INDEX local_ips_local_port_id ON local_ips (local_port_id)`,
		`CREATE TABLE port_associations (
			id VARCHAR(73) PRIMARY KEY,
			local_ip_id VARCHAR(36) NOT NULL REFERENCES local_ips (id),
			fixed_port_id VARCHAR(36) NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
			fixed_ip VARCHAR(64) NOT NULL,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			UNIQUE (local_ip_id, fixed_port_id)
		)`,
		`CREATE INDEX port_associations_fixed_port_id ON port_associations (fixed_port_id)`,
	}})
}
