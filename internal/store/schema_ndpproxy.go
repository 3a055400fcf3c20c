package store

// IPv6 NDP proxies (Neutron's ndp_proxies table) and routers'
// enable_ndp_proxy (Neutron keeps it in router_ndp_proxy_state; a router
// without a row there reads as false, as the column's default does). A
// router holds one proxy per address; a proxy goes with its router or
// its port.
func init() {
	registerMigration(migration{25, "ndp proxies, routers' enable_ndp_proxy", []string{
		`CREATE TABLE ndp_proxies (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(1024) NOT NULL DEFAULT '',
			router_id VARCHAR(36) NOT NULL REFERENCES routers (id) ON DELETE CASCADE,
			port_id VARCHAR(36) NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
			ip_address VARCHAR(64) NOT NULL,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0,
			UNIQUE (router_id, ip_address)
		)`,
		`CREATE INDEX ndp_proxies_project_id ON ndp_proxies (project_id)`,
		`CREATE INDEX ndp_proxies_port_id ON ndp_proxies (port_id)`,
		`ALTER TABLE routers ADD COLUMN enable_ndp_proxy BOOLEAN NOT NULL DEFAULT FALSE`,
	}})
}
