package api_test

import (
	"testing"
)

// TestServiceProviders: /v2.0/service-providers lists the configured
// providers, read-only, as Neutron's service-type extension does.
func TestServiceProviders(t *testing.T) {
	e := newEnv(t, "sqlite:///"+t.TempDir()+"/n.sqlite", map[string]string{
		"service_providers.service_provider": "L3_ROUTER_NAT:single_node:neutron.services.l3_router.service_providers.single_node.SingleNodeDriver:default",
	})
	// The operator's single_node replaces the router plugin's built-in
	// one; the other three built-ins stay, as in Neutron.
	got := e.do(member1, "GET", "/v2.0/service-providers", nil).expect(t, 200).list(t, "service_providers")
	if len(got) != 4 || got[0]["service_type"] != "L3_ROUTER_NAT" || got[0]["name"] != "single_node" || got[0]["default"] != true {
		t.Fatalf("service providers %v", got)
	}
	for _, p := range got[1:] {
		if p["service_type"] != "L3_ROUTER_NAT" || p["default"] != false || p["name"] == "single_node" {
			t.Errorf("built-in provider %v", p)
		}
	}
	if _, ok := got[0]["driver"]; ok {
		t.Errorf("the driver is shown: %v", got[0])
	}
	if n := len(e.do(member1, "GET", "/v2.0/service-providers?service_type=FIREWALL", nil).expect(t, 200).list(t, "service_providers")); n != 0 {
		t.Errorf("filter service_type=FIREWALL kept %d", n)
	}
	e.do(admin, "POST", "/v2.0/service-providers", map[string]any{"service_provider": map[string]any{}}).expect(t, 405)

	plain := newEnv(t, "sqlite:///"+t.TempDir()+"/p.sqlite", map[string]string{"DEFAULT.service_plugins": "segments"})
	if n := len(plain.do(member1, "GET", "/v2.0/service-providers", nil).expect(t, 200).list(t, "service_providers")); n != 0 {
		t.Errorf("%d providers without configuration or router plugin", n)
	}
	withRouter := newEnv(t, "sqlite:///"+t.TempDir()+"/r.sqlite", nil)
	if n := len(withRouter.do(member1, "GET", "/v2.0/service-providers", nil).expect(t, 200).list(t, "service_providers")); n != 4 {
		t.Errorf("%d providers with the router plugin, want its 4 built-in ones", n)
	}
}
