package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"

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

// TestLongListingRelatedRows lists networks a chunk at a time (the API's
// keyset paging past 16 rows) in both orders, unfiltered, where their
// tags are read by the range of each chunk's ids, and filtered, where
// they are read by id: each network has its own tags and no other's,
// not those of another resource whose id falls in the range.
func TestLongListingRelatedRows(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		def := apidef.Build()[apidef.Networks].Restrict(func(string) bool { return true })
		st.Bind(def)
		now := time.Now().UTC().Truncate(time.Second)
		const n = 40
		ids := make([]string, n)
		err := st.Write(ctx, func(tx *store.Tx) error {
			for i := range n {
				ids[i] = fmt.Sprintf("n%02d", i)
				o := resource.New(def)
				o.Set("id", ids[i])
				o.Set("name", fmt.Sprintf("net%d", i%2))
				o.Set("created_at", now)
				o.Set("updated_at", now)
				if err := tx.Insert(ctx, o); err != nil {
					return err
				}
				if err := tx.SetTags(ctx, ids[i], []string{"t" + ids[i], "z" + ids[i]}); err != nil {
					return err
				}
				// Another resource's tags, between this network's id
				// and the next's.
				if err := tx.SetTags(ctx, ids[i]+"x", []string{"stray"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			desc   bool
			filter bool
		}{
			{"ascending", false, false},
			{"descending", true, false},
			{"filtered ascending", false, true},
			{"filtered descending", true, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cur := &resource.Cursor{}
				q := &resource.Query{Sorts: []resource.SortKey{{Attr: def.Attr("id"), Desc: tt.desc}}, Limit: 17, Cursor: cur}
				if tt.filter {
					q.Filters = []resource.Filter{{Attr: def.Attr("name"), Values: []any{"net1"}}}
				}
				var got []string
				for {
					err := st.Read(ctx, func(tx *store.Tx) error {
						objs, err := tx.List(ctx, def, q)
						for _, o := range objs {
							want := []string{"t" + o.ID(), "z" + o.ID()}
							if tags := o.Get("tags"); !reflect.DeepEqual(tags, want) {
								t.Errorf("%s: tags %v, want %v", o.ID(), tags, want)
							}
							got = append(got, o.ID())
						}
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
					if cur.Rows < q.Limit {
						break
					}
					q.After = cur.Last
				}
				var want []string
				for i, id := range ids {
					if !tt.filter || i%2 == 1 {
						want = append(want, id)
					}
				}
				if tt.desc {
					slices.Reverse(want)
				}
				if !slices.Equal(got, want) {
					t.Errorf("listed %v, want %v", got, want)
				}
			})
		}
	})
}
