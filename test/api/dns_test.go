package api_test

import (
	"strings"
	"testing"
)

// dnsOptions enable ML2's DNS extension drivers under a domain of our own.
func dnsOptions(domain string) map[string]string {
	return map[string]string{
		"ml2.extension_drivers": "port_security,dns_domain_ports,subnet_dns_publish_fixed_ip",
		"DEFAULT.dns_domain":    domain,
	}
}

func extensionAliases(t *testing.T, e *env) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, x := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
		out[x["alias"].(string)] = true
	}
	return out
}

// checkAssignment checks a port's dns_assignment against its fixed_ips:
// one entry per address, named hostname, in fqdn.
func checkAssignment(t *testing.T, port map[string]any, hostname func(ip string) string, fqdn func(ip string) string) {
	t.Helper()
	ips, _ := port["fixed_ips"].([]any)
	as, _ := port["dns_assignment"].([]any)
	if len(ips) == 0 || len(as) != len(ips) {
		t.Fatalf("dns_assignment %v for fixed_ips %v", as, ips)
	}
	for i, a := range as {
		m := a.(map[string]any)
		ip := ips[i].(map[string]any)["ip_address"].(string)
		if m["ip_address"] != ip || m["hostname"] != hostname(ip) || m["fqdn"] != fqdn(ip) {
			t.Errorf("dns_assignment[%d] = %v, want %s / %s / %s", i, m, ip, hostname(ip), fqdn(ip))
		}
	}
}

func hostDashes(ip string) string {
	return "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
}

// TestDNSIntegration: the dns and dns_domain_ports extension drivers
// (dns-integration, dns-domain-ports) and subnet_dns_publish_fixed_ip,
// with [DEFAULT] dns_domain set, as Neutron without an external DNS
// service.
func TestDNSIntegration(t *testing.T) {
	enginesWith(t, dnsOptions("example.org"), func(t *testing.T, e *env) {
		exts := extensionAliases(t, e)
		for _, a := range []string{"dns-integration", "dns-domain-ports", "subnet-dns-publish-fixed-ip"} {
			if !exts[a] {
				t.Errorf("extension %s not listed", a)
			}
		}

		// Networks: dns_domain, an absolute name, kept in lower case.
		net := e.createNetwork(member1, map[string]any{"name": "n", "dns_domain": "Zone.Example.ORG."})
		netID := net["id"].(string)
		if net["dns_domain"] != "zone.example.org." {
			t.Errorf("network dns_domain %v", net["dns_domain"])
		}
		up := e.do(member1, "PUT", "/v2.0/networks/"+netID, map[string]any{"network": map[string]any{"dns_domain": "other.example.org."}}).
			expect(t, 200).obj(t, "network")
		if up["dns_domain"] != "other.example.org." || up["revision_number"].(float64) < 1 {
			t.Errorf("updated network: %v", up)
		}
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"dns_domain": "example.org"}}).
			fault(t, 400, "HTTPBadRequest", "Invalid input for dns_domain. Reason: 'example.org' is not a FQDN.")
		if n := e.createNetwork(member1, map[string]any{}); n["dns_domain"] != "" {
			t.Errorf("default network dns_domain %v", n["dns_domain"])
		}

		sub := e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID,
			"cidr": "10.20.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
		if sub["dns_publish_fixed_ip"] != false {
			t.Errorf("subnet dns_publish_fixed_ip %v", sub["dns_publish_fixed_ip"])
		}
		sub = e.do(member1, "PUT", "/v2.0/subnets/"+sub["id"].(string), map[string]any{"subnet": map[string]any{"dns_publish_fixed_ip": true}}).
			expect(t, 200).obj(t, "subnet")
		if sub["dns_publish_fixed_ip"] != true {
			t.Errorf("updated subnet dns_publish_fixed_ip %v", sub["dns_publish_fixed_ip"])
		}

		// A port without dns_name: host-<address> in [DEFAULT] dns_domain.
		plain := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}).
			expect(t, 201).obj(t, "port")
		if plain["dns_name"] != "" || plain["dns_domain"] != "" {
			t.Errorf("plain port: dns_name %v dns_domain %v", plain["dns_name"], plain["dns_domain"])
		}
		checkAssignment(t, plain, hostDashes, func(ip string) string { return hostDashes(ip) + ".example.org." })

		// With dns_name (lower-cased) and its own dns_domain: named in
		// [DEFAULT] dns_domain all the same (the port's and the network's
		// domains are for an external DNS service).
		port := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"dns_name": "Web-1", "dns_domain": "port.example.org."}}).expect(t, 201).obj(t, "port")
		portID := port["id"].(string)
		if port["dns_name"] != "web-1" || port["dns_domain"] != "port.example.org." {
			t.Errorf("port: dns_name %v dns_domain %v", port["dns_name"], port["dns_domain"])
		}
		named := func(n string) func(string) string { return func(string) string { return n } }
		checkAssignment(t, port, named("web-1"), named("web-1.example.org."))
		shown := e.do(member1, "GET", "/v2.0/ports/"+portID, nil).expect(t, 200).obj(t, "port")
		checkAssignment(t, shown, named("web-1"), named("web-1.example.org."))
		listed := e.do(member1, "GET", "/v2.0/ports?id="+portID, nil).expect(t, 200).list(t, "ports")
		checkAssignment(t, listed[0], named("web-1"), named("web-1.example.org."))

		// An absolute name in the domain is kept as given.
		port = e.do(member1, "PUT", "/v2.0/ports/"+portID, map[string]any{"port": map[string]any{"dns_name": "db.example.org."}}).
			expect(t, 200).obj(t, "port")
		checkAssignment(t, port, named("db.example.org."), named("db.example.org."))
		if port["dns_domain"] != "port.example.org." {
			t.Errorf("dns_domain changed with dns_name: %v", port["dns_domain"])
		}
		// Clearing the name names the address after itself again.
		port = e.do(member1, "PUT", "/v2.0/ports/"+portID, map[string]any{"port": map[string]any{"dns_name": ""}}).
			expect(t, 200).obj(t, "port")
		checkAssignment(t, port, hostDashes, func(ip string) string { return hostDashes(ip) + ".example.org." })

		// Refused: an absolute name outside the domain, a bad label, a
		// relative port dns_domain, a non-string.
		for _, c := range []struct {
			attrs map[string]any
			typ   string
			msg   string
		}{
			{map[string]any{"dns_name": "vm.other.org."}, "HTTPBadRequest",
				"Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf, that has been set to 'example.org'."},
			{map[string]any{"dns_name": "vm_1"}, "HTTPBadRequest",
				"Invalid input for dns_name. Reason: 'vm_1' not a valid PQDN or FQDN. Reason: Name 'vm_1' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen."},
			{map[string]any{"dns_name": strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 60)}, "HTTPBadRequest",
				"The dns_name passed is a PQDN and its size is '252'. The dns_domain option in neutron.conf is set to example.org, with a length of '13'."},
			{map[string]any{"dns_domain": "example.org"}, "HTTPBadRequest", "Invalid input for dns_domain. Reason: 'example.org' is not a FQDN."},
			{map[string]any{"dns_name": 5}, "InvalidInput", "Invalid input for operation: Input value 5 must be string type."},
		} {
			attrs := map[string]any{"network_id": netID}
			for k, v := range c.attrs {
				attrs[k] = v
			}
			e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": attrs}).fault(t, 400, c.typ, c.msg)
			delete(attrs, "network_id")
			e.do(member1, "PUT", "/v2.0/ports/"+portID, map[string]any{"port": attrs}).fault(t, 400, c.typ, c.msg)
		}
		// Two ports may share a name: Neutron checks no uniqueness
		// without an external DNS service.
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "dns_name": "twin"}}).expect(t, 201)
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "dns_name": "twin"}}).expect(t, 201)

		// Floating IPs take dns_name and dns_domain (validated) but keep
		// them only for an external DNS service: shown empty.
		ext := e.createNetwork(admin, map[string]any{"router:external": true})
		e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": ext["id"],
			"cidr": "198.51.100.0/24", "ip_version": 4}}).expect(t, 201)
		fip := e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
			"floating_network_id": ext["id"], "dns_name": "Pub", "dns_domain": "example.org."}}).expect(t, 201).obj(t, "floatingip")
		if fip["dns_name"] != "" || fip["dns_domain"] != "" {
			t.Errorf("floating IP dns_name %v dns_domain %v", fip["dns_name"], fip["dns_domain"])
		}
		fip = e.do(admin, "GET", "/v2.0/floatingips/"+fip["id"].(string), nil).expect(t, 200).obj(t, "floatingip")
		if fip["dns_name"] != "" || fip["dns_domain"] != "" {
			t.Errorf("shown floating IP dns_name %v dns_domain %v", fip["dns_name"], fip["dns_domain"])
		}
		e.do(admin, "POST", "/v2.0/floatingips", map[string]any{"floatingip": map[string]any{
			"floating_network_id": ext["id"], "dns_name": "pub.example.org."}}).
			fault(t, 400, "HTTPBadRequest", "Invalid input for dns_name. Reason: 'pub.example.org.' is a FQDN. It should be a relative domain name.")
		e.do(admin, "PUT", "/v2.0/floatingips/"+fip["id"].(string), map[string]any{"floatingip": map[string]any{"dns_name": "x"}}).
			expect(t, 400)
	})
}

// TestDNSDefaultDomain: with [DEFAULT] dns_domain left at openstacklocal,
// Neutron keeps no port's dns_name (or dns_domain): a name given is
// dropped, and addresses are host-<address>.openstacklocal.
func TestDNSDefaultDomain(t *testing.T) {
	enginesWith(t, dnsOptions("openstacklocal"), func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{})
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net["id"],
			"cidr": "10.21.0.0/24", "ip_version": 4}}).expect(t, 201)
		port := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"],
			"dns_name": "web", "dns_domain": "port.example.org."}}).expect(t, 201).obj(t, "port")
		if port["dns_name"] != "" || port["dns_domain"] != "" {
			t.Errorf("port: dns_name %v dns_domain %v", port["dns_name"], port["dns_domain"])
		}
		checkAssignment(t, port, hostDashes, func(ip string) string { return hostDashes(ip) + ".openstacklocal." })
		port = e.do(member1, "PUT", "/v2.0/ports/"+port["id"].(string), map[string]any{"port": map[string]any{"dns_name": "web"}}).
			expect(t, 200).obj(t, "port")
		if port["dns_name"] != "" {
			t.Errorf("updated port dns_name %v", port["dns_name"])
		}
		// The format is still checked.
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"], "dns_name": "-x"}}).
			expect(t, 400)
	})
}

// TestDNSExtensionsOff: without the extension drivers, no DNS extension
// is listed and its attributes are neither shown nor accepted.
func TestDNSExtensionsOff(t *testing.T) {
	enginesWith(t, nil, func(t *testing.T, e *env) {
		exts := extensionAliases(t, e)
		for _, a := range []string{"dns-integration", "dns-domain-ports", "subnet-dns-publish-fixed-ip"} {
			if exts[a] {
				t.Errorf("extension %s listed", a)
			}
		}
		net := e.createNetwork(member1, map[string]any{})
		if _, ok := net["dns_domain"]; ok {
			t.Errorf("network shows dns_domain: %v", net)
		}
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"], "dns_name": "web"}}).
			fault(t, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'dns_name'")
	})
}
