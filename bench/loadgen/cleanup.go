package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tracker remembers the resources the run created and has not deleted, so
// that cleanup can remove them. It is safe for concurrent use.
type tracker struct {
	mu  sync.Mutex
	ids map[string]map[string]struct{} // collection -> ids
}

// newTracker returns an empty tracker.
func newTracker() *tracker {
	return &tracker{ids: make(map[string]map[string]struct{})}
}

// add records that id in collection was created.
func (t *tracker) add(collection, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids[collection] == nil {
		t.ids[collection] = make(map[string]struct{})
	}
	t.ids[collection][id] = struct{}{}
}

// remove records that id in collection was deleted.
func (t *tracker) remove(collection, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ids[collection], id)
}

// list returns the tracked ids of collection.
func (t *tracker) list(collection string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.ids[collection]))
	for id := range t.ids[collection] {
		out = append(out, id)
	}
	return out
}

// cleanup deletes everything the run created: ports, then subnets, then
// networks, one DELETE request per resource at cleanupConcurrency. Besides
// the tracked resources it deletes any resource whose name carries the run's
// prefix, which catches creates whose response was lost (for example to an
// interrupt). A 404 counts as already deleted.
func (b *bench) cleanup(ctx context.Context) error {
	start := time.Now()
	errs := b.cleanupL3(ctx)
	total := 0
	for _, coll := range []string{"ports", "subnets", "networks"} {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", ctx.Err()))
			break
		}
		ids := b.tracker.list(coll)
		if coll == "networks" || b.collectionSupported(coll) {
			found, err := b.findLeftovers(ctx, coll)
			if err != nil {
				b.log.Printf("cleanup: could not list %s to find leftovers (deleting tracked ones only): %v", coll, err)
			}
			ids = union(ids, found)
		}
		if len(ids) == 0 {
			continue
		}
		b.log.Printf("cleanup: deleting %d %s", len(ids), coll)
		m := runLoad(ctx, load{concurrency: cleanupConcurrency, ops: len(ids)}, func(ctx context.Context, i int) error {
			err := b.client.deleteResource(ctx, coll, ids[i])
			if err != nil && statusOf(err) != http.StatusNotFound {
				return err
			}
			b.tracker.remove(coll, ids[i])
			return nil
		})
		total += m.ops - m.errors
		if m.errors > 0 {
			errs = append(errs, fmt.Errorf("cleanup: %d of %d %s deletes failed, first: %w", m.errors, len(ids), coll, m.firstErr))
		}
		if m.interrupted {
			errs = append(errs, fmt.Errorf("cleanup of %s: %w", coll, ctx.Err()))
			break
		}
	}
	b.log.Printf("cleanup: deleted %d resources in %s", total, time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// findLeftovers lists collection and returns the ids of the items whose
// name starts with the run's prefix.
func (b *bench) findLeftovers(ctx context.Context, collection string) ([]string, error) {
	var ids []string
	_, err := b.scan(ctx, collection, nil, func(raw json.RawMessage) error {
		var item struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &item); err != nil {
			return fmt.Errorf("decode %s item: %w", collection, err)
		}
		if item.ID != "" && strings.HasPrefix(item.Name, b.names.prefix) {
			ids = append(ids, item.ID)
		}
		return nil
	})
	return ids, err
}

// union returns the distinct strings of a and b.
func union(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
