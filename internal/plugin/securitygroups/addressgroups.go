package securitygroups

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Address groups (Neutron's address_group_db.py, extensions
// address-group and rbac-address-group): named lists of CIDRs that
// security group rules name as their remote (remote_address_group_id,
// security-groups-remote-address-group). The firewall gets a group's
// addresses as it gets a remote group's members.

// AddressGroupNotFound is neutron-lib's AddressGroupNotFound.
func AddressGroupNotFound(id string) error {
	return fault.NotFound("AddressGroupNotFound", fmt.Sprintf("Address group %s could not be found.", id))
}

// addressGroupHandler serves address groups and their add_addresses and
// remove_addresses actions.
type addressGroupHandler struct {
	*generic.Handler
	p *Plugin
}

var (
	_ plugin.Scoper   = (*addressGroupHandler)(nil)
	_ plugin.Actioner = (*addressGroupHandler)(nil)
)

func (p *Plugin) newAddressGroups(s *store.Store, def *resource.Resource) *addressGroupHandler {
	return &addressGroupHandler{p: p, Handler: generic.New(def, s, generic.Hooks{
		NotFound:        AddressGroupNotFound,
		BeforeCreate:    p.beforeCreateAddressGroup,
		BeforeDelete:    p.beforeDeleteAddressGroup,
		AfterRead:       p.afterReadAddressGroups,
		InitialRevision: 0,
	})}
}

// Scope implements plugin.Scoper: a project sees its groups and those
// RBAC policies share with it.
func (h *addressGroupHandler) Scope(projectID string) *resource.Scope {
	sc := &resource.Scope{ProjectID: projectID}
	if h.p.rbacTypes.Enabled() {
		sc.RBACType = "address_group"
	}
	return sc
}

// Get answers AddressGroupNotFound for a group the caller may not see:
// Neutron's query filters by owner and RBAC before any policy rule.
func (h *addressGroupHandler) Get(ctx context.Context, id string) (*resource.Object, error) {
	o, err := h.Handler.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c := reqctx.CallerFrom(ctx)
	if c.IsAdmin || o.String("project_id") == c.ProjectID || o.Bool("shared") {
		return o, nil
	}
	return nil, AddressGroupNotFound(id)
}

// normalizeAddresses is _process_requested_addresses: each address as its
// network and prefix length, each once. A string netaddr cannot read is
// netaddr's AddrFormatError, a 400.
func normalizeAddresses(given []string) ([]string, error) {
	var out []string
	for _, s := range given {
		p, err := parseAddress(s)
		if err != nil {
			return nil, err
		}
		if n := p.Masked().String(); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// parseAddress reads an address or a CIDR as netaddr.IPNetwork does.
func parseAddress(s string) (netip.Prefix, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "/") {
		if p, err := netip.ParsePrefix(t); err == nil && p.Addr().Zone() == "" {
			return p, nil
		}
	} else if a, err := netip.ParseAddr(t); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fault.New(400, "AddrFormatError", "invalid IPNetwork %s", s)
}

func (p *Plugin) beforeCreateAddressGroup(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	var given []string
	if v := o.Get("addresses"); v != resource.NotSpecified {
		given = toStrings(v)
	}
	addrs, err := normalizeAddresses(given)
	if err != nil {
		return err
	}
	slices.Sort(addrs)
	o.Set("addresses", addrs)
	o.Set("shared", false)
	return nil
}

// beforeDeleteAddressGroup refuses to delete a group a rule (of any
// project) names, and removes its RBAC policies.
func (p *Plugin) beforeDeleteAddressGroup(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if p.ruleDef.Attr("remote_address_group_id") != nil {
		n, err := tx.CountWhere(ctx, apidef.SecurityGroupRules, map[string]any{"remote_address_group_id": o.ID()})
		if err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict("AddressGroupInUse",
				"Address group %s is in use on one or more security group rules.", o.ID())
		}
	}
	return p.rbacTypes.DeletePolicies(ctx, tx, "address_group", o.ID())
}

// afterReadAddressGroups shows shared (for policy only: it is not shown)
// as the caller sees it.
func (p *Plugin) afterReadAddressGroups(ctx context.Context, tx *store.Tx, groups []*resource.Object) error {
	for _, g := range groups {
		if a, ok := g.Get("addresses").([]string); ok {
			slices.Sort(a)
		}
	}
	return p.rbacTypes.MarkShared(ctx, tx, "address_group", "shared", groups)
}

// Action implements plugin.Actioner: add_addresses adds addresses none of
// which the group has (AddressesAlreadyExist), remove_addresses removes
// addresses all of which it has (AddressesNotFound); the reply is the
// group, and the firewalls of ports whose rules name it are told.
func (h *addressGroupHandler) Action(ctx context.Context, id, action string, body map[string]any) (any, error) {
	list, ok := body["addresses"].([]any)
	if !ok {
		return nil, fault.BadRequest("Request body contains invalid data")
	}
	given := make([]string, len(list))
	for i, it := range list {
		given[i] = resource.PyStr(it)
	}
	asked, err := normalizeAddresses(given)
	if err != nil {
		return nil, err
	}
	var out *resource.Object
	err = h.p.store.Write(ctx, func(tx *store.Tx) error {
		ag, err := tx.Get(ctx, h.Res, id, true)
		if errors.Is(err, store.ErrNotFound) {
			return AddressGroupNotFound(id)
		}
		if err != nil {
			return err
		}
		have := toStrings(ag.Get("addresses"))
		var in, notIn []string
		for _, a := range asked {
			if slices.Contains(have, a) {
				in = append(in, a)
			} else {
				notIn = append(notIn, a)
			}
		}
		var next []string
		switch action {
		case "add_addresses":
			if len(in) > 0 {
				return fault.New(400, "AddressesAlreadyExist", "Addresses %s already exist in the address group %s.",
					pyList(in), id)
			}
			next = append(append([]string{}, have...), notIn...)
		case "remove_addresses":
			if len(notIn) > 0 {
				return fault.NotFound("AddressesNotFound", fmt.Sprintf("Addresses %s not found in the address group %s.",
					pyList(notIn), id))
			}
			for _, a := range have {
				if !slices.Contains(in, a) {
					next = append(next, a)
				}
			}
		default:
			return fault.HTTPNotFound()
		}
		slices.Sort(next)
		if next == nil {
			next = []string{}
		}
		patch := resource.New(h.Res)
		patch.Set("addresses", next)
		if out, err = h.Write(ctx, tx, ag, patch); err != nil {
			return err
		}
		if err := h.p.afterReadAddressGroups(ctx, tx, []*resource.Object{out}); err != nil {
			return err
		}
		return h.p.notifyAddressGroupChanged(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// notifyAddressGroupChanged tells the firewalls of ports whose rules name
// the group: security_groups_rule_updated for the groups holding those
// rules.
func (p *Plugin) notifyAddressGroupChanged(ctx context.Context, tx *store.Tx, id string) error {
	if p.ruleDef.Attr("remote_address_group_id") == nil {
		return nil
	}
	groups, err := tx.Strings(ctx, apidef.SecurityGroupRules, "DISTINCT security_group_id", "remote_address_group_id", id)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return nil
	}
	slices.Sort(groups)
	return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsRuleUpdated, groups)
}

// checkRemoteAddressGroup is check_address_group with the rule's project:
// the group must exist and, unless the caller is an admin, be that
// project's or shared with it.
func (p *Plugin) checkRemoteAddressGroup(ctx context.Context, tx *store.Tx, id, project string) error {
	if p.agDef == nil {
		return AddressGroupNotFound(id)
	}
	ag, err := tx.Get(ctx, p.agDef, id, false)
	if errors.Is(err, store.ErrNotFound) {
		return AddressGroupNotFound(id)
	}
	if err != nil {
		return err
	}
	if reqctx.CallerFrom(ctx).IsAdmin || ag.String("project_id") == project {
		return nil
	}
	n, err := tx.RBACTargets(ctx, "address_group", id, project)
	if err != nil {
		return err
	}
	if n == 0 {
		return AddressGroupNotFound(id)
	}
	return nil
}

// AddressGroupRBACType is the address_group object type of RBAC policies
// (rbac-address-group): a group is in use by the projects whose rules
// name it.
func (p *Plugin) AddressGroupRBACType() rbac.Type {
	return rbac.Type{
		ObjectType: "address_group",
		Resource:   p.agDef,
		Actions:    []string{rbac.AccessAsShared},
		NotFound:   AddressGroupNotFound,
		Flags:      map[string]string{rbac.AccessAsShared: "shared"},
		BoundProjects: func(ctx context.Context, tx *store.Tx, obj *resource.Object) ([]string, error) {
			return tx.Strings(ctx, apidef.SecurityGroupRules, "DISTINCT project_id", "remote_address_group_id", obj.ID())
		},
	}
}

// pyList renders strings as Python prints a list of them.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func toStrings(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			out = append(out, resource.PyStr(x))
		}
		return out
	}
	return nil
}
