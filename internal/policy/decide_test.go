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

// TestCheckKnown checks, over Neutron's default port rules in both modes,
// that an answer CheckKnown gives without the network's facts is Check's
// whatever those facts turn out to be, and that the common case, a member
// reading its own project's port, needs none of them.
func TestCheckKnown(t *testing.T) {
	networkKeys := map[string]bool{"network:project_id": true, "network:tenant_id": true, "shared": true,
		"router:external": true, "network:shared": true, "network:router:external": true}
	unknown := func(k string) bool { return networkKeys[k] }
	actions := []string{"get_port", "get_port:binding:vif_type", "get_port:binding:vif_details", "get_port:binding:host_id",
		"get_port:binding:profile", "get_port:resource_request", "update_port", "get_port:no_such_attr"}
	ports := []Target{
		{"id": "port1", "project_id": "p1", "tenant_id": "p1", "network_id": "n1", "device_owner": ""},
		{"id": "port2", "project_id": "p2", "tenant_id": "p2", "network_id": "n1", "device_owner": "network:dhcp"},
	}
	networks := []Target{
		{"network:project_id": "p1", "network:tenant_id": "p1", "shared": false, "router:external": false, "network:shared": false, "network:router:external": false},
		{"network:project_id": "p2", "network:tenant_id": "p2", "shared": true, "router:external": false, "network:shared": true, "network:router:external": false},
		{"network:project_id": "p3", "network:tenant_id": "p3", "shared": false, "router:external": true, "network:shared": false, "network:router:external": true},
	}
	for _, newDefaults := range []bool{true, false} {
		e := mustNew(t, Options{EnforceNewDefaults: newDefaults, EnforceScope: newDefaults})
		for _, c := range []Credentials{memberP1, readerP1, memberP2, managerP1, noRoleP1, serviceCreds, adminCreds} {
			c = as(e, c)
			for _, port := range ports {
				for _, action := range actions {
					got, defined, known := e.CheckKnown(action, port, c, unknown)
					for _, n := range networks {
						full := Target{}
						for k, v := range port {
							full[k] = v
						}
						for k, v := range n {
							full[k] = v
						}
						want, wantDefined := e.Check(action, full, c)
						if defined != wantDefined {
							t.Errorf("new defaults %v, %s as %s on %s: defined %v, Check's %v", newDefaults, action, c.UserID, port["id"], defined, wantDefined)
						}
						if known && got != want {
							t.Errorf("new defaults %v, %s as %s on %s, network of %s: CheckKnown said %v, Check %v",
								newDefaults, action, c.UserID, port["id"], n["network:project_id"], got, want)
						}
					}
					if action == "get_port" && c.UserID == memberP1.UserID && port["project_id"] == "p1" && !(known && got) {
						t.Errorf("new defaults %v: a member's own port needs its network's facts (allowed %v, known %v)", newDefaults, got, known)
					}
				}
			}
		}
	}
}

// TestDecideAll checks that DecideAll answers as Decide does for each
// action, and is unknown as soon as one is.
func TestDecideAll(t *testing.T) {
	actions := []string{"get_port", "get_port:binding:vif_type", "get_port:binding:host_id", "get_port:no_such_attr", "get_network"}
	for _, newDefaults := range []bool{true, false} {
		e := mustNew(t, Options{EnforceNewDefaults: newDefaults, EnforceScope: newDefaults})
		for _, c := range []Credentials{adminCreds, memberP1, serviceCreds, systemAdmin, noRoleP1} {
			c = as(e, c)
			allowed, defined := make([]bool, len(actions)), make([]bool, len(actions))
			known := e.DecideAll(actions, c, allowed, defined)
			wantKnown := true
			for i, a := range actions {
				wa, wd, wk := e.Decide(a, c)
				wantKnown = wantKnown && wk
				if wantKnown && (allowed[i] != wa || defined[i] != wd) {
					t.Errorf("new defaults %v, %s, %s: DecideAll %v/%v, Decide %v/%v", newDefaults, c.UserID, a, allowed[i], defined[i], wa, wd)
				}
			}
			if known != wantKnown {
				t.Errorf("new defaults %v, %s: DecideAll known %v, want %v", newDefaults, c.UserID, known, wantKnown)
			}
		}
	}
}
