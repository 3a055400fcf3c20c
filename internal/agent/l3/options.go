package l3

import (
	"errors"
	"fmt"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The L3 agent's options (neutron/conf/agent/l3/config.py, ha.py and
// neutron/conf/agent/common.py's interface options).
var (
	optInterfaceDriver = config.Options.String(config.DefaultSection, "interface_driver", "linuxbridge",
		"The driver used to manage the virtual interface. Neutrino plugs veth pairs into Linux bridges (linuxbridge, neutron.agent.linux.interface.BridgeInterfaceDriver).")
	optExternalNetworkBridge = config.Options.String(config.DefaultSection, "external_network_bridge", "",
		"Deprecated: must be empty; the gateway port is plugged by the L2 agent like any other port.")
	optAgentMode = config.Options.String(config.DefaultSection, "agent_mode", "legacy",
		"The working mode for the agent: legacy (centralized routers). dvr, dvr_snat and dvr_no_external are not supported by Neutrino.")
	optHandleInternalOnlyRouters = config.Options.Bool(config.DefaultSection, "handle_internal_only_routers", true,
		"Indicates that this L3 agent should also handle routers that do not have an external network gateway configured.")
	optEnableMetadataProxy = config.Options.Bool(config.DefaultSection, "enable_metadata_proxy", true,
		"Allow running metadata proxy.")
	optMetadataPort = config.Options.Port(config.DefaultSection, "metadata_port", 9697,
		"TCP Port used by Neutron metadata namespace proxy.")
	optSendARPForHA = config.Options.Int(config.DefaultSection, "send_arp_for_ha", 3,
		"Send this many gratuitous ARPs for a new floating IP or gateway address; 0 disables them.").Min(0)
	optPeriodicInterval = config.Options.Int(config.DefaultSection, "periodic_interval", 40,
		"Seconds between running periodic tasks: the L3 agent's full resync.").Min(1)
	optRouterStateDir = config.Options.String("agent", "l3_state_path", "$state_path/l3",
		"Where the L3 part records the routers it built, so that it removes only its own namespaces (Neutrino extension).")
)

func init() {
	// L3 HA (keepalived, VRRP) is later work: say so when they are set.
	for _, name := range []string{"ha_confs_path", "ha_vrrp_auth_type", "ha_vrrp_auth_password", "ha_vrrp_advert_int",
		"ha_keepalived_state_change_server_threads", "ha_vrrp_health_check_interval", "ha_vrrp_garp_master_delay"} {
		config.Options.NoEffect(config.DefaultSection, name, "L3 HA (keepalived) is not supported by the L3 agent yet")
	}
}

// Options are the L3 agent's options.
type Options struct {
	HandleInternalOnlyRouters bool
	// EnableMetadataProxy redirects instances' metadata requests in each
	// router namespace to MetadataPort, where the metadata part listens.
	EnableMetadataProxy bool
	MetadataPort        int
	SendARPForHA        int
	ResyncInterval      time.Duration
	StateDir            string
	InterfaceDriver     string
}

// OptionsFrom reads the L3 agent's options of cfg and refuses what the
// agent cannot do: another interface driver, an external network
// bridge, a DVR mode.
func OptionsFrom(cfg *config.Config) (Options, error) {
	switch d := cfg.String(optInterfaceDriver); d {
	case "linuxbridge", "neutron.agent.linux.interface.BridgeInterfaceDriver":
	default:
		return Options{}, cfg.Invalid(optInterfaceDriver, fmt.Errorf("%q is not supported: Neutrino's L3 agent plugs Linux bridge ports (linuxbridge)", d))
	}
	if b := cfg.String(optExternalNetworkBridge); b != "" {
		return Options{}, cfg.Invalid(optExternalNetworkBridge, errors.New("must be empty: the gateway port is plugged into its network's bridge by the L2 agent, as Neutron requires since Stein"))
	}
	switch m := cfg.String(optAgentMode); m {
	case "legacy":
	case "dvr", "dvr_snat", "dvr_no_external":
		return Options{}, cfg.Invalid(optAgentMode, fmt.Errorf("%q: distributed routers (DVR) are not supported; only legacy", m))
	default:
		return Options{}, cfg.Invalid(optAgentMode, fmt.Errorf("%q is not a mode (legacy, dvr, dvr_snat, dvr_no_external); only legacy is supported", m))
	}
	return Options{
		HandleInternalOnlyRouters: cfg.Bool(optHandleInternalOnlyRouters),
		EnableMetadataProxy:       cfg.Bool(optEnableMetadataProxy),
		MetadataPort:              cfg.Int(optMetadataPort),
		SendARPForHA:              cfg.Int(optSendARPForHA),
		ResyncInterval:            time.Duration(cfg.Int(optPeriodicInterval)) * time.Second,
		StateDir:                  cfg.String(optRouterStateDir),
		InterfaceDriver:           cfg.String(optInterfaceDriver),
	}, nil
}
