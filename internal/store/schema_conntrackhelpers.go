package store

// Routers' conntrack helpers (Neutron's conntrack_helpers table): one
// helper per router, protocol, port and helper name; they go with their
// router.
func init() {
	registerMigration(migration{16, "router conntrack helpers", []string{
		`CREATE TABLE conntrack_helpers (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			router_id VARCHAR(36) NOT NULL REFERENCES routers (id) ON DELETE CASCADE,
			protocol VARCHAR(40) NOT NULL,
			port INTEGER NOT NULL,
			helper VARCHAR(64) NOT NULL,
			UNIQUE (router_id, protocol, port, helper)
		)`,
	}})
}
