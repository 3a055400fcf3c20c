package store

// Metering labels and their rules (Neutron's meteringlabels and
// meteringlabelrules tables). A label's rules go with it.
func init() {
	registerMigration(migration{15, "metering labels and rules", []string{
		`CREATE TABLE metering_labels (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(1024) NOT NULL DEFAULT '',
			shared BOOLEAN NOT NULL DEFAULT FALSE
		)`,
		`CREATE INDEX metering_labels_project_id ON metering_labels (project_id)`,
		`CREATE TABLE metering_label_rules (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			metering_label_id VARCHAR(36) NOT NULL REFERENCES metering_labels (id) ON DELETE CASCADE,
			direction VARCHAR(16) NOT NULL,
			excluded BOOLEAN NOT NULL DEFAULT FALSE,
			remote_ip_prefix VARCHAR(64),
			source_ip_prefix VARCHAR(64),
			destination_ip_prefix VARCHAR(64)
		)`,
		`CREATE INDEX metering_label_rules_label ON metering_label_rules (metering_label_id)`,
	}})
}
