package store

// The L3 schema: routers, floating IPs and their port forwardings. A
// router's ports are not a table of their own: they are the ports whose
// device_id is the router (ports_device_id indexes them), and its extra
// routes are a JSON column, read and written whole as the API does.
func init() {
	registerMigration(migration{6, "l3: routers, floating IPs, port forwardings", []string{
		`CREATE TABLE routers (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			status VARCHAR(16) NOT NULL DEFAULT 'ACTIVE',
			admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
			gw_port_id VARCHAR(36),
			enable_snat BOOLEAN NOT NULL DEFAULT TRUE,
			routes TEXT NOT NULL DEFAULT '[]',
			distributed BOOLEAN NOT NULL DEFAULT FALSE,
			ha BOOLEAN NOT NULL DEFAULT FALSE,
			availability_zone_hints TEXT NOT NULL DEFAULT '[]',
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX routers_project_id ON routers (project_id)`,
		// One floating IP per fixed IP of a port on one external network,
		// enforced by the database as in Neutron, so two concurrent
		// associations cannot both succeed.
		`CREATE TABLE floatingips (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			floating_network_id VARCHAR(36) NOT NULL REFERENCES networks (id),
			floating_ip_address VARCHAR(64) NOT NULL,
			floating_port_id VARCHAR(36) NOT NULL,
			port_id VARCHAR(36),
			fixed_ip_address VARCHAR(64),
			router_id VARCHAR(36),
			status VARCHAR(16) NOT NULL DEFAULT 'DOWN',
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0,
			UNIQUE (floating_network_id, port_id, fixed_ip_address)
		)`,
		`CREATE INDEX floatingips_project_id ON floatingips (project_id)`,
		`CREATE INDEX floatingips_port_id ON floatingips (port_id)`,
		`CREATE INDEX floatingips_router_id ON floatingips (router_id)`,
		// Neutron's two unique keys: one external port range start per
		// floating IP and protocol, one internal socket per port and
		// protocol.
		`CREATE TABLE port_forwardings (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			floatingip_id VARCHAR(36) NOT NULL REFERENCES floatingips (id),
			protocol VARCHAR(40) NOT NULL,
			internal_port_id VARCHAR(36) NOT NULL,
			internal_ip_address VARCHAR(64) NOT NULL,
			external_port_start INTEGER NOT NULL,
			external_port_end INTEGER NOT NULL,
			internal_port_start INTEGER NOT NULL,
			internal_port_end INTEGER NOT NULL,
			description VARCHAR(255) NOT NULL DEFAULT '',
			UNIQUE (floatingip_id, protocol, external_port_start),
			UNIQUE (internal_port_id, protocol, internal_ip_address, internal_port_start)
		)`,
		`CREATE INDEX port_forwardings_internal_port_id ON port_forwardings (internal_port_id)`,
	}})
	// A floating IP's router before its last association change
	// (Neutron's floatingips.last_known_router_id): when that router's
	// agent reports, the floating IPs it no longer serves go DOWN.
	registerMigration(migration{27, "floating IPs' last known router", []string{
		`ALTER TABLE floatingips ADD COLUMN last_known_router_id VARCHAR(36)`,
		`CREATE INDEX floatingips_last_known_router_id ON floatingips (last_known_router_id)`,
	}})
}
