package rpcapi

import "encoding/json"

// L3 methods and payloads (neutron/api/rpc/agentnotifiers/l3_rpc_agent_api.py
// for the server → agent casts, neutron/api/rpc/handlers/l3_rpc.py for the
// agent → server calls).

// Methods the server sends to L3 agents on TopicL3Agent.
const (
	// MethodRoutersUpdated carries RoutersUpdatedArgs: the routers whose
	// definition, interfaces, gateway, routes or floating IPs changed.
	MethodRoutersUpdated = "routers_updated"
	// MethodRouterDeleted carries RouterDeletedArgs.
	MethodRouterDeleted = "router_deleted"
)

// Methods L3 agents call on TopicL3Plugin.
const (
	MethodSyncRouters              = "sync_routers"
	MethodGetRouterIDs             = "get_router_ids"
	MethodGetExternalNetworkID     = "get_external_network_id"
	MethodUpdateFloatingIPStatuses = "update_floatingip_statuses"
	// MethodGetHostHARouterCount answers how many HA routers the host's
	// agent hosts (always 0: Neutrino has no L3 HA yet); Neutron's L3
	// agent asks at start.
	MethodGetHostHARouterCount = "get_host_ha_router_count"
)

// Neutron's L3 agent_type, binary and report topic.
const (
	BinaryL3Agent = "neutron-l3-agent"
)

// RoutersUpdatedArgs are routers_updated's arguments.
type RoutersUpdatedArgs struct {
	Routers []string `json:"routers"`
}

// RouterDeletedArgs are router_deleted's arguments.
type RouterDeletedArgs struct {
	RouterID string `json:"router_id"`
}

// SyncRoutersArgs are sync_routers' arguments: the routers an agent
// wants, or all of its host's when empty.
type SyncRoutersArgs struct {
	Host      string   `json:"host"`
	RouterIDs []string `json:"router_ids,omitempty"`
}

// UpdateFloatingIPStatusesArgs are update_floatingip_statuses' arguments:
// floating IP id → status (ACTIVE, DOWN, ERROR) for one router.
type UpdateFloatingIPStatusesArgs struct {
	RouterID    string            `json:"router_id"`
	FIPStatuses map[string]string `json:"fip_statuses"`
}

// Router is one router as sync_routers returns it: the router's own
// fields, its gateway port, its interfaces and its floating IPs, each
// port with the subnets an agent needs to plumb it.
type Router struct {
	ID             string  `json:"id"`
	Name           string  `json:"name"`
	ProjectID      string  `json:"project_id"`
	AdminStateUp   bool    `json:"admin_state_up"`
	Status         string  `json:"status"`
	Distributed    bool    `json:"distributed"`
	HA             bool    `json:"ha"`
	EnableSNAT     bool    `json:"enable_snat"`
	Routes         []Route `json:"routes"`
	RevisionNumber int     `json:"revision_number"`
	// GatewayPortID is "" (null) without a gateway.
	GatewayPortID       Nullable     `json:"gw_port_id"`
	ExternalGatewayInfo *GatewayInfo `json:"external_gateway_info"`
	GatewayPort         *RouterPort  `json:"gw_port,omitempty"`
	Interfaces          []RouterPort `json:"_interfaces"`
	FloatingIPs         []FloatingIP `json:"_floatingips"`
	// ConntrackHelpers are the router's conntrack helpers, as Neutron's
	// router dicts carry them with the conntrack_helper plugin.
	ConntrackHelpers []ConntrackHelper `json:"conntrack_helpers,omitempty"`
	// EnableNDPProxy is the router's enable_ndp_proxy (l3-ext-ndp-proxy),
	// as Neutron's router dicts carry it with the ndp_proxy plugin.
	EnableNDPProxy bool `json:"enable_ndp_proxy"`
	// NDPProxies are the router's NDP proxies. Neutron's L3 agent pulls
	// them (bulk_pull of NDPProxy objects by router_id) when it processes
	// the router; Neutrino sends them with the router (Neutrino key).
	NDPProxies []NDPProxy `json:"_ndp_proxies,omitempty"`
	// PFFloatingIPs, PortForwardingsFIPSet and FIPManagedByPortForwardings
	// are what Neutron's port forwarding plugin adds to a router with
	// floating IPs that carry port forwardings (sync_port_forwarding_fip):
	// those floating IPs' full dicts, their addresses as /32 CIDRs and
	// their ids. Absent otherwise.
	PFFloatingIPs               []FloatingIP `json:"_pf_floatingips,omitempty"`
	PortForwardingsFIPSet       []string     `json:"port_forwardings_fip_set,omitempty"`
	FIPManagedByPortForwardings []string     `json:"fip_managed_by_port_forwardings,omitempty"`
}

// NDPProxy is one of a router's NDP proxies (NDPProxy.to_dict's
// fields the agent uses).
type NDPProxy struct {
	ID        string `json:"id"`
	PortID    string `json:"port_id"`
	IPAddress string `json:"ip_address"`
}

// ConntrackHelper is one of a router's conntrack helpers.
type ConntrackHelper struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
	Helper   string `json:"helper"`
}

// Route is one extra route of a router.
type Route struct {
	Destination string `json:"destination"`
	Nexthop     string `json:"nexthop"`
}

// GatewayInfo is a router's external_gateway_info.
type GatewayInfo struct {
	NetworkID        string    `json:"network_id"`
	EnableSNAT       bool      `json:"enable_snat"`
	ExternalFixedIPs []FixedIP `json:"external_fixed_ips"`
}

// RouterPort is a router's gateway or interface port.
type RouterPort struct {
	ID           string    `json:"id"`
	NetworkID    string    `json:"network_id"`
	MACAddress   string    `json:"mac_address"`
	AdminStateUp bool      `json:"admin_state_up"`
	Status       string    `json:"status"`
	DeviceOwner  string    `json:"device_owner"`
	DeviceID     string    `json:"device_id"`
	MTU          int       `json:"mtu"`
	FixedIPs     []FixedIP `json:"fixed_ips"`
	// HostID and VIFType are the port's binding (binding:host_id,
	// binding:vif_type): sync_routers binds router ports to the hosting
	// agent's host.
	HostID  string `json:"binding:host_id"`
	VIFType string `json:"binding:vif_type,omitempty"`
	// Subnets are the subnets the port has an address on; ExtraSubnets
	// the other subnets of its network (Neutron's
	// _populate_mtu_and_subnets_for_ports).
	Subnets      []PortSubnet `json:"subnets"`
	ExtraSubnets []PortSubnet `json:"extra_subnets"`
	// AddressScopes maps "4" and "6" to the address scope of the
	// network's subnets of that version (null for none).
	AddressScopes map[string]*string `json:"address_scopes"`
}

// PortSubnet is a subnet of a router port's network as sync_routers
// shows it; the IPv6 modes and the pool are null when unset.
type PortSubnet struct {
	ID              string   `json:"id"`
	CIDR            string   `json:"cidr"`
	GatewayIP       *string  `json:"gateway_ip"`
	DNSNameservers  []string `json:"dns_nameservers"`
	IPv6RAMode      *string  `json:"ipv6_ra_mode"`
	IPv6AddressMode *string  `json:"ipv6_address_mode"`
	SubnetpoolID    *string  `json:"subnetpool_id"`
}

// FloatingIP is a floating IP a router serves.
type FloatingIP struct {
	ID                string   `json:"id"`
	FloatingIPAddress string   `json:"floating_ip_address"`
	FloatingNetworkID string   `json:"floating_network_id"`
	FixedIPAddress    Nullable `json:"fixed_ip_address"`
	PortID            Nullable `json:"port_id"`
	RouterID          string   `json:"router_id"`
	Status            string   `json:"status"`
	ProjectID         string   `json:"project_id"`
	// TenantID, Description, Tags, the timestamps and RevisionNumber
	// complete the dict as Neutron's _make_floatingip_dict makes it (with
	// the standard attributes' extension).
	TenantID       string   `json:"tenant_id"`
	Description    string   `json:"description"`
	Tags           []string `json:"tags"`
	CreatedAt      string   `json:"created_at,omitempty"`
	UpdatedAt      string   `json:"updated_at,omitempty"`
	RevisionNumber int      `json:"revision_number"`
	// FixedIPAddressScope is the address scope of the fixed IP's subnet
	// (null for none): no NAT between a scope and itself.
	FixedIPAddressScope *string `json:"fixed_ip_address_scope"`
	// PortForwardings are the floating IP's port forwardings, for a
	// floating IP not associated with a port.
	PortForwardings []PortForwarding `json:"port_forwardings,omitempty"`
}

// PortForwarding is one port forwarding of a floating IP; ports are
// "start:end" ranges.
type PortForwarding struct {
	ID                string `json:"id"`
	Protocol          string `json:"protocol"`
	InternalIPAddress string `json:"internal_ip_address"`
	InternalPortID    string `json:"internal_port_id"`
	ExternalPortRange string `json:"external_port_range"`
	InternalPortRange string `json:"internal_port_range"`
	// InternalPort and ExternalPort are set for a single-port forwarding,
	// as Neutron's floating IP dict shows them.
	InternalPort int `json:"internal_port,omitempty"`
	ExternalPort int `json:"external_port,omitempty"`
}

// L3 agent scheduling notifications (L3AgentNotifyAPI): a router placed
// on an agent ({payload: [router_id]}) or taken off it ({payload:
// {router_id}}).
const (
	MethodRouterAddedToAgent     = "router_added_to_agent"
	MethodRouterRemovedFromAgent = "router_removed_from_agent"
)

// Nullable is a string Neutron sends as null when unset (a floating IP's
// port_id, a router's gw_port_id): "" is null on the wire.
type Nullable string

// MarshalJSON implements json.Marshaler.
func (n Nullable) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(n))
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Nullable) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*n = Nullable(s)
	return nil
}
