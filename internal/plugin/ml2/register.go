package ml2

import "github.com/neutrino-net/neutrino/internal/plugin/registry"

// The segments service plugin (Neutron's segments.plugin.Plugin) serves
// /v2.0/segments and the attributes that come with routed networks; ML2
// keeps every network's segments either way.
func init() {
	registry.RegisterService(registry.Descriptor{
		Name:    "segments",
		Aliases: []string{"neutron.services.segments.plugin.Plugin"},
		Extensions: []string{"segment", "ip_allocation", "l2_adjacency", "standard-attr-segment", "subnet-segmentid-writable",
			"segments-peer-subnet-host-routes"},
		Configure: registry.ExtensionsOnly,
	})
}
