package store

// ML2: network segments, the segmentation ids type drivers hand out, port
// binding levels and provisioning blocks.
func init() {
	registerMigration(migration{8, "ml2 segments, allocations, bindings, provisioning blocks", []string{
		// The segments of each network (Neutron's networksegments), served
		// as the segments resource.
		`CREATE TABLE segments (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			network_id VARCHAR(36) NOT NULL,
			name VARCHAR(255),
			description VARCHAR(255) NOT NULL DEFAULT '',
			network_type VARCHAR(32) NOT NULL,
			physical_network VARCHAR(64),
			segmentation_id BIGINT,
			segment_index INTEGER NOT NULL DEFAULT 0,
			is_dynamic BOOLEAN NOT NULL DEFAULT FALSE,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX segments_network_id ON segments (network_id)`,
		// One row per segmentation id in use, whatever the configured
		// ranges: a free id has no row, so a range of 16 million VNIs
		// costs nothing until used, and reconfigured ranges never lose
		// the ids existing networks hold. Flat networks use id 0.
		`CREATE TABLE ml2_segment_allocations (
			network_type VARCHAR(32) NOT NULL,
			physical_network VARCHAR(64) NOT NULL DEFAULT '',
			segmentation_id BIGINT NOT NULL,
			PRIMARY KEY (network_type, physical_network, segmentation_id)
		)`,
		// The segment and driver a bound port is bound with (Neutron's
		// ml2_port_binding_levels, one level).
		`CREATE TABLE ml2_port_binding_levels (
			port_id VARCHAR(36) PRIMARY KEY,
			host VARCHAR(255) NOT NULL,
			segment_id VARCHAR(36),
			driver VARCHAR(64) NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX ml2_port_binding_levels_host ON ml2_port_binding_levels (host)`,
		// Entities that must still report before a port goes ACTIVE.
		`CREATE TABLE provisioning_blocks (
			object_id VARCHAR(36) NOT NULL,
			entity VARCHAR(255) NOT NULL,
			PRIMARY KEY (object_id, entity)
		)`,
	}})
}
