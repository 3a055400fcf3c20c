package store

// The flavors extension's schema: flavors, service profiles and the
// bindings between them (Neutron's flavors, serviceprofiles and
// flavorserviceprofilebindings), and a router's flavor (l3-flavors). A
// binding's id joins its flavor and profile ids: the pair is its key.
func init() {
	registerMigration(migration{20, "flavors, service profiles, router flavors", []string{
		`CREATE TABLE flavors (
			id VARCHAR(36) PRIMARY KEY,
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(1024),
			service_type VARCHAR(36) NOT NULL,
			enabled BOOLEAN NOT NULL DEFAULT TRUE
		)`,
		`CREATE TABLE service_profiles (
			id VARCHAR(36) PRIMARY KEY,
			description VARCHAR(1024),
			driver VARCHAR(1024) NOT NULL DEFAULT '',
			metainfo VARCHAR(4096),
			enabled BOOLEAN NOT NULL DEFAULT TRUE
		)`,
		`CREATE TABLE flavorserviceprofilebindings (
			id VARCHAR(73) PRIMARY KEY,
			flavor_id VARCHAR(36) NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
			service_profile_id VARCHAR(36) NOT NULL REFERENCES service_profiles (id) ON DELETE CASCADE,
			UNIQUE (flavor_id, service_profile_id)
		)`,
		`CREATE INDEX flavorserviceprofilebindings_profile ON flavorserviceprofilebindings (service_profile_id)`,
		`ALTER TABLE routers ADD COLUMN flavor_id VARCHAR(36) REFERENCES flavors (id)`,
	}})
}
