package core

import (
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Ports' DNS attributes, as Neutron's ML2 extension drivers dns and
// dns_domain_ports keep them without an external DNS service: a port's
// dns_name (and its dns_domain) are kept only when [DEFAULT] dns_domain is
// set to something other than Neutron's default "openstacklocal", and
// its dns_assignment names each address after dns_name, or host-<address>
// without one, in [DEFAULT] dns_domain. A port's own dns_domain and its
// network's are shown but not used for names: they only matter to an
// external DNS service, which Neutrino does not drive.

// dnsDomain is [DEFAULT] dns_domain with its trailing dot, or "".
func (p *Plugin) dnsDomain() string {
	d := p.opts.DNSDomain
	if d == "" || strings.HasSuffix(d, ".") {
		return d
	}
	return d + "."
}

// keepsDNSNames reports whether ports' dns_name and dns_domain are kept.
func (p *Plugin) keepsDNSNames() bool {
	d := p.dnsDomain()
	return d != "" && d != apidef.DNSDomainDefault
}

// portDNS checks the DNS attributes of a port being created (o) or
// updated (a patch): a dns_name must fit [DEFAULT] dns_domain; with the
// default domain the attributes are dropped, as Neutron drops them.
func (p *Plugin) portDNS(o *resource.Object, create bool) error {
	if !declared(o, "dns_name") {
		return nil
	}
	if !p.keepsDNSNames() {
		for _, a := range []string{"dns_name", "dns_domain"} {
			if !declared(o, a) {
				continue
			}
			if create {
				o.Set(a, "")
			} else {
				o.Unset(a)
			}
		}
		return nil
	}
	if !o.Has("dns_name") {
		return nil
	}
	if reason := apidef.CheckDNSNameWithDomain(o.String("dns_name"), p.dnsDomain(), p.opts.DNSDomain); reason != "" {
		return fault.BadRequest("Invalid input for dns_name. Reason: %s.", reason)
	}
	return nil
}

// setDNSAssignment fills a port's dns_assignment from its fixed_ips.
func (p *Plugin) setDNSAssignment(o *resource.Object) {
	if !declared(o, "dns_assignment") {
		return
	}
	domain := p.dnsDomain()
	name := ""
	if p.keepsDNSNames() {
		name = o.String("dns_name")
	}
	ips, _ := o.Get("fixed_ips").([]any)
	out := make([]any, 0, len(ips))
	for _, ip := range ips {
		m, _ := ip.(map[string]any)
		addr, _ := m["ip_address"].(string)
		hostname, fqdn := name, name
		if name == "" {
			hostname = "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(addr)
			fqdn = hostname
			if domain != "" {
				fqdn += "." + domain
			}
		} else if !strings.HasSuffix(name, ".") {
			fqdn = name + "." + domain
		}
		out = append(out, map[string]any{"ip_address": addr, "hostname": hostname, "fqdn": fqdn})
	}
	o.Set("dns_assignment", out)
}
