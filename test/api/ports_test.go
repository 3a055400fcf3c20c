package api_test

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Port tests. Each behaviour is Neutron's; the comments name where
// Neutron implements or tests it (neutron/db/db_base_plugin_v2.py,
// neutron/db/ipam_pluggable_backend.py, neutron/tests/common/
// test_db_base_plugin_v2.py …).

var (
	service1 = &caller{project: "service-project", roles: "service"}
	// manager1 is a project manager of project-one (update_port:mac_address).
	manager1 = &caller{project: "project-one", roles: "manager,member,reader"}
)

// portSubnet creates a subnet on a network as the caller and returns it.
func (e *env) portSubnet(as *caller, netID string, attrs map[string]any) map[string]any {
	e.t.Helper()
	body := map[string]any{"network_id": netID, "ip_version": 4}
	for k, v := range attrs {
		body[k] = v
	}
	return e.do(as, "POST", "/v2.0/subnets", map[string]any{"subnet": body}).expect(e.t, 201).obj(e.t, "subnet")
}

// portCreate creates a port as the caller and returns it.
func (e *env) portCreate(as *caller, netID string, attrs map[string]any) map[string]any {
	e.t.Helper()
	body := map[string]any{"network_id": netID}
	for k, v := range attrs {
		body[k] = v
	}
	return e.do(as, "POST", "/v2.0/ports", map[string]any{"port": body}).expect(e.t, 201).obj(e.t, "port")
}

// portUpdate updates a port as the caller and returns the reply.
func (e *env) portUpdate(as *caller, id string, attrs map[string]any) *reply {
	e.t.Helper()
	return e.do(as, "PUT", "/v2.0/ports/"+id, map[string]any{"port": attrs})
}

// fixedIPs returns a port's fixed_ips as subnet_id → sorted addresses.
func ptIPs(t testing.TB, port map[string]any) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	items, ok := port["fixed_ips"].([]any)
	if !ok {
		t.Fatalf("fixed_ips is %T: %v", port["fixed_ips"], port["fixed_ips"])
	}
	for _, it := range items {
		m := it.(map[string]any)
		if len(m) != 2 {
			t.Errorf("fixed IP %v has keys other than subnet_id and ip_address", m)
		}
		sid, ip := m["subnet_id"].(string), m["ip_address"].(string)
		out[sid] = append(out[sid], ip)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// addresses returns every address of a port.
func ptAddrs(t testing.TB, port map[string]any) []string {
	var out []string
	for _, ips := range ptIPs(t, port) {
		out = append(out, ips...)
	}
	sort.Strings(out)
	return out
}

// eui64 is the SLAAC address of mac in prefix (RFC 4291 appendix A).
func ptEUI64(t testing.TB, prefix, mac string) string {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	b := p.Addr().As16()
	b[8], b[9], b[10], b[11] = hw[0]^0x02, hw[1], hw[2], 0xff
	b[12], b[13], b[14], b[15] = 0xfe, hw[3], hw[4], hw[5]
	return netip.AddrFrom16(b).String()
}

func TestPortCreateDefaults(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{"name": "n"})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		p := e.portCreate(admin, netID, map[string]any{"name": "p1"})
		want := map[string]any{
			"name": "p1", "network_id": netID, "admin_state_up": true, "status": "DOWN",
			"device_id": "", "device_owner": "", "tenant_id": "fake_project_id", "project_id": "fake_project_id",
			"allowed_address_pairs": []any{}, "extra_dhcp_opts": []any{}, "port_security_enabled": true,
			"binding:host_id": "", "binding:vnic_type": "normal", "binding:profile": map[string]any{},
			"binding:vif_type": "unbound", "binding:vif_details": map[string]any{}, "ip_allocation": "immediate",
			"description": "",
		}
		for k, v := range want {
			if !reflect.DeepEqual(p[k], v) {
				t.Errorf("%s = %#v, want %#v", k, p[k], v)
			}
		}
		mac, _ := p["mac_address"].(string)
		if !strings.HasPrefix(mac, "fa:16:3e:") || len(mac) != 17 {
			t.Errorf("mac_address %q not under base_mac fa:16:3e", mac)
		}
		if got := ptIPs(t, p); len(got) != 1 || len(got[s["id"].(string)]) != 1 {
			t.Errorf("fixed_ips %v, want one address from %s", p["fixed_ips"], s["id"])
		} else if a := netip.MustParseAddr(got[s["id"].(string)][0]); !netip.MustParsePrefix("10.0.0.0/24").Contains(a) ||
			a.String() == "10.0.0.1" || a.String() == "10.0.0.0" || a.String() == "10.0.0.255" {
			t.Errorf("address %s is not in the allocation pool", a)
		}
		// Show agrees with create.
		got := e.do(admin, "GET", "/v2.0/ports/"+p["id"].(string), nil).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(got, p) {
			t.Errorf("show differs from create:\n%v\n%v", got, p)
		}
		// port_security_enabled defaults to the network's.
		insecure := e.createNetwork(admin, map[string]any{"port_security_enabled": false})
		q := e.portCreate(admin, insecure["id"].(string), nil)
		if q["port_security_enabled"] != false {
			t.Errorf("port on a network without port security: port_security_enabled %v", q["port_security_enabled"])
		}
		q = e.portCreate(admin, insecure["id"].(string), map[string]any{"port_security_enabled": true})
		if q["port_security_enabled"] != true {
			t.Errorf("explicit port_security_enabled: %v", q["port_security_enabled"])
		}
		// A port on a network without subnets has no address, and is still
		// "immediate".
		if fixed := q["fixed_ips"].([]any); len(fixed) != 0 || q["ip_allocation"] != "immediate" {
			t.Errorf("port without subnets: %v, %v", q["fixed_ips"], q["ip_allocation"])
		}
		// Settable attributes.
		r := e.portCreate(admin, netID, map[string]any{"device_id": "vm-1", "device_owner": "compute:nova",
			"admin_state_up": false, "mac_address": "FA-16-3E-AA-BB-CC", "description": "d"})
		for k, v := range map[string]any{"device_id": "vm-1", "device_owner": "compute:nova", "admin_state_up": false,
			"mac_address": "fa:16:3e:aa:bb:cc", "description": "d"} {
			if r[k] != v {
				t.Errorf("%s = %v, want %v", k, r[k], v)
			}
		}
	})
}

func TestPortInputErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		sid := s["id"].(string)
		other := e.createNetwork(admin, map[string]any{})
		os := e.portSubnet(admin, other["id"].(string), map[string]any{"cidr": "10.9.0.0/24"})
		bare := e.createNetwork(admin, map[string]any{})
		missing := "7e6c2b1a-0f8e-4f4e-9a4e-8a7d2c1b0e9f"
		cases := []struct {
			name     string
			body     any
			status   int
			typ, msg string
		}{
			{"no network", map[string]any{"name": "x"}, 400, "HTTPBadRequest",
				"Failed to parse request. Required attribute 'network_id' not specified"},
			{"unknown network", map[string]any{"network_id": missing}, 404, "NetworkNotFound",
				"Network " + missing + " could not be found."},
			{"bad network id", map[string]any{"network_id": "nope"}, 400, "HTTPBadRequest",
				"Invalid input for network_id. Reason: 'nope' is not a valid UUID."},
			{"bad mac", map[string]any{"network_id": netID, "mac_address": "mac"}, 400, "HTTPBadRequest",
				"Invalid input for mac_address. Reason: 'mac' is not a valid MAC address."},
			{"zero mac", map[string]any{"network_id": netID, "mac_address": "00:00:00:00:00:00"}, 400, "HTTPBadRequest",
				"'00:00:00:00:00:00' is not a valid MAC address"},
			{"broadcast mac", map[string]any{"network_id": netID, "mac_address": "ff:ff:ff:ff:ff:ff"}, 400, "HTTPBadRequest",
				"'ff:ff:ff:ff:ff:ff' is not a valid MAC address"},
			{"bad admin state", map[string]any{"network_id": netID, "admin_state_up": 7}, 400, "InvalidInput",
				"'7' cannot be converted to boolean"},
			{"null device_id", map[string]any{"network_id": netID, "device_id": nil}, 400, "HTTPBadRequest",
				"Invalid input for device_id. Reason: 'None' is not a valid string."},
			{"status on create", map[string]any{"network_id": netID, "status": "ACTIVE"}, 400, "HTTPBadRequest",
				"Attribute 'status' not allowed in POST"},
			{"fixed_ips not a list", map[string]any{"network_id": netID, "fixed_ips": "10.0.0.5"}, 400, "HTTPBadRequest",
				"Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '10.0.0.5'."},
			{"fixed ip not a dict", map[string]any{"network_id": netID, "fixed_ips": []any{"10.0.0.5"}}, 400, "HTTPBadRequest",
				"Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '10.0.0.5'."},
			{"invalid ip", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "1011.0.0.5"}}},
				400, "HTTPBadRequest", "Invalid input for fixed_ips. Reason: '1011.0.0.5' is not a valid IP address."},
			{"zero-filled ip", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"ip_address": "10.0.0.05"}}},
				400, "HTTPBadRequest", "Invalid input for fixed_ips. Reason: '10.0.0.05' is not an accepted IP address, '10.0.0.5' is recommended."},
			{"duplicate ip", map[string]any{"network_id": netID, "fixed_ips": []any{
				map[string]any{"subnet_id": sid, "ip_address": "10.0.0.5"}, map[string]any{"subnet_id": sid, "ip_address": "10.0.0.5"}}},
				400, "HTTPBadRequest", "Invalid input for fixed_ips. Reason: Duplicate IP address '10.0.0.5'."},
			{"invalid subnet id", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": "i am invalid"}}},
				400, "HTTPBadRequest", "Invalid input for fixed_ips. Reason: 'i am invalid' is not a valid UUID."},
			{"unknown subnet", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": sid}, map[string]any{"subnet_id": missing}}},
				404, "SubnetNotFound", "Subnet " + missing + " could not be found."},
			{"subnet of another network", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": os["id"]}}},
				400, "InvalidInput", fmt.Sprintf("Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.", netID, os["id"])},
			{"ip outside the subnet", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "1.1.1.1"}}},
				400, "InvalidIpForSubnet", "IP address 1.1.1.1 is not a valid IP for the specified subnet."},
			{"ip outside the network", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"ip_address": "1.1.1.1"}}},
				400, "InvalidIpForNetwork", "IP address 1.1.1.1 is not a valid IP for any of the subnets on the specified network."},
			{"network address", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"ip_address": "10.0.0.0"}}},
				400, "InvalidIpForNetwork", "IP address 10.0.0.0 is not a valid IP for any of the subnets on the specified network."},
			{"broadcast address", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "10.0.0.255"}}},
				400, "InvalidIpForSubnet", "IP address 10.0.0.255 is not a valid IP for the specified subnet."},
			{"neither subnet nor ip", map[string]any{"network_id": netID, "fixed_ips": []any{map[string]any{}}},
				400, "InvalidInput", "Invalid input for operation: IP allocation requires subnet_id or ip_address."},
			{"fixed ips without subnets", map[string]any{"network_id": bare["id"], "fixed_ips": []any{map[string]any{"ip_address": "10.0.0.5"}}},
				400, "InvalidInput", "Invalid input for operation: IP allocation requires subnets for network."},
			{"bad vnic type", map[string]any{"network_id": netID, "binding:vnic_type": "fast"}, 400, "HTTPBadRequest",
				"Invalid input for binding:vnic_type. Reason: fast is not in valid_values."},
			{"profile not a dict", map[string]any{"network_id": netID, "binding:profile": "x"}, 400, "HTTPBadRequest",
				"Invalid input for binding:profile. Reason: 'x' is not a dictionary."},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": c.body}).fault(t, c.status, c.typ, c.msg)
			})
		}
		// Nothing was created, and no address was consumed.
		if ports := e.do(admin, "GET", "/v2.0/ports", nil).expect(t, 200).list(t, "ports"); len(ports) != 0 {
			t.Errorf("failed creates left %d ports", len(ports))
		}
		av := e.do(admin, "GET", "/v2.0/network-ip-availabilities/"+netID, nil).expect(t, 200).obj(t, "network_ip_availability")
		if av["used_ips"] != float64(0) {
			t.Errorf("failed creates left %v addresses in use", av["used_ips"])
		}
		// Unknown keys in a fixed IP are ignored, as neutron-lib's
		// validate_fixed_ips does.
		q := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid, "bogus": 1}}})
		if len(ptAddrs(t, q)) != 1 {
			t.Errorf("fixed IP with an unknown key: %v", q["fixed_ips"])
		}
	})
}

func TestPortFixedIPs(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		sid := s["id"].(string)

		// By subnet, by address, by both (test_requested_subnet_id,
		// test_requested_ips_only, test_update_port_update_ip).
		bySubnet := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid}}})
		if got := ptIPs(t, bySubnet)[sid]; len(got) != 1 {
			t.Errorf("by subnet: %v", bySubnet["fixed_ips"])
		}
		byIP := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.18"}}})
		if !reflect.DeepEqual(ptIPs(t, byIP), map[string][]string{sid: {"10.0.0.18"}}) {
			t.Errorf("by address: %v", byIP["fixed_ips"])
		}
		both := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "10.0.0.20"}}})
		if !reflect.DeepEqual(ptIPs(t, both), map[string][]string{sid: {"10.0.0.20"}}) {
			t.Errorf("by subnet and address: %v", both["fixed_ips"])
		}
		// The gateway address may be requested; an address outside the
		// allocation pools but inside the subnet too.
		gw := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "10.0.0.1"}}})
		if !reflect.DeepEqual(ptAddrs(t, gw), []string{"10.0.0.1"}) {
			t.Errorf("gateway address: %v", gw["fixed_ips"])
		}
		// A taken address is IpAddressAlreadyAllocated (409).
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "10.0.0.18"}}}}).
			fault(t, 409, "IpAddressAlreadyAllocated", "IP address 10.0.0.18 already allocated in subnet "+sid)
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.1"}}}}).
			fault(t, 409, "IpAddressAlreadyAllocated", "IP address 10.0.0.1 already allocated in subnet "+sid)

		// Several addresses on one subnet: specific ones are taken first,
		// so an automatic one never steals them (test_range_allocation,
		// test_create_port_anticipating_allocation).
		small := e.createNetwork(admin, map[string]any{})
		ss := e.portSubnet(admin, small["id"].(string), map[string]any{"cidr": "10.1.0.0/29", "gateway_ip": "10.1.0.3"})
		ssid := ss["id"].(string)
		five := make([]any, 5)
		for i := range five {
			five[i] = map[string]any{"subnet_id": ssid}
		}
		multi := e.portCreate(admin, small["id"].(string), map[string]any{"fixed_ips": five})
		if got := ptIPs(t, multi)[ssid]; !reflect.DeepEqual(got, []string{"10.1.0.1", "10.1.0.2", "10.1.0.4", "10.1.0.5", "10.1.0.6"}) {
			t.Errorf("five addresses on a /29 with gateway .3: %v", got)
		}
		e.do(admin, "DELETE", "/v2.0/ports/"+multi["id"].(string), nil).expect(t, 204)
		anticipating := e.portCreate(admin, small["id"].(string), map[string]any{"fixed_ips": []any{
			map[string]any{"subnet_id": ssid}, map[string]any{"subnet_id": ssid, "ip_address": "10.1.0.1"}}})
		if got := ptIPs(t, anticipating)[ssid]; len(got) != 2 || got[0] != "10.1.0.1" {
			t.Errorf("specific address not honoured before automatic one: %v", got)
		}

		// fixed_ips: [] makes an unaddressed port (ip_allocation "none").
		none := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{}})
		if len(none["fixed_ips"].([]any)) != 0 || none["ip_allocation"] != "none" {
			t.Errorf("fixed_ips []: %v, ip_allocation %v", none["fixed_ips"], none["ip_allocation"])
		}
	})
}

func TestPortAutomaticAddresses(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		// test_create_port_with_multiple_ipv4_and_ipv6_subnets: one address
		// from an IPv4 subnet, one from a DHCPv6-stateful subnet, and one
		// from every SLAAC subnet.
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		kind := map[string]string{}
		for _, sd := range []struct{ cidr, mode string }{
			{"10.0.0.0/24", ""}, {"10.0.1.0/24", ""},
			{"2001:db8:1::/64", "slaac"}, {"2001:db8:2::/64", "slaac"},
			{"2001:db8:3::/64", "dhcpv6-stateful"}, {"2001:db8:4::/64", "dhcpv6-stateful"},
			{"2001:db8:5::/64", "dhcpv6-stateless"},
		} {
			attrs := map[string]any{"cidr": sd.cidr}
			if sd.mode != "" {
				attrs["ip_version"] = 6
				attrs["ipv6_ra_mode"] = sd.mode
				attrs["ipv6_address_mode"] = sd.mode
			}
			s := e.portSubnet(admin, netID, attrs)
			kind[s["id"].(string)] = sd.mode
			kind[sd.cidr] = s["id"].(string)
		}
		p := e.portCreate(admin, netID, nil)
		count := map[string]int{}
		for sid, ips := range ptIPs(t, p) {
			count[kind[sid]] += len(ips)
		}
		if !reflect.DeepEqual(count, map[string]int{"": 1, "slaac": 2, "dhcpv6-stateful": 1, "dhcpv6-stateless": 1}) {
			t.Errorf("automatic addresses by mode %v (%v)", count, p["fixed_ips"])
		}
		mac := p["mac_address"].(string)
		if got := ptIPs(t, p)[kind["2001:db8:1::/64"]]; len(got) != 1 || got[0] != ptEUI64(t, "2001:db8:1::/64", mac) {
			t.Errorf("SLAAC address %v, want the EUI-64 address %s", got, ptEUI64(t, "2001:db8:1::/64", mac))
		}
		// A router interface gets no SLAAC address
		// (test_create_router_port_ipv4_and_ipv6_slaac_no_fixed_ips).
		r := e.portCreate(admin, netID, map[string]any{"device_owner": "network:router_interface"})
		for sid := range ptIPs(t, r) {
			if m := kind[sid]; m == "slaac" || m == "dhcpv6-stateless" {
				t.Errorf("router interface got an address on %s subnet %s", m, sid)
			}
		}
		// Asking for a SLAAC subnet gives its EUI-64 address
		// (test_requested_subnet_id_v6_slaac); asking for another address
		// there is AllocationOnAutoAddressSubnet.
		slaac := kind["2001:db8:1::/64"]
		q := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": slaac}}})
		if got := ptIPs(t, q)[slaac]; len(got) != 1 || got[0] != ptEUI64(t, "2001:db8:1::/64", q["mac_address"].(string)) {
			t.Errorf("SLAAC subnet requested: %v", q["fixed_ips"])
		}
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"fixed_ips": []any{map[string]any{"subnet_id": slaac, "ip_address": "2001:db8:1::5"}}}}).
			fault(t, 400, "AllocationOnAutoAddressSubnet",
				"IPv6 address 2001:db8:1::5 cannot be directly assigned to a port on subnet "+slaac+" as the subnet is configured for automatic addresses")

		// When one IPv4 subnet is full the next one serves: two subnets
		// with one address each give two ports an address.
		n2 := e.createNetwork(admin, map[string]any{})
		one := e.portSubnet(admin, n2["id"].(string), map[string]any{"cidr": "10.2.0.0/30"})
		two := e.portSubnet(admin, n2["id"].(string), map[string]any{"cidr": "10.2.1.0/30"})
		first := e.portCreate(admin, n2["id"].(string), nil)
		second := e.portCreate(admin, n2["id"].(string), nil)
		got := map[string]bool{}
		for _, p := range []map[string]any{first, second} {
			for sid := range ptIPs(t, p) {
				got[sid] = true
			}
		}
		if !got[one["id"].(string)] || !got[two["id"].(string)] {
			t.Errorf("allocation does not fall over to the next IPv4 subnet: %v then %v", first["fixed_ips"], second["fixed_ips"])
		}
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": n2["id"]}}).
			fault(t, 409, "IpAddressGenerationFailure", "No more IP addresses available on network "+n2["id"].(string)+".")
	})
}

func TestPortSubnetExhaustion(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/29"}) // .2-.6: five addresses
		sid := s["id"].(string)
		var ports []map[string]any
		seen := map[string]bool{}
		for range 5 {
			p := e.portCreate(admin, netID, nil)
			for _, a := range ptAddrs(t, p) {
				if seen[a] {
					t.Errorf("address %s handed out twice", a)
				}
				seen[a] = true
			}
			ports = append(ports, p)
		}
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}).
			fault(t, 409, "IpAddressGenerationFailure", "No more IP addresses available on network "+netID+".")
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"fixed_ips": []any{map[string]any{"subnet_id": sid}}}}).
			fault(t, 409, "IpAddressGenerationFailure", "No more IP addresses available on network "+netID+".")
		// A bulk create that runs out rolls back entirely.
		e.do(admin, "DELETE", "/v2.0/ports/"+ports[0]["id"].(string), nil).expect(t, 204)
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"ports": []any{
			map[string]any{"network_id": netID}, map[string]any{"network_id": netID}}}).
			fault(t, 409, "IpAddressGenerationFailure", "")
		// Deleting a port releases its address for reuse.
		p := e.portCreate(admin, netID, nil)
		if got := ptAddrs(t, p); !reflect.DeepEqual(got, ptAddrs(t, ports[0])) {
			t.Errorf("released address not reused: got %v, released %v", got, ptAddrs(t, ports[0]))
		}
		// The released address may also be asked for by name.
		e.do(admin, "DELETE", "/v2.0/ports/"+ports[1]["id"].(string), nil).expect(t, 204)
		q := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": ptAddrs(t, ports[1])[0]}}})
		if !reflect.DeepEqual(ptAddrs(t, q), ptAddrs(t, ports[1])) {
			t.Errorf("released address not requestable: %v", q["fixed_ips"])
		}
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}).
			fault(t, 409, "IpAddressGenerationFailure", "")
		// Availability agrees.
		av := e.do(admin, "GET", "/v2.0/network-ip-availabilities/"+netID, nil).expect(t, 200).obj(t, "network_ip_availability")
		if av["total_ips"] != float64(5) || av["used_ips"] != float64(5) {
			t.Errorf("availability %v", av)
		}
	})
}

func TestPortMACAddress(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		p := e.portCreate(admin, netID, nil)
		mac := p["mac_address"].(string)
		// A MAC is unique per network (test_requested_duplicate_mac) …
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "mac_address": strings.ToUpper(mac)}}).
			fault(t, 409, "MacAddressInUse", fmt.Sprintf("Unable to complete operation for network %s. The mac address %s is in use.", netID, mac))
		// … but not across networks.
		other := e.createNetwork(admin, map[string]any{})
		if q := e.portCreate(admin, other["id"].(string), map[string]any{"mac_address": mac}); q["mac_address"] != mac {
			t.Errorf("same MAC on another network: %v", q["mac_address"])
		}
		// Generated MACs are distinct.
		macs := map[string]bool{mac: true}
		for range 20 {
			m := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{}})["mac_address"].(string)
			if macs[m] {
				t.Errorf("MAC %s generated twice", m)
			}
			macs[m] = true
		}

		// Update: allowed while unbound (test_update_port_mac); the new MAC
		// must be free (test_update_port_mac_used).
		id := p["id"].(string)
		up := e.portUpdate(admin, id, map[string]any{"mac_address": "fa:16:3e:00:00:01"}).expect(t, 200).obj(t, "port")
		if up["mac_address"] != "fa:16:3e:00:00:01" || !reflect.DeepEqual(up["fixed_ips"], p["fixed_ips"]) {
			t.Errorf("MAC update: %v %v", up["mac_address"], up["fixed_ips"])
		}
		q := e.portCreate(admin, netID, nil)
		e.portUpdate(admin, id, map[string]any{"mac_address": q["mac_address"]}).
			fault(t, 409, "MacAddressInUse", q["mac_address"].(string))
		// MAC and addresses together (test_update_port_mac_ip); pairs given
		// with the change take the new MAC.
		both := e.portUpdate(admin, q["id"].(string), map[string]any{"mac_address": "fa:16:3e:00:00:09",
			"fixed_ips":             []any{map[string]any{"ip_address": "10.0.0.99"}},
			"allowed_address_pairs": []any{map[string]any{"ip_address": "10.0.0.98"}}}).expect(t, 200).obj(t, "port")
		if both["mac_address"] != "fa:16:3e:00:00:09" || !reflect.DeepEqual(ptAddrs(t, both), []string{"10.0.0.99"}) ||
			!reflect.DeepEqual(both["allowed_address_pairs"], []any{map[string]any{"ip_address": "10.0.0.98", "mac_address": "fa:16:3e:00:00:09"}}) {
			t.Errorf("MAC, address and pairs update: %v %v %v", both["mac_address"], both["fixed_ips"], both["allowed_address_pairs"])
		}
		// The network's own ports keep their MAC (test_update_port_mac_bad_owner).
		dhcp := e.portCreate(admin, netID, map[string]any{"device_owner": "network:dhcp"})
		e.portUpdate(admin, dhcp["id"].(string), map[string]any{"mac_address": "fa:16:3e:00:00:02"}).
			fault(t, 409, "UnsupportedPortDeviceOwner", "Operation mac address update is not supported for device_owner network:dhcp on port")

		// Who may change a MAC: admins, services and the network owner's
		// managers (update_port:mac_address); not plain members.
		own := e.createNetwork(member1, map[string]any{})
		e.portSubnet(member1, own["id"].(string), map[string]any{"cidr": "10.5.0.0/24"})
		mp := e.portCreate(member1, own["id"].(string), nil)
		e.portUpdate(member1, mp["id"].(string), map[string]any{"mac_address": "fa:16:3e:00:00:03"}).
			fault(t, 403, "PolicyNotAuthorized", "update_port:mac_address")
		e.portUpdate(manager1, mp["id"].(string), map[string]any{"mac_address": "fa:16:3e:00:00:03"}).expect(t, 200)
		// Members may not pick a MAC on a network they do not own.
		shared := e.createNetwork(admin, map[string]any{"shared": true})
		e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": shared["id"], "mac_address": "fa:16:3e:00:00:04"}}).
			fault(t, 403, "PolicyNotAuthorized", "create_port:mac_address")

		// A SLAAC address follows the MAC (test_update_port_mac_v6_slaac).
		v6 := e.createNetwork(admin, map[string]any{})
		s6 := e.portSubnet(admin, v6["id"].(string), map[string]any{"cidr": "2001:db8::/64", "ip_version": 6,
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
		p6 := e.portCreate(admin, v6["id"].(string), nil)
		up6 := e.portUpdate(admin, p6["id"].(string), map[string]any{"mac_address": "fa:16:3e:12:34:56"}).expect(t, 200).obj(t, "port")
		if got := ptIPs(t, up6)[s6["id"].(string)]; len(got) != 1 || got[0] != ptEUI64(t, "2001:db8::/64", "fa:16:3e:12:34:56") {
			t.Errorf("SLAAC address after MAC change: %v", up6["fixed_ips"])
		}
		// And the old EUI-64 address is free again: a port with the old MAC
		// on this network gets it.
		p7 := e.portCreate(admin, v6["id"].(string), map[string]any{"mac_address": p6["mac_address"]})
		if !reflect.DeepEqual(p7["fixed_ips"].([]any)[0].(map[string]any)["ip_address"], p6["fixed_ips"].([]any)[0].(map[string]any)["ip_address"]) {
			t.Errorf("old SLAAC address not released: %v vs %v", p7["fixed_ips"], p6["fixed_ips"])
		}
	})
}

// TestPortGeneratedMACTaken creates ports under a base_mac that leaves two
// random octets, in bulks large enough that some random MAC meets one
// already in use (inside the bulk, or on the network): a create first
// draws a MAC without looking it up, and when the port's row is refused
// for it the create runs again, looking its MACs up; every port is
// created, with a MAC of its own.
func TestPortGeneratedMACTaken(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.base_mac": "fa:16:3e:4f:00:00", "quotas.quota_port": "-1"}, func(t *testing.T, e *env) {
		netID := e.createNetwork(admin, map[string]any{})["id"].(string)
		macs := map[string]bool{}
		for range 3 {
			ports := make([]any, 400)
			for i := range ports {
				ports[i] = map[string]any{"network_id": netID, "fixed_ips": []any{}}
			}
			r := e.do(admin, "POST", "/v2.0/ports", map[string]any{"ports": ports}).expect(t, 201)
			for _, it := range r.body["ports"].([]any) {
				mac := it.(map[string]any)["mac_address"].(string)
				if !strings.HasPrefix(mac, "fa:16:3e:4f:") || macs[mac] {
					t.Fatalf("MAC %s: not under base_mac, or given twice", mac)
				}
				macs[mac] = true
			}
		}
	})
}

func TestPortUpdateFixedIPs(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		sid := s["id"].(string)
		p := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "10.0.0.2"}}})
		id := p["id"].(string)
		rev := p["revision_number"].(float64)

		// Change (test_update_port_update_ip).
		up := e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "10.0.0.10"}}}).
			expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptAddrs(t, up), []string{"10.0.0.10"}) {
			t.Fatalf("change: %v", up["fixed_ips"])
		}
		if up["revision_number"].(float64) <= rev {
			t.Errorf("revision not bumped by a fixed_ips change: %v", up["revision_number"])
		}
		// The released address is free again.
		q := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.2"}}})
		e.do(admin, "DELETE", "/v2.0/ports/"+q["id"].(string), nil).expect(t, 204)
		// Add, keeping by address only (test_update_port_update_ip_address_only).
		up = e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{
			map[string]any{"ip_address": "10.0.0.10"}, map[string]any{"subnet_id": sid, "ip_address": "10.0.0.11"}}}).
			expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptAddrs(t, up), []string{"10.0.0.10", "10.0.0.11"}) {
			t.Errorf("add: %v", up["fixed_ips"])
		}
		// Add one by subnet, keeping the others by subnet
		// (test_update_port_add_additional_ip).
		up = e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{
			map[string]any{"subnet_id": sid}, map[string]any{"subnet_id": sid}, map[string]any{"subnet_id": sid}}}).
			expect(t, 200).obj(t, "port")
		got := ptAddrs(t, up)
		if len(got) != 3 || !ptHas(got, "10.0.0.10") || !ptHas(got, "10.0.0.11") {
			t.Errorf("add by subnet: %v", got)
		}
		// Remove.
		up = e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.11"}}}).
			expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptAddrs(t, up), []string{"10.0.0.11"}) {
			t.Errorf("remove: %v", up["fixed_ips"])
		}
		shown := e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptAddrs(t, shown), []string{"10.0.0.11"}) {
			t.Errorf("show after update: %v", shown["fixed_ips"])
		}
		for _, a := range got {
			if a == "10.0.0.11" {
				continue
			}
			// Removed addresses can be taken by others.
			r := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": a}}})
			e.do(admin, "DELETE", "/v2.0/ports/"+r["id"].(string), nil).expect(t, 204)
		}
		// Taking another port's address fails, and changes nothing.
		other := e.portCreate(admin, netID, nil)
		e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": ptAddrs(t, other)[0]}}}).
			fault(t, 409, "IpAddressAlreadyAllocated", "IP address "+ptAddrs(t, other)[0]+" already allocated in subnet "+sid)
		e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": sid, "ip_address": "1.1.1.1"}}}).
			fault(t, 400, "InvalidIpForSubnet", "IP address 1.1.1.1 is not a valid IP for the specified subnet.")
		shown = e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptAddrs(t, shown), []string{"10.0.0.11"}) {
			t.Errorf("failed updates changed the port: %v", shown["fixed_ips"])
		}
		// Remove all (test_update_port_delete_ip).
		up = e.portUpdate(admin, id, map[string]any{"fixed_ips": []any{}, "admin_state_up": false}).expect(t, 200).obj(t, "port")
		if len(up["fixed_ips"].([]any)) != 0 || up["admin_state_up"] != false {
			t.Errorf("remove all: %v", up)
		}
		// Updating other attributes leaves addresses alone.
		r := e.portCreate(admin, netID, nil)
		up = e.portUpdate(admin, r["id"].(string), map[string]any{"name": "renamed"}).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(up["fixed_ips"], r["fixed_ips"]) {
			t.Errorf("rename changed addresses: %v → %v", r["fixed_ips"], up["fixed_ips"])
		}

		// SLAAC addresses stay unless explicitly deleted
		// (test_update_port_excluding_ipv6_slaac_subnet_from_fixed_ips,
		// test_update_port_with_new_ipv6_slaac_subnet_in_fixed_ips).
		ds := e.createNetwork(admin, map[string]any{})
		v4 := e.portSubnet(admin, ds["id"].(string), map[string]any{"cidr": "10.7.0.0/24"})
		v6 := e.portSubnet(admin, ds["id"].(string), map[string]any{"cidr": "2001:db8::/64", "ip_version": 6,
			"ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
		dp := e.portCreate(admin, ds["id"].(string), nil)
		if len(ptAddrs(t, dp)) != 2 {
			t.Fatalf("dual-stack port: %v", dp["fixed_ips"])
		}
		slaacAddr := ptEUI64(t, "2001:db8::/64", dp["mac_address"].(string))
		up = e.portUpdate(admin, dp["id"].(string), map[string]any{"fixed_ips": []any{
			map[string]any{"subnet_id": v4["id"], "ip_address": "10.7.0.10"}}}).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptIPs(t, up), map[string][]string{v4["id"].(string): {"10.7.0.10"}, v6["id"].(string): {slaacAddr}}) {
			t.Errorf("SLAAC address not kept: %v", up["fixed_ips"])
		}
		up = e.portUpdate(admin, dp["id"].(string), map[string]any{"fixed_ips": []any{
			map[string]any{"subnet_id": v4["id"]}, map[string]any{"subnet_id": v6["id"], "delete_subnet": true}}}).
			expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptIPs(t, up), map[string][]string{v4["id"].(string): {"10.7.0.10"}}) {
			t.Errorf("SLAAC address not deleted: %v", up["fixed_ips"])
		}
		up = e.portUpdate(admin, dp["id"].(string), map[string]any{"fixed_ips": []any{
			map[string]any{"subnet_id": v4["id"]}, map[string]any{"subnet_id": v6["id"]}}}).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptIPs(t, up), map[string][]string{v4["id"].(string): {"10.7.0.10"}, v6["id"].(string): {slaacAddr}}) {
			t.Errorf("SLAAC address not re-added: %v", up["fixed_ips"])
		}
		// Only the SLAAC subnet named: the IPv4 address goes
		// (test_update_port_with_ipv6_slaac_subnet_in_fixed_ips).
		up = e.portUpdate(admin, dp["id"].(string), map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": v6["id"]}}}).
			expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(ptIPs(t, up), map[string][]string{v6["id"].(string): {slaacAddr}}) {
			t.Errorf("update to the SLAAC subnet only: %v", up["fixed_ips"])
		}
	})
}

func ptHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPortAllowedAddressPairs(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		pairs := []any{map[string]any{"mac_address": "00:00:00:00:00:01", "ip_address": "10.0.0.1"}}
		p := e.portCreate(admin, netID, map[string]any{"allowed_address_pairs": pairs})
		if !reflect.DeepEqual(p["allowed_address_pairs"], pairs) {
			t.Errorf("pairs %v, want %v", p["allowed_address_pairs"], pairs)
		}
		// The MAC defaults to the port's (test_create_address_gets_port_mac);
		// CIDRs are allowed and kept as given.
		q := e.portCreate(admin, netID, map[string]any{"allowed_address_pairs": []any{
			map[string]any{"ip_address": "23.23.23.23"}, map[string]any{"ip_address": "10.1.0.0/24"},
			map[string]any{"ip_address": "2001:db8::/64"}}})
		want := []any{
			map[string]any{"mac_address": q["mac_address"], "ip_address": "23.23.23.23"},
			map[string]any{"mac_address": q["mac_address"], "ip_address": "10.1.0.0/24"},
			map[string]any{"mac_address": q["mac_address"], "ip_address": "2001:db8::/64"},
		}
		if !reflect.DeepEqual(q["allowed_address_pairs"], want) {
			t.Errorf("pairs %v, want %v", q["allowed_address_pairs"], want)
		}
		// Port security is required (test_create_port_security_false_allowed_address_pairs).
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"port_security_enabled": false, "allowed_address_pairs": pairs}}).
			fault(t, 409, "AddressPairAndPortSecurityRequired",
				"Port Security must be enabled in order to have allowed address pairs on a port.")
		insecure := e.createNetwork(admin, map[string]any{"port_security_enabled": false})
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": insecure["id"],
			"allowed_address_pairs": pairs}}).fault(t, 409, "AddressPairAndPortSecurityRequired", "")
		r := e.portCreate(admin, netID, map[string]any{"port_security_enabled": false, "allowed_address_pairs": []any{}})
		if r["port_security_enabled"] != false || len(r["allowed_address_pairs"].([]any)) != 0 {
			t.Errorf("no pairs without port security: %v", r)
		}
		// Disabling port security on a port with pairs is refused
		// (test_update_port_security_off_address_pairs) …
		e.portUpdate(admin, p["id"].(string), map[string]any{"port_security_enabled": false}).
			fault(t, 409, "AddressPairAndPortSecurityRequired", "")
		// … unless the pairs (and the security groups) go at the same time.
		off := e.portUpdate(admin, p["id"].(string), map[string]any{"port_security_enabled": false, "allowed_address_pairs": []any{},
			"security_groups": []any{}}).
			expect(t, 200).obj(t, "port")
		if off["port_security_enabled"] != false || len(off["allowed_address_pairs"].([]any)) != 0 {
			t.Errorf("port security off with pairs removed: %v", off)
		}
		e.portUpdate(admin, p["id"].(string), map[string]any{"allowed_address_pairs": pairs}).
			fault(t, 409, "AddressPairAndPortSecurityRequired", "")

		// Updates replace the list; [] and null clear it
		// (test_update_add_address_pairs, test_create_port_remove_allowed_address_pairs_with_*).
		up := e.portUpdate(admin, q["id"].(string), map[string]any{"allowed_address_pairs": pairs}).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(up["allowed_address_pairs"], pairs) {
			t.Errorf("replaced pairs: %v", up["allowed_address_pairs"])
		}
		up = e.portUpdate(admin, q["id"].(string), map[string]any{"allowed_address_pairs": nil}).expect(t, 200).obj(t, "port")
		if len(up["allowed_address_pairs"].([]any)) != 0 {
			t.Errorf("null did not clear pairs: %v", up["allowed_address_pairs"])
		}

		base := map[string]any{"network_id": netID}
		with := func(v any) map[string]any {
			m := map[string]any{"allowed_address_pairs": v}
			for k, x := range base {
				m[k] = x
			}
			return map[string]any{"port": m}
		}
		eleven := make([]any, 11)
		for i := range eleven {
			eleven[i] = map[string]any{"ip_address": fmt.Sprintf("10.0.1.%d", i+1)}
		}
		ten := eleven[:10]
		cases := []struct {
			name     string
			body     any
			status   int
			typ, msg string
		}{
			{"not a list", with(map[string]any{"ip_address": "10.0.0.1"}), 400, "HTTPBadRequest", "Allowed address pairs must be a list."},
			{"bool", with(true), 400, "HTTPBadRequest", "Allowed address pairs must be a list."},
			{"item not a dict", with([]any{"ip_address"}), 400, "HTTPBadRequest",
				"Invalid input for allowed_address_pairs. Reason: 'ip_address' is not a dictionary."},
			{"bad mac", with([]any{map[string]any{"mac_address": "invalid_mac", "ip_address": "10.0.0.1"}}), 400, "HTTPBadRequest",
				"'invalid_mac' is not a valid MAC address"},
			{"bad ip", with([]any{map[string]any{"ip_address": "10.0.0.1222"}}), 400, "HTTPBadRequest",
				"'10.0.0.1222' is not a valid IP address"},
			{"missing ip", with([]any{map[string]any{"mac_address": "00:00:00:00:00:01"}}), 400, "AllowedAddressPairsMissingIP",
				"AllowedAddressPair must contain ip_address"},
			{"duplicate", with([]any{pairs[0], pairs[0]}), 400, "DuplicateAddressPairInRequest",
				"Request contains duplicate address pair: mac_address 00:00:00:00:00:01 ip_address 10.0.0.1."},
			{"extra key", with([]any{map[string]any{"ip_address": "10.0.0.1", "icbb": "agreed"}}), 400, "HTTPBadRequest",
				"Unrecognized attribute(s) 'icbb'"},
			{"too many", with(eleven), 400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 10."},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do(admin, "POST", "/v2.0/ports", c.body).fault(t, c.status, c.typ, c.msg)
			})
		}
		e.do(admin, "POST", "/v2.0/ports", with(ten)).expect(t, 201)
		// The port's own MAC given explicitly duplicates a pair without one
		// (test_update_with_none_and_own_mac_for_duplicate_ip).
		e.portUpdate(admin, q["id"].(string), map[string]any{"allowed_address_pairs": []any{
			map[string]any{"ip_address": "10.0.0.1"}, map[string]any{"mac_address": q["mac_address"], "ip_address": "10.0.0.1"}}}).
			fault(t, 400, "DuplicateAddressPairInRequest", "")
		// A pair may repeat the port's own fixed IP (test_create_overlap_with_fixed_ip).
		e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.77"}},
			"allowed_address_pairs": []any{map[string]any{"ip_address": "10.0.0.77"}}})
	})
}

func TestPortExtraDHCPOpts(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		opts := func(p map[string]any) map[string]any {
			out := map[string]any{}
			for _, it := range p["extra_dhcp_opts"].([]any) {
				m := it.(map[string]any)
				out[fmt.Sprintf("%v/v%v", m["opt_name"], m["ip_version"])] = m["opt_value"]
			}
			return out
		}
		// Options without a value are not stored; "router" may be blank
		// (test_create_port_with_none_extradhcpopts, …_empty_router_…).
		p := e.portCreate(admin, netID, map[string]any{"extra_dhcp_opts": []any{
			map[string]any{"opt_name": "bootfile-name", "opt_value": nil},
			map[string]any{"opt_name": "tftp-server", "opt_value": "123.123.123.123"},
			map[string]any{"opt_name": "server-ip-address", "opt_value": "123.123.123.45", "ip_version": 4},
			map[string]any{"opt_name": "tftp-server", "opt_value": "2001:192:168::1", "ip_version": "6"},
			map[string]any{"opt_name": "router", "opt_value": ""},
		}})
		want := map[string]any{"tftp-server/v4": "123.123.123.123", "server-ip-address/v4": "123.123.123.45",
			"tftp-server/v6": "2001:192:168::1", "router/v4": ""}
		if !reflect.DeepEqual(opts(p), want) {
			t.Errorf("options %v, want %v", opts(p), want)
		}
		for _, it := range p["extra_dhcp_opts"].([]any) {
			if v := it.(map[string]any)["ip_version"]; v != float64(4) && v != float64(6) {
				t.Errorf("ip_version shown as %#v", v)
			}
		}
		id := p["id"].(string)
		// Updates merge by name and IP version: change, add, and delete
		// with a null value; options not named stay.
		up := e.portUpdate(admin, id, map[string]any{"extra_dhcp_opts": []any{
			map[string]any{"opt_name": "tftp-server", "opt_value": "1.2.3.4"},
			map[string]any{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
			map[string]any{"opt_name": "server-ip-address", "opt_value": nil},
			map[string]any{"opt_name": "domain-search", "opt_value": nil},
		}}).expect(t, 200).obj(t, "port")
		want = map[string]any{"tftp-server/v4": "1.2.3.4", "bootfile-name/v4": "pxelinux.0",
			"tftp-server/v6": "2001:192:168::1", "router/v4": ""}
		if !reflect.DeepEqual(opts(up), want) {
			t.Errorf("after update %v, want %v", opts(up), want)
		}
		shown := e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(opts(shown), want) {
			t.Errorf("show after update %v, want %v", opts(shown), want)
		}
		// An empty list changes nothing.
		up = e.portUpdate(admin, id, map[string]any{"extra_dhcp_opts": []any{}}).expect(t, 200).obj(t, "port")
		if !reflect.DeepEqual(opts(up), want) {
			t.Errorf("empty update changed options: %v", opts(up))
		}
		// Blank values and names are refused (test_update_port_with_blank_*).
		for _, bad := range []map[string]any{
			{"opt_name": "bootfile-name", "opt_value": "    "},
			{"opt_name": "     ", "opt_value": "pxelinux.0"},
			{"opt_name": "bootfile-name"},
			{"opt_name": "bootfile-name", "opt_value": "x", "ip_version": 5},
			{"opt_name": "bootfile-name", "opt_value": "x", "bogus": 1},
		} {
			e.portUpdate(admin, id, map[string]any{"extra_dhcp_opts": []any{bad}}).
				fault(t, 400, "InvalidInput", "Invalid input for operation: No valid key specs matched for: {")
		}
		e.portUpdate(admin, id, map[string]any{"extra_dhcp_opts": "x"}).fault(t, 400, "InvalidInput", "'x' is not a list")
	})
}

func TestPortBinding(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		own := e.createNetwork(member1, map[string]any{})
		netID := own["id"].(string)
		// Admins bind to a host; members may not (create_port:binding:host_id).
		p := e.portCreate(admin, netID, map[string]any{"binding:host_id": "compute-1", "binding:vnic_type": "direct"})
		if p["binding:host_id"] != "compute-1" || p["binding:vnic_type"] != "direct" {
			t.Errorf("binding: %v %v", p["binding:host_id"], p["binding:vnic_type"])
		}
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "binding:host_id": "h"}}).
			fault(t, 403, "PolicyNotAuthorized", "create_port:binding:host_id")
		// binding:profile is the admins' (Neutron 21) and the service
		// role's (later Neutron), not the members'.
		ap := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:profile": map[string]any{"a": "b"}}}).expect(t, 201).obj(t, "port")
		if !reflect.DeepEqual(ap["binding:profile"], map[string]any{"a": "b"}) {
			t.Errorf("admin's profile %v", ap["binding:profile"])
		}
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "binding:profile": map[string]any{"a": "b"}}}).
			fault(t, 403, "PolicyNotAuthorized", "create_port:binding:profile")
		e.portUpdate(member1, ap["id"].(string), map[string]any{"binding:profile": map[string]any{"x": 1}}).
			fault(t, 403, "PolicyNotAuthorized", "update_port:binding:profile")
		sp := e.do(service1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"tenant_id": "service-project", "binding:profile": map[string]any{"local_link_information": []any{}}}}).expect(t, 201).obj(t, "port")
		if !reflect.DeepEqual(sp["binding:profile"], map[string]any{"local_link_information": []any{}}) {
			t.Errorf("profile %v", sp["binding:profile"])
		}
		if up := e.portUpdate(admin, p["id"].(string), map[string]any{"binding:profile": map[string]any{"x": 1}}).
			expect(t, 200).obj(t, "port"); !reflect.DeepEqual(up["binding:profile"], map[string]any{"x": float64(1)}) {
			t.Errorf("admin's profile update %v", up["binding:profile"])
		}
		up := e.portUpdate(admin, p["id"].(string), map[string]any{"binding:host_id": "compute-2"}).expect(t, 200).obj(t, "port")
		if up["binding:host_id"] != "compute-2" {
			t.Errorf("host update: %v", up["binding:host_id"])
		}
		// A member's own port: the binding details other than the vNIC type
		// are hidden from it (get_port:binding:*).
		mp := e.portCreate(member1, netID, map[string]any{"binding:vnic_type": "macvtap"})
		for _, k := range []string{"binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"} {
			if _, ok := mp[k]; ok {
				t.Errorf("member sees %s", k)
			}
		}
		if mp["binding:vnic_type"] != "macvtap" {
			t.Errorf("member's vnic_type %v", mp["binding:vnic_type"])
		}
		full := e.do(admin, "GET", "/v2.0/ports/"+mp["id"].(string), nil).expect(t, 200).obj(t, "port")
		if full["binding:vif_type"] != "unbound" || !reflect.DeepEqual(full["binding:vif_details"], map[string]any{}) {
			t.Errorf("admin view: %v %v", full["binding:vif_type"], full["binding:vif_details"])
		}
		e.portUpdate(admin, p["id"].(string), map[string]any{"binding:vif_type": "ovs"}).
			fault(t, 400, "HTTPBadRequest", "Cannot update read-only attribute binding:vif_type")
	})
}

func TestPortPolicy(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		private := e.createNetwork(member1, map[string]any{"name": "one-private"})
		privID := private["id"].(string)
		ps := e.portSubnet(member1, privID, map[string]any{"cidr": "10.0.0.0/24"})
		shared := e.createNetwork(admin, map[string]any{"name": "shared", "shared": true})
		sharedID := shared["id"].(string)
		ss := e.portSubnet(admin, sharedID, map[string]any{"cidr": "10.1.0.0/24"})
		external := e.createNetwork(admin, map[string]any{"name": "public", "router:external": true})

		a := e.portCreate(member1, privID, nil)
		aID := a["id"].(string)
		// Another project neither sees nor touches it: 404, never 403.
		e.do(member2, "GET", "/v2.0/ports/"+aID, nil).fault(t, 404, "PortNotFound", "Port "+aID+" could not be found.")
		e.portUpdate(member2, aID, map[string]any{"name": "x"}).fault(t, 404, "PortNotFound", aID)
		e.do(member2, "DELETE", "/v2.0/ports/"+aID, nil).fault(t, 404, "PortNotFound", aID)
		if l := e.do(member2, "GET", "/v2.0/ports", nil).expect(t, 200).list(t, "ports"); len(l) != 0 {
			t.Errorf("member2 lists %d ports", len(l))
		}
		// A member may not create a port on another project's private
		// network: Neutron's "rule:shared" check loads the network as the
		// port's project and finds nothing (test_create_port_bad_project).
		e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": privID}}).
			fault(t, 404, "NetworkNotFound", "Network "+privID+" could not be found.")
		// On a shared network it may, with an automatic address or a named
		// subnet, but not a chosen address (create_port:fixed_ips:ip_address).
		b := e.portCreate(member2, sharedID, nil)
		e.portCreate(member2, sharedID, map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": ss["id"]}}})
		e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": sharedID,
			"fixed_ips": []any{map[string]any{"ip_address": "10.1.0.50"}}}}).
			fault(t, 403, "PolicyNotAuthorized", "create_port:fixed_ips:ip_address")
		e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": sharedID,
			"allowed_address_pairs": []any{map[string]any{"ip_address": "10.1.0.50"}}}}).
			fault(t, 403, "PolicyNotAuthorized", "create_port:allowed_address_pairs")
		// Its own port on a shared network: it may rename it, but only the
		// network owner changes addresses or port security.
		e.portUpdate(member2, b["id"].(string), map[string]any{"name": "mine"}).expect(t, 200)
		e.portUpdate(member2, b["id"].(string), map[string]any{"fixed_ips": []any{map[string]any{"subnet_id": ss["id"]}}}).
			fault(t, 403, "PolicyNotAuthorized", "update_port:fixed_ips")
		e.portUpdate(member2, b["id"].(string), map[string]any{"port_security_enabled": false}).
			fault(t, 403, "PolicyNotAuthorized", "update_port:port_security_enabled")
		e.portUpdate(member2, b["id"].(string), map[string]any{"device_id": nil}).
			fault(t, 400, "HTTPBadRequest", "Invalid input for device_id. Reason: 'None' is not a valid string.")
		// An external network is visible but not shared: 403.
		e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": external["id"]}}).
			fault(t, 403, "PolicyNotAuthorized", "rule:create_port")
		// Network devices are the network owner's to create.
		e.do(member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": sharedID, "device_owner": "network:dhcp"}}).
			fault(t, 403, "PolicyNotAuthorized", "create_port:device_owner")
		// A router interface naming another project's router is refused
		// (DeviceIDNotOwnedByTenant); a device_id naming no router is not.
		foreign := e.do(member2, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{}}).expect(t, 201).obj(t, "router")["id"].(string)
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": privID,
			"device_owner": "network:router_interface", "device_id": foreign}}).
			fault(t, 409, "DeviceIDNotOwnedByTenant", "The following device_id "+foreign+" is not owned by your project or matches another project router.")
		loose := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": privID,
			"device_owner": "network:router_interface", "device_id": "1a2b3c4d-0000-0000-0000-000000000000"}}).expect(t, 201)
		e.do(member1, "DELETE", "/v2.0/ports/"+loose.obj(t, "port")["id"].(string), nil).expect(t, 204)

		// The network owner sees, and may delete, ports others hold on its
		// network (get_port: network owner reader; test_list_ports_for_network_owner).
		c := e.portCreate(admin, privID, map[string]any{"tenant_id": "project-two"})
		cID := c["id"].(string)
		got := ids(e.do(member1, "GET", "/v2.0/ports", nil).expect(t, 200).list(t, "ports"))
		if !sameSet(got, []string{aID, cID}) {
			t.Errorf("network owner lists %v, want %v", got, []string{aID, cID})
		}
		e.do(member1, "GET", "/v2.0/ports/"+cID, nil).expect(t, 200)
		got = ids(e.do(member2, "GET", "/v2.0/ports", nil).expect(t, 200).list(t, "ports"))
		if !sameSet(got, []string{b["id"].(string), cID, ptOtherPort(t, e, member2, sharedID, b["id"].(string))}) {
			t.Errorf("member2 lists %v", got)
		}
		// The port's owner sees its port on a private network it cannot see.
		e.do(member2, "GET", "/v2.0/ports/"+cID, nil).expect(t, 200)
		// A shared network's owner does not see other projects' ports on it?
		// It does: get_port allows the network owner.
		e.do(admin, "GET", "/v2.0/ports/"+b["id"].(string), nil).expect(t, 200)
		// Readers read, but do not write.
		e.do(reader1, "GET", "/v2.0/ports/"+aID, nil).expect(t, 200)
		e.portUpdate(reader1, aID, map[string]any{"name": "r"}).fault(t, 403, "PolicyNotAuthorized", "update_port")
		e.do(member1, "DELETE", "/v2.0/ports/"+cID, nil).expect(t, 204)
		e.do(member1, "DELETE", "/v2.0/ports/"+aID, nil).expect(t, 204)
		e.do(member1, "GET", "/v2.0/ports/"+aID, nil).fault(t, 404, "PortNotFound", aID)
		_ = ps
	})
}

// otherPortOf returns the id of the caller's port on the network that is
// not skip.
func ptOtherPort(t *testing.T, e *env, as *caller, netID, skip string) string {
	for _, p := range e.do(as, "GET", "/v2.0/ports?network_id="+netID, nil).expect(t, 200).list(t, "ports") {
		if p["id"] != skip && p["project_id"] == as.project {
			return p["id"].(string)
		}
	}
	return ""
}

func TestPortFiltersSortingPaging(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		sid := s["id"].(string)
		n2 := e.createNetwork(admin, map[string]any{})
		s2 := e.portSubnet(admin, n2["id"].(string), map[string]any{"cidr": "192.168.0.0/24"})

		p1 := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.12"}},
			"device_owner": "compute:nova", "device_id": "vm-1", "mac_address": "fa:16:3e:00:00:03", "binding:host_id": "h1"})
		p2 := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.123"}},
			"device_owner": "network:dhcp", "device_id": "dhcp-1", "mac_address": "fa:16:3e:00:00:01", "admin_state_up": false})
		p3 := e.portCreate(admin, n2["id"].(string), map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "192.168.0.12"}},
			"device_owner": "compute:nova", "device_id": "vm-2", "mac_address": "fa:16:3e:00:00:02", "binding:host_id": "h2"})
		id1, id2, id3 := p1["id"].(string), p2["id"].(string), p3["id"].(string)
		list := func(q string) []string {
			return ids(e.do(admin, "GET", "/v2.0/ports?"+q, nil).expect(t, 200).list(t, "ports"))
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"fixed_ips=ip_address%3D10.0.0.12", []string{id1}},
			{"fixed_ips=ip_address%3D10.0.0.12&fixed_ips=ip_address%3D10.0.0.123", []string{id1, id2}},
			{"fixed_ips=subnet_id%3D" + sid, []string{id1, id2}},
			{"fixed_ips=subnet_id%3D" + s2["id"].(string) + "&fixed_ips=ip_address%3D192.168.0.12", []string{id3}},
			{"fixed_ips=subnet_id%3D" + sid + "&fixed_ips=ip_address%3D192.168.0.12", nil},
			{"fixed_ips=ip_address_substr%3D.12", []string{id1, id2, id3}},
			{"fixed_ips=ip_address_substr%3D0.12", []string{id1, id2, id3}},
			{"fixed_ips=ip_address_substr%3D168", []string{id3}},
			// Neutron ignores sub-keys it does not know.
			{"fixed_ips=bogus%3Dx", []string{id1, id2, id3}},
			{"fixed_ips=bogus%3Dx&fixed_ips=ip_address%3D192.168.0.12", []string{id3}},
			{"device_owner=compute:nova", []string{id1, id3}},
			{"device_id=vm-1&device_id=dhcp-1", []string{id1, id2}},
			{"mac_address=fa:16:3e:00:00:02", []string{id3}},
			{"mac_address=FA:16:3E:00:00:02", []string{id3}},
			{"network_id=" + netID, []string{id1, id2}},
			{"binding:host_id=h2", []string{id3}},
			{"admin_state_up=false", []string{id2}},
			{"status=DOWN&network_id=" + n2["id"].(string), []string{id3}},
		}
		for _, c := range cases {
			if got := list(c.query); !sameSet(got, c.want) {
				t.Errorf("?%s: got %v, want %v", c.query, got, c.want)
			}
		}
		// Sorting (test_list_ports_with_sort_native).
		if got := list("sort_key=admin_state_up&sort_dir=asc&sort_key=mac_address&sort_dir=desc"); !reflect.DeepEqual(got, []string{id2, id1, id3}) {
			t.Errorf("sorted %v, want %v", got, []string{id2, id1, id3})
		}
		// Pagination by MAC (test_list_ports_with_pagination_native).
		var seen []string
		path := "/v2.0/ports?limit=2&sort_key=mac_address&sort_dir=asc"
		for i := 0; path != "" && i < 5; i++ {
			r := e.do(admin, "GET", path, nil).expect(t, 200)
			seen = append(seen, ids(r.list(t, "ports"))...)
			path = ""
			for _, l := range r.body["ports_links"].([]any) {
				if m := l.(map[string]any); m["rel"] == "next" {
					u, err := url.Parse(m["href"].(string))
					if err != nil {
						t.Fatal(err)
					}
					path = u.RequestURI()
				}
			}
		}
		if !reflect.DeepEqual(seen, []string{id2, id3, id1}) {
			t.Errorf("paged %v, want %v", seen, []string{id2, id3, id1})
		}
		// fields= on ports.
		for _, p := range e.do(admin, "GET", "/v2.0/ports?fields=id&fields=fixed_ips", nil).expect(t, 200).list(t, "ports") {
			if len(p) != 2 {
				t.Errorf("fields gave %v", p)
			}
		}
	})
}

func TestPortDelete(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{})
		netID := n["id"].(string)
		s := e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/24"})
		p := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.9"}}})
		id := p["id"].(string)
		// A subnet with a user port cannot go; nor can the network.
		e.do(admin, "DELETE", "/v2.0/subnets/"+s["id"].(string), nil).fault(t, 409, "SubnetInUse", "")
		e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).fault(t, 409, "NetworkInUse", netID)
		e.do(admin, "DELETE", "/v2.0/ports/"+id, nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/ports/"+id, nil).fault(t, 404, "PortNotFound", "Port "+id+" could not be found.")
		e.do(admin, "DELETE", "/v2.0/ports/"+id, nil).fault(t, 404, "PortNotFound", id)
		e.portUpdate(admin, id, map[string]any{"name": "x"}).fault(t, 404, "PortNotFound", id)
		// Its address is free again.
		q := e.portCreate(admin, netID, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.9"}}})
		e.do(admin, "DELETE", "/v2.0/ports/"+q["id"].(string), nil).expect(t, 204)
		// A DHCP port does not keep the network: it goes with it.
		e.portCreate(admin, netID, map[string]any{"device_owner": "network:dhcp"})
		e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).expect(t, 204)
		if l := e.do(admin, "GET", "/v2.0/ports", nil).expect(t, 200).list(t, "ports"); len(l) != 0 {
			t.Errorf("ports left after network delete: %v", l)
		}
	})
}

// TestTrustedPortsHaveNoPortSecurity: the ports of network:* devices
// (DHCP, router interfaces and gateways) get port_security_enabled false
// and no security groups, whatever the request says, as Neutron's port
// security driver sets them.
func TestTrustedPortsHaveNoPortSecurity(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(admin, map[string]any{})
		netID := net["id"].(string)
		sub := e.portSubnet(admin, netID, map[string]any{"cidr": "10.9.0.0/24"})
		dhcp := e.portCreate(admin, netID, map[string]any{"device_owner": "network:dhcp", "device_id": "dhcp-host",
			"port_security_enabled": true})
		if dhcp["port_security_enabled"] != false || len(dhcp["security_groups"].([]any)) != 0 {
			t.Errorf("DHCP port: port_security_enabled %v, security_groups %v", dhcp["port_security_enabled"], dhcp["security_groups"])
		}
		sg := e.do(admin, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "g"}}).
			expect(t, 201).obj(t, "security_group")
		withGroup := e.portCreate(admin, netID, map[string]any{"device_owner": "network:router_interface",
			"security_groups": []any{sg["id"]}})
		if withGroup["port_security_enabled"] != false || len(withGroup["security_groups"].([]any)) != 0 {
			t.Errorf("router port asked for a group: %v %v", withGroup["port_security_enabled"], withGroup["security_groups"])
		}
		router := e.do(admin, "POST", "/v2.0/routers", map[string]any{"router": map[string]any{"name": "r"}}).
			expect(t, 201).obj(t, "router")
		info := e.do(admin, "PUT", "/v2.0/routers/"+router["id"].(string)+"/add_router_interface",
			map[string]any{"subnet_id": sub["id"]}).expect(t, 200)
		rp := e.do(admin, "GET", "/v2.0/ports/"+info.body["port_id"].(string), nil).expect(t, 200).obj(t, "port")
		if rp["port_security_enabled"] != false || len(rp["security_groups"].([]any)) != 0 {
			t.Errorf("router interface: port_security_enabled %v, security_groups %v", rp["port_security_enabled"], rp["security_groups"])
		}
		// Other ports keep the network's setting.
		if vm := e.portCreate(admin, netID, map[string]any{"device_owner": "compute:nova"}); vm["port_security_enabled"] != true {
			t.Errorf("compute port: port_security_enabled %v", vm["port_security_enabled"])
		}
	})
}
