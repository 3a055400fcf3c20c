package core

import "github.com/neutrino-net/neutrino/internal/config"

// The core resources' options (neutron/conf/common.py).
var (
	optBaseMAC = config.Options.String(config.DefaultSection, "base_mac", "fa:16:3e:00:00:00",
		"The base MAC address Neutron will use for VIFs. The first 3 octets will remain unchanged. If the 4th octet is not 00, it will also be used. The others will be randomly generated.")
	optAllowOverlappingIPs = config.Options.Bool(config.DefaultSection, "allow_overlapping_ips", false,
		"Allow overlapping IP support in Neutron.")
	optMaxDNSNameservers = config.Options.Int(config.DefaultSection, "max_dns_nameservers", 5,
		"Maximum number of DNS nameservers per subnet.").Min(0)
	optMaxSubnetHostRoutes = config.Options.Int(config.DefaultSection, "max_subnet_host_routes", 20,
		"Maximum number of host routes per subnet.").Min(0)
)

// OptionsFrom reads the core resources' options of cfg; the caller sets
// the plugins Options links to.
func OptionsFrom(cfg *config.Config) Options {
	return Options{
		BaseMAC:             cfg.String(optBaseMAC),
		AllowOverlappingIPs: cfg.Bool(optAllowOverlappingIPs),
		MaxDNSNameservers:   cfg.Int(optMaxDNSNameservers),
		MaxSubnetHostRoutes: cfg.Int(optMaxSubnetHostRoutes),
		DNSDomain:           config.DNSDomain(cfg),
	}
}
