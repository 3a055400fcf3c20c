package api_test

import (
	"slices"
	"sort"
	"testing"
)

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestKeySetsFollowServicePlugins: replies carry the keys of the loaded
// extensions only, as Neutron's do. With service_plugins = router (no
// segments, no port_forwarding) networks have no l2_adjacency, ports no
// ip_allocation, subnets no segment_id and floating IPs no
// port_forwardings; is_default shows on external networks only; and no
// deployment shows belongs_to_default_sg, which Neutron 21 lacks.
func TestKeySetsFollowServicePlugins(t *testing.T) {
	lacks := func(t *testing.T, what string, obj map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := obj[k]; ok {
				t.Errorf("%s shows %s: %v", what, k, keysOf(obj))
			}
		}
	}
	has := func(t *testing.T, what string, obj map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s lacks %s: %v", what, k, keysOf(obj))
			}
		}
	}
	probe := func(t *testing.T, e *env) (nets, exts map[string]any, subnet, port, fip, rule map[string]any) {
		net := e.createNetwork(admin, map[string]any{"name": "n"})
		ext := e.createNetwork(admin, map[string]any{"name": "ext", "router:external": true})
		sub := e.snCreate(admin, map[string]any{"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/24"})
		e.snCreate(admin, map[string]any{"network_id": ext["id"], "ip_version": 4, "cidr": "172.24.0.0/24"})
		p := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"]}}).expect(t, 201).obj(t, "port")
		f := e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{"floating_network_id": ext["id"]}}).
			expect(t, 201).obj(t, "floatingip")
		r := e.do(admin, "GET", "/v2.0/security-group-rules", nil).expect(t, 200).list(t, "security_group_rules")[0]
		shown := e.do(admin, "GET", "/v2.0/networks/"+net["id"].(string), nil).expect(t, 200).obj(t, "network")
		shownExt := e.do(admin, "GET", "/v2.0/networks/"+ext["id"].(string), nil).expect(t, 200).obj(t, "network")
		for _, n := range e.do(admin, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks") {
			if _, ok := n["is_default"]; ok != (n["router:external"] == true) {
				t.Errorf("listed network %v (external %v) shows is_default: %v", n["name"], n["router:external"], ok)
			}
		}
		lacks(t, "created internal network", net, "is_default")
		has(t, "created external network", ext, "is_default")
		return shown, shownExt, sub, p, f, r
	}
	t.Run("router only", func(t *testing.T) {
		enginesWith(t, map[string]string{"DEFAULT.service_plugins": "router"}, func(t *testing.T, e *env) {
			net, ext, sub, port, fip, rule := probe(t, e)
			want := []string{"admin_state_up", "availability_zone_hints", "availability_zones", "created_at", "description",
				"id", "ipv4_address_scope", "ipv6_address_scope", "mtu", "name", "port_security_enabled", "project_id",
				"provider:network_type", "provider:physical_network", "provider:segmentation_id", "revision_number",
				"router:external", "shared", "status", "subnets", "tags", "tenant_id", "updated_at"}
			if got := keysOf(net); !slices.Equal(got, want) {
				t.Errorf("internal network keys\n got %v\nwant %v", got, want)
			}
			if got, want := keysOf(ext), append(slices.Clone(want), "is_default"); !slices.Equal(got, sorted(want)) {
				t.Errorf("external network keys\n got %v\nwant %v", got, sorted(want))
			}
			lacks(t, "subnet", sub, "segment_id")
			lacks(t, "port", port, "ip_allocation")
			lacks(t, "floating IP", fip, "port_forwardings")
			lacks(t, "security group rule", rule, "belongs_to_default_sg")
		})
	})
	t.Run("router, segments, port_forwarding", func(t *testing.T) {
		engines(t, func(t *testing.T, e *env) {
			net, ext, sub, port, fip, rule := probe(t, e)
			has(t, "internal network", net, "l2_adjacency")
			lacks(t, "internal network", net, "is_default")
			has(t, "external network", ext, "l2_adjacency", "is_default")
			has(t, "subnet", sub, "segment_id")
			has(t, "port", port, "ip_allocation")
			has(t, "floating IP", fip, "port_forwardings")
			lacks(t, "security group rule", rule, "belongs_to_default_sg")
		})
	})
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
