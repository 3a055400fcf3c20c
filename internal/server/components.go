package server

// The components this binary is built with. Each registers itself from
// its init function — plugins with the plugin registry, agent parts with
// the agent — and declares its own options; [DEFAULT] core_plugin,
// service_plugins and [agent] parts choose among them at start.
import (
	// Core plugin: ML2 with its type and mechanism drivers.
	_ "github.com/neutrino-net/neutrino/internal/plugin/core"
	// Service plugins.
	_ "github.com/neutrino-net/neutrino/internal/plugin/autoallocate"
	_ "github.com/neutrino-net/neutrino/internal/plugin/flavors"
	_ "github.com/neutrino-net/neutrino/internal/plugin/l3"
	_ "github.com/neutrino-net/neutrino/internal/plugin/localip"
	_ "github.com/neutrino-net/neutrino/internal/plugin/metering"
	_ "github.com/neutrino-net/neutrino/internal/plugin/ml2"
	_ "github.com/neutrino-net/neutrino/internal/plugin/qos"
	_ "github.com/neutrino-net/neutrino/internal/plugin/segmentranges"
	_ "github.com/neutrino-net/neutrino/internal/plugin/serviceproviders"
	_ "github.com/neutrino-net/neutrino/internal/plugin/trunk"

	// The store's metrics (the store itself cannot link the library).
	_ "github.com/neutrino-net/neutrino/internal/store/storemetrics"

	// Agent parts.
	_ "github.com/neutrino-net/neutrino/internal/agent/dhcp"
	_ "github.com/neutrino-net/neutrino/internal/agent/l2"
	_ "github.com/neutrino-net/neutrino/internal/agent/l3"
	_ "github.com/neutrino-net/neutrino/internal/agent/metadata"
	_ "github.com/neutrino-net/neutrino/internal/agent/metering"
)
