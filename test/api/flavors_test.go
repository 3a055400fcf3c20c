package api_test

import (
	"path/filepath"
	"testing"
)

const singleNodeDriver = "neutron.services.l3_router.service_providers.single_node.SingleNodeDriver"

// TestFlavors drives flavors, service profiles and their bindings as
// neutron_tempest_plugin's test_flavors_extensions does, with Neutron's
// validations.
func TestFlavors(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		fl := e.do(admin, "POST", "/v2.0/flavors", map[string]any{"flavor": map[string]any{"name": "f",
			"description": "d", "service_type": "FLAVORS"}}).expect(t, 201).obj(t, "flavor")
		want := map[string]any{"name": "f", "description": "d", "service_type": "FLAVORS", "enabled": true}
		for k, v := range want {
			if fl[k] != v {
				t.Errorf("flavor %s = %v, want %v", k, fl[k], v)
			}
		}
		if sps, ok := fl["service_profiles"].([]any); !ok || len(sps) != 0 {
			t.Errorf("service_profiles = %v", fl["service_profiles"])
		}
		for _, k := range []string{"project_id", "tenant_id", "created_at", "revision_number"} {
			if _, ok := fl[k]; ok {
				t.Errorf("flavor shows %s: %v", k, fl)
			}
		}
		fid := fl["id"].(string)
		if got := e.do(admin, "PUT", "/v2.0/flavors/"+fid, map[string]any{"flavor": map[string]any{"enabled": false}}).
			expect(t, 200).obj(t, "flavor"); got["enabled"] != false {
			t.Errorf("updated flavor %v", got)
		}
		e.do(admin, "PUT", "/v2.0/flavors/"+fid, map[string]any{"flavor": map[string]any{"service_type": "L3_ROUTER_NAT"}}).expect(t, 400)
		if l := e.do(admin, "GET", "/v2.0/flavors?id=33", nil).expect(t, 200).list(t, "flavors"); len(l) != 0 {
			t.Errorf("flavors?id=33: %v", l)
		}
		// Readers see flavors; only admins change them.
		if l := e.do(member1, "GET", "/v2.0/flavors?id="+fid, nil).expect(t, 200).list(t, "flavors"); len(l) != 1 {
			t.Errorf("a member lists %v", l)
		}
		e.do(member1, "POST", "/v2.0/flavors", map[string]any{"flavor": map[string]any{"service_type": "FLAVORS"}}).expect(t, 403)
		e.do(admin, "POST", "/v2.0/flavors", map[string]any{"flavor": map[string]any{"service_type": "VPN"}}).
			fault(t, 400, "InvalidServiceType", "Invalid service type VPN.")
		e.do(admin, "POST", "/v2.0/flavors", map[string]any{"flavor": map[string]any{"name": "x"}}).expect(t, 400)

		// Service profiles.
		sp := e.do(admin, "POST", "/v2.0/service_profiles", map[string]any{"service_profile": map[string]any{
			"description": "sp", "driver": "", "metainfo": `{"data": "value"}`}}).expect(t, 201).obj(t, "service_profile")
		if sp["enabled"] != true || sp["metainfo"] != `{"data": "value"}` || sp["driver"] != "" || sp["description"] != "sp" {
			t.Errorf("service profile %v", sp)
		}
		spid := sp["id"].(string)
		e.do(admin, "POST", "/v2.0/service_profiles", map[string]any{"service_profile": map[string]any{}}).
			fault(t, 400, "ServiceProfileEmpty", "Service Profile needs either a driver or metainfo.")
		e.do(admin, "POST", "/v2.0/service_profiles", map[string]any{"service_profile": map[string]any{"driver": "no.such.Driver"}}).
			fault(t, 404, "ServiceProfileDriverNotFound", "Service Profile driver no.such.Driver could not be found.")
		e.do(member1, "GET", "/v2.0/service_profiles/"+spid, nil).expect(t, 404)

		// Bindings.
		bound := e.do(admin, "POST", "/v2.0/flavors/"+fid+"/service_profiles", map[string]any{"service_profile": map[string]any{
			"id": spid}}).expect(t, 201).obj(t, "service_profile")
		if bound["id"] != fid {
			t.Errorf("binding reply %v (Neutron shows the flavor's id)", bound)
		}
		e.do(admin, "POST", "/v2.0/flavors/"+fid+"/service_profiles", map[string]any{"service_profile": map[string]any{
			"id": spid}}).fault(t, 409, "FlavorServiceProfileBindingExists", "is already associated with flavor")
		e.do(admin, "POST", "/v2.0/flavors/"+fid+"/service_profiles", map[string]any{"service_profile": map[string]any{
			"id": "2f1a1a3c-3a51-4f5e-9a36-3a2b2b0a9d11"}}).fault(t, 404, "ServiceProfileNotFound", "2f1a1a3c")
		if got := e.do(admin, "GET", "/v2.0/flavors/"+fid, nil).expect(t, 200).obj(t, "flavor"); len(got["service_profiles"].([]any)) != 1 {
			t.Errorf("bound flavor %v", got)
		}
		e.do(admin, "GET", "/v2.0/flavors/"+fid+"/service_profiles/"+spid, nil).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/service_profiles/"+spid, map[string]any{"service_profile": map[string]any{"enabled": false}}).
			fault(t, 409, "ServiceProfileInUse", "is used by some service instance.")
		e.do(admin, "DELETE", "/v2.0/service_profiles/"+spid, nil).expect(t, 409)
		e.do(admin, "DELETE", "/v2.0/flavors/"+fid+"/service_profiles/"+spid, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/flavors/"+fid+"/service_profiles/"+spid, nil).
			fault(t, 404, "FlavorServiceProfileBindingNotFound", "Service Profile "+spid+" is not associated with flavor "+fid+".")
		e.do(admin, "PUT", "/v2.0/service_profiles/"+spid, map[string]any{"service_profile": map[string]any{"enabled": false}}).expect(t, 200)
		e.do(admin, "DELETE", "/v2.0/service_profiles/"+spid, nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/flavors/"+fid, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/flavors/"+fid, nil).fault(t, 404, "FlavorNotFound", "Flavor "+fid+" could not be found.")
	})
}

// TestRouterFlavors: routers take a flavor of L3_ROUTER_NAT whose profile
// names one of the L3 providers, as neutron_tempest_plugin's
// admin.test_routers_flavors does.
func TestRouterFlavors(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		// The L3 plugin's built-in providers are listed.
		provs := e.do(member1, "GET", "/v2.0/service-providers?service_type=L3_ROUTER_NAT", nil).expect(t, 200).list(t, "service_providers")
		if len(provs) != 4 {
			t.Errorf("L3 providers %v", provs)
		}
		sp := e.do(admin, "POST", "/v2.0/service_profiles", map[string]any{"service_profile": map[string]any{
			"driver": singleNodeDriver}}).expect(t, 201).obj(t, "service_profile")
		fl := e.do(admin, "POST", "/v2.0/flavors", map[string]any{"flavor": map[string]any{"name": "special",
			"service_type": "L3_ROUTER_NAT"}}).expect(t, 201).obj(t, "flavor")
		fid, spid := fl["id"].(string), sp["id"].(string)
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"flavor_id": fid}}).
			fault(t, 404, "FlavorServiceProfileBindingNotFound", "Service Profile  is not associated with flavor "+fid+".")
		e.do(admin, "POST", "/v2.0/flavors/"+fid+"/service_profiles", map[string]any{"service_profile": map[string]any{"id": spid}}).expect(t, 201)

		r := e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r", "flavor_id": fid}}).
			expect(t, 201).obj(t, "router")
		if r["flavor_id"] != fid {
			t.Errorf("router %v", r)
		}
		if plain := e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "p"}}).
			expect(t, 201).obj(t, "router"); plain["flavor_id"] != nil {
			t.Errorf("router without flavor shows flavor_id %v", plain["flavor_id"])
		}
		e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"flavor_id": fid, "distributed": true}}).
			fault(t, 400, "InvalidInput", "Provider single_node does not support distributed=True")
		e.do(member1, "PUT", "/v2.0/routers/"+r["id"].(string), map[string]any{"router": map[string]any{"flavor_id": fid}}).expect(t, 400)
		e.do(admin, "PUT", "/v2.0/routers/"+r["id"].(string), map[string]any{"router": map[string]any{"admin_state_up": false}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/routers/"+r["id"].(string), map[string]any{"router": map[string]any{"ha": true}}).
			fault(t, 400, "InvalidInput", "Changing the 'ha' and 'distributed' attributes on a router associated with a flavor is not supported")
		e.do(member1, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"flavor_id": "5d6e0a3c-3a51-4f5e-9a36-3a2b2b0a9d11"}}).
			fault(t, 404, "FlavorNotFound", "5d6e0a3c")
		e.do(admin, "DELETE", "/v2.0/flavors/"+fid, nil).fault(t, 409, "FlavorInUse", "Flavor "+fid+" is used by some service instance.")
		e.do(member1, "DELETE", "/v2.0/routers/"+r["id"].(string), nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/flavors/"+fid+"/service_profiles/"+spid, nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/flavors/"+fid, nil).expect(t, 204)
	})
}

// TestFlavorsPluginNotLoaded: without the flavors plugin, routers have
// no flavor_id and /v2.0/flavors is not served.
func TestFlavorsPluginNotLoaded(t *testing.T) {
	e := newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), map[string]string{"DEFAULT.service_plugins": "router"})
	e.do(nil, "GET", "/v2.0/flavors", nil).expect(t, 404)
	e.do(nil, "GET", "/v2.0/extensions/l3-flavors", nil).expect(t, 404)
	r := e.do(nil, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r"}}).expect(t, 201).obj(t, "router")
	if _, ok := r["flavor_id"]; ok {
		t.Errorf("router shows flavor_id: %v", r)
	}
}
