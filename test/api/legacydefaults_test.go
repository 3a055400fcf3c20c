package api_test

import (
	"path"
	"testing"
)

// TestLegacyDefaultsFindOnlyInScope: with [oslo_policy]
// enforce_new_defaults = false the deprecated get_ rules are or-ed in, and
// some let any user read (get_policy, get_security_group). Neutron still
// finds another project's object only when its database query's scope
// admits it, so a private one is 404 to other projects — on show, update
// and delete — while a shared one stays readable.
func TestLegacyDefaultsFindOnlyInScope(t *testing.T) {
	enginesWith(t, map[string]string{"oslo_policy.enforce_new_defaults": "false"}, func(t *testing.T, e *env) {
		private := e.do(admin, "POST", "/v2.0/qos/policies", map[string]any{"policy": map[string]any{"name": "the admin's"}}).
			expect(t, 201).obj(t, "policy")["id"].(string)
		shared := e.do(admin, "POST", "/v2.0/qos/policies", map[string]any{"policy": map[string]any{"name": "everyone's", "shared": true}}).
			expect(t, 201).obj(t, "policy")["id"].(string)
		group := e.do(member1, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "mine"}}).
			expect(t, 201).obj(t, "security_group")["id"].(string)

		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			fault              string
		}{
			{"another project's private policy", "GET", "/v2.0/qos/policies/" + private, nil, 404, "QosPolicyNotFound"},
			{"updating it", "PUT", "/v2.0/qos/policies/" + private, map[string]any{"policy": map[string]any{"description": "x"}}, 404, "QosPolicyNotFound"},
			{"deleting it", "DELETE", "/v2.0/qos/policies/" + private, nil, 404, "QosPolicyNotFound"},
			{"a shared policy", "GET", "/v2.0/qos/policies/" + shared, nil, 200, ""},
			{"another project's security group", "GET", "/v2.0/security-groups/" + group, nil, 404, "SecurityGroupNotFound"},
			{"updating it", "PUT", "/v2.0/security-groups/" + group, map[string]any{"security_group": map[string]any{"description": "x"}}, 404, "SecurityGroupNotFound"},
		} {
			r := e.do(member2, tc.method, tc.path, tc.body)
			if tc.fault != "" {
				r.fault(t, tc.status, tc.fault, path.Base(tc.path))
				continue
			}
			r.expect(t, tc.status)
		}
		// The owners still find theirs.
		e.do(admin, "GET", "/v2.0/qos/policies/"+private, nil).expect(t, 200)
		e.do(member1, "GET", "/v2.0/security-groups/"+group, nil).expect(t, 200)
	})
}
