package rpcapi

import (
	"crypto/sha1"
	"fmt"
)

// Methods DHCP agents call on the server (TopicDHCPPlugin), as Neutron's
// DhcpRpcCallback names them.
const (
	MethodGetActiveNetworksInfo = "get_active_networks_info"
	MethodGetNetworkInfo        = "get_network_info"
	MethodCreateDHCPPort        = "create_dhcp_port"
	MethodUpdateDHCPPort        = "update_dhcp_port"
	MethodReleaseDHCPPort       = "release_dhcp_port"
)

// DeviceOwnerDHCP is the device_owner of DHCP ports.
const DeviceOwnerDHCP = "network:dhcp"

// DeviceIDReservedDHCPPort is the device_id a DHCP port keeps while no
// agent serves its network, so the address is reused when one does.
const DeviceIDReservedDHCPPort = "reserved_dhcp_port"

// DHCPNetwork is a network as a DHCP agent needs it (the dict Neutron's
// get_network_info returns): its DHCP-enabled subnets, its ports, and
// the subnets of other segments (routed networks). Subnets and ports are
// the API's dicts of those resources, revision_number included.
type DHCPNetwork struct {
	ID              string           `json:"id"`
	ProjectID       string           `json:"project_id"`
	AdminStateUp    bool             `json:"admin_state_up"`
	MTU             int              `json:"mtu"`
	RevisionNumber  int              `json:"revision_number"`
	Subnets         []map[string]any `json:"subnets"`
	NonLocalSubnets []map[string]any `json:"non_local_subnets"`
	Ports           []map[string]any `json:"ports"`
}

// HostArgs are the arguments of get_active_networks_info.
type HostArgs struct {
	Host string `json:"host"`
}

// NetworkArgs are the arguments of get_network_info.
type NetworkArgs struct {
	Host      string `json:"host"`
	NetworkID string `json:"network_id"`
}

// CreateDHCPPortArgs are the arguments of create_dhcp_port: the port
// wrapped as {"port": {...}}, as Neutron sends it.
type CreateDHCPPortArgs struct {
	Host string                    `json:"host"`
	Port map[string]map[string]any `json:"port"`
}

// UpdateDHCPPortArgs are the arguments of update_dhcp_port.
type UpdateDHCPPortArgs struct {
	Host   string                    `json:"host"`
	PortID string                    `json:"port_id"`
	Port   map[string]map[string]any `json:"port"`
}

// ReleaseDHCPPortArgs are the arguments of release_dhcp_port.
type ReleaseDHCPPortArgs struct {
	Host      string `json:"host"`
	NetworkID string `json:"network_id"`
	DeviceID  string `json:"device_id"`
}

// DHCPDeviceID is the device_id of the DHCP port of the agent on host for
// a network, as Neutron builds it: "dhcp" + the name-based (SHA-1) UUID of
// host in the DNS namespace + "-" + the network id.
func DHCPDeviceID(networkID, host string) string {
	// RFC 4122 namespace for DNS names, 6ba7b810-9dad-11d1-80b4-00c04fd430c8.
	ns := []byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(host))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("dhcp%x-%x-%x-%x-%x-%s", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16], networkID)
}

// MethodDHCPReadyOnPorts is the DHCP agent's report that the given ports'
// leases are in place (Neutron's dhcp_ready_on_ports), which completes
// their DHCP provisioning.
const MethodDHCPReadyOnPorts = "dhcp_ready_on_ports"

// DHCPReadyArgs is the arguments of dhcp_ready_on_ports.
type DHCPReadyArgs struct {
	PortIDs []string `json:"port_ids"`
}
