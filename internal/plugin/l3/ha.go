package l3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// HA routers' network, as Neutron's l3_hamode_db makes it: before its
// first HA router is created a project gets a network of its own for the
// routers' keepalived traffic, "HA network tenant <project>", owned by no
// project (tenant_id '', so only admins see it), a normal project network
// whose segment ML2 allocates (or of [DEFAULT] l3_ha_network_type and
// l3_ha_network_physical_name), with one subnet of [DEFAULT]
// l3_ha_net_cidr without DHCP or gateway. ha_router_networks records it;
// every later HA router of the project shares it, and it is deleted with
// the project's last HA router. The keepalived data plane is not here.

var (
	optL3HANetCIDR = config.Options.String(config.DefaultSection, "l3_ha_net_cidr", "169.254.192.0/18",
		"Subnet used for the L3 HA admin network.")
	optL3HANetworkType = config.Options.String(config.DefaultSection, "l3_ha_network_type", "",
		"The network type to use when creating the HA network for an HA router. By default or if empty, the first 'tenant_network_types' is used.")
	optL3HANetworkPhysicalName = config.Options.String(config.DefaultSection, "l3_ha_network_physical_name", "",
		"The physical network name with which the HA network can be created.")
)

// Names of the HA network and subnet (neutron_lib.constants).
const (
	haNetworkName = "HA network tenant %s"
	haSubnetName  = "HA subnet tenant %s"
)

// haOptions reads the HA network's options.
func haOptions(cfg *config.Config) (cidr, networkType, physnet string) {
	return cfg.String(optL3HANetCIDR), cfg.String(optL3HANetworkType), cfg.String(optL3HANetworkPhysicalName)
}

// haCore is what HA routers need of the core plugin: its network and
// subnet handlers, to make and remove the HA network as an admin would.
type haCore struct {
	networks, subnets plugin.Handler
}

func adminContext(ctx context.Context) context.Context {
	return reqctx.WithCaller(ctx, &reqctx.Caller{IsAdmin: true, Roles: []string{"admin"}})
}

// isHA reports whether a router being created is HA: its ha, else
// [DEFAULT] l3_ha.
func (p *Plugin) isHA(o *resource.Object) bool {
	if o.Resource().Attr("ha") == nil {
		return false
	}
	if v, ok := o.Get("ha").(bool); ok && o.Has("ha") {
		return v
	}
	return p.opts.L3HA
}

// haNetwork returns project's HA network id, or "".
func (p *Plugin) haNetwork(ctx context.Context, project string) (string, error) {
	var id string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		net, ok, err := tx.HARouterNetwork(ctx, project)
		if err != nil || !ok {
			return err
		}
		if _, err := tx.Get(ctx, p.netDef, net, false); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil // deleted by an admin: made again
			}
			return err
		}
		id = net
		return nil
	})
	return id, err
}

// ensureHANetwork makes project's HA network unless it has one, before
// its HA router is created (Neutron's _before_router_create), so that a
// network that cannot be allocated fails the router's create.
func (p *Plugin) ensureHANetwork(ctx context.Context, project string) error {
	if p.ha.networks == nil || p.ha.subnets == nil {
		return nil
	}
	if id, err := p.haNetwork(ctx, project); err != nil || id != "" {
		return err
	}
	admin := adminContext(ctx)
	attrs := map[string]any{"name": fmt.Sprintf(haNetworkName, project), "project_id": "", "tenant_id": "",
		"shared": false, "admin_state_up": true}
	if p.opts.HANetworkType != "" && p.netDef.Attr("provider:network_type") != nil {
		attrs["provider:network_type"] = p.opts.HANetworkType
	}
	if p.opts.HANetworkPhysicalName != "" && p.netDef.Attr("provider:physical_network") != nil {
		attrs["provider:physical_network"] = p.opts.HANetworkPhysicalName
	}
	nets, err := p.ha.networks.Create(admin, []*resource.Object{resource.NewWithDefaults(p.netDef, attrs)})
	if err != nil {
		return err
	}
	netID := nets[0].ID()
	_, err = p.ha.subnets.Create(admin, []*resource.Object{resource.NewWithDefaults(p.subnetDef, map[string]any{
		"network_id": netID, "project_id": "", "tenant_id": "", "name": fmt.Sprintf(haSubnetName, project),
		"ip_version": 4, "cidr": p.opts.HANetCIDR, "enable_dhcp": false, "gateway_ip": nil,
	})})
	saved := false
	if err == nil {
		err = p.store.Write(ctx, func(tx *store.Tx) error {
			var err error
			saved, err = tx.SaveHARouterNetwork(ctx, project, netID)
			return err
		})
	}
	if err != nil || !saved {
		// Another router's request made the project's network first (or
		// this one failed): remove ours.
		if derr := p.ha.networks.Delete(admin, netID, plugin.NoRevision); derr != nil {
			slog.WarnContext(ctx, "HA network left behind", "network_id", netID, "error", derr)
		}
	}
	return err
}

// releaseHANetwork deletes project's HA network once it has no HA router
// left (Neutron's safe_delete_ha_network).
func (p *Plugin) releaseHANetwork(ctx context.Context, project string) error {
	if p.ha.networks == nil {
		return nil
	}
	var netID string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		routers, err := list(ctx, tx, p.routerDef, "project_id", project)
		if err != nil {
			return err
		}
		for _, r := range routers {
			if r.Bool("ha") {
				return nil
			}
		}
		netID, _, err = tx.HARouterNetwork(ctx, project)
		return err
	})
	if err != nil || netID == "" {
		return err
	}
	err = p.ha.networks.Delete(adminContext(ctx), netID, plugin.NoRevision)
	if err != nil && !fault.Is(err, "NetworkNotFound") {
		return err
	}
	return p.store.Write(ctx, func(tx *store.Tx) error { return tx.DeleteHARouterNetwork(ctx, netID) })
}
