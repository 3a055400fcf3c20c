package core

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// ipAvailability serves network-ip-availabilities: per network and
// subnet, how many addresses the allocation pools hold and how many are
// used. It reads three queries whatever the number of networks.
type ipAvailability struct {
	p   *Plugin
	res *resource.Resource
}

var _ plugin.Handler = (*ipAvailability)(nil)

// NotFound is the 404 for a network without availability data.
func (h *ipAvailability) NotFound(id string) error {
	return fault.NotFound("NetworkNotFound", "Network "+id+" could not be found.")
}

// List implements plugin.Handler; filters apply in memory, since every
// value is computed. An ip_version filter applies to subnets, as in
// Neutron: a network shows only its subnets of those versions and counts
// only them, and a network without any is left out.
func (h *ipAvailability) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	var versions []any
	for _, f := range q.Filters {
		if f.Attr.Name == "ip_version" {
			versions = f.Values
		}
	}
	all, err := h.compute(ctx, versions)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, o := range all {
		if matches(o, q) {
			out = append(out, o)
		}
	}
	return out, nil
}

func matches(o *resource.Object, q *resource.Query) bool {
	for _, f := range q.Filters {
		if f.Attr.Name == "ip_version" {
			if len(o.Get("subnet_ip_availability").([]any)) == 0 {
				return false
			}
			continue
		}
		if !slices.Contains(f.Values, o.Get(f.Attr.Name)) {
			return false
		}
	}
	if s := q.Scope; s != nil && o.String("project_id") != s.ProjectID {
		return false
	}
	return true
}

// Get implements plugin.Handler.
func (h *ipAvailability) Get(ctx context.Context, id string) (*resource.Object, error) {
	all, err := h.compute(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.String("network_id") == id {
			return o, nil
		}
	}
	return nil, h.NotFound(id)
}

func (h *ipAvailability) readOnly() error {
	return fault.New(405, "HTTPMethodNotAllowed", "The server could not comply with the request since it is either malformed or otherwise incorrect.")
}

// Create implements plugin.Handler; the resource is read-only.
func (h *ipAvailability) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, h.readOnly()
}

// Update implements plugin.Handler; the resource is read-only.
func (h *ipAvailability) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, h.readOnly()
}

// Delete implements plugin.Handler; the resource is read-only.
func (h *ipAvailability) Delete(context.Context, string, int) error { return h.readOnly() }

// compute builds every network's availability, counting the subnets of
// the given IP versions (all for none).
func (h *ipAvailability) compute(ctx context.Context, versions []any) ([]*resource.Object, error) {
	var nets, subnets []*resource.Object
	var used map[string]int
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		if nets, err = tx.List(ctx, h.p.defs[apidef.Networks], &resource.Query{}); err != nil {
			return err
		}
		if subnets, err = tx.List(ctx, h.p.defs[apidef.Subnets], &resource.Query{}); err != nil {
			return err
		}
		used, err = tx.AllocationCounts(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	type sums struct {
		total *big.Int
		used  int
	}
	bySubnet := map[string][]any{}
	totals := map[string]*sums{}
	for _, s := range subnets {
		if len(versions) > 0 && !slices.Contains(versions, any(s.Int("ip_version"))) {
			continue
		}
		total, err := subnetTotal(s)
		if err != nil {
			return nil, err
		}
		n := used[s.ID()]
		netID := s.String("network_id")
		bySubnet[netID] = append(bySubnet[netID], map[string]any{
			"subnet_id": s.ID(), "subnet_name": s.String("name"), "cidr": s.String("cidr"),
			"ip_version": s.Int("ip_version"), "total_ips": count(total), "used_ips": n,
		})
		t := totals[netID]
		if t == nil {
			t = &sums{total: new(big.Int)}
			totals[netID] = t
		}
		t.total.Add(t.total, total)
		t.used += n
	}
	out := make([]*resource.Object, 0, len(nets))
	for _, n := range nets {
		// Networks without subnets show with nothing available, as
		// Neutron's outer joins give them.
		subnets := bySubnet[n.ID()]
		if subnets == nil {
			subnets = []any{}
		}
		t := totals[n.ID()]
		if t == nil {
			t = &sums{total: new(big.Int)}
		}
		o := resource.New(h.res)
		o.Set("network_id", n.ID())
		o.Set("network_name", n.String("name"))
		o.Set("project_id", n.String("project_id"))
		o.Set("tenant_id", n.String("project_id"))
		o.Set("total_ips", count(t.total))
		o.Set("used_ips", t.used)
		o.Set("subnet_ip_availability", subnets)
		o.Set("ip_version", nil)
		out = append(out, o)
	}
	return out, nil
}

// subnetTotal counts a subnet's addresses as Neutron does: the sizes of
// its allocation pools, or of its whole CIDR when it has none. An IPv6
// pool holds up to 2^64 and more, so the count is exact, not an int.
func subnetTotal(s *resource.Object) (*big.Int, error) {
	si, err := subnetInfoOf(s)
	if err != nil {
		return nil, err
	}
	total := new(big.Int)
	if len(si.pools) == 0 {
		p, err := netip.ParsePrefix(s.String("cidr"))
		if err != nil {
			return nil, fmt.Errorf("subnet %s: cidr %q: %w", s.ID(), s.String("cidr"), err)
		}
		return total.Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits())), nil
	}
	for _, r := range si.pools {
		total.Add(total, rangeSize(r.Start, r.End))
	}
	return total, nil
}

// count is n as a reply shows it: an int while it fits, else the exact
// number (JSON has no integer limit, and Neutron's Python counts have
// none).
func count(n *big.Int) any {
	if n.IsInt64() {
		return int(n.Int64())
	}
	return new(big.Int).Set(n)
}

// rangeSize counts the addresses from start to end.
func rangeSize(start, end netip.Addr) *big.Int {
	a := new(big.Int).SetBytes(start.AsSlice())
	b := new(big.Int).SetBytes(end.AsSlice())
	d := b.Sub(b, a)
	return d.Add(d, big.NewInt(1))
}
