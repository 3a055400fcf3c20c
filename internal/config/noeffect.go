package config

// noEffect lists the Neutron options Neutrino recognises but does not act
// on. Loading a file that sets one logs, once, the file, section, option
// and the reason here, so an operator never believes a setting took
// effect when it did not. An empty option stands for every key of the
// section that no component declares.
//
// The table shrinks as Neutrino grows: a component that implements one of
// these declares the option in its own package and removes the row (a key
// declared twice panics at start, so a forgotten row cannot hide the new
// option).
var noEffect = []struct{ section, option, reason string }{
	{DefaultSection, "api_extensions_path", "extensions are built in; [DEFAULT] service_plugins selects them"},
	{DefaultSection, "api_workers", "one process serves the API concurrently"},
	{DefaultSection, "rpc_workers", "one process serves the bus concurrently ([DEFAULT] executor_thread_pool_size bounds it)"},
	{DefaultSection, "rpc_state_report_workers", "one process serves the bus concurrently ([DEFAULT] executor_thread_pool_size bounds it)"},
	{DefaultSection, "use_syslog", "Neutrino logs to standard error"},
	{DefaultSection, "log_dir", "Neutrino logs to standard error"},
	{DefaultSection, "log_file", "Neutrino logs to standard error"},
	{DefaultSection, "verbose", "[DEFAULT] debug sets the log level"},
	{DefaultSection, "metadata_workers", "one process serves metadata concurrently"},
	{DefaultSection, "metadata_backlog", "one process serves metadata concurrently"},
	{DefaultSection, "metadata_proxy_socket", "the metadata part listens in the namespaces itself, without a Unix socket"},
	{DefaultSection, "metadata_proxy_socket_mode", "the metadata part listens in the namespaces itself, without a Unix socket"},
	{DefaultSection, "metadata_proxy_user", "the metadata part listens in the namespaces itself, without haproxy"},
	{DefaultSection, "metadata_proxy_group", "the metadata part listens in the namespaces itself, without haproxy"},
	{DefaultSection, "external_dns_driver", "no external DNS service (Designate) is supported"},
	{DefaultSection, "auth_url", "not used"},
	{DefaultSection, "network_scheduler_driver", "networks go to the DHCP agents hosting the fewest networks"},
	{DefaultSection, "dhcp_load_type", "DHCP agents are weighed by the networks they host"},
	{DefaultSection, "ipam_driver", "Neutrino's IP address management is built in"},
	{"quotas", "quota_driver", "quotas are kept in Neutrino's database"},
	{"quotas", "track_quota_usage", "usage is always counted in the reserving transaction"},
	{"database", "max_pool_size", "the pool is sized by Neutrino"},
	{"database", "max_overflow", "the pool is sized by Neutrino"},
	{"database", "pool_timeout", "the pool is sized by Neutrino"},
	{"database", "connection_recycle_time", "the pool is sized by Neutrino"},
	{"oslo_middleware", "http_basic_auth_user_file", "HTTP basic authentication is not supported"},
	{"oslo_policy", "enforce_new_defaults_deprecated", "not used"},
	{"agent", "root_helper", "the agent needs CAP_NET_ADMIN and calls the kernel directly"},
	{"agent", "root_helper_daemon", "the agent needs CAP_NET_ADMIN and calls the kernel directly"},
	{"agent", "use_helper_for_ns_read", "the agent needs CAP_NET_ADMIN and calls the kernel directly"},
	{"agent", "log_agent_heartbeats", "not used"},
	{"agent", "check_child_processes_action", "the DHCP part restarts dnsmasq itself"},
	{"agent", "check_child_processes_interval", "the DHCP part restarts dnsmasq itself"},
	{"agent", "comment_iptables_rules", "the agent does not use iptables"},
	{"agent", "debug_iptables_rules", "the agent does not use iptables"},
	{"agent", "kill_scripts_path", "not used"},
	{"agent", "tunnel_types", "an Open vSwitch agent option; [vxlan] configures the Linux bridge agent"},
	{"agent", "l2_population", "an Open vSwitch agent option; [vxlan] l2_population configures the Linux bridge agent"},
	{"agent", "arp_responder", "an Open vSwitch agent option; [vxlan] arp_responder configures the Linux bridge agent"},
	{"agent", "enable_distributed_routing", "distributed routers (DVR) are not supported by the agent"},
	{"agent", "dscp", "an Open vSwitch agent option"},
	{"agent", "dscp_inherit", "an Open vSwitch agent option"},
	{"securitygroup", "enable_ipset", "the nftables firewall always matches remote groups with sets"},
	{"securitygroup", "permitted_ethertypes", "the firewall lets non-IP, non-ARP frames from a port's own MACs through"},
	{"nova", "", "a keystoneauth option the Nova notifier does not use (it reads auth_type password or none, the password plugin's user, project and domains, region_name, endpoint_type, endpoint, cafile, insecure and timeout)"},
	{"placement", "", "Placement reporting is not implemented"},
	{"designate", "", "no external DNS service (Designate) is supported; ports' names are served by the DHCP agents' dnsmasq within their networks"},
	{"keystone_authtoken", "", "a keystonemiddleware option Neutrino's token validation does not use"},
	{"oslo_concurrency", "", "Neutrino takes no file locks"},
	{"oslo_messaging_rabbit", "", "the message bus is NATS ([DEFAULT] transport_url = nats://…)"},
	{"oslo_messaging_notifications", "", "notifications to other services are not implemented"},
	{"experimental", "", "not used"},
	{"ovs", "", "the Open vSwitch agent is not supported; the agent is a Linux bridge agent"},
	{"ovn", "", "the OVN mechanism driver is not supported"},
	{"privsep", "", "the agent needs CAP_NET_ADMIN and calls the kernel directly"},
	{"healthcheck", "", "not used"},
}

func init() {
	for _, ne := range noEffect {
		if ne.option == "" {
			Options.NoEffectSection(ne.section, ne.reason)
		} else {
			Options.NoEffect(ne.section, ne.option, ne.reason)
		}
	}
}
