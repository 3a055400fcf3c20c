package securitygroups

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// The security groups of ports, as ML2 handles them
// (_portsec_ext_port_create_processing, _get_security_groups_on_port,
// _update_security_group_on_port, _portsec_ext_port_update_processing).
// The core plugin calls these inside the port's write transaction.

func portSecurityRequired() error {
	return fault.New(400, "PortSecurityAndIPRequiredForSecurityGroups",
		"Port security must be enabled and port must have an IP address in order to use security groups.")
}

// trusted is is_port_trusted: ports of network:* devices (DHCP, router
// interfaces …) take no security groups.
func trusted(port *resource.Object) bool {
	return strings.HasPrefix(port.String("device_owner"), "network:")
}

// portSecurity reports whether port security is on for the port as it
// will be (patch over old; a port without the attribute has it on).
func portSecurity(old, patch *resource.Object) bool {
	for _, o := range []*resource.Object{patch, old} {
		if o != nil && o.Has("port_security_enabled") && o.Get("port_security_enabled") != nil {
			return o.Bool("port_security_enabled")
		}
	}
	return true
}

func groupList(o *resource.Object) ([]string, bool) {
	if o == nil || !o.Has("security_groups") {
		return nil, false
	}
	ids, _ := o.Get("security_groups").([]string)
	return ids, true
}

// EnsureDefaultGroup creates the project's default group inside tx when
// it has none and the caller may create it (Neutron's
// _ensure_default_security_group, run when networks and ports are created
// and ports updated).
func (p *Plugin) EnsureDefaultGroup(ctx context.Context, tx *store.Tx, project string) error {
	_, err := p.ensureDefault(ctx, tx, project)
	return err
}

// CreatePortGroups gives a new port its security groups: those asked for,
// which must exist for the port's project, or else the project's default
// group (created if need be), unless the port has port security off or
// belongs to a network:* device. It sets the port's security_groups.
func (p *Plugin) CreatePortGroups(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	if port.Resource().Attr("security_groups") == nil {
		return nil
	}
	ids, given := groupList(port)
	ensured := false // ids is the project's default group, just ensured
	switch {
	case trusted(port):
		// Neutron gives network:* devices no groups, whatever was asked
		// (and no port security either).
		ids = nil
	case !portSecurity(port, nil):
		if len(ids) > 0 {
			return portSecurityRequired()
		}
		ids = nil
	case !given:
		def, err := p.ensureDefault(ctx, tx, port.String("project_id"))
		if err != nil {
			return err
		}
		if def != "" {
			ids, ensured = []string{def}, true
		}
	}
	if !ensured {
		if err := p.checkGroups(ctx, tx, port, ids); err != nil {
			return err
		}
	}
	if err := tx.AddPortSecurityGroups(ctx, port.ID(), ids); err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	port.Set("security_groups", ids)
	if err := p.notifyProvider(ctx, tx, port, nil); err != nil {
		return err
	}
	return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsMemberUpdated, ids)
}

// UpdatePortGroups applies a port update's security groups: a new list
// replaces the port's; port security may not be off while groups are
// given or kept. It notifies the groups whose members change, including
// by a change of the port's addresses.
func (p *Plugin) UpdatePortGroups(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if old.Resource().Attr("security_groups") == nil {
		return nil
	}
	current, _ := old.Get("security_groups").([]string)
	if patch.Has("fixed_ips") && !reflect.DeepEqual(patch.Get("fixed_ips"), old.Get("fixed_ips")) {
		if err := p.notifyProvider(ctx, tx, old, patch); err != nil {
			return err
		}
	}
	ids, given := groupList(patch)
	if !portSecurity(old, patch) {
		if len(ids) > 0 {
			return portSecurityRequired()
		}
		if !given && len(current) > 0 {
			return fault.Conflict("PortSecurityPortHasSecurityGroup",
				"Port has security group associated. Cannot disable port security or IP address until security group is removed.")
		}
	}
	if given && !sameSet(ids, current) {
		if trusted(old) && !(patch.Has("device_owner") && !trusted(patch)) {
			ids = nil
		}
		if err := p.bindPort(ctx, tx, old, ids); err != nil {
			return err
		}
		if ids == nil {
			ids = []string{}
		}
		patch.Set("security_groups", ids)
		return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsMemberUpdated, append(slices.Clone(current), ids...))
	}
	if given {
		patch.Unset("security_groups")
	}
	for _, a := range []string{"fixed_ips", "mac_address", "allowed_address_pairs"} {
		if patch.Has(a) && !reflect.DeepEqual(patch.Get(a), old.Get(a)) {
			return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsMemberUpdated, current)
		}
	}
	return nil
}

// DeletePortGroups tells the agents that the port's groups lose a member;
// its bindings go with the port's row.
func (p *Plugin) DeletePortGroups(ctx context.Context, tx *store.Tx, port *resource.Object) error {
	ids, _ := port.Get("security_groups").([]string)
	if err := p.notifyProvider(ctx, tx, port, nil); err != nil {
		return err
	}
	return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsMemberUpdated, ids)
}

// routerInterfaceOwners are Neutron's ROUTER_INTERFACE_OWNERS.
var routerInterfaceOwners = []string{"network:router_interface", "network:router_interface_distributed",
	"network:ha_router_replicated_interface"}

// notifyProvider records security_groups_provider_updated for the ports
// of the network when a DHCP or router interface port with an IPv6
// address is created, deleted or readdressed (patch over port), as
// Neutron's notify_security_groups_member_updated_bulk does: such ports
// change the provider rules (router advertisements, DHCPv6) of their
// network's ports.
func (p *Plugin) notifyProvider(ctx context.Context, tx *store.Tx, port, patch *resource.Object) error {
	if p.opts.Outbox == nil || p.portDef == nil {
		return nil
	}
	owner := port.String("device_owner")
	if patch != nil && patch.Has("device_owner") {
		owner = patch.String("device_owner")
	}
	if owner != "network:dhcp" && !slices.Contains(routerInterfaceOwners, owner) {
		return nil
	}
	v6 := false
	for _, o := range []*resource.Object{port, patch} {
		if o == nil || !o.Has("fixed_ips") {
			continue
		}
		ips, _ := o.Get("fixed_ips").([]any)
		for _, it := range ips {
			if m, ok := it.(map[string]any); ok {
				if s, ok := m["ip_address"].(string); ok && strings.Contains(s, ":") {
					v6 = true
				}
			}
		}
	}
	if !v6 {
		return nil
	}
	ports, err := tx.List(ctx, p.portDef, &resource.Query{Filters: []resource.Filter{
		{Attr: p.portDef.Attr("network_id"), Values: []any{port.String("network_id")}}}})
	if err != nil {
		return fmt.Errorf("ports of network %s: %w", port.String("network_id"), err)
	}
	devices := make([]string, 0, len(ports))
	for _, q := range ports {
		devices = append(devices, q.ID())
	}
	args, err := json.Marshal(rpcapi.SecurityGroupsProviderUpdated{DevicesToUpdate: devices})
	if err != nil {
		return fmt.Errorf("encode %s: %w", rpcapi.MethodSecurityGroupsProviderUpdated, err)
	}
	return p.opts.Outbox.Record(ctx, tx, rpcapi.Notification{Topic: rpcapi.TopicSecurityGroup,
		Method: rpcapi.MethodSecurityGroupsProviderUpdated, Fanout: true,
		// Neutron casts it at 1.1 too, though devices_to_update came with
		// 1.3: agents ignore arguments they do not know.
		Version: rpcapi.SecurityGroupNotificationVersion, Args: args})
}

// bindPort checks the groups exist for the port's project and may be
// mixed (stateful with stateful only), and records them.
func (p *Plugin) bindPort(ctx context.Context, tx *store.Tx, port *resource.Object, ids []string) error {
	if err := p.checkGroups(ctx, tx, port, ids); err != nil {
		return err
	}
	return tx.SetPortSecurityGroups(ctx, port.ID(), ids)
}

// checkGroups refuses groups the port's project cannot see, and a mix of
// stateful and stateless ones.
func (p *Plugin) checkGroups(ctx context.Context, tx *store.Tx, port *resource.Object, ids []string) error {
	if len(ids) > 0 {
		groups, err := p.visibleGroups(ctx, tx, port.String("project_id"), ids)
		if err != nil {
			return err
		}
		var missing []string
		stateful, stateless := false, false
		for _, id := range ids {
			g := groups[id]
			if g == nil {
				missing = append(missing, id)
				continue
			}
			if g.Resource().Attr("stateful") == nil || g.Bool("stateful") {
				stateful = true
			} else {
				stateless = true
			}
		}
		if len(missing) > 0 {
			return SecurityGroupNotFound(strings.Join(missing, ", "))
		}
		if stateful && stateless {
			return securityGroupConflict("Cannot apply both stateful and stateless security groups on the same port at the same time")
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
