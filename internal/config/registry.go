// Package config reads OpenStack Neutron's oslo.config INI files.
//
// Neutrino must start from the configuration files an existing Neutron
// deployment already has, so this package follows oslo.config's rules rather
// than a generic INI dialect: the same comment and continuation-line syntax,
// the same "later file wins" precedence, MultiString values accumulating
// across files, $name interpolation, deprecated option names, and a sample
// file in the format oslo-config-generator produces.
//
// Packages declare their options once, usually as package-level variables on
// a shared [Registry]:
//
//	var (
//		Opts      = config.NewRegistry()
//		stateDir  = Opts.String("DEFAULT", "state_path", "/var/lib/neutron", "Where to store Neutron state files.")
//		bindPort  = Opts.Port("DEFAULT", "bind_port", 9696, "The port to bind to.")
//		dbConnect = Opts.String("database", "connection", "", "The SQLAlchemy connection string.").Secret()
//	)
//
// The command then loads the files named on its command line and reads typed
// values from the resulting immutable [Config]:
//
//	files, dirs, rest, err := config.ParseArgs(os.Args[1:])
//	...
//	conf, err := Opts.Load(files, dirs, logger)
//	...
//	port := conf.Int(bindPort)
package config

import (
	"fmt"
	"strings"
	"sync"
)

// DefaultSection is the name of oslo.config's default section. Unlike every
// other section name it is case-sensitive: "[default]" is a different,
// ordinary section.
const DefaultSection = "DEFAULT"

// Registry holds declared options. Packages declare options once, typically
// as package-level variables on a shared registry, before any configuration
// is loaded.
//
// Declaring options and loading configuration may happen from several
// goroutines, but options are meant to be fully declared (including chained
// calls such as [StringOpt.Choices]) before the first [Registry.Load].
type Registry struct {
	mu sync.RWMutex
	// opts lists options in registration order, which is also the order
	// of options within a section of the sample file (as in oslo).
	opts []option
	// keys maps every (section, name) a file may use to its meaning.
	keys map[optKey]keyInfo
	// sections counts the keys known in each section, so that an unknown
	// key can be reported as belonging to an unknown section.
	sections map[string]int
	// noEffectSections accept any key that is not a registered option,
	// with the reason it has no effect in Neutrino.
	noEffectSections map[string]string
}

// keyInfo says what a (section, name) pair in a file means.
type keyInfo struct {
	opt        option // nil for a key that has no effect
	deprecated bool   // the key is a deprecated alias of opt
	// noEffect says why a key Neutron reads does nothing in Neutrino.
	noEffect string
}

// optKey identifies an option by its (normalized) section and name.
type optKey struct {
	section string
	name    string
}

func (k optKey) String() string { return "[" + k.section + "] " + k.name }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		keys:             make(map[optKey]keyInfo),
		sections:         make(map[string]int),
		noEffectSections: make(map[string]string),
	}
}

// String declares a string option.
func (r *Registry) String(section, name, def, help string) *StringOpt {
	o := &StringOpt{def: def}
	r.register(o, section, name, help)
	return o
}

// Int declares an integer option. Bounds may be added with [IntOpt.Range],
// [IntOpt.Min] or [IntOpt.Max].
func (r *Registry) Int(section, name string, def int, help string) *IntOpt {
	o := &IntOpt{def: def, kind: "integer value"}
	r.register(o, section, name, help)
	return o
}

// Port declares a TCP or UDP port option: an integer between 0 and 65535,
// like oslo.config's PortOpt.
func (r *Registry) Port(section, name string, def int, help string) *IntOpt {
	o := &IntOpt{def: def, kind: "port value"}
	r.register(o, section, name, help)
	return o.Range(0, 65535)
}

// Float declares a floating-point option. Bounds may be added with
// [FloatOpt.Range], [FloatOpt.Min] or [FloatOpt.Max].
func (r *Registry) Float(section, name string, def float64, help string) *FloatOpt {
	o := &FloatOpt{def: def}
	r.register(o, section, name, help)
	return o
}

// Bool declares a boolean option. Files may spell its value true/false,
// yes/no, on/off or 1/0, in any letter case.
func (r *Registry) Bool(section, name string, def bool, help string) *BoolOpt {
	o := &BoolOpt{def: def}
	r.register(o, section, name, help)
	return o
}

// List declares a comma-separated list option. Items are trimmed and empty
// items are dropped.
func (r *Registry) List(section, name string, def []string, help string) *ListOpt {
	o := &ListOpt{def: cloneStrings(def)}
	r.register(o, section, name, help)
	return o
}

// MultiString declares an option that may be given several times: every
// occurrence, in every file, adds one value.
func (r *Registry) MultiString(section, name string, def []string, help string) *MultiStringOpt {
	o := &MultiStringOpt{def: cloneStrings(def)}
	r.register(o, section, name, help)
	return o
}

// NoEffect declares a key that Neutron reads but Neutrino does not act on
// (such as api_workers). A file may set it; loading logs once, naming the
// file, section and option, that it has no effect, and why.
func (r *Registry) NoEffect(section, name, reason string) {
	k := newKey(section, name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addKey(k, keyInfo{noEffect: reason})
}

// NoEffectSection declares a section whose keys, unless they are
// registered options, have no effect in Neutrino (such as
// [oslo_messaging_rabbit]); each key a file sets is logged once, with the
// reason.
func (r *Registry) NoEffectSection(section, reason string) {
	s := normalizeSection(mustSection(section))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noEffectSections[s] = reason
}

// register validates and records a new option. It panics on an invalid or
// duplicate name because option declarations are fixed in the program's
// source: such a mistake is a bug, not a runtime condition.
func (r *Registry) register(o option, section, name, help string) {
	k := newKey(section, name)
	b := o.opt()
	b.reg = r
	b.key = k
	b.help = help
	b.self = o
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addKey(k, keyInfo{opt: o})
	r.opts = append(r.opts, o)
}

// addKey claims k for info; r.mu must be held for writing.
func (r *Registry) addKey(k optKey, info keyInfo) {
	if prev, dup := r.keys[k]; dup {
		panic(fmt.Sprintf("config: %v declared twice (already %s)", k, prev.describe()))
	}
	r.keys[k] = info
	r.sections[k.section]++
}

func (ki keyInfo) describe() string {
	switch {
	case ki.opt == nil:
		return "an option with no effect"
	case ki.deprecated:
		return "a deprecated name of " + ki.opt.opt().key.String()
	default:
		return "an option"
	}
}

// lookup returns the option a file key refers to, following deprecated
// names; r.mu must be held.
func (r *Registry) lookup(k optKey) (option, bool) {
	ki, ok := r.keys[k]
	if !ok || ki.opt == nil {
		return nil, false
	}
	return ki.opt, true
}

// newKey validates and normalizes an option's section and name, panicking
// on names no INI file could ever set.
func newKey(section, name string) optKey {
	section = mustSection(section)
	if name == "" || strings.ContainsAny(name, " \t\r\n=:") || strings.ContainsAny(name[:1], "[#;") {
		panic(fmt.Sprintf("config: invalid option name %q in [%s]", name, section))
	}
	return optKey{section: normalizeSection(section), name: name}
}

func mustSection(section string) string {
	if section == "" || strings.ContainsAny(section, "[]\r\n") {
		panic(fmt.Sprintf("config: invalid section name %q", section))
	}
	// oslo treats "[default]" as an ordinary section that happens to be
	// spelled like the default one; declaring options there is almost
	// certainly a typo for DEFAULT.
	if strings.EqualFold(section, DefaultSection) && section != DefaultSection {
		panic(fmt.Sprintf("config: section %q: the default section is spelled %q", section, DefaultSection))
	}
	return section
}

// normalizeSection maps a section name to the form used for lookups: oslo
// matches section names case-insensitively, except DEFAULT, which must be
// spelled exactly.
func normalizeSection(s string) string {
	if s == DefaultSection {
		return s
	}
	return strings.ToLower(s)
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
