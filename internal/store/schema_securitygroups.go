package store

// Security groups (neutron/db/models/securitygroup.py): groups, their
// rules, the groups each port is in, and each project's default group.
// default_security_group is keyed by project, so two servers creating a
// project's default group at once cannot both succeed.
func init() {
	registerMigration(migration{7, "security groups", []string{
		`CREATE TABLE security_groups (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			stateful BOOLEAN NOT NULL DEFAULT TRUE,
			shared BOOLEAN NOT NULL DEFAULT FALSE,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX security_groups_project_id ON security_groups (project_id)`,
		`CREATE TABLE security_group_rules (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
			remote_group_id VARCHAR(36) REFERENCES security_groups (id) ON DELETE CASCADE,
			direction VARCHAR(16) NOT NULL,
			ethertype VARCHAR(40) NOT NULL,
			protocol VARCHAR(40),
			port_range_min INTEGER,
			port_range_max INTEGER,
			remote_ip_prefix VARCHAR(255),
			normalized_cidr VARCHAR(255),
			belongs_to_default_sg BOOLEAN NOT NULL DEFAULT FALSE,
			description VARCHAR(255) NOT NULL DEFAULT '',
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX security_group_rules_security_group_id ON security_group_rules (security_group_id)`,
		`CREATE INDEX security_group_rules_remote_group_id ON security_group_rules (remote_group_id)`,
		`CREATE INDEX security_group_rules_project_id ON security_group_rules (project_id)`,
		`CREATE TABLE securitygroupportbindings (
			port_id VARCHAR(36) NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
			security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups (id),
			PRIMARY KEY (port_id, security_group_id)
		)`,
		`CREATE INDEX securitygroupportbindings_sg ON securitygroupportbindings (security_group_id)`,
		`CREATE TABLE default_security_group (
			project_id VARCHAR(255) PRIMARY KEY,
			security_group_id VARCHAR(36) NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE
		)`,
	}})
}

// A security group rule's description may be null, as in Neutron: the
// rules a group is created with have none. The column is rebuilt rather
// than altered, since SQLite cannot drop a NOT NULL constraint.
func init() {
	registerMigration(migration{18, "security group rules: nullable description", []string{
		`ALTER TABLE security_group_rules RENAME COLUMN description TO description_not_null`,
		`ALTER TABLE security_group_rules ADD COLUMN description VARCHAR(255)`,
		`UPDATE security_group_rules SET description = description_not_null`,
		`ALTER TABLE security_group_rules DROP COLUMN description_not_null`,
	}})
}
