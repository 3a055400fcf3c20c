package firewall

import (
	"net"
	"net/netip"
)

// Directions and ethertypes of security group rules (Neutron's values).
const (
	Ingress = "ingress"
	Egress  = "egress"
	IPv4    = "IPv4"
	IPv6    = "IPv6"
)

// Host is everything the firewall of one host enforces: Neutron's
// security_group_info_for_devices reply, typed.
type Host struct {
	// Ports are the filtered ports (trusted network:* ports are not
	// listed by the server; ports with port security disabled are listed
	// and left unfiltered).
	Ports []Port
	// Rules are each security group's rules.
	Rules map[string][]Rule
	// Members are, for each remote group (or address group) the rules
	// name, its members' addresses.
	Members map[string][]netip.Prefix
}

// Port is one port to filter.
type Port struct {
	ID string
	// Device is the tap device on the bridge (tap<port-id[:11]>).
	Device string
	// Bridge is the network's bridge (brq<network-id[:11]>), whose
	// traffic shares one conntrack zone.
	Bridge    string
	NetworkID string
	MAC       net.HardwareAddr
	FixedIPs  []netip.Addr
	// AllowedAddressPairs extend the addresses the port may send from.
	AllowedAddressPairs []AddressPair
	PortSecurity        bool
	SecurityGroups      []string
	// ProviderRules are the rules every port takes whatever its groups
	// (DHCP replies, router advertisements).
	ProviderRules []Rule
}

// AddressPair is an allowed address pair: a prefix (or address) the port
// may use, with the MAC it may use it with (the port's when nil).
type AddressPair struct {
	Prefix netip.Prefix
	MAC    net.HardwareAddr
}

// Rule is a security group rule as the server gives it to agents: the
// remote prefix is SourceIPPrefix for ingress, DestIPPrefix for egress
// (provider DHCP rules also set DestIPPrefix on ingress).
type Rule struct {
	Direction          string
	Ethertype          string
	Protocol           string
	PortRangeMin       *int
	PortRangeMax       *int
	SourcePortRangeMin *int
	SourcePortRangeMax *int
	SourceIPPrefix     string
	DestIPPrefix       string
	RemoteGroupID      string
	// RemoteAddressGroupID names an address group whose addresses are in
	// Host.Members like a remote group's.
	RemoteAddressGroupID string
	// Stateful is the group's stateful flag; nil for provider rules.
	Stateful *bool
}

// stateful reports whether the port's traffic is tracked: a port whose
// groups are all stateless (stateful=false on their rules) is not.
func (h *Host) stateful(p *Port) bool {
	seen := false
	for _, g := range p.SecurityGroups {
		for _, r := range h.Rules[g] {
			if r.Stateful == nil || *r.Stateful {
				return true
			}
			seen = true
		}
	}
	return !seen
}
