package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

func TestQuotas(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		p := member1.project
		q := e.do(admin, "GET", "/v2.0/quotas/"+p, nil).expect(t, 200).obj(t, "quota")
		for name, want := range map[string]float64{"network": 100, "subnet": 100, "port": 500, "router": 10,
			"floatingip": 50, "security_group": 10, "security_group_rule": 100, "subnetpool": -1, "rbac_policy": 10} {
			if q[name] != want {
				t.Errorf("default %s = %v, want %v", name, q[name], want)
			}
		}
		// A project reads its own quota without the admin role.
		e.do(member1, "GET", "/v2.0/quotas/"+p, nil).expect(t, 200)
		e.do(member2, "GET", "/v2.0/quotas/"+p, nil).fault(t, 403, "PolicyNotAuthorized", "get_quota")
		e.do(member1, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 50}}).
			fault(t, 403, "PolicyNotAuthorized", "update_quota")

		up := e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 2}}).
			expect(t, 200).obj(t, "quota")
		if up["network"] != float64(2) || up["subnet"] != float64(100) {
			t.Fatalf("updated quota %v", up)
		}
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"bogus": 2}}).
			fault(t, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'")
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": -5}}).
			fault(t, 400, "HTTPBadRequest", "is not in range -1 through")

		// A bulk that would exceed the quota creates nothing.
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"networks": []any{
			map[string]any{"name": "a"}, map[string]any{"name": "b"}, map[string]any{"name": "c"}}}).
			fault(t, 409, "OverQuota", "Quota exceeded for resources: ['network'].")
		e.createNetwork(member1, map[string]any{"name": "q1"})
		e.createNetwork(member1, map[string]any{"name": "q2"})
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "q3"}}).
			fault(t, 409, "OverQuota", "['network']")
		// Other projects are not affected.
		e.createNetwork(member2, map[string]any{"name": "other"})

		d := e.do(member1, "GET", "/v2.0/quotas/"+p+"/details", nil).expect(t, 200).obj(t, "quota")
		if nd := d["network"].(map[string]any); nd["used"] != float64(2) || nd["limit"] != float64(2) || nd["reserved"] != float64(0) {
			t.Errorf("details %v", nd)
		}
		// A limit below what is used is accepted, as in Neutron; with
		// check_limit (quota-check-limit) it is refused, one exactly at
		// the usage is not.
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 1}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 2, "check_limit": true}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 1, "check_limit": true}}).
			fault(t, 400, "HTTPBadRequest", "Quota limit 1 for network must be greater than or equal to already used 2")
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 1, "check_limit": "yes"}}).
			fault(t, 400, "HTTPBadRequest", "Quota limit 1 for network must be greater than or equal to already used 2")
		if q := e.do(admin, "GET", "/v2.0/quotas/"+p, nil).expect(t, 200).obj(t, "quota"); q["network"] != float64(2) {
			t.Errorf("a refused check_limit update changed the limit: %v", q["network"])
		}
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 1, "check_limit": false}}).expect(t, 200)
		// force is taken out of the body and has no effect.
		e.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 1, "force": "perhaps"}}).expect(t, 200)
		if e.do(admin, "GET", "/v2.0/extensions/quota-check-limit", nil).status != 200 {
			t.Errorf("quota-check-limit is not listed")
		}

		list := e.do(admin, "GET", "/v2.0/quotas", nil).expect(t, 200).list(t, "quotas")
		if len(list) != 1 || list[0]["project_id"] != p || list[0]["network"] != float64(1) {
			t.Errorf("quota list %v", list)
		}
		def := e.do(admin, "GET", "/v2.0/quotas/"+p+"/default", nil).expect(t, 200).obj(t, "quota")
		if def["network"] != float64(100) {
			t.Errorf("defaults %v", def)
		}
		e.do(admin, "DELETE", "/v2.0/quotas/"+p, nil).expect(t, 204)
		if q := e.do(admin, "GET", "/v2.0/quotas/"+p, nil).expect(t, 200).obj(t, "quota"); q["network"] != float64(100) {
			t.Errorf("after reset %v", q)
		}
		if r := e.do(member1, "GET", "/v2.0/quotas/project", nil).expect(t, 200); r.obj(t, "project")["project_id"] != p {
			t.Errorf("quotas/project %s", r.raw)
		}
	})
}

// TestQuotaUnderConcurrency sends 32 concurrent creates against a quota of
// 10 through two servers sharing one PostgreSQL: exactly 10 succeed.
func TestQuotaUnderConcurrency(t *testing.T) {
	a := pgEnv(t)
	b := newEnv(t, a.conn, nil)
	p := member1.project
	a.do(admin, "PUT", "/v2.0/quotas/"+p, map[string]any{"quota": map[string]any{"network": 10}}).expect(t, 200)

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			r := e.do(member1, "POST", "/v2.0/networks", fmt.Sprintf(`{"network": {"name": "c%d"}}`, i))
			mu.Lock()
			codes[r.status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if codes[http.StatusCreated] != 10 || codes[http.StatusConflict] != 22 {
		t.Errorf("status counts %v, want 10 created and 22 conflicts", codes)
	}
	if n := len(b.do(admin, "GET", "/v2.0/networks?tenant_id="+p, nil).expect(t, 200).list(t, "networks")); n != 10 {
		t.Errorf("%d networks exist, want 10", n)
	}
}
