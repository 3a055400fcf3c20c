package policy

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures an Enforcer. The fields mirror oslo.policy's
// [oslo_policy] options.
type Options struct {
	// PolicyFile is [oslo_policy] policy_file, a YAML or JSON map of rule name
	// to check string. A relative path is looked up in ConfigDirs, then in the
	// working directory. A file that does not exist leaves the defaults in
	// force; it is picked up if it appears later.
	PolicyFile string
	// PolicyDirs is [oslo_policy] policy_dirs. Every *.yaml, *.yml and *.json
	// file in them is applied after PolicyFile, directory by directory, files
	// in lexical order, later files overriding earlier ones. Relative paths
	// are resolved like PolicyFile; missing directories are skipped.
	PolicyDirs []string
	// ConfigDirs lists the directories of the service's configuration files,
	// in which relative PolicyFile and PolicyDirs paths are looked up.
	ConfigDirs []string
	// DefaultRule is [oslo_policy] policy_default_rule, the rule that decides
	// actions without a rule of their own. Empty means "default".
	DefaultRule string
	// EnforceNewDefaults is [oslo_policy] enforce_new_defaults. Neutron turns
	// it on by default since Zed; callers should default it to true. When
	// false, a default that replaced a deprecated one evaluates as
	// "new or deprecated", and callers whose IsAdmin is set are allowed every
	// action, as Neutron does in that mode.
	EnforceNewDefaults bool
	// EnforceScope is [oslo_policy] enforce_scope. When true, an action whose
	// default declares scope types is denied to tokens of any other scope.
	EnforceScope bool
	// Logger receives load errors and warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Enforcer evaluates policy rules. It is safe for concurrent use: rules are
// compiled into an immutable set that is swapped atomically on reload.
type Enforcer struct {
	opts        Options
	log         *slog.Logger
	defaultRule string

	rules atomic.Pointer[ruleSet]

	// watch is false when no policy file or directory is configured, so
	// Enforce never touches the file system.
	watch     bool
	lastCheck atomic.Int64 // UnixNano of the last change check
	now       func() time.Time

	mu        sync.Mutex // serialises loads
	failedSig string     // signature of files that last failed to load

	warned sync.Map // keys of messages already logged
}

// checkInterval bounds how often Enforce looks at the policy files.
const checkInterval = time.Second

// New loads the defaults and the configured policy files and returns an
// Enforcer. It fails if a policy file cannot be read or one of its rules does
// not parse; the error names the file and the rule.
func New(opts Options) (*Enforcer, error) {
	e := &Enforcer{
		opts:        opts,
		log:         opts.Logger,
		defaultRule: opts.DefaultRule,
		watch:       opts.PolicyFile != "" || len(opts.PolicyDirs) > 0,
		now:         time.Now,
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.defaultRule == "" {
		e.defaultRule = "default"
	}
	if err := e.load(true); err != nil {
		return nil, err
	}
	e.lastCheck.Store(e.now().UnixNano())
	return e, nil
}

// Enforce reports whether creds may perform action on target. An action
// without a rule of its own is decided by the default rule, as in oslo.policy.
// With Options.EnforceScope, an action whose default declares scope types is
// denied to tokens of other scopes; without Options.EnforceNewDefaults, a
// caller whose IsAdmin is set is allowed everything, as in Neutron.
func (e *Enforcer) Enforce(action string, target Target, creds Credentials) bool {
	allowed, _ := e.check(action, target, &creds)
	return allowed
}

// Check is like Enforce but also reports whether a rule named action exists.
// Neutron only enforces per-attribute rules (such as "create_network:shared")
// that are defined, so callers should treat an undefined attribute rule as
// allowed; allowed itself is what Enforce would return.
func (e *Enforcer) Check(action string, target Target, creds Credentials) (allowed, defined bool) {
	return e.check(action, target, &creds)
}

// IsAdmin evaluates the "context_is_admin" rule for creds, with the
// credentials themselves as the target, as Neutron does when it builds a
// request context.
func (e *Enforcer) IsAdmin(creds Credentials) bool {
	e.maybeReload()
	root, ok := e.rules.Load().rules["context_is_admin"]
	if !ok {
		return false
	}
	// The default, role:admin, reads no target: answering it from the
	// credentials spares building one for every request.
	if allowed, known := root.decide(&creds); known {
		return allowed
	}
	t := Target{
		"user_id":      creds.UserID,
		"project_id":   creds.ProjectID,
		"tenant_id":    creds.ProjectID,
		"domain_id":    creds.DomainID,
		"system_scope": creds.SystemScope,
		"roles":        creds.Roles,
		"is_admin":     creds.IsAdmin,
	}
	return root.eval(t, &creds)
}

// Reload re-reads the policy files now, whether or not they changed. On
// error the rules in force are kept.
func (e *Enforcer) Reload() error {
	return e.load(true)
}

func (e *Enforcer) check(action string, target Target, c *Credentials) (allowed, defined bool) {
	e.maybeReload()
	rs := e.rules.Load()
	root, defined := rs.rules[action]
	if !e.opts.EnforceNewDefaults && c.IsAdmin {
		return true, defined
	}
	if !defined {
		root = rs.fallback
		if root == nil {
			return false, false
		}
	}
	if e.opts.EnforceScope && !scopeAllows(action, c) {
		return false, defined
	}
	return root.eval(target, c), defined
}

// CheckKnown is Check with part of the target not known yet: the keys for
// which unknown is true (a port's network's owner, read only when a rule
// needs it). known is false when the answer depends on one of them; Check
// must then be asked with them filled in.
func (e *Enforcer) CheckKnown(action string, target Target, creds Credentials, unknown func(string) bool) (allowed, defined, known bool) {
	e.maybeReload()
	rs := e.rules.Load()
	root, defined := rs.rules[action]
	if !e.opts.EnforceNewDefaults && creds.IsAdmin {
		return true, defined, true
	}
	if !defined {
		root = rs.fallback
		if root == nil {
			return false, false, true
		}
	}
	if e.opts.EnforceScope && !scopeAllows(action, &creds) {
		return false, defined, true
	}
	allowed, known = root.evalKnown(target, &creds, unknown)
	return allowed, defined, known
}

// Decide answers Check for action when creds alone decide it, whatever
// the target: known is false when the answer depends on the target, which
// Check must then be asked about each. A listing asks once, not per row.
func (e *Enforcer) Decide(action string, creds Credentials) (allowed, defined, known bool) {
	e.maybeReload()
	return e.decideIn(e.rules.Load(), action, &creds)
}

// DecideAll is Decide for each of actions with one look at the policy
// files, into allowed and defined (as long as actions): a show asks about
// every attribute rule of its resource. known is false as soon as one
// answer depends on the target; allowed and defined are then incomplete.
func (e *Enforcer) DecideAll(actions []string, creds Credentials, allowed, defined []bool) (known bool) {
	e.maybeReload()
	rs := e.rules.Load()
	for i, action := range actions {
		a, d, k := e.decideIn(rs, action, &creds)
		if !k {
			return false
		}
		allowed[i], defined[i] = a, d
	}
	return true
}

func (e *Enforcer) decideIn(rs *ruleSet, action string, c *Credentials) (allowed, defined, known bool) {
	root, defined := rs.rules[action]
	if !e.opts.EnforceNewDefaults && c.IsAdmin {
		return true, defined, true
	}
	if !defined {
		root = rs.fallback
		if root == nil {
			return false, false, true
		}
	}
	if e.opts.EnforceScope && !scopeAllows(action, c) {
		return false, defined, true
	}
	allowed, known = root.decide(c)
	return allowed, defined, known
}

// scopeAllows reports whether the token's scope is one the action's default
// is meant for. Actions without declared scope types allow every scope.
func scopeAllows(action string, c *Credentials) bool {
	d, ok := defaultIndex[action]
	if !ok || len(d.ScopeTypes) == 0 {
		return true
	}
	return slices.Contains(d.ScopeTypes, tokenScope(c))
}

// tokenScope classifies the token as oslo.policy does.
func tokenScope(c *Credentials) string {
	switch {
	case c.SystemScope != "":
		return "system"
	case c.DomainID != "":
		return "domain"
	}
	return "project"
}

// maybeReload reloads the policy files if they changed, looking at most once
// per checkInterval. Only the caller that wins the race for the time slot
// looks; everyone else carries on with the rules in force.
func (e *Enforcer) maybeReload() {
	if !e.watch {
		return
	}
	now := e.now().UnixNano()
	last := e.lastCheck.Load()
	if now-last < int64(checkInterval) || !e.lastCheck.CompareAndSwap(last, now) {
		return
	}
	_ = e.load(false) // errors are logged by load
}

// warnOnce logs msg at warning level the first time key is seen.
func (e *Enforcer) warnOnce(key, msg string, args ...any) {
	if _, seen := e.warned.LoadOrStore(key, struct{}{}); !seen {
		e.log.Warn(msg, args...)
	}
}

// load builds a rule set from the defaults and the policy files and installs
// it. Unless force is set it does nothing when the files are unchanged since
// the last attempt.
func (e *Enforcer) load(force bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	files, sig := e.scan()
	if cur := e.rules.Load(); !force && cur != nil && (sig == cur.sig || sig == e.failedSig) {
		return nil
	}
	rs, err := e.build(files, sig)
	if err != nil {
		if e.rules.Load() != nil {
			if sig != e.failedSig {
				e.log.Error("policy reload failed; keeping the rules in force", "error", err)
			}
			e.failedSig = sig
		}
		return err
	}
	e.failedSig = ""
	e.rules.Store(rs)
	if len(files) > 0 {
		e.log.Debug("policy loaded", "files", files)
	}
	return nil
}

// ruleSet is an immutable, fully linked set of compiled rules.
type ruleSet struct {
	rules    map[string]*node
	fallback *node  // the default rule, for actions without a rule
	sig      string // signature of the files it was built from
}

// fileRule is a rule read from a policy file.
type fileRule struct {
	root *node
	file string
}

// build compiles the defaults and the given policy files into a rule set.
func (e *Enforcer) build(files []string, sig string) (*ruleSet, error) {
	c := &compiler{warn: e.warnOnce}
	overrides := make(map[string]fileRule)
	for _, f := range files {
		raw, err := readPolicyFile(f)
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(raw) {
			root, err := compileValue(c, raw[name])
			if err != nil {
				return nil, fmt.Errorf("policy file %s: rule %q: %w", f, name, err)
			}
			overrides[name] = fileRule{root: root, file: f}
		}
	}

	rules := make(map[string]*node, len(defaultRules)+len(overrides))
	for i := range defaultRules {
		d := &defaultRules[i]
		if _, ok := overrides[d.Name]; ok {
			continue
		}
		root, err := e.compileDefault(c, d, overrides)
		if err != nil {
			return nil, err
		}
		rules[d.Name] = root
	}
	for name, fr := range overrides {
		rules[name] = fr.root
	}

	rs := &ruleSet{rules: rules, sig: sig}
	rs.fallback = rules[e.defaultRule]
	e.link(rules)
	if err := findCycle(rules); err != nil {
		return nil, err
	}
	return rs, nil
}

// compileDefault compiles a default rule, applying oslo.policy's handling of
// deprecated defaults: an operator override of the rule's old name carries
// over to the new name, and without enforce_new_defaults the old check string
// is or-ed with the new one.
func (e *Enforcer) compileDefault(c *compiler, d *Rule, overrides map[string]fileRule) (*node, error) {
	root, err := c.compile(d.CheckStr)
	if err != nil {
		return nil, fmt.Errorf("default rule %q: %w", d.Name, err)
	}
	dep := d.Deprecated
	if dep == nil {
		return root, nil
	}
	var old *node
	compileOld := func() (*node, error) {
		if old == nil {
			n, err := c.compile(dep.CheckStr)
			if err != nil {
				return nil, fmt.Errorf("deprecated default of rule %q: %w", d.Name, err)
			}
			old = n
		}
		return old, nil
	}
	if dep.Name != d.Name {
		if fr, ok := overrides[dep.Name]; ok {
			o, err := compileOld()
			if err != nil {
				return nil, err
			}
			got := fr.root.String()
			if got != o.String() && got != "rule:"+d.Name {
				e.warnOnce("renamed:"+dep.Name,
					"policy file overrides a renamed rule; the override now applies to the new name",
					"old", dep.Name, "new", d.Name, "file", fr.file)
				return fr.root, nil
			}
		}
	}
	if !e.opts.EnforceNewDefaults && dep.CheckStr != d.CheckStr {
		o, err := compileOld()
		if err != nil {
			return nil, err
		}
		return &node{op: opOr, kids: []*node{root, o}}, nil
	}
	return root, nil
}

// link points every rule reference at the referenced rule's root. A
// reference to an undefined rule falls back to the default rule, as in
// oslo.policy, and is logged once.
func (e *Enforcer) link(rules map[string]*node) {
	var walk func(n *node, owner string)
	walk = func(n *node, owner string) {
		for _, k := range n.kids {
			walk(k, owner)
		}
		if n.op != opRule {
			return
		}
		if t, ok := rules[n.name]; ok {
			n.target = t
			return
		}
		n.target = nil
		if n.name != e.defaultRule {
			n.target = rules[e.defaultRule]
		}
		e.warnOnce("undefined:"+n.name, "policy rule references an undefined rule; the default rule decides",
			"rule", owner, "undefined", n.name, "default", e.defaultRule)
	}
	for _, name := range sortedKeys(rules) {
		walk(rules[name], name)
	}
}

// findCycle reports rules that reference themselves, directly or not.
func findCycle(rules map[string]*node) error {
	const (
		unseen = iota
		active
		done
	)
	state := make(map[*node]int, len(rules))
	names := make(map[*node]string, len(rules))
	for _, name := range sortedKeys(rules) {
		if _, ok := names[rules[name]]; !ok {
			names[rules[name]] = name
		}
	}
	var stack []string
	var visit func(root *node) error
	var walk func(n *node) error
	visit = func(root *node) error {
		switch state[root] {
		case done:
			return nil
		case active:
			return fmt.Errorf("policy rules form a cycle: %s", strings.Join(append(stack, names[root]), " -> "))
		}
		state[root] = active
		stack = append(stack, names[root])
		if err := walk(root); err != nil {
			return err
		}
		stack = stack[:len(stack)-1]
		state[root] = done
		return nil
	}
	walk = func(n *node) error {
		if n.op == opRule && n.target != nil {
			return visit(n.target)
		}
		for _, k := range n.kids {
			if err := walk(k); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range sortedKeys(rules) {
		if err := visit(rules[name]); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns a map's keys in lexical order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
