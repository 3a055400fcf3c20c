package dhcp

import (
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The DHCP agent's options (neutron/conf/agent/dhcp.py).
var (
	optLeaseDuration = config.Options.Int(config.DefaultSection, "dhcp_lease_duration", 86400,
		"DHCP lease duration (in seconds). Use -1 to tell dnsmasq to use infinite lease times.").Min(-1)
	optConfs = config.Options.String(config.DefaultSection, "dhcp_confs", "$state_path/dhcp",
		"Location to store DHCP server config files.")
	optResyncInterval = config.Options.Int(config.DefaultSection, "resync_interval", 5,
		"The DHCP agent will resync its state with Neutron to recover from any transient notification or RPC errors. The interval is maximum number of seconds between attempts.").Min(1)
	optDriver = config.Options.String(config.DefaultSection, "dhcp_driver", "neutron.agent.linux.dhcp.Dnsmasq",
		"The driver used to manage the DHCP server.")
	optLeaseMax = config.Options.Int(config.DefaultSection, "dnsmasq_lease_max", 1<<24,
		"Limit number of leases to prevent a denial-of-service.").Min(1)
	optEnableIsolatedMetadata = config.Options.Bool(config.DefaultSection, "enable_isolated_metadata", false,
		"The DHCP server can assist with providing metadata support on isolated networks.")
	optForceMetadata = config.Options.Bool(config.DefaultSection, "force_metadata", false,
		"In some cases the Neutron router is not present to provide the metadata IP but the DHCP server can be used to provide this info.")
	optLogDir = config.Options.String(config.DefaultSection, "dnsmasq_base_log_dir", "",
		"Base log dir for dnsmasq logging. The log contains DHCP and DNS log information.")
)

// Options are the DHCP agent's options.
type Options struct {
	LeaseDuration          int
	DNSDomain              string
	StateDir               string // dhcp_confs
	ResyncInterval         time.Duration
	Driver                 string
	LeaseMax               int
	EnableIsolatedMetadata bool
	ForceMetadata          bool
	LogDir                 string
}

// OptionsFrom reads the DHCP agent's options of cfg.
func OptionsFrom(cfg *config.Config) Options {
	return Options{
		LeaseDuration: cfg.Int(optLeaseDuration), DNSDomain: config.DNSDomain(cfg),
		StateDir: cfg.String(optConfs), ResyncInterval: time.Duration(cfg.Int(optResyncInterval)) * time.Second,
		Driver: cfg.String(optDriver), LeaseMax: cfg.Int(optLeaseMax),
		EnableIsolatedMetadata: cfg.Bool(optEnableIsolatedMetadata), ForceMetadata: cfg.Bool(optForceMetadata),
		LogDir: cfg.String(optLogDir),
	}
}
