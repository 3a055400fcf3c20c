package rpcapi

import "encoding/json"

// L2 agent RPC (neutron/plugins/ml2/rpc.py and the l2population
// notifications): what an L2 agent asks the server about its devices, and
// the forwarding entries the server pushes to it.

// Methods of the L2 agent ↔ server API.
const (
	MethodGetDeviceDetails          = "get_device_details"
	MethodGetDevicesDetailsList     = "get_devices_details_list"
	MethodUpdateDeviceUp            = "update_device_up"
	MethodUpdateDeviceDown          = "update_device_down"
	MethodUpdateDeviceList          = "update_device_list"
	MethodFDBAdd                    = "add_fdb_entries"
	MethodFDBRemove                 = "remove_fdb_entries"
	MethodL2HostSnapshot            = "get_snapshot"
	FloodingMAC                     = "00:00:00:00:00:00"
	FloodingIP                      = "0.0.0.0"
	ProvisioningEntityL2            = "L2"
	ProvisioningEntityDHCP          = "DHCP"
	AgentConfigTunnelingIP          = "tunneling_ip"
	AgentConfigTunnelTypes          = "tunnel_types"
	AgentConfigInterfaceMappings    = "interface_mappings"
	AgentConfigBridgeMappings       = "bridge_mappings"
	L2PopulationNotificationVersion = "1.0"
)

// DeviceRequest is the arguments of get_device_details, update_device_up
// and update_device_down: the device is a port id, a prefix of one, or a
// tap device name ("tap" + the port id's first 11 characters).
type DeviceRequest struct {
	Device  string `json:"device"`
	AgentID string `json:"agent_id"`
	Host    string `json:"host"`
}

// DevicesRequest is the arguments of get_devices_details_list.
type DevicesRequest struct {
	Devices []string `json:"devices"`
	AgentID string   `json:"agent_id"`
	Host    string   `json:"host"`
}

// FixedIP is one address of a port; PrefixLen is its subnet's, where
// the receiver needs it (L3 agents).
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
	PrefixLen int    `json:"prefixlen,omitempty"`
}

// AddressPair is an allowed address pair of a port.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address"`
}

// DeviceDetails is the reply of get_device_details, Neutron's dict. For a
// device the server does not know, or one not bound to the asking host,
// only Device is set (and NoActiveBinding when it is bound elsewhere).
type DeviceDetails struct {
	Device              string        `json:"device"`
	NetworkID           string        `json:"network_id"`
	PortID              string        `json:"port_id"`
	MACAddress          string        `json:"mac_address"`
	AdminStateUp        bool          `json:"admin_state_up"`
	NetworkType         string        `json:"network_type"`
	SegmentationID      *int          `json:"segmentation_id"`
	PhysicalNetwork     *string       `json:"physical_network"`
	MTU                 int           `json:"mtu"`
	FixedIPs            []FixedIP     `json:"fixed_ips"`
	DeviceOwner         string        `json:"device_owner"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs"`
	PortSecurityEnabled bool          `json:"port_security_enabled"`
	QoSPolicyID         *string       `json:"qos_policy_id"`
	NetworkQoSPolicyID  *string       `json:"network_qos_policy_id"`
	// QoSRules are the rules of the port's effective policy (its own,
	// else its network's unless the port is a network device), for the
	// agent to enforce; Neutron's agents read them as QosPolicy objects.
	QoSRules       []QoSRule      `json:"qos_rules,omitempty"`
	Profile        map[string]any `json:"profile"`
	SecurityGroups []string       `json:"security_groups"`
	// RevisionNumber is the port's revision, for the agent's check that
	// it never applies older state over newer.
	RevisionNumber  int  `json:"revision_number"`
	NoActiveBinding bool `json:"no_active_binding,omitempty"`
}

// Found reports whether the server knew the device and it is bound to
// the asking host.
func (d DeviceDetails) Found() bool { return d.NetworkID != "" }

// MarshalJSON writes Neutron's dict: every key for a device the server
// knows and has bound to the asking host (nulls included), only "device"
// (and "no_active_binding" when bound elsewhere) otherwise.
func (d DeviceDetails) MarshalJSON() ([]byte, error) {
	if !d.Found() {
		m := map[string]any{"device": d.Device}
		if d.NoActiveBinding {
			m["no_active_binding"] = true
		}
		return json.Marshal(m)
	}
	type full DeviceDetails
	f := full(d)
	if f.FixedIPs == nil {
		f.FixedIPs = []FixedIP{}
	}
	if f.AllowedAddressPairs == nil {
		f.AllowedAddressPairs = []AddressPair{}
	}
	if f.SecurityGroups == nil {
		f.SecurityGroups = []string{}
	}
	if f.Profile == nil {
		f.Profile = map[string]any{}
	}
	return json.Marshal(f)
}

// DeviceDownReply is the reply of update_device_down.
type DeviceDownReply struct {
	Device string `json:"device"`
	Exists bool   `json:"exists"`
}

// HostSnapshot is everything an L2 agent on one host needs: the ports
// bound to the host with their details (networks and segments included),
// and each port's revision so a resync fetches only what is stale.
type HostSnapshot struct {
	Host      string            `json:"host"`
	Ports     []DeviceDetails   `json:"ports"`
	Revisions map[string]int    `json:"revisions"`
	Networks  map[string]string `json:"networks"` // network id → network type
	// FDB is, with l2population, the forwarding entries of the host's
	// tunnelled networks (their other hosts' ports), as fdb_add would
	// have sent them; an agent replaces its table with it. Null without
	// l2population.
	FDB FDBEntries `json:"fdb_entries"`
}

// FDBNetwork is one network's forwarding entries in an l2population
// notification: per agent tunnel IP, a list of [mac, ip] pairs; the
// flooding entry [FloodingMAC, FloodingIP] says the host takes the
// network's broadcast traffic.
type FDBNetwork struct {
	SegmentID   int                    `json:"segment_id"`
	NetworkType string                 `json:"network_type"`
	Ports       map[string][][2]string `json:"ports"`
}

// FDBEntries is the argument of add_fdb_entries and remove_fdb_entries,
// keyed by network id.
type FDBEntries map[string]FDBNetwork

// FDBArgs is the keyword arguments of add_fdb_entries and
// remove_fdb_entries.
type FDBArgs struct {
	FDBEntries FDBEntries `json:"fdb_entries"`
}

// DeviceListRequest is the arguments of update_device_list: devices that
// came up and went down on host since the agent last reported.
type DeviceListRequest struct {
	DevicesUp   []string `json:"devices_up"`
	DevicesDown []string `json:"devices_down"`
	AgentID     string   `json:"agent_id"`
	Host        string   `json:"host"`
}

// DeviceListReply is update_device_list's answer, Neutron's dict.
type DeviceListReply struct {
	DevicesUp         []string          `json:"devices_up"`
	FailedDevicesUp   []string          `json:"failed_devices_up"`
	DevicesDown       []DeviceDownReply `json:"devices_down"`
	FailedDevicesDown []string          `json:"failed_devices_down"`
}
