package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Opt is implemented by every option handle: [*StringOpt], [*IntOpt],
// [*FloatOpt], [*BoolOpt], [*ListOpt] and [*MultiStringOpt]. Handles are
// created only by a [Registry].
type Opt interface {
	// Section returns the option's section, normalized as files are: all
	// lower case except DEFAULT.
	Section() string
	// Name returns the option's key within its section.
	Name() string
	// Help returns the option's help text.
	Help() string

	// opt keeps implementations inside this package, where the loader
	// relies on them being registered.
	opt() *optBase
}

// option is what the loader and the sample writer need from each type.
type option interface {
	Opt
	// typeName is the type as oslo-config-generator describes it.
	typeName() string
	// multi reports whether every occurrence of the key adds a value.
	multi() bool
	// parse converts one raw, already interpolated, value.
	parse(raw string) (any, error)
	// defaultValue returns the declared default, with any strings in it
	// interpolated by expand, as oslo interpolates defaults too.
	defaultValue(expand func(string) (string, error)) (any, error)
	// sampleNotes returns extra sample lines such as bounds and choices.
	sampleNotes() []string
	// sampleDefaults returns the default as written in a sample file: one
	// string per line.
	sampleDefaults() []string
}

// optBase holds what every option type has in common.
type optBase struct {
	reg        *Registry
	self       option
	key        optKey
	help       string
	deprecated []optKey
	secret     bool
}

// Section returns the option's section, normalized as files are: all lower
// case except DEFAULT.
func (b *optBase) Section() string { return b.key.section }

// Name returns the option's key within its section.
func (b *optBase) Name() string { return b.key.name }

// Help returns the option's help text.
func (b *optBase) Help() string { return b.help }

func (b *optBase) opt() *optBase { return b }

// deprecate registers an alias under which files may still set the option.
func (b *optBase) deprecate(section, name string) {
	k := newKey(section, name)
	b.reg.mu.Lock()
	defer b.reg.mu.Unlock()
	b.reg.addKey(k, keyInfo{opt: b.self, deprecated: true})
	b.deprecated = append(b.deprecated, k)
}

// modify runs f with the registry locked, so that a chained call such as
// Secret never races a Load reading the option.
func (b *optBase) modify(f func()) {
	b.reg.mu.Lock()
	defer b.reg.mu.Unlock()
	f()
}

func (b *optBase) setSecret() { b.modify(func() { b.secret = true }) }

// StringOpt is a string option, declared with [Registry.String].
type StringOpt struct {
	optBase
	def     string
	choices []string
}

// Choices restricts the option to the given values, compared
// case-sensitively as oslo does. It panics if the default is neither empty
// nor one of them. It returns o for chaining.
func (o *StringOpt) Choices(choices ...string) *StringOpt {
	if len(choices) == 0 {
		panic(fmt.Sprintf("config: %v: Choices needs at least one value", o.key))
	}
	if o.def != "" && !slices.Contains(choices, o.def) {
		panic(fmt.Sprintf("config: %v: default %q is not one of the choices %q", o.key, o.def, choices))
	}
	o.modify(func() { o.choices = slices.Clone(choices) })
	return o
}

// Secret marks the option's value as sensitive: it is never logged and is
// masked in error messages. It returns o for chaining.
func (o *StringOpt) Secret() *StringOpt {
	o.setSecret()
	return o
}

// DeprecatedName registers an older section and name for the option. A file
// value under the old name is used when the file does not also set the new
// name; a warning is logged when it is. It returns o for chaining.
func (o *StringOpt) DeprecatedName(section, name string) *StringOpt {
	o.deprecate(section, name)
	return o
}

func (o *StringOpt) typeName() string { return "string value" }
func (o *StringOpt) multi() bool      { return false }

func (o *StringOpt) parse(raw string) (any, error) {
	if o.choices != nil && !slices.Contains(o.choices, raw) {
		return nil, fmt.Errorf("valid values are [%s]", strings.Join(o.choices, ", "))
	}
	return raw, nil
}

func (o *StringOpt) defaultValue(expand func(string) (string, error)) (any, error) {
	return expand(o.def)
}

func (o *StringOpt) sampleNotes() []string { return choiceNotes(o.choices) }

func (o *StringOpt) sampleDefaults() []string { return []string{quoteSpaces(o.def)} }

// IntOpt is an integer option, declared with [Registry.Int] or
// [Registry.Port].
type IntOpt struct {
	optBase
	def      int
	min, max *int
	kind     string // "integer value" or "port value"
}

// Range limits the option to min ≤ value ≤ max. It panics if min > max or
// the default is outside the range. It returns o for chaining.
func (o *IntOpt) Range(min, max int) *IntOpt {
	if min > max {
		panic(fmt.Sprintf("config: %v: Range(%d, %d): min greater than max", o.key, min, max))
	}
	return o.Min(min).Max(max)
}

// Min limits the option to values ≥ min. It panics if the default is below
// min. It returns o for chaining.
func (o *IntOpt) Min(min int) *IntOpt {
	if o.def < min {
		panic(fmt.Sprintf("config: %v: default %d is less than the minimum %d", o.key, o.def, min))
	}
	o.modify(func() { o.min = &min })
	return o
}

// Max limits the option to values ≤ max. It panics if the default is above
// max. It returns o for chaining.
func (o *IntOpt) Max(max int) *IntOpt {
	if o.def > max {
		panic(fmt.Sprintf("config: %v: default %d is greater than the maximum %d", o.key, o.def, max))
	}
	o.modify(func() { o.max = &max })
	return o
}

// DeprecatedName registers an older section and name for the option; see
// [StringOpt.DeprecatedName]. It returns o for chaining.
func (o *IntOpt) DeprecatedName(section, name string) *IntOpt {
	o.deprecate(section, name)
	return o
}

func (o *IntOpt) typeName() string { return o.kind }
func (o *IntOpt) multi() bool      { return false }

func (o *IntOpt) parse(raw string) (any, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		// oslo turns an empty integer into None, which Neutron code
		// treats as "not configured"; the closest Go equivalent is the
		// declared default.
		return o.def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil, errors.New("integer out of range")
		}
		return nil, errors.New("not an integer")
	}
	if o.min != nil && n < *o.min {
		return nil, fmt.Errorf("must be greater than or equal to %d", *o.min)
	}
	if o.max != nil && n > *o.max {
		return nil, fmt.Errorf("must be less than or equal to %d", *o.max)
	}
	return n, nil
}

func (o *IntOpt) defaultValue(func(string) (string, error)) (any, error) { return o.def, nil }

func (o *IntOpt) sampleNotes() []string {
	var notes []string
	if o.min != nil {
		notes = append(notes, fmt.Sprintf("Minimum value: %d", *o.min))
	}
	if o.max != nil {
		notes = append(notes, fmt.Sprintf("Maximum value: %d", *o.max))
	}
	return notes
}

func (o *IntOpt) sampleDefaults() []string { return []string{strconv.Itoa(o.def)} }

// FloatOpt is a floating-point option, declared with [Registry.Float].
type FloatOpt struct {
	optBase
	def      float64
	min, max *float64
}

// Range limits the option to min ≤ value ≤ max. It panics if min > max or
// the default is outside the range. It returns o for chaining.
func (o *FloatOpt) Range(min, max float64) *FloatOpt {
	if min > max {
		panic(fmt.Sprintf("config: %v: Range(%g, %g): min greater than max", o.key, min, max))
	}
	return o.Min(min).Max(max)
}

// Min limits the option to values ≥ min. It panics if the default is below
// min. It returns o for chaining.
func (o *FloatOpt) Min(min float64) *FloatOpt {
	if o.def < min {
		panic(fmt.Sprintf("config: %v: default %g is less than the minimum %g", o.key, o.def, min))
	}
	o.modify(func() { o.min = &min })
	return o
}

// Max limits the option to values ≤ max. It panics if the default is above
// max. It returns o for chaining.
func (o *FloatOpt) Max(max float64) *FloatOpt {
	if o.def > max {
		panic(fmt.Sprintf("config: %v: default %g is greater than the maximum %g", o.key, o.def, max))
	}
	o.modify(func() { o.max = &max })
	return o
}

// DeprecatedName registers an older section and name for the option; see
// [StringOpt.DeprecatedName]. It returns o for chaining.
func (o *FloatOpt) DeprecatedName(section, name string) *FloatOpt {
	o.deprecate(section, name)
	return o
}

func (o *FloatOpt) typeName() string { return "floating point value" }
func (o *FloatOpt) multi() bool      { return false }

func (o *FloatOpt) parse(raw string) (any, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		// As for integers, oslo yields None for an empty value.
		return o.def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// Python's float() turns an overflow into inf rather than
		// failing, and so does ParseFloat alongside ErrRange.
		return nil, errors.New("not a floating-point number")
	}
	if o.min != nil && f < *o.min {
		return nil, fmt.Errorf("must be greater than or equal to %s", pyFloat(*o.min))
	}
	if o.max != nil && f > *o.max {
		return nil, fmt.Errorf("must be less than or equal to %s", pyFloat(*o.max))
	}
	return f, nil
}

func (o *FloatOpt) defaultValue(func(string) (string, error)) (any, error) { return o.def, nil }

func (o *FloatOpt) sampleNotes() []string {
	var notes []string
	if o.min != nil {
		notes = append(notes, "Minimum value: "+pyFloat(*o.min))
	}
	if o.max != nil {
		notes = append(notes, "Maximum value: "+pyFloat(*o.max))
	}
	return notes
}

func (o *FloatOpt) sampleDefaults() []string { return []string{pyFloat(o.def)} }

// BoolOpt is a boolean option, declared with [Registry.Bool].
type BoolOpt struct {
	optBase
	def bool
}

// DeprecatedName registers an older section and name for the option; see
// [StringOpt.DeprecatedName]. It returns o for chaining.
func (o *BoolOpt) DeprecatedName(section, name string) *BoolOpt {
	o.deprecate(section, name)
	return o
}

func (o *BoolOpt) typeName() string { return "boolean value" }
func (o *BoolOpt) multi() bool      { return false }

func (o *BoolOpt) parse(raw string) (any, error) {
	switch strings.ToLower(raw) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return nil, errors.New("not a boolean (use true/false, yes/no, on/off or 1/0)")
}

func (o *BoolOpt) defaultValue(func(string) (string, error)) (any, error) { return o.def, nil }

func (o *BoolOpt) sampleNotes() []string { return nil }

func (o *BoolOpt) sampleDefaults() []string { return []string{strconv.FormatBool(o.def)} }

// ListOpt is a comma-separated list option, declared with [Registry.List].
type ListOpt struct {
	optBase
	def []string
}

// Secret marks the option's value as sensitive; see [StringOpt.Secret]. It
// returns o for chaining.
func (o *ListOpt) Secret() *ListOpt {
	o.setSecret()
	return o
}

// DeprecatedName registers an older section and name for the option; see
// [StringOpt.DeprecatedName]. It returns o for chaining.
func (o *ListOpt) DeprecatedName(section, name string) *ListOpt {
	o.deprecate(section, name)
	return o
}

func (o *ListOpt) typeName() string { return "list value" }
func (o *ListOpt) multi() bool      { return false }

func (o *ListOpt) parse(raw string) (any, error) {
	items := []string{}
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items, nil
}

func (o *ListOpt) defaultValue(expand func(string) (string, error)) (any, error) {
	return expandAll(o.def, expand)
}

func (o *ListOpt) sampleNotes() []string { return nil }

func (o *ListOpt) sampleDefaults() []string {
	return []string{quoteSpaces(strings.Join(o.def, ","))}
}

// MultiStringOpt is an option whose every occurrence adds a value, declared
// with [Registry.MultiString]. Values from all files are concatenated in
// load order.
type MultiStringOpt struct {
	optBase
	def []string
}

// Secret marks the option's values as sensitive; see [StringOpt.Secret]. It
// returns o for chaining.
func (o *MultiStringOpt) Secret() *MultiStringOpt {
	o.setSecret()
	return o
}

// DeprecatedName registers an older section and name for the option; see
// [StringOpt.DeprecatedName]. It returns o for chaining.
func (o *MultiStringOpt) DeprecatedName(section, name string) *MultiStringOpt {
	o.deprecate(section, name)
	return o
}

func (o *MultiStringOpt) typeName() string { return "multi valued" }
func (o *MultiStringOpt) multi() bool      { return true }

// parse converts one occurrence; the loader gathers them into a slice.
func (o *MultiStringOpt) parse(raw string) (any, error) { return raw, nil }

func (o *MultiStringOpt) defaultValue(expand func(string) (string, error)) (any, error) {
	return expandAll(o.def, expand)
}

func (o *MultiStringOpt) sampleNotes() []string { return nil }

func (o *MultiStringOpt) sampleDefaults() []string {
	if len(o.def) == 0 {
		return []string{""}
	}
	out := make([]string, len(o.def))
	for i, d := range o.def {
		out[i] = quoteSpaces(d)
	}
	return out
}

func expandAll(items []string, expand func(string) (string, error)) ([]string, error) {
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, err := expand(item)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func choiceNotes(choices []string) []string {
	if len(choices) == 0 {
		return nil
	}
	notes := []string{"Possible values:"}
	for _, c := range choices {
		if c == "" {
			c = "''"
		}
		notes = append(notes, c+" - <No description provided>")
	}
	return notes
}

// quoteSpaces quotes a sample default whose leading or trailing spaces would
// otherwise be lost, as oslo-config-generator does; the INI parser strips
// the quotes again when the line is uncommented.
func quoteSpaces(s string) string {
	if strings.TrimSpace(s) != s {
		return `"` + s + `"`
	}
	return s
}

// pyFloat formats f the way Python's str(float) does, so that interpolating
// a float option ($ratio) gives the same text as under oslo.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	// Python switches to exponent notation outside 1e-4 ≤ |f| < 1e16,
	// judged on the shortest decimal representation.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if f != 0 && (exp < -4 || exp >= 16) {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
