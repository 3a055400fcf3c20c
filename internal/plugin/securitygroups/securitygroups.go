// Package securitygroups is the API and database half of Neutron's
// security groups (neutron/db/securitygroups_db.py,
// securitygroups_rpc_base.py): the security-groups and
// security-group-rules resources, each project's default group, the
// groups of ports, and what firewall agents are told and may ask. The
// core plugin calls it for ports through core.PortSecurityGroups.
//
// It serves the extensions security-group, stateful-security-group,
// rbac-security-groups, security-groups-shared-filtering,
// security-groups-normalized-cidr and
// security-groups-rules-belongs-to-default-sg; it reads no options of its
// own ([quotas] quota_security_group and quota_security_group_rule come
// through Options.Quota).
package securitygroups

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Options are the plugin's collaborators.
type Options struct {
	// Quota enforces security_group and security_group_rule; nil for none.
	Quota generic.Quota
	// Outbox records the notifications for firewall agents; nil records
	// nothing.
	Outbox change.Outbox
	// RBAC is the registry of RBAC object types (the core plugin's), for
	// address groups' sharing; nil without RBAC.
	RBAC *rbac.Registry
}

// Plugin serves security groups and their rules.
type Plugin struct {
	opts   Options
	store  *store.Store
	groups *groupHandler
	rules  *ruleHandler
	// groupDef, ruleDef and portDef are the served definitions.
	groupDef, ruleDef, portDef *resource.Resource
	rbac                       bool
	// agDef and addressGroups serve address groups; nil without the
	// address-group extension.
	agDef         *resource.Resource
	addressGroups *addressGroupHandler
	rbacTypes     *rbac.Registry
}

// New returns the plugin for the given (restricted) definitions, or nil
// when the security-group extension is not enabled.
func New(s *store.Store, defs map[string]*resource.Resource, opts Options) *Plugin {
	if defs[apidef.SecurityGroups] == nil || defs[apidef.SecurityGroupRules] == nil {
		return nil
	}
	p := &Plugin{opts: opts, store: s, groupDef: defs[apidef.SecurityGroups], ruleDef: defs[apidef.SecurityGroupRules],
		portDef: defs[apidef.Ports], rbac: defs[apidef.RBACPolicies] != nil, agDef: defs[apidef.AddressGroups],
		rbacTypes: opts.RBAC}
	if p.agDef != nil {
		p.addressGroups = p.newAddressGroups(s, p.agDef)
	}
	p.groups = &groupHandler{p: p, Handler: generic.New(p.groupDef, s, generic.Hooks{
		NotFound:        SecurityGroupNotFound,
		BeforeCreate:    p.beforeCreateGroup,
		AfterCreate:     p.afterCreateGroup,
		BeforeUpdate:    p.beforeUpdateGroup,
		BeforeDelete:    p.beforeDeleteGroup,
		AfterRead:       p.afterReadGroups,
		InitialRevision: 1,
		QuotaResource:   "security_group",
	})}
	p.rules = &ruleHandler{p: p, Handler: generic.New(p.ruleDef, s, generic.Hooks{
		NotFound:      SecurityGroupRuleNotFound,
		BeforeCreate:  p.beforeCreateRule,
		AfterCreate:   p.afterCreateRule,
		BeforeDelete:  p.beforeDeleteRule,
		QuotaResource: "security_group_rule",
	})}
	if opts.Quota != nil {
		p.groups.Quota = opts.Quota
		p.rules.Quota = opts.Quota
	}
	if p.portDef != nil && p.portDef.Attr("security_groups") != nil {
		s.Relate(apidef.Ports, "security_groups", "securitygroupportbindings", "port_id", "security_group_id")
	}
	return p
}

// Handlers returns the handlers of security groups and their rules.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	out := map[string]plugin.Handler{apidef.SecurityGroups: p.groups, apidef.SecurityGroupRules: p.rules}
	if p.addressGroups != nil {
		out[apidef.AddressGroups] = p.addressGroups
	}
	return out
}

// Neutron's security group exceptions (neutron/extensions/securitygroup.py).

// SecurityGroupNotFound is Neutron's SecurityGroupNotFound.
func SecurityGroupNotFound(id string) error {
	return fault.NotFound("SecurityGroupNotFound", fmt.Sprintf("Security group %s does not exist", id))
}

// SecurityGroupRuleNotFound is Neutron's SecurityGroupRuleNotFound.
func SecurityGroupRuleNotFound(id string) error {
	return fault.NotFound("SecurityGroupRuleNotFound", fmt.Sprintf("Security group rule %s does not exist", id))
}

func securityGroupInUse(id string) error {
	return fault.Conflict("SecurityGroupInUse", "Security Group %s in use.", id)
}

func securityGroupConflict(reason string) error {
	return fault.Conflict("SecurityGroupConflict", "Error %s while attempting the operation.", reason)
}

func invalidInput(typ, format string, args ...any) error {
	return fault.New(400, typ, format, args...)
}

// defaultDescription is the description of every project's default group.
const defaultDescription = "Default security group"

// ruleTemplate is one rule every new group gets (Neutron's
// security_group_default_rules as its migration seeds them): egress
// rules for every group, ingress from the group itself for default groups.
type ruleTemplate struct {
	direction, ethertype    string
	remoteSelf, onlyDefault bool
}

var ruleTemplates = []ruleTemplate{
	{direction: "egress", ethertype: "IPv4"},
	{direction: "egress", ethertype: "IPv6"},
	{direction: "ingress", ethertype: "IPv4", remoteSelf: true, onlyDefault: true},
	{direction: "ingress", ethertype: "IPv6", remoteSelf: true, onlyDefault: true},
}

// groupHandler serves security groups.
type groupHandler struct {
	*generic.Handler
	p *Plugin
}

var _ plugin.Scoper = (*groupHandler)(nil)

// Scope implements plugin.Scoper: a project sees its groups and those
// RBAC policies share with it.
func (h *groupHandler) Scope(projectID string) *resource.Scope {
	sc := &resource.Scope{ProjectID: projectID}
	if h.p.rbac {
		sc.RBACType = "security_group"
	}
	return sc
}

// List ensures the project's default group first, as Neutron's
// get_security_groups does for the project listed (the project_id filter,
// or the caller's).
func (h *groupHandler) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	if err := h.p.ensureDefaultFor(ctx, q); err != nil {
		return nil, err
	}
	return h.Handler.List(ctx, q)
}

// ensureDefaultFor makes sure the project a list is about has its default
// group, reading before writing so that lists do not take the write lock.
func (p *Plugin) ensureDefaultFor(ctx context.Context, q *resource.Query) error {
	project := reqctx.CallerFrom(ctx).ProjectID
	for _, f := range q.Filters {
		if (f.Attr.Name == "project_id" || f.Attr.Name == "tenant_id") && len(f.Values) > 0 {
			project, _ = f.Values[0].(string)
			break
		}
	}
	if project == "" {
		return nil
	}
	_, err := p.EnsureDefault(ctx, project)
	return err
}

// EnsureDefault returns the id of the project's default security group,
// creating it with its rules when the project has none
// (_ensure_default_security_group). A caller may not create another
// project's default group unless admin; then the id is "".
func (p *Plugin) EnsureDefault(ctx context.Context, project string) (string, error) {
	var id string
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		id, err = tx.DefaultSecurityGroup(ctx, project)
		return err
	})
	if err != nil || id != "" {
		return id, err
	}
	err = p.store.Write(ctx, func(tx *store.Tx) error {
		var err error
		id, err = p.ensureDefault(ctx, tx, project)
		return err
	})
	return id, err
}

// ensureDefault is EnsureDefault inside a write transaction. Creators of
// one project's default group queue on a lock named after the project and
// then look again, so concurrent requests on any number of servers create
// exactly one; default_security_group's key on the project backs that up.
func (p *Plugin) ensureDefault(ctx context.Context, tx *store.Tx, project string) (string, error) {
	caller := reqctx.CallerFrom(ctx)
	if project != caller.ProjectID && !caller.IsAdmin {
		return "", nil
	}
	memo := "default-security-group/" + project
	if id, ok := tx.Memo(memo); ok {
		return id.(string), nil // ensured earlier in this transaction
	}
	if id, err := tx.DefaultSecurityGroup(ctx, project); err != nil || id != "" {
		if id != "" {
			tx.SetMemo(memo, id)
		}
		return id, err
	}
	if err := tx.LockName(ctx, "default-security-group/"+project); err != nil {
		return "", err
	}
	if id, err := tx.DefaultSecurityGroup(ctx, project); err != nil || id != "" {
		return id, err
	}
	sg := resource.New(p.groupDef)
	now := time.Now().UTC().Truncate(time.Second)
	sg.Set("id", uuid.NewString())
	sg.Set("project_id", project)
	sg.Set("name", "default")
	setIfDeclared(sg, "description", defaultDescription)
	setIfDeclared(sg, "stateful", true)
	setIfDeclared(sg, "shared", false)
	setIfDeclared(sg, "created_at", now)
	setIfDeclared(sg, "updated_at", now)
	setIfDeclared(sg, "revision_number", 1)
	if err := tx.Insert(ctx, sg); err != nil {
		return "", fmt.Errorf("create default security group of %s: %w", project, err)
	}
	if err := tx.SetDefaultSecurityGroup(ctx, project, sg.ID()); err != nil {
		return "", err
	}
	if err := p.createTemplateRules(ctx, tx, sg, true); err != nil {
		return "", err
	}
	tx.SetMemo(memo, sg.ID())
	return sg.ID(), nil
}

// createTemplateRules gives a new group its default rules, within the
// project's rule quota as Neutron checks it.
func (p *Plugin) createTemplateRules(ctx context.Context, tx *store.Tx, sg *resource.Object, isDefault bool) error {
	var tmpl []ruleTemplate
	for _, t := range ruleTemplates {
		if isDefault || !t.onlyDefault {
			tmpl = append(tmpl, t)
		}
	}
	if p.opts.Quota != nil {
		if err := p.opts.Quota.Reserve(ctx, tx, sg.String("project_id"), "security_group_rule", len(tmpl)); err != nil {
			return err
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, t := range tmpl {
		r := resource.New(p.ruleDef)
		r.Set("id", uuid.NewString())
		r.Set("project_id", sg.String("project_id"))
		r.Set("security_group_id", sg.ID())
		r.Set("direction", t.direction)
		r.Set("ethertype", t.ethertype)
		r.Set("protocol", nil)
		r.Set("port_range_min", nil)
		r.Set("port_range_max", nil)
		r.Set("remote_ip_prefix", nil)
		if t.remoteSelf {
			r.Set("remote_group_id", sg.ID())
		} else {
			r.Set("remote_group_id", nil)
		}
		setIfDeclared(r, "normalized_cidr", nil)
		setIfDeclared(r, "belongs_to_default_sg", isDefault)
		// Neutron creates these rules without a description: null.
		setIfDeclared(r, "description", nil)
		setIfDeclared(r, "created_at", now)
		setIfDeclared(r, "updated_at", now)
		setIfDeclared(r, "revision_number", 0)
		if err := tx.Insert(ctx, r); err != nil {
			return fmt.Errorf("create rule of security group %s: %w", sg.ID(), err)
		}
	}
	return nil
}

func setIfDeclared(o *resource.Object, name string, v any) {
	if o.Resource().Attr(name) != nil {
		o.Set(name, v)
	}
}

func (p *Plugin) beforeCreateGroup(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	if strings.EqualFold(o.String("name"), "default") {
		return fault.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
	}
	if _, err := p.ensureDefault(ctx, tx, o.String("project_id")); err != nil {
		return err
	}
	setIfDeclared(o, "shared", false)
	return nil
}

func (p *Plugin) afterCreateGroup(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.createTemplateRules(ctx, tx, o, false)
}

func (p *Plugin) beforeUpdateGroup(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if patch.Has("name") && strings.EqualFold(patch.String("name"), "default") {
		return fault.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
	}
	if patch.Has("stateful") && patch.Bool("stateful") != old.Bool("stateful") {
		n, err := tx.SecurityGroupPortCount(ctx, old.ID())
		if err != nil {
			return err
		}
		if n > 0 {
			return securityGroupInUse(old.ID())
		}
	}
	if old.String("name") == "default" && patch.Has("name") {
		return fault.Conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
	}
	if patch.Has("stateful") && patch.Bool("stateful") != old.Bool("stateful") {
		// The firewall applies statefulness with the rules.
		return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsRuleUpdated, []string{old.ID()})
	}
	return nil
}

func (p *Plugin) beforeDeleteGroup(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	n, err := tx.SecurityGroupPortCount(ctx, o.ID())
	if err != nil {
		return err
	}
	if n > 0 {
		return securityGroupInUse(o.ID())
	}
	if o.String("name") == "default" && !reqctx.CallerFrom(ctx).IsAdmin {
		return fault.Conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
	}
	// Rules elsewhere naming this group as remote go with it (the
	// foreign key cascades); their groups' members must hear of it.
	def := p.ruleDef
	others, err := tx.List(ctx, def, &resource.Query{Filters: []resource.Filter{
		{Attr: def.Attr("remote_group_id"), Values: []any{o.ID()}}}})
	if err != nil {
		return err
	}
	var touched []string
	for _, r := range others {
		if g := r.String("security_group_id"); g != o.ID() {
			touched = append(touched, g)
		}
	}
	if err := p.notify(ctx, tx, rpcapi.MethodSecurityGroupsRuleUpdated, touched); err != nil {
		return err
	}
	if p.rbac {
		if _, err := tx.DeleteWhere(ctx, apidef.RBACPolicies, map[string]any{"object_type": "security_group", "object_id": o.ID()}); err != nil {
			return err
		}
	}
	return nil
}

// afterReadGroups shows each group's rules inline, in one query for all
// the groups, and shows a group as shared when an RBAC policy shares it
// with the caller's project.
func (p *Plugin) afterReadGroups(ctx context.Context, tx *store.Tx, groups []*resource.Object) error {
	ids := make([]any, len(groups))
	groupIDs := make([]string, len(groups))
	for i, g := range groups {
		ids[i], groupIDs[i] = g.ID(), g.ID()
	}
	rules, err := tx.List(ctx, p.ruleDef, &resource.Query{
		Filters: []resource.Filter{{Attr: p.ruleDef.Attr("security_group_id"), Values: ids}},
		Sorts:   []resource.SortKey{{Attr: p.ruleDef.Attr("id")}},
	})
	if err != nil {
		return err
	}
	byGroup := make(map[string][]any, len(groups))
	for _, r := range rules {
		g := r.String("security_group_id")
		byGroup[g] = append(byGroup[g], ruleMap(r))
	}
	var shared map[string]bool
	if p.rbac && p.groupDef.Attr("shared") != nil {
		if shared, err = tx.RBACShared(ctx, "security_group", "access_as_shared", reqctx.CallerFrom(ctx).ProjectID, groupIDs); err != nil {
			return err
		}
	}
	for _, g := range groups {
		rs := byGroup[g.ID()]
		if rs == nil {
			rs = []any{}
		}
		g.Set("security_group_rules", rs)
		if shared[g.ID()] {
			g.Set("shared", true)
		}
	}
	return nil
}

// ruleMap is a rule as a group shows it inline: every visible attribute,
// as the rules API shows it (tenant_id mirrors project_id; a virtual
// attribute the store does not fill shows its default).
func ruleMap(r *resource.Object) map[string]any {
	m := make(map[string]any, len(r.Resource().Attrs()))
	for _, a := range r.Resource().Attrs() {
		if !a.Visible {
			continue
		}
		v, present := r.At(a.Index()), r.HasAt(a.Index())
		switch {
		case a.Name == "tenant_id":
			v, present = r.Get("project_id"), true
		case !present && a.Default != resource.NotSpecified:
			v, present = a.Default, true
		}
		if !present {
			continue
		}
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(store.TimeFormat)
		}
		m[a.Name] = v
	}
	return m
}

// notify records a notification naming the groups for the firewall
// agents.
func (p *Plugin) notify(ctx context.Context, tx *store.Tx, method string, groups []string) error {
	if p.opts.Outbox == nil || len(groups) == 0 {
		return nil
	}
	groups = slices.Clone(groups)
	sort.Strings(groups)
	groups = slices.Compact(groups)
	args, err := json.Marshal(rpcapi.SecurityGroupsUpdated{SecurityGroups: groups})
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	return p.opts.Outbox.Record(ctx, tx, rpcapi.Notification{Topic: rpcapi.TopicSecurityGroup, Method: method,
		Fanout: true, Version: rpcapi.SecurityGroupNotificationVersion, Args: args})
}

// visibleGroups reads the groups with the given ids that project may use:
// its own and those shared with it by RBAC, or any for an admin. It
// returns them by id; ids missing from the result do not exist for the
// project.
func (p *Plugin) visibleGroups(ctx context.Context, tx *store.Tx, project string, ids []string) (map[string]*resource.Object, error) {
	out := map[string]*resource.Object{}
	if len(ids) == 0 {
		return out, nil
	}
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id
	}
	q := &resource.Query{Filters: []resource.Filter{{Attr: p.groupDef.Attr("id"), Values: vals}}}
	if !reqctx.CallerFrom(ctx).IsAdmin && project != "" {
		q.Scope = &resource.Scope{ProjectID: project}
		if p.rbac {
			q.Scope.RBACType = "security_group"
		}
	}
	groups, err := tx.List(ctx, p.groupDef, q)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		out[g.ID()] = g
	}
	return out, nil
}

// bumpRevision records that a group changed through its rules, as
// Neutron's revises_on_change does.
func (p *Plugin) bumpRevision(ctx context.Context, tx *store.Tx, g *resource.Object) error {
	if p.groupDef.Attr("revision_number") == nil {
		return nil
	}
	patch := resource.New(p.groupDef)
	patch.Set("id", g.ID())
	patch.Set("revision_number", g.Int("revision_number")+1)
	setIfDeclared(patch, "updated_at", time.Now().UTC().Truncate(time.Second))
	if err := tx.Update(ctx, patch); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revise security group %s: %w", g.ID(), err)
	}
	return nil
}

// RBACType is the security_group object type of RBAC policies
// (rbac-security-groups): a group is shared by its wildcard
// access_as_shared policy and in use by the projects whose ports have it.
func (p *Plugin) RBACType() rbac.Type {
	return rbac.Type{
		ObjectType: "security_group",
		Resource:   p.groupDef,
		Actions:    []string{rbac.AccessAsShared},
		NotFound:   SecurityGroupNotFound,
		Flags:      map[string]string{rbac.AccessAsShared: "shared"},
		BoundProjects: func(ctx context.Context, tx *store.Tx, obj *resource.Object) ([]string, error) {
			return tx.SecurityGroupPortProjects(ctx, obj.ID())
		},
	}
}
