package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// OptionError reports an option whose value cannot be used: it is not valid
// for the option's type, or it refers to an option that does not exist.
type OptionError struct {
	// Source is where the value came from: "FILE:LINE", "override", or ""
	// for the option's declared default.
	Source  string
	Section string
	Option  string
	Err     error
}

// Error returns "config: SOURCE: [SECTION] OPTION: ERR".
func (e *OptionError) Error() string {
	where := e.Source
	if where == "" {
		where = "default value"
	}
	return fmt.Sprintf("config: %s: [%s] %s: %v", where, e.Section, e.Option, e.Err)
}

// Unwrap returns the underlying error.
func (e *OptionError) Unwrap() error { return e.Err }

// overrideSource is what [Config.Source] reports for a value given to
// [Registry.LoadWithDefaults].
const overrideSource = "override"

// Load reads the configuration files in order, then the *.conf files of
// each directory in dirs (sorted by name, skipping hidden files), and
// returns the resulting configuration. Later files override earlier ones,
// except that [MultiStringOpt] values accumulate across all files.
//
// Every option is resolved and validated before Load returns, so that an
// invalid value stops the program at startup rather than when the option is
// first used; all such errors are returned together, each an
// [*OptionError]. A missing file or directory is an error, and a syntax
// error is a [*ParseError].
//
// Keys that are neither registered nor ignored are logged once each as a
// warning on logger, as are uses of deprecated names. A nil logger means
// [slog.Default].
func (r *Registry) Load(files, dirs []string, logger *slog.Logger) (*Config, error) {
	return r.LoadWithDefaults(nil, files, dirs, logger)
}

// Defaults returns the configuration that loading no files at all would
// give. It panics if a default value refers to an option that does not
// exist, since defaults are part of the program.
func (r *Registry) Defaults() *Config {
	c, err := r.LoadWithDefaults(nil, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	return c
}

// LoadWithDefaults is like [Registry.Load] but first replaces the declared
// defaults of some options, so that one binary can run with different
// defaults in different roles (such as an all-in-one server). Overrides are
// keyed "section.name" (a key without a dot is in DEFAULT) and hold raw
// values, which are interpolated and validated exactly like file values;
// any value in a file still takes precedence. An override for a
// [MultiStringOpt] is a single value.
func (r *Registry) LoadWithDefaults(overrides map[string]string, files, dirs []string, logger *slog.Logger) (*Config, error) {
	if logger == nil {
		logger = slog.Default()
	}
	paths, err := configPaths(files, dirs)
	if err != nil {
		return nil, err
	}
	parsed := make([]parsedFile, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("config: reading config file: %w", err)
		}
		as, err := parseINI(p, data)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, parsedFile{path: p, assignments: as})
	}

	r.mu.RLock()
	defer r.mu.RUnlock()
	l := &loader{
		reg:       r,
		overrides: make(map[*optBase]entry),
		results:   make(map[*optBase]*result),
	}
	if err := l.setOverrides(overrides); err != nil {
		return nil, err
	}
	l.index(parsed, logger)
	return l.build(paths)
}

// configPaths lists the files to read, in precedence order: the files as
// given, then each directory's *.conf files.
func configPaths(files, dirs []string) ([]string, error) {
	paths := make([]string, 0, len(files))
	for _, f := range files {
		paths = append(paths, expandHome(f))
	}
	for _, d := range dirs {
		d = expandHome(d)
		fi, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("config: reading config dir: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("config: reading config dir: %s: not a directory", d)
		}
		entries, err := os.ReadDir(d) // sorted by name, as oslo sorts its glob
		if err != nil {
			return nil, fmt.Errorf("config: reading config dir: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			// Python's glob, which oslo uses, never matches hidden
			// files with "*"; editors leave such files behind.
			if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".conf") {
				continue
			}
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				continue
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// expandHome expands a leading "~" as oslo does for --config-file and
// --config-dir, for paths that did not pass through a shell.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[1:])
}

type parsedFile struct {
	path        string
	assignments []assignment
}

// entry is one raw value and where it came from.
type entry struct {
	value  string
	source string // "FILE:LINE" or overrideSource
}

// result is an option's resolved value. It is recorded before resolution
// starts so that a reference back to the option can be seen as a cycle.
type result struct {
	value  any
	source string
	set    bool
	err    error
	done   bool
	// tainted records that the value interpolates a secret option, so it
	// must be hidden like a secret itself.
	tainted bool
}

// loader resolves every option of a registry against parsed files. It runs
// with the registry read-locked.
type loader struct {
	reg *Registry
	// files holds, per file in load order, the values of known keys.
	files     []map[optKey][]entry
	overrides map[*optBase]entry
	results   map[*optBase]*result
	// stack lists the options being resolved, innermost last, to name
	// the options involved in a substitution cycle.
	stack []*optBase
}

// setOverrides records the values given to LoadWithDefaults, which rank
// above declared defaults and below every file.
func (l *loader) setOverrides(overrides map[string]string) error {
	// Sorted so that the error for several bad keys is deterministic.
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		section, name := DefaultSection, k
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			section, name = k[:i], k[i+1:]
		}
		ki, ok := l.reg.keys[optKey{section: normalizeSection(section), name: name}]
		if !ok || ki.opt == nil || ki.deprecated {
			return fmt.Errorf("config: override %q: no such option", k)
		}
		l.overrides[ki.opt.opt()] = entry{value: overrides[k], source: overrideSource}
	}
	return nil
}

// index records the values of known keys and logs unknown keys and
// deprecated names, once per (section, name) for the whole load so that a
// key repeated in several files does not flood the log.
func (l *loader) index(files []parsedFile, logger *slog.Logger) {
	warned := make(map[optKey]bool)
	for _, f := range files {
		values := make(map[optKey][]entry)
		for _, a := range f.assignments {
			k := optKey{section: normalizeSection(a.section), name: a.key}
			ki, known := l.reg.keys[k]
			sectionReason, noEffectSection := l.reg.noEffectSections[k.section]
			switch {
			case known && ki.opt == nil, !known && noEffectSection:
				if warned[k] {
					continue
				}
				warned[k] = true
				reason := ki.noEffect
				if !known {
					reason = sectionReason
				}
				logger.Warn("config option has no effect in Neutrino",
					"file", f.path, "line", a.line, "section", a.section, "option", a.key, "reason", reason)
			case known:
				values[k] = append(values[k], entry{value: a.value, source: fmt.Sprintf("%s:%d", f.path, a.line)})
				if ki.deprecated && !warned[k] {
					warned[k] = true
					logger.Warn("deprecated config option name; use the new name",
						"file", f.path, "line", a.line, "section", a.section, "option", a.key,
						"new_section", ki.opt.Section(), "new_option", ki.opt.Name())
				}
			case !warned[k]:
				warned[k] = true
				msg := "unknown config option ignored"
				if l.reg.sections[k.section] == 0 {
					msg = "unknown config section ignored"
				}
				logger.Warn(msg, "file", f.path, "line", a.line, "section", a.section, "option", a.key)
			}
		}
		l.files = append(l.files, values)
	}
}

// build resolves every registered option into an immutable Config.
func (l *loader) build(paths []string) (*Config, error) {
	c := &Config{
		values: make(map[*optBase]value, len(l.reg.opts)),
		opts:   slices.Clone(l.reg.opts),
		files:  paths,
	}
	var errs []error
	for _, o := range l.reg.opts {
		r := l.resolve(o)
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		b := o.opt()
		c.values[b] = value{v: r.value, source: r.source, set: r.set, secret: b.secret || r.tainted}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// fileEntries returns the file values that determine o: for an ordinary
// option the last occurrence in the last file that sets it; for a
// MultiStringOpt every occurrence in every file. Within one file the
// current name wins over deprecated ones, but a later file using a
// deprecated name still overrides an earlier file, as in oslo.
func (l *loader) fileEntries(o option) []entry {
	b := o.opt()
	names := append([]optKey{b.key}, b.deprecated...)
	if !o.multi() {
		for i := len(l.files) - 1; i >= 0; i-- {
			for _, k := range names {
				if es := l.files[i][k]; len(es) > 0 {
					return es[len(es)-1:]
				}
			}
		}
		return nil
	}
	var out []entry
	for _, f := range l.files {
		for j := len(names) - 1; j >= 0; j-- {
			out = append(out, f[names[j]]...)
		}
	}
	return out
}

// resolve computes o's value once, from files, an override or its default,
// interpolating and validating it; options it refers to are resolved on
// the way.
func (l *loader) resolve(o option) *result {
	b := o.opt()
	if r, ok := l.results[b]; ok {
		return r
	}
	r := &result{}
	l.results[b] = r
	l.stack = append(l.stack, b)
	defer func() {
		l.stack = l.stack[:len(l.stack)-1]
		r.done = true
	}()

	expand := func(s string) (string, error) { return l.expand(s, b, &r.tainted) }
	entries := l.fileEntries(o)
	if len(entries) == 0 {
		if e, ok := l.overrides[b]; ok {
			entries = []entry{e}
		}
	}
	if len(entries) == 0 {
		v, err := o.defaultValue(expand)
		if err != nil {
			r.err = &OptionError{Section: b.key.section, Option: b.key.name, Err: err}
			return r
		}
		r.value = v
		return r
	}

	r.set = true
	r.source = entries[len(entries)-1].source
	var items []string
	for _, e := range entries {
		s, err := expand(e.value)
		if err != nil {
			r.err = &OptionError{Source: e.source, Section: b.key.section, Option: b.key.name, Err: err}
			return r
		}
		v, err := o.parse(s)
		if err != nil {
			r.err = &OptionError{
				Source: e.source, Section: b.key.section, Option: b.key.name,
				Err: fmt.Errorf("invalid value %s: %w", describeValue(b.secret || r.tainted, e.value, s), err),
			}
			return r
		}
		if o.multi() {
			items = append(items, v.(string))
		} else {
			r.value = v
		}
	}
	if o.multi() {
		r.value = items
	}
	return r
}

// describeValue quotes an invalid value for an error message, showing what
// was written when interpolation changed it, and hiding secrets because
// the caller will log the error.
func describeValue(secret bool, raw, expanded string) string {
	if secret {
		return `"****"`
	}
	if raw != expanded {
		return fmt.Sprintf("%q (from %q)", expanded, raw)
	}
	return strconv.Quote(expanded)
}

// expand interpolates $name, ${name} and ${section.name} in s, a value of
// option b, following oslo.config (Python's string.Template): "$$" and
// "\$" are a literal "$", and a "$" not followed by a name is kept as is.
// It sets *tainted if the result contains a secret option's value.
func (l *loader) expand(s string, b *optBase, tainted *bool) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	s = strings.ReplaceAll(s, `\$`, "$$")
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			out.WriteString(s)
			return out.String(), nil
		}
		out.WriteString(s[:i])
		s = s[i+1:]
		var id, token string
		switch {
		case strings.HasPrefix(s, "$"):
			out.WriteByte('$')
			s = s[1:]
			continue
		case strings.HasPrefix(s, "{"):
			n := identLen(s[1:])
			if n == 0 || len(s) < n+2 || s[n+1] != '}' {
				out.WriteByte('$')
				continue
			}
			id, token, s = s[1:n+1], "$"+s[:n+2], s[n+2:]
		default:
			n := identLen(s)
			if n == 0 {
				out.WriteByte('$')
				continue
			}
			id, token, s = s[:n], "$"+s[:n], s[n:]
		}
		v, err := l.lookupValue(id, b, tainted)
		if err != nil {
			return "", fmt.Errorf("cannot substitute %q: %w", token, err)
		}
		out.WriteString(v)
	}
}

// identLen returns the length of the name at the start of s, using
// oslo's pattern [_a-z][._a-z0-9]* (case-insensitive).
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && (c == '.' || '0' <= c && c <= '9'):
		default:
			return i
		}
	}
	return len(s)
}

// lookupValue returns the text that $id stands for in a value of option b.
// Like oslo, a plain name is looked up in b's own section and then in
// DEFAULT, and "section.name" names an option of another section.
func (l *loader) lookupValue(id string, b *optBase, tainted *bool) (string, error) {
	var candidates []optKey
	if section, name, ok := strings.Cut(id, "."); ok {
		candidates = []optKey{{normalizeSection(section), name}}
	} else {
		candidates = []optKey{{b.key.section, id}}
	}
	// oslo falls back to DEFAULT with the whole name, dots included.
	candidates = append(candidates, optKey{DefaultSection, id})

	var ref option
	for _, k := range candidates {
		if o, ok := l.reg.lookup(k); ok {
			ref = o
			break
		}
	}
	if ref == nil {
		if strings.Contains(id, ".") || b.key.section == DefaultSection {
			return "", fmt.Errorf("no such option %v", candidates[0])
		}
		return "", fmt.Errorf("no option %q in [%s] or [%s]", id, b.key.section, DefaultSection)
	}
	rb := ref.opt()
	if r, ok := l.results[rb]; ok && !r.done {
		return "", fmt.Errorf("substitution cycle: %s", l.cycle(rb))
	}
	r := l.resolve(ref)
	if r.err != nil {
		return "", fmt.Errorf("%v has an invalid value", rb.key)
	}
	if rb.secret || r.tainted {
		*tainted = true
	}
	return pyStr(r.value), nil
}

// cycle describes the chain of substitutions from rb back to itself.
func (l *loader) cycle(rb *optBase) string {
	i := slices.Index(l.stack, rb)
	parts := make([]string, 0, len(l.stack)-i+1)
	for _, b := range l.stack[i:] {
		parts = append(parts, b.key.String())
	}
	return strings.Join(append(parts, rb.key.String()), " -> ")
}

// pyStr renders a resolved value as Python's str() does, because that is
// the text oslo.config substitutes for a reference to a non-string option.
func pyStr(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return pyFloat(v)
	case bool:
		if v {
			return "True"
		}
		return "False"
	case []string:
		quoted := make([]string, len(v))
		for i, s := range v {
			quoted[i] = pyRepr(s)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	panic(fmt.Sprintf("config: unexpected value type %T", v))
}

// pyRepr approximates Python's repr() of a string.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}
