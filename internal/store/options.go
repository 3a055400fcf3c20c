package store

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/config"
)

// [database]: oslo.db's connection, and whether the server migrates.
var (
	optConnection = config.Options.String("database", "connection", "",
		"The SQLAlchemy-style connection string used to connect to the database: sqlite:///path, sqlite:// (in memory) or postgresql://user:pass@host/db.").Secret()
	optAutoMigrate = config.Options.Bool("database", "auto_migrate", true,
		"Apply pending schema migrations when the server starts (Neutrino extension; 'neutrino db upgrade' does it explicitly).")
)

// Config is the [database] section.
type Config struct {
	// Connection is the URL Open takes.
	Connection string
	// AutoMigrate says whether the server migrates the schema at start.
	AutoMigrate bool
}

// ConfigFrom reads the [database] section of cfg. It refuses a missing or
// unusable connection string without connecting, so nothing is created
// before the whole configuration has been checked.
func ConfigFrom(cfg *config.Config) (Config, error) {
	c := Config{Connection: cfg.String(optConnection), AutoMigrate: cfg.Bool(optAutoMigrate)}
	if c.Connection == "" {
		return c, cfg.Invalid(optConnection, errors.New("not set"))
	}
	if _, _, err := parseConnection(c.Connection); err != nil {
		return c, cfg.Invalid(optConnection, err)
	}
	return c, nil
}
