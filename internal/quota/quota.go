// Package quota is Neutron's quota engine: per-project limits on how many
// networks, subnets, ports … a project may own, with the [quotas]
// defaults, overrides stored per project, and enforcement inside the
// creating transaction so concurrent creates on several servers never
// exceed a limit.
package quota

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Unlimited is the limit meaning no limit.
const Unlimited = -1

// Resource is one quota-tracked resource: its quota name ("network") and
// the collection whose rows it counts ("networks"); Collection is empty
// for a resource Neutrino does not serve yet (it shows, counting zero).
type Resource struct {
	Name       string
	Collection string
	Default    int
}

// Engine enforces and manages quotas.
type Engine struct {
	store     *store.Store
	resources []Resource
	byName    map[string]Resource
}

// New returns an engine for the given resources, in the order replies
// list them.
func New(s *store.Store, resources []Resource) *Engine {
	e := &Engine{store: s, resources: resources, byName: map[string]Resource{}}
	for _, r := range resources {
		e.byName[r.Name] = r
	}
	return e
}

// Resources returns the quota resource names.
func (e *Engine) Resources() []string {
	out := make([]string, len(e.resources))
	for i, r := range e.resources {
		out[i] = r.Name
	}
	return out
}

// Defaults returns the default limits.
func (e *Engine) Defaults() map[string]int {
	out := make(map[string]int, len(e.resources))
	for _, r := range e.resources {
		out[r.Name] = r.Default
	}
	return out
}

// Limits returns a project's limits: its own where set, else defaults.
func (e *Engine) Limits(ctx context.Context, project string) (map[string]int, error) {
	out := e.Defaults()
	err := e.store.Read(ctx, func(tx *store.Tx) error {
		set, err := tx.QuotaLimits(ctx, project)
		for r, n := range set {
			if _, known := out[r]; known {
				out[r] = n
			}
		}
		return err
	})
	return out, err
}

// Usage returns how many of each resource a project owns.
func (e *Engine) Usage(ctx context.Context, project string) (map[string]int, error) {
	out := map[string]int{}
	err := e.store.Read(ctx, func(tx *store.Tx) error {
		for _, r := range e.resources {
			if r.Collection == "" {
				out[r.Name] = 0
				continue
			}
			n, err := tx.CountOwned(ctx, r.Collection, project)
			if err != nil {
				return err
			}
			out[r.Name] = n
		}
		return nil
	})
	return out, err
}

// Projects returns the projects with limits of their own.
func (e *Engine) Projects(ctx context.Context) ([]string, error) {
	var out []string
	err := e.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.QuotaProjects(ctx)
		return err
	})
	sort.Strings(out)
	return out, err
}

// SetLimits changes a project's limits. A limit may be set below what the
// project already uses, as in Neutron; with check (Neutron's check_limit,
// the quota-check-limit extension) such a limit is refused. Like
// Neutron's, the check compares the usage with the limit as given, so
// with check even -1 (unlimited) is refused for a resource in use.
func (e *Engine) SetLimits(ctx context.Context, project string, limits map[string]int, check bool) error {
	return e.store.Write(ctx, func(tx *store.Tx) error {
		for _, r := range e.resources {
			limit, ok := limits[r.Name]
			if !ok {
				continue
			}
			if check && r.Collection != "" {
				if err := tx.LockQuota(ctx, project, r.Name); err != nil {
					return err
				}
				used, err := tx.CountOwned(ctx, r.Collection, project)
				if err != nil {
					return err
				}
				if used > limit {
					return fault.BadRequest("Quota limit %d for %s must be greater than or equal to already used %d",
						limit, r.Name, used)
				}
			}
			if err := tx.SetQuotaLimit(ctx, project, r.Name, limit); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reset removes a project's own limits.
func (e *Engine) Reset(ctx context.Context, project string) error {
	return e.store.Write(ctx, func(tx *store.Tx) error { return tx.ResetQuotaLimits(ctx, project) })
}

// Reserve checks, inside the creating transaction, that project may own n
// more of resource. It locks the project's quota row for that resource
// until the transaction ends, so concurrent creates are counted one after
// the other: with a limit of 10, 32 concurrent creates leave exactly 10.
func (e *Engine) Reserve(ctx context.Context, tx *store.Tx, project, resource string, n int) error {
	r, ok := e.byName[resource]
	if !ok || r.Collection == "" {
		return nil
	}
	limit := r.Default
	set, err := tx.QuotaLimits(ctx, project)
	if err != nil {
		return err
	}
	if l, ok := set[resource]; ok {
		limit = l
	}
	if limit < 0 {
		return nil
	}
	if err := tx.LockQuota(ctx, project, resource); err != nil {
		return err
	}
	used, err := tx.CountOwned(ctx, r.Collection, project)
	if err != nil {
		return err
	}
	if used+n > limit {
		return OverQuota(resource)
	}
	return nil
}

// OverQuota is neutron-lib's OverQuota.
func OverQuota(resources ...string) error {
	quoted := make([]string, len(resources))
	for i, r := range resources {
		quoted[i] = "'" + r + "'"
	}
	return fault.Conflict("OverQuota", "Quota exceeded for resources: %s.", fmt.Sprintf("[%s]", strings.Join(quoted, ", ")))
}
