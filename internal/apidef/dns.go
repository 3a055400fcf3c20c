package apidef

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// FQDNFieldSize is neutron-lib's limit on a DNS name or domain.
const FQDNFieldSize = 255

// DNSDomainDefault is neutron-lib's DNS_DOMAIN_DEFAULT: with [DEFAULT]
// dns_domain left at it, ports' dns_name is not kept (no name could be
// published under it).
const DNSDomainDefault = "openstacklocal."

// DNS extensions (neutron-lib's dns, dns_domain_ports and
// subnet_dns_publish_fixed_ip definitions). ML2's extension drivers dns,
// dns_domain_ports and subnet_dns_publish_fixed_ip enable them.
func init() {
	registerExtension(&Extension{Alias: "dns-integration", Name: "DNS Integration",
		Description: "Provides integration with DNS.",
		Updated:     "2015-08-15T18:00:00-00:00", Requires: []string{"router"}})
	registerExtension(&Extension{Alias: "dns-domain-ports", Name: "dns_domain for ports",
		Description: "Allows the DNS domain to be specified for a network port.",
		Updated:     "2017-04-24T10:00:00-00:00", Requires: []string{"dns-integration"}})
	registerExtension(&Extension{Alias: "subnet-dns-publish-fixed-ip", Name: "Subnet DNS publish fixed IP",
		Description: "Support choosing to publish DNS records for IPs from a subnet",
		Updated:     "2019-05-24T10:00:00-00:00", Requires: []string{"dns-domain-ports"}})

	extend(func(coll string, r *resource.Resource) {
		switch coll {
		case Ports:
			r.Add(&resource.Attr{Name: "dns_name", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: "", Visible: true, Convert: lowerString, Validate: ValidDNSName,
				Extension: "dns-integration"})
			// Computed from the port's addresses and [DEFAULT] dns_domain.
			r.Add(&resource.Attr{Name: "dns_assignment", Kind: resource.JSON, Visible: true,
				Default: []any{}, Storage: resource.Virtual, Extension: "dns-integration"})
			r.Add(&resource.Attr{Name: "dns_domain", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: "", Visible: true, Convert: lowerString, Validate: ValidDNSDomain,
				Extension: "dns-domain-ports"})
		case Networks:
			r.Add(&resource.Attr{Name: "dns_domain", Kind: resource.String, AllowPost: true, AllowPut: true,
				Default: "", Visible: true, Convert: lowerString, Validate: ValidDNSDomain,
				Extension: "dns-integration"})
		case FloatingIPs:
			// Kept only for an external DNS service, which Neutrino does
			// not drive: validated, then shown empty as Neutron does
			// without one.
			r.Add(&resource.Attr{Name: "dns_name", Kind: resource.String, AllowPost: true,
				Default: "", Visible: true, Convert: lowerString, Validate: validFIPDNSName,
				Storage: resource.Virtual, Extension: "dns-integration"})
			r.Add(&resource.Attr{Name: "dns_domain", Kind: resource.String, AllowPost: true,
				Default: "", Visible: true, Convert: lowerString, Validate: ValidDNSDomain,
				Storage: resource.Virtual, Extension: "dns-integration"})
		case Subnets:
			r.Add(&resource.Attr{Name: "dns_publish_fixed_ip", Kind: resource.Bool, AllowPost: true, AllowPut: true,
				Default: false, Visible: true, Extension: "subnet-dns-publish-fixed-ip"})
		}
	})
}

// lowerString is neutron-lib's convert_string_to_case_insensitive: DNS
// names compare without case, so they are kept in lower case.
func lowerString(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, &resource.ConvertError{Reason: fmt.Sprintf("Input value %s must be string type", resource.PyStr(v))}
	}
	return strings.ToLower(s), nil
}

// dnsLabel is neutron-lib's DNS_LABEL_REGEX: a label, or one of the
// keywords the dns_domain_keywords driver substitutes.
var dnsLabel = regexp.MustCompile(`^([a-z0-9-]{1,63}|<project_id>|<project_name>|<user_name>|<user_id>)$`)

var allDigits = regexp.MustCompile(`^[0-9]+$`)

// dnsFormat checks a PQDN or FQDN as neutron-lib's _validate_dns_format:
// labels of letters, digits and inner hyphens, a TLD not all numeric.
func dnsFormat(data string, maxLen int) error {
	if data == "" {
		return nil
	}
	reason := func() string {
		trimmed := strings.TrimSuffix(data, ".")
		if len(trimmed) > maxLen {
			return fmt.Sprintf("'%s' exceeds the %d character FQDN limit", trimmed, maxLen)
		}
		labels := strings.Split(trimmed, ".")
		for _, l := range labels {
			if l == "" {
				return "Encountered an empty component"
			}
			if strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
				return fmt.Sprintf("Name '%s' must not start or end with a hyphen", l)
			}
			if !dnsLabel.MatchString(l) {
				return fmt.Sprintf("Name '%s' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen", l)
			}
		}
		if len(labels) > 1 && allDigits.MatchString(labels[len(labels)-1]) {
			return fmt.Sprintf("TLD '%s' must not be all numeric", labels[len(labels)-1])
		}
		return ""
	}()
	if reason != "" {
		return fmt.Errorf("'%s' not a valid PQDN or FQDN. Reason: %s", data, reason)
	}
	return nil
}

// ValidDNSName is the format half of neutron-lib's validate_dns_name;
// the half that depends on [DEFAULT] dns_domain is CheckDNSNameWithDomain,
// which the plugin applies.
func ValidDNSName(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("'%s' is not a valid string", resource.PyStr(v))
	}
	return dnsFormat(s, FQDNFieldSize)
}

// CheckDNSNameWithDomain is the rest of neutron-lib's validate_dns_name:
// with a dns_domain other than the default configured (domain, with its
// trailing dot), a relative name must leave room for it, and an absolute
// one must end in it. The reason is empty when the name is fine; it
// quotes the option as configured (the domain may lack its dot).
func CheckDNSNameWithDomain(name, domain, configured string) string {
	if name == "" || domain == "" || domain == DNSDomainDefault {
		return ""
	}
	higher := "." + domain
	if !strings.HasSuffix(name, ".") {
		if len(name)+len(higher) > FQDNFieldSize {
			return fmt.Sprintf("The dns_name passed is a PQDN and its size is '%d'. The dns_domain option in neutron.conf is set to %s, with a length of '%d'. When the two are concatenated to form a FQDN (with a '.' at the end), the resulting length exceeds the maximum size of '%d'",
				len(name), configured, len(higher), FQDNFieldSize)
		}
		return ""
	}
	if len(name) <= len(higher) || !strings.HasSuffix(name, higher) {
		return fmt.Sprintf("The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf, that has been set to '%s'. It must also include one or more valid DNS labels to the left of '%s'",
			configured, configured)
	}
	return ""
}

// validFIPDNSName is neutron-lib's validate_fip_dns_name: a relative name
// that leaves room for a domain.
func validFIPDNSName(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("'%s' is not a valid string", resource.PyStr(v))
	}
	if s == "" {
		return nil
	}
	if strings.HasSuffix(s, ".") {
		return fmt.Errorf("'%s' is a FQDN. It should be a relative domain name", s)
	}
	if err := dnsFormat(s, FQDNFieldSize); err != nil {
		return err
	}
	if len(s) > FQDNFieldSize-3 {
		return fmt.Errorf("'%s' contains %d characters. Adding a domain name will cause it to exceed the maximum length of a FQDN of '%d'", s, len(s), FQDNFieldSize)
	}
	return nil
}

// ValidDNSDomain is neutron-lib's validate_dns_domain: an absolute name
// (trailing dot) that leaves room for a sub-domain.
func ValidDNSDomain(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("'%s' is not a valid string", resource.PyStr(v))
	}
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, ".") {
		return fmt.Errorf("'%s' is not a FQDN", s)
	}
	if err := dnsFormat(s, FQDNFieldSize); err != nil {
		return err
	}
	if len(s) > FQDNFieldSize-2 {
		return fmt.Errorf("'%s' contains %d characters. Adding a sub-domain will cause it to exceed the maximum length of a FQDN of '%d'", s, len(s), FQDNFieldSize)
	}
	return nil
}
