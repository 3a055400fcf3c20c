package store

// The RPC outbox: notifications to agents, written in the transaction of
// the change they announce and deleted once published (DESIGN.md rule 4).
// id orders them; AUTOINCREMENT (BIGSERIAL on PostgreSQL) keeps ids from
// being reused after a delete, so order survives a drained table.
func init() {
	registerMigration(migration{9, "rpc outbox", []string{
		`CREATE TABLE rpc_outbox (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			created_at VARCHAR(20) NOT NULL,
			body TEXT NOT NULL
		)`,
	}})
}
