package core

import (
	"context"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Peer-subnet host routes of routed networks (the segments plugin's
// segments-peer-subnet-host-routes, Neutron's SegmentHostRoutes): a
// subnet on one segment of a network gets a host route, through its own
// gateway, to each subnet of the same IP version on the network's other
// segments, unless a route it has already covers that subnet; the routes
// follow subnets being created, deleted and given another gateway.

// segmentOf returns a subnet's segment_id, or "".
func segmentOf(o *resource.Object) string {
	if o.Resource().Attr("segment_id") == nil {
		return ""
	}
	s, _ := o.Get("segment_id").(string)
	return s
}

// peerHostRoutes is _calculate_routed_network_host_routes: routes plus a
// route through gateway to each peer subnet (of version, off segment, not
// subnet skip) no route covers; a route to deletedCIDR through gateway
// and, when the gateway changed, the peer routes through oldGateway go.
func peerHostRoutes(subnets []*resource.Object, skip, segment string, version int, routes []any,
	gateway, oldGateway, deletedCIDR string) []any {
	out := slices.Clone(routes)
	isRoute := func(r any, dst, hop string) bool {
		m, _ := r.(map[string]any)
		return m["destination"] == dst && m["nexthop"] == hop
	}
	drop := func(dst, hop string) bool {
		for i, r := range out {
			if isRoute(r, dst, hop) {
				out = slices.Delete(out, i, i+1)
				return true
			}
		}
		return false
	}
	if deletedCIDR != "" && gateway != "" {
		drop(deletedCIDR, gateway)
	}
	for _, s := range subnets {
		if s.ID() == skip || segmentOf(s) == segment || s.Int("ip_version") != version {
			continue
		}
		cidr := s.String("cidr")
		peer, err := netip.ParsePrefix(cidr)
		if err != nil {
			continue
		}
		if oldGateway != "" {
			drop(cidr, oldGateway)
		}
		if gateway == "" {
			continue
		}
		covered := false
		for _, r := range out {
			m, _ := r.(map[string]any)
			dst, err := netip.ParsePrefix(m["destination"].(string))
			if err == nil && dst.Bits() <= peer.Bits() && dst.Contains(peer.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, map[string]any{"destination": cidr, "nexthop": gateway})
		}
	}
	return out
}

// sameRoutes is the negation of _host_routes_need_update: the same set of
// (destination, nexthop) pairs.
func sameRoutes(a, b []any) bool {
	set := func(rs []any) map[[2]string]bool {
		out := map[[2]string]bool{}
		for _, r := range rs {
			m, _ := r.(map[string]any)
			d, _ := m["destination"].(string)
			h, _ := m["nexthop"].(string)
			out[[2]string{d, h}] = true
		}
		return out
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for k := range sa {
		if !sb[k] {
			return false
		}
	}
	return true
}

func routesOf(v any) []any {
	rs, _ := v.([]any)
	return rs
}

func gatewayOf(v any) string {
	s, _ := v.(string)
	return s
}

// subnetsOfNetwork lists a network's subnets.
func (p *Plugin) subnetsOfNetwork(ctx context.Context, tx *store.Tx, networkID string) ([]*resource.Object, error) {
	def := p.defs[apidef.Subnets]
	return tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{{Attr: def.Attr("network_id"), Values: []any{networkID}}},
		Sorts: []resource.SortKey{{Attr: def.Attr("id")}}})
}

// peerRoutesOnUpdate is host_routes_before_update: a subnet on a segment
// whose routes or gateway change gets its peer routes again.
func (p *Plugin) peerRoutesOnUpdate(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !p.opts.SegmentHostRoutes {
		return nil
	}
	segment := segmentOf(old)
	if patch.Has("segment_id") {
		segment = segmentOf(patch)
	}
	gateway, oldGateway := gatewayOf(old.Get("gateway_ip")), gatewayOf(old.Get("gateway_ip"))
	if patch.Has("gateway_ip") {
		gateway = gatewayOf(patch.Get("gateway_ip"))
	}
	routes := routesOf(old.Get("host_routes"))
	routesChanged := patch.Has("host_routes") && !sameRoutes(routesOf(patch.Get("host_routes")), routes)
	if patch.Has("host_routes") {
		routes = routesOf(patch.Get("host_routes"))
	}
	if segment == "" || (!routesChanged && gateway == oldGateway) {
		return nil
	}
	if gateway == oldGateway {
		oldGateway = ""
	}
	subnets, err := p.subnetsOfNetwork(ctx, tx, old.String("network_id"))
	if err != nil {
		return err
	}
	calc := peerHostRoutes(withoutID(subnets, deletingSubnet(ctx)), old.ID(), segment, old.Int("ip_version"), routes, gateway, oldGateway, "")
	if !sameRoutes(routes, calc) {
		patch.Set("host_routes", calc)
	}
	return nil
}

// updatePeerRoutes is _update_routed_network_host_routes: every subnet
// of the network but skip gets the peer routes it lacks (and loses its
// route to deletedCIDR), through the subnet handler so revisions and the
// DHCP agents follow. The subnet being created (o, when given) is kept
// in step with what is stored.
func (p *Plugin) updatePeerRoutes(ctx context.Context, tx *store.Tx, networkID, skip, deletedCIDR string, o *resource.Object) error {
	subnets, err := p.subnetsOfNetwork(ctx, tx, networkID)
	if err != nil {
		return err
	}
	peers := withoutID(subnets, skip)
	g := genericOf(p.handlers[apidef.Subnets])
	for _, s := range peers {
		routes := routesOf(s.Get("host_routes"))
		calc := peerHostRoutes(peers, s.ID(), segmentOf(s), s.Int("ip_version"), routes,
			gatewayOf(s.Get("gateway_ip")), "", deletedCIDR)
		if sameRoutes(routes, calc) {
			continue
		}
		patch := resource.New(s.Resource())
		patch.Set("host_routes", calc)
		updated, err := g.UpdateIn(context.WithValue(ctx, deletingSubnetKey{}, skip), tx, s, patch)
		if err != nil {
			return err
		}
		if o != nil && o.ID() == s.ID() {
			o.Set("host_routes", updated.Get("host_routes"))
			o.Set("revision_number", updated.Get("revision_number"))
			o.Set("updated_at", updated.Get("updated_at"))
		}
	}
	return nil
}

// deletingSubnetKey marks the updates of a subnet's peers while it is
// being deleted: its row is still there, but it is no peer any more.
type deletingSubnetKey struct{}

func deletingSubnet(ctx context.Context) string {
	id, _ := ctx.Value(deletingSubnetKey{}).(string)
	return id
}

func withoutID(objs []*resource.Object, id string) []*resource.Object {
	out := make([]*resource.Object, 0, len(objs))
	for _, o := range objs {
		if o.ID() != id {
			out = append(out, o)
		}
	}
	return out
}

// peerRoutesAfterCreate is host_routes_after_create: a new subnet on a
// segment gives the network's subnets (itself included) their peer
// routes.
func (p *Plugin) peerRoutesAfterCreate(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if !p.opts.SegmentHostRoutes || segmentOf(o) == "" {
		return nil
	}
	return p.updatePeerRoutes(ctx, tx, o.String("network_id"), "", "", o)
}

// peerRoutesOnDelete is host_routes_after_delete: the other subnets of
// the network lose their route to a deleted subnet on a segment.
func (p *Plugin) peerRoutesOnDelete(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if !p.opts.SegmentHostRoutes || segmentOf(o) == "" {
		return nil
	}
	return p.updatePeerRoutes(ctx, tx, o.String("network_id"), o.ID(), o.String("cidr"), nil)
}
