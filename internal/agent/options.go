package agent

import (
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The agent runtime's options (neutron/conf/agent/common.py's [agent]
// section), and Neutrino's own choice of parts and namespace.
var (
	optReportInterval = config.Options.Float("agent", "report_interval", 30,
		"Seconds between agents reporting state to server; should be less than agent_down_time, best if it is half or less than agent_down_time.").Min(0)
	optAvailabilityZone = config.Options.String("agent", "availability_zone", "nova",
		"Availability zone of this node.")
	optInProcess = config.Options.Bool("agent", "in_process", false,
		"all-in-one runs an agent in the server's process (Neutrino extension).")
	optParts = config.Options.List("agent", "parts", nil,
		"The parts this agent runs, each reporting as its own Neutron agent: l2 (Linux bridge agent), dhcp (DHCP agent), l3 (L3 agent), metadata (Metadata agent), metering (Metering agent). Empty: every part (Neutrino extension).")
	optMetricsBind = config.Options.String("agent", "metrics_bind", "",
		"Serve the agent's Prometheus metrics on this address (host:port) at /metrics, with Go's profiler at /debug/pprof/; empty serves none. Bind it to a private address (Neutrino extension).")
	optNetworkNamespace = config.Options.String("agent", "network_namespace", "",
		"Build this agent's data plane (bridges, VXLAN, DHCP namespaces' ports) in this named network namespace instead of the host's; the process and its bus connection stay where they are. For test and demonstration hosts on one machine (Neutrino extension).")
)

// OptionsFrom reads the agent runtime's options of cfg.
func OptionsFrom(cfg *config.Config, logger *slog.Logger) Options {
	return Options{
		Host:             config.Host(cfg),
		ReportInterval:   time.Duration(cfg.Float(optReportInterval) * float64(time.Second)),
		AvailabilityZone: cfg.String(optAvailabilityZone),
		MetricsBind:      cfg.String(optMetricsBind),
		Logger:           logger,
	}
}

// EnvFrom is what the parts are built with under cfg: the host, cfg
// itself, the logger and the namespace to build the data plane in.
func EnvFrom(cfg *config.Config, logger *slog.Logger) Env {
	return Env{Host: config.Host(cfg), Config: cfg, Logger: logger, Namespace: cfg.String(optNetworkNamespace)}
}

// PartsFrom are the names of the parts to run ([agent] parts; empty for
// every registered part).
func PartsFrom(cfg *config.Config) []string { return cfg.List(optParts) }

// InProcess reports [agent] in_process: all-in-one runs the agent in the
// server's process.
func InProcess(cfg *config.Config) bool { return cfg.Bool(optInProcess) }
