// Package l2 is the Linux-bridge L2 agent's data-plane reconciler (the job
// of Neutron's neutron-linuxbridge-agent): given the desired state of one
// host (its bound ports, their networks and the l2population forwarding
// entries) it converges the kernel to it: a bridge brq<net> per network, the
// segment's uplink (vxlan-<vni> or the mapped physical interface), each
// port's tap in its bridge with its MTU and administrative state, and FDB /
// neighbour entries on VXLAN devices. It is level-triggered: every pass
// repairs drift and removes Neutron-named devices nothing needs.
//
// Options it reads (Neutron's [linux_bridge] physical_interface_mappings,
// [vxlan] enable_vxlan, local_ip, l2_population, arp_responder, ttl, tos,
// vxlan_group, udp_dstport) come in Config.
//
// Part (registered as the agent part "l2") wires it to the agent RPC:
// every pass fetches get_snapshot for the host (its bound ports with their
// networks and segments, and with l2population the other hosts' FDB
// entries), converges, and reports update_device_up / update_device_down
// for ports whose state changed; l2population's fdb_add / fdb_remove
// notifications update the table between passes. The DHCP port bound to
// the host is a port like any other and keeps its bridge.
package l2

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Network types (provider:network_type).
const (
	TypeFlat  = "flat"
	TypeVXLAN = "vxlan"
	TypeVLAN  = "vlan"
	TypeLocal = "local"
)

// Network is a network with at least one port on this host.
type Network struct {
	ID              string
	NetworkType     string
	SegmentationID  int
	PhysicalNetwork string
	MTU             int
}

// Port is a port bound to this host. Its tap device tap<id[:11]> is created
// by whoever plugs the VM (Nova/os-vif, the DHCP agent, a test).
type Port struct {
	ID           string
	NetworkID    string
	MAC          string
	AdminStateUp bool
	MTU          int // 0: the network's MTU
}

// Desired is the whole desired state of the host for one pass.
type Desired struct {
	Networks []Network
	Ports    []Port
}

// Config is the agent configuration the reconciler obeys.
type Config struct {
	// PhysicalInterfaceMappings maps a physical network to the host
	// interface that carries it (physical_interface_mappings).
	PhysicalInterfaceMappings map[string]string
	EnableVXLAN               bool
	LocalIP                   string
	L2Population              bool
	ARPResponder              bool
	TTL, TOS                  int
	// VXLANGroup is a multicast group or CIDR of groups (vxlan_group);
	// used only without l2population.
	VXLANGroup string
	// FloodPeers are remote VTEPs for head-end replication of broadcast
	// traffic when neither l2population nor a multicast group is in use.
	FloodPeers []string
	UDPPort    int // udp_dstport; 0 = kernel default
}

// PortState is the data-plane state of a port after a pass.
type PortState string

// Port states.
const (
	StateUp          PortState = "up"          // wired and administratively up
	StateAdminDown   PortState = "admin_down"  // wired, tap kept down
	StateNoDevice    PortState = "no_device"   // tap not present (yet)
	StateUnsupported PortState = "unsupported" // segment type not possible here
	StateError       PortState = "error"
)

// PortStatus is one port's outcome.
type PortStatus struct {
	State PortState
	Err   error
}

// Result reports a pass. Up and Down are the transitions since the previous
// pass of this Reconciler (all up ports on its first pass), i.e. the ports
// for which the agent calls update_device_up / update_device_down.
type Result struct {
	Up, Down []string
	Ports    map[string]PortStatus
	// Errors are failures not tied to one port (a segment's uplink, garbage
	// collection).
	Errors []error
}

// Err joins the port errors (not ErrUnsupported) and Errors.
func (r Result) Err() error {
	errs := append([]error(nil), r.Errors...)
	for _, st := range r.Ports {
		if st.State == StateError {
			errs = append(errs, st.Err)
		}
	}
	return errors.Join(errs...)
}

// FDBEntries is l2population's fdb_add / fdb_remove payload:
// network id → segment and the entries behind each remote tunnel IP.
type FDBEntries map[string]FDBNetwork

// FDBNetwork is one network of an FDBEntries payload.
type FDBNetwork struct {
	SegmentID   int                   `json:"segment_id"`
	NetworkType string                `json:"network_type"`
	Ports       map[string][]PortInfo `json:"ports"`
}

// PortInfo is a [mac, ip] pair; the flood entry is
// ["00:00:00:00:00:00", "0.0.0.0"].
type PortInfo struct {
	MAC string
	IP  string
}

// FloodEntry is the broadcast/unknown-unicast entry of a remote VTEP.
var FloodEntry = PortInfo{MAC: "00:00:00:00:00:00", IP: "0.0.0.0"}

// UnmarshalJSON reads Neutron's two-element list form.
func (p *PortInfo) UnmarshalJSON(b []byte) error {
	var pair []string
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("port info: %w", err)
	}
	if len(pair) != 2 {
		return fmt.Errorf("port info: want [mac, ip], got %d elements", len(pair))
	}
	p.MAC, p.IP = pair[0], pair[1]
	return nil
}

// MarshalJSON writes Neutron's two-element list form.
func (p PortInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal([]string{p.MAC, p.IP})
}
