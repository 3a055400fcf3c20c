package l2

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The Linux bridge agent's options (neutron/conf/plugins/ml2/drivers/
// linuxbridge.py: [linux_bridge], [vxlan]; and [agent] polling_interval).
var (
	optPhysicalInterfaceMappings = config.Options.List("linux_bridge", "physical_interface_mappings", nil,
		"Comma-separated list of <physical_network>:<physical_interface> tuples mapping physical network names to the agent's node-specific physical network interfaces to be used for flat and VLAN networks.")
	optBridgeMappings = config.Options.List("linux_bridge", "bridge_mappings", nil,
		"List of <physical_network>:<physical_bridge>.")
	optEnableVXLAN = config.Options.Bool("vxlan", "enable_vxlan", true,
		"Enable VXLAN on the agent.")
	optLocalIP = config.Options.String("vxlan", "local_ip", "",
		"IP address of local overlay (tunnel) network endpoint.")
	optL2Population = config.Options.Bool("vxlan", "l2_population", false,
		"Extension to use alongside ML2 plugin's l2population mechanism driver. It enables the plugin to populate the VXLAN forwarding table.")
	optARPResponder = config.Options.Bool("vxlan", "arp_responder", false,
		"Enable local ARP responder which provides local responses instead of performing ARP broadcast into the overlay.")
	optTTL = config.Options.Int("vxlan", "ttl", 0,
		"TTL for VXLAN interface protocol packets.").Min(0)
	optTOS = config.Options.Int("vxlan", "tos", 0,
		"TOS for VXLAN interface protocol packets.").Min(0)
	optVXLANGroup = config.Options.String("vxlan", "vxlan_group", "224.0.0.1",
		"Multicast group(s) for VXLAN interface.")
	optUDPPort = config.Options.Int("vxlan", "udp_dstport", 0,
		"The UDP port used for VXLAN communication; 0: the kernel's default.").Range(0, 65535)
	// [agent] extensions: "qos" enforces ports' QoS rules (the
	// linuxbridge agent's QoS extension); other names have no effect.
	optExtensions = config.Options.List("agent", "extensions", nil,
		"Extensions list to use")
	optPollingInterval = config.Options.Int("agent", "polling_interval", 2,
		"The number of seconds the agent will wait between polling for local device changes.").Min(1)

	// [securitygroup] (neutron/conf/agent/securitygroups_rpc.py).
	optFirewallDriver = config.Options.String("securitygroup", "firewall_driver", "",
		"Driver for security groups firewall in the L2 agent")
	optEnableSecurityGroup = config.Options.Bool("securitygroup", "enable_security_group", true,
		"Controls whether the neutron security group API is enabled in the server. It should be false when using no security groups or using the Nova security group API.")
)

// Firewall drivers by the names Neutron loads them by (its
// neutron.agent.firewall_drivers entry points and class paths). Every
// filtering driver means Neutrino's nftables firewall.
var firewallDrivers = map[string]bool{
	"noop": false, "neutron.agent.firewall.NoopFirewallDriver": false,
	"nftables": true,
	"iptables": true, "neutron.agent.linux.iptables_firewall.IptablesFirewallDriver": true,
	"iptables_hybrid": true, "neutron.agent.linux.iptables_firewall.OVSHybridIptablesFirewallDriver": true,
}

// Options are the Linux bridge agent's options.
type Options struct {
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
	// FirewallDriver is [securitygroup] firewall_driver as given.
	FirewallDriver string
	// EnableSecurityGroup is [securitygroup] enable_security_group.
	EnableSecurityGroup bool
	// Filter: ports are filtered (a filtering firewall_driver and
	// enable_security_group), with nftables whatever driver was named.
	Filter bool
	// QoS: ports' QoS rules are enforced ([agent] extensions = qos).
	QoS bool
}

// OptionsFrom reads the Linux bridge agent's options of cfg.
func OptionsFrom(cfg *config.Config) (Options, error) {
	pim, err := mappings(cfg.List(optPhysicalInterfaceMappings))
	if err != nil {
		return Options{}, cfg.Invalid(optPhysicalInterfaceMappings, err)
	}
	bm, err := mappings(cfg.List(optBridgeMappings))
	if err != nil {
		return Options{}, cfg.Invalid(optBridgeMappings, err)
	}
	o := Options{
		PhysicalInterfaceMappings: pim, BridgeMappings: bm,
		EnableVXLAN: cfg.Bool(optEnableVXLAN), LocalIP: cfg.String(optLocalIP),
		L2Population: cfg.Bool(optL2Population), ARPResponder: cfg.Bool(optARPResponder),
		TTL: cfg.Int(optTTL), TOS: cfg.Int(optTOS), VXLANGroup: cfg.String(optVXLANGroup),
		UDPPort: cfg.Int(optUDPPort), PollingInterval: time.Duration(cfg.Int(optPollingInterval)) * time.Second,
	}
	o.FirewallDriver, o.EnableSecurityGroup = cfg.String(optFirewallDriver), cfg.Bool(optEnableSecurityGroup)
	filter, known := firewallDrivers[o.FirewallDriver]
	if !known && o.FirewallDriver != "" {
		return o, cfg.Invalid(optFirewallDriver, fmt.Errorf("unknown firewall driver %q (noop, nftables, iptables, iptables_hybrid)", o.FirewallDriver))
	}
	// As in Neutron, no driver is the noop driver, and
	// enable_security_group = false turns any driver off.
	o.Filter = filter && o.EnableSecurityGroup
	o.QoS = slices.Contains(cfg.List(optExtensions), "qos")
	if o.EnableVXLAN && o.LocalIP == "" {
		return o, cfg.Invalid(optLocalIP, fmt.Errorf("[vxlan] enable_vxlan needs [vxlan] local_ip"))
	}
	return o, nil
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
