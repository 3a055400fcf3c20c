package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one versioned schema change. Statements are portable SQL;
// the dialect adapts the few type names that differ.
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations is the schema's whole history, oldest first. Never edit a
// released migration; add a new one.
var migrations = []migration{
	{1, "networks and tags", []string{
		`CREATE TABLE networks (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			status VARCHAR(16) NOT NULL DEFAULT 'ACTIVE',
			admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
			shared BOOLEAN NOT NULL DEFAULT FALSE,
			mtu INTEGER NOT NULL DEFAULT 0,
			availability_zone_hints TEXT NOT NULL DEFAULT '[]',
			port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
			router_external BOOLEAN NOT NULL DEFAULT FALSE,
			is_default BOOLEAN NOT NULL DEFAULT FALSE,
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX networks_project_id ON networks (project_id)`,
		`CREATE INDEX networks_name ON networks (name)`,
		`CREATE TABLE tags (
			resource_id VARCHAR(36) NOT NULL,
			tag VARCHAR(255) NOT NULL,
			PRIMARY KEY (resource_id, tag)
		)`,
		`CREATE INDEX tags_tag ON tags (tag)`,
	}},
}

// SchemaVersion is the version Migrate brings a database to.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrationLockID is the PostgreSQL advisory lock that serializes
// migrations when several servers start at once.
const migrationLockID = 0x6e657574 // "neut"

// Migrate brings the schema up to date. It is safe to run concurrently
// from several processes on one PostgreSQL: a transaction-scoped advisory
// lock lets one migrate while the others wait and then find nothing to do.
// Each migration commits with its version record, so a crash never leaves
// a half-applied version.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil {
			return applied, err
		}
		if !done {
			return applied, nil
		}
		applied++
	}
}

// migrateOne applies the next pending migration, reporting whether it
// applied one.
func (s *Store) migrateOne(ctx context.Context) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if s.dialect.name() == "postgresql" {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockID); err != nil {
			return false, fmt.Errorf("migrate: take lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name VARCHAR(255) NOT NULL,
		applied_at VARCHAR(20) NOT NULL)`); err != nil {
		return false, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	current, err := currentVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	var next *migration
	for i := range migrations {
		if migrations[i].version > current {
			next = &migrations[i]
			break
		}
	}
	if next == nil {
		return false, nil
	}
	for _, stmt := range next.stmts {
		if _, err := tx.ExecContext(ctx, s.dialect.ddl(stmt)); err != nil {
			return false, fmt.Errorf("migrate to %d (%s): %w", next.version, next.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		next.version, next.name, time.Now().UTC().Format(TimeFormat)); err != nil {
		return false, fmt.Errorf("migrate: record version %d: %w", next.version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate to %d: commit: %w", next.version, err)
	}
	return true, nil
}

func currentVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return int(v.Int64), nil
}

// Version returns the schema version the database is at.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
