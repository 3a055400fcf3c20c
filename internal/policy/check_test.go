package policy

import (
	"encoding/json"
	"log/slog"
	"testing"
)

// TestCheckKinds evaluates every check kind through an Enforcer whose policy
// file defines the rule "t" (plus helpers) under test.
func TestCheckKinds(t *testing.T) {
	owner := Credentials{UserID: "u1", ProjectID: "p1", DomainID: "", Roles: []string{"member", "reader"}}
	domainUser := Credentials{UserID: "u3", DomainID: "d1", Roles: []string{"admin"}}
	adminFlag := Credentials{UserID: "u2", ProjectID: "p9", Roles: []string{"admin"}, IsAdmin: true}
	sys := Credentials{UserID: "u4", SystemScope: "all", Roles: []string{"reader"}}
	noProject := Credentials{UserID: "u5", Roles: []string{"member"}}

	tests := []struct {
		name   string
		rule   string
		target Target
		creds  Credentials
		want   bool
	}{
		{"always", "@", nil, noProject, true},
		{"empty is always", `""`, nil, noProject, true},
		{"never", "!", nil, adminFlag, false},

		{"role", "role:member", nil, owner, true},
		{"role absent", "role:admin", nil, owner, false},
		{"role case-insensitive rule", "role:MEMBER", nil, owner, true},
		{"role case-insensitive creds", "role:admin", nil, Credentials{Roles: []string{"Admin"}}, true},
		{"role from target", "role:%(needed)s", Target{"needed": "Reader"}, owner, true},
		{"role from missing target key", "role:%(needed)s", Target{}, owner, false},

		{"rule reference", "rule:helper", Target{"project_id": "p1"}, owner, true},
		{"rule reference denies", "rule:helper", Target{"project_id": "p2"}, owner, false},
		{"undefined rule falls back to default (owner)", "rule:nope", Target{"project_id": "p1"}, owner, true},
		{"undefined rule falls back to default (other)", "rule:nope", Target{"project_id": "p2"}, owner, false},

		{"project_id owner", "project_id:%(project_id)s", Target{"project_id": "p1"}, owner, true},
		{"project_id other", "project_id:%(project_id)s", Target{"project_id": "p2"}, owner, false},
		{"project_id missing key", "project_id:%(project_id)s", Target{}, owner, false},
		{"project_id empty creds never match", "project_id:%(project_id)s", Target{"project_id": ""}, noProject, false},
		{"project_id literal", "project_id:p1", nil, owner, true},
		{"tenant_id owner", "tenant_id:%(tenant_id)s", Target{"tenant_id": "p1"}, owner, true},
		{"tenant_id network owner", "tenant_id:%(network:tenant_id)s", Target{"tenant_id": "p2", "network:tenant_id": "p1"}, owner, true},
		{"project_id network owner", "project_id:%(network:project_id)s", Target{"project_id": "p2", "network:project_id": "p1"}, owner, true},
		{"network owner missing", "project_id:%(network:project_id)s", Target{"project_id": "p1"}, owner, false},
		{"user_id", "user_id:%(user_id)s", Target{"user_id": "u1"}, owner, true},
		{"user_id other", "user_id:%(user_id)s", Target{"user_id": "u2"}, owner, false},
		{"domain_id", "domain_id:%(domain_id)s", Target{"domain_id": "d1"}, domainUser, true},
		{"domain_id empty", "domain_id:%(domain_id)s", Target{"domain_id": ""}, owner, false},
		{"is_admin True", "is_admin:True", nil, adminFlag, true},
		{"is_admin True but not admin", "is_admin:True", nil, owner, false},
		{"is_admin False", "is_admin:False", nil, owner, true},
		{"system_scope", "system_scope:all", nil, sys, true},
		{"system_scope project token", "system_scope:all", nil, owner, false},
		{"system alias", "system:all", nil, sys, true},
		{"roles list", "roles:member", nil, owner, true},
		{"roles list absent", "roles:admin", nil, owner, false},

		{"literal True vs bool", "True:%(shared)s", Target{"shared": true}, owner, true},
		{"literal True vs false", "True:%(shared)s", Target{"shared": false}, owner, false},
		{"literal True vs string", "True:%(shared)s", Target{"shared": "True"}, owner, true},
		{"literal parent attribute", "True:%(network:shared)s", Target{"network:shared": true}, owner, true},
		{"quoted literal", "'member':%(role)s", Target{"role": "member"}, owner, true},
		{"double-quoted literal", `"member":%(role)s`, Target{"role": "member"}, owner, true},
		{"quoted literal mismatch", "'member':%(role)s", Target{"role": "reader"}, owner, false},
		{"int literal", "42:%(n)s", Target{"n": 42}, owner, true},
		{"int literal vs json number", "42:%(n)s", Target{"n": json.Number("42")}, owner, true},
		{"float literal", "1.5:%(f)s", Target{"f": 1.5}, owner, true},
		{"None literal", "None:%(x)s", Target{"x": nil}, owner, true},
		{"template with text", "user_id:u%(n)s", Target{"n": 1}, owner, true},

		{"dotted nested lookup", "project_id:%(target.network.project_id)s",
			Target{"target": map[string]any{"network": map[string]any{"project_id": "p1"}}}, owner, true},
		{"dotted nested Target", "project_id:%(target.network.project_id)s",
			Target{"target": Target{"network": Target{"project_id": "p2"}}}, owner, false},
		{"dotted flat key wins", "project_id:%(target.project_id)s",
			Target{"target.project_id": "p1", "target": map[string]any{"project_id": "p2"}}, owner, true},
		{"dotted missing", "project_id:%(target.network.project_id)s",
			Target{"target": map[string]any{}}, owner, false},

		{"field bool", "field:networks:shared=True", Target{"shared": true}, owner, true},
		{"field bool false", "field:networks:shared=True", Target{"shared": false}, owner, false},
		{"field bool lower-case value", "field:networks:shared=true", Target{"shared": true}, owner, true},
		{"field string", "field:networks:shared=True", Target{"shared": "True"}, owner, true},
		{"field missing", "field:networks:shared=True", Target{"project_id": "p1"}, owner, false},
		{"field nil", "field:networks:shared=True", Target{"shared": nil}, owner, false},
		{"field from parent network", "field:networks:shared=True", Target{"network_id": "n1", "network:shared": true}, owner, true},
		{"field own value wins", "field:networks:shared=True", Target{"shared": false, "network:shared": true}, owner, false},
		{"field with colon", "field:networks:router:external=True", Target{"router:external": true}, owner, true},
		{"field with colon from parent", "field:networks:router:external=True", Target{"network:router:external": true}, owner, true},
		{"field regex", "field:port:device_owner=~^network:", Target{"device_owner": "network:dhcp"}, owner, true},
		{"field regex anchored", "field:port:device_owner=~network:", Target{"device_owner": "compute:network:x"}, owner, false},
		{"field regex non-string", "field:port:device_owner=~^network:", Target{"device_owner": 3}, owner, false},
		{"field wildcard value", "field:rbac_policy:target_project=*", Target{"target_project": "*"}, owner, true},
		{"field wildcard other", "field:rbac_policy:target_project=*", Target{"target_project": "p2"}, owner, false},
		{"field number", "field:things:size=5", Target{"size": 5}, owner, true},
		{"field number mismatch", "field:things:size=5", Target{"size": 6.5}, owner, false},

		{"not", "not role:admin", nil, owner, true},
		{"and", "role:member and project_id:%(project_id)s", Target{"project_id": "p1"}, owner, true},
		{"or", "role:admin or project_id:%(project_id)s", Target{"project_id": "p2"}, owner, false},

		{"unknown credential", "service_roles:admin", nil, adminFlag, false},
		{"unknown credential negated", "not service_roles:admin", nil, adminFlag, true},
		{"http check unsupported", "http://example.com/check", nil, adminFlag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := tt.rule
			if rule != `""` {
				rule = yamlQuote(rule)
			}
			e := withRules(t, "t: "+rule+"\nhelper: project_id:%(project_id)s\n")
			if got := e.Enforce("t", tt.target, tt.creds); got != tt.want {
				t.Errorf("Enforce(%s) = %v, want %v", tt.rule, got, tt.want)
			}
		})
	}
}

// TestUnknownCheckLoggedOnce checks that unsupported checks deny and are
// reported once, however often they are loaded or evaluated.
func TestUnknownCheckLoggedOnce(t *testing.T) {
	rec := &recorder{}
	p := writeFile(t, t.TempDir(), "policy.yaml",
		"a: 'frobnicate:yes or http://x'\nb: 'frobnicate:yes'\nc: 'rule:missing'\n")
	e, err := New(Options{PolicyFile: p, EnforceNewDefaults: true, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if e.Enforce("a", nil, adminCreds) || e.Enforce("b", nil, adminCreds) {
			t.Fatal("unknown check allowed access")
		}
		if err := e.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	if n := rec.count("unknown credential"); n != 1 {
		t.Errorf("unknown credential logged %d times, want 1", n)
	}
	if n := rec.count("not supported"); n != 1 {
		t.Errorf("unsupported kind logged %d times, want 1", n)
	}
	if n := rec.count("undefined rule"); n != 1 {
		t.Errorf("undefined rule logged %d times, want 1", n)
	}
}

// TestCheckDefined covers Check's second result and the default-rule
// fallback of actions without rules.
func TestCheckDefined(t *testing.T) {
	e := mustNew(t, Options{EnforceNewDefaults: true})
	own := Target{"project_id": "p1"}
	if allowed, defined := e.Check("create_network:shared", own, memberP1); allowed || !defined {
		t.Errorf("create_network:shared = %v, %v; want false, true", allowed, defined)
	}
	if _, defined := e.Check("create_network:name", own, memberP1); defined {
		t.Error("create_network:name is reported as defined")
	}
	// Undefined actions are decided by "default" (rule:admin_or_owner).
	if !e.Enforce("frobnicate_widget", own, memberP1) {
		t.Error("owner denied an undefined action")
	}
	if e.Enforce("frobnicate_widget", own, memberP2) {
		t.Error("non-owner allowed an undefined action")
	}
	if !e.Enforce("frobnicate_widget", own, as(e, adminCreds)) {
		t.Error("admin denied an undefined action")
	}

	// With policy_default_rule pointing at a missing rule, undefined
	// actions are denied.
	e = mustNew(t, Options{EnforceNewDefaults: true, DefaultRule: "no_such_rule"})
	if e.Enforce("frobnicate_widget", own, as(e, adminCreds)) {
		t.Error("undefined action allowed without a default rule")
	}
}

func TestPyStr(t *testing.T) {
	type myInt int32
	tests := []struct {
		v    any
		want string
	}{
		{"s", "s"},
		{true, "True"},
		{false, "False"},
		{nil, "None"},
		{7, "7"},
		{int64(-3), "-3"},
		{myInt(9), "9"},
		{uint8(4), "4"},
		{2.0, "2.0"},
		{0.5, "0.5"},
		{1e16, "1e+16"},
		{1.5e-5, "1.5e-05"},
		{[]string{"a", "b"}, "['a', 'b']"},
		{[]any{1, true, nil}, "[1, True, None]"},
		{map[string]any{"b": 1, "a": "x"}, "{'a': 'x', 'b': 1}"},
	}
	for _, tt := range tests {
		if got := pyStr(tt.v); got != tt.want {
			t.Errorf("pyStr(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
