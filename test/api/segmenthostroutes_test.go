package api_test

import (
	"sort"
	"strings"
	"testing"
)

// TestSegmentPeerSubnetHostRoutes: with the segments plugin, subnets of a
// routed network get host routes through their gateway to the subnets of
// the network's other segments (segments-peer-subnet-host-routes,
// Neutron's SegmentHostRoutes), kept in step as subnets come, go and
// change gateway; a route the subnet has that covers a peer stands for it.
func TestSegmentPeerSubnetHostRoutes(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		listed := false
		for _, x := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
			listed = listed || x["alias"] == "segments-peer-subnet-host-routes"
		}
		if !listed {
			t.Errorf("segments-peer-subnet-host-routes not listed")
		}
		netID := e.createNetwork(admin, providerNet("vlan", "physnet1", 120))["id"].(string)
		seg1 := e.do(admin, "GET", "/v2.0/segments?network_id="+netID, nil).expect(t, 200).list(t, "segments")[0]["id"].(string)
		seg2 := e.do(admin, "POST", "/v2.0/segments", map[string]any{"segment": map[string]any{"network_id": netID,
			"network_type": "vlan", "physical_network": "physnet1", "segmentation_id": 121}}).expect(t, 201).obj(t, "segment")["id"].(string)
		ids := map[string]string{}
		create := func(name, seg, cidr string, version int) map[string]any {
			s := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID,
				"segment_id": seg, "cidr": cidr, "ip_version": version, "name": name}}).expect(t, 201).obj(t, "subnet")
			ids[name] = s["id"].(string)
			return s
		}
		// routes renders a subnet's host routes as sorted "dst>hop".
		routes := func(v any) string {
			var out []string
			for _, r := range v.([]any) {
				m := r.(map[string]any)
				out = append(out, m["destination"].(string)+">"+m["nexthop"].(string))
			}
			sort.Strings(out)
			return strings.Join(out, " ")
		}
		check := func(step string, want map[string]string) {
			t.Helper()
			for name, w := range want {
				s := e.do(admin, "GET", "/v2.0/subnets/"+ids[name], nil).expect(t, 200).obj(t, "subnet")
				if got := routes(s["host_routes"]); got != w {
					t.Errorf("%s: subnet %s routes %q, want %q", step, name, got, w)
				}
			}
		}
		a := create("a", seg1, "10.1.0.0/24", 4)
		if got := routes(a["host_routes"]); got != "" {
			t.Errorf("first subnet's routes %q", got)
		}
		b := create("b", seg2, "10.2.0.0/24", 4)
		if got := routes(b["host_routes"]); got != "10.1.0.0/24>10.2.0.1" {
			t.Errorf("created subnet shows routes %q", got)
		}
		create("v6", seg2, "2001:db8:2::/64", 6)
		for _, step := range []struct {
			name string
			do   func()
			want map[string]string
		}{
			{"peers on two segments", func() {}, map[string]string{
				"a": "10.2.0.0/24>10.1.0.1", "b": "10.1.0.0/24>10.2.0.1", "v6": ""}},
			{"a second subnet on the first segment", func() { create("c", seg1, "10.1.1.0/24", 4) }, map[string]string{
				"a": "10.2.0.0/24>10.1.0.1", "c": "10.2.0.0/24>10.1.1.1", "b": "10.1.0.0/24>10.2.0.1 10.1.1.0/24>10.2.0.1"}},
			{"a new gateway moves the subnet's routes", func() {
				e.do(admin, "PUT", "/v2.0/subnets/"+ids["b"], map[string]any{"subnet": map[string]any{"gateway_ip": "10.2.0.254",
					"allocation_pools": []any{map[string]any{"start": "10.2.0.2", "end": "10.2.0.200"}}}}).expect(t, 200)
			}, map[string]string{"b": "10.1.0.0/24>10.2.0.254 10.1.1.0/24>10.2.0.254", "a": "10.2.0.0/24>10.1.0.1"}},
			{"a covering route stands for the peers", func() {
				e.do(admin, "PUT", "/v2.0/subnets/"+ids["a"], map[string]any{"subnet": map[string]any{
					"host_routes": []any{map[string]any{"destination": "10.0.0.0/8", "nexthop": "10.1.0.5"}}}}).expect(t, 200)
			}, map[string]string{"a": "10.0.0.0/8>10.1.0.5"}},
			{"routes given on update get the peers added", func() {
				e.do(admin, "PUT", "/v2.0/subnets/"+ids["c"], map[string]any{"subnet": map[string]any{
					"host_routes": []any{map[string]any{"destination": "192.168.0.0/24", "nexthop": "10.1.1.9"}}}}).expect(t, 200)
			}, map[string]string{"c": "10.2.0.0/24>10.1.1.1 192.168.0.0/24>10.1.1.9"}},
			{"a deleted subnet's route goes", func() {
				e.do(admin, "DELETE", "/v2.0/subnets/"+ids["c"], nil).expect(t, 204)
			}, map[string]string{"b": "10.1.0.0/24>10.2.0.254", "a": "10.0.0.0/8>10.1.0.5"}},
		} {
			step.do()
			check(step.name, step.want)
		}

		// A network without segments on its subnets gets no such routes.
		plain := e.createNetwork(admin, map[string]any{"name": "plain"})["id"].(string)
		for _, cidr := range []string{"10.9.0.0/24", "10.9.1.0/24"} {
			s := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": plain,
				"cidr": cidr, "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
			if got := routes(s["host_routes"]); got != "" {
				t.Errorf("subnet of a plain network has routes %q", got)
			}
		}
	})
}
