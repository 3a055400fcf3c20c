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
