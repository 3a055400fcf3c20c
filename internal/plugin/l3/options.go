package l3

import "github.com/neutrino-net/neutrino/internal/config"

// The L3 service plugin's options (neutron/conf/db/l3_*db.py and the
// router route quota).
var (
	optEnableSNATByDefault = config.Options.Bool(config.DefaultSection, "enable_snat_by_default", true,
		"Define the default value of enable_snat if not provided in external_gateway_info.")
	optRouterDistributed = config.Options.Bool(config.DefaultSection, "router_distributed", false,
		"System-wide flag to determine the type of router that projects can create. Only admin can override.")
	optL3HA = config.Options.Bool(config.DefaultSection, "l3_ha", false,
		"Enable HA mode for virtual routers.")
	optQuotaRouterRoute = config.Options.Int("quotas", "quota_router_route", 30,
		"Number of routes allowed per router. A negative value means unlimited.")
	optAllowedConntrackHelpers = config.Options.List(config.DefaultSection, "allowed_conntrack_helpers",
		[]string{"amanda:tcp", "ftp:tcp", "h323:udp", "h323:tcp", "irc:tcp", "netbios-ns:udp", "pptp:tcp",
			"sane:tcp", "sip:udp", "sip:tcp", "snmp:udp", "tftp:udp"},
		"Defines the allowed conntrack helpers, and conntrack helper module protocol constraints.")
	optEnableNDPProxyByDefault = config.Options.Bool(config.DefaultSection, "enable_ndp_proxy_by_default", false,
		"Define the default value of enable_ndp_proxy if not provided in the router.")
)

// OptionsFrom reads the L3 plugin's options of cfg; the caller sets
// Quota and Outbox.
func OptionsFrom(cfg *config.Config) (Options, error) {
	helpers, err := parseAllowedHelpers(cfg.List(optAllowedConntrackHelpers))
	if err != nil {
		return Options{}, cfg.Invalid(optAllowedConntrackHelpers, err)
	}
	haCIDR, haType, haPhysnet := haOptions(cfg)
	return Options{
		HANetCIDR: haCIDR, HANetworkType: haType, HANetworkPhysicalName: haPhysnet,
		EnableSNATByDefault: cfg.Bool(optEnableSNATByDefault),
		RouterDistributed:   cfg.Bool(optRouterDistributed),
		L3HA:                cfg.Bool(optL3HA),
		MaxRoutes:           cfg.Int(optQuotaRouterRoute),
		ConntrackHelpers:    helpers,

		EnableNDPProxyByDefault: cfg.Bool(optEnableNDPProxyByDefault),
	}, nil
}
