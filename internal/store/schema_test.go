package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/store"
)

// missingColumns lists, as "table.column (collection attribute)", every
// column-stored attribute of every resource apidef declares (with every
// extension's attributes) that has no column in st's database, and
// returns how many attributes it checked.
func missingColumns(t *testing.T, st *store.Store) (missing []string, checked int) {
	t.Helper()
	schema, err := st.Columns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for coll, r := range apidef.Build() {
		table, cols := store.TableColumns(r)
		for attr, col := range cols {
			checked++
			if !schema[table][col] {
				missing = append(missing, fmt.Sprintf("%s.%s (%s %s)", table, col, coll, attr))
			}
		}
	}
	slices.Sort(missing)
	return missing, checked
}

// TestSchemaHasEveryStoredAttribute migrates a fresh database and checks
// that the definitions and the migrations agree: every attribute the API
// declares as stored in a column has that column in its resource's table.
func TestSchemaHasEveryStoredAttribute(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		st := openMigrated(t, e.newDSN(t))
		missing, checked := missingColumns(t, st)
		for _, m := range missing {
			t.Errorf("no column %s: add it in a new migration (or declare the attribute Virtual or Related if it is not stored)", m)
		}
		// A few hundred attributes, or the definitions were not read.
		if checked < 150 {
			t.Fatalf("checked only %d attributes", checked)
		}

		// The check fails when a column is missing.
		if _, err := st.DB().Exec(`ALTER TABLE networks DROP COLUMN mtu`); err != nil {
			t.Fatal(err)
		}
		missing, _ = missingColumns(t, st)
		if want := []string{"networks.mtu (networks mtu)"}; !slices.Equal(missing, want) {
			t.Errorf("without networks.mtu the check finds %v, want %v", missing, want)
		}
	})
}
