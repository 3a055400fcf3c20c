package ml2

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
)

// [ml2] and its type drivers' sections: Neutron's names and defaults.
var (
	optGlobalPhysnetMTU = config.Options.Int(config.DefaultSection, "global_physnet_mtu", 1500,
		"MTU of the underlying physical network. Neutron uses this value to calculate MTU for all virtual network components.").Min(68)
	optTypeDrivers = config.Options.List("ml2", "type_drivers", []string{"local", "flat", "vlan", "gre", "vxlan", "geneve"},
		"List of network type driver entrypoints to be loaded from the neutron.ml2.type_drivers namespace.")
	optProjectNetworkTypes = config.Options.List("ml2", "project_network_types", []string{"local"},
		"Ordered list of network_types to allocate as project networks. The default value 'local' is useful for single-box testing but provides no connectivity between hosts.").
		DeprecatedName("ml2", "tenant_network_types")
	optMechanismDrivers = config.Options.List("ml2", "mechanism_drivers", nil,
		"An ordered list of networking mechanism driver entrypoints to be loaded from the neutron.ml2.mechanism_drivers namespace.")
	optExtensionDrivers = config.Options.List("ml2", "extension_drivers", nil,
		"An ordered list of extension driver entrypoints to be loaded from the neutron.ml2.extension_drivers namespace. For example: extension_drivers = port_security,qos")
	optPathMTU = config.Options.Int("ml2", "path_mtu", 0,
		"Maximum size of an IP packet (MTU) that can traverse the underlying physical network infrastructure without fragmentation when using an overlay/tunnel protocol.").Min(0)
	optPhysnetMTUs = config.Options.List("ml2", "physical_network_mtus", nil,
		"Mappings of physical networks to MTU values. The format of the mapping is <physnet>:<mtu val>. This mapping allows specifying a physical network MTU value that differs from the default global_physnet_mtu value.")
	optOverlayIPVersion = config.Options.Int("ml2", "overlay_ip_version", 4,
		"IP version of all overlay (tunnel) network endpoints.").Range(4, 6)
	optFlatNetworks = config.Options.List("ml2_type_flat", "flat_networks", []string{"*"},
		"List of physical_network names with which flat networks can be created. Use default '*' to allow flat networks with arbitrary physical_network names. Use an empty list to disable flat networks.")
	optVLANRanges = config.Options.List("ml2_type_vlan", "network_vlan_ranges", nil,
		"List of <physical_network>:<vlan_min>:<vlan_max> or <physical_network> specifying physical_network names usable for VLAN provider and project networks, as well as ranges of VLAN tags on each available for allocation to project networks.")
	optVXLANRanges = config.Options.List("ml2_type_vxlan", "vni_ranges", nil,
		"Comma-separated list of <vni_min>:<vni_max> tuples enumerating ranges of VXLAN VNI IDs that are available for project network allocation.")
	optVXLANGroup = config.Options.String("ml2_type_vxlan", "vxlan_group", "",
		"Multicast group for VXLAN. When configured, will enable sending all broadcast traffic to this multicast group. When left unconfigured, will disable multicast VXLAN mode.")
	optGeneveRanges = config.Options.List("ml2_type_geneve", "vni_ranges", nil,
		"Comma-separated list of <vni_min>:<vni_max> tuples enumerating ranges of Geneve VNI IDs that are available for project network allocation.")
	optGeneveMaxHeader = config.Options.Int("ml2_type_geneve", "max_header_size", 30,
		"The maximum allowed Geneve encapsulation header size (in bytes).").Min(0)
	optGRERanges = config.Options.List("ml2_type_gre", "tunnel_id_ranges", nil,
		"Comma-separated list of <tun_min>:<tun_max> tuples enumerating ranges of GRE tunnel IDs that are available for project network allocation.")
)

// extensionDrivers are Neutron's ML2 extension drivers by name: "" for
// those whose extension Neutrino always serves, otherwise why naming it
// has no effect. A name not listed stops the server, as in Neutron.
var extensionDrivers = map[string]string{
	"port_security":                  "",
	"tag_ports_during_bulk_creation": "",
	"qos":                            "",
	"dns":                            "",
	"dns_domain_ports":               "",
	"dns_domain_keywords":            "keywords in a DNS domain only matter to an external DNS service, which Neutrino does not drive",
	"subnet_dns_publish_fixed_ip":    "",
	"data_plane_status":              "",
	"uplink_status_propagation":      "",
	"port_hints":                     "port hints are not implemented",
	"port_numa_affinity_policy":      "",
	"port_device_profile":            "",
	"port_trusted_vif":               "trusted VIFs are not implemented",
}

// driverExtensions are the extensions ML2's extension drivers enable.
var driverExtensions = map[string][]string{
	"dns":                         {"dns-integration"},
	"dns_domain_ports":            {"dns-integration", "dns-domain-ports"},
	"subnet_dns_publish_fixed_ip": {"subnet-dns-publish-fixed-ip"},
	"data_plane_status":           {"data-plane-status"},
	"uplink_status_propagation":   {"uplink-status-propagation"},
	"port_numa_affinity_policy":   {"port-numa-affinity-policy"},
	"port_device_profile":         {"port-device-profile"},
}

// ExtensionsFrom are the extensions [ml2] extension_drivers enable.
func ExtensionsFrom(cfg *config.Config) []string {
	var out []string
	for _, name := range cfg.List(optExtensionDrivers) {
		out = append(out, driverExtensions[name]...)
	}
	return out
}

// MechanismDrivers is [ml2] mechanism_drivers, for service plugins whose
// drivers follow ML2's (the trunk plugin's Linux bridge driver).
func MechanismDrivers(cfg *config.Config) []string { return cfg.List(optMechanismDrivers) }

// OptionsFrom reads the [ml2] and [ml2_type_*] options of cfg. A bad
// range, mapping or driver name is refused with the option named, before
// anything is opened; extension drivers that have no effect are logged.
func OptionsFrom(cfg *config.Config, logger *slog.Logger) (Options, error) {
	tc := types.Config{
		GlobalPhysnetMTU:    cfg.Int(optGlobalPhysnetMTU),
		PathMTU:             cfg.Int(optPathMTU),
		OverlayIPVersion:    cfg.Int(optOverlayIPVersion),
		FlatNetworks:        cfg.List(optFlatNetworks),
		GeneveMaxHeaderSize: cfg.Int(optGeneveMaxHeader),
	}
	var err error
	if tc.PhysnetMTUs, err = types.ParsePhysnetMTUs(cfg.List(optPhysnetMTUs)); err != nil {
		return Options{}, cfg.Invalid(optPhysnetMTUs, err)
	}
	if tc.VLANRanges, err = types.ParseVLANRanges(cfg.List(optVLANRanges)); err != nil {
		return Options{}, cfg.Invalid(optVLANRanges, err)
	}
	if tc.VXLANRanges, err = types.ParseTunnelRanges(types.VXLAN, cfg.List(optVXLANRanges), types.MaxVNI); err != nil {
		return Options{}, cfg.Invalid(optVXLANRanges, err)
	}
	if tc.GeneveRanges, err = types.ParseTunnelRanges(types.Geneve, cfg.List(optGeneveRanges), types.MaxVNI); err != nil {
		return Options{}, cfg.Invalid(optGeneveRanges, err)
	}
	if tc.GRERanges, err = types.ParseTunnelRanges(types.GRE, cfg.List(optGRERanges), types.MaxGREKey); err != nil {
		return Options{}, cfg.Invalid(optGRERanges, err)
	}
	opts := Options{
		TypeDrivers:         cfg.List(optTypeDrivers),
		ProjectNetworkTypes: cfg.List(optProjectNetworkTypes),
		MechanismDrivers:    cfg.List(optMechanismDrivers),
		ExtensionDrivers:    cfg.List(optExtensionDrivers),
		Types:               tc,
		Logger:              logger,
	}
	if _, err := types.New(opts.TypeDrivers, tc); err != nil {
		return opts, cfg.Invalid(optTypeDrivers, err)
	}
	for _, t := range opts.ProjectNetworkTypes {
		if !slices.Contains(opts.TypeDrivers, t) {
			return opts, cfg.Invalid(optProjectNetworkTypes, fmt.Errorf("%q is not in [ml2] type_drivers", t))
		}
	}
	if err := mech.Check(opts.MechanismDrivers); err != nil {
		return opts, cfg.Invalid(optMechanismDrivers, err)
	}
	for _, name := range cfg.List(optExtensionDrivers) {
		reason, known := extensionDrivers[name]
		switch {
		case !known:
			return opts, cfg.Invalid(optExtensionDrivers, fmt.Errorf("%q is not an ML2 extension driver", name))
		case reason != "":
			logger.Warn("config option has no effect in Neutrino", "source", cfg.Source(optExtensionDrivers),
				"section", "ml2", "option", "extension_drivers", "value", name, "reason", reason)
		}
	}
	if cfg.String(optVXLANGroup) != "" {
		logger.Warn("config option has no effect in Neutrino", "source", cfg.Source(optVXLANGroup),
			"section", "ml2_type_vxlan", "option", "vxlan_group", "reason", "VXLAN floods by unicast to the known tunnel endpoints")
	}
	return opts, nil
}
