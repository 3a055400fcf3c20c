// Package flavors is Neutron's flavors service plugin
// (neutron/services/flavors and neutron/db/flavors_db.py): flavors of
// advanced services, service profiles naming a provider's driver, and
// the bindings between them (/v2.0/flavors/{id}/service_profiles). The
// router service resolves a router's flavor_id (l3-flavors) through it
// to the L3 provider of the flavor's first profile.
package flavors

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/serviceproviders"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// PluginType is Neutron's plugin type of the flavors service
// (plugin_constants.FLAVORS).
const PluginType = "FLAVORS"

// bindings is the storage of flavor–profile bindings; the API shows them
// as a flavor's service_profiles and as its sub-resource.
const bindings = "flavorserviceprofilebindings"

// Providers lists the service providers a profile's driver must be one
// of: the service-type plugin's, configured and built in.
type Providers interface {
	Providers() []serviceproviders.Provider
}

// Plugin is the flavors service plugin.
type Plugin struct {
	store *store.Store

	flavorDef, profileDef, subDef, bindDef *resource.Resource
	flavors, profiles, binds               *generic.Handler
	handlers                               map[string]plugin.Handler

	// providers and types are set by Wire: the service providers, and
	// the plugin types of the loaded plugins a flavor may be for.
	providers Providers
	types     []string
}

// New returns the plugin serving the (already restricted) definitions in
// defs.
func New(s *store.Store, defs map[string]*resource.Resource) *Plugin {
	p := &Plugin{store: s, handlers: map[string]plugin.Handler{}, types: []string{"CORE", PluginType},
		flavorDef: defs[apidef.Flavors], profileDef: defs[apidef.ServiceProfiles], subDef: defs[apidef.FlavorServiceProfiles]}
	if p.flavorDef == nil || p.profileDef == nil {
		return p
	}
	p.bindDef = resource.NewResource("flavor_service_profile_binding", bindings,
		&resource.Attr{Name: "id", Kind: resource.String},
		&resource.Attr{Name: "flavor_id", Kind: resource.String},
		&resource.Attr{Name: "service_profile_id", Kind: resource.String})
	p.binds = generic.New(p.bindDef, s, generic.Hooks{})
	s.Relate(apidef.Flavors, "service_profiles", bindings, "flavor_id", "service_profile_id")
	p.flavors = generic.New(p.flavorDef, s, generic.Hooks{
		NotFound:     FlavorNotFound,
		BeforeCreate: p.beforeCreateFlavor,
		BeforeUpdate: func(_ context.Context, _ *store.Tx, _, patch *resource.Object) error {
			patch.Unset("service_profiles")
			return nil
		},
		BeforeDelete: p.beforeDeleteFlavor,
	})
	p.profiles = generic.New(p.profileDef, s, generic.Hooks{
		NotFound:     ProfileNotFound,
		BeforeCreate: p.beforeCreateProfile,
		BeforeUpdate: p.beforeUpdateProfile,
		BeforeDelete: p.ensureProfileUnbound,
	})
	p.handlers[apidef.Flavors] = p.flavors
	p.handlers[apidef.ServiceProfiles] = p.profiles
	if p.subDef != nil {
		p.handlers[apidef.FlavorServiceProfiles] = &flavorProfiles{p: p}
	}
	return p
}

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler { return p.handlers }

// PluginType names the service for flavors' service_type.
func (p *Plugin) PluginType() string { return PluginType }

// Neutron's flavor exceptions (neutron_lib/exceptions/flavors.py).

// FlavorNotFound is neutron-lib's FlavorNotFound.
func FlavorNotFound(id string) error {
	return fault.NotFound("FlavorNotFound", fmt.Sprintf("Flavor %s could not be found.", id))
}

// ProfileNotFound is neutron-lib's ServiceProfileNotFound.
func ProfileNotFound(id string) error {
	return fault.NotFound("ServiceProfileNotFound", fmt.Sprintf("Service Profile %s could not be found.", id))
}

// BindingNotFound is neutron-lib's FlavorServiceProfileBindingNotFound.
func BindingNotFound(profileID, flavorID string) error {
	return fault.NotFound("FlavorServiceProfileBindingNotFound",
		fmt.Sprintf("Service Profile %s is not associated with flavor %s.", profileID, flavorID))
}

func driverNotFound(driver string) error {
	return fault.NotFound("ServiceProfileDriverNotFound", fmt.Sprintf("Service Profile driver %s could not be found.", driver))
}

func (p *Plugin) beforeCreateFlavor(_ context.Context, _ *store.Tx, o *resource.Object) error {
	// type:service_plugin_type: a service a loaded plugin provides.
	if st := o.String("service_type"); !slices.Contains(p.types, st) {
		return fault.New(400, "InvalidServiceType", "Invalid service type %s.", st)
	}
	o.Unset("service_profiles")
	return nil
}

func (p *Plugin) beforeDeleteFlavor(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.CountWhere(ctx, "routers", map[string]any{"flavor_id": o.ID()})
	if err != nil {
		return fmt.Errorf("count routers of flavor %s: %w", o.ID(), err)
	}
	if n > 0 {
		return fault.Conflict("FlavorInUse", "Flavor %s is used by some service instance.", o.ID())
	}
	return nil
}

// checkDriver confirms a profile's driver is a service provider's.
func (p *Plugin) checkDriver(driver string) error {
	if p.providers != nil && slices.ContainsFunc(p.providers.Providers(), func(sp serviceproviders.Provider) bool {
		return sp.Driver == driver
	}) {
		return nil
	}
	return driverNotFound(driver)
}

func (p *Plugin) beforeCreateProfile(_ context.Context, _ *store.Tx, o *resource.Object) error {
	if driver := o.String("driver"); driver != "" {
		return p.checkDriver(driver)
	}
	if meta, _ := o.Get("metainfo").(string); meta == "" {
		return fault.New(400, "ServiceProfileEmpty", "Invalid input for operation: Service Profile needs either a driver or metainfo.")
	}
	return nil
}

func (p *Plugin) beforeUpdateProfile(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if driver, _ := patch.Get("driver").(string); driver != "" {
		if err := p.checkDriver(driver); err != nil {
			return err
		}
	}
	return p.ensureProfileUnbound(ctx, tx, old)
}

func (p *Plugin) ensureProfileUnbound(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.CountWhere(ctx, bindings, map[string]any{"service_profile_id": o.ID()})
	if err != nil {
		return fmt.Errorf("count bindings of service profile %s: %w", o.ID(), err)
	}
	if n > 0 {
		return fault.Conflict("ServiceProfileInUse", "Service Profile %s is used by some service instance.", o.ID())
	}
	return nil
}

// Provider implements l3.Flavors: the name of the service provider whose
// driver the flavor's first enabled-or-not profile names, as Neutron's
// get_flavor_next_provider picks it.
func (p *Plugin) Provider(ctx context.Context, tx *store.Tx, flavorID string) (string, error) {
	if _, err := tx.Get(ctx, p.flavorDef, flavorID, false); errors.Is(err, store.ErrNotFound) {
		return "", FlavorNotFound(flavorID)
	} else if err != nil {
		return "", fmt.Errorf("read flavor %s: %w", flavorID, err)
	}
	binds, err := p.bindingsOf(ctx, tx, flavorID)
	if err != nil {
		return "", err
	}
	if len(binds) == 0 {
		return "", BindingNotFound("", flavorID)
	}
	profileID := binds[0].String("service_profile_id")
	sp, err := tx.Get(ctx, p.profileDef, profileID, false)
	if errors.Is(err, store.ErrNotFound) {
		return "", ProfileNotFound(profileID)
	}
	if err != nil {
		return "", fmt.Errorf("read service profile %s: %w", profileID, err)
	}
	if !sp.Bool("enabled") {
		return "", fault.ServiceUnavailable("ServiceProfileDisabled", "Service Profile is not enabled.")
	}
	driver := sp.String("driver")
	if p.providers != nil {
		for _, sp := range p.providers.Providers() {
			if sp.Driver == driver {
				return sp.Name, nil
			}
		}
	}
	return "", driverNotFound(driver)
}

func (p *Plugin) bindingsOf(ctx context.Context, tx *store.Tx, flavorID string) ([]*resource.Object, error) {
	out, err := tx.List(ctx, p.bindDef, &resource.Query{
		Filters: []resource.Filter{{Attr: p.bindDef.Attr("flavor_id"), Values: []any{flavorID}}},
		Sorts:   []resource.SortKey{{Attr: p.bindDef.Attr("id")}}})
	if err != nil {
		return nil, fmt.Errorf("list service profiles of flavor %s: %w", flavorID, err)
	}
	return out, nil
}
