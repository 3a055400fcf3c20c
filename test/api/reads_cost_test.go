package api_test

import (
	"testing"
)

// TestPortReadsCostFixedQueries: a port show costs a few queries (the
// port with its related rows in one, its network's policy facts in
// another, and one per port extension), and a port list the same number
// of queries for 3 ports or 40: related rows are read per table, not per
// port.
func TestPortReadsCostFixedQueries(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "reads"}}).expect(t, 201).obj(t, "network")
		netID := n["id"].(string)
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netID, "ip_version": 4, "cidr": "10.31.0.0/24"}}).expect(t, 201)
		mk := func(k int) string {
			items := make([]any, k)
			for i := range items {
				items[i] = map[string]any{"network_id": netID, "tags": []string{"a", "b"}}
			}
			ports := e.do(member1, "POST", "/v2.0/ports", map[string]any{"ports": items}).expect(t, 201).list(t, "ports")
			return ports[0]["id"].(string)
		}
		cost := func(f func()) int64 {
			before := e.srv.Store.Queries()
			f()
			return e.srv.Store.Queries() - before
		}
		id := mk(3)
		for _, as := range []*caller{admin, member1} {
			show := cost(func() { e.do(as, "GET", "/v2.0/ports/"+id, nil).expect(t, 200) })
			// The port, its network's facts, qos_network_policy_id and
			// trunk_details.
			if show > 4 {
				t.Errorf("a port show costs %d queries, want at most 4", show)
			}
		}
		few := cost(func() { e.do(member1, "GET", "/v2.0/ports", nil).expect(t, 200) })
		mk(37)
		var got []map[string]any
		many := cost(func() { got = e.do(member1, "GET", "/v2.0/ports", nil).expect(t, 200).list(t, "ports") })
		if few != many || len(got) != 40 {
			t.Errorf("a list of 3 ports costs %d queries, of %d ports %d", few, len(got), many)
		}
		for _, p := range got {
			if tags := p["tags"].([]any); len(tags) != 2 || tags[0] != "a" || tags[1] != "b" || len(p["fixed_ips"].([]any)) != 1 || len(p["security_groups"].([]any)) != 1 {
				t.Fatalf("listed port: %v", p)
			}
		}
	})
}
