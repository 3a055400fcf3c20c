package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// TestConcurrentCreates hammers one database with network creates through
// the plugin layer, as concurrent API requests would, while readers list:
// no create may fail (SQLite's busy database included), and every one must
// be stored exactly once.
func TestConcurrentCreates(t *testing.T) {
	const (
		writers   = 16
		perWriter = 50
		readers   = 2
	)
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		def := networkDef(t)
		h := generic.New(def, st, generic.Hooks{InitialRevision: 1})

		var (
			wg, rwg  sync.WaitGroup
			start    = make(chan struct{})
			done     = make(chan struct{})
			failures atomic.Int32
			mu       sync.Mutex
			ids      = map[string]string{} // id → name
			lists    atomic.Int32
		)
		for w := range writers {
			wg.Go(func() {
				<-start
				for i := range perWriter {
					o := resource.New(def)
					name := fmt.Sprintf("net-%02d-%02d", w, i)
					o.Set("name", name)
					o.Set("project_id", fmt.Sprintf("project-%d", w%4))
					o.Set("mtu", 1450)
					out, err := h.Create(ctx, []*resource.Object{o})
					if err != nil {
						if failures.Add(1) <= 5 {
							t.Errorf("create %s: %v", name, err)
						}
						continue
					}
					mu.Lock()
					if prev, dup := ids[out[0].ID()]; dup {
						t.Errorf("id %s given to %s and %s", out[0].ID(), prev, name)
					}
					ids[out[0].ID()] = name
					mu.Unlock()
				}
			})
		}
		for range readers {
			rwg.Go(func() {
				<-start
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := h.List(ctx, &resource.Query{Limit: 20,
						Sorts: []resource.SortKey{{Attr: def.Attr("id")}}}); err != nil {
						t.Errorf("list during creates: %v", err)
						return
					}
					lists.Add(1)
				}
			})
		}
		began := time.Now()
		close(start)
		wg.Wait()
		close(done)
		rwg.Wait()
		t.Logf("%s: %d creates in %v alongside %d lists", e.name, writers*perWriter, time.Since(began), lists.Load())

		if n := failures.Load(); n > 0 {
			t.Fatalf("%d of %d creates failed", n, writers*perWriter)
		}
		if len(ids) != writers*perWriter {
			t.Errorf("%d distinct ids, want %d", len(ids), writers*perWriter)
		}
		all, err := h.List(ctx, &resource.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != writers*perWriter {
			t.Errorf("list returns %d networks, want %d", len(all), writers*perWriter)
		}
		seen := map[string]bool{}
		for _, o := range all {
			if seen[o.ID()] {
				t.Errorf("id %s listed twice", o.ID())
			}
			seen[o.ID()] = true
			if name, ok := ids[o.ID()]; !ok || name != o.String("name") {
				t.Errorf("listed %s named %q, created as %q", o.ID(), o.String("name"), name)
			}
			if o.Int("revision_number") != 1 || o.Int("mtu") != 1450 {
				t.Errorf("network %s: revision %d, mtu %d", o.ID(), o.Int("revision_number"), o.Int("mtu"))
			}
		}
		var count int
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM networks").Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != writers*perWriter {
			t.Errorf("networks table has %d rows, want %d", count, writers*perWriter)
		}
		// Per-project counts through the store's own Count.
		total := 0
		err = st.Read(ctx, func(tx *store.Tx) error {
			for p := range 4 {
				n, err := tx.Count(ctx, "networks", "project_id", fmt.Sprintf("project-%d", p))
				if err != nil {
					return err
				}
				total += n
			}
			return nil
		})
		if err != nil || total != writers*perWriter {
			t.Errorf("per-project counts add up to %d, %v; want %d", total, err, writers*perWriter)
		}
	})
}
