package policy

import "testing"

// TestDecide checks when credentials alone decide a rule, whatever the
// target, and that a decided answer is Enforce's for any target.
func TestDecide(t *testing.T) {
	member := Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"member", "reader"}}
	admin := Credentials{UserID: "u2", ProjectID: "p9", Roles: []string{"admin", "member", "reader"}, IsAdmin: true}
	targets := []Target{nil, {"project_id": "p1", "shared": true}, {"project_id": "p2", "shared": false}}

	tests := []struct {
		name      string
		rule      string
		creds     Credentials
		want      bool
		wantKnown bool
	}{
		{"always", "@", member, true, true},
		{"never", "!", admin, false, true},
		{"role held", "role:admin", admin, true, true},
		{"role not held", "role:admin", member, false, true},
		{"role from target", "role:%(needed)s", admin, false, false},
		{"owner", "project_id:%(project_id)s", admin, false, false},
		{"literal credential", "is_admin:True", admin, true, true},
		{"field", "field:networks:shared=True", admin, false, false},
		{"or decided by a held role", "role:admin or project_id:%(project_id)s", admin, true, true},
		{"or undecided", "role:admin or project_id:%(project_id)s", member, false, false},
		{"or all known false", "role:admin or role:manager", member, false, true},
		{"and decided by a missing role", "role:admin and project_id:%(project_id)s", member, false, true},
		{"and undecided", "role:admin and project_id:%(project_id)s", admin, false, false},
		{"not", "not role:admin", member, true, true},
		{"not undecided", "not field:networks:shared=True", member, false, false},
		{"rule reference", "rule:helper", admin, true, true},
		{"rule reference undecided", "rule:owner", admin, false, false},
		{"unsupported", "http://example.com/check", admin, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := withRules(t, "t: "+yamlQuote(tt.rule)+"\nhelper: role:admin\nowner: project_id:%(project_id)s\n")
			got, defined, known := e.Decide("t", tt.creds)
			if !defined || known != tt.wantKnown || known && got != tt.want {
				t.Fatalf("Decide(%s) = %v, defined %v, known %v; want %v, known %v", tt.rule, got, defined, known, tt.want, tt.wantKnown)
			}
			if !known {
				return
			}
			for _, target := range targets {
				if enf := e.Enforce("t", target, tt.creds); enf != got {
					t.Errorf("Enforce(%s, %v) = %v, Decide said %v", tt.rule, target, enf, got)
				}
			}
		})
	}

	// An action without a rule is decided as Check decides it: by the
	// default rule, and reported undefined.
	e := withRules(t, "default: role:admin\n")
	if got, defined, known := e.Decide("get_thing:attr", admin); !got || defined || !known {
		t.Errorf("Decide(undefined) = %v, defined %v, known %v; want true, undefined, known", got, defined, known)
	}
}
