package policy

import (
	"log/slog"
	"path/filepath"

	"github.com/neutrino-net/neutrino/internal/config"
)

// [oslo_policy]: oslo.policy's options, with Neutron's defaults.
var (
	optPolicyFile = config.Options.String("oslo_policy", "policy_file", "policy.yaml",
		"The relative or absolute path of a file that maps roles to permissions for a given service.")
	optPolicyDirs = config.Options.MultiString("oslo_policy", "policy_dirs", []string{"policy.d"},
		"Directories where policy configuration files are stored, relative to the config directories or absolute.")
	optEnforceNewDefaults = config.Options.Bool("oslo_policy", "enforce_new_defaults", true,
		"Whether to use the new default rules (secure RBAC personas) instead of the deprecated ones.")
	optEnforceScope = config.Options.Bool("oslo_policy", "enforce_scope", true,
		"Whether the token's scope is checked against the rule's scope types.")
)

// OptionsFrom reads [oslo_policy] of cfg; relative paths are looked up in
// the directories of the loaded configuration files, as oslo.config does.
func OptionsFrom(cfg *config.Config, logger *slog.Logger) Options {
	return Options{
		PolicyFile:         cfg.String(optPolicyFile),
		PolicyDirs:         cfg.MultiString(optPolicyDirs),
		ConfigDirs:         configDirs(cfg),
		EnforceNewDefaults: cfg.Bool(optEnforceNewDefaults),
		EnforceScope:       cfg.Bool(optEnforceScope),
		Logger:             logger,
	}
}

// configDirs are the directories of the loaded config files, in order.
func configDirs(cfg *config.Config) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, f := range cfg.Files() {
		d := filepath.Dir(f)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}
