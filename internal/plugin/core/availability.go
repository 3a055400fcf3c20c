package core

import (
	"context"
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
// value is computed.
func (h *ipAvailability) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	all, err := h.compute(ctx)
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
			found := false
			for _, s := range o.Get("subnet_ip_availability").([]any) {
				if slices.Contains(f.Values, s.(map[string]any)["ip_version"]) {
					found = true
				}
			}
			if !found {
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
	all, err := h.compute(ctx)
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

func (h *ipAvailability) compute(ctx context.Context) ([]*resource.Object, error) {
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
	bySubnet := map[string][]any{}
	totals := map[string][2]int{}
	for _, s := range subnets {
		si, err := subnetInfoOf(s)
		if err != nil {
			return nil, err
		}
		total := 0
		for _, r := range si.pools {
			total = saturatingAdd(total, rangeSize(r.Start, r.End))
		}
		n := used[s.ID()]
		netID := s.String("network_id")
		bySubnet[netID] = append(bySubnet[netID], map[string]any{
			"subnet_id": s.ID(), "subnet_name": s.String("name"), "cidr": s.String("cidr"),
			"ip_version": s.Int("ip_version"), "total_ips": total, "used_ips": n,
		})
		t := totals[netID]
		totals[netID] = [2]int{saturatingAdd(t[0], total), t[1] + n}
	}
	out := make([]*resource.Object, 0, len(nets))
	for _, n := range nets {
		// Networks without subnets show with nothing available, as
		// Neutron's outer joins give them.
		subnets := bySubnet[n.ID()]
		if subnets == nil {
			subnets = []any{}
		}
		o := resource.New(h.res)
		o.Set("network_id", n.ID())
		o.Set("network_name", n.String("name"))
		o.Set("project_id", n.String("project_id"))
		o.Set("tenant_id", n.String("project_id"))
		o.Set("total_ips", totals[n.ID()][0])
		o.Set("used_ips", totals[n.ID()][1])
		o.Set("subnet_ip_availability", subnets)
		o.Set("ip_version", nil)
		out = append(out, o)
	}
	return out, nil
}

// rangeSize counts the addresses from start to end, saturating at the
// largest int (an IPv6 pool can hold 2^64 and more).
func rangeSize(start, end netip.Addr) int {
	a := new(big.Int).SetBytes(start.AsSlice())
	b := new(big.Int).SetBytes(end.AsSlice())
	d := b.Sub(b, a)
	d.Add(d, big.NewInt(1))
	if !d.IsInt64() || d.Int64() > int64(^uint(0)>>1) {
		return int(^uint(0) >> 1)
	}
	return int(d.Int64())
}

func saturatingAdd(a, b int) int {
	if s := a + b; s >= a {
		return s
	}
	return int(^uint(0) >> 1)
}
