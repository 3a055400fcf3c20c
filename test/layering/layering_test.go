// Package layering checks the import rules that keep Neutrino's parts
// apart (DESIGN.md): the API owns HTTP, plugins own meaning, the store
// owns SQL.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/neutrino-net/neutrino/"

// forbidden maps a package to the packages it must never depend on,
// directly or not. A trailing "/..." also forbids everything below.
var forbidden = map[string][]string{
	"internal/api":            {"database/sql", "github.com/jackc/pgx/v5/...", "modernc.org/sqlite/...", module + "internal/store"},
	"internal/resource":       {"net/http", "github.com/jackc/pgx/v5/...", "modernc.org/sqlite/..."},
	"internal/fault":          {"database/sql", module + "internal/api"},
	"internal/plugin":         {"net/http", module + "internal/api", module + "internal/store"},
	"internal/plugin/generic": {"net/http", module + "internal/api"},
	"internal/plugin/l3":      {"net/http", module + "internal/api"},
	"internal/store":          {"net/http", module + "internal/api", module + "internal/plugin", module + "internal/server"},
	"internal/policy":         {"net/http", "database/sql", module + "internal/api", module + "internal/store"},
	"internal/config":         {"net/http", "database/sql"},
	// Agents talk to the server over the bus only: an agent binary links
	// no API, policy, store or plugin.
	"internal/agent/...": {module + "internal/server", module + "internal/plugin/...", module + "internal/store",
		module + "internal/api", module + "internal/policy", "database/sql"},
	// The bus carries plugins' notifications without knowing plugins.
	"internal/rpc/...": {module + "internal/plugin/...", module + "internal/server", module + "internal/api"},
	// The data plane is the kernel and its daemons: no bus, no server.
	"internal/dataplane/...": {module + "internal/rpc/...", module + "internal/server", module + "internal/plugin/...",
		module + "internal/store"},
	// Plugins register with the registry; it never reaches back.
	"internal/plugin/registry": {module + "internal/plugin/core", module + "internal/plugin/ml2", module + "internal/plugin/l3",
		module + "internal/plugin/agents", module + "internal/plugin/securitygroups", module + "internal/plugin/autoallocate",
		module + "internal/plugin/serviceproviders", module + "internal/server", module + "internal/api"},
	// Metrics sit below the API and the agents, which must not link SQL.
	"internal/metrics": {"database/sql", module + "internal/store", module + "internal/api"},
	// Shared change events sit below both plugins and the bus.
	"internal/change": {module + "internal/plugin/...", module + "internal/rpc/notify", module + "internal/rpc/outbox"},
}

func TestImportRules(t *testing.T) {
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "./../../"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			for _, b := range bad {
				if prefix, ok := strings.CutSuffix(b, "/..."); (ok && (d == prefix || strings.HasPrefix(d, prefix+"/"))) || d == b {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
