// Package generic is the store-backed plugin.Handler that core and
// service plugins build on: it maps a resource straight onto the store,
// handles standard attributes (id, timestamps, revision, If-Match)
// uniformly, and lets the plugin give the resource its meaning through
// hooks that run inside the write transaction.
package generic

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Hooks let a plugin give a Generic handler its resource's meaning. Each
// runs inside the write transaction; returning an error rolls it back.
type Hooks struct {
	// NotFound builds the resource's 404 (NetworkNotFound …).
	NotFound func(id string) error
	// Prefetch runs first in a create's transaction, before the quota
	// check, to read together what the create's steps will ask the store
	// for (store.Tx.Prefetch).
	Prefetch func(ctx context.Context, tx *store.Tx, objs []*resource.Object) error
	// BeforeCreate fills computed attributes and checks rules that need
	// the database.
	BeforeCreate func(ctx context.Context, tx *store.Tx, o *resource.Object) error
	// AfterCreate runs once the object's row exists, for rows that refer
	// to it (a port's IP allocations).
	AfterCreate func(ctx context.Context, tx *store.Tx, o *resource.Object) error
	// InsertFailed sees why the object's row could not be inserted and
	// returns the error to report (a port's generated MAC taken meanwhile
	// reruns the transaction); without it, a duplicate is a conflict on
	// the id.
	InsertFailed func(ctx context.Context, tx *store.Tx, o *resource.Object, err error) error
	// BeforeUpdate sees the stored object and the patch; it may add to the
	// patch.
	BeforeUpdate func(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error
	// AfterUpdate sees the updated object once its row is written.
	AfterUpdate func(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error
	// AfterRead fills computed attributes of objects just read, in one
	// batch so a list stays a fixed number of queries.
	AfterRead func(ctx context.Context, tx *store.Tx, objs []*resource.Object) error
	// BeforeDelete refuses deletes of objects in use.
	BeforeDelete func(ctx context.Context, tx *store.Tx, o *resource.Object) error
	// BeforeLock runs before an update or delete locks the object's row,
	// for locks that must come first (a subnet's, which its allocations
	// share).
	BeforeLock func(ctx context.Context, tx *store.Tx, id string) error
	// InitialRevision is the revision_number a new object starts at.
	InitialRevision int
	// QuotaResource is the quota name creates count against ("network");
	// empty for resources without a quota.
	QuotaResource string
}

// Quota reserves room for new objects inside their creating transaction;
// quota.Engine implements it.
type Quota interface {
	Reserve(ctx context.Context, tx *store.Tx, project, resource string, n int) error
}

// Handler is a plugin.Handler that maps a resource straight onto the store, with
// standard attributes (id, timestamps, revision) handled uniformly.
type Handler struct {
	Res   *resource.Resource
	Store *store.Store
	Hooks Hooks
	// Quota, when set, is checked on every create for Hooks.QuotaResource.
	Quota Quota
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Notify, when set, hears of every create, update and delete inside
	// its transaction, to record notifications to agents (see Notifier).
	Notify change.Notifier
}

var _ plugin.Handler = (*Handler)(nil)

// New returns a store-backed handler for r.
func New(r *resource.Resource, s *store.Store, h Hooks) *Handler {
	s.Bind(r)
	return &Handler{Res: r, Store: s, Hooks: h, Now: time.Now}
}

// Generic returns g; wrappers that embed a Handler inherit it, so code
// holding a plugin.Handler can reach the store-backed handler inside.
func (g *Handler) Generic() *Handler { return g }

// NotFound returns the resource's 404 for id; the API uses it to hide
// objects the caller may not see.
func (g *Handler) NotFound(id string) error { return g.notFound(id) }

func (g *Handler) notFound(id string) error {
	if g.Hooks.NotFound != nil {
		return g.Hooks.NotFound(id)
	}
	return fault.HTTPNotFound()
}

// List implements plugin.Handler.
func (g *Handler) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	var out []*resource.Object
	err := g.Store.Read(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = tx.List(ctx, g.Res, q); err != nil {
			return err
		}
		return g.afterRead(ctx, tx, out)
	})
	if errors.Is(err, store.ErrMarkerNotFound) {
		return nil, g.notFound(q.Marker)
	}
	if err != nil {
		return nil, err
	}
	for _, o := range out {
		g.finish(o)
	}
	return out, nil
}

// Get implements plugin.Handler.
func (g *Handler) Get(ctx context.Context, id string) (*resource.Object, error) {
	var o *resource.Object
	err := g.Store.Read(ctx, func(tx *store.Tx) error {
		var err error
		if o, err = tx.Get(ctx, g.Res, id, false); err != nil {
			return err
		}
		return g.afterRead(ctx, tx, []*resource.Object{o})
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, g.notFound(id)
	}
	if err != nil {
		return nil, err
	}
	g.finish(o)
	return o, nil
}

// Create implements plugin.Handler.
func (g *Handler) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	now := g.Now().UTC().Truncate(time.Second)
	var created []*resource.Object
	err := g.Store.Write(ctx, func(tx *store.Tx) error {
		// The hooks fill the objects in; a rerun of the transaction
		// starts again from the objects as asked for.
		work := make([]*resource.Object, len(objs))
		for i, o := range objs {
			work[i] = o.Clone()
		}
		if g.Hooks.Prefetch != nil {
			if err := g.Hooks.Prefetch(ctx, tx, work); err != nil {
				return err
			}
		}
		if err := g.reserve(ctx, tx, work); err != nil {
			return err
		}
		for _, o := range work {
			if err := g.insert(ctx, tx, o, now); err != nil {
				return err
			}
		}
		if err := g.afterRead(ctx, tx, work); err != nil {
			return err
		}
		for _, o := range work {
			if err := g.notify(ctx, tx, change.ActionCreate, nil, o); err != nil {
				return err
			}
		}
		created = work
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, o := range created {
		g.finish(o)
	}
	return created, nil
}

func (g *Handler) insert(ctx context.Context, tx *store.Tx, o *resource.Object, now time.Time) error {
	if !o.Has("id") || o.String("id") == "" {
		o.Set("id", uuid.NewString())
	}
	if g.Res.Standard {
		setIfDeclared(o, "created_at", now)
		setIfDeclared(o, "updated_at", now)
		setIfDeclared(o, "revision_number", g.Hooks.InitialRevision)
	}
	if g.Hooks.BeforeCreate != nil {
		if err := g.Hooks.BeforeCreate(ctx, tx, o); err != nil {
			return err
		}
	}
	if err := tx.Insert(ctx, o); err != nil {
		if g.Hooks.InsertFailed != nil {
			err = g.Hooks.InsertFailed(ctx, tx, o, err)
		}
		if errors.Is(err, store.ErrDuplicate) {
			return fault.Conflict("Conflict", "A %s with id %s already exists.", g.Res.Name, o.ID())
		}
		return err
	}
	if g.Hooks.AfterCreate != nil {
		return g.Hooks.AfterCreate(ctx, tx, o)
	}
	return nil
}

// CreateIn creates one object inside tx with the resource's hooks but
// without a quota check, for objects a plugin makes on behalf of another
// resource (a router's gateway port), as Neutron's service plugins call
// the core plugin with an elevated context. The caller commits.
func (g *Handler) CreateIn(ctx context.Context, tx *store.Tx, o *resource.Object) (*resource.Object, error) {
	if err := g.insert(ctx, tx, o, g.Now().UTC().Truncate(time.Second)); err != nil {
		return nil, err
	}
	if err := g.afterRead(ctx, tx, []*resource.Object{o}); err != nil {
		return nil, err
	}
	if err := g.notify(ctx, tx, change.ActionCreate, nil, o); err != nil {
		return nil, err
	}
	g.finish(o)
	return o, nil
}

// DeleteIn removes the stored object old inside tx without the delete
// hooks, for objects a plugin removes on behalf of another resource (a
// router's ports); agents hear of it as of any delete. The caller has
// released what old holds and commits.
func (g *Handler) DeleteIn(ctx context.Context, tx *store.Tx, old *resource.Object) error {
	if err := tx.Delete(ctx, g.Res, old.ID()); err != nil {
		return fmt.Errorf("delete %s %s: %w", g.Res.Name, old.ID(), err)
	}
	return g.notify(ctx, tx, change.ActionDelete, old, nil)
}

// Update implements plugin.Handler.
func (g *Handler) Update(ctx context.Context, id string, patch *resource.Object, ifRevision int) (*resource.Object, error) {
	var updated *resource.Object
	err := g.Store.Write(ctx, func(tx *store.Tx) error {
		old, err := g.lockForWrite(ctx, tx, id, ifRevision)
		if err != nil {
			return err
		}
		updated, err = g.update(ctx, tx, old, patch)
		return err
	})
	if err != nil {
		return nil, err
	}
	g.finish(updated)
	return updated, nil
}

// UpdateIn applies patch to the stored object old inside tx with the
// resource's hooks, as Update does, for changes a plugin makes on behalf
// of another resource (a router's gateway addresses). The caller has
// locked old and commits.
func (g *Handler) UpdateIn(ctx context.Context, tx *store.Tx, old, patch *resource.Object) (*resource.Object, error) {
	next, err := g.update(ctx, tx, old, patch)
	if err != nil {
		return nil, err
	}
	g.finish(next)
	return next, nil
}

func (g *Handler) update(ctx context.Context, tx *store.Tx, old, patch *resource.Object) (*resource.Object, error) {
	patch = patch.Clone() // the hooks may add to it, and a retry must start afresh
	if g.Hooks.BeforeUpdate != nil {
		if err := g.Hooks.BeforeUpdate(ctx, tx, old, patch); err != nil {
			return nil, err
		}
	}
	next, err := g.Write(ctx, tx, old, patch)
	if err != nil {
		return nil, err
	}
	if g.Hooks.AfterUpdate != nil {
		if err := g.Hooks.AfterUpdate(ctx, tx, old, next); err != nil {
			return nil, err
		}
	}
	if err := g.afterRead(ctx, tx, []*resource.Object{next}); err != nil {
		return nil, err
	}
	return next, g.notify(ctx, tx, change.ActionUpdate, old, next)
}

// Write stores patch onto old inside tx, bumping revision_number and
// updated_at when anything changes, and returns the updated object. It
// runs no hooks: Update uses it after them, and plugins use it for
// updates the API's rules do not govern (remove_prefixes).
func (g *Handler) Write(ctx context.Context, tx *store.Tx, old, patch *resource.Object) (*resource.Object, error) {
	if g.Res.Standard && changed(old, patch) {
		now := g.Now().UTC().Truncate(time.Second)
		setIfDeclared(patch, "updated_at", now)
		setIfDeclared(patch, "revision_number", old.Int("revision_number")+1)
	}
	patch.Set("id", old.ID())
	if err := tx.Update(ctx, patch); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, g.notFound(old.ID())
		}
		return nil, err
	}
	next := old.Clone()
	next.Merge(patch)
	return next, nil
}

// Delete implements plugin.Handler.
func (g *Handler) Delete(ctx context.Context, id string, ifRevision int) error {
	return g.Store.Write(ctx, func(tx *store.Tx) error {
		old, err := g.lockForWrite(ctx, tx, id, ifRevision)
		if err != nil {
			return err
		}
		if g.Hooks.BeforeDelete != nil {
			if err := g.Hooks.BeforeDelete(ctx, tx, old); err != nil {
				return err
			}
		}
		if err := tx.Delete(ctx, g.Res, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return g.notFound(id)
			}
			return fmt.Errorf("delete %s %s: %w", g.Res.Name, id, err)
		}
		return g.notify(ctx, tx, change.ActionDelete, old, nil)
	})
}

// reserve checks the quota for a create, bulk included: all objects of a
// project count together, so a bulk that would exceed the quota creates
// nothing.
func (g *Handler) reserve(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	if g.Quota == nil || g.Hooks.QuotaResource == "" {
		return nil
	}
	counts := map[string]int{}
	var projects []string
	for _, o := range objs {
		p := o.String("project_id")
		if counts[p] == 0 {
			projects = append(projects, p)
		}
		counts[p]++
	}
	for _, p := range projects {
		if err := g.Quota.Reserve(ctx, tx, p, g.Hooks.QuotaResource, counts[p]); err != nil {
			return err
		}
	}
	return nil
}

func (g *Handler) afterRead(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	if g.Hooks.AfterRead == nil || len(objs) == 0 {
		return nil
	}
	return g.Hooks.AfterRead(ctx, tx, objs)
}

// lockForWrite reads the object for update and checks the If-Match
// revision against it.
func (g *Handler) lockForWrite(ctx context.Context, tx *store.Tx, id string, ifRevision int) (*resource.Object, error) {
	if g.Hooks.BeforeLock != nil {
		if err := g.Hooks.BeforeLock(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	old, err := tx.Get(ctx, g.Res, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, g.notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if ifRevision != plugin.NoRevision && old.Int("revision_number") != ifRevision {
		return nil, fault.RevisionConstraintFailed(ifRevision, old.Int("revision_number"))
	}
	return old, nil
}

// finish fills what is derived rather than stored: tenant_id mirrors
// project_id, and virtual attributes the plugin left unset show their
// declared default.
func (g *Handler) finish(o *resource.Object) {
	for _, a := range g.Res.Attrs() {
		if o.HasAt(a.Index()) {
			continue
		}
		switch {
		case a.Name == "tenant_id":
			o.SetAt(a.Index(), o.Get("project_id"))
		case a.Storage != resource.Column && a.Default != resource.NotSpecified:
			o.SetAt(a.Index(), a.Default)
		}
	}
}

// changed reports whether patch holds any value differing from old.
func changed(old, patch *resource.Object) bool {
	for _, a := range patch.Present() {
		if a.Name == "id" {
			continue
		}
		if !reflect.DeepEqual(old.Get(a.Name), patch.Get(a.Name)) {
			return true
		}
	}
	return false
}

func setIfDeclared(o *resource.Object, name string, v any) {
	if o.Resource().Attr(name) != nil {
		o.Set(name, v)
	}
}
