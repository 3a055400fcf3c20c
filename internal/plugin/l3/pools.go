package l3

import (
	"context"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// pools serves floatingip_pools: the IPv4 subnets of external networks,
// where floating IPs come from (neutron/db/l3_fip_pools_db.py). It is
// read-only and has no member URLs.
type pools struct{ p *Plugin }

var _ plugin.Handler = (*pools)(nil)

// List implements plugin.Handler.
func (h *pools) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	p := h.p
	var out []*resource.Object
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		nets, err := tx.List(ctx, p.netDef, &resource.Query{Filters: []resource.Filter{
			{Attr: p.netDef.Attr("router:external"), Values: []any{true}}}})
		if err != nil {
			return err
		}
		ids := make([]string, len(nets))
		for i, n := range nets {
			ids[i] = n.ID()
		}
		subnets, err := list(ctx, tx, p.subnetDef, "network_id", ids...)
		if err != nil {
			return err
		}
		for _, s := range subnets {
			if s.Int("ip_version") != 4 {
				continue
			}
			o := resource.New(p.poolDef)
			o.Set("subnet_id", s.ID())
			o.Set("subnet_name", s.String("name"))
			o.Set("network_id", s.String("network_id"))
			o.Set("cidr", s.String("cidr"))
			// Neutron shows every pool as the caller's (l3_fip_pools_db).
			o.Set("project_id", reqctx.CallerFrom(ctx).ProjectID)
			if matches(o, q) {
				out = append(out, o)
			}
		}
		return nil
	})
	return out, err
}

// matches applies a list's attribute filters to a computed object.
func matches(o *resource.Object, q *resource.Query) bool {
	for _, f := range q.Filters {
		ok := false
		for _, v := range f.Values {
			ok = ok || o.Get(f.Attr.Name) == v
		}
		if !ok {
			return false
		}
	}
	return true
}

// Get implements plugin.Handler; pools have no member URLs.
func (h *pools) Get(context.Context, string) (*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Create implements plugin.Handler.
func (h *pools) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Update implements plugin.Handler.
func (h *pools) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

// Delete implements plugin.Handler.
func (h *pools) Delete(context.Context, string, int) error { return fault.HTTPNotFound() }
