package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// migration is one versioned schema change. Statements are portable SQL;
// the dialect adapts the few type names that differ.
type migration struct {
	version int
	name    string
	stmts   []string
}

// postgresOnly starts a migration's statement that only PostgreSQL runs
// (a function); SQLite skips it.
const postgresOnly = "-- postgresql only\n"

// migrations is the schema's whole history, oldest first. Never edit a
// released migration; add a new one. Later parts of the schema live in
// files of their own (schema_*.go) and join through registerMigration.
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
	{2, "addressing: subnets, subnet pools, address scopes, ports, IPAM", []string{
		`CREATE TABLE address_scopes (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			shared BOOLEAN NOT NULL DEFAULT FALSE,
			ip_version INTEGER NOT NULL
		)`,
		`CREATE TABLE subnetpools (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			ip_version INTEGER NOT NULL,
			prefixes TEXT NOT NULL DEFAULT '[]',
			default_prefixlen INTEGER NOT NULL,
			min_prefixlen INTEGER NOT NULL,
			max_prefixlen INTEGER NOT NULL,
			shared BOOLEAN NOT NULL DEFAULT FALSE,
			is_default BOOLEAN NOT NULL DEFAULT FALSE,
			default_quota INTEGER,
			address_scope_id VARCHAR(36),
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE subnets (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			network_id VARCHAR(36) NOT NULL REFERENCES networks (id),
			ip_version INTEGER NOT NULL,
			cidr VARCHAR(64) NOT NULL,
			gateway_ip VARCHAR(64),
			allocation_pools TEXT NOT NULL DEFAULT '[]',
			dns_nameservers TEXT NOT NULL DEFAULT '[]',
			host_routes TEXT NOT NULL DEFAULT '[]',
			service_types TEXT NOT NULL DEFAULT '[]',
			enable_dhcp BOOLEAN NOT NULL DEFAULT TRUE,
			ipv6_ra_mode VARCHAR(16),
			ipv6_address_mode VARCHAR(16),
			subnetpool_id VARCHAR(36) REFERENCES subnetpools (id),
			segment_id VARCHAR(36),
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX subnets_network_id ON subnets (network_id)`,
		`CREATE INDEX subnets_subnetpool_id ON subnets (subnetpool_id)`,
		`CREATE TABLE ports (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			name VARCHAR(255) NOT NULL DEFAULT '',
			description VARCHAR(255) NOT NULL DEFAULT '',
			network_id VARCHAR(36) NOT NULL REFERENCES networks (id),
			mac_address VARCHAR(32) NOT NULL,
			admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
			status VARCHAR(16) NOT NULL DEFAULT 'DOWN',
			device_id VARCHAR(255) NOT NULL DEFAULT '',
			device_owner VARCHAR(255) NOT NULL DEFAULT '',
			port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
			allowed_address_pairs TEXT NOT NULL DEFAULT '[]',
			extra_dhcp_opts TEXT NOT NULL DEFAULT '[]',
			binding_host_id VARCHAR(255) NOT NULL DEFAULT '',
			binding_vnic_type VARCHAR(64) NOT NULL DEFAULT 'normal',
			binding_profile TEXT NOT NULL DEFAULT '{}',
			binding_vif_type VARCHAR(64) NOT NULL DEFAULT 'unbound',
			binding_vif_details TEXT NOT NULL DEFAULT '{}',
			ip_allocation VARCHAR(16) NOT NULL DEFAULT 'immediate',
			created_at VARCHAR(20) NOT NULL,
			updated_at VARCHAR(20) NOT NULL,
			revision_number BIGINT NOT NULL DEFAULT 0,
			UNIQUE (network_id, mac_address)
		)`,
		`CREATE INDEX ports_project_id ON ports (project_id)`,
		`CREATE INDEX ports_device_id ON ports (device_id)`,
		`CREATE INDEX ports_binding_host_id ON ports (binding_host_id)`,
		// One row per address a port holds. ip_key is the address as 16
		// big-endian bytes, so uniqueness and ranges compare bytewise on
		// every engine.
		`CREATE TABLE ip_allocations (
			port_id VARCHAR(36) NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
			subnet_id VARCHAR(36) NOT NULL REFERENCES subnets (id),
			network_id VARCHAR(36) NOT NULL,
			ip_address VARCHAR(64) NOT NULL,
			ip_key BLOB NOT NULL,
			PRIMARY KEY (subnet_id, ip_key)
		)`,
		`CREATE INDEX ip_allocations_port_id ON ip_allocations (port_id)`,
		`CREATE INDEX ip_allocations_ip_address ON ip_allocations (ip_address)`,
		// The free addresses of each subnet as disjoint inclusive ranges:
		// allocating takes from the lowest range, so it costs the same on
		// a /8 with 100,000 ports as on a /28.
		`CREATE TABLE ip_availability_ranges (
			subnet_id VARCHAR(36) NOT NULL REFERENCES subnets (id) ON DELETE CASCADE,
			first_ip BLOB NOT NULL,
			last_ip BLOB NOT NULL,
			PRIMARY KEY (subnet_id, first_ip)
		)`,
	}},
	{3, "quotas", []string{
		`CREATE TABLE quotas (
			project_id VARCHAR(255) NOT NULL,
			resource VARCHAR(255) NOT NULL,
			hard_limit INTEGER NOT NULL,
			PRIMARY KEY (project_id, resource)
		)`,
		`CREATE TABLE quota_locks (
			project_id VARCHAR(255) NOT NULL,
			resource VARCHAR(255) NOT NULL,
			PRIMARY KEY (project_id, resource)
		)`,
	}},
	{4, "rbac policies", []string{
		`CREATE TABLE rbac_policies (
			id VARCHAR(36) PRIMARY KEY,
			project_id VARCHAR(255) NOT NULL DEFAULT '',
			object_type VARCHAR(64) NOT NULL,
			object_id VARCHAR(36) NOT NULL,
			action VARCHAR(255) NOT NULL,
			target_tenant VARCHAR(255) NOT NULL,
			UNIQUE (object_type, object_id, action, target_tenant)
		)`,
		`CREATE INDEX rbac_policies_target ON rbac_policies (object_type, target_tenant)`,
	}},
	// Quota checks count a project's rows on every create.
	{5, "project indexes for quota counts", []string{
		`CREATE INDEX subnets_project_id ON subnets (project_id)`,
		`CREATE INDEX subnetpools_project_id ON subnetpools (project_id)`,
		`CREATE INDEX rbac_policies_project_id ON rbac_policies (project_id)`,
	}},
}

// registerMigration adds a migration from a schema_*.go file, keeping the
// history in version order; a version registered twice is a programming
// error caught at start.
func registerMigration(m migration) {
	for _, have := range migrations {
		if have.version == m.version {
			panic(fmt.Sprintf("store: migration %d registered twice (%q and %q)", m.version, have.name, m.name))
		}
	}
	migrations = append(migrations, m)
	slices.SortFunc(migrations, func(a, b migration) int { return a.version - b.version })
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
		if current > SchemaVersion() {
			return false, fmt.Errorf("migrate: the database is at schema version %d, newer than this binary's %d; upgrade Neutrino",
				current, SchemaVersion())
		}
		return false, nil
	}
	for _, stmt := range next.stmts {
		if strings.HasPrefix(stmt, postgresOnly) && s.dialect.name() != "postgresql" {
			continue
		}
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

// Version returns the schema version the database is at; 0 for a
// database never migrated.
func (s *Store) Version(ctx context.Context) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name VARCHAR(255) NOT NULL,
		applied_at VARCHAR(20) NOT NULL)`); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	v, err := currentVersion(ctx, tx)
	if err != nil {
		return 0, err
	}
	return v, tx.Commit()
}
