package policy

import (
	"log/slog"
	"slices"
	"testing"
)

func TestDefaultsCompileAndLink(t *testing.T) {
	rec := &recorder{}
	e, err := New(Options{EnforceNewDefaults: true, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 0 {
		t.Errorf("loading the defaults logged %q", rec.msgs)
	}
	// The legacy mode compiles the deprecated check strings too.
	if _, err := New(Options{Logger: slog.New(rec)}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 0 {
		t.Errorf("loading the legacy defaults logged %q", rec.msgs)
	}
	seen := map[string]bool{}
	for _, r := range defaultRules {
		if seen[r.Name] {
			t.Errorf("duplicate default %q", r.Name)
		}
		seen[r.Name] = true
		if r.Description == "" {
			t.Errorf("default %q has no description", r.Name)
		}
		if _, ok := e.rules.Load().rules[r.Name]; !ok {
			t.Errorf("default %q missing from the rule set", r.Name)
		}
	}
}

// TestDefaultsCoverNeutron spot-checks that the defaults named in Neutron's
// policy modules are present with Neutron's check strings.
func TestDefaultsCoverNeutron(t *testing.T) {
	want := map[string]string{
		"context_is_admin":                         "role:admin",
		"admin_only":                               "rule:context_is_admin",
		"default":                                  "rule:admin_or_owner",
		"shared":                                   "field:networks:shared=True",
		"external":                                 "field:networks:router:external=True",
		"network_owner":                            "project_id:%(network:project_id)s",
		"create_network":                           "(rule:admin_only) or (role:member and project_id:%(project_id)s)",
		"create_network:shared":                    "rule:admin_only",
		"create_network:router:external":           "rule:admin_only",
		"create_network:is_default":                "rule:admin_only",
		"create_network:port_security_enabled":     "(rule:admin_only) or (role:member and project_id:%(project_id)s)",
		"create_network:segments":                  "rule:admin_only",
		"create_network:provider:network_type":     "rule:admin_only",
		"create_network:provider:physical_network": "rule:admin_only",
		"create_network:provider:segmentation_id":  "rule:admin_only",
		"get_network": "(rule:admin_only) or (role:reader and project_id:%(project_id)s) or " +
			"rule:service_api or rule:shared or rule:external or rule:context_is_advsvc",
		"get_network:segments":                    "rule:admin_only",
		"get_network:provider:network_type":       "rule:admin_only",
		"update_network:shared":                   "rule:admin_only",
		"update_network:router:external":          "rule:admin_only",
		"update_network:provider:segmentation_id": "rule:admin_only",
		"create_port:device_owner": "not rule:network_device or (rule:admin_only) or " +
			"(rule:service_api) or role:member and rule:network_owner",
		"create_port:mac_address":                       "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner",
		"create_port:fixed_ips":                         "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or rule:shared",
		"create_port:fixed_ips:ip_address":              "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner",
		"create_port:fixed_ips:subnet_id":               "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or rule:shared",
		"create_port:port_security_enabled":             "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner",
		"create_port:binding:host_id":                   "(rule:admin_only) or (rule:service_api)",
		"create_port:binding:profile":                   "(rule:admin_only) or (rule:service_api)",
		"create_port:binding:vnic_type":                 "(rule:admin_only) or (role:member and project_id:%(project_id)s) or rule:service_api",
		"create_port:allowed_address_pairs":             "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api",
		"create_port:allowed_address_pairs:mac_address": "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api",
		"create_port:allowed_address_pairs:ip_address":  "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api",
		"get_port:binding:vif_type":                     "(rule:admin_only) or (rule:service_api)",
		"get_port:binding:vif_details":                  "(rule:admin_only) or (rule:service_api)",
		"get_port:binding:host_id":                      "(rule:admin_only) or (rule:service_api)",
		"get_port:binding:profile":                      "(rule:admin_only) or (rule:service_api)",
		"get_port:resource_request":                     "rule:admin_only",
		"update_port:binding:host_id":                   "(rule:admin_only) or (rule:service_api)",
		"update_port:mac_address":                       "(rule:admin_only) or (rule:service_api) or role:manager and rule:network_owner",
		"network_device":                                "field:port:device_owner=~^network:",
		"restrict_wildcard":                             "(not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*) or rule:admin_only",
		"get_quota":                                     "(rule:admin_only) or (role:manager and project_id:%(project_id)s)",
		"get_availability_zone":                         "role:reader",
		"get_network_ip_availability":                   "(rule:admin_only) or (rule:service_api)",
		"create_security_group_rule":                    "(rule:admin_only) or (role:member and rule:sg_owner)",
		"update_security_group_rule":                    "(rule:admin_only) or (role:member and rule:sg_owner)",
		"get_alias_minimum_packet_rate_rule":            "rule:get_policy_minimum_packet_rate_rule",
	}
	byName := map[string]Rule{}
	for _, r := range DefaultRules() {
		byName[r.Name] = r
	}
	for name, check := range want {
		r, ok := byName[name]
		if !ok {
			t.Errorf("default %q is missing", name)
			continue
		}
		if r.CheckStr != check {
			t.Errorf("default %q = %q, want %q", name, r.CheckStr, check)
		}
	}
	// Every resource family the API serves has rules.
	for _, name := range []string{
		"get_subnet", "create_subnetpool", "get_address_scope", "create_router",
		"create_floatingip", "create_security_group", "create_rbac_policy",
		"update_quota", "get_agent", "get_segment", "get_network_ip_availability",
		"get_availability_zone", "get_auto_allocated_topology", "create_trunk",
		"get_policy", "create_policy_bandwidth_limit_rule", "get_rule_type",
	} {
		if _, ok := byName[name]; !ok {
			t.Errorf("default %q is missing", name)
		}
	}
	cn := byName["create_network"]
	if cn.Deprecated == nil || cn.Deprecated.CheckStr != "rule:regular_user" || cn.Deprecated.Since != "Wallaby" {
		t.Errorf("create_network deprecation = %+v", cn.Deprecated)
	}
	if !slices.Equal(cn.ScopeTypes, []string{"project"}) || len(cn.Operations) != 1 || cn.Operations[0] != (Operation{"POST", "/networks"}) {
		t.Errorf("create_network metadata = %+v", cn)
	}
	tags := byName["create_network:tags"]
	if tags.Deprecated == nil || tags.Deprecated.Name != "create_networks_tags" {
		t.Errorf("create_network:tags deprecation = %+v", tags.Deprecated)
	}
}

func TestDefaultRulesIsACopy(t *testing.T) {
	a := DefaultRules()
	a[0].Name = "changed"
	for i := range a {
		if len(a[i].ScopeTypes) > 0 {
			a[i].ScopeTypes[0] = "changed"
		}
		if a[i].Deprecated != nil {
			a[i].Deprecated.CheckStr = "changed"
		}
	}
	b := DefaultRules()
	if b[0].Name == "changed" || projectScope[0] != "project" {
		t.Fatal("DefaultRules shares memory with the defaults")
	}
	for _, r := range b {
		if r.Deprecated != nil && r.Deprecated.CheckStr == "changed" {
			t.Fatal("DefaultRules shares deprecated rules with the defaults")
		}
	}
}

// Targets as Neutron builds them.
var (
	netP1       = Target{"id": "n1", "project_id": "p1", "tenant_id": "p1", "shared": false, "router:external": false}
	sharedNetP3 = Target{"id": "n3", "project_id": "p3", "tenant_id": "p3", "shared": true, "router:external": false}
	extNetP3    = Target{"id": "n4", "project_id": "p3", "tenant_id": "p3", "shared": false, "router:external": true}
	newInP1     = Target{"project_id": "p1", "tenant_id": "p1"}

	// A subnet or port of project p1 on p1's network.
	childP1 = Target{"project_id": "p1", "network_id": "n1", "network:project_id": "p1", "network:tenant_id": "p1", "network:shared": false, "device_owner": "compute:nova"}
	// A port project p2 creates on p3's shared network.
	childP2OnShared = Target{"project_id": "p2", "network_id": "n3", "network:project_id": "p3", "network:shared": true, "device_owner": "compute:nova"}
	// A router port on p1's network.
	routerPortP1 = Target{"project_id": "p1", "network_id": "n1", "network:project_id": "p1", "network:shared": false, "device_owner": "network:router_interface"}
	// A DHCP port p2 tries to create on p3's shared network.
	dhcpPortP2OnShared = Target{"project_id": "p2", "network_id": "n3", "network:project_id": "p3", "network:shared": true, "device_owner": "network:dhcp"}
	// A port of project p2 on p1's network.
	childP2OnP1 = Target{"project_id": "p2", "network_id": "n1", "network:project_id": "p1", "network:shared": false}

	sgRuleP1 = Target{"project_id": "p1", "security_group_id": "sg1", "security_group:project_id": "p1"}
	sharedSG = Target{"project_id": "p3", "shared": true}

	qosRuleP1 = Target{"ext_parent_policy_id": "q1", "ext_parent:project_id": "p1"}
)

type personaCase struct {
	action string
	target Target
	creds  Credentials
	want   bool
}

func runPersonas(t *testing.T, e *Enforcer, cases []personaCase) {
	t.Helper()
	for _, c := range cases {
		creds := as(e, c.creds)
		if got := e.Enforce(c.action, c.target, creds); got != c.want {
			t.Errorf("%s by %s (project %q, roles %v) on %v = %v, want %v",
				c.action, creds.UserID, creds.ProjectID, creds.Roles, c.target, got, c.want)
		}
	}
}

// TestPersonas checks Neutron's new defaults for its personas.
func TestPersonas(t *testing.T) {
	e := mustNew(t, Options{EnforceNewDefaults: true, EnforceScope: true})
	runPersonas(t, e, []personaCase{
		// Networks.
		{"create_network", newInP1, adminCreds, true},
		{"create_network", newInP1, managerP1, true},
		{"create_network", newInP1, memberP1, true},
		{"create_network", newInP1, readerP1, false},
		{"create_network", newInP1, memberP2, false},
		{"create_network", newInP1, noRoleP1, false},
		{"create_network:shared", newInP1, adminCreds, true},
		{"create_network:shared", newInP1, managerP1, false},
		{"create_network:shared", newInP1, memberP1, false},
		{"create_network:router:external", newInP1, adminCreds, true},
		{"create_network:router:external", newInP1, memberP1, false},
		{"create_network:is_default", newInP1, memberP1, false},
		{"create_network:segments", newInP1, memberP1, false},
		{"create_network:provider:network_type", newInP1, adminCreds, true},
		{"create_network:provider:physical_network", newInP1, memberP1, false},
		{"create_network:provider:segmentation_id", newInP1, memberP1, false},
		{"create_network:port_security_enabled", newInP1, memberP1, true},
		{"create_network:port_security_enabled", newInP1, readerP1, false},
		{"get_network", netP1, adminCreds, true},
		{"get_network", netP1, managerP1, true},
		{"get_network", netP1, memberP1, true},
		{"get_network", netP1, readerP1, true},
		{"get_network", netP1, memberP2, false},
		{"get_network", netP1, noRoleP1, false},
		{"get_network", netP1, serviceCreds, true},
		{"get_network", sharedNetP3, memberP2, true},
		{"get_network", sharedNetP3, readerP1, true},
		{"get_network", extNetP3, memberP2, true},
		{"get_network:segments", netP1, memberP1, false},
		{"get_network:segments", netP1, adminCreds, true},
		{"get_network:provider:network_type", netP1, readerP1, false},
		{"get_network:provider:physical_network", netP1, adminCreds, true},
		{"get_network:provider:segmentation_id", netP1, memberP1, false},
		{"update_network", netP1, memberP1, true},
		{"update_network", netP1, readerP1, false},
		{"update_network", netP1, memberP2, false},
		{"update_network:shared", netP1, memberP1, false},
		{"update_network:shared", netP1, adminCreds, true},
		{"update_network:router:external", netP1, managerP1, false},
		{"update_network:port_security_enabled", netP1, memberP1, true},
		{"delete_network", netP1, memberP1, true},
		{"delete_network", netP1, readerP1, false},
		{"delete_network", sharedNetP3, memberP2, false},

		// Subnets: the network owner decides.
		{"create_subnet", childP1, memberP1, true},
		{"create_subnet", childP1, readerP1, false},
		{"create_subnet", childP2OnP1, memberP2, false},
		{"create_subnet:segment_id", childP1, memberP1, false},
		{"get_subnet", childP1, readerP1, true},
		{"get_subnet", childP1, memberP2, false},
		{"get_subnet", childP2OnShared, readerP1, true},
		{"get_subnet", Target{"project_id": "p3", "router:external": true}, memberP2, true},
		{"update_subnet", childP1, memberP1, true},
		{"delete_subnet", childP1, readerP1, false},

		// Ports.
		{"create_port", childP1, memberP1, true},
		{"create_port", childP1, readerP1, false},
		{"create_port", childP2OnP1, memberP2, false},
		{"create_port", childP2OnShared, memberP2, true},
		{"create_port", childP1, serviceCreds, true},
		{"create_port:device_owner", routerPortP1, memberP1, true},
		{"create_port:device_owner", childP2OnShared, memberP2, true},
		{"create_port:device_owner", dhcpPortP2OnShared, memberP2, false},
		{"create_port:device_owner", dhcpPortP2OnShared, adminCreds, true},
		{"create_port:mac_address", childP1, memberP1, true},
		{"create_port:mac_address", childP2OnShared, memberP2, false},
		{"create_port:fixed_ips", childP2OnShared, memberP2, true},
		{"create_port:fixed_ips:subnet_id", childP2OnShared, memberP2, true},
		{"create_port:fixed_ips:ip_address", childP2OnShared, memberP2, false},
		{"create_port:fixed_ips:ip_address", childP1, memberP1, true},
		{"create_port:port_security_enabled", childP1, memberP1, true},
		{"create_port:port_security_enabled", childP2OnShared, memberP2, false},
		{"create_port:binding:host_id", childP1, memberP1, false},
		{"create_port:binding:host_id", childP1, adminCreds, true},
		{"create_port:binding:host_id", childP1, serviceCreds, true},
		{"create_port:binding:profile", childP1, serviceCreds, true},
		{"create_port:binding:profile", childP1, adminCreds, true},
		{"create_port:binding:profile", childP1, memberP1, false},
		{"create_port:binding:vnic_type", childP1, memberP1, true},
		{"create_port:binding:vnic_type", childP1, readerP1, false},
		{"create_port:allowed_address_pairs", childP1, memberP1, true},
		{"create_port:allowed_address_pairs", childP2OnShared, memberP2, false},
		{"create_port:allowed_address_pairs:mac_address", childP1, memberP1, true},
		{"create_port:allowed_address_pairs:ip_address", childP2OnShared, memberP2, false},
		{"get_port", childP1, readerP1, true},
		{"get_port", childP1, memberP2, false},
		{"get_port", childP2OnP1, readerP1, true}, // network owner sees ports on its network
		{"get_port", childP1, serviceCreds, true},
		{"get_port:binding:vif_type", childP1, memberP1, false},
		{"get_port:binding:vif_type", childP1, adminCreds, true},
		{"get_port:binding:vif_details", childP1, serviceCreds, true},
		{"get_port:binding:host_id", childP1, readerP1, false},
		{"get_port:binding:profile", childP1, adminCreds, true},
		{"get_port:resource_request", childP1, adminCreds, true},
		{"get_port:resource_request", childP1, serviceCreds, false},
		{"update_port", childP1, memberP1, true},
		{"update_port", childP1, readerP1, false},
		{"update_port:mac_address", childP1, managerP1, true},
		{"update_port:mac_address", childP1, memberP1, false},
		{"update_port:binding:host_id", childP1, memberP1, false},
		{"update_port:device_owner", routerPortP1, memberP1, true},
		{"delete_port", childP2OnP1, memberP1, true}, // network owner may delete
		{"delete_port", childP1, readerP1, false},

		// Security groups and rules.
		{"create_security_group", newInP1, memberP1, true},
		{"create_security_group", newInP1, readerP1, false},
		{"get_security_group", newInP1, readerP1, true},
		{"get_security_group", newInP1, memberP2, false},
		{"get_security_group", sharedSG, memberP2, true},
		{"create_security_group_rule", sgRuleP1, memberP1, true},
		{"create_security_group_rule", sgRuleP1, memberP2, false},
		{"create_security_group_rule", sgRuleP1, readerP1, false},
		{"get_security_group_rule", sgRuleP1, readerP1, true},
		{"update_security_group_rule", sgRuleP1, memberP1, true},
		{"update_security_group_rule", sgRuleP1, memberP2, false},
		{"update_security_group_rule", sgRuleP1, readerP1, false},
		{"update_security_group_rule", sgRuleP1, adminCreds, true},

		// Routers and floating IPs.
		{"create_router", newInP1, memberP1, true},
		{"create_router", newInP1, readerP1, false},
		{"create_router:ha", newInP1, memberP1, false},
		{"create_router:external_gateway_info:enable_snat", newInP1, memberP1, false},
		{"create_router:external_gateway_info:network_id", newInP1, memberP1, true},
		{"get_router", newInP1, readerP1, true},
		{"add_router_interface", newInP1, memberP1, true},
		{"add_router_interface", newInP1, memberP2, false},
		{"create_floatingip", newInP1, memberP1, true},
		{"create_floatingip:floating_ip_address", newInP1, memberP1, false},
		{"create_floatingip:floating_ip_address", newInP1, managerP1, true},

		// Subnet pools and address scopes.
		{"create_subnetpool", newInP1, memberP1, true},
		{"create_subnetpool:shared", newInP1, memberP1, false},
		{"get_subnetpool", Target{"project_id": "p3", "shared": true}, memberP2, true},
		{"get_address_scope", Target{"project_id": "p3", "shared": false}, memberP2, false},
		{"get_address_scope", Target{"project_id": "p3", "shared": true}, memberP2, true},

		// RBAC policies: wildcards are for admins.
		{"create_rbac_policy", newInP1, memberP1, true},
		{"create_rbac_policy:target_project", Target{"project_id": "p1", "target_project": "*"}, memberP1, false},
		{"create_rbac_policy:target_project", Target{"project_id": "p1", "target_project": "*"}, adminCreds, true},
		{"create_rbac_policy:target_project", Target{"project_id": "p1", "target_project": "p2"}, memberP1, true},
		{"create_rbac_policy:target_tenant", Target{"project_id": "p1", "target_tenant": "*"}, memberP1, false},

		// Quotas, agents, segments, availability, zones, topology, trunks.
		{"get_quota", newInP1, managerP1, true},
		{"get_quota", newInP1, memberP1, false},
		{"update_quota", newInP1, managerP1, false},
		{"update_quota", newInP1, adminCreds, true},
		{"get_agent", Target{}, adminCreds, true},
		{"get_agent", Target{}, memberP1, false},
		{"create_dhcp-network", Target{}, memberP1, false},
		{"create_segment", Target{}, memberP1, false},
		{"get_segment", Target{}, adminCreds, true},
		{"get_network_ip_availability", Target{}, memberP1, false},
		{"get_network_ip_availability", Target{}, serviceCreds, true},
		{"get_availability_zone", Target{}, readerP1, true},
		{"get_availability_zone", Target{}, noRoleP1, false},
		{"get_auto_allocated_topology", newInP1, readerP1, true},
		{"delete_auto_allocated_topology", newInP1, readerP1, false},
		{"create_trunk", newInP1, memberP1, true},
		{"get_trunk", newInP1, memberP2, false},

		// QoS: rules belong to their policy's project (ext_parent).
		{"create_policy", newInP1, managerP1, true},
		{"create_policy", newInP1, memberP1, false},
		{"get_policy", Target{"project_id": "p3", "shared": true}, memberP2, true},
		{"create_policy_bandwidth_limit_rule", qosRuleP1, managerP1, true},
		{"create_policy_bandwidth_limit_rule", qosRuleP1, memberP1, false},
		{"get_policy_bandwidth_limit_rule", qosRuleP1, readerP1, true},
		{"get_alias_minimum_packet_rate_rule", qosRuleP1, readerP1, true},
		{"get_rule_type", Target{}, readerP1, true},
	})

	// Neutron has no rule for router:external visibility: callers treat the
	// attribute as readable by everyone.
	if _, defined := e.Check("get_network:router:external", netP1, memberP1); defined {
		t.Error("get_network:router:external is defined; Neutron does not define it")
	}
	if !e.IsAdmin(adminCreds) || e.IsAdmin(memberP1) || e.IsAdmin(serviceCreds) {
		t.Error("IsAdmin disagrees with context_is_admin (role:admin)")
	}
}

// TestEnforceScope checks that scope enforcement rejects tokens of the wrong
// scope for project-scoped defaults.
func TestEnforceScope(t *testing.T) {
	scoped := mustNew(t, Options{EnforceNewDefaults: true, EnforceScope: true})
	loose := mustNew(t, Options{EnforceNewDefaults: true})
	sys := as(scoped, systemAdmin)
	if !sys.IsAdmin {
		t.Fatal("a system admin is not context_is_admin")
	}
	if scoped.Enforce("create_network", newInP1, sys) {
		t.Error("system-scoped token allowed a project-scoped action with enforce_scope")
	}
	if !loose.Enforce("create_network", newInP1, sys) {
		t.Error("system-scoped admin denied without enforce_scope")
	}
	domainAdmin := Credentials{UserID: "u-dom", DomainID: "d1", Roles: []string{"admin"}}
	if scoped.Enforce("get_network", netP1, as(scoped, domainAdmin)) {
		t.Error("domain-scoped token allowed a project-scoped action with enforce_scope")
	}
	// Rules without scope types are not scope-checked.
	if !scoped.Enforce("context_is_admin", nil, sys) {
		t.Error("scope check applied to a rule without scope types")
	}
	if !scoped.Enforce("create_network", newInP1, as(scoped, adminCreds)) {
		t.Error("project-scoped admin denied")
	}
}

// TestLegacyDefaults checks enforce_new_defaults=false: deprecated defaults
// are or-ed in, and admins are allowed everything, as in Neutron.
func TestLegacyDefaults(t *testing.T) {
	legacy := mustNew(t, Options{EnforceNewDefaults: false})
	strict := mustNew(t, Options{EnforceNewDefaults: true})
	cases := []struct {
		action string
		target Target
		creds  Credentials
		legacy bool
		strict bool
	}{
		// rule:regular_user ("") let anyone create networks.
		{"create_network", newInP1, noRoleP1, true, false},
		// admin_or_owner: owners without the reader role read and update.
		{"get_network", netP1, noRoleP1, true, false},
		{"update_network", netP1, noRoleP1, true, false},
		{"get_network", netP1, memberP2, false, false},
		{"get_network", sharedNetP3, noRoleP1, true, true}, // rule:shared needs no role
		// admin_or_network_owner for ports on one's network.
		{"create_port:mac_address", childP1, noRoleP1, true, false},
		// Unchanged defaults stay as they were.
		{"create_network:shared", newInP1, noRoleP1, false, false},
		{"create_network:shared", newInP1, memberP1, false, false},
		// The admin shortcut.
		{"create_port_binding", childP1, adminCreds, true, false},
		{"update_quota", newInP1, adminCreds, true, true},
		// New personas keep working.
		{"create_network", newInP1, memberP1, true, true},
		{"get_network", netP1, readerP1, true, true},
	}
	for _, c := range cases {
		if got := legacy.Enforce(c.action, c.target, as(legacy, c.creds)); got != c.legacy {
			t.Errorf("legacy %s by %s = %v, want %v", c.action, c.creds.UserID, got, c.legacy)
		}
		if got := strict.Enforce(c.action, c.target, as(strict, c.creds)); got != c.strict {
			t.Errorf("new-defaults %s by %s = %v, want %v", c.action, c.creds.UserID, got, c.strict)
		}
	}
}

// TestLegacyOverridesAndRenames checks that an overridden rule is not or-ed
// with its deprecated default, and that overrides of a rule's old name carry
// over to the new name.
func TestLegacyOverridesAndRenames(t *testing.T) {
	yaml := `"create_network": "role:netops"
"create_networks_tags": "role:tagger"
"get_networks_tags": "role:tagger"
"get_network:tags": "role:reader_of_tags"
"update_networks_tags": "rule:update_network:tags"
`
	for _, newDefaults := range []bool{false, true} {
		p := writeFile(t, t.TempDir(), "policy.yaml", yaml)
		e := mustNew(t, Options{PolicyFile: p, EnforceNewDefaults: newDefaults})
		if e.Enforce("create_network", newInP1, noRoleP1) {
			t.Errorf("newDefaults=%v: overridden create_network still or-ed with rule:regular_user", newDefaults)
		}
		tagger := Credentials{UserID: "u-tag", ProjectID: "p9", Roles: []string{"tagger"}}
		if !e.Enforce("create_network:tags", newInP1, tagger) {
			t.Errorf("newDefaults=%v: override of create_networks_tags not applied to create_network:tags", newDefaults)
		}
		// The new name's own override wins over the old name's.
		if e.Enforce("get_network:tags", netP1, tagger) {
			t.Errorf("newDefaults=%v: old-name override beat the new name's override", newDefaults)
		}
		// An old-name override that just points at the new rule changes nothing.
		if !e.Enforce("update_network:tags", netP1, memberP1) || e.Enforce("update_network:tags", netP1, readerP1) {
			t.Errorf("newDefaults=%v: update_network:tags is not its default", newDefaults)
		}
	}
}
