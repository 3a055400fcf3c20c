package metering

import (
	"fmt"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The metering agent's options (neutron/conf/services/metering_agent.py).
var (
	optDriver = config.Options.String(config.DefaultSection, "driver",
		"neutron.services.metering.drivers.noop.noop_driver.NoopMeteringDriver",
		"Metering driver: noop (count nothing) or iptables (Neutrino: nftables counters in the router namespaces), by name or Neutron's class path.")
	optMeasureInterval = config.Options.Int(config.DefaultSection, "measure_interval", 30,
		"Interval between two metering measures.").Min(1)
	optReportInterval = config.Options.Int(config.DefaultSection, "report_interval", 300,
		"Interval between two metering reports.").Min(1)
)

func init() {
	config.Options.NoEffect(config.DefaultSection, "granular_traffic_data",
		"the metering part reports per label only (Neutron's default, granular_traffic_data = false)")
}

// Drivers the driver option accepts.
const (
	DriverNoop     = "noop"
	DriverIptables = "iptables"
)

// Options are the metering part's options.
type Options struct {
	// Driver is DriverNoop or DriverIptables.
	Driver string
	// MeasureInterval is how often counters are read (and the routers
	// fetched).
	MeasureInterval time.Duration
	// ReportInterval is how often the counts gathered are reported.
	ReportInterval time.Duration
}

// OptionsFrom reads the metering part's options of cfg.
func OptionsFrom(cfg *config.Config) (Options, error) {
	o := Options{MeasureInterval: time.Duration(cfg.Int(optMeasureInterval)) * time.Second,
		ReportInterval: time.Duration(cfg.Int(optReportInterval)) * time.Second}
	switch d := cfg.String(optDriver); d {
	case "noop", "neutron.services.metering.drivers.noop.noop_driver.NoopMeteringDriver":
		o.Driver = DriverNoop
	case "iptables", "neutron.services.metering.drivers.iptables.iptables_driver.IptablesMeteringDriver":
		o.Driver = DriverIptables
	default:
		return Options{}, cfg.Invalid(optDriver, fmt.Errorf("%q is not a metering driver (noop, iptables)", d))
	}
	return o, nil
}
