package store

// Trunks and their sub-ports (Neutron's trunks and subports tables), the
// port attributes of the port binding extensions, and the inactive
// bindings of binding-extended.
func init() {
	registerMigration(migration{17, "trunks, sub-ports, port binding extensions", []string{
		`CREATE TABLE trunks (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
			port_id VARCHAR(36) NOT NULL UNIQUE REFERENCES ports (id),
			status VARCHAR(16) NOT NULL DEFAULT 'DOWN',
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX trunks_project_id ON trunks (project_id)`,
		// A port is the sub-port of one trunk at most, and a trunk uses
		// a segmentation (type, id) once, as Neutron's unique key says.
		`CREATE TABLE subports (
			port_id VARCHAR(36) PRIMARY KEY REFERENCES ports (id),
			trunk_id VARCHAR(36) NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
			segmentation_type VARCHAR(32) NOT NULL,
			segmentation_id INTEGER NOT NULL,
			UNIQUE (trunk_id, segmentation_type, segmentation_id)
		)`,
		`CREATE INDEX subports_trunk_id ON subports (trunk_id)`,
		// ML2 extension drivers' port attributes.
		`ALTER TABLE ports ADD COLUMN numa_affinity_policy VARCHAR(16)`,
		`ALTER TABLE ports ADD COLUMN device_profile VARCHAR(255)`,
		`ALTER TABLE ports ADD COLUMN propagate_uplink_status BOOLEAN`,
		`ALTER TABLE ports ADD COLUMN data_plane_status VARCHAR(16)`,
		// The bindings of a port other than its active one (the active
		// binding lives in the port's binding_* columns): binding-extended's
		// INACTIVE bindings, made for a live migration's target host.
		`CREATE TABLE ml2_inactive_port_bindings (
			port_id VARCHAR(36) NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
			host VARCHAR(255) NOT NULL,
			vnic_type VARCHAR(64) NOT NULL DEFAULT 'normal',
			profile TEXT NOT NULL DEFAULT '{}',
			vif_type VARCHAR(64) NOT NULL DEFAULT 'unbound',
			vif_details TEXT NOT NULL DEFAULT '{}',
			PRIMARY KEY (port_id, host)
		)`,
	}})
}
