package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/reqctx"
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

func optInt(o *resource.Object, name string) *int {
	if !o.Has(name) || o.Get(name) == nil {
		return nil
	}
	n := o.Int(name)
	return &n
}

// nullQuota refuses default_quota: null as convert_to_int does.
func nullQuota(o *resource.Object) error {
	if o.Has("default_quota") && o.Get("default_quota") == nil {
		return fault.InvalidInput("'None' is not an integer")
	}
	return nil
}

// beforeCreateSubnetPool follows create_subnetpool: SubnetPoolReader (the
// prefixes, their IP version, the prefix-length bounds), one default per
// IP version, then the address scope.
func (p *Plugin) beforeCreateSubnetPool(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if err := nullQuota(o); err != nil {
		return err
	}
	if !o.Has("default_quota") {
		o.Set("default_quota", nil)
	}
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
	if o.Bool("is_default") {
		if err := p.checkNoDefaultPool(ctx, tx, version); err != nil {
			return err
		}
	}
	if o.Resource().Attr("address_scope_id") != nil && !o.Has("address_scope_id") {
		o.Set("address_scope_id", nil)
	}
	return p.checkAddressScope(ctx, tx, o, prefixes)
}

// checkNoDefaultPool is _check_default_subnetpool_exists.
func (p *Plugin) checkNoDefaultPool(ctx context.Context, tx *store.Tx, version int) error {
	pool, err := p.defaultSubnetPool(ctx, tx, version)
	if err != nil {
		return err
	}
	if pool != nil {
		return fault.InvalidInput("A default subnetpool for this IP family has already been set. Only one default may exist per IP family")
	}
	return nil
}

// checkAddressScope is _validate_address_scope_id: the scope must be one
// the caller may use, of the pool's IP version; re-scoping must
// not split a network's subnets across scopes; and pools in one scope may
// not overlap.
func (p *Plugin) checkAddressScope(ctx context.Context, tx *store.Tx, pool *resource.Object, prefixes []netip.Prefix) error {
	id, _ := pool.Get("address_scope_id").(string)
	if id == "" {
		return nil
	}
	// A scope the caller may use is one it sees: its own, or one shared
	// with its project (the shared flag or an access_as_shared RBAC
	// policy targeting it or '*'), as AddressScope.is_accessible decides;
	// the lookup answers AddressScopeNotFound for any other.
	scope, err := p.visibleAddressScope(ctx, tx, id)
	if err != nil {
		return err
	}
	if v := scope.Int("ip_version"); v != pool.Int("ip_version") {
		return fault.New(400, "IllegalSubnetPoolIpVersionAssociationToAddressScope",
			"Illegal subnetpool association: subnetpool %s cannot associate with address scope %s because subnetpool ip_version is not %d.",
			pool.ID(), id, v)
	}
	if err := p.checkRescopeAffinity(ctx, tx, pool); err != nil {
		return err
	}
	def := p.defs[apidef.SubnetPools]
	others, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("address_scope_id"), Values: []any{id}}}})
	if err != nil {
		return err
	}
	mine := make([]ipam.Range, len(prefixes))
	for i, pfx := range prefixes {
		mine[i] = ipam.RangeOf(pfx)
	}
	for _, other := range others {
		if other.ID() == pool.ID() || !visibleTo(ctx, other) {
			continue
		}
		theirs, err := prefixesOf(other.Get("prefixes"))
		if err != nil {
			return err
		}
		for _, t := range theirs {
			for _, m := range mine {
				if m.Overlaps(ipam.RangeOf(t)) {
					return fault.Conflict("AddressScopePrefixConflict",
						"Failed to associate address scope: subnetpools within an address scope must have unique prefixes.")
				}
			}
		}
	}
	return nil
}

// checkRescopeAffinity is _check_subnetpool_address_scope_network_affinity:
// the networks the pool's subnets are on must have no subnet of the pool's
// IP version from elsewhere, or re-scoping the pool would split them.
func (p *Plugin) checkRescopeAffinity(ctx context.Context, tx *store.Tx, pool *resource.Object) error {
	def := p.defs[apidef.Subnets]
	mine, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("subnetpool_id"), Values: []any{pool.ID()}}}})
	if err != nil || len(mine) == 0 {
		return err
	}
	nets := map[string]bool{}
	var netIDs []any
	for _, s := range mine {
		if id := s.String("network_id"); !nets[id] {
			nets[id] = true
			netIDs = append(netIDs, id)
		}
	}
	all, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("network_id"), Values: netIDs},
		{Attr: def.Attr("ip_version"), Values: []any{pool.Int("ip_version")}}}})
	if err != nil {
		return err
	}
	for _, s := range all {
		if id, _ := s.Get("subnetpool_id").(string); id != pool.ID() {
			return NetworkAddressScopeAffinityError()
		}
	}
	return nil
}

// visibleAddressScope reads an address scope the caller may see, or
// answers AddressScopeNotFound.
func (p *Plugin) visibleAddressScope(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	def := p.defs[apidef.AddressScopes]
	if def == nil {
		return nil, AddressScopeNotFound(id)
	}
	scope, err := tx.Get(ctx, def, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, AddressScopeNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if ok, err := p.rbacVisible(ctx, tx, "address_scope", scope); err != nil || !ok {
		return nil, errors.Join(err, AddressScopeNotFound(id))
	}
	return scope, nil
}

// visibleSubnetPool reads a subnet pool the caller may see, or answers
// SubnetPoolNotFound; forUpdate locks it.
func (p *Plugin) visibleSubnetPool(ctx context.Context, tx *store.Tx, id string, forUpdate bool) (*resource.Object, error) {
	pool, err := tx.Get(ctx, p.defs[apidef.SubnetPools], id, forUpdate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, SubnetPoolNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if ok, err := p.rbacVisible(ctx, tx, "subnetpool", pool); err != nil || !ok {
		return nil, errors.Join(err, SubnetPoolNotFound(id))
	}
	return pool, nil
}

// beforeUpdateSubnetPool follows update_subnetpool: prefixes may only
// grow, SubnetPoolReader revalidates the result, one default per IP
// version, a pool in another project's shared scope cannot be changed,
// and the address scope is checked again.
func (p *Plugin) beforeUpdateSubnetPool(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if err := nullQuota(patch); err != nil {
		return err
	}
	merged := old.Clone()
	merged.Merge(patch)
	prefixes, err := prefixesOf(old.Get("prefixes"))
	if err != nil {
		return err
	}
	if patch.Has("prefixes") {
		requested, err := ipam.ParsePrefixList(toStrings(patch.Get("prefixes")))
		if err != nil {
			return ipamFault(err)
		}
		if prefixes, err = ipam.UpdatePrefixes(prefixes, requested, 0); err != nil {
			return ipamFault(err)
		}
		patch.Set("prefixes", prefixStrings(prefixes))
		merged.Set("prefixes", prefixStrings(prefixes))
	}
	version := old.Int("ip_version")
	if err := ipam.ValidatePrefixLens(merged.Int("min_prefixlen"), merged.Int("default_prefixlen"), merged.Int("max_prefixlen"), version); err != nil {
		return ipamFault(err)
	}
	if merged.Bool("is_default") && !old.Bool("is_default") {
		if err := p.checkNoDefaultPool(ctx, tx, version); err != nil {
			return err
		}
	}
	if scopeID, _ := old.Get("address_scope_id").(string); scopeID != "" {
		scope, err := p.visibleAddressScope(ctx, tx, scopeID)
		if err != nil {
			return err
		}
		if c := reqctx.CallerFrom(ctx); !c.IsAdmin && scope.String("project_id") != c.ProjectID {
			return fault.New(400, "IllegalSubnetPoolUpdate",
				"Illegal subnetpool update : subnetpool %s cannot be updated when associated with shared address scope %s.",
				old.ID(), scopeID)
		}
	}
	return p.checkAddressScope(ctx, tx, merged, prefixes)
}

// beforeDeleteSubnetPool refuses to delete a pool subnets come from.
func (p *Plugin) beforeDeleteSubnetPool(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.CountWhere(ctx, apidef.Subnets, map[string]any{"subnetpool_id": o.ID()})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.New(400, "SubnetPoolDeleteError", "Unable to delete subnet pool: Subnet pool has existing allocations.")
	}
	return p.rbac.DeletePolicies(ctx, tx, "subnetpool", o.ID())
}

// beforeUpdateAddressScope refuses to unshare a shared scope.
func (p *Plugin) beforeUpdateAddressScope(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if old.Bool("shared") && patch.Has("shared") && !patch.Bool("shared") {
		return fault.New(400, "AddressScopeUpdateError", "Unable to update address scope %s : Shared address scope can't be unshared.", old.ID())
	}
	return nil
}

// beforeDeleteAddressScope refuses to delete a scope subnet pools are in.
func (p *Plugin) beforeDeleteAddressScope(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.CountWhere(ctx, apidef.SubnetPools, map[string]any{"address_scope_id": o.ID()})
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("AddressScopeInUse", "Unable to complete operation on address scope %s. There are one or more subnet pools in use on the address scope.", o.ID())
	}
	return p.rbac.DeletePolicies(ctx, tx, "address_scope", o.ID())
}

// rbacShared serves a resource RBAC policies may share (address scopes):
// a project sees its own objects and those a policy shares with it.
type rbacShared struct {
	*generic.Handler
	p          *Plugin
	objectType string
}

var _ plugin.Scoper = (*rbacShared)(nil)

// Scope implements plugin.Scoper.
func (h *rbacShared) Scope(projectID string) *resource.Scope {
	return rbacScope(h.Res, h.p.rbac, h.objectType, projectID)
}

// Scope implements plugin.Scoper: a project sees its own pools and those
// a policy shares with it.
func (h *subnetPools) Scope(projectID string) *resource.Scope {
	return rbacScope(h.Res, h.p.rbac, "subnetpool", projectID)
}

func rbacScope(def *resource.Resource, r *rbac.Registry, objectType, projectID string) *resource.Scope {
	sc := &resource.Scope{ProjectID: projectID}
	if a := def.Attr("shared"); a != nil {
		sc.SharedBy = append(sc.SharedBy, a)
	}
	if r.Enabled() {
		sc.RBACType = objectType
	}
	return sc
}

// afterCreateShareable records the wildcard policy a shared object stands
// for, as Neutron's RBAC objects do on create.
func (p *Plugin) afterCreateShareable(objectType string) func(context.Context, *store.Tx, *resource.Object) error {
	return func(ctx context.Context, tx *store.Tx, o *resource.Object) error {
		if !o.Bool("shared") {
			return nil
		}
		return p.rbac.SyncWildcard(ctx, tx, objectType, o, accessAsShared, true)
	}
}

// afterUpdateShareable follows a change of shared with the wildcard
// policy (update_shared).
func (p *Plugin) afterUpdateShareable(objectType string) func(context.Context, *store.Tx, *resource.Object, *resource.Object) error {
	return func(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
		if old.Bool("shared") == updated.Bool("shared") {
			return nil
		}
		return p.rbac.SyncWildcard(ctx, tx, objectType, updated, accessAsShared, updated.Bool("shared"))
	}
}

// afterReadShareable shows shared as the caller sees it: true when a
// policy shares the object with the caller's project or every project.
func (p *Plugin) afterReadShareable(objectType string) func(context.Context, *store.Tx, []*resource.Object) error {
	return func(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
		return p.rbac.MarkShared(ctx, tx, objectType, "shared", objs)
	}
}

// defaultSubnetPool is get_default_subnetpool: the default pool of the IP
// version among those the caller sees, or nil.
func (p *Plugin) defaultSubnetPool(ctx context.Context, tx *store.Tx, version int) (*resource.Object, error) {
	def := p.defs[apidef.SubnetPools]
	pools, err := tx.List(ctx, def, &resource.Query{
		Filters: []resource.Filter{
			{Attr: def.Attr("is_default"), Values: []any{true}},
			{Attr: def.Attr("ip_version"), Values: []any{version}},
		},
		Sorts: []resource.SortKey{{Attr: def.Attr("created_at")}, {Attr: def.Attr("id")}},
	})
	if err != nil {
		return nil, err
	}
	for _, pool := range pools {
		if ok, err := p.rbacVisible(ctx, tx, "subnetpool", pool); err != nil || ok {
			return pool, err
		}
	}
	return nil, nil
}

// allocateFromPool is SubnetAllocator.allocate_subnet on the (locked)
// pool: the CIDR want when valid, else any free prefix of length n,
// within the pool's bounds and quota. The pool row stays locked until the
// transaction ends, so concurrent allocations from one pool queue instead
// of colliding.
func (p *Plugin) allocateFromPool(ctx context.Context, tx *store.Tx, pool *resource.Object, want netip.Prefix, n int) (netip.Prefix, error) {
	poolPrefixes, err := prefixesOf(pool.Get("prefixes"))
	if err != nil {
		return netip.Prefix{}, err
	}
	usedCIDRs, err := tx.Strings(ctx, apidef.Subnets, "cidr", "subnetpool_id", pool.ID())
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
	if want.IsValid() {
		if err := sp.AllocateSpecific(want); err != nil {
			return netip.Prefix{}, ipamFault(err)
		}
		return want, nil
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

// prefixLenAttrs are the pool's prefix lengths, which Neutron's replies
// give as strings.
var prefixLenAttrs = []string{"default_prefixlen", "min_prefixlen", "max_prefixlen"}

// asNeutronShows turns the prefix lengths of pools read or created into
// strings, as Neutron's make_subnetpool_dict does. An update's reply
// keeps integers, as Neutron's update_subnetpool does (it means to
// convert them too but writes the string under another key, which its
// API layer drops). Values the handler returns are for replies: code that
// reads prefix lengths reads the store.
func asNeutronShows(pools ...*resource.Object) {
	for _, o := range pools {
		for _, name := range prefixLenAttrs {
			if n, ok := o.Get(name).(int); ok {
				o.Set(name, strconv.Itoa(n))
			}
		}
	}
}

// Get implements plugin.Handler.
func (h *subnetPools) Get(ctx context.Context, id string) (*resource.Object, error) {
	o, err := h.Handler.Get(ctx, id)
	if err == nil {
		asNeutronShows(o)
	}
	return o, err
}

// List implements plugin.Handler.
func (h *subnetPools) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	out, err := h.Handler.List(ctx, q)
	asNeutronShows(out...)
	return out, err
}

// Create implements plugin.Handler.
func (h *subnetPools) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	out, err := h.Handler.Create(ctx, objs)
	asNeutronShows(out...)
	return out, err
}

// Action implements plugin.Actioner: add_prefixes is an update of the
// pool's prefixes to the current ones plus those given, with every rule
// of an update; remove_prefixes takes prefixes away unless a subnet uses
// them.
func (h *subnetPools) Action(ctx context.Context, id, action string, body map[string]any) (any, error) {
	if action == "onboard_network_subnets" {
		return h.onboard(ctx, id, body)
	}
	invalid := fault.BadRequest("Request body contains invalid data")
	list, ok := body["prefixes"].([]any)
	if !ok || len(list) == 0 {
		return nil, invalid
	}
	given := make([]string, len(list))
	for i, it := range list {
		given[i] = resource.PyStr(it)
	}
	var result []string
	err := h.p.store.Write(ctx, func(tx *store.Tx) error {
		pool, err := h.p.visibleSubnetPool(ctx, tx, id, true)
		if err != nil {
			return err
		}
		have, err := prefixesOf(pool.Get("prefixes"))
		if err != nil {
			return err
		}
		asked, err := ipam.ParseActionPrefixes(given)
		if err != nil {
			return ipamFault(err)
		}
		patch := resource.New(h.Res)
		switch action {
		case "add_prefixes":
			patch.Set("prefixes", prefixStrings(append(append([]netip.Prefix{}, have...), asked...)))
			if err := h.p.beforeUpdateSubnetPool(ctx, tx, pool, patch); err != nil {
				return err
			}
		case "remove_prefixes":
			usedCIDRs, err := tx.Strings(ctx, apidef.Subnets, "cidr", "subnetpool_id", id)
			if err != nil {
				return err
			}
			used, err := prefixesOf(usedCIDRs)
			if err != nil {
				return err
			}
			left, err := ipam.RemovePrefixes(have, asked, used)
			if err != nil {
				return ipamFault(err)
			}
			patch.Set("prefixes", prefixStrings(left))
		default:
			return fault.HTTPNotFound()
		}
		next, err := h.Write(ctx, tx, pool, patch)
		if err != nil {
			return err
		}
		result = toStrings(next.Get("prefixes"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if result == nil {
		result = []string{}
	}
	return map[string]any{"prefixes": result}, nil
}

// onboard is subnet_onboard's onboard_network_subnets: the network's
// subnets of the pool's IP version join the pool, their CIDRs becoming
// its prefixes, unless one overlaps what the pool has allocated
// (IllegalSubnetPoolUpdate). A non-admin must own the network. The reply
// lists the onboarded subnets' ids and CIDRs, as Neutron's does.
func (h *subnetPools) onboard(ctx context.Context, id string, body map[string]any) (any, error) {
	netID, _ := body["network_id"].(string)
	if netID == "" {
		return nil, fault.InvalidInput("network_id must be specified.")
	}
	onboarded := []any{}
	err := h.p.store.Write(ctx, func(tx *store.Tx) error {
		onboarded = onboarded[:0]
		network, err := tx.Get(ctx, h.p.defs[apidef.Networks], netID, false)
		if errors.Is(err, store.ErrNotFound) {
			return NetworkNotFound(netID)
		}
		if err != nil {
			return err
		}
		if caller := reqctx.CallerFrom(ctx); !caller.IsAdmin && network.String("project_id") != caller.ProjectID {
			return fault.New(403, "NotAuthorized", "Not authorized.")
		}
		pool, err := h.p.visibleSubnetPool(ctx, tx, id, true)
		if err != nil {
			return err
		}
		subnetDef := h.p.defs[apidef.Subnets]
		subnets, err := tx.List(ctx, subnetDef, &resource.Query{Filters: []resource.Filter{
			{Attr: subnetDef.Attr("network_id"), Values: []any{netID}},
			{Attr: subnetDef.Attr("ip_version"), Values: []any{pool.Int("ip_version")}}},
			Sorts: []resource.SortKey{{Attr: subnetDef.Attr("id")}}})
		if err != nil {
			return err
		}
		usedCIDRs, err := tx.Strings(ctx, apidef.Subnets, "cidr", "subnetpool_id", id)
		if err != nil {
			return err
		}
		used, err := prefixesOf(usedCIDRs)
		if err != nil {
			return err
		}
		have, err := prefixesOf(pool.Get("prefixes"))
		if err != nil {
			return err
		}
		prefixes := append([]netip.Prefix{}, have...)
		for _, sn := range subnets {
			cidr, err := netip.ParsePrefix(sn.String("cidr"))
			if err != nil {
				return fmt.Errorf("subnet %s: %w", sn.ID(), err)
			}
			for _, u := range used {
				if u.Overlaps(cidr) {
					return fault.New(400, "IllegalSubnetPoolUpdate", "Illegal update to subnet pool: %s.",
						fmt.Sprintf("Onboarding subnet %s: %s conflicts with allocated prefixes in subnet pool %s", sn.ID(), sn.String("cidr"), id))
				}
			}
			prefixes = append(prefixes, cidr)
			onboarded = append(onboarded, map[string]any{"id": sn.ID(), "cidr": sn.String("cidr")})
		}
		patch := resource.New(h.Res)
		patch.Set("prefixes", prefixStrings(prefixes))
		if err := h.p.beforeUpdateSubnetPool(ctx, tx, pool, patch); err != nil {
			return err
		}
		if _, err := h.Write(ctx, tx, pool, patch); err != nil {
			return err
		}
		for _, sn := range subnets {
			sp := resource.New(subnetDef)
			sp.Set("subnetpool_id", id)
			if _, err := genericOf(h.p.handlers[apidef.Subnets]).Write(ctx, tx, sn, sp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return onboarded, nil
}
