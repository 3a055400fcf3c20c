package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDNSEndToEnd: with ML2's dns extension driver and [DEFAULT]
// dns_domain set on the server and the agents, a VM resolves another VM by
// the dns_name of its port through the network's dnsmasq, across hosts;
// its lease carries its own name and the domain; renaming a port through
// the API renames it in DNS (the old name stops resolving), and a port
// without a name is host-<address> in the domain.
func TestDNSEndToEnd(t *testing.T) {
	const domain = "corp.example."
	w := newWorldOpts(t,
		map[string]string{"ml2.extension_drivers": "port_security,dns", "DEFAULT.dns_domain": domain},
		map[string]string{"DEFAULT.dns_domain": domain})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hA, hB := w.hosts["hostA"], w.hosts["hostB"]

	netID, _, _ := w.network("dns", "10.62.0.0/24", nil)
	named := func(host, name string) port {
		body := map[string]any{"network_id": netID, "binding:host_id": host,
			"device_owner": "compute:nova", "device_id": UUID()}
		if name != "" {
			body["dns_name"] = name
		}
		p := w.create("port", body)
		ip := p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		return port{id: p["id"].(string), mac: p["mac_address"].(string), ip: ip, host: host}
	}
	pA, pB, pC := named("hostA", "alpha"), named("hostB", "Beta"), named("hostB", "")
	vmA := w.r.VM("vma", hA.h, pA.id, pA.mac)
	vmB := w.r.VM("vmb", hB.h, pB.id, pB.mac)
	// pC has no VM: it is only a name in DNS.
	for _, p := range []port{pA, pB} {
		WaitFor(t, "port "+p.id+" ACTIVE", 20*time.Second, func() error {
			if s := w.status(p.id); s != "ACTIVE" {
				return fmt.Errorf("status %s", s)
			}
			return nil
		})
	}

	t.Run("leases carry the port's name and the domain", func(t *testing.T) {
		for _, c := range []struct {
			v    *VM
			p    port
			name string
		}{{vmA, pA, "alpha"}, {vmB, pB, "beta"}} {
			l, err := w.r.DHCP(ctx, c.v)
			Must(t, err)
			if l["ip"] != c.p.ip || l["hostname"] != c.name || l["domain"] != strings.TrimSuffix(domain, ".") {
				t.Errorf("%s lease %v; want ip %s hostname %s domain %s", c.v.Name, l, c.p.ip, c.name, domain)
			}
		}
	})

	dp, err := w.dhcpPort(netID)
	Must(t, err)
	// lookup asks the network's dnsmasq, from vm, for name's A record.
	lookup := func(vm *VM, name string) (string, error) {
		return Run(ctx, vm.NS, nil, "busybox", "nslookup", "-type=a", name, dp.ip)
	}
	resolves := func(vm *VM, name, ip string) error {
		out, err := lookup(vm, name)
		if err != nil || !strings.Contains(out, "Address: "+ip) {
			return fmt.Errorf("nslookup %s from %s (want %s): %v\n%s", name, vm.Name, ip, err, out)
		}
		return nil
	}

	t.Run("VMs resolve each other by dns_name across hosts", func(t *testing.T) {
		Must(t, resolves(vmA, "beta."+domain, pB.ip))
		Must(t, resolves(vmB, "alpha."+domain, pA.ip))
	})

	t.Run("a port without a name is host-<address> in the domain", func(t *testing.T) {
		Must(t, resolves(vmA, "host-"+strings.ReplaceAll(pC.ip, ".", "-")+"."+domain, pC.ip))
	})

	t.Run("reverse lookup gives the fqdn", func(t *testing.T) {
		out, err := Run(ctx, vmA.NS, nil, "busybox", "nslookup", pB.ip, dp.ip)
		if err != nil || !strings.Contains(out, "beta."+strings.TrimSuffix(domain, ".")) {
			t.Errorf("nslookup %s: %v\n%s", pB.ip, err, out)
		}
	})

	t.Run("renaming a port renames it in DNS", func(t *testing.T) {
		var out map[string]map[string]any
		w.call(http.MethodPut, "/v2.0/ports/"+pB.id, map[string]any{"port": map[string]any{"dns_name": "gamma"}}, &out)
		if out["port"]["dns_name"] != "gamma" {
			t.Fatalf("renamed port: %v", out["port"])
		}
		WaitFor(t, "gamma resolves", 20*time.Second, func() error { return resolves(vmA, "gamma."+domain, pB.ip) })
		if out, err := lookup(vmA, "beta."+domain); err == nil && strings.Contains(out, "Address: "+pB.ip) {
			t.Errorf("the old name still resolves:\n%s", out)
		}
	})
}
