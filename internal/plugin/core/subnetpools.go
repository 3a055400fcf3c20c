package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// SubnetPoolNotFound is neutron-lib's SubnetPoolNotFound.
func SubnetPoolNotFound(id string) error {
	return fault.NotFound("SubnetPoolNotFound", fmt.Sprintf("Subnet pool %s could not be found.", id))
}

// AddressScopeNotFound is neutron-lib's AddressScopeNotFound.
func AddressScopeNotFound(id string) error {
	return fault.NotFound("AddressScopeNotFound", fmt.Sprintf("Address scope %s could not be found.", id))
}

func prefixesOf(v any) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range toStrings(v) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("bad prefix %q: %w", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func (p *Plugin) beforeCreateSubnetPool(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	prefixes, err := ipam.ValidatePrefixes(toStrings(o.Get("prefixes")), 0)
	if err != nil {
		return ipamFault(err)
	}
	version := 4
	if prefixes[0].Addr().Is6() {
		version = 6
	}
	o.Set("prefixes", prefixStrings(prefixes))
	o.Set("ip_version", version)
	lens, err := ipam.ResolvePrefixLens(optInt(o, "min_prefixlen"), optInt(o, "default_prefixlen"), optInt(o, "max_prefixlen"), version)
	if err != nil {
		return ipamFault(err)
	}
	o.Set("min_prefixlen", lens.Min)
	o.Set("default_prefixlen", lens.Default)
	o.Set("max_prefixlen", lens.Max)
	if !o.Has("default_quota") {
		o.Set("default_quota", nil)
	}
	if err := p.checkAddressScope(ctx, tx, o); err != nil {
		return err
	}
	return p.checkDefaultPool(ctx, tx, o)
}

func optInt(o *resource.Object, name string) *int {
	if !o.Has(name) || o.Get(name) == nil {
		return nil
	}
	n := o.Int(name)
	return &n
}

// checkAddressScope checks a pool's address scope exists and is of the
// pool's IP version.
func (p *Plugin) checkAddressScope(ctx context.Context, tx *store.Tx, pool *resource.Object) error {
	id, _ := pool.Get("address_scope_id").(string)
	if id == "" {
		return nil
	}
	scope, err := tx.Get(ctx, p.defs[apidef.AddressScopes], id, false)
	if errors.Is(err, store.ErrNotFound) {
		return AddressScopeNotFound(id)
	}
	if err != nil {
		return err
	}
	if scope.Int("ip_version") != pool.Int("ip_version") {
		return fault.New(400, "IllegalSubnetPoolAssociationToAddressScope",
			"Illegal subnetpool association: subnetpool %s cannot be associated with address scope %s.", pool.ID(), id)
	}
	return nil
}

// checkDefaultPool allows one default pool per IP version.
func (p *Plugin) checkDefaultPool(ctx context.Context, tx *store.Tx, pool *resource.Object) error {
	if !pool.Bool("is_default") {
		return nil
	}
	def := p.defs[apidef.SubnetPools]
	others, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("is_default"), Values: []any{true}},
		{Attr: def.Attr("ip_version"), Values: []any{pool.Int("ip_version")}},
	}})
	if err != nil {
		return err
	}
	for _, other := range others {
		if other.ID() != pool.ID() {
			return fault.InvalidInput(fmt.Sprintf(
				"A default subnetpool for this IP family has already been set. Only one default may exist per IP family"))
		}
	}
	return nil
}

func (p *Plugin) beforeUpdateSubnetPool(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	merged := old.Clone()
	merged.Merge(patch)
	if patch.Has("prefixes") {
		requested, err := ipam.ParsePrefixList(toStrings(patch.Get("prefixes")))
		if err != nil {
			return ipamFault(err)
		}
		current, err := prefixesOf(old.Get("prefixes"))
		if err != nil {
			return err
		}
		// Neutron only lets an update grow a pool; shrinking is
		// remove_prefixes.
		next, err := ipam.UpdatePrefixes(current, requested, old.Int("ip_version"))
		if err != nil {
			return ipamFault(err)
		}
		patch.Set("prefixes", prefixStrings(next))
	}
	if patch.Has("min_prefixlen") || patch.Has("default_prefixlen") || patch.Has("max_prefixlen") {
		lens, err := ipam.ResolvePrefixLens(optInt(merged, "min_prefixlen"), optInt(merged, "default_prefixlen"),
			optInt(merged, "max_prefixlen"), old.Int("ip_version"))
		if err != nil {
			return ipamFault(err)
		}
		patch.Set("min_prefixlen", lens.Min)
		patch.Set("default_prefixlen", lens.Default)
		patch.Set("max_prefixlen", lens.Max)
	}
	if patch.Has("address_scope_id") {
		if err := p.checkAddressScope(ctx, tx, merged); err != nil {
			return err
		}
	}
	if patch.Has("is_default") {
		return p.checkDefaultPool(ctx, tx, merged)
	}
	return nil
}

func (p *Plugin) beforeDeleteSubnetPool(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.CountWhere(ctx, apidef.Subnets, map[string]any{"subnetpool_id": o.ID()})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("SubnetPoolInUse",
			"Subnet pool %s cannot be deleted because it is in use: %d subnets are allocated from it.", o.ID(), n)
	}
	return nil
}

func (p *Plugin) beforeDeleteAddressScope(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.CountWhere(ctx, apidef.SubnetPools, map[string]any{"address_scope_id": o.ID()})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("AddressScopeInUse", "Unable to complete operation on address scope %s. There are one or more subnet pools in use on the address scope.", o.ID())
	}
	return nil
}

// defaultSubnetPool returns the id of the default pool for version.
func (p *Plugin) defaultSubnetPool(ctx context.Context, tx *store.Tx, version int) (string, error) {
	def := p.defs[apidef.SubnetPools]
	pools, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("is_default"), Values: []any{true}},
		{Attr: def.Attr("ip_version"), Values: []any{version}},
	}})
	if err != nil {
		return "", err
	}
	if len(pools) == 0 {
		return "", fault.NeutronBadRequest("subnets", fmt.Sprintf("No default subnetpool found for IPv%d", version))
	}
	return pools[0].ID(), nil
}

// allocateFromPool picks a subnet's CIDR from a pool: the one asked for if
// it is free, else the lowest free prefix of the asked (or default)
// length. The pool row stays locked until the transaction ends, so
// concurrent allocations from one pool queue instead of colliding.
func (p *Plugin) allocateFromPool(ctx context.Context, tx *store.Tx, poolID string, version int, cidr string, prefixlen any) (netip.Prefix, error) {
	pool, err := tx.Get(ctx, p.defs[apidef.SubnetPools], poolID, true)
	if errors.Is(err, store.ErrNotFound) {
		return netip.Prefix{}, SubnetPoolNotFound(poolID)
	}
	if err != nil {
		return netip.Prefix{}, err
	}
	if pool.Int("ip_version") != version {
		return netip.Prefix{}, fault.InvalidInput(fmt.Sprintf("Cannot allocate IPv%d subnet from IPv%d subnet pool",
			version, pool.Int("ip_version")))
	}
	poolPrefixes, err := prefixesOf(pool.Get("prefixes"))
	if err != nil {
		return netip.Prefix{}, err
	}
	usedCIDRs, err := tx.Strings(ctx, apidef.Subnets, "cidr", "subnetpool_id", poolID)
	if err != nil {
		return netip.Prefix{}, err
	}
	used, err := prefixesOf(usedCIDRs)
	if err != nil {
		return netip.Prefix{}, err
	}
	sp := ipam.SubnetPool{Prefixes: poolPrefixes, Allocated: used,
		MinPrefixLen: pool.Int("min_prefixlen"), MaxPrefixLen: pool.Int("max_prefixlen")}
	if q, ok := pool.Get("default_quota").(int); ok && q > 0 {
		sp.DefaultQuota = q
		if sp.QuotaCounted, err = p.quotaCounted(ctx, tx, pool); err != nil {
			return netip.Prefix{}, err
		}
	}
	if cidr != "" {
		want, err := ipam.ParseCIDR(cidr, version)
		if err != nil {
			return netip.Prefix{}, ipamFault(err)
		}
		if err := sp.AllocateSpecific(want); err != nil {
			return netip.Prefix{}, ipamFault(err)
		}
		return want, nil
	}
	n := pool.Int("default_prefixlen")
	if l, ok := prefixlen.(int); ok {
		n = l
	}
	got, err := sp.AllocateAny(n)
	if err != nil {
		return netip.Prefix{}, ipamFault(err)
	}
	return got, nil
}

// quotaCounted are the CIDRs counted against a pool's default_quota: its
// subnets owned by the pool's own project, as Neutron counts them.
func (p *Plugin) quotaCounted(ctx context.Context, tx *store.Tx, pool *resource.Object) ([]netip.Prefix, error) {
	def := p.defs[apidef.Subnets]
	subnets, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("subnetpool_id"), Values: []any{pool.ID()}},
		{Attr: def.Attr("project_id"), Values: []any{pool.String("project_id")}},
	}})
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(subnets))
	for _, s := range subnets {
		if pfx, err := netip.ParsePrefix(s.String("cidr")); err == nil {
			out = append(out, pfx)
		}
	}
	return out, nil
}

// subnetPools serves subnet pools, with the add_prefixes and
// remove_prefixes actions.
type subnetPools struct {
	*generic.Handler
	p *Plugin
}

var _ plugin.Actioner = (*subnetPools)(nil)

// Action implements plugin.Actioner.
func (h *subnetPools) Action(ctx context.Context, id, action string, body map[string]any) (any, error) {
	raw, ok := body["prefixes"]
	if !ok {
		return nil, fault.BadRequest("Unable to find 'prefixes' in request body")
	}
	list, err := resource.ToStringList("prefixes", raw)
	if err != nil {
		return nil, fault.BadRequest("%s", err.Error())
	}
	given := list.([]string)
	var result []string
	err = h.p.store.Write(ctx, func(tx *store.Tx) error {
		pool, err := tx.Get(ctx, h.Res, id, true)
		if errors.Is(err, store.ErrNotFound) {
			return SubnetPoolNotFound(id)
		}
		if err != nil {
			return err
		}
		current := toStrings(pool.Get("prefixes"))
		if len(given) == 0 {
			result = current
			return nil
		}
		have, err := prefixesOf(current)
		if err != nil {
			return err
		}
		asked, err := ipam.ParseActionPrefixes(given)
		if err != nil {
			return ipamFault(err)
		}
		var next []string
		switch action {
		case "add_prefixes":
			merged, err := ipam.UpdatePrefixes(have, append(append([]netip.Prefix{}, have...), asked...), pool.Int("ip_version"))
			if err != nil {
				return ipamFault(err)
			}
			next = prefixStrings(merged)
		case "remove_prefixes":
			remove := asked
			usedCIDRs, err := tx.Strings(ctx, apidef.Subnets, "cidr", "subnetpool_id", id)
			if err != nil {
				return err
			}
			used, err := prefixesOf(usedCIDRs)
			if err != nil {
				return err
			}
			left, err := ipam.RemovePrefixes(have, remove, used)
			if err != nil {
				return ipamFault(err)
			}
			next = prefixStrings(left)
		default:
			return fault.HTTPNotFound()
		}
		patch := resource.New(h.Res)
		patch.Set("prefixes", next)
		if _, err := h.Write(ctx, tx, pool, patch); err != nil {
			return err
		}
		result = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"prefixes": result}, nil
}
