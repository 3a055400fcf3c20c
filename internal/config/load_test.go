package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestTypes(t *testing.T) {
	r := NewRegistry()
	str := func(name string) func(*Config) any {
		o := r.String("types", name, "default", "")
		return func(c *Config) any { return c.String(o) }
	}
	integer := func(name string) func(*Config) any {
		o := r.Int("types", name, -1, "")
		return func(c *Config) any { return c.Int(o) }
	}
	float := func(name string) func(*Config) any {
		o := r.Float("types", name, -1, "")
		return func(c *Config) any { return c.Float(o) }
	}
	boolean := func(name string, def bool) func(*Config) any {
		o := r.Bool("types", name, def, "")
		return func(c *Config) any { return c.Bool(o) }
	}
	list := func(name string) func(*Config) any {
		o := r.List("types", name, []string{"default"}, "")
		return func(c *Config) any { return c.List(o) }
	}
	choice := r.String("types", "str_choice", "legacy", "").Choices("legacy", "dvr", "dvr_snat")
	bounded := r.Int("types", "int_bounded", 5, "").Range(1, 10)
	port := r.Port("types", "port", 9696, "")
	multi := r.MultiString("types", "multi", []string{"default"}, "")
	unset := r.String("types", "unset", "the default", "")

	tests := []struct {
		name string
		get  func(*Config) any
		want any
	}{
		{"str", str("str"), "hello world"},
		{"str_double_quoted", str("str_double_quoted"), "  padded  "},
		{"str_single_quoted", str("str_single_quoted"), "single"},
		{"str_inner_quotes", str("str_inner_quotes"), `say "hi" now`},
		{"str_unbalanced_quote", str("str_unbalanced_quote"), `"open`},
		{"str_lone_quote", str("str_lone_quote"), ""},
		{"str_empty", str("str_empty"), ""},
		{"str_colon", str("str_colon"), "a: b = c"},
		{"str_equals_first", str("str_equals_first"), "a=b: c"},
		{"str_inline_hash", str("str_inline_hash"), "value # not a comment"},
		{"str_choice", func(c *Config) any { return c.String(choice) }, "dvr"},
		{"unset", func(c *Config) any { return c.String(unset) }, "the default"},
		{"int", integer("int"), 42},
		{"int_negative", integer("int_negative"), -7},
		{"int_plus", integer("int_plus"), 5},
		{"int_zero", integer("int_zero"), 0},
		{"int_empty", integer("int_empty"), -1},
		{"int_bounded", func(c *Config) any { return c.Int(bounded) }, 10},
		{"port", func(c *Config) any { return c.Int(port) }, 65535},
		{"float", float("float"), 2.5},
		{"float_exponent", float("float_exponent"), 1000.0},
		{"float_negative", float("float_negative"), -0.25},
		{"float_integral", float("float_integral"), 3.0},
		{"float_empty", float("float_empty"), -1.0},
		{"bool_true", boolean("bool_true", false), true},
		{"bool_upper", boolean("bool_upper", false), true},
		{"bool_yes", boolean("bool_yes", false), true},
		{"bool_on", boolean("bool_on", false), true},
		{"bool_one", boolean("bool_one", false), true},
		{"bool_false", boolean("bool_false", true), false},
		{"bool_no", boolean("bool_no", true), false},
		{"bool_off", boolean("bool_off", true), false},
		{"bool_zero", boolean("bool_zero", true), false},
		{"list", list("list"), []string{"a", "b", "c"}},
		{"list_empty_items", list("list_empty_items"), []string{"a", "b"}},
		{"list_empty", list("list_empty"), []string{}},
		{"list_single", list("list_single"), []string{"only"}},
		{"multi", func(c *Config) any { return c.MultiString(multi) }, []string{"one", "two"}},
	}
	c := mustLoad(t, r, []string{"testdata/types.conf"}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("value = %#v; want %#v", got, tt.want)
			}
		})
	}

	// Defaults still apply where the file is silent.
	if got, want := c.IsSet(unset), false; got != want {
		t.Errorf("IsSet(unset) = %v; want %v", got, want)
	}
	if got := c.Source(unset); got != "" {
		t.Errorf("Source(unset) = %q; want \"\"", got)
	}
	if got, want := c.Source(port), "testdata/types.conf:20"; got != want {
		t.Errorf("Source(port) = %q; want %q", got, want)
	}
	if got, want := c.Source(multi), "testdata/types.conf:40"; got != want {
		t.Errorf("Source(multi) = %q; want %q (the last value)", got, want)
	}
}

// invalidRegistry declares the options the testdata/invalid files misuse.
func invalidRegistry() *Registry {
	r := NewRegistry()
	r.Port("DEFAULT", "bind_port", 9696, "")
	r.Int("DEFAULT", "api_workers", 1, "").Min(1)
	r.Int("DEFAULT", "big", 0, "")
	r.Float("DEFAULT", "timeout", 10, "")
	r.Float("DEFAULT", "ratio", 0.5, "").Range(0, 1)
	r.Bool("DEFAULT", "debug", false, "")
	r.String("DEFAULT", "port_text", "", "")
	r.String("DEFAULT", "a", "", "")
	r.String("DEFAULT", "b", "", "")
	r.String("agent", "agent_mode", "legacy", "").Choices("legacy", "dvr", "dvr_snat")
	r.String("secrets", "token", "", "").Secret().Choices("0123", "4567")
	r.String("database", "connection", "", "").Secret()
	return r
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		// Values.
		{"int.conf", `config: testdata/invalid/int.conf:3: [DEFAULT] bind_port: invalid value "abc": not an integer`},
		{"int_fraction.conf", `config: testdata/invalid/int_fraction.conf:2: [DEFAULT] big: invalid value "1.5": not an integer`},
		{"int_overflow.conf", `config: testdata/invalid/int_overflow.conf:2: [DEFAULT] big: invalid value "99999999999999999999": integer out of range`},
		{"port_range.conf", `config: testdata/invalid/port_range.conf:2: [DEFAULT] bind_port: invalid value "70000": must be less than or equal to 65535`},
		{"int_min.conf", `config: testdata/invalid/int_min.conf:2: [DEFAULT] api_workers: invalid value "0": must be greater than or equal to 1`},
		{"float.conf", `config: testdata/invalid/float.conf:2: [DEFAULT] timeout: invalid value "fast": not a floating-point number`},
		{"float_range.conf", `config: testdata/invalid/float_range.conf:2: [DEFAULT] ratio: invalid value "1.5": must be less than or equal to 1.0`},
		{"bool.conf", `config: testdata/invalid/bool.conf:4: [DEFAULT] debug: invalid value "maybe": not a boolean (use true/false, yes/no, on/off or 1/0)`},
		{"bool_empty.conf", `config: testdata/invalid/bool_empty.conf:2: [DEFAULT] debug: invalid value "": not a boolean (use true/false, yes/no, on/off or 1/0)`},
		{"choice.conf", `config: testdata/invalid/choice.conf:2: [agent] agent_mode: invalid value "dvr_snat2": valid values are [legacy, dvr, dvr_snat]`},
		{"secret_choice.conf", `config: testdata/invalid/secret_choice.conf:4: [secrets] token: invalid value "****": valid values are [0123, 4567]`},
		{"secret_interpolated.conf", `config: testdata/invalid/secret_interpolated.conf:2: [DEFAULT] bind_port: invalid value "****": not an integer`},
		{"interpolated.conf", `config: testdata/invalid/interpolated.conf:2: [DEFAULT] bind_port: invalid value "abc" (from "$port_text"): not an integer`},

		// Interpolation.
		{"subst_unknown.conf", `config: testdata/invalid/subst_unknown.conf:2: [database] connection: cannot substitute "$nope": no option "nope" in [database] or [DEFAULT]`},
		{"subst_unknown_section.conf", `config: testdata/invalid/subst_unknown_section.conf:2: [DEFAULT] port_text: cannot substitute "${nosuch.opt}": no such option [nosuch] opt`},
		{"subst_section_name.conf", `config: testdata/invalid/subst_section_name.conf:2: [DEFAULT] port_text: cannot substitute "$database": no such option [DEFAULT] database`},
		{"subst_self.conf", `config: testdata/invalid/subst_self.conf:2: [DEFAULT] a: cannot substitute "$a": substitution cycle: [DEFAULT] a -> [DEFAULT] a`},
		{"subst_cycle.conf", `config: testdata/invalid/subst_cycle.conf:2: [DEFAULT] a: cannot substitute "$b": [DEFAULT] b has an invalid value` + "\n" +
			`config: testdata/invalid/subst_cycle.conf:3: [DEFAULT] b: cannot substitute "${a}": substitution cycle: [DEFAULT] a -> [DEFAULT] b -> [DEFAULT] a`},

		// Syntax.
		{"key_before_section.conf", `config: testdata/invalid/key_before_section.conf:2: key "bind_port" appears before any [section] header`},
		{"no_separator.conf", `config: testdata/invalid/no_separator.conf:2: no "=" or ":" in assignment`},
		{"empty_key.conf", `config: testdata/invalid/empty_key.conf:2: empty key`},
		{"unclosed_section.conf", `config: testdata/invalid/unclosed_section.conf:1: invalid section header "[DEFAULT": missing closing "]"`},
		{"empty_section.conf", `config: testdata/invalid/empty_section.conf:1: empty section name`},
		{"unexpected_continuation.conf", `config: testdata/invalid/unexpected_continuation.conf:4: unexpected continuation line (a line starting with whitespace must follow a key)`},
		{"leading_continuation.conf", `config: testdata/invalid/leading_continuation.conf:1: unexpected continuation line (a line starting with whitespace must follow a key)`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			// A valid file first shows that the error names the
			// file at fault, not the first one.
			c, err := invalidRegistry().Load([]string{"testdata/types.conf", "testdata/invalid/" + tt.file}, nil, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatalf("Load succeeded; want error %q", tt.want)
			}
			if c != nil {
				t.Errorf("Load returned a Config along with error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			var pe *ParseError
			var oe *OptionError
			if !errors.As(err, &pe) && !errors.As(err, &oe) {
				t.Errorf("error %T is neither a *ParseError nor an *OptionError", err)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	r := NewRegistry()
	name := r.String("DEFAULT", "name", "default", "")
	count := r.Int("DEFAULT", "count", 0, "")
	conn := r.String("database", "connection", "default", "")

	const (
		one  = "testdata/order/1.conf"
		two  = "testdata/order/2.conf"
		dir  = "testdata/order/conf.d"
		dir2 = "testdata/order/conf.d2"
	)
	tests := []struct {
		name        string
		files, dirs []string
		wantName    string
		wantCount   int
		wantConn    string
		countSource string
		wantFiles   []string
	}{{
		name:      "no files",
		wantName:  "default",
		wantConn:  "default",
		wantFiles: []string{},
	}, {
		name:        "one file",
		files:       []string{one},
		wantName:    "one",
		wantCount:   1,
		wantConn:    "from-1",
		countSource: one + ":3",
		wantFiles:   []string{one},
	}, {
		name:        "later file wins, and the last repeat within it",
		files:       []string{one, two},
		wantName:    "two-again",
		wantCount:   1,
		wantConn:    "from-1",
		countSource: one + ":3",
		wantFiles:   []string{one, two},
	}, {
		name:        "file order matters",
		files:       []string{two, one},
		wantName:    "one",
		wantCount:   1,
		wantConn:    "from-1",
		countSource: one + ":3",
		wantFiles:   []string{two, one},
	}, {
		name:        "dir after files, its files sorted, hidden and non-.conf skipped",
		files:       []string{one},
		dirs:        []string{dir},
		wantName:    "one",
		wantCount:   20,
		wantConn:    "from-1",
		countSource: dir + "/20-second.conf:2",
		wantFiles:   []string{one, dir + "/10-first.conf", dir + "/20-second.conf"},
	}, {
		name:        "dirs in the order given",
		files:       []string{one, two},
		dirs:        []string{dir2, dir},
		wantName:    "two-again",
		wantCount:   20,
		wantConn:    "from-conf.d2",
		countSource: dir + "/20-second.conf:2",
		wantFiles:   []string{one, two, dir2 + "/a.conf", dir + "/10-first.conf", dir + "/20-second.conf"},
	}, {
		name:        "dir only",
		dirs:        []string{dir},
		wantName:    "default",
		wantCount:   20,
		wantConn:    "default",
		countSource: dir + "/20-second.conf:2",
		wantFiles:   []string{dir + "/10-first.conf", dir + "/20-second.conf"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, r, tt.files, tt.dirs)
			if got := c.String(name); got != tt.wantName {
				t.Errorf("name = %q; want %q", got, tt.wantName)
			}
			if got := c.Int(count); got != tt.wantCount {
				t.Errorf("count = %d; want %d", got, tt.wantCount)
			}
			if got := c.String(conn); got != tt.wantConn {
				t.Errorf("connection = %q; want %q", got, tt.wantConn)
			}
			if got := c.Source(count); got != tt.countSource {
				t.Errorf("Source(count) = %q; want %q", got, tt.countSource)
			}
			if got := c.IsSet(count); got != (tt.countSource != "") {
				t.Errorf("IsSet(count) = %v; want %v", got, tt.countSource != "")
			}
			if got := c.Files(); !slices.Equal(got, tt.wantFiles) {
				t.Errorf("Files = %q; want %q", got, tt.wantFiles)
			}
		})
	}
}

func TestMultiString(t *testing.T) {
	r := NewRegistry()
	plugin := r.MultiString("DEFAULT", "plugin", []string{"default"}, "")
	const (
		one = "testdata/multi/1.conf"
		two = "testdata/multi/2.conf"
	)
	tests := []struct {
		name       string
		overrides  map[string]string
		files      []string
		want       []string
		wantSource string
	}{
		{"default", nil, nil, []string{"default"}, ""},
		{"repeats in one file accumulate", nil, []string{one}, []string{"a", "b"}, one + ":5"},
		{"files concatenate in order", nil, []string{one, two}, []string{"a", "b", "c"}, two + ":2"},
		{"reverse order", nil, []string{two, one}, []string{"c", "a", "b"}, one + ":5"},
		{"override replaces the default", map[string]string{"DEFAULT.plugin": "o"}, nil, []string{"o"}, "override"},
		{"files replace the override", map[string]string{"DEFAULT.plugin": "o"}, []string{two}, []string{"c"}, two + ":2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := r.LoadWithDefaults(tt.overrides, tt.files, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.MultiString(plugin); !slices.Equal(got, tt.want) {
				t.Errorf("MultiString = %q; want %q", got, tt.want)
			}
			if got := c.Source(plugin); got != tt.wantSource {
				t.Errorf("Source = %q; want %q", got, tt.wantSource)
			}
		})
	}
}

func TestInterpolation(t *testing.T) {
	r := NewRegistry()
	r.String("DEFAULT", "state_path", "/var/lib/neutron", "")
	lockPath := r.String("oslo_concurrency", "lock_path", "$state_path/lock", "")
	r.String("DEFAULT", "host", "", "")
	greeting := r.String("DEFAULT", "greeting", "", "")
	money := r.String("DEFAULT", "money", "", "")
	notNames := r.String("DEFAULT", "not_names", "", "")
	r.Port("DEFAULT", "bind_port", 9696, "")
	r.Bool("DEFAULT", "debug", false, "")
	r.List("DEFAULT", "plugins", []string{"router", "it's"}, "")
	r.Float("DEFAULT", "ratio", 0.5, "")
	portText := r.String("DEFAULT", "port_text", "", "")
	boolText := r.String("DEFAULT", "bool_text", "", "")
	listText := r.String("DEFAULT", "list_text", "", "")
	floatText := r.String("DEFAULT", "float_text", "", "")
	dirs := r.List("DEFAULT", "dirs", []string{"$state_path/a", "${state_path}/b"}, "")
	conn := r.String("database", "connection", "", "")
	r.String("database", "host", "", "")
	where := r.String("database", "where", "", "")
	r.Int("DEFAULT", "base_interval", 30, "")
	interval := r.Int("agent", "report_interval", 0, "")
	label := r.String("agent", "label", "", "")

	tests := []struct {
		name string
		get  func(*Config) any
		want any
	}{
		{"cross-file", func(c *Config) any { return c.String(conn) }, "sqlite:////srv/neutron/neutron.db"},
		{"default is interpolated", func(c *Config) any { return c.String(lockPath) }, "/srv/neutron/lock"},
		{"list default is interpolated", func(c *Config) any { return c.List(dirs) }, []string{"/srv/neutron/a", "/srv/neutron/b"}},
		{"braces", func(c *Config) any { return c.String(greeting) }, "hello node1"},
		{"escapes", func(c *Config) any { return c.String(money) }, "$5 and $6"},
		{"not names", func(c *Config) any { return c.String(notNames) }, "cost: $ 5, ${not-a-name}, $-x, trailing $"},
		{"int as text", func(c *Config) any { return c.String(portText) }, "9696"},
		{"bool as Python text", func(c *Config) any { return c.String(boolText) }, "False"},
		{"list as Python text", func(c *Config) any { return c.String(listText) }, `['router', "it's"]`},
		{"float as Python text", func(c *Config) any { return c.String(floatText) }, "0.5"},
		{"own section first", func(c *Config) any { return c.String(where) }, "db-host from node1"},
		{"into an int", func(c *Config) any { return c.Int(interval) }, 30},
		{"other section", func(c *Config) any { return c.String(label) }, "db-host:node1"},
	}
	c := mustLoad(t, r, []string{"testdata/interp/base.conf", "testdata/interp/state.conf"}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("value = %#v; want %#v", got, tt.want)
			}
		})
	}

	// With no files, defaults interpolate defaults.
	if got, want := r.Defaults().String(lockPath), "/var/lib/neutron/lock"; got != want {
		t.Errorf("Defaults().String(lock_path) = %q; want %q", got, want)
	}
}

func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {1e6, "1000000.0"}, {123456789.125, "123456789.125"},
		{1e16, "1e+16"}, {1.5e-5, "1.5e-05"}, {0.0001, "0.0001"},
	}
	for _, tt := range tests {
		if got := pyFloat(tt.in); got != tt.want {
			t.Errorf("pyFloat(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnknownAndNoEffectLoggedOnce(t *testing.T) {
	r := NewRegistry()
	r.Int("DEFAULT", "known", 0, "")
	r.NoEffect("DEFAULT", "api_extensions_path", "extensions are built in")
	r.NoEffectSection("keystone_authtoken", "not used")
	rec, logger := newRecorder()
	if _, err := r.Load([]string{"testdata/unknown/1.conf", "testdata/unknown/2.conf"}, nil, logger); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"WARN unknown config option ignored file=testdata/unknown/1.conf line=3 section=DEFAULT option=typo_option",
		"WARN config option has no effect in Neutrino file=testdata/unknown/1.conf line=5 section=DEFAULT option=api_extensions_path reason=extensions are built in",
		"WARN unknown config section ignored file=testdata/unknown/1.conf line=8 section=nosuchsection option=a",
		"WARN unknown config section ignored file=testdata/unknown/1.conf line=9 section=nosuchsection option=b",
		"WARN config option has no effect in Neutrino file=testdata/unknown/1.conf line=13 section=keystone_authtoken option=auth_url reason=not used",
		"WARN unknown config section ignored file=testdata/unknown/1.conf line=16 section=default option=known",
	}
	if got := rec.lines(); !slices.Equal(got, want) {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeprecatedNames(t *testing.T) {
	r := NewRegistry()
	maxBody := r.Int("oslo_middleware", "max_request_body_size", 114688, "").
		DeprecatedName("DEFAULT", "max_request_body_size")
	hooks := r.MultiString("hooks", "hook", nil, "").DeprecatedName("DEFAULT", "hook")
	const (
		old   = "testdata/deprecated/old.conf"
		both  = "testdata/deprecated/both.conf"
		newer = "testdata/deprecated/new.conf"
	)
	tests := []struct {
		name       string
		files      []string
		want       int
		wantSource string
		wantHooks  []string
		wantLog    []string
	}{{
		name: "unset",
		want: 114688,
	}, {
		name:       "old name used when the new one is not set",
		files:      []string{old},
		want:       1000,
		wantSource: old + ":2",
		wantHooks:  []string{"old"},
		wantLog: []string{
			"WARN deprecated config option name; use the new name file=" + old + " line=2 section=DEFAULT option=max_request_body_size new_section=oslo_middleware new_option=max_request_body_size",
			"WARN deprecated config option name; use the new name file=" + old + " line=3 section=DEFAULT option=hook new_section=hooks new_option=hook",
		},
	}, {
		name:       "new name wins within a file",
		files:      []string{both},
		want:       2000,
		wantSource: both + ":6",
		wantHooks:  []string{"old", "new"},
		wantLog: []string{
			"WARN deprecated config option name; use the new name file=" + both + " line=2 section=DEFAULT option=max_request_body_size new_section=oslo_middleware new_option=max_request_body_size",
			"WARN deprecated config option name; use the new name file=" + both + " line=3 section=DEFAULT option=hook new_section=hooks new_option=hook",
		},
	}, {
		name:       "a later file wins whatever name it uses, as in oslo",
		files:      []string{newer, old},
		want:       1000,
		wantSource: old + ":2",
		wantHooks:  []string{"old"},
		wantLog: []string{
			"WARN deprecated config option name; use the new name file=" + old + " line=2 section=DEFAULT option=max_request_body_size new_section=oslo_middleware new_option=max_request_body_size",
			"WARN deprecated config option name; use the new name file=" + old + " line=3 section=DEFAULT option=hook new_section=hooks new_option=hook",
		},
	}, {
		name:       "logged once however often used",
		files:      []string{old, old, newer},
		want:       3000,
		wantSource: newer + ":2",
		wantHooks:  []string{"old", "old"},
		wantLog: []string{
			"WARN deprecated config option name; use the new name file=" + old + " line=2 section=DEFAULT option=max_request_body_size new_section=oslo_middleware new_option=max_request_body_size",
			"WARN deprecated config option name; use the new name file=" + old + " line=3 section=DEFAULT option=hook new_section=hooks new_option=hook",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, logger := newRecorder()
			c, err := r.Load(tt.files, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Int(maxBody); got != tt.want {
				t.Errorf("max_request_body_size = %d; want %d", got, tt.want)
			}
			if got := c.Source(maxBody); got != tt.wantSource {
				t.Errorf("Source = %q; want %q", got, tt.wantSource)
			}
			if got := c.MultiString(hooks); !slices.Equal(got, tt.wantHooks) {
				t.Errorf("hooks = %q; want %q", got, tt.wantHooks)
			}
			if got := rec.lines(); !slices.Equal(got, tt.wantLog) {
				t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantLog, "\n"))
			}
		})
	}
}

func TestLoadWithDefaults(t *testing.T) {
	r := NewRegistry()
	r.String("DEFAULT", "state_path", "/var/lib/neutron", "")
	workers := r.Int("DEFAULT", "api_workers", 0, "")
	conn := r.String("database", "connection", "", "")
	name := r.String("DEFAULT", "name", "server", "")

	overrides := map[string]string{
		"api_workers":         "4",
		"Database.connection": "sqlite:///$state_path/aio.db",
		"DEFAULT.name":        "all-in-one",
	}
	tests := []struct {
		name       string
		files      []string
		opt        Opt
		get        func(*Config) any
		want       any
		wantSource string
	}{
		{"override without a section", nil, workers, func(c *Config) any { return c.Int(workers) }, 4, "override"},
		{"override is interpolated", nil, conn, func(c *Config) any { return c.String(conn) }, "sqlite:////var/lib/neutron/aio.db", "override"},
		{"override replaces the default", nil, name, func(c *Config) any { return c.String(name) }, "all-in-one", "override"},
		{"file beats override", []string{"testdata/order/1.conf"}, name, func(c *Config) any { return c.String(name) }, "one", "testdata/order/1.conf:2"},
		{"override kept when the file is silent", []string{"testdata/order/1.conf"}, workers, func(c *Config) any { return c.Int(workers) }, 4, "override"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := r.LoadWithDefaults(overrides, tt.files, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); got != tt.want {
				t.Errorf("value = %v; want %v", got, tt.want)
			}
			if got := c.Source(tt.opt); got != tt.wantSource {
				t.Errorf("Source = %q; want %q", got, tt.wantSource)
			}
			if !c.IsSet(tt.opt) {
				t.Errorf("IsSet = false; want true")
			}
		})
	}

	errTests := []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"DEFAULT.nope": "1"}, `config: override "DEFAULT.nope": no such option`},
		{map[string]string{"api_workers": "many"}, `config: override: [DEFAULT] api_workers: invalid value "many": not an integer`},
	}
	for _, tt := range errTests {
		if _, err := r.LoadWithDefaults(tt.overrides, nil, nil, nil); err == nil || err.Error() != tt.want {
			t.Errorf("LoadWithDefaults(%v) error = %v; want %s", tt.overrides, err, tt.want)
		}
	}
}

func TestMissing(t *testing.T) {
	r := NewRegistry()
	tests := []struct {
		name        string
		files, dirs []string
		want        string
		notExist    bool
	}{
		{"missing file", []string{"testdata/types.conf", "testdata/nope.conf"}, nil,
			"config: reading config file: open testdata/nope.conf: no such file or directory", true},
		{"missing dir", nil, []string{"testdata/nope.d"},
			"config: reading config dir: stat testdata/nope.d: no such file or directory", true},
		{"dir is a file", nil, []string{"testdata/types.conf"},
			"config: reading config dir: testdata/types.conf: not a directory", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Load(tt.files, tt.dirs, nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v; want %s", err, tt.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v; want %v", got, tt.notExist)
			}
		})
	}
}

func TestDefaultsPanicsOnBadDefault(t *testing.T) {
	r := NewRegistry()
	r.String("DEFAULT", "lock_path", "$nope/lock", "")
	mustPanic(t, `config: default value: [DEFAULT] lock_path: cannot substitute "$nope": no such option [DEFAULT] nope`, func() { r.Defaults() })
}

func TestRegistrationPanics(t *testing.T) {
	tests := []struct {
		name string
		want string
		f    func(r *Registry)
	}{
		{"duplicate", "config: [DEFAULT] a declared twice (already an option)", func(r *Registry) {
			r.String("DEFAULT", "a", "", "")
			r.Int("DEFAULT", "a", 0, "")
		}},
		{"duplicate with section case", "config: [db] a declared twice", func(r *Registry) {
			r.String("db", "a", "", "")
			r.String("DB", "a", "", "")
		}},
		{"deprecated name of an option", "config: [DEFAULT] a declared twice (already an option)", func(r *Registry) {
			r.String("DEFAULT", "a", "", "")
			r.String("new", "a", "", "").DeprecatedName("DEFAULT", "a")
		}},
		{"option over a deprecated name", "config: [DEFAULT] a declared twice (already a deprecated name of [new] a)", func(r *Registry) {
			r.String("new", "a", "", "").DeprecatedName("DEFAULT", "a")
			r.String("DEFAULT", "a", "", "")
		}},
		{"ignored", "config: [DEFAULT] a declared twice (already an option with no effect)", func(r *Registry) {
			r.NoEffect("DEFAULT", "a", "")
			r.Bool("DEFAULT", "a", false, "")
		}},
		{"lower-case default", `the default section is spelled "DEFAULT"`, func(r *Registry) { r.Bool("default", "a", false, "") }},
		{"empty section", `invalid section name ""`, func(r *Registry) { r.Bool("", "a", false, "") }},
		{"empty name", `invalid option name ""`, func(r *Registry) { r.Bool("DEFAULT", "", false, "") }},
		{"name with =", `invalid option name "a=b"`, func(r *Registry) { r.Bool("DEFAULT", "a=b", false, "") }},
		{"name like a comment", `invalid option name "#a"`, func(r *Registry) { r.Bool("DEFAULT", "#a", false, "") }},
		{"default not a choice", `default "x" is not one of the choices`, func(r *Registry) { r.String("DEFAULT", "a", "x", "").Choices("y") }},
		{"no choices", "Choices needs at least one value", func(r *Registry) { r.String("DEFAULT", "a", "", "").Choices() }},
		{"default below min", "default 0 is less than the minimum 1", func(r *Registry) { r.Int("DEFAULT", "a", 0, "").Range(1, 2) }},
		{"default above max", "default 3 is greater than the maximum 2", func(r *Registry) { r.Int("DEFAULT", "a", 3, "").Max(2) }},
		{"min above max", "min greater than max", func(r *Registry) { r.Float("DEFAULT", "a", 0, "").Range(1, 0) }},
		{"port default", "default 70000 is greater than the maximum 65535", func(r *Registry) { r.Port("DEFAULT", "a", 70000, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, tt.want, func() { tt.f(NewRegistry()) })
		})
	}
}

func TestForeignOptionPanics(t *testing.T) {
	c := NewRegistry().Defaults()
	other := NewRegistry().String("DEFAULT", "a", "", "")
	mustPanic(t, "config: option [DEFAULT] a is not part of this Config", func() { c.String(other) })
}

func TestReturnedSlicesAreCopies(t *testing.T) {
	r := NewRegistry()
	l := r.List("DEFAULT", "l", []string{"a"}, "")
	m := r.MultiString("DEFAULT", "m", []string{"a"}, "")
	c := r.Defaults()
	c.List(l)[0] = "changed"
	c.MultiString(m)[0] = "changed"
	if got := c.List(l); got[0] != "a" {
		t.Errorf("List after modifying a returned slice = %q", got)
	}
	if got := c.MultiString(m); got[0] != "a" {
		t.Errorf("MultiString after modifying a returned slice = %q", got)
	}
}

// TestConcurrentReads is meaningful under the race detector.
func TestConcurrentReads(t *testing.T) {
	r := NewRegistry()
	port := r.Port("types", "port", 1, "")
	list := r.List("types", "list", nil, "")
	c := mustLoad(t, r, []string{"testdata/types.conf"}, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if c.Int(port) != 65535 || len(c.List(list)) != 3 || !c.IsSet(port) {
					t.Error("unexpected value")
					return
				}
			}
		})
	}
	// Loading again concurrently must not disturb existing Configs.
	wg.Go(func() { mustLoad(t, r, nil, nil) })
	wg.Wait()
}

func TestLogValuesMasksSecrets(t *testing.T) {
	r := NewRegistry()
	r.String("database", "connection", "", "").Secret()
	r.Port("DEFAULT", "bind_port", 9696, "")
	// Interpolating a secret makes the result secret too.
	r.String("DEFAULT", "summary", "db=${database.connection}", "")
	c := r.Defaults()
	c2, err := r.LoadWithDefaults(map[string]string{"database.connection": "mysql://u:hunter2@db/neutron"}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Config{c, c2} {
		rec, logger := newRecorder()
		c.LogValues(t.Context(), logger, slog.LevelInfo)
		got := strings.Join(rec.lines(), "\n")
		if strings.Contains(got, "hunter2") {
			t.Errorf("secret logged:\n%s", got)
		}
		for _, want := range []string{
			"INFO configuration option section=database option=connection value=**** source=",
			"INFO configuration option section=DEFAULT option=bind_port value=9696 source=",
			"INFO configuration option section=DEFAULT option=summary value=**** source=",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("log lacks %q:\n%s", want, got)
			}
		}
	}
}
