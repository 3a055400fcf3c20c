package l3

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/ipam"
	"github.com/neutrino-net/neutrino/internal/plugin/serviceproviders"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// PluginType is Neutron's plugin type of the router service
// (plugin_constants.L3): flavors of this service_type are router
// flavors.
const PluginType = "L3_ROUTER_NAT"

// PluginType names the service for flavors' service_type.
func (p *Plugin) PluginType() string { return PluginType }

// Flavors resolves a router flavor to the L3 provider its first service
// profile's driver names, as Neutron's L3 driver controller does through
// the flavors plugin (FlavorNotFound, FlavorServiceProfileBindingNotFound,
// ServiceProfileDisabled, ServiceProfileDriverNotFound otherwise).
type Flavors interface {
	Provider(ctx context.Context, tx *store.Tx, flavorID string) (string, error)
}

// SetFlavors lets routers take a flavor_id (l3-flavors).
func (p *Plugin) SetFlavors(f Flavors) { p.flavors = f }

// support is what an L3 provider says of one router mode.
type support int

const (
	optional support = iota
	mandatory
	unsupported
)

func (s support) compatible(flag bool) bool {
	switch s {
	case mandatory:
		return flag
	case unsupported:
		return !flag
	}
	return true
}

// providerSupport is Neutron's built-in L3 providers' distributed and HA
// support; a provider Neutron does not build in supports either.
var providerSupport = map[string][2]support{
	"single_node": {unsupported, unsupported},
	"ha":          {unsupported, mandatory},
	"dvr":         {mandatory, unsupported},
	"dvrha":       {mandatory, mandatory},
}

// BuiltinProviders implements serviceproviders.Builtin: the L3
// providers Neutron's router plugin always has.
func (p *Plugin) BuiltinProviders() []serviceproviders.Provider {
	const prefix = "neutron.services.l3_router.service_providers."
	return []serviceproviders.Provider{
		{ServiceType: PluginType, Name: "dvrha", Driver: prefix + "dvrha.DvrHaDriver"},
		{ServiceType: PluginType, Name: "dvr", Driver: prefix + "dvr.DvrDriver"},
		{ServiceType: PluginType, Name: "ha", Driver: prefix + "ha.HaDriver"},
		{ServiceType: PluginType, Name: "single_node", Driver: prefix + "single_node.SingleNodeDriver"},
	}
}

// checkProvider refuses distributed or ha values the provider cannot
// serve; only values given in the request count.
func checkProvider(provider string, request *resource.Object) error {
	s := providerSupport[provider]
	for i, key := range []string{"distributed", "ha"} {
		flag, ok := request.Get(key).(bool)
		if !request.Has(key) || !ok {
			continue
		}
		if !s[i].compatible(flag) {
			return fault.InvalidInput(fmt.Sprintf("Provider %s does not support %s=%s", provider, key, pyBool(flag)))
		}
	}
	return nil
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// checkFlavorOnCreate resolves a new router's flavor and checks the
// request against its provider.
func (p *Plugin) checkFlavorOnCreate(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if p.routerDef.Attr("flavor_id") == nil {
		return nil
	}
	id, _ := o.Get("flavor_id").(string)
	if id == "" || p.flavors == nil {
		o.Set("flavor_id", nil)
		return nil
	}
	provider, err := p.flavors.Provider(ctx, tx, id)
	if err != nil {
		return err
	}
	return checkProvider(provider, o)
}

// checkFlavorOnUpdate refuses distributed or ha changes a flavored
// router's provider cannot serve: the provider would change without the
// flavor.
func (p *Plugin) checkFlavorOnUpdate(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if p.routerDef.Attr("flavor_id") == nil || p.flavors == nil {
		return nil
	}
	id, _ := old.Get("flavor_id").(string)
	if id == "" || (!patch.Has("distributed") && !patch.Has("ha")) {
		return nil
	}
	provider, err := p.flavors.Provider(ctx, tx, id)
	if err != nil {
		return err
	}
	if checkProvider(provider, patch) != nil {
		return fault.InvalidInput("Changing the 'ha' and 'distributed' attributes on a router associated with a flavor is not supported")
	}
	return nil
}

// ipChangeNotAllowed are the device owners whose IPv4 addresses may not
// change while a router owns them (l3-port-ip-change-not-allowed:
// Neutron's IP_UPDATE_NOT_ALLOWED_LIST).
var ipChangeNotAllowed = []string{
	ipam.DeviceOwnerRouterInterface,
	"network:router_ha_interface",
	ipam.DeviceOwnerHAReplicatedIntf,
	ipam.DeviceOwnerRouterSNAT,
	ipam.DeviceOwnerDVRInterface,
}

// checkRouterPortIPs refuses an update that adds or removes an IPv4
// address of a router's interface port (IPAddressChangeNotAllowed).
func (p *Plugin) checkRouterPortIPs(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !slices.Contains(ipChangeNotAllowed, old.String("device_owner")) {
		return nil
	}
	routerID := old.String("device_id")
	if routerID == "" {
		return nil
	}
	if n, err := tx.CountWhere(ctx, "routers", map[string]any{"id": routerID}); err != nil || n == 0 {
		return err
	}
	v4 := func(o *resource.Object) map[string]bool {
		out := map[string]bool{}
		for _, f := range fixedIPs(o) {
			if a, err := netip.ParseAddr(f.ip); err == nil && a.Is4() {
				out[a.String()] = true
			}
		}
		return out
	}
	before, after := v4(old), v4(patch)
	changed := len(before) != len(after)
	for ip := range before {
		if !after[ip] {
			changed = true
		}
	}
	if changed {
		return fault.New(400, "IPAddressChangeNotAllowed", "IP updates for port %s are not allowed.", old.ID())
	}
	return nil
}
