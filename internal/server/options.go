package server

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/rpc"
)

// Options is the registry of every configuration option the server reads,
// with Neutron's section and option names and defaults.
var Options = config.NewRegistry()

// [DEFAULT] and API options.
var (
	optBindHost = Options.String("DEFAULT", "bind_host", "0.0.0.0",
		"The host IP to bind to.")
	optBindPort = Options.Port("DEFAULT", "bind_port", 9696,
		"The port to bind to.")
	optAuthStrategy = Options.String("DEFAULT", "auth_strategy", "keystone",
		"The type of authentication to use.").Choices("keystone", "noauth")
	optCorePlugin = Options.String("DEFAULT", "core_plugin", "ml2",
		"The core plugin Neutron will use.")
	optServicePlugins = Options.List("DEFAULT", "service_plugins", nil,
		"The service plugins Neutron will use.")
	optBaseMAC = Options.String("DEFAULT", "base_mac", "fa:16:3e:00:00:00",
		"The base MAC address Neutron will use for VIFs. The first 3 octets will remain unchanged. If the 4th octet is not 00, it will also be used. The others will be randomly generated.")
	optAllowOverlappingIPs = Options.Bool("DEFAULT", "allow_overlapping_ips", false,
		"Allow overlapping IP support in Neutron.")
	// state_path is read through interpolation ($state_path) only.
	_ = Options.String("DEFAULT", "state_path", "/var/lib/neutron",
		"Where to store Neutron state files.")
	optPaginationMaxLimit = Options.Int("DEFAULT", "pagination_max_limit", -1,
		"The maximum number of items returned in a single response; -1 means no limit.").Min(-1)
	optGlobalPhysnetMTU = Options.Int("DEFAULT", "global_physnet_mtu", 1500,
		"MTU of the underlying physical network. Neutron uses this value to calculate MTU for all virtual network components.").Min(68)
	optMaxDNSNameservers = Options.Int("DEFAULT", "max_dns_nameservers", 5,
		"Maximum number of DNS nameservers per subnet.").Min(0)
	optMaxSubnetHostRoutes = Options.Int("DEFAULT", "max_subnet_host_routes", 20,
		"Maximum number of host routes per subnet.").Min(0)
	optEnableSNATByDefault = Options.Bool("DEFAULT", "enable_snat_by_default", true,
		"Define the default value of enable_snat if not provided in external_gateway_info.")
	optRouterDistributed = Options.Bool("DEFAULT", "router_distributed", false,
		"System-wide flag to determine the type of router that projects can create. Only admin can override.")
	optL3HA = Options.Bool("DEFAULT", "l3_ha", false,
		"Enable HA mode for virtual routers.")
	optDebug = Options.Bool("DEFAULT", "debug", false,
		"If set to true, the logging level will be set to DEBUG instead of the default INFO level.")

	optMaxBodySize = Options.Int("oslo_middleware", "max_request_body_size", 114688,
		"The maximum body size for each request, in bytes.").Min(0).
		DeprecatedName("DEFAULT", "osapi_max_request_body_size").
		DeprecatedName("DEFAULT", "max_request_body_size")
	optProxyHeaders = Options.Bool("oslo_middleware", "enable_proxy_headers_parsing", false,
		"Whether the application is behind a proxy or not. This determines if the middleware should parse the headers or not.")

	optConnection = Options.String("database", "connection", "",
		"The SQLAlchemy-style connection string used to connect to the database: sqlite:///path, sqlite:// (in memory) or postgresql://user:pass@host/db.").Secret()
	optAutoMigrate = Options.Bool("database", "auto_migrate", true,
		"Apply pending schema migrations when the server starts (Neutrino extension; 'neutrino db upgrade' does it explicitly).")

	optPolicyFile = Options.String("oslo_policy", "policy_file", "policy.yaml",
		"The relative or absolute path of a file that maps roles to permissions for a given service.")
	optServiceProviders = Options.MultiString("service_providers", "service_provider", nil,
		"Service providers of advanced services, <service_type>:<name>:<driver>[:default]; listed by /v2.0/service-providers.")
	optPolicyDirs = Options.MultiString("oslo_policy", "policy_dirs", []string{"policy.d"},
		"Directories where policy configuration files are stored, relative to the config directories or absolute.")
	optEnforceNewDefaults = Options.Bool("oslo_policy", "enforce_new_defaults", true,
		"Whether to use the new default rules (secure RBAC personas) instead of the deprecated ones.")
	optEnforceScope = Options.Bool("oslo_policy", "enforce_scope", true,
		"Whether the token's scope is checked against the rule's scope types.")

	optCORSOrigin = Options.List("cors", "allowed_origin", nil,
		"Indicate whether this resource may be shared with the domain received in the request's origin header.")
	optCORSCredentials = Options.Bool("cors", "allow_credentials", true,
		"Indicate that the actual request can include user credentials.")
	optCORSExpose = Options.List("cors", "expose_headers",
		[]string{"X-Auth-Token", "X-Subject-Token", "X-Service-Token", "X-OpenStack-Request-ID", "OpenStack-Volume-microversion"},
		"Indicate which headers are safe to expose to the API.")
	optCORSMaxAge = Options.Int("cors", "max_age", 3600,
		"Maximum cache age of CORS preflight requests.")
	optCORSMethods = Options.List("cors", "allow_methods", []string{"GET", "PUT", "POST", "DELETE", "PATCH"},
		"Indicate which methods can be used during the actual request.")
	optCORSHeaders = Options.List("cors", "allow_headers",
		[]string{"X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog", "X-User-Id", "X-Tenant-Id", "X-OpenStack-Request-ID"},
		"Indicate which header field names may be used during the actual request.")
)

// [keystone_authtoken]: the keystonemiddleware auth_token options Neutrino
// reads when [DEFAULT] auth_strategy = keystone. The section's other
// options (memcached_servers, interface, service_type, ...) are accepted
// and ignored: it stays in the ignored-sections list in init.
var (
	optKSWWWAuthenticateURI = Options.String("keystone_authtoken", "www_authenticate_uri", "",
		"Complete \"public\" Identity API endpoint. This endpoint should not be an \"admin\" endpoint, as it should be accessible by all end users. Unauthenticated clients are redirected to this endpoint to authenticate.").
		DeprecatedName("keystone_authtoken", "auth_uri")
	optKSAuthType = Options.String("keystone_authtoken", "auth_type", "",
		"Authentication type to load. Neutrino supports password: the service user's username and password.")
	optKSAuthURL = Options.String("keystone_authtoken", "auth_url", "",
		"Authentication URL: the Identity API endpoint the service authenticates with and validates tokens at.")
	optKSUsername = Options.String("keystone_authtoken", "username", "",
		"The service user's name.")
	optKSPassword = Options.String("keystone_authtoken", "password", "",
		"The service user's password.").Secret()
	optKSProjectName = Options.String("keystone_authtoken", "project_name", "",
		"Project name to scope the service token to.")
	optKSUserDomainName = Options.String("keystone_authtoken", "user_domain_name", "",
		"The service user's domain name.")
	optKSUserDomainID = Options.String("keystone_authtoken", "user_domain_id", "",
		"The service user's domain ID.")
	optKSProjectDomainName = Options.String("keystone_authtoken", "project_domain_name", "",
		"Domain name of the project the service token is scoped to.")
	optKSProjectDomainID = Options.String("keystone_authtoken", "project_domain_id", "",
		"Domain ID of the project the service token is scoped to.")
	optKSRegionName = Options.String("keystone_authtoken", "region_name", "",
		"The region in which the identity server can be found.")
	optKSServiceTokenRoles = Options.List("keystone_authtoken", "service_token_roles", []string{"service"},
		"A choice of roles that must be present in a service token. Service tokens are allowed to request that an expired token can be used and so this check should tightly control that only actual services should be sending this token. Roles here are applied as an ANY check so any role in this list must be present.")
	optKSServiceTokenRolesRequired = Options.Bool("keystone_authtoken", "service_token_roles_required", false,
		"For backwards compatibility reasons we must let valid service tokens pass that don't pass the service_token_roles check as valid. Setting this true will become the default in a future release and should be enabled if possible.")
	optKSTokenCacheTime = Options.Int("keystone_authtoken", "token_cache_time", 300,
		"In order to prevent excessive effort spent validating tokens, the middleware caches previously-seen tokens for a configurable duration (in seconds). Set to -1 to disable caching completely. Neutrino caches in memory, and never beyond a token's expiry.").Min(-1)
	optKSHTTPConnectTimeout = Options.Int("keystone_authtoken", "http_connect_timeout", 0,
		"Request timeout value for communicating with Identity API server, in seconds; 0 means 10 seconds.").Min(0)
	optKSHTTPRequestMaxRetries = Options.Int("keystone_authtoken", "http_request_max_retries", 3,
		"How many times are we trying to reconnect when communicating with Identity API Server.").Min(0)
	optKSCAFile = Options.String("keystone_authtoken", "cafile", "",
		"A PEM encoded Certificate Authority to use when verifying HTTPs connections. Defaults to system CAs.")
	optKSInsecure = Options.Bool("keystone_authtoken", "insecure", false,
		"Do not verify HTTPS connections.")
)

// [quotas]: Neutron's default per-project limits; negative is unlimited.
var (
	optQuotaDefault = Options.Int("quotas", "default_quota", -1,
		"Default number of resources allowed per project. A negative value means unlimited.")
	optQuotaNetwork = Options.Int("quotas", "quota_network", 100,
		"Number of networks allowed per project. A negative value means unlimited.")
	optQuotaSubnet = Options.Int("quotas", "quota_subnet", 100,
		"Number of subnets allowed per project, A negative value means unlimited.")
	optQuotaPort = Options.Int("quotas", "quota_port", 500,
		"Number of ports allowed per project. A negative value means unlimited.")
	optQuotaRouter = Options.Int("quotas", "quota_router", 10,
		"Number of routers allowed per project. A negative value means unlimited.")
	optQuotaFloatingIP = Options.Int("quotas", "quota_floatingip", 50,
		"Number of floating IPs allowed per project. A negative value means unlimited.")
	optQuotaSecurityGroup = Options.Int("quotas", "quota_security_group", 10,
		"Number of security groups allowed per project. A negative value means unlimited.")
	optQuotaSecurityGroupRule = Options.Int("quotas", "quota_security_group_rule", 100,
		"Number of security rules allowed per project. A negative value means unlimited.")
	optQuotaRBACPolicy = Options.Int("quotas", "quota_rbac_policy", 10,
		"Default number of RBAC entries allowed per project. A negative value means unlimited.")
	optQuotaRouterRoute = Options.Int("quotas", "quota_router_route", 30,
		"Number of routes allowed per router. A negative value means unlimited.")
)

// [ml2] and its type drivers' sections: Neutron's names and defaults.
var (
	optTypeDrivers = Options.List("ml2", "type_drivers", []string{"local", "flat", "vlan", "gre", "vxlan", "geneve"},
		"List of network type driver entrypoints to be loaded from the neutron.ml2.type_drivers namespace.")
	optProjectNetworkTypes = Options.List("ml2", "project_network_types", []string{"local"},
		"Ordered list of network_types to allocate as project networks. The default value 'local' is useful for single-box testing but provides no connectivity between hosts.").
		DeprecatedName("ml2", "tenant_network_types")
	optMechanismDrivers = Options.List("ml2", "mechanism_drivers", nil,
		"An ordered list of networking mechanism driver entrypoints to be loaded from the neutron.ml2.mechanism_drivers namespace.")
	_ = Options.List("ml2", "extension_drivers", nil,
		"An ordered list of extension driver entrypoints to be loaded from the neutron.ml2.extension_drivers namespace. For example: extension_drivers = port_security,qos")
	optPathMTU = Options.Int("ml2", "path_mtu", 0,
		"Maximum size of an IP packet (MTU) that can traverse the underlying physical network infrastructure without fragmentation when using an overlay/tunnel protocol.").Min(0)
	optPhysnetMTUs = Options.List("ml2", "physical_network_mtus", nil,
		"Mappings of physical networks to MTU values. The format of the mapping is <physnet>:<mtu val>. This mapping allows specifying a physical network MTU value that differs from the default global_physnet_mtu value.")
	optOverlayIPVersion = Options.Int("ml2", "overlay_ip_version", 4,
		"IP version of all overlay (tunnel) network endpoints.").Range(4, 6)
	optFlatNetworks = Options.List("ml2_type_flat", "flat_networks", []string{"*"},
		"List of physical_network names with which flat networks can be created. Use default '*' to allow flat networks with arbitrary physical_network names. Use an empty list to disable flat networks.")
	optVLANRanges = Options.List("ml2_type_vlan", "network_vlan_ranges", nil,
		"List of <physical_network>:<vlan_min>:<vlan_max> or <physical_network> specifying physical_network names usable for VLAN provider and project networks, as well as ranges of VLAN tags on each available for allocation to project networks.")
	optVXLANRanges = Options.List("ml2_type_vxlan", "vni_ranges", nil,
		"Comma-separated list of <vni_min>:<vni_max> tuples enumerating ranges of VXLAN VNI IDs that are available for project network allocation.")
	_ = Options.String("ml2_type_vxlan", "vxlan_group", "",
		"Multicast group for VXLAN. When configured, will enable sending all broadcast traffic to this multicast group. When left unconfigured, will disable multicast VXLAN mode.")
	optGeneveRanges = Options.List("ml2_type_geneve", "vni_ranges", nil,
		"Comma-separated list of <vni_min>:<vni_max> tuples enumerating ranges of Geneve VNI IDs that are available for project network allocation.")
	optGeneveMaxHeader = Options.Int("ml2_type_geneve", "max_header_size", 30,
		"The maximum allowed Geneve encapsulation header size (in bytes).").Min(0)
	optGRERanges = Options.List("ml2_type_gre", "tunnel_id_ranges", nil,
		"Comma-separated list of <tun_min>:<tun_max> tuples enumerating ranges of GRE tunnel IDs that are available for project network allocation.")
)

// Agents and agent scheduling (neutron/conf/agent/database/agents_db.py,
// agentschedulers_db.py, neutron/conf/common.py).
var (
	optAgentDownTime = Options.Int("DEFAULT", "agent_down_time", 75,
		"Seconds to regard the agent is down; should be at least twice report_interval, to be sure the agent is down for good.").Min(1)
	optEnableNewAgents = Options.Bool("DEFAULT", "enable_new_agents", true,
		"Agent starts with admin_state_up=False when enable_new_agents=False. In the case, user's resources will not be scheduled automatically to the agent until admin changes admin_state_up to True.")
	optDHCPAgentsPerNetwork = Options.Int("DEFAULT", "dhcp_agents_per_network", 1,
		"Number of DHCP agents scheduled to host a tenant network. If this number is greater than 1, the scheduler automatically assigns multiple DHCP agents for a given tenant network, providing high availability for the DHCP service.").Min(1)
	optNetworkAutoSchedule = Options.Bool("DEFAULT", "network_auto_schedule", true,
		"Allow auto scheduling networks to DHCP agent.")
	optAllowAutomaticDHCPFailover = Options.Bool("DEFAULT", "allow_automatic_dhcp_failover", true,
		"Automatically remove networks from offline DHCP agents.")
	optRouterSchedulerDriver = Options.String("DEFAULT", "router_scheduler_driver",
		"neutron.scheduler.l3_agent_scheduler.LeastRoutersScheduler",
		"Driver to use for scheduling router to a default L3 agent.").
		Choices("neutron.scheduler.l3_agent_scheduler.LeastRoutersScheduler", "neutron.scheduler.l3_agent_scheduler.ChanceScheduler")
	optRouterAutoSchedule = Options.Bool("DEFAULT", "router_auto_schedule", true,
		"Allow auto scheduling of routers to L3 agent.")
	optAllowAutomaticL3AgentFailover = Options.Bool("DEFAULT", "allow_automatic_l3agent_failover", false,
		"Automatically reschedule routers from offline L3 agents to online L3 agents.")
	optDefaultAvailabilityZones = Options.List("DEFAULT", "default_availability_zones", nil,
		"Default value of availability zone hints. The availability zone aware schedulers use this when the resources availability_zone_hints is empty.")
)

// The message bus ([DEFAULT] transport_url, [nats]) and the agent
// ([agent]); `neutrino agent` reads the same options.
var (
	optTransportURL = Options.String("DEFAULT", "transport_url", "",
		"The network address and optional user credentials for connecting to the messaging backend, in URL format: nats://[user:pass@]host:port[,[user:pass@]host2:port2][/virtual_host]. Empty: the server embeds a NATS server (see [nats] embedded_host and embedded_port) and agents must be given its address.").Secret()
	optRPCResponseTimeout = Options.Int("DEFAULT", "rpc_response_timeout", 60,
		"Seconds to wait for a response from a call.").Min(1)
	optExecutorThreadPoolSize = Options.Int("DEFAULT", "executor_thread_pool_size", 64,
		"Size of executor thread pool when executor is threading or eventlet: here, how many calls of one topic the server (or an agent) handles at once.").Min(1)
	optHost = Options.String("DEFAULT", "host", "",
		"Hostname to be used by the Neutron server, agents and services running on this machine. All the agents and services running on this machine must use the same host value. Empty means the operating system's host name.")

	optNATSEmbeddedHost = Options.String("nats", "embedded_host", "127.0.0.1",
		"Address the embedded NATS server listens on for agents when [DEFAULT] transport_url is empty. Listening beyond loopback exposes the bus without authentication; use an external NATS cluster with TLS and credentials for multi-host deployments.")
	optNATSEmbeddedPort = Options.Int("nats", "embedded_port", 4222,
		"Port of the embedded NATS server; 0 accepts in-process connections only (all-in-one's in-process agent), -1 picks a free port.").Min(-1).Max(65535)
	optNATSTLSCAFile = Options.String("nats", "tls_ca_file", "",
		"PEM file of the certificate authorities that sign the external NATS servers' certificates (TLS with transport_url).")
	optNATSTLSCertFile = Options.String("nats", "tls_cert_file", "",
		"PEM client certificate presented to the external NATS servers (mutual TLS); needs tls_key_file.")
	optNATSTLSKeyFile = Options.String("nats", "tls_key_file", "",
		"PEM private key of tls_cert_file.")
	optNATSCredsFile = Options.String("nats", "creds_file", "",
		"NATS credentials file (user JWT and NKey seed) for the external NATS servers, instead of user:pass@ in transport_url.")

	optAgentReportInterval = Options.Float("agent", "report_interval", 30,
		"Seconds between agents reporting state to server; should be less than agent_down_time, best if it is half or less than agent_down_time.").Min(0)
	optAgentAvailabilityZone = Options.String("agent", "availability_zone", "nova",
		"Availability zone of this node.")
	optAgentInProcess = Options.Bool("agent", "in_process", false,
		"all-in-one runs an agent in the server's process (Neutrino extension).")
	optAgentParts = Options.List("agent", "parts", nil,
		"The parts this agent runs, each reporting as its own Neutron agent: l2 (Linux bridge agent), dhcp (DHCP agent). Empty: every part (Neutrino extension).")
	optAgentNetworkNamespace = Options.String("agent", "network_namespace", "",
		"Build this agent's data plane (bridges, VXLAN, DHCP namespaces' ports) in this named network namespace instead of the host's; the process and its bus connection stay where they are. For test and demonstration hosts on one machine (Neutrino extension).")
)

// The Linux bridge agent ([linux_bridge], [vxlan], [agent]
// polling_interval) and the DHCP agent (neutron/conf/agent/dhcp.py); the
// agent parts read them through LinuxBridgeAgentOptions and
// DHCPAgentOptions.
var (
	optPhysicalInterfaceMappings = Options.List("linux_bridge", "physical_interface_mappings", nil,
		"Comma-separated list of <physical_network>:<physical_interface> tuples mapping physical network names to the agent's node-specific physical network interfaces to be used for flat and VLAN networks.")
	optLBBridgeMappings = Options.List("linux_bridge", "bridge_mappings", nil,
		"List of <physical_network>:<physical_bridge>.")
	optEnableVXLAN = Options.Bool("vxlan", "enable_vxlan", true,
		"Enable VXLAN on the agent.")
	optVXLANLocalIP = Options.String("vxlan", "local_ip", "",
		"IP address of local overlay (tunnel) network endpoint.")
	optVXLANL2Population = Options.Bool("vxlan", "l2_population", false,
		"Extension to use alongside ML2 plugin's l2population mechanism driver. It enables the plugin to populate the VXLAN forwarding table.")
	optVXLANARPResponder = Options.Bool("vxlan", "arp_responder", false,
		"Enable local ARP responder which provides local responses instead of performing ARP broadcast into the overlay.")
	optVXLANTTL = Options.Int("vxlan", "ttl", 0,
		"TTL for VXLAN interface protocol packets.").Min(0)
	optVXLANTOS = Options.Int("vxlan", "tos", 0,
		"TOS for VXLAN interface protocol packets.").Min(0)
	optVXLANGroup = Options.String("vxlan", "vxlan_group", "224.0.0.1",
		"Multicast group(s) for VXLAN interface.")
	optVXLANUDPPort = Options.Int("vxlan", "udp_dstport", 0,
		"The UDP port used for VXLAN communication; 0: the kernel's default.").Range(0, 65535)
	optAgentPollingInterval = Options.Int("agent", "polling_interval", 2,
		"The number of seconds the agent will wait between polling for local device changes.").Min(1)

	optDHCPLeaseDuration = Options.Int("DEFAULT", "dhcp_lease_duration", 86400,
		"DHCP lease duration (in seconds). Use -1 to tell dnsmasq to use infinite lease times.").Min(-1)
	optDNSDomain = Options.String("DEFAULT", "dns_domain", "openstacklocal",
		"Domain to use for building the hostnames.")
	optDHCPConfs = Options.String("DEFAULT", "dhcp_confs", "$state_path/dhcp",
		"Location to store DHCP server config files.")
	optResyncInterval = Options.Int("DEFAULT", "resync_interval", 5,
		"The DHCP agent will resync its state with Neutron to recover from any transient notification or RPC errors. The interval is maximum number of seconds between attempts.").Min(1)
	optDHCPDriver = Options.String("DEFAULT", "dhcp_driver", "neutron.agent.linux.dhcp.Dnsmasq",
		"The driver used to manage the DHCP server.")
	optDnsmasqLeaseMax = Options.Int("DEFAULT", "dnsmasq_lease_max", 1<<24,
		"Limit number of leases to prevent a denial-of-service.").Min(1)
	optEnableIsolatedMetadata = Options.Bool("DEFAULT", "enable_isolated_metadata", false,
		"The DHCP server can assist with providing metadata support on isolated networks.")
	optForceMetadata = Options.Bool("DEFAULT", "force_metadata", false,
		"In some cases the Neutron router is not present to provide the metadata IP but the DHCP server can be used to provide this info.")
	optDnsmasqBaseLogDir = Options.String("DEFAULT", "dnsmasq_base_log_dir", "",
		"Base log dir for dnsmasq logging. The log contains DHCP and DNS log information.")
)

// LinuxBridgeAgentOptions are the Linux bridge agent's options.
type LinuxBridgeAgentOptions struct {
	PhysicalInterfaceMappings map[string]string
	BridgeMappings            map[string]string
	EnableVXLAN               bool
	LocalIP                   string
	L2Population              bool
	ARPResponder              bool
	TTL, TOS                  int
	VXLANGroup                string
	UDPPort                   int
	PollingInterval           time.Duration
}

// LinuxBridgeAgentConfig reads the Linux bridge agent's options of cfg.
func LinuxBridgeAgentConfig(cfg *config.Config) (LinuxBridgeAgentOptions, error) {
	pim, err := mappings(cfg.List(optPhysicalInterfaceMappings))
	if err != nil {
		return LinuxBridgeAgentOptions{}, fmt.Errorf("[linux_bridge] physical_interface_mappings: %w", err)
	}
	bm, err := mappings(cfg.List(optLBBridgeMappings))
	if err != nil {
		return LinuxBridgeAgentOptions{}, fmt.Errorf("[linux_bridge] bridge_mappings: %w", err)
	}
	return LinuxBridgeAgentOptions{
		PhysicalInterfaceMappings: pim, BridgeMappings: bm,
		EnableVXLAN: cfg.Bool(optEnableVXLAN), LocalIP: cfg.String(optVXLANLocalIP),
		L2Population: cfg.Bool(optVXLANL2Population), ARPResponder: cfg.Bool(optVXLANARPResponder),
		TTL: cfg.Int(optVXLANTTL), TOS: cfg.Int(optVXLANTOS), VXLANGroup: cfg.String(optVXLANGroup),
		UDPPort: cfg.Int(optVXLANUDPPort), PollingInterval: time.Duration(cfg.Int(optAgentPollingInterval)) * time.Second,
	}, nil
}

// mappings parses "<key>:<value>" pairs; a key may appear once.
func mappings(items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(strings.TrimSpace(it), ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("invalid mapping %q: want <key>:<value>", it)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key %q mapped twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// DHCPAgentOptions are the DHCP agent's options.
type DHCPAgentOptions struct {
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

// DHCPAgentConfig reads the DHCP agent's options of cfg.
func DHCPAgentConfig(cfg *config.Config) DHCPAgentOptions {
	return DHCPAgentOptions{
		LeaseDuration: cfg.Int(optDHCPLeaseDuration), DNSDomain: cfg.String(optDNSDomain),
		StateDir: cfg.String(optDHCPConfs), ResyncInterval: time.Duration(cfg.Int(optResyncInterval)) * time.Second,
		Driver: cfg.String(optDHCPDriver), LeaseMax: cfg.Int(optDnsmasqLeaseMax),
		EnableIsolatedMetadata: cfg.Bool(optEnableIsolatedMetadata), ForceMetadata: cfg.Bool(optForceMetadata),
		LogDir: cfg.String(optDnsmasqBaseLogDir),
	}
}

func init() {
	Options.Ignore("quotas", "quota_driver")
	Options.Ignore("quotas", "track_quota_usage")
	// Accepted for compatibility with Neutron's files; Neutrino has no use
	// for them.
	for _, name := range []string{"api_extensions_path", "api_workers", "rpc_workers", "rpc_state_report_workers",
		"use_syslog", "log_dir", "log_file", "notify_nova_on_port_status_changes",
		"notify_nova_on_port_data_changes",
		"external_dns_driver", "interface_driver", "verbose",
		"auth_url", "network_scheduler_driver", "dhcp_load_type"} {
		Options.Ignore("DEFAULT", name)
	}
	for _, s := range []string{"keystone_authtoken", "nova", "placement", "oslo_concurrency",
		"oslo_messaging_rabbit", "oslo_messaging_notifications", "experimental",
		"securitygroup", "ovs", "ovn", "privsep", "healthcheck"} {
		Options.IgnoreSection(s)
	}
	// Neutron's other [agent] options, read by agents Neutrino does not
	// have (OVS) or not yet.
	for _, name := range []string{"root_helper", "root_helper_daemon", "use_helper_for_ns_read",
		"log_agent_heartbeats", "check_child_processes_action", "check_child_processes_interval", "extensions",
		"comment_iptables_rules", "debug_iptables_rules", "kill_scripts_path", "tunnel_types", "l2_population",
		"arp_responder", "enable_distributed_routing", "dscp", "dscp_inherit"} {
		Options.Ignore("agent", name)
	}
	Options.Ignore("oslo_middleware", "http_basic_auth_user_file")
	Options.Ignore("database", "max_pool_size")
	Options.Ignore("database", "max_overflow")
	Options.Ignore("database", "pool_timeout")
	Options.Ignore("database", "connection_recycle_time")
	Options.Ignore("oslo_policy", "enforce_new_defaults_deprecated")
}

// Debug reports [DEFAULT] debug.
func Debug(cfg *config.Config) bool { return cfg.Bool(optDebug) }

// Connection reports [database] connection.
func Connection(cfg *config.Config) string { return cfg.String(optConnection) }

// Host reports [DEFAULT] host, or the operating system's host name.
func Host(cfg *config.Config) string {
	if h := cfg.String(optHost); h != "" {
		return h
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// BusOptions are the message bus options of cfg.
func BusOptions(cfg *config.Config, name string, logger *slog.Logger) rpc.Options {
	return rpc.Options{
		TransportURL: cfg.String(optTransportURL),
		EmbeddedHost: cfg.String(optNATSEmbeddedHost),
		EmbeddedPort: cfg.Int(optNATSEmbeddedPort),
		TLSCAFile:    cfg.String(optNATSTLSCAFile),
		TLSCertFile:  cfg.String(optNATSTLSCertFile),
		TLSKeyFile:   cfg.String(optNATSTLSKeyFile),
		CredsFile:    cfg.String(optNATSCredsFile),
		Timeout:      time.Duration(cfg.Int(optRPCResponseTimeout)) * time.Second,
		Workers:      cfg.Int(optExecutorThreadPoolSize),
		Name:         name,
		Logger:       logger,
	}
}

// AgentEnv is what the agent's parts are built with: the host, cfg, the
// logger and the namespace to build the data plane in.
func AgentEnv(cfg *config.Config, logger *slog.Logger) agent.Env {
	return agent.Env{Host: Host(cfg), Config: cfg, Logger: logger, Namespace: cfg.String(optAgentNetworkNamespace)}
}

// AgentParts are the names of the parts the agent runs ([agent] parts;
// empty for every part).
func AgentParts(cfg *config.Config) []string { return cfg.List(optAgentParts) }

// AgentOptions are the agent runtime options of cfg.
func AgentOptions(cfg *config.Config) (host string, reportInterval time.Duration, availabilityZone string) {
	return Host(cfg), time.Duration(cfg.Float(optAgentReportInterval) * float64(time.Second)), cfg.String(optAgentAvailabilityZone)
}
