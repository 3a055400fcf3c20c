package policy

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// decisionsEqual compares two enforcers on every default rule (and an
// undefined action) for every persona and target used in the tests.
func decisionsEqual(t *testing.T, want, got *Enforcer) {
	t.Helper()
	personas := []Credentials{adminCreds, managerP1, memberP1, readerP1, memberP2, serviceCreds, noRoleP1, systemAdmin}
	targets := []Target{
		netP1, sharedNetP3, extNetP3, newInP1, childP1, childP2OnShared, routerPortP1,
		dhcpPortP2OnShared, childP2OnP1, sgRuleP1, sharedSG, qosRuleP1,
		{"project_id": "p1", "target_project": "*", "target_tenant": "*"}, {},
	}
	actions := []string{"no_such_action"}
	for _, r := range defaultRules {
		actions = append(actions, r.Name)
	}
	n := 0
	for _, p := range personas {
		wc, gc := as(want, p), as(got, p)
		if wc.IsAdmin != gc.IsAdmin {
			t.Fatalf("IsAdmin(%s) differs", p.UserID)
		}
		for _, tg := range targets {
			for _, a := range actions {
				w, wd := want.Check(a, tg, wc)
				g, gd := got.Check(a, tg, gc)
				if w != g || wd != gd {
					t.Errorf("%s by %s on %v: got %v/%v, want %v/%v", a, p.UserID, tg, g, gd, w, wd)
				}
				n++
			}
		}
	}
	t.Logf("compared %d decisions", n)
}

func TestWriteSample(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSample(&buf); err != nil {
		t.Fatal(err)
	}
	sample := buf.String()

	for _, want := range []string{
		"# Create a network\n# POST    /networks\n# Intended scope(s): project\n",
		`#"create_network": "(rule:admin_only) or (role:member and project_id:%(project_id)s)"` + "\n",
		`"rule:regular_user", was deprecated in Wallaby`,
		`renamed from "create_networks_tags" in 2025.1`,
		`#"regular_user": ""` + "\n",
		"# GET     /networks/{id}\n",
	} {
		if !strings.Contains(sample, want) {
			t.Errorf("sample lacks %q", want)
		}
	}
	for i, line := range strings.Split(sample, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("line %d is not commented out: %q", i+1, line)
		}
		if len(line) > sampleWidth && !strings.HasPrefix(line, `#"`) {
			t.Errorf("line %d is longer than %d columns: %q", i+1, sampleWidth, line)
		}
	}

	// As written, the sample is a valid policy file that changes nothing.
	dir := t.TempDir()
	for _, newDefaults := range []bool{true, false} {
		plain := mustNew(t, Options{EnforceNewDefaults: newDefaults, EnforceScope: true})
		p := writeFile(t, dir, "sample.yaml", sample)
		loaded := mustNew(t, Options{PolicyFile: p, EnforceNewDefaults: newDefaults, EnforceScope: true})
		decisionsEqual(t, plain, loaded)
	}

	// With every rule uncommented it spells out each default exactly and
	// yields the same decisions.
	uncommented := regexp.MustCompile(`(?m)^#(".*)$`).ReplaceAllString(sample, "$1")
	var rules map[string]string
	if err := yaml.Unmarshal([]byte(uncommented), &rules); err != nil {
		t.Fatalf("uncommented sample does not parse: %v", err)
	}
	if len(rules) != len(defaultRules) {
		t.Errorf("uncommented sample has %d rules, want %d", len(rules), len(defaultRules))
	}
	for _, r := range defaultRules {
		if got, ok := rules[r.Name]; !ok || got != r.CheckStr {
			t.Errorf("sample rule %q = %q, want %q", r.Name, got, r.CheckStr)
		}
	}
	p := writeFile(t, dir, "uncommented.yaml", uncommented)
	plain := mustNew(t, Options{EnforceNewDefaults: true, EnforceScope: true})
	loaded := mustNew(t, Options{PolicyFile: p, EnforceNewDefaults: true, EnforceScope: true})
	decisionsEqual(t, plain, loaded)
}
