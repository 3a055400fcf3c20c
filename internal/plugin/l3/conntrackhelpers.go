package l3

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Routers' conntrack helpers, as Neutron's conntrack_helper service
// plugin (neutron/services/conntrack_helper) keeps them: a helper is
// allowed only for the protocols [DEFAULT] allowed_conntrack_helpers
// lists for it, a router holds each (protocol, port, helper) once, and
// the L3 agents hosting the router hear of every change.

// ConntrackHelperNotFound is Neutron's ConntrackHelperNotFound.
func ConntrackHelperNotFound(id string) error {
	return fault.NotFound("ConntrackHelperNotFound", fmt.Sprintf("Conntrack Helper %s could not be found.", id))
}

// checkConntrackHelper refuses a helper the configuration does not allow
// for its protocol, and a duplicate of another helper of the router.
func (p *Plugin) checkConntrackHelper(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	helper, protocol := o.String("helper"), o.String("protocol")
	protocols, ok := p.opts.ConntrackHelpers[helper]
	if !ok {
		return fault.New(400, "ConntrackHelperNotAllowed", "Conntrack Helper %s is not allowed.", helper)
	}
	if !slices.Contains(protocols, protocol) {
		return fault.New(400, "InvalidProtocolForHelper",
			"Conntrack Helper %s does not support: %s. Supported protocols are: %s",
			helper, protocol, strings.Join(protocols, ", "))
	}
	routerID := o.String("router_id")
	existing, err := list(ctx, tx, p.cthDef, "router_id", routerID)
	if err != nil {
		return err
	}
	for _, e := range existing {
		if e.ID() != o.ID() && e.String("protocol") == protocol && e.Int("port") == o.Int("port") && e.String("helper") == helper {
			return badConntrackHelper("A duplicate conntrack helper entry with same attributes already exists, conflicting values are {'router_id': '%s', 'protocol': '%s', 'port': %d, 'helper': '%s'}",
				routerID, protocol, o.Int("port"), helper)
		}
	}
	return nil
}

func badConntrackHelper(format string, args ...any) error {
	return fault.NeutronBadRequest("conntrack_helper", fmt.Sprintf(format, args...))
}

func (p *Plugin) beforeCreateConntrackHelper(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	// The router's row lock orders concurrent changes of its helpers.
	if _, err := tx.Get(ctx, p.routerDef, o.String("router_id"), true); err != nil {
		return RouterNotFound(o.String("router_id"))
	}
	return p.checkConntrackHelper(ctx, tx, o)
}

func (p *Plugin) beforeUpdateConntrackHelper(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if _, err := tx.Get(ctx, p.routerDef, old.String("router_id"), true); err != nil {
		return RouterNotFound(old.String("router_id"))
	}
	merged := old.Clone()
	merged.Merge(patch)
	return p.checkConntrackHelper(ctx, tx, merged)
}

func (p *Plugin) afterWriteConntrackHelper(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.notify(ctx, tx, o.String("router_id"))
}

// fillConntrackHelpers shows each router's helpers (protocol, port and
// helper), as expose-l3-conntrack-helper does, with one query.
func (p *Plugin) fillConntrackHelpers(ctx context.Context, tx *store.Tx, rs []*resource.Object) error {
	if len(rs) == 0 || p.cthDef == nil || rs[0].Resource().Attr("conntrack_helpers") == nil {
		return nil
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID()
	}
	helpers, err := list(ctx, tx, p.cthDef, "router_id", ids...)
	if err != nil {
		return err
	}
	byRouter := map[string][]any{}
	for _, h := range helpers {
		byRouter[h.String("router_id")] = append(byRouter[h.String("router_id")],
			map[string]any{"protocol": h.String("protocol"), "port": h.Int("port"), "helper": h.String("helper")})
	}
	for _, r := range rs {
		hs := byRouter[r.ID()]
		if hs == nil {
			hs = []any{}
		}
		r.Set("conntrack_helpers", hs)
	}
	return nil
}

// syncConntrackHelpers adds each router's helpers to the sync_routers
// payload, as Neutron's router dicts carry them (conntrack_helpers).
func (p *Plugin) syncConntrackHelpers(ctx context.Context, tx *store.Tx, routers []rpcapi.Router) error {
	if p.cthDef == nil || len(routers) == 0 {
		return nil
	}
	ids := make([]string, len(routers))
	byID := make(map[string]*rpcapi.Router, len(routers))
	for i := range routers {
		ids[i] = routers[i].ID
		byID[routers[i].ID] = &routers[i]
	}
	helpers, err := list(ctx, tx, p.cthDef, "router_id", ids...)
	if err != nil {
		return fmt.Errorf("conntrack helpers of routers: %w", err)
	}
	for _, h := range helpers {
		if r := byID[h.String("router_id")]; r != nil {
			r.ConntrackHelpers = append(r.ConntrackHelpers, rpcapi.ConntrackHelper{
				Protocol: h.String("protocol"), Port: h.Int("port"), Helper: h.String("helper")})
		}
	}
	return nil
}

// parseAllowedHelpers reads allowed_conntrack_helpers ("helper:protocol"
// items) into each helper's protocols.
func parseAllowedHelpers(items []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, it := range items {
		helper, protocol, ok := strings.Cut(strings.TrimSpace(it), ":")
		helper, protocol = strings.TrimSpace(helper), strings.TrimSpace(protocol)
		if !ok || helper == "" || protocol == "" {
			return nil, fmt.Errorf("%q is not a helper:protocol pair", it)
		}
		if !slices.Contains(out[helper], protocol) {
			out[helper] = append(out[helper], protocol)
		}
	}
	return out, nil
}
