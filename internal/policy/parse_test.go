package policy

import (
	"path/filepath"
	"strings"
	"testing"
)

func testCompiler() *compiler {
	return &compiler{warn: func(string, string, ...any) {}}
}

func TestParsePrecedence(t *testing.T) {
	tests := []struct {
		rule string
		want string
	}{
		{"", "@"},
		{"@", "@"},
		{"!", "!"},
		{"role:a", "role:a"},
		{"((role:a))", "role:a"},
		{"role:a or role:b and role:c", "(role:a or (role:b and role:c))"},
		{"role:a and role:b or role:c", "((role:a and role:b) or role:c)"},
		{"(role:a or role:b) and role:c", "((role:a or role:b) and role:c)"},
		{"role:a and (role:b or role:c)", "(role:a and (role:b or role:c))"},
		{"not role:a and role:b", "(not role:a and role:b)"},
		{"not role:a or role:b", "(not role:a or role:b)"},
		{"not (role:a and role:b)", "not (role:a and role:b)"},
		{"role:a and not not role:b", "(role:a and not not role:b)"},
		{"role:a AND role:b Or NOT role:c", "((role:a and role:b) or not role:c)"},
		{"role:a or role:b or role:c", "(role:a or role:b or role:c)"},
		{"  role:a\tand\n role:b ", "(role:a and role:b)"},
		{
			"(rule:admin_only) or (role:member and project_id:%(project_id)s)",
			"(rule:admin_only or (role:member and project_id:%(project_id)s))",
		},
		{
			"not rule:network_device or (rule:admin_only) or (rule:service_api) or role:member and rule:network_owner",
			"(not rule:network_device or rule:admin_only or rule:service_api or (role:member and rule:network_owner))",
		},
		{"'member':%(role)s", "'member':%(role)s"},
		{`"member":%(role)s`, `"member":%(role)s`},
		{"field:port:device_owner=~^network:", "field:port:device_owner=~^network:"},
	}
	for _, tt := range tests {
		n, err := testCompiler().compile(tt.rule)
		if err != nil {
			t.Errorf("compile(%q): %v", tt.rule, err)
			continue
		}
		if got := n.String(); got != tt.want {
			t.Errorf("compile(%q) = %s, want %s", tt.rule, got, tt.want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		rule    string
		errPart string
	}{
		{"   ", "blank rule"},
		{"role:a and", "rule ends after"},
		{"role:a or", "rule ends after"},
		{"and role:a", `unexpected "and"`},
		{"(role:a", `missing ")"`},
		{"role:a)", `unexpected ")"`},
		{"()", `unexpected ")"`},
		{"role:a role:b", `unexpected "role:b"`},
		{"not", "rule ends after"},
		{"admin", "is not a check"},
		{"'quoted'", "quoted string"},
		{"role:a or 'x y'", "is not a check"},
		{"rule:", "names no rule"},
		{"project_id:%(project_id", "without a closing"},
		{"project_id:%()s", "empty %()s"},
		{"role:50%", "unsupported % directive"},
		{"user_id:%(id)d", "without a closing"},
		{"field:networks", "RESOURCE:ATTRIBUTE=VALUE"},
		{"field:networks:shared", "RESOURCE:ATTRIBUTE=VALUE"},
		{"field:port:device_owner=~(", "bad regular expression"},
	}
	for _, tt := range tests {
		_, err := testCompiler().compile(tt.rule)
		if err == nil {
			t.Errorf("compile(%q) succeeded, want error containing %q", tt.rule, tt.errPart)
			continue
		}
		if !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("compile(%q) = %v, want error containing %q", tt.rule, err, tt.errPart)
		}
	}
}

func TestParseQuotingAndLiterals(t *testing.T) {
	tests := []struct {
		kind string
		lit  string
		ok   bool
	}{
		{"True", "True", true},
		{"False", "False", true},
		{"None", "None", true},
		{"'member'", "member", true},
		{`"member"`, "member", true},
		{"42", "42", true},
		{"+7", "7", true},
		{"1.5", "1.5", true},
		{"2.0", "2.0", true},
		{"project_id", "", false},
		{"true", "", false}, // Python literals are case-sensitive
		{"'unterminated", "", false},
		{"inf", "", false},
	}
	for _, tt := range tests {
		lit, ok := pyLiteral(tt.kind)
		if ok != tt.ok || lit != tt.lit {
			t.Errorf("pyLiteral(%q) = %q, %v; want %q, %v", tt.kind, lit, ok, tt.lit, tt.ok)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	target := Target{"a": "x", "b": 2, "n": map[string]any{"m": "deep"}}
	tests := []struct {
		tmpl string
		want string
		ok   bool
	}{
		{"plain", "plain", true},
		{"%(a)s", "x", true},
		{"%(a)s-%(b)s", "x-2", true},
		{"100%%", "100%", true},
		{"%(n.m)s", "deep", true},
		{"%(missing)s", "", false},
		{"", "", true},
	}
	for _, tt := range tests {
		tm, err := parseTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("parseTemplate(%q): %v", tt.tmpl, err)
		}
		got, ok := tm.render(target)
		if got != tt.want || ok != tt.ok {
			t.Errorf("render(%q) = %q, %v; want %q, %v", tt.tmpl, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMalformedFileNamesRule(t *testing.T) {
	for _, name := range []string{"malformed.yaml", "cycle.yaml"} {
		_, err := New(Options{PolicyFile: filepath.Join("testdata", name), Logger: quiet()})
		if err == nil {
			t.Fatalf("New with %s succeeded", name)
		}
		t.Logf("%s: %v", name, err)
	}
	_, err := New(Options{PolicyFile: "testdata/malformed.yaml", Logger: quiet()})
	if !strings.Contains(err.Error(), `"broken_rule"`) || !strings.Contains(err.Error(), "malformed.yaml") {
		t.Errorf("error %q does not name the rule and the file", err)
	}
	_, err = New(Options{PolicyFile: "testdata/cycle.yaml", Logger: quiet()})
	if !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "a") {
		t.Errorf("error %q does not describe the cycle", err)
	}

	dir := t.TempDir()
	bad := map[string]string{
		"null.yaml":   `"get_network":` + "\n",
		"number.yaml": `"get_network": 1` + "\n",
		"list.yaml":   "- a\n- b\n",
		"bad.json":    `{"get_network": "role:a",}`,
	}
	for name, content := range bad {
		p := writeFile(t, dir, name, content)
		if _, err := New(Options{PolicyFile: p, Logger: quiet()}); err == nil {
			t.Errorf("New with %s succeeded", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}
