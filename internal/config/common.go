package config

import "os"

// Options is the registry every Neutrino component declares its options
// on, next to its code (an agent part, the bus, the store, each plugin):
// the one binary reads one set of files, so every option a linked
// component declares is known to every command, and `neutrino config
// generate-sample` prints them all, grouped by section.
var Options = NewRegistry()

// Options of the whole process, read by the server and the agent alike
// (Neutron's neutron/conf/common.py core options).
var (
	optHost = Options.String(DefaultSection, "host", "",
		"Hostname to be used by the Neutron server, agents and services running on this machine. All the agents and services running on this machine must use the same host value. Empty means the operating system's host name.")
	// state_path is read through interpolation ($state_path) only.
	_ = Options.String(DefaultSection, "state_path", "/var/lib/neutron",
		"Where to store Neutron state files.")
	optDebug = Options.Bool(DefaultSection, "debug", false,
		"If set to true, the logging level will be set to DEBUG instead of the default INFO level.")
	// dns_domain is read by the server (ports' dns_assignment) and the
	// DHCP agent (dnsmasq's --domain and hostnames) alike, as in Neutron.
	optDNSDomain = Options.String(DefaultSection, "dns_domain", "openstacklocal",
		"Domain to use for building the hostnames.")
)

// Host reports [DEFAULT] host, or the operating system's host name.
func Host(c *Config) string {
	if h := c.String(optHost); h != "" {
		return h
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// DNSDomain reports [DEFAULT] dns_domain as given.
func DNSDomain(c *Config) string { return c.String(optDNSDomain) }

// Debug reports [DEFAULT] debug.
func Debug(c *Config) bool { return c.Bool(optDebug) }
