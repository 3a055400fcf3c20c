package store_test

import (
	"context"
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// TestOversizedListIsABadRequest sends the store a list the engine
// refuses for its size (2,001 sort keys: SQLite's "too many terms in
// ORDER BY"). The API never lets such a request through; should one get
// past it, the client still gets a 400, not a 500.
func TestOversizedListIsABadRequest(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		st := openMigrated(t, e.newDSN(t))
		def := networkDef(t)
		st.Bind(def)
		q := &resource.Query{}
		for range 2001 {
			q.Sorts = append(q.Sorts, resource.SortKey{Attr: def.Attr("name")}, resource.SortKey{Attr: def.Attr("id"), Desc: true})
		}
		err := st.Read(context.Background(), func(tx *store.Tx) error {
			_, err := tx.List(context.Background(), def, q)
			return err
		})
		if e.name == "postgresql" && err == nil {
			return // PostgreSQL takes it.
		}
		if f, ok := fault.As(err); !ok || f.Status != 400 {
			t.Fatalf("oversized list: %v, want a 400 fault", err)
		}
	})
}
