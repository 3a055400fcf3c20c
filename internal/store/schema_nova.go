package store

// Nova's external events (network-vif-plugged …), written in the
// transaction of the port change they announce and deleted once Nova has
// answered (DESIGN.md rule 4, for Nova as for agents). A table of its own
// keeps a Nova that is down from holding up the agents' notifications.
func init() {
	registerMigration(migration{12, "nova events", []string{
		`CREATE TABLE nova_events (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			created_at VARCHAR(20) NOT NULL,
			body TEXT NOT NULL
		)`,
	}})
}
