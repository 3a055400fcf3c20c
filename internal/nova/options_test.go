package nova

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/config"
)

func TestOptionsFrom(t *testing.T) {
	password := map[string]string{"nova.auth_type": "password", "nova.auth_url": "http://keystone:5000/v3",
		"nova.username": "nova", "nova.password": "secret", "nova.project_name": "service",
		"nova.user_domain_name": "Default"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		set     map[string]string
		enabled bool
		err     string // part of the refusal
	}{
		{"unset", nil, false, ""},
		{"none", map[string]string{"nova.auth_type": "none", "nova.endpoint": "http://nova:8774/v2.1"}, true, ""},
		{"none via override", map[string]string{"nova.auth_type": "none", "nova.endpoint_override": "http://nova:8774/v2.1"}, true, ""},
		{"none without endpoint", map[string]string{"nova.auth_type": "none"}, false, "[nova] endpoint"},
		{"bad endpoint", map[string]string{"nova.auth_type": "none", "nova.endpoint": "nova:8774"}, false, "[nova] endpoint"},
		{"password", password, true, ""},
		{"password, both notifications off", with(with(password, "DEFAULT.notify_nova_on_port_status_changes", "false"),
			"DEFAULT.notify_nova_on_port_data_changes", "false"), false, ""},
		{"password without user", with(password, "nova.username", ""), false, "[nova] username"},
		{"password without domain", with(password, "nova.user_domain_name", ""), false, "[nova] user_domain_name"},
		{"password, bad auth_url", with(password, "nova.auth_url", "keystone"), false, "[nova] auth_url"},
		{"token", map[string]string{"nova.auth_type": "token"}, false, "[nova] auth_type"},
		{"bad endpoint_type", with(password, "nova.endpoint_type", "private"), false, "endpoint_type"},
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Options.LoadWithDefaults(tc.set, nil, nil, logger)
			if err == nil {
				var o Options
				o, err = OptionsFrom(cfg, logger)
				if err == nil && o.Enabled() != tc.enabled {
					t.Fatalf("Enabled() = %v, want %v", o.Enabled(), tc.enabled)
				}
			}
			if tc.err == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want one naming %s", err, tc.err)
			}
		})
	}
}
