package store

// Address groups (Neutron's address_groups and address_associations):
// the addresses are kept on the group's row as a JSON list, since every
// reader wants them all; security group rules name a group as their
// remote (remote_address_group_id). A group in use by a rule cannot go
// (AddressGroupInUse is checked first; the foreign key is the backstop).
func init() {
	registerMigration(migration{21, "address groups", []string{
		`CREATE TABLE address_groups (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(1024) NOT NULL DEFAULT '',
			addresses TEXT NOT NULL DEFAULT '[]',
			shared BOOLEAN NOT NULL DEFAULT FALSE,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX address_groups_project_id ON address_groups (project_id)`,
		`ALTER TABLE security_group_rules ADD COLUMN remote_address_group_id VARCHAR(36) REFERENCES address_groups (id)`,
		`CREATE INDEX security_group_rules_remote_address_group_id ON security_group_rules (remote_address_group_id)`,
	}})
}
