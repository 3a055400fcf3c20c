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
	got := e.do(member1, "GET", "/v2.0/service-providers", nil).expect(t, 200).list(t, "service_providers")
	if len(got) != 1 || got[0]["service_type"] != "L3_ROUTER_NAT" || got[0]["name"] != "single_node" || got[0]["default"] != true {
		t.Fatalf("service providers %v", got)
	}
	if _, ok := got[0]["driver"]; ok {
		t.Errorf("the driver is shown: %v", got[0])
	}
	if n := len(e.do(member1, "GET", "/v2.0/service-providers?service_type=FIREWALL", nil).expect(t, 200).list(t, "service_providers")); n != 0 {
		t.Errorf("filter service_type=FIREWALL kept %d", n)
	}
	e.do(admin, "POST", "/v2.0/service-providers", map[string]any{"service_provider": map[string]any{}}).expect(t, 405)

	plain := newEnv(t, "sqlite:///"+t.TempDir()+"/p.sqlite", nil)
	if n := len(plain.do(member1, "GET", "/v2.0/service-providers", nil).expect(t, 200).list(t, "service_providers")); n != 0 {
		t.Errorf("%d providers without configuration", n)
	}
}
