package rpcapi

import (
	"encoding/json"
	"fmt"
)

// Security group RPC (neutron/api/rpc/handlers/securitygroups_rpc.py):
// the server tells firewall agents which groups changed, fanout on
// TopicSecurityGroup; agents call security_group_info_for_devices on
// TopicPlugin for what their ports need.

// Methods of the security group RPC API.
const (
	// MethodSecurityGroupsRuleUpdated: the rules of the groups changed.
	MethodSecurityGroupsRuleUpdated = "security_groups_rule_updated"
	// MethodSecurityGroupsMemberUpdated: the ports (and so the member
	// addresses) of the groups changed.
	MethodSecurityGroupsMemberUpdated = "security_groups_member_updated"
	// MethodSecurityGroupsProviderUpdated: the provider rules of the
	// ports listed changed (a DHCP or router port with IPv6 came, went or
	// changed addresses on their network).
	MethodSecurityGroupsProviderUpdated = "security_groups_provider_updated"
	// MethodSecurityGroupInfoForDevices: agent → server call.
	MethodSecurityGroupInfoForDevices = "security_group_info_for_devices"
)

// SecurityGroupNotificationVersion is the RPC version of the server →
// agent notifications (Neutron's SG_RPC_VERSION).
const SecurityGroupNotificationVersion = "1.1"

// SecurityGroupsProviderUpdated is the payload of
// security_groups_provider_updated.
type SecurityGroupsProviderUpdated struct {
	DevicesToUpdate []string `json:"devices_to_update"`
}

// SecurityGroupInfoVersion is the RPC version of
// security_group_info_for_devices' reply shape.
const SecurityGroupInfoVersion = "1.3"

// SecurityGroupsUpdated is the payload of security_groups_rule_updated and
// security_groups_member_updated.
type SecurityGroupsUpdated struct {
	SecurityGroups []string `json:"security_groups"`
}

// SecurityGroupInfoRequest is the payload of security_group_info_for_devices:
// the port ids the agent wires.
type SecurityGroupInfoRequest struct {
	Devices []string `json:"devices"`
}

// SecurityGroupInfo is the reply of security_group_info_for_devices.
type SecurityGroupInfo struct {
	// Devices are the requested ports that take security groups (ports
	// owned by network:* devices are trusted and left out), by port id.
	Devices map[string]*SecurityGroupDevice `json:"devices"`
	// SecurityGroups are the rules of every group of the devices, by group
	// id (a group without rules has an empty list).
	SecurityGroups map[string][]SecurityGroupRule `json:"security_groups"`
	// SGMemberIPs are, for each group a rule names as remote group, the
	// addresses of its ports by ethertype ("IPv4", "IPv6"); for each
	// address group a rule names, its CIDRs (with a null MAC), as
	// Neutron sends them.
	SGMemberIPs map[string]map[string][]MemberIP `json:"sg_member_ips"`
}

// SecurityGroupDevice is a port as the firewall needs it.
type SecurityGroupDevice struct {
	ID                  string        `json:"id"`
	Device              string        `json:"device"`
	NetworkID           string        `json:"network_id"`
	MACAddress          string        `json:"mac_address"`
	DeviceOwner         string        `json:"device_owner"`
	DeviceID            string        `json:"device_id"`
	AdminStateUp        bool          `json:"admin_state_up"`
	Status              string        `json:"status"`
	PortSecurityEnabled bool          `json:"port_security_enabled"`
	FixedIPs            []string      `json:"fixed_ips"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs"`
	SecurityGroups      []string      `json:"security_groups"`
	// SecurityGroupSourceGroups are the remote groups the device's rules
	// name.
	SecurityGroupSourceGroups []string `json:"security_group_source_groups"`
	// SecurityGroupRemoteAddressGroups are the address groups the
	// device's rules name (their addresses are in SGMemberIPs too).
	SecurityGroupRemoteAddressGroups []string `json:"security_group_remote_address_groups"`
	// SecurityGroupRules are the provider rules (DHCP, router
	// advertisements) every device takes, whatever its groups.
	SecurityGroupRules []SecurityGroupRule `json:"security_group_rules"`
	// Port is the rest of the port's dict as the server shows it to an
	// admin (Neutron sends the whole port, with fixed_ips reduced to
	// addresses); the fields above take precedence over its keys.
	Port map[string]any `json:"-"`
}

// MarshalJSON writes the port's dict with the firewall's fields over it.
func (d SecurityGroupDevice) MarshalJSON() ([]byte, error) {
	type plain SecurityGroupDevice
	raw, err := json.Marshal(plain(d))
	if err != nil || len(d.Port) == 0 {
		return raw, err
	}
	var typed map[string]any
	if err := json.Unmarshal(raw, &typed); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(d.Port)+len(typed))
	for k, v := range d.Port {
		out[k] = v
	}
	for k, v := range typed {
		out[k] = v
	}
	return json.Marshal(out)
}

// SecurityGroupRule is a rule as the firewall applies it: the remote
// prefix is source_ip_prefix for ingress, dest_ip_prefix for egress.
type SecurityGroupRule struct {
	Direction          string `json:"direction"`
	Ethertype          string `json:"ethertype"`
	Protocol           string `json:"protocol,omitempty"`
	PortRangeMin       *int   `json:"port_range_min,omitempty"`
	PortRangeMax       *int   `json:"port_range_max,omitempty"`
	SourcePortRangeMin *int   `json:"source_port_range_min,omitempty"`
	SourcePortRangeMax *int   `json:"source_port_range_max,omitempty"`
	SourceIPPrefix     string `json:"source_ip_prefix,omitempty"`
	DestIPPrefix       string `json:"dest_ip_prefix,omitempty"`
	RemoteGroupID      string `json:"remote_group_id,omitempty"`
	// RemoteAddressGroupID names an address group, whose addresses
	// SGMemberIPs holds under its id as a remote group's.
	RemoteAddressGroupID string `json:"remote_address_group_id,omitempty"`
	// Stateful is the group's stateful flag; nil for provider rules.
	Stateful *bool `json:"stateful,omitempty"`
}

// MemberIP is one address of a remote group's member, sent as Neutron
// does: a pair [ip, mac], mac null for a fixed IP and set for an allowed
// address pair.
type MemberIP struct {
	IP  string
	MAC string
}

// MarshalJSON writes the pair form.
func (m MemberIP) MarshalJSON() ([]byte, error) {
	var mac any
	if m.MAC != "" {
		mac = m.MAC
	}
	return json.Marshal([]any{m.IP, mac})
}

// UnmarshalJSON reads the pair form.
func (m *MemberIP) UnmarshalJSON(b []byte) error {
	var pair []*string
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 || pair[0] == nil {
		return fmt.Errorf("member IP: want [ip, mac], got %s", b)
	}
	m.IP = *pair[0]
	m.MAC = ""
	if pair[1] != nil {
		m.MAC = *pair[1]
	}
	return nil
}
