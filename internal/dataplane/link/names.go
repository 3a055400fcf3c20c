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

// Router device and namespace prefixes of Neutron's L3 agent.
const (
	// RouterNamespacePrefix prefixes a router's namespace.
	RouterNamespacePrefix = "qrouter-"
	// RouterInterfacePrefix prefixes a router's internal devices.
	RouterInterfacePrefix = "qr-"
	// RouterGatewayPrefix prefixes a router's external device.
	RouterGatewayPrefix = "qg-"
)

// RouterNamespace is a router's namespace: qrouter-<router-id>.
func RouterNamespace(routerID string) string { return RouterNamespacePrefix + routerID }

// RouterInterfaceName is the namespace side of a router's internal port:
// qr-<port-id[:11]>.
func RouterInterfaceName(portID string) string { return RouterInterfacePrefix + short(portID) }

// RouterGatewayName is the namespace side of a router's gateway port:
// qg-<port-id[:11]>.
func RouterGatewayName(portID string) string { return RouterGatewayPrefix + short(portID) }
