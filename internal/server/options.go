package server

import (
	"github.com/neutrino-net/neutrino/internal/config"
)

// The server's own options: where it listens and what it composes. Every
// other option is declared by the component that reads it.
var (
	optBindHost = config.Options.String(config.DefaultSection, "bind_host", "0.0.0.0",
		"The host IP to bind to.")
	optBindPort = config.Options.Port(config.DefaultSection, "bind_port", 9696,
		"The port to bind to.")
	optMetricsBind = config.Options.String(config.DefaultSection, "metrics_bind", "",
		"Also serve the Prometheus metrics (served on the API port at /metrics) on this address (host:port), with Go's profiler at /debug/pprof/; empty serves none. Bind it to a private address (Neutrino extension).")
	optAuthStrategy = config.Options.String(config.DefaultSection, "auth_strategy", "keystone",
		"The type of authentication to use.").Choices("keystone", "noauth")
	optCorePlugin = config.Options.String(config.DefaultSection, "core_plugin", "ml2",
		"The core plugin Neutron will use.")
	optServicePlugins = config.Options.List(config.DefaultSection, "service_plugins", nil,
		"The service plugins Neutron will use: router (or l3_router), segments, port_forwarding, metering, conntrack_helper, ndp_proxy, trunk, or their class paths. Neutron's default service plugins are always loaded.")
)
