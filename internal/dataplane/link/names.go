// Package link creates, inspects and removes the devices of Neutron's
// Linux-bridge data plane (bridges, VXLAN devices, veth pairs, FDB and
// neighbour entries) through netlink, inside one network namespace.
//
// Operations are idempotent "ensure" calls plus "list" calls, so a
// reconciler can diff what exists against what it wants.
package link

import "strconv"

// Device name prefixes used by Neutron's Linux-bridge and DHCP agents.
const (
	BridgePrefix = "brq"
	TapPrefix    = "tap"
	VXLANPrefix  = "vxlan-"
	NSDevPrefix  = "ns-"
	// DHCPNamespacePrefix prefixes the DHCP namespace of a network.
	DHCPNamespacePrefix = "qdhcp-"
)

// idLen is how much of a resource id a device name keeps: IFNAMSIZ is 16,
// and "tap"+11 or "brq"+11 leaves room for the terminating NUL.
const idLen = 11

func short(id string) string {
	if len(id) > idLen {
		return id[:idLen]
	}
	return id
}

// BridgeName is the bridge of a network: brq<network-id[:11]>.
func BridgeName(networkID string) string { return BridgePrefix + short(networkID) }

// TapName is the host-side device of a port: tap<port-id[:11]>.
func TapName(portID string) string { return TapPrefix + short(portID) }

// NSDevName is the namespace-side device of an agent's port (the DHCP
// port's end inside qdhcp-…): ns-<port-id[:11]>.
func NSDevName(portID string) string { return NSDevPrefix + short(portID) }

// VXLANName is the VXLAN device of a segment: vxlan-<vni>.
func VXLANName(vni int) string { return VXLANPrefix + strconv.Itoa(vni) }

// DHCPNamespace is the DHCP namespace of a network: qdhcp-<network-id>.
func DHCPNamespace(networkID string) string { return DHCPNamespacePrefix + networkID }
