// Package policy is an oslo.policy-compatible rule engine carrying Neutron's
// default API policies.
//
// A policy maps rule names (usually API actions such as "create_network" or
// per-attribute actions such as "create_network:shared") to check strings
// written in the oslo.policy language:
//
//	@                              always allowed ("" means the same)
//	!                              never allowed
//	rule:NAME                      the result of another rule
//	role:NAME                      the caller holds role NAME (case-insensitive)
//	project_id:%(project_id)s      a credential compared with a target value
//	'member':%(role)s, True:%(x)s  a literal compared with a target value
//	field:networks:shared=True     Neutron's FieldCheck on a target attribute
//	not A, A and B, A or B, ( … )  combinators; not binds tighter than and,
//	                               which binds tighter than or
//
// The Enforcer compiles every rule once when the policy is loaded; evaluation
// walks the compiled tree without parsing and, for string-valued targets,
// without allocating. Rules come from Neutron's defaults (see DefaultRules),
// overridden by an optional policy file and policy directories in YAML or JSON,
// which are re-read when they change on disk.
//
// Evaluation follows oslo.policy and Neutron: the right-hand side of a check
// is formatted against the target as Python's % operator would (bools render
// as True/False, nil as None) and a missing target key fails the check; a
// reference to an undefined rule, like an action without a rule, is decided by
// the default rule; a dotted reference such as %(target.network.id)s is looked
// up as a key first and then through nested maps. Where a parent resource
// matters (the network of a port, the security group of a rule), the caller
// puts its attributes in the target under "network:project_id",
// "network:shared" and so on; nothing is fetched from a database here.
//
// Unlike oslo.policy, which logs and denies, a rule that does not parse makes
// the load fail with an error naming the file and the rule, and rules that
// reference each other in a cycle are rejected. Checks this engine cannot
// evaluate (http: and https: checks, comparisons with credentials Credentials
// does not carry) deny and are logged once. Empty credential strings stand
// for absent values and never match a target.
package policy

// Credentials describes who is asking, as taken from the request context.
type Credentials struct {
	// UserID is the Keystone user ID.
	UserID string
	// ProjectID is the project the token is scoped to (empty for system- or
	// domain-scoped tokens).
	ProjectID string
	// DomainID is the domain the token is scoped to (empty for project- and
	// system-scoped tokens), as in oslo.context's domain_id.
	DomainID string
	// Roles holds the caller's role names, lower-cased.
	Roles []string
	// SystemScope is "all" for a system-scoped token and empty otherwise.
	SystemScope string
	// IsAdmin is set by the caller from the context_is_admin rule, normally
	// via (*Enforcer).IsAdmin.
	IsAdmin bool
}

// Target is the resource being acted on: attribute name to value, as Neutron
// builds it. Values are strings, bools, numbers, nil, slices or nested maps;
// keys such as "network:project_id" or "ext_parent:project_id" carry the
// attributes of a parent resource the caller looked up beforehand.
type Target map[string]any

// Operation is one HTTP request covered by a rule, used to document defaults.
type Operation struct {
	// Method is the HTTP method, for example "POST".
	Method string
	// Path is the URL path template, for example "/networks/{id}".
	Path string
}

// DeprecatedRule is the default that a rule replaced. While
// Options.EnforceNewDefaults is false the old check string is still honoured:
// the effective rule is "new or old".
type DeprecatedRule struct {
	// Name is the rule's previous name; usually the same as the rule's own.
	Name string
	// CheckStr is the previous default check string.
	CheckStr string
	// Reason explains why the previous default was replaced.
	Reason string
	// Since names the release that deprecated the previous default.
	Since string
}

// Rule is one policy default as Neutron registers it.
type Rule struct {
	// Name is the rule name, for example "get_network" or "network_owner".
	Name string
	// CheckStr is the default check string.
	CheckStr string
	// Description says what the rule protects.
	Description string
	// Operations lists the API requests the rule is enforced on; it is empty
	// for helper rules that are only referenced by other rules.
	Operations []Operation
	// ScopeTypes lists the token scopes ("system", "domain", "project") the
	// rule is meant for; empty means any scope.
	ScopeTypes []string
	// Deprecated is the default this rule replaced, if any.
	Deprecated *DeprecatedRule
	// DeprecatedForRemoval reports that the rule itself will go away.
	DeprecatedForRemoval bool
	// DeprecatedReason explains a deprecation of the rule itself.
	DeprecatedReason string
	// DeprecatedSince names the release that deprecated the rule itself.
	DeprecatedSince string
}

// DefaultRules returns Neutron's policy defaults in registration order. The
// result is a copy the caller may modify.
func DefaultRules() []Rule {
	out := make([]Rule, len(defaultRules))
	for i, r := range defaultRules {
		r.Operations = append([]Operation(nil), r.Operations...)
		r.ScopeTypes = append([]string(nil), r.ScopeTypes...)
		if r.Deprecated != nil {
			d := *r.Deprecated
			r.Deprecated = &d
		}
		out[i] = r
	}
	return out
}

// defaultIndex maps a default rule's name to its entry in defaultRules.
var defaultIndex = func() map[string]*Rule {
	m := make(map[string]*Rule, len(defaultRules))
	for i := range defaultRules {
		m[defaultRules[i].Name] = &defaultRules[i]
	}
	return m
}()
