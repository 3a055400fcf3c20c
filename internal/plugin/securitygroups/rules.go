package securitygroups

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Protocols, as neutron-lib and neutron/common/_constants.py group them.
var (
	// portProtocols take port ranges (SG_PORT_PROTO_NUMS).
	portProtocols = map[int]bool{33: true, 132: true, 6: true, 17: true}
	// ipv6OnlyProtocols may not be used with IPv4
	// (_validate_ethertype_and_protocol).
	ipv6OnlyProtocols = map[string]bool{"ipv6-encap": true, "ipv6-frag": true, "ipv6-icmp": true, "icmpv6": true,
		"ipv6-nonxt": true, "ipv6-opts": true, "ipv6-route": true,
		"41": true, "44": true, "58": true, "59": true, "60": true, "43": true}
	// protocolNames maps numbers to the names rules are compared by
	// (IP_PROTOCOL_NUM_TO_NAME_MAP, where 0 is "ip" and 58 "ipv6-icmp").
	protocolNames = map[int]string{}
)

func init() {
	for name, n := range apidef.ProtocolNumbers {
		if name == "icmpv6" {
			continue
		}
		if have, ok := protocolNames[n]; !ok || name < have {
			protocolNames[n] = name
		}
	}
	protocolNames[0] = "ip" // Python keeps the later of hopopt and ip
}

// protocolNumber is _get_ip_proto_number: nil for no protocol.
func protocolNumber(p any) (int, bool) {
	s, ok := p.(string)
	if !ok || s == "" || s == "any" {
		return 0, false
	}
	if n, ok := apidef.ProtocolNumbers[s]; ok {
		return n, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// ruleHandler serves security group rules.
type ruleHandler struct {
	*generic.Handler
	p *Plugin
}

var (
	_ plugin.Scoper         = (*ruleHandler)(nil)
	_ plugin.PolicyTargeter = (*ruleHandler)(nil)
)

// Scope implements plugin.Scoper: a project's rules and the rules of its
// groups (policy then decides, by the group's owner).
func (h *ruleHandler) Scope(projectID string) *resource.Scope {
	return &resource.Scope{ProjectID: projectID, Parent: &resource.ParentScope{
		FK: h.Res.Attr("security_group_id"), Collection: apidef.SecurityGroups}}
}

// PolicyTargets implements plugin.PolicyTargeter: Neutron's rules look at
// the owner of the rule's group ("security_group:project_id"). A new
// rule's missing group is its 404.
func (h *ruleHandler) PolicyTargets(ctx context.Context, objs []*resource.Object) ([]map[string]any, error) {
	seen := map[string]bool{}
	var ids []any
	for _, o := range objs {
		if id := o.String("security_group_id"); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	owners := map[string]string{}
	err := h.p.store.Read(ctx, func(tx *store.Tx) error {
		groups, err := tx.List(ctx, h.p.groupDef, &resource.Query{Filters: []resource.Filter{
			{Attr: h.p.groupDef.Attr("id"), Values: ids}}})
		for _, g := range groups {
			owners[g.ID()] = g.String("project_id")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		owner, ok := owners[o.String("security_group_id")]
		if !ok {
			if !o.Has("created_at") {
				return nil, SecurityGroupNotFound(o.String("security_group_id"))
			}
			owner = o.String("project_id")
		}
		out[i] = map[string]any{"security_group:project_id": owner, "security_group:tenant_id": owner}
	}
	return out, nil
}

// List ensures the listed project's default group first, as Neutron's
// get_security_group_rules does.
func (h *ruleHandler) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	if err := h.p.ensureDefaultFor(ctx, q); err != nil {
		return nil, err
	}
	return h.Handler.List(ctx, q)
}

// Create validates every rule and the batch as a whole before any is
// stored (create_security_group_rule_bulk_native): one group and one
// project per bulk, no rule twice.
func (h *ruleHandler) Create(ctx context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	if len(objs) > 1 {
		for _, o := range objs[1:] {
			if o.String("security_group_id") != objs[0].String("security_group_id") {
				return nil, invalidInput("SecurityGroupNotSingleGroupRules",
					"Only allowed to update rules for one security profile at a time")
			}
			if o.String("project_id") != objs[0].String("project_id") {
				return nil, invalidInput("SecurityGroupRulesNotSingleProject",
					"Multiple project_ids in bulk security group rule create not allowed")
			}
		}
	}
	keys := map[string]bool{}
	for _, o := range objs {
		if err := normalizeRule(o); err != nil {
			return nil, err
		}
		k := ruleKey(o)
		if keys[k] {
			return nil, fault.Conflict("DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.")
		}
		keys[k] = true
	}
	return h.Handler.Create(context.WithValue(ctx, bulkKey{}, &bulkState{}), objs)
}

// bulkKey carries a create's bulkState through the generic handler to
// beforeCreateRule.
type bulkKey struct{}

// bulkState is what the rules of one create share: the group, read and
// locked once, and the keys of its rules, so that a bulk of n rules reads
// the group's rules once rather than n times. It belongs to one
// transaction; a rerun of the transaction starts it afresh.
type bulkState struct {
	tx    *store.Tx
	group *resource.Object
	keys  map[string]string // rule key → rule id
}

// normalizeRule is _validate_base_security_group_rule_attributes: it puts
// legacy IPv6 ICMP names and the whole port range into their canonical
// form, then checks ports, prefix, protocol and remote in Neutron's order.
func normalizeRule(o *resource.Object) error {
	proto, _ := o.Get("protocol").(string)
	if o.String("ethertype") == "IPv6" {
		switch proto {
		case "icmp", "icmpv6":
			proto = "ipv6-icmp"
		case "1":
			proto = "58"
		}
		if proto != "" {
			o.Set("protocol", proto)
		}
	}
	min, hasMin := o.Get("port_range_min").(int)
	max, hasMax := o.Get("port_range_max").(int)
	if hasMin && hasMax && min == 1 && max == 65535 {
		o.Set("port_range_min", nil)
		o.Set("port_range_max", nil)
		hasMin, hasMax = false, false
	}
	if hasMin || hasMax {
		if proto == "" {
			return invalidInput("SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
		}
		num, known := protocolNumber(proto)
		switch {
		case known && portProtocols[num]:
			if hasMin && min == 0 || hasMax && max == 0 {
				return invalidInput("SecurityGroupInvalidPortValue", "Invalid value for port %d", 0)
			}
			if !hasMin || !hasMax || min > max {
				return invalidInput("SecurityGroupInvalidPortRange",
					"For TCP/UDP protocols, port_range_min must be <= port_range_max")
			}
		case known && (num == 1 || num == 58):
			for _, f := range []struct {
				attr, field string
				v           int
				has         bool
			}{{"port_range_min", "type", min, hasMin}, {"port_range_max", "code", max, hasMax}} {
				if f.has && (f.v < 0 || f.v > 255) {
					return invalidInput("SecurityGroupInvalidIcmpValue",
						"Invalid value for ICMP %s (%s) %d. It must be 0 to 255.", f.field, f.attr, f.v)
				}
			}
			if !hasMin && hasMax {
				return invalidInput("SecurityGroupMissingIcmpType",
					"ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", max)
			}
		default:
			shown := "None"
			if known {
				shown = strconv.Itoa(num)
			}
			return invalidInput("SecurityGroupInvalidProtocolForPort",
				"Ports cannot be specified for protocol %s. Ports are only supported for DCCP, SCTP, TCP, UDP.", shown)
		}
	}
	if prefix, ok := o.Get("remote_ip_prefix").(string); ok && prefix != "" {
		p, err := apidef.ParseIPPrefix(prefix)
		if err != nil {
			return fault.New(400, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", prefix)
		}
		version := "IPv4"
		if p.Addr().Is6() {
			version = "IPv6"
		}
		if o.String("ethertype") != version {
			return invalidInput("SecurityGroupRuleParameterConflict", "Conflicting value ethertype %s for CIDR %s",
				o.String("ethertype"), prefix)
		}
	}
	if ipv6OnlyProtocols[proto] && o.String("ethertype") == "IPv4" {
		return invalidInput("SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype %s for protocol %s.",
			o.String("ethertype"), proto)
	}
	remotes := 0
	for _, k := range []string{"remote_ip_prefix", "remote_group_id", "remote_address_group_id"} {
		if s, _ := o.Get(k).(string); s != "" {
			remotes++
		}
	}
	if remotes > 1 {
		return invalidInput("SecurityGroupMultipleRemoteEntites",
			"Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	}
	return nil
}

// ruleKey is _rule_to_key: rules with equal keys are duplicates. A
// protocol compares by name and number, a prefix matching any address as
// no prefix.
func ruleKey(o *resource.Object) string {
	val := func(name string) string {
		v := o.Get(name)
		if v == nil {
			return "+"
		}
		switch name {
		case "remote_ip_prefix":
			if s := v.(string); s == "0.0.0.0/0" || s == "::/0" || s == "" {
				return "+"
			}
		case "protocol":
			s := v.(string)
			if s == "" || s == "any" {
				return "+"
			}
			if o.String("ethertype") == "IPv6" {
				switch s {
				case "icmp", "icmpv6":
					s = "ipv6-icmp"
				case "1":
					s = "58"
				}
			}
			if n, ok := apidef.ProtocolNumbers[s]; ok {
				if s == "icmpv6" {
					s = "ipv6-icmp"
				}
				return s + "/" + strconv.Itoa(n)
			}
			if n, err := strconv.Atoi(s); err == nil {
				if name, ok := protocolNames[n]; ok {
					return name + "/" + s
				}
			}
			return s + "/" + s
		}
		return fmt.Sprint(v)
	}
	parts := make([]string, 0, 8)
	for _, k := range []string{"direction", "ethertype", "port_range_max", "port_range_min", "protocol",
		"remote_group_id", "remote_address_group_id", "remote_ip_prefix", "security_group_id"} {
		parts = append(parts, val(k))
	}
	return strings.Join(parts, "_")
}

// beforeCreateRule checks what needs the database
// (_validate_security_group_rule, _check_for_duplicate_rules): the remote
// group and the group exist for the rule's project, and the group has no
// equal rule. The group's row is locked first, so that two requests adding
// the same rule cannot both find it missing.
func (p *Plugin) beforeCreateRule(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	sgID := o.String("security_group_id")
	project := o.String("project_id")
	st, ok := ctx.Value(bulkKey{}).(*bulkState)
	if !ok {
		st = &bulkState{}
	}
	if st.tx != tx {
		*st = bulkState{tx: tx}
	}
	remote, _ := o.Get("remote_group_id").(string)
	if remote != "" && remote != sgID {
		groups, err := p.visibleGroups(ctx, tx, project, []string{remote})
		if err != nil {
			return err
		}
		if groups[remote] == nil {
			return SecurityGroupNotFound(remote)
		}
	}
	if ag, _ := o.Get("remote_address_group_id").(string); ag != "" {
		if err := p.checkRemoteAddressGroup(ctx, tx, ag, project); err != nil {
			return err
		}
	}
	if st.group == nil {
		if _, err := tx.LockRow(ctx, apidef.SecurityGroups, sgID); err != nil {
			return err
		}
		groups, err := p.visibleGroups(ctx, tx, project, []string{sgID})
		if err != nil {
			return err
		}
		if groups[sgID] == nil {
			return SecurityGroupNotFound(sgID)
		}
		existing, err := tx.List(ctx, p.ruleDef, &resource.Query{
			Filters: []resource.Filter{{Attr: p.ruleDef.Attr("security_group_id"), Values: []any{sgID}}},
			Sorts:   []resource.SortKey{{Attr: p.ruleDef.Attr("id")}},
		})
		if err != nil {
			return err
		}
		st.group = groups[sgID]
		st.keys = make(map[string]string, len(existing))
		for _, r := range existing {
			if k := ruleKey(r); st.keys[k] == "" {
				st.keys[k] = r.ID()
			}
		}
		if err := p.bumpRevision(ctx, tx, st.group); err != nil {
			return err
		}
	}
	sg := st.group
	key := ruleKey(o)
	if id := st.keys[key]; id != "" {
		return fault.Conflict("SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", id)
	}
	st.keys[key] = o.ID()
	if o.Resource().Attr("normalized_cidr") != nil {
		o.Set("normalized_cidr", nil)
		if s, _ := o.Get("remote_ip_prefix").(string); s != "" {
			if pfx, err := apidef.ParseIPPrefix(s); err == nil {
				o.Set("normalized_cidr", pfx.Masked().String())
			}
		}
	}
	if o.Resource().Attr("belongs_to_default_sg") != nil {
		def, err := tx.DefaultSecurityGroup(ctx, sg.String("project_id"))
		if err != nil {
			return err
		}
		o.Set("belongs_to_default_sg", def == sgID)
	}
	return nil
}

func (p *Plugin) afterCreateRule(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsRuleUpdated, []string{o.String("security_group_id")})
}

func (p *Plugin) beforeDeleteRule(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	sg, err := tx.Get(ctx, p.groupDef, o.String("security_group_id"), true)
	if err == nil {
		if err := p.bumpRevision(ctx, tx, sg); err != nil {
			return err
		}
	}
	return p.notify(ctx, tx, rpcapi.MethodSecurityGroupsRuleUpdated, []string{o.String("security_group_id")})
}
