package api_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// snEngines is engines with configuration overrides.
func snEngines(t *testing.T, overrides map[string]string, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), overrides))
	})
	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		f(t, newEnv(t, pgtest.NewDatabase(t), overrides))
	})
}

// snCreate creates a subnet as the caller and returns it.
func (e *env) snCreate(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/subnets", map[string]any{"subnet": attrs}).expect(e.t, 201).obj(e.t, "subnet")
}

// snPort creates a port as the caller and returns it.
func (e *env) snPort(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/ports", map[string]any{"port": attrs}).expect(e.t, 201).obj(e.t, "port")
}

// snCount returns how many objects of the collection the admin sees.
func (e *env) snCount(collection string) int {
	e.t.Helper()
	return len(e.do(admin, "GET", "/v2.0/"+strings.ReplaceAll(collection, "_", "-"), nil).expect(e.t, 200).list(e.t, collection))
}

// snShow returns one object as the admin sees it.
func (e *env) snShow(collection, key, id string) map[string]any {
	e.t.Helper()
	return e.do(admin, "GET", "/v2.0/"+collection+"/"+id, nil).expect(e.t, 200).obj(e.t, key)
}

// snPools renders allocation_pools as "start-end" strings.
func snPools(v any) []string {
	items, _ := v.([]any)
	out := []string{}
	for _, it := range items {
		m := it.(map[string]any)
		out = append(out, fmt.Sprintf("%v-%v", m["start"], m["end"]))
	}
	return out
}

// snPoolBody builds allocation_pools from "start-end" strings.
func snPoolBody(ranges ...string) []any {
	out := []any{}
	for _, r := range ranges {
		start, end, _ := strings.Cut(r, "-")
		out = append(out, map[string]any{"start": start, "end": end})
	}
	return out
}

// snFixedIPs renders a port's fixed_ips as "subnet_id/ip_address" strings.
func snFixedIPs(port map[string]any) []string {
	out := []string{}
	for _, it := range port["fixed_ips"].([]any) {
		m := it.(map[string]any)
		out = append(out, fmt.Sprintf("%v/%v", m["subnet_id"], m["ip_address"]))
	}
	sort.Strings(out)
	return out
}

// snIPsOn returns a port's addresses on a subnet.
func snIPsOn(port map[string]any, subnetID string) []string {
	out := []string{}
	for _, it := range port["fixed_ips"].([]any) {
		m := it.(map[string]any)
		if m["subnet_id"] == subnetID {
			out = append(out, m["ip_address"].(string))
		}
	}
	return out
}

// snWith returns a copy of base with the extra attributes.
func snWith(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestSubnetCreateShowsNeutronsAttributes(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		before := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
		n := e.createNetwork(admin, map[string]any{"name": "n"})
		netID := n["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "cidr": "10.0.0.0/24", "ip_version": 4,
			"name": "s1", "description": "first"})
		want := map[string]any{
			"name": "s1", "description": "first", "network_id": netID, "ip_version": float64(4),
			"cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "enable_dhcp": true,
			"allocation_pools":  []any{map[string]any{"start": "10.0.0.2", "end": "10.0.0.254"}},
			"dns_nameservers":   []any{},
			"host_routes":       []any{},
			"service_types":     []any{},
			"ipv6_ra_mode":      nil,
			"ipv6_address_mode": nil,
			"subnetpool_id":     nil,
			"tenant_id":         "fake_project_id", "project_id": "fake_project_id",
			"revision_number": float64(0),
		}
		for k, v := range want {
			if !reflect.DeepEqual(s[k], v) {
				t.Errorf("%s = %#v, want %#v", k, s[k], v)
			}
		}
		var keys []string
		for k := range s {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		wantKeys := []string{"allocation_pools", "cidr", "created_at", "description", "dns_nameservers", "enable_dhcp",
			"gateway_ip", "host_routes", "id", "ip_version", "ipv6_address_mode", "ipv6_ra_mode", "name", "network_id",
			"project_id", "revision_number", "segment_id", "service_types", "subnetpool_id", "tags", "tenant_id", "updated_at"}
		if !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("subnet keys %v, want %v", keys, wantKeys)
		}
		created, err := time.Parse(time.RFC3339, s["created_at"].(string))
		if err != nil || created.Before(before) || s["updated_at"] != s["created_at"] {
			t.Errorf("created_at %v updated_at %v (%v)", s["created_at"], s["updated_at"], err)
		}
		got := e.snShow("subnets", "subnet", s["id"].(string))
		if !reflect.DeepEqual(got, s) {
			t.Errorf("show differs from create:\n%v\n%v", got, s)
		}
		// The network lists its subnet, and the subnet's creation revised it.
		net := e.snShow("networks", "network", netID)
		if !reflect.DeepEqual(net["subnets"], []any{s["id"]}) {
			t.Errorf("network subnets %v", net["subnets"])
		}
		if net["revision_number"].(float64) <= n["revision_number"].(float64) {
			t.Errorf("network revision %v not bumped from %v by a new subnet", net["revision_number"], n["revision_number"])
		}
	})
}

func TestSubnetCreateDefaults(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		v4 := func(cidr string, kv ...any) map[string]any {
			return snWith(map[string]any{"network_id": netID, "ip_version": 4, "cidr": cidr}, kv...)
		}
		v6 := func(cidr string, kv ...any) map[string]any {
			return snWith(map[string]any{"network_id": netID, "ip_version": 6, "cidr": cidr}, kv...)
		}
		cases := []struct {
			name    string
			attrs   map[string]any
			cidr    string
			gateway any
			pools   []string
		}{
			{"ipv4: first host is the gateway", v4("10.0.0.0/24"), "10.0.0.0/24", "10.0.0.1", []string{"10.0.0.2-10.0.0.254"}},
			{"host bits are cleared", v4("10.1.0.77/24"), "10.1.0.0/24", "10.1.0.1", []string{"10.1.0.2-10.1.0.254"}},
			{"gateway in the middle splits the pool", v4("10.2.0.0/24", "gateway_ip", "10.2.0.100"), "10.2.0.0/24", "10.2.0.100",
				[]string{"10.2.0.1-10.2.0.99", "10.2.0.101-10.2.0.254"}},
			{"no gateway", v4("10.3.0.0/24", "gateway_ip", nil), "10.3.0.0/24", nil, []string{"10.3.0.1-10.3.0.254"}},
			{"gateway outside the cidr is on-link", v4("10.4.0.0/24", "gateway_ip", "10.99.0.1"), "10.4.0.0/24", "10.99.0.1",
				[]string{"10.4.0.1-10.4.0.254"}},
			{"last host as gateway", v4("10.5.0.0/24", "gateway_ip", "10.5.0.254"), "10.5.0.0/24", "10.5.0.254",
				[]string{"10.5.0.1-10.5.0.253"}},
			{"/30", v4("10.6.0.0/30"), "10.6.0.0/30", "10.6.0.1", []string{"10.6.0.2-10.6.0.2"}},
			{"/31 without DHCP keeps both addresses", v4("10.7.0.20/31", "enable_dhcp", false, "gateway_ip", "10.7.0.19"),
				"10.7.0.20/31", "10.7.0.19", []string{"10.7.0.20-10.7.0.21"}},
			{"a bare address is a /32", v4("10.8.0.5", "enable_dhcp", false), "10.8.0.5/32", "10.8.0.6", []string{"10.8.0.5-10.8.0.5"}},
			{"given pools are kept, in address order", v4("10.9.0.0/24", "allocation_pools",
				snPoolBody("10.9.0.100-10.9.0.110", "10.9.0.10-10.9.0.20")), "10.9.0.0/24", "10.9.0.1",
				[]string{"10.9.0.10-10.9.0.20", "10.9.0.100-10.9.0.110"}},
			{"an empty pool list means no pools", v4("10.10.0.0/24", "allocation_pools", []any{}), "10.10.0.0/24", "10.10.0.1", []string{}},
			{"ipv6: the subnet-router anycast address is the gateway", v6("2001:DB8:0:1::/64"), "2001:db8:0:1::/64", "2001:db8:0:1::",
				[]string{"2001:db8:0:1::1-2001:db8:0:1:ffff:ffff:ffff:ffff"}},
			{"ipv6 gateway given in long form", v6("2001:db8:0:2::/64", "gateway_ip", "2001:0db8:0000:0002:0000:0000:0000:0001"),
				"2001:db8:0:2::/64", "2001:db8:0:2::1", []string{"2001:db8:0:2::2-2001:db8:0:2:ffff:ffff:ffff:ffff"}},
			{"ipv6 pools canonicalised", v6("2001:db8:0:3::/64", "allocation_pools", snPoolBody("2001:DB8:0:3::10-2001:db8:0:3:0:0:0:20")),
				"2001:db8:0:3::/64", "2001:db8:0:3::", []string{"2001:db8:0:3::10-2001:db8:0:3::20"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := e.snCreate(admin, c.attrs)
				if s["cidr"] != c.cidr || !reflect.DeepEqual(s["gateway_ip"], c.gateway) {
					t.Errorf("cidr %v gateway %#v, want %v %#v", s["cidr"], s["gateway_ip"], c.cidr, c.gateway)
				}
				if got := snPools(s["allocation_pools"]); !reflect.DeepEqual(got, c.pools) {
					t.Errorf("allocation_pools %v, want %v", got, c.pools)
				}
				// What was stored is what was shown.
				if got := e.snShow("subnets", "subnet", s["id"].(string)); !reflect.DeepEqual(got, s) {
					t.Errorf("show differs from create:\n%v\n%v", got, s)
				}
			})
		}
	})
}

func TestSubnetCreateValidAttributes(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24",
			"dns_nameservers": []any{"8.8.8.8", "1.1.1.1", "9.9.9.9"},
			"host_routes": []any{map[string]any{"destination": "192.168.0.0/16", "nexthop": "10.0.0.10"},
				map[string]any{"destination": "0.0.0.0/0", "nexthop": "10.0.0.11"}},
			"enable_dhcp": "false", "service_types": []any{"compute:nova", "network:router_gateway"}})
		if !reflect.DeepEqual(s["dns_nameservers"], []any{"8.8.8.8", "1.1.1.1", "9.9.9.9"}) {
			t.Errorf("dns_nameservers keep their order: %v", s["dns_nameservers"])
		}
		routes := s["host_routes"].([]any)
		if len(routes) != 2 || !reflect.DeepEqual(routes[0], map[string]any{"destination": "192.168.0.0/16", "nexthop": "10.0.0.10"}) {
			t.Errorf("host_routes %v", routes)
		}
		if s["enable_dhcp"] != false || !reflect.DeepEqual(s["service_types"], []any{"compute:nova", "network:router_gateway"}) {
			t.Errorf("enable_dhcp %v service_types %v", s["enable_dhcp"], s["service_types"])
		}
		// null lists are empty lists.
		n := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.1.0.0/24",
			"dns_nameservers": nil, "host_routes": nil})
		if !reflect.DeepEqual(n["dns_nameservers"], []any{}) || !reflect.DeepEqual(n["host_routes"], []any{}) {
			t.Errorf("null lists: %v %v", n["dns_nameservers"], n["host_routes"])
		}
		// The IPv6 mode combinations Neutron accepts.
		for i, m := range []struct{ ra, addr any }{
			{"slaac", "slaac"}, {"dhcpv6-stateless", "dhcpv6-stateless"}, {"dhcpv6-stateful", "dhcpv6-stateful"},
			{"slaac", nil}, {nil, "dhcpv6-stateless"}, {nil, "dhcpv6-stateful"},
		} {
			attrs := map[string]any{"network_id": netID, "ip_version": 6, "cidr": fmt.Sprintf("2001:db8:%d::/64", i)}
			if m.ra != nil {
				attrs["ipv6_ra_mode"] = m.ra
			}
			if m.addr != nil {
				attrs["ipv6_address_mode"] = m.addr
			}
			s := e.snCreate(admin, attrs)
			if s["ipv6_ra_mode"] != m.ra || s["ipv6_address_mode"] != m.addr {
				t.Errorf("modes %v/%v, want %v/%v", s["ipv6_ra_mode"], s["ipv6_address_mode"], m.ra, m.addr)
			}
		}
		// A stateful subnet need not be a /64.
		e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8:ff::/80",
			"ipv6_ra_mode": "dhcpv6-stateful", "ipv6_address_mode": "dhcpv6-stateful"})
	})
}

func TestSubnetCreateErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		// An existing subnet, for the checks against the network's subnets.
		e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"})
		v4 := func(kv ...any) map[string]any {
			return snWith(map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.1.0.0/24"}, kv...)
		}
		v6 := func(kv ...any) map[string]any {
			return snWith(map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64"}, kv...)
		}
		routes := func(n int) []any {
			out := []any{}
			for i := 0; i < n; i++ {
				out = append(out, map[string]any{"destination": fmt.Sprintf("192.168.%d.0/24", i), "nexthop": "10.1.0.9"})
			}
			return out
		}
		cases := []struct {
			name     string
			body     any
			status   int
			typ, msg string
		}{
			// Attribute validation.
			{"no network", map[string]any{"ip_version": 4, "cidr": "10.1.0.0/24"}, 400, "HTTPBadRequest",
				"Failed to parse request. Required attribute 'network_id' not specified"},
			{"no ip_version", map[string]any{"network_id": netID, "cidr": "10.1.0.0/24"}, 400, "HTTPBadRequest",
				"Failed to parse request. Required attribute 'ip_version' not specified"},
			{"bad ip_version", v4("ip_version", 5), 400, "HTTPBadRequest", "Invalid input for ip_version. Reason: 5 is not in valid_values."},
			{"ip_version not a number", v4("ip_version", "four"), 400, "InvalidInput",
				"Invalid input for operation: 'four' is not an integer."},
			{"network_id not a uuid", v4("network_id", "net"), 400, "HTTPBadRequest", "Invalid input for network_id. Reason: 'net' is not a valid UUID."},
			{"cidr not a cidr", v4("cidr", "10.1.0.0/33"), 400, "InvalidInput", "Invalid input for operation: 10.1.0.0/33 is not in a CIDR format."},
			{"cidr garbage", v4("cidr", "bogus"), 400, "InvalidInput", "Invalid input for operation: bogus is not in a CIDR format."},
			{"gateway not an address", v4("gateway_ip", "10.1.0"), 400, "HTTPBadRequest",
				"Invalid input for gateway_ip. Reason: '10.1.0' is not a valid IP address."},
			{"gateway with leading zeros", v4("gateway_ip", "10.1.0.01"), 400, "HTTPBadRequest",
				"Invalid input for gateway_ip. Reason: '10.1.0.01' is not an accepted IP address, '10.1.0.1' is recommended."},
			{"pools not a list", v4("allocation_pools", "10.1.0.2-10.1.0.9"), 400, "InvalidInput",
				"Invalid input for operation: Invalid data format for allocation pools."},
			{"pool without end", v4("allocation_pools", []any{map[string]any{"start": "10.1.0.2"}}), 400, "HTTPBadRequest",
				"Invalid input for allocation_pools. Reason: Validation of dictionary's keys failed."},
			{"pool with a bad address", v4("allocation_pools", snPoolBody("1000.0.0.2-10.1.0.9")), 400, "HTTPBadRequest",
				"Invalid input for allocation_pools. Reason: '1000.0.0.2' is not a valid IP address."},
			{"dns not an address", v4("dns_nameservers", []any{"8.8.8.8", "dns.example"}), 400, "HTTPBadRequest",
				"Invalid input for dns_nameservers. Reason: 'dns.example' is not a valid nameserver. 'dns.example' is not a valid IP address."},
			{"duplicate dns", v4("dns_nameservers", []any{"8.8.8.8", "8.8.8.8"}), 400, "HTTPBadRequest",
				"Invalid input for dns_nameservers. Reason: Duplicate nameserver '8.8.8.8'."},
			{"route without a prefix length", v4("host_routes", []any{map[string]any{"destination": "192.168.0.0", "nexthop": "10.1.0.9"}}),
				400, "HTTPBadRequest", "Invalid input for host_routes. Reason: '192.168.0.0' is not a valid CIDR."},
			{"route with host bits", v4("host_routes", []any{map[string]any{"destination": "192.168.0.1/24", "nexthop": "10.1.0.9"}}),
				400, "HTTPBadRequest", "Invalid input for host_routes. Reason: '192.168.0.1/24' is not a valid CIDR."},
			{"route to loopback", v4("host_routes", []any{map[string]any{"destination": "127.0.0.0/8", "nexthop": "10.1.0.9"}}),
				400, "HTTPBadRequest", "Invalid input for host_routes. Reason: '127.0.0.0/8' is not a routable CIDR."},
			{"route with a bad nexthop", v4("host_routes", []any{map[string]any{"destination": "192.168.0.0/24", "nexthop": "x"}}),
				400, "HTTPBadRequest", "Invalid input for host_routes. Reason: 'x' is not a valid IP address."},
			{"route without nexthop", v4("host_routes", []any{map[string]any{"destination": "192.168.0.0/24"}}),
				400, "HTTPBadRequest", "Invalid input for host_routes. Reason: Validation of dictionary's keys failed."},
			{"duplicate route", v4("host_routes", append(routes(1), routes(1)...)), 400, "HTTPBadRequest",
				"Invalid input for host_routes. Reason: Duplicate hostroute '{'destination': '192.168.0.0/24', 'nexthop': '10.1.0.9'}'."},
			{"bad ra mode", v6("ipv6_ra_mode", "bogus"), 400, "HTTPBadRequest",
				"Invalid input for ipv6_ra_mode. Reason: bogus is not in valid_values."},
			{"null address mode", v6("ipv6_address_mode", nil), 400, "HTTPBadRequest",
				"Invalid input for ipv6_address_mode. Reason: None is not in valid_values."},
			{"unknown attribute", v4("segment", "x"), 400, "HTTPBadRequest", "Unrecognized attribute(s) 'segment'"},

			// The plugin's checks, in Neutron's order.
			{"cidr and prefixlen", v4("prefixlen", 24), 400, "BadRequest",
				"Bad subnets request: cidr and prefixlen must not be supplied together."},
			{"neither cidr nor pool", map[string]any{"network_id": netID, "ip_version": 4}, 400, "BadRequest",
				"Bad subnets request: a subnetpool must be specified in the absence of a cidr."},
			{"cidr of the other family", v4("cidr", "2001:db8::/64"), 400, "InvalidInput",
				"Invalid input for operation: cidr '2001:db8::/64' does not match the ip_version '4'."},
			{"ipv6 ::", v6("cidr", "::/64"), 400, "InvalidInput", "Invalid input for operation: IPv6 subnet '::' is not supported."},
			{"/31 with DHCP", v4("cidr", "10.1.0.0/31"), 400, "InvalidInput",
				"Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled."},
			{"/127 with DHCP", v6("cidr", "2001:db8::/127"), 400, "InvalidInput",
				"Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled."},
			{"multicast with DHCP", v4("cidr", "224.0.0.0/24"), 400, "InvalidInput",
				"Invalid input for operation: Multicast IP subnet is not supported if enable_dhcp is True."},
			{"loopback with DHCP", v4("cidr", "127.0.0.0/24"), 400, "InvalidInput",
				"Invalid input for operation: Loopback IP subnet is not supported if enable_dhcp is True."},
			{"0.0.0.0 network with DHCP", v4("cidr", "0.0.0.0/24"), 400, "InvalidInput",
				"Invalid input for operation: First IP '0.0.0.0' of network is not supported if enable_dhcp is True.."},
			{"/0", v4("cidr", "0.0.0.0/0", "enable_dhcp", false), 400, "InvalidInput",
				"Invalid input for operation: 0 is not allowed as CIDR prefix length."},
			{"gateway of the other family", v4("gateway_ip", "fe80::1"), 400, "InvalidInput",
				"Invalid input for operation: gateway_ip 'fe80::1' does not match the ip_version '4'."},
			{"gateway is the network address", v4("gateway_ip", "10.1.0.0"), 400, "InvalidInput",
				"Invalid input for operation: Gateway is not valid on subnet."},
			{"gateway is the broadcast address", v4("gateway_ip", "10.1.0.255"), 400, "InvalidInput",
				"Invalid input for operation: Gateway is not valid on subnet."},
			{"too many nameservers", v4("dns_nameservers", []any{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5", "1.1.1.6"}),
				400, "DNSNameServersExhausted",
				"Unable to complete operation for new subnet. The number of DNS nameservers exceeds the limit 5."},
			{"nameserver of the other family", v4("dns_nameservers", []any{"2001:4860:4860::8888"}), 400, "InvalidInput",
				"Invalid input for operation: dns_nameserver '2001:4860:4860::8888' does not match the ip_version '4'."},
			{"too many routes", v4("host_routes", routes(21)), 400, "HostRoutesExhausted",
				"Unable to complete operation for new subnet. The number of host routes exceeds the limit 20."},
			{"nexthop of the other family", v4("host_routes", []any{map[string]any{"destination": "192.168.0.0/24", "nexthop": "fe80::1"}}),
				400, "InvalidInput", "Invalid input for operation: nexthop 'fe80::1' does not match the ip_version '4'."},
			{"destination of the other family", v4("host_routes", []any{map[string]any{"destination": "2001:db8::/64", "nexthop": "10.1.0.9"}}),
				400, "InvalidInput", "Invalid input for operation: destination '2001:db8::/64' does not match the ip_version '4'."},
			{"ra mode on ipv4", v4("ipv6_ra_mode", "slaac"), 400, "InvalidInput",
				"Invalid input for operation: ipv6_ra_mode is not valid when ip_version is 4."},
			{"address mode on ipv4", v4("ipv6_address_mode", "slaac"), 400, "InvalidInput",
				"Invalid input for operation: ipv6_address_mode is not valid when ip_version is 4."},
			{"modes without DHCP", v6("ipv6_ra_mode", "slaac", "enable_dhcp", false), 400, "InvalidInput",
				"Invalid input for operation: ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False."},
			{"modes differ", v6("ipv6_ra_mode", "slaac", "ipv6_address_mode", "dhcpv6-stateful"), 400, "InvalidInput",
				"Invalid input for operation: ipv6_ra_mode set to 'slaac' with ipv6_address_mode set to 'dhcpv6-stateful' is not valid. If both attributes are set, they must be the same value."},
			{"slaac needs a /64", v6("cidr", "2001:db8::/80", "ipv6_address_mode", "slaac"), 400, "InvalidInput",
				"Invalid input for operation: Invalid CIDR 2001:db8::/80 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64."},
			{"network not found", v4("network_id", "00000000-0000-0000-0000-000000000001"), 404, "NetworkNotFound",
				"Network 00000000-0000-0000-0000-000000000001 could not be found."},
			{"pool beyond the cidr", v4("allocation_pools", snPoolBody("10.1.0.200-10.1.3.20")), 400, "OutOfBoundsAllocationPool",
				"The allocation pool 10.1.0.200-10.1.3.20 spans beyond the subnet cidr 10.1.0.0/24."},
			{"pool with the network address", v4("allocation_pools", snPoolBody("10.1.0.0-10.1.0.50")), 400, "OutOfBoundsAllocationPool",
				"The allocation pool 10.1.0.0-10.1.0.50 spans beyond the subnet cidr 10.1.0.0/24."},
			{"pool with the broadcast address", v4("allocation_pools", snPoolBody("10.1.0.200-10.1.0.255")), 400, "OutOfBoundsAllocationPool",
				"The allocation pool 10.1.0.200-10.1.0.255 spans beyond the subnet cidr 10.1.0.0/24."},
			{"pool start after end", v4("allocation_pools", snPoolBody("10.1.0.20-10.1.0.5")), 400, "InvalidAllocationPool",
				"The allocation pool {'start': '10.1.0.20', 'end': '10.1.0.5'} is not valid."},
			{"pool of the other family", v4("allocation_pools", snPoolBody("fe80::2-fe80::ffff")), 400, "InvalidAllocationPool",
				"The allocation pool fe80::2-fe80::ffff is not valid."},
			{"overlapping pools", v4("allocation_pools", snPoolBody("10.1.0.20-10.1.0.40", "10.1.0.30-10.1.0.50")), 409, "OverlappingAllocationPools",
				"Found overlapping allocation pools: 10.1.0.20-10.1.0.40 10.1.0.30-10.1.0.50 for subnet 10.1.0.0/24."},
			{"pool holds the default gateway", v4("allocation_pools", snPoolBody("10.1.0.1-10.1.0.10")), 409, "GatewayConflictWithAllocationPools",
				"Gateway ip 10.1.0.1 conflicts with allocation pool 10.1.0.1-10.1.0.10."},
			{"pool holds the given gateway", v4("gateway_ip", "10.1.0.5", "allocation_pools", snPoolBody("10.1.0.2-10.1.0.10")), 409,
				"GatewayConflictWithAllocationPools", "Gateway ip 10.1.0.5 conflicts with allocation pool 10.1.0.2-10.1.0.10."},
			{"overlaps a subnet of the network", v4("cidr", "10.0.0.128/25"), 400, "InvalidInput",
				"Invalid input for operation: Requested subnet with cidr: 10.0.0.128/25 for network: " + netID + " overlaps with another subnet."},
			{"a bulk item fails: nothing is created", map[string]any{"subnets": []any{v4(), v4("cidr", "10.2.0.0/24", "gateway_ip", "10.2.0.0")}},
				400, "InvalidInput", "Gateway is not valid on subnet"},
			{"bulk items overlap each other", map[string]any{"subnets": []any{v4(), v4("cidr", "10.1.0.0/16")}},
				400, "InvalidInput", "overlaps with another subnet"},
		}
		before := e.snCount("subnets")
		netBefore := e.snShow("networks", "network", netID)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := c.body
				if m, ok := body.(map[string]any); ok && m["subnets"] == nil {
					body = map[string]any{"subnet": m}
				}
				e.do(admin, "POST", "/v2.0/subnets", body).fault(t, c.status, c.typ, c.msg)
			})
		}
		if after := e.snCount("subnets"); after != before {
			t.Errorf("failed requests changed the subnet count from %d to %d", before, after)
		}
		if n := e.snShow("networks", "network", netID); n["revision_number"] != netBefore["revision_number"] ||
			len(n["subnets"].([]any)) != 1 {
			t.Errorf("failed requests changed the network: %v", n)
		}
	})
}

func TestSubnetBulkCreate(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		r := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnets": []any{
			map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"},
			map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64"},
		}}).expect(t, 201)
		items := r.list(t, "subnets")
		if len(items) != 2 || items[0]["gateway_ip"] != "10.0.0.1" || items[1]["gateway_ip"] != "2001:db8::" {
			t.Fatalf("bulk reply %s", r.raw)
		}
		if n := e.snShow("networks", "network", netID); len(n["subnets"].([]any)) != 2 {
			t.Errorf("network subnets %v", n["subnets"])
		}
	})
}

func TestSubnetOverlap(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow_overlapping_ips=%v", allow), func(t *testing.T) {
			run := func(t *testing.T, e *env) {
				a := e.createNetwork(admin, map[string]any{"name": "a"})["id"].(string)
				b := e.createNetwork(admin, map[string]any{"name": "b"})["id"].(string)
				e.snCreate(admin, map[string]any{"network_id": a, "ip_version": 4, "cidr": "10.0.0.0/24"})
				e.snCreate(admin, map[string]any{"network_id": a, "ip_version": 6, "cidr": "2001:db8::/64"})
				// Within one network overlaps are always refused.
				e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
					"network_id": a, "ip_version": 4, "cidr": "10.0.0.0/16"}}).fault(t, 400, "InvalidInput",
					"Invalid input for operation: Requested subnet with cidr: 10.0.0.0/16 for network: "+a+" overlaps with another subnet.")
				// Across networks only when overlapping IPs are disallowed.
				r := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
					"network_id": b, "ip_version": 4, "cidr": "10.0.0.128/25", "tenant_id": "someone-else"}})
				if allow {
					r.expect(t, 201)
				} else {
					r.fault(t, 400, "InvalidInput",
						"Invalid input for operation: Requested subnet with cidr: 10.0.0.128/25 for network: "+b+" overlaps with another subnet.")
				}
				r = e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
					"network_id": b, "ip_version": 6, "cidr": "2001:db8::/48"}})
				if allow {
					r.expect(t, 201)
				} else {
					r.fault(t, 400, "InvalidInput", "overlaps with another subnet")
				}
				// Adjacent and disjoint CIDRs are fine either way.
				e.snCreate(admin, map[string]any{"network_id": b, "ip_version": 4, "cidr": "10.0.1.0/24"})
				e.snCreate(admin, map[string]any{"network_id": a, "ip_version": 4, "cidr": "10.0.2.0/24"})
			}
			overrides := map[string]string{}
			if allow {
				overrides["DEFAULT.allow_overlapping_ips"] = "true"
			}
			snEngines(t, overrides, run)
		})
	}
}

func TestSubnetUpdate(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24",
			"allocation_pools": snPoolBody("10.0.0.2-10.0.0.254")})
		id := s["id"].(string)
		put := func(attrs map[string]any, headers ...string) *reply {
			return e.do(admin, "PUT", "/v2.0/subnets/"+id, map[string]any{"subnet": attrs}, headers...)
		}
		rev := func() float64 { return e.snShow("subnets", "subnet", id)["revision_number"].(float64) }

		time.Sleep(1100 * time.Millisecond) // updated_at has a resolution of one second
		netRev := e.snShow("networks", "network", netID)["revision_number"].(float64)
		up := put(map[string]any{"name": "renamed", "description": "d"}).expect(t, 200).obj(t, "subnet")
		if up["name"] != "renamed" || up["description"] != "d" || up["revision_number"] != float64(1) {
			t.Errorf("update: %v", up)
		}
		if up["updated_at"] == up["created_at"] || up["created_at"] != s["created_at"] {
			t.Errorf("timestamps after update: created %v updated %v", up["created_at"], up["updated_at"])
		}
		if n := e.snShow("networks", "network", netID); n["revision_number"].(float64) <= netRev {
			t.Errorf("subnet update did not revise its network (%v → %v)", netRev, n["revision_number"])
		}
		// Nothing changed: no new revision.
		if r := put(map[string]any{"name": "renamed"}).expect(t, 200).obj(t, "subnet"); r["revision_number"] != float64(1) {
			t.Errorf("no-op update bumped the revision to %v", r["revision_number"])
		}
		// If-Match.
		put(map[string]any{"name": "x"}, "If-Match", "revision_number=0").
			fault(t, 412, "RevisionNumberConstraintFailed", "Constrained to 0, but current revision is 1")
		put(map[string]any{"name": "y"}, "If-Match", "revision_number=1").expect(t, 200)

		// DNS nameservers keep their order, and may be cleared.
		up = put(map[string]any{"dns_nameservers": []any{"9.9.9.9", "1.1.1.1"}}).expect(t, 200).obj(t, "subnet")
		if !reflect.DeepEqual(up["dns_nameservers"], []any{"9.9.9.9", "1.1.1.1"}) {
			t.Errorf("dns_nameservers %v", up["dns_nameservers"])
		}
		up = put(map[string]any{"dns_nameservers": []any{"1.1.1.1", "9.9.9.9"}}).expect(t, 200).obj(t, "subnet")
		if !reflect.DeepEqual(up["dns_nameservers"], []any{"1.1.1.1", "9.9.9.9"}) {
			t.Errorf("reordered dns_nameservers %v", up["dns_nameservers"])
		}
		// Host routes are replaced.
		route := map[string]any{"destination": "192.168.0.0/24", "nexthop": "10.0.0.9"}
		up = put(map[string]any{"host_routes": []any{route}}).expect(t, 200).obj(t, "subnet")
		if !reflect.DeepEqual(up["host_routes"], []any{route}) {
			t.Errorf("host_routes %v", up["host_routes"])
		}
		// Pools, with the gateway moved out of the way in the same request.
		up = put(map[string]any{"gateway_ip": "10.0.0.9", "allocation_pools": snPoolBody("10.0.0.10-10.0.0.20", "10.0.0.30-10.0.0.40")}).
			expect(t, 200).obj(t, "subnet")
		if up["gateway_ip"] != "10.0.0.9" || !reflect.DeepEqual(snPools(up["allocation_pools"]), []string{"10.0.0.10-10.0.0.20", "10.0.0.30-10.0.0.40"}) {
			t.Errorf("gateway %v pools %v", up["gateway_ip"], snPools(up["allocation_pools"]))
		}
		// A gateway outside the CIDR is accepted; removing it leaves the pools alone.
		up = put(map[string]any{"gateway_ip": "100.0.0.1"}).expect(t, 200).obj(t, "subnet")
		if up["gateway_ip"] != "100.0.0.1" {
			t.Errorf("gateway %v", up["gateway_ip"])
		}
		up = put(map[string]any{"gateway_ip": nil}).expect(t, 200).obj(t, "subnet")
		if up["gateway_ip"] != nil || !reflect.DeepEqual(snPools(up["allocation_pools"]), []string{"10.0.0.10-10.0.0.20", "10.0.0.30-10.0.0.40"}) {
			t.Errorf("no gateway: %v %v", up["gateway_ip"], snPools(up["allocation_pools"]))
		}
		put(map[string]any{"gateway_ip": "10.0.0.1", "enable_dhcp": false}).expect(t, 200)
		// Turning DHCP on again is fine for a /24.
		put(map[string]any{"enable_dhcp": true}).expect(t, 200)

		cases := []struct {
			name     string
			attrs    map[string]any
			status   int
			typ, msg string
		}{
			{"cidr is read-only", map[string]any{"cidr": "10.9.0.0/24"}, 400, "HTTPBadRequest", "Cannot update read-only attribute cidr"},
			{"ip_version is read-only", map[string]any{"ip_version": 6}, 400, "HTTPBadRequest", "Cannot update read-only attribute ip_version"},
			{"network_id is read-only", map[string]any{"network_id": netID}, 400, "HTTPBadRequest", "Cannot update read-only attribute network_id"},
			{"subnetpool_id is read-only", map[string]any{"subnetpool_id": nil}, 400, "HTTPBadRequest", "Cannot update read-only attribute subnetpool_id"},
			{"ra mode is read-only", map[string]any{"ipv6_ra_mode": "slaac"}, 400, "HTTPBadRequest", "Cannot update read-only attribute ipv6_ra_mode"},
			{"prefixlen is read-only", map[string]any{"prefixlen": 24}, 400, "HTTPBadRequest", "Cannot update read-only attribute prefixlen"},
			{"gateway inside a pool", map[string]any{"gateway_ip": "10.0.0.15"}, 409, "GatewayConflictWithAllocationPools",
				"Gateway ip 10.0.0.15 conflicts with allocation pool 10.0.0.10-10.0.0.20."},
			{"pools over the gateway", map[string]any{"allocation_pools": snPoolBody("10.0.0.1-10.0.0.9")}, 409,
				"GatewayConflictWithAllocationPools", "Gateway ip 10.0.0.1 conflicts with allocation pool 10.0.0.1-10.0.0.9."},
			{"gateway of the other family", map[string]any{"gateway_ip": "fe80::1"}, 400, "InvalidInput",
				"Invalid input for operation: gateway_ip 'fe80::1' does not match the ip_version '4'."},
			{"gateway is the broadcast address", map[string]any{"gateway_ip": "10.0.0.255"}, 400, "InvalidInput",
				"Invalid input for operation: Gateway is not valid on subnet."},
			{"pool beyond the cidr", map[string]any{"allocation_pools": snPoolBody("10.0.0.200-10.0.3.20")}, 400,
				"OutOfBoundsAllocationPool", "The allocation pool 10.0.0.200-10.0.3.20 spans beyond the subnet cidr 10.0.0.0/24."},
			{"pool of another subnet", map[string]any{"allocation_pools": snPoolBody("10.9.0.10-10.9.0.20")}, 400,
				"OutOfBoundsAllocationPool", "The allocation pool 10.9.0.10-10.9.0.20 spans beyond the subnet cidr 10.0.0.0/24."},
			{"pool start after end", map[string]any{"allocation_pools": snPoolBody("10.0.0.20-10.0.0.5")}, 400, "InvalidAllocationPool",
				"The allocation pool {'start': '10.0.0.20', 'end': '10.0.0.5'} is not valid."},
			{"overlapping pools", map[string]any{"allocation_pools": snPoolBody("10.0.0.20-10.0.0.40", "10.0.0.30-10.0.0.50")}, 409,
				"OverlappingAllocationPools", "Found overlapping allocation pools: 10.0.0.20-10.0.0.40 10.0.0.30-10.0.0.50 for subnet 10.0.0.0/24."},
			{"pool without start", map[string]any{"allocation_pools": []any{map[string]any{"end": "10.0.0.254"}}}, 400,
				"HTTPBadRequest", "Invalid input for allocation_pools. Reason: Validation of dictionary's keys failed."},
			{"too many nameservers", map[string]any{"dns_nameservers": []any{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5", "1.1.1.6"}},
				400, "DNSNameServersExhausted", "Unable to complete operation for " + id + ". The number of DNS nameservers exceeds the limit 5."},
			{"nameserver of the other family", map[string]any{"dns_nameservers": []any{"fe80::1"}}, 400, "InvalidInput",
				"Invalid input for operation: dns_nameserver 'fe80::1' does not match the ip_version '4'."},
			{"duplicate nameserver", map[string]any{"dns_nameservers": []any{"1.1.1.1", "1.1.1.1"}}, 400, "HTTPBadRequest",
				"Invalid input for dns_nameservers. Reason: Duplicate nameserver '1.1.1.1'."},
			{"too many routes", map[string]any{"host_routes": func() []any {
				out := []any{}
				for i := 0; i < 21; i++ {
					out = append(out, map[string]any{"destination": fmt.Sprintf("192.168.%d.0/24", i), "nexthop": "10.0.0.9"})
				}
				return out
			}()}, 400, "HostRoutesExhausted", "Unable to complete operation for " + id + ". The number of host routes exceeds the limit 20."},
			{"route nexthop of the other family", map[string]any{"host_routes": []any{map[string]any{"destination": "192.168.0.0/24", "nexthop": "fe80::1"}}},
				400, "InvalidInput", "Invalid input for operation: nexthop 'fe80::1' does not match the ip_version '4'."},
			{"unknown subnet", nil, 404, "SubnetNotFound", "Subnet 00000000-0000-0000-0000-000000000002 could not be found."},
		}
		revBefore := rev()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.attrs == nil {
					e.do(admin, "PUT", "/v2.0/subnets/00000000-0000-0000-0000-000000000002",
						map[string]any{"subnet": map[string]any{"name": "x"}}).fault(t, c.status, c.typ, c.msg)
					return
				}
				put(c.attrs).fault(t, c.status, c.typ, c.msg)
			})
		}
		after := e.snShow("subnets", "subnet", id)
		if after["revision_number"].(float64) != revBefore || after["gateway_ip"] != "10.0.0.1" ||
			!reflect.DeepEqual(snPools(after["allocation_pools"]), []string{"10.0.0.10-10.0.0.20", "10.0.0.30-10.0.0.40"}) ||
			len(after["dns_nameservers"].([]any)) != 2 || len(after["host_routes"].([]any)) != 1 {
			t.Errorf("failed updates changed the subnet: %v", after)
		}
	})
}

func TestSubnetUpdateDHCPAndIPv6Rules(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		// Enabling DHCP re-checks the CIDR as a create with DHCP would.
		small := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/31",
			"enable_dhcp": false, "gateway_ip": nil})
		e.do(admin, "PUT", "/v2.0/subnets/"+small["id"].(string), map[string]any{"subnet": map[string]any{"enable_dhcp": true}}).
			fault(t, 400, "InvalidInput", "Invalid input for operation: Subnet has a prefix length that is incompatible with DHCP service enabled.")
		// DHCP cannot be turned off on a subnet with an IPv6 mode.
		slaac := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64",
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
		e.do(admin, "PUT", "/v2.0/subnets/"+slaac["id"].(string), map[string]any{"subnet": map[string]any{"enable_dhcp": false}}).
			fault(t, 400, "InvalidInput", "Invalid input for operation: Cannot disable enable_dhcp with ipv6 attributes set.")
		e.do(admin, "PUT", "/v2.0/subnets/"+slaac["id"].(string), map[string]any{"subnet": map[string]any{"ipv6_address_mode": "dhcpv6-stateful"}}).
			fault(t, 400, "HTTPBadRequest", "Cannot update read-only attribute ipv6_address_mode")
		// Without modes it can.
		plain := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8:1::/64"})
		up := e.do(admin, "PUT", "/v2.0/subnets/"+plain["id"].(string), map[string]any{"subnet": map[string]any{"enable_dhcp": false}}).
			expect(t, 200).obj(t, "subnet")
		if up["enable_dhcp"] != false {
			t.Errorf("enable_dhcp %v", up["enable_dhcp"])
		}
	})
}

// TestSubnetPoolUpdateKeepsAllocations checks that changing allocation
// pools never loses track of addresses ports hold: Neutron accepts pools
// that leave an allocated address outside them (the port keeps it), never
// hands that address out again, and does not return it to the pools when
// the port lets it go.
func TestSubnetPoolUpdateKeepsAllocations(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24",
			"allocation_pools": snPoolBody("10.0.0.10-10.0.0.12")})
		id := s["id"].(string)
		putPools := func(ranges ...string) {
			t.Helper()
			up := e.do(admin, "PUT", "/v2.0/subnets/"+id, map[string]any{"subnet": map[string]any{"allocation_pools": snPoolBody(ranges...)}}).
				expect(t, 200).obj(t, "subnet")
			if got := snPools(up["allocation_pools"]); !reflect.DeepEqual(got, ranges) {
				t.Fatalf("pools %v, want %v", got, ranges)
			}
		}
		port := func() *reply {
			return e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}})
		}
		held := e.snPort(admin, map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": id, "ip_address": "10.0.0.11"}}})
		// The pools move away from the held address: accepted, the port keeps it.
		putPools("10.0.0.20-10.0.0.21")
		if got := snIPsOn(e.snShow("ports", "port", held["id"].(string)), id); !reflect.DeepEqual(got, []string{"10.0.0.11"}) {
			t.Errorf("held port's addresses %v", got)
		}
		// Back over it: the held address is still taken.
		putPools("10.0.0.10-10.0.0.12")
		got := map[string]bool{}
		for i := 0; i < 2; i++ {
			p := port().expect(t, 201).obj(t, "port")
			for _, ip := range snIPsOn(p, id) {
				got[ip] = true
			}
		}
		if !reflect.DeepEqual(got, map[string]bool{"10.0.0.10": true, "10.0.0.12": true}) {
			t.Errorf("new ports got %v, want 10.0.0.10 and 10.0.0.12", got)
		}
		port().fault(t, 409, "IpAddressGenerationFailure", "No more IP addresses available")
		// Shrink the pools below the held address, then release it: it is
		// not handed out from outside the pools.
		putPools("10.0.0.10-10.0.0.10", "10.0.0.12-10.0.0.12")
		e.do(admin, "DELETE", "/v2.0/ports/"+held["id"].(string), nil).expect(t, 204)
		port().fault(t, 409, "IpAddressGenerationFailure", "No more IP addresses available")
		// Widening the pools frees what nobody holds.
		putPools("10.0.0.10-10.0.0.13")
		p := port().expect(t, 201).obj(t, "port")
		if got := snIPsOn(p, id); len(got) != 1 || (got[0] != "10.0.0.11" && got[0] != "10.0.0.13") {
			t.Errorf("port after widening got %v", got)
		}
	})
}

// TestSubnetGatewayInUse: the gateway may not move away from an address a
// router port holds (GatewayIpInUse); a plain port holding it does not
// matter, nor does a new gateway held by a port.
func TestSubnetGatewayInUse(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24",
			"allocation_pools": snPoolBody("10.0.0.2-10.0.0.8")})
		id := s["id"].(string)
		router := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": "network:router_interface",
			"device_id": "r1", "fixed_ips": []any{map[string]any{"subnet_id": id, "ip_address": "10.0.0.1"}}})
		plain := e.snPort(admin, map[string]any{"network_id": netID,
			"fixed_ips": []any{map[string]any{"subnet_id": id, "ip_address": "10.0.0.99"}}})
		put := func(gw any) *reply {
			return e.do(admin, "PUT", "/v2.0/subnets/"+id, map[string]any{"subnet": map[string]any{"gateway_ip": gw}})
		}
		put("10.0.0.99").fault(t, 409, "GatewayIpInUse",
			"Current gateway ip 10.0.0.1 already in use by port "+router["id"].(string)+". Unable to update.")
		put(nil).fault(t, 409, "GatewayIpInUse", "Current gateway ip 10.0.0.1 already in use")
		// The same gateway, spelled the same, is no change.
		put("10.0.0.1").expect(t, 200)
		e.do(admin, "DELETE", "/v2.0/ports/"+router["id"].(string), nil).expect(t, 204)
		// Now nothing routes through 10.0.0.1; moving onto the plain port's address is allowed.
		up := put("10.0.0.99").expect(t, 200).obj(t, "subnet")
		if up["gateway_ip"] != "10.0.0.99" {
			t.Errorf("gateway %v", up["gateway_ip"])
		}
		// A plain port on the current gateway does not pin it.
		put("10.0.0.50").expect(t, 200)
		_ = plain
	})
}

func TestSubnetDelete(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"})
		other := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.1.0/24"})
		id := s["id"].(string)
		dhcp := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": "network:dhcp",
			"fixed_ips": []any{map[string]any{"subnet_id": id}, map[string]any{"subnet_id": other["id"]}}})
		user := e.snPort(admin, map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": id}}})
		inUse := "Unable to complete operation on subnet " + id + ": One or more ports have an IP allocation from this subnet."
		e.do(admin, "DELETE", "/v2.0/subnets/"+id, nil).fault(t, 409, "SubnetInUse", inUse)
		e.do(admin, "DELETE", "/v2.0/ports/"+user["id"].(string), nil).expect(t, 204)
		// A router interface keeps it in use too.
		rtr := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": "network:router_interface",
			"device_id": "r1", "fixed_ips": []any{map[string]any{"subnet_id": id}}})
		e.do(admin, "DELETE", "/v2.0/subnets/"+id, nil).fault(t, 409, "SubnetInUse", inUse)
		e.do(admin, "DELETE", "/v2.0/ports/"+rtr["id"].(string), nil).expect(t, 204)
		// Only the DHCP port is left: it loses its address on the subnet,
		// and the network and the port are revised.
		netRev := e.snShow("networks", "network", netID)["revision_number"].(float64)
		portRev := e.snShow("ports", "port", dhcp["id"].(string))["revision_number"].(float64)
		e.do(admin, "DELETE", "/v2.0/subnets/"+id, nil).expect(t, 204)
		if rev := e.snShow("networks", "network", netID)["revision_number"].(float64); rev <= netRev {
			t.Errorf("network revision %v not bumped from %v by a subnet delete", rev, netRev)
		}
		if rev := e.snShow("ports", "port", dhcp["id"].(string))["revision_number"].(float64); rev <= portRev {
			t.Errorf("DHCP port revision %v not bumped from %v", rev, portRev)
		}
		e.do(admin, "GET", "/v2.0/subnets/"+id, nil).fault(t, 404, "SubnetNotFound", "Subnet "+id+" could not be found.")
		e.do(admin, "DELETE", "/v2.0/subnets/"+id, nil).fault(t, 404, "SubnetNotFound", id)
		if n := e.snShow("networks", "network", netID); !reflect.DeepEqual(n["subnets"], []any{other["id"]}) {
			t.Errorf("network subnets after delete: %v", n["subnets"])
		}
		d := e.snShow("ports", "port", dhcp["id"].(string))
		if got := snFixedIPs(d); len(got) != 1 || !strings.HasPrefix(got[0], other["id"].(string)+"/") {
			t.Errorf("DHCP port's fixed_ips after the subnet went: %v", got)
		}
		// Its address range is gone with it: the CIDR can be used again.
		again := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"})
		e.snPort(admin, map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": again["id"]}}})
	})
}

// TestSubnetDeleteOnAutoAddressSubnet: user ports do not keep a SLAAC
// subnet in use; their addresses on it are removed.
func TestSubnetDeleteOnAutoAddressSubnet(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		v4 := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"})
		v6 := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64",
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
		p := e.snPort(admin, map[string]any{"network_id": netID})
		if len(snIPsOn(p, v6["id"].(string))) != 1 || len(snIPsOn(p, v4["id"].(string))) != 1 {
			t.Fatalf("port fixed_ips %v", p["fixed_ips"])
		}
		e.do(admin, "DELETE", "/v2.0/subnets/"+v6["id"].(string), nil).expect(t, 204)
		got := e.snShow("ports", "port", p["id"].(string))
		if len(snIPsOn(got, v6["id"].(string))) != 0 || len(snIPsOn(got, v4["id"].(string))) != 1 {
			t.Errorf("port fixed_ips after the SLAAC subnet went: %v", got["fixed_ips"])
		}
		e.do(admin, "DELETE", "/v2.0/subnets/"+v4["id"].(string), nil).fault(t, 409, "SubnetInUse", v4["id"].(string))
	})
}

func TestNetworkDeleteWithSubnets(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		s1 := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"})
		s2 := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64"})
		dhcp := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": "network:dhcp"})
		user := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": "compute:nova"})
		e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).fault(t, 409, "NetworkInUse",
			"Unable to complete operation on network "+netID+". There are one or more ports still in use on the network, id for these ports is: "+user["id"].(string)+".")
		// Nothing went.
		if e.snCount("subnets") != 2 || e.snCount("ports") != 2 {
			t.Fatalf("a refused network delete removed something")
		}
		e.do(admin, "DELETE", "/v2.0/ports/"+user["id"].(string), nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).expect(t, 204)
		for _, id := range []string{s1["id"].(string), s2["id"].(string)} {
			e.do(admin, "GET", "/v2.0/subnets/"+id, nil).fault(t, 404, "SubnetNotFound", id)
		}
		e.do(admin, "GET", "/v2.0/ports/"+dhcp["id"].(string), nil).fault(t, 404, "PortNotFound", dhcp["id"].(string))
		if e.snCount("subnets") != 0 || e.snCount("ports") != 0 {
			t.Errorf("subnets or ports left behind")
		}
		// The CIDRs are free again.
		n2 := e.createNetwork(admin, map[string]any{"name": "n2"})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": n2, "ip_version": 4, "cidr": "10.0.0.0/24"})
	})
}

func TestSubnetListing(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n1 := e.createNetwork(admin, map[string]any{"name": "n1"})["id"].(string)
		n2 := e.createNetwork(admin, map[string]any{"name": "n2"})["id"].(string)
		a := e.snCreate(admin, map[string]any{"network_id": n1, "ip_version": 4, "cidr": "10.0.2.0/24", "name": "a"})["id"].(string)
		b := e.snCreate(admin, map[string]any{"network_id": n1, "ip_version": 6, "cidr": "2001:db8::/64", "name": "b",
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})["id"].(string)
		c := e.snCreate(admin, map[string]any{"network_id": n2, "ip_version": 4, "cidr": "10.0.1.0/24", "name": "c",
			"enable_dhcp": false, "gateway_ip": "10.0.1.254", "description": "third"})["id"].(string)
		d := e.snCreate(admin, map[string]any{"network_id": n2, "ip_version": 4, "cidr": "10.0.3.0/24", "name": "a",
			"gateway_ip": nil})["id"].(string)
		list := func(q string) []string {
			return ids(e.do(admin, "GET", "/v2.0/subnets?"+q, nil).expect(t, 200).list(t, "subnets"))
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"network_id=" + n1, []string{a, b}},
			{"network_id=" + n1 + "&network_id=" + n2, []string{a, b, c, d}},
			{"cidr=10.0.1.0/24", []string{c}},
			{"cidr=2001:DB8::/64", []string{b}},
			{"ip_version=6", []string{b}},
			{"ip_version=4&network_id=" + n2, []string{c, d}},
			{"gateway_ip=10.0.1.254", []string{c}},
			{"enable_dhcp=false", []string{c}},
			{"enable_dhcp=true&ip_version=4", []string{a, d}},
			{"name=a", []string{a, d}},
			{"ipv6_ra_mode=slaac", []string{b}},
			{"ipv6_address_mode=slaac", []string{b}},
			{"description=third", []string{c}},
			{"id=" + d, []string{d}},
			{"tenant_id=fake_project_id&name=c", []string{c}},
			{"revision_number=0&name=b", []string{b}},
		}
		for _, tc := range cases {
			if got := list(tc.query); !sameSet(got, tc.want) {
				t.Errorf("?%s: got %v, want %v", tc.query, got, tc.want)
			}
		}
		e.do(admin, "GET", "/v2.0/subnets?allocation_pools=x", nil).fault(t, 400, "HTTPBadRequest",
			"['allocation_pools'] is invalid attribute for filtering")
		// Sorting.
		if got := list("sort_key=cidr&sort_dir=asc&ip_version=4"); !reflect.DeepEqual(got, []string{c, a, d}) {
			t.Errorf("sorted by cidr: %v, want %v", got, []string{c, a, d})
		}
		if got := list("sort_key=name&sort_dir=desc&sort_key=cidr&sort_dir=desc"); !reflect.DeepEqual(got, []string{c, b, d, a}) {
			t.Errorf("sorted by name desc, cidr desc: %v, want %v", got, []string{c, b, d, a})
		}
		// Pagination.
		r := e.do(admin, "GET", "/v2.0/subnets?limit=3&sort_key=cidr&sort_dir=asc", nil).expect(t, 200)
		page := ids(r.list(t, "subnets"))
		links, _ := r.body["subnets_links"].([]any)
		var next string
		for _, l := range links {
			if m := l.(map[string]any); m["rel"] == "next" {
				next = m["href"].(string)
			}
		}
		if !reflect.DeepEqual(page, []string{c, a, d}) || !strings.Contains(next, "marker="+d) {
			t.Fatalf("first page %v, links %v", page, links)
		}
		rest := ids(e.do(admin, "GET", strings.TrimPrefix(next, e.url), nil).expect(t, 200).list(t, "subnets"))
		if !reflect.DeepEqual(rest, []string{b}) {
			t.Errorf("second page %v", rest)
		}
		// fields.
		for _, s := range e.do(admin, "GET", "/v2.0/subnets?fields=cidr&fields=id", nil).expect(t, 200).list(t, "subnets") {
			if len(s) != 2 || s["cidr"] == nil {
				t.Errorf("fields: %v", s)
			}
		}
	})
}

func TestSubnetVisibilityAndPolicy(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		own := e.createNetwork(member1, map[string]any{"name": "own"})["id"].(string)
		shared := e.createNetwork(admin, map[string]any{"name": "shared", "shared": true})["id"].(string)
		other := e.createNetwork(member2, map[string]any{"name": "other"})["id"].(string)

		mine := e.snCreate(member1, map[string]any{"network_id": own, "ip_version": 4, "cidr": "10.0.0.0/24"})
		if mine["project_id"] != "project-one" || mine["tenant_id"] != "project-one" {
			t.Errorf("owner %v/%v", mine["project_id"], mine["tenant_id"])
		}
		onShared := e.snCreate(admin, map[string]any{"network_id": shared, "ip_version": 4, "cidr": "10.0.1.0/24"})
		theirs := e.snCreate(member2, map[string]any{"network_id": other, "ip_version": 4, "cidr": "10.0.2.0/24"})
		theirsID := theirs["id"].(string)

		// A project sees its own subnets and those of shared networks.
		got := ids(e.do(member1, "GET", "/v2.0/subnets", nil).expect(t, 200).list(t, "subnets"))
		if !sameSet(got, []string{mine["id"].(string), onShared["id"].(string)}) {
			t.Errorf("member1 sees %v", got)
		}
		e.do(member1, "GET", "/v2.0/subnets/"+onShared["id"].(string), nil).expect(t, 200)
		e.do(member1, "GET", "/v2.0/subnets/"+theirsID, nil).fault(t, 404, "SubnetNotFound", theirsID)
		e.do(member1, "PUT", "/v2.0/subnets/"+theirsID, map[string]any{"subnet": map[string]any{"name": "x"}}).
			fault(t, 404, "SubnetNotFound", theirsID)
		e.do(member1, "DELETE", "/v2.0/subnets/"+theirsID, nil).fault(t, 404, "SubnetNotFound", theirsID)
		// Only the network's owner may add subnets to it; Neutron's policy
		// answers 403 for a create.
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": other, "ip_version": 4, "cidr": "10.0.9.0/24"}}).fault(t, 403, "PolicyNotAuthorized", "rule:create_subnet")
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": shared, "ip_version": 4, "cidr": "10.0.9.0/24"}}).fault(t, 403, "PolicyNotAuthorized", "rule:create_subnet")
		// A subnet on a shared network is changed by its network's owner only.
		e.do(member1, "PUT", "/v2.0/subnets/"+onShared["id"].(string), map[string]any{"subnet": map[string]any{"name": "x"}}).
			fault(t, 403, "PolicyNotAuthorized", "update_subnet")
		e.do(member1, "DELETE", "/v2.0/subnets/"+onShared["id"].(string), nil).fault(t, 403, "PolicyNotAuthorized", "delete_subnet")
		// Neutron's policy has create_subnet:service_types, but the
		// attribute is not declared enforce_policy, so the rule is never
		// consulted: the network's owner may set service types.
		st := e.snCreate(member1, map[string]any{"network_id": own, "ip_version": 4, "cidr": "10.0.8.0/24",
			"service_types": []any{"compute:nova"}})
		if !reflect.DeepEqual(st["service_types"], []any{"compute:nova"}) {
			t.Errorf("service_types %v", st["service_types"])
		}
		// Readers read only.
		e.do(reader1, "GET", "/v2.0/subnets/"+mine["id"].(string), nil).expect(t, 200)
		e.do(reader1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": own, "ip_version": 4, "cidr": "10.0.7.0/24"}}).fault(t, 403, "PolicyNotAuthorized", "create_subnet")
		// The owner updates and deletes its own.
		e.do(member1, "PUT", "/v2.0/subnets/"+mine["id"].(string), map[string]any{"subnet": map[string]any{"name": "mine"}}).expect(t, 200)
		e.do(member1, "DELETE", "/v2.0/subnets/"+mine["id"].(string), nil).expect(t, 204)
		if n := e.snCount("subnets"); n != 3 {
			t.Errorf("%d subnets left, want 3", n)
		}
	})
}

func TestSubnetServiceTypesAndMTU(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		v4 := func(kv ...any) map[string]any {
			return snWith(map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"}, kv...)
		}
		cases := []struct {
			name     string
			attrs    map[string]any
			status   int
			typ, msg string
		}{
			{"not a list", v4("service_types", "compute:nova"), 400, "HTTPBadRequest", "Subnet service types must be a list."},
			{"not a string", v4("service_types", []any{5}), 400, "InvalidInputSubnetServiceType", "Subnet service type 5 is not a string."},
			{"not a device owner", v4("service_types", []any{"network:dhcp", "foo:bar"}), 400, "InvalidSubnetServiceType",
				"Subnet service type foo:bar does not correspond to a valid device owner."},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": c.attrs}).fault(t, c.status, c.typ, c.msg)
			})
		}
		s := e.snCreate(admin, v4("service_types", []any{"network:dhcp", "neutron:foo", "compute:nova"}))
		up := e.do(admin, "PUT", "/v2.0/subnets/"+s["id"].(string), map[string]any{"subnet": map[string]any{"service_types": []any{}}}).
			expect(t, 200).obj(t, "subnet")
		if !reflect.DeepEqual(up["service_types"], []any{}) || up["revision_number"] != float64(1) {
			t.Errorf("service_types %v revision %v", up["service_types"], up["revision_number"])
		}
		// IPv6 needs a network MTU of at least 1280.
		small := e.createNetwork(admin, map[string]any{"name": "small", "mtu": 1000})["id"].(string)
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": small, "ip_version": 6,
			"cidr": "2001:db8::/64"}}).fault(t, 409, "NetworkMTUSubnetConflict", "MTU of "+small+" is not valid, subnet requires a minimum of 1280")
		e.snCreate(admin, map[string]any{"network_id": small, "ip_version": 4, "cidr": "10.1.0.0/24"})
	})
}

// TestSubnetAutoAddressesForExistingPorts: a new SLAAC subnet gives the
// network's ports their EUI-64 address on it, router interfaces excepted
// (add_auto_addrs_on_network_ports).
func TestSubnetAutoAddressesForExistingPorts(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{"name": "n"})["id"].(string)
		v4 := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.0.0.0/24"})["id"].(string)
		vm := e.snPort(admin, map[string]any{"network_id": netID, "mac_address": "fa:16:3e:00:00:01"})
		rtr := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": "network:router_interface", "device_id": "r"})
		slaac := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8::/64",
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})["id"].(string)
		got := e.snShow("ports", "port", vm["id"].(string))
		if !reflect.DeepEqual(snIPsOn(got, slaac), []string{"2001:db8::f816:3eff:fe00:1"}) || len(snIPsOn(got, v4)) != 1 {
			t.Errorf("port after a SLAAC subnet came: %v", got["fixed_ips"])
		}
		if got["revision_number"].(float64) <= vm["revision_number"].(float64) {
			t.Errorf("port revision %v not bumped from %v", got["revision_number"], vm["revision_number"])
		}
		if r := e.snShow("ports", "port", rtr["id"].(string)); len(snIPsOn(r, slaac)) != 0 {
			t.Errorf("router interface got a SLAAC address: %v", r["fixed_ips"])
		}
		// A stateful subnet gives existing ports nothing.
		stateful := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 6, "cidr": "2001:db8:1::/64",
			"ipv6_ra_mode": "dhcpv6-stateful", "ipv6_address_mode": "dhcpv6-stateful"})["id"].(string)
		if got := e.snShow("ports", "port", vm["id"].(string)); len(snIPsOn(got, stateful)) != 0 {
			t.Errorf("port got a stateful address: %v", got["fixed_ips"])
		}
	})
}

// TestAutoDeletePortOwners: ports of Neutron's AUTO_DELETE_PORT_OWNERS
// (DHCP, distributed and floating IP agent gateway ports) keep neither a
// subnet nor a network in use, and go with their network.
func TestAutoDeletePortOwners(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		for i, owner := range []string{"network:dhcp", "network:distributed", "network:floatingip_agent_gateway"} {
			func() {
				netID := e.createNetwork(admin, map[string]any{"name": owner})["id"].(string)
				cidr := fmt.Sprintf("10.77.%d.0/24", i)
				s := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": cidr})
				extra := e.snCreate(admin, map[string]any{"network_id": netID, "ip_version": 4, "cidr": fmt.Sprintf("10.78.%d.0/24", i)})
				port := e.snPort(admin, map[string]any{"network_id": netID, "device_owner": owner,
					"fixed_ips": []any{map[string]any{"subnet_id": s["id"]}, map[string]any{"subnet_id": extra["id"]}}})
				pid := port["id"].(string)
				// Its address does not keep the subnet.
				e.do(admin, "DELETE", "/v2.0/subnets/"+extra["id"].(string), nil).expect(t, 204)
				// Nor does the port keep the network: it goes with it.
				e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).expect(t, 204)
				e.do(admin, "GET", "/v2.0/ports/"+pid, nil).fault(t, 404, "PortNotFound", pid)
				e.do(admin, "GET", "/v2.0/subnets/"+s["id"].(string), nil).fault(t, 404, "SubnetNotFound", "")
			}()
		}
	})
}

// TestSubnetSharedFilter: ?shared= selects subnets by their network's
// sharing with the caller (Neutron's filter on the network's RBAC
// policies), though subnets do not show shared.
func TestSubnetSharedFilter(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		own := e.createNetwork(ownerP, map[string]any{"name": "own"})["id"].(string)
		shared := e.createNetwork(admin, map[string]any{"name": "shared", "shared": true})["id"].(string)
		toOne := e.createNetwork(guestP, map[string]any{"name": "to-one"})["id"].(string)
		e.do(guestP, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": toOne, "action": "access_as_shared", "target_tenant": ownerP.project,
		}}).expect(t, 201)
		mine := e.snCreate(ownerP, map[string]any{"network_id": own, "ip_version": 4, "cidr": "10.0.0.0/24"})["id"].(string)
		onShared := e.snCreate(admin, map[string]any{"network_id": shared, "ip_version": 4, "cidr": "10.0.1.0/24"})["id"].(string)
		onToOne := e.snCreate(guestP, map[string]any{"network_id": toOne, "ip_version": 4, "cidr": "10.0.2.0/24"})["id"].(string)

		list := func(as *caller, q string) []string {
			items := e.do(as, "GET", "/v2.0/subnets"+q, nil).expect(t, 200).list(t, "subnets")
			for _, s := range items {
				if _, ok := s["shared"]; ok {
					t.Errorf("subnet shows shared: %v", s)
				}
			}
			return ids(items)
		}
		for _, c := range []struct {
			as    *caller
			query string
			want  []string
		}{
			{ownerP, "?shared=true", []string{onShared, onToOne}},
			{ownerP, "?shared=True", []string{onShared, onToOne}},
			{ownerP, "?shared=false", []string{mine}},
			{ownerP, "?shared=false&shared=true", []string{mine}},
			// Shared with ownerP's project only: for its owner it is not shared.
			{guestP, "?shared=true", []string{onShared}},
			{guestP, "?shared=false", []string{onToOne}},
			{admin, "?shared=true", []string{onShared}},
			{admin, "?shared=false", []string{mine, onToOne}},
			{admin, "?shared=false&cidr=10.0.0.0/24", []string{mine}},
		} {
			if got := list(c.as, c.query); !sameSet(got, c.want) {
				t.Errorf("%v %s: got %v, want %v", c.as, c.query, got, c.want)
			}
		}
		e.do(ownerP, "GET", "/v2.0/subnets?shared=perhaps", nil).fault(t, 400, "InvalidInput", "cannot be converted to boolean")
	})
}
