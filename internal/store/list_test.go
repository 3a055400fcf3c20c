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

// TestUnsortedLongListingByID checks Cursor.IDOrderIfLong: an unsorted
// read with more matching rows than its limit comes in id order and says
// so; one that fits is read as the engine orders it.
func TestUnsortedLongListingByID(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st, def := reversedNetworks(t, e, 20, nil)
		tests := []struct {
			limit    int
			wantByID bool
			wantRows int
		}{
			{17, true, 17},
			{19, true, 19},
			{20, false, 20},
			{50, false, 20},
		}
		for _, tt := range tests {
			cur := &resource.Cursor{IDOrderIfLong: true}
			q := &resource.Query{Limit: tt.limit, Cursor: cur}
			var objs []*resource.Object
			if err := st.Read(ctx, func(tx *store.Tx) (err error) {
				objs, err = tx.List(ctx, def, q)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if cur.ByID != tt.wantByID || len(objs) != tt.wantRows || cur.Rows != tt.wantRows {
				t.Fatalf("limit %d: ByID %v, %d objects, %d rows; want %v, %d", tt.limit, cur.ByID, len(objs), cur.Rows, tt.wantByID, tt.wantRows)
			}
			if !tt.wantByID {
				continue
			}
			for i, o := range objs {
				if want := fmt.Sprintf("n%02d", i); o.ID() != want {
					t.Fatalf("limit %d: object %d is %s, want %s (id order)", tt.limit, i, o.ID(), want)
				}
			}
			if last := cur.Last; len(last) != 1 || last[0] != objs[len(objs)-1].ID() {
				t.Errorf("limit %d: cursor at %v, want the last id", tt.limit, last)
			}
		}
	})
}

// TestLongFilteredListingByIDs lists one project's networks a chunk at
// a time in id order: the first chunk finds every matching id
// (Cursor.IDs) and later chunks read by them, asking the listing's
// conditions again, so a network deleted or given to another project
// between chunks is not listed, and the listing still goes on to its
// end.
func TestLongFilteredListingByIDs(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		// Even ones are p1's.
		st, def := reversedNetworks(t, e, 60, func(j int) string { return []string{"p1", "p2"}[j%2] })
		list := func(q *resource.Query) []string {
			t.Helper()
			var objs []*resource.Object
			if err := st.Read(ctx, func(tx *store.Tx) (err error) {
				objs, err = tx.List(ctx, def, q)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range objs {
				ids = append(ids, o.ID())
			}
			return ids
		}
		scope := &resource.Scope{ProjectID: "p1"}
		cur := &resource.Cursor{IDOrderIfLong: true}
		first := list(&resource.Query{Scope: scope, Limit: 17, Cursor: cur})
		var want []string
		for i := 0; i < 34; i += 2 {
			want = append(want, fmt.Sprintf("n%02d", i))
		}
		if !cur.ByID || cur.Rows != 17 || !slices.Equal(first, want) {
			t.Fatalf("first chunk: ByID %v, %d rows, %v; want id order, 17 rows, %v", cur.ByID, cur.Rows, first, want)
		}
		if want := []string{"n34", "n36", "n38", "n40", "n42", "n44", "n46", "n48", "n50", "n52", "n54", "n56", "n58"}; !slices.Equal(cur.IDs, want) {
			t.Fatalf("ids after the first chunk: %v, want %v", cur.IDs, want)
		}
		// Meanwhile n34 goes, and n36 is given to p2.
		err := st.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Delete(ctx, def, "n34"); err != nil {
				return err
			}
			patch := resource.New(def)
			patch.Set("id", "n36")
			patch.Set("project_id", "p2")
			return tx.Update(ctx, patch)
		})
		if err != nil {
			t.Fatal(err)
		}
		next := &resource.Cursor{IDs: cur.IDs}
		rest := list(&resource.Query{Scope: scope, Limit: 17, Cursor: next, Sorts: []resource.SortKey{{Attr: def.Attr("id")}}, After: cur.Last})
		if want := []string{"n38", "n40", "n42", "n44", "n46", "n48", "n50", "n52", "n54", "n56", "n58"}; !slices.Equal(rest, want) {
			t.Errorf("second chunk: %v, want %v", rest, want)
		}
		if next.Rows != 13 || len(next.IDs) != 0 {
			t.Errorf("second chunk: %d rows, %d ids left; want the 13 ids taken and none left", next.Rows, len(next.IDs))
		}
	})
}

// reversedNetworks opens a migrated store of engine e holding n networks
// n00… inserted in the reverse of id order, network j in project(j)'s
// project when project is not nil.
func reversedNetworks(t *testing.T, e engine, n int, project func(j int) string) (*store.Store, *resource.Resource) {
	t.Helper()
	ctx := context.Background()
	st := openMigrated(t, e.newDSN(t))
	def := apidef.Build()[apidef.Networks].Restrict(func(string) bool { return true })
	st.Bind(def)
	now := time.Now().UTC().Truncate(time.Second)
	err := st.Write(ctx, func(tx *store.Tx) error {
		for i := range n {
			j := n - 1 - i
			o := resource.New(def)
			o.Set("id", fmt.Sprintf("n%02d", j))
			if project != nil {
				o.Set("project_id", project(j))
			}
			o.Set("created_at", now)
			o.Set("updated_at", now)
			if err := tx.Insert(ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, def
}

// TestListingThroughTheRowReader lists networks outside a transaction,
// which on SQLite reads a long listing's rows and related rows through
// the row reader, and inside one, which reads them through database/sql:
// both give the same objects, with filters of each kind of argument (a
// string, a boolean, an integer) and tags.
func TestListingThroughTheRowReader(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st, def := reversedNetworks(t, e, 40, func(j int) string { return []string{"p1", "p2"}[j%2] })
		err := st.Write(ctx, func(tx *store.Tx) error {
			for i := 0; i < 40; i += 3 {
				patch := resource.New(def)
				patch.Set("id", fmt.Sprintf("n%02d", i))
				patch.Set("shared", true)
				patch.Set("mtu", 1400+i)
				patch.Set("name", fmt.Sprintf("net %d é\"'", i))
				if err := tx.Update(ctx, patch); err != nil {
					return err
				}
				if err := tx.SetTags(ctx, fmt.Sprintf("n%02d", i), []string{"b", fmt.Sprintf("t%d", i%5), "a"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		byID := []resource.SortKey{{Attr: def.Attr("id")}}
		queries := map[string]func() *resource.Query{
			"all":   func() *resource.Query { return &resource.Query{} },
			"chunk": func() *resource.Query { return &resource.Query{Limit: 20, Sorts: byID, After: []any{"n07"}} },
			"shared": func() *resource.Query {
				return &resource.Query{Filters: []resource.Filter{{Attr: def.Attr("shared"), Values: []any{true}}}}
			},
			"mtu": func() *resource.Query {
				return &resource.Query{Filters: []resource.Filter{{Attr: def.Attr("mtu"), Values: []any{1403, 1409, 1500}}}}
			},
			"scope": func() *resource.Query {
				return &resource.Query{Scope: &resource.Scope{ProjectID: "p1", SharedBy: []*resource.Attr{def.Attr("shared")}}, Sorts: byID}
			},
			"tags": func() *resource.Query { return &resource.Query{Tags: resource.TagFilter{Any: []string{"t1", "t2"}}} },
		}
		for name, q := range queries {
			var outside, inside []*resource.Object
			if err := st.Read(ctx, func(tx *store.Tx) (err error) {
				outside, err = tx.List(ctx, def, q())
				return err
			}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := st.Write(ctx, func(tx *store.Tx) (err error) {
				inside, err = tx.List(ctx, def, q())
				return err
			}); err != nil {
				t.Fatalf("%s in a transaction: %v", name, err)
			}
			if len(outside) == 0 || len(outside) != len(inside) {
				t.Fatalf("%s: %d objects outside a transaction, %d inside", name, len(outside), len(inside))
			}
			for i := range outside {
				if got, want := outside[i].Map(), inside[i].Map(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: object %d outside a transaction %v\ninside %v", name, i, got, want)
				}
			}
		}
	})
}

// TestListRowReaderFails: when the row reader fails (here, its
// connections cannot be opened), a long listing and its tags are read
// through the connection pool, as before it, rather than fail.
func TestListRowReaderFails(t *testing.T) {
	ctx := context.Background()
	st, def := reversedNetworks(t, engines[0], 30, nil)
	err := st.Write(ctx, func(tx *store.Tx) error {
		return tx.SetTags(ctx, "n07", []string{"b", "a"})
	})
	if err != nil {
		t.Fatal(err)
	}
	st.BreakRowReader()
	var objs []*resource.Object
	if err := st.Read(ctx, func(tx *store.Tx) (err error) {
		objs, err = tx.List(ctx, def, &resource.Query{Sorts: []resource.SortKey{{Attr: def.Attr("id")}}})
		return err
	}); err != nil {
		t.Fatalf("list with a broken row reader: %v", err)
	}
	if len(objs) != 30 || objs[7].ID() != "n07" || !reflect.DeepEqual(objs[7].Get("tags"), []string{"a", "b"}) {
		t.Errorf("list with a broken row reader: %d networks, #7 %v", len(objs), objs[7].Map())
	}
}
