package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/reqctx"
)

// TestNoAuthImpliedRoles: noauth identity headers get Keystone's default
// implied roles (admin ⇒ member ⇒ reader), as a Keystone token lists them.
func TestNoAuthImpliedRoles(t *testing.T) {
	for _, c := range []struct {
		header string // X-Roles; "-" sends no identity headers at all
		want   []string
	}{
		{"-", []string{"admin", "member", "reader"}},
		{"admin", []string{"admin", "member", "reader"}},
		{"member", []string{"member", "reader"}},
		{"Member, load-balancer_member", []string{"member", "reader", "load-balancer_member"}},
		{"reader", []string{"reader"}},
		{"reader,member,reader", []string{"reader", "member"}},
		{"service", []string{"service"}},
	} {
		var got *reqctx.Caller
		h := NoAuth(func(c *reqctx.Caller) bool { return slices.Contains(c.Roles, "admin") })(
			http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = reqctx.CallerFrom(r.Context()) }))
		req := httptest.NewRequest("GET", "/v2.0/networks", nil)
		if c.header != "-" {
			req.Header.Set("X-Project-Id", "p1")
			req.Header.Set("X-Roles", c.header)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got == nil {
			t.Fatalf("X-Roles %q: no caller", c.header)
		}
		if !slices.Equal(got.Roles, c.want) {
			t.Errorf("X-Roles %q: roles %v, want %v", c.header, got.Roles, c.want)
		}
		if admin := slices.Contains(c.want, "admin"); got.IsAdmin != admin {
			t.Errorf("X-Roles %q: is_admin %v", c.header, got.IsAdmin)
		}
	}
}
