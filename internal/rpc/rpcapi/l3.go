package rpcapi

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
	MethodGetExternalNetworkID     = "get_external_network_id"
	MethodUpdateFloatingIPStatuses = "update_floatingip_statuses"
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
	// GatewayPortID is "" without a gateway.
	GatewayPortID       string       `json:"gw_port_id,omitempty"`
	ExternalGatewayInfo *GatewayInfo `json:"external_gateway_info"`
	GatewayPort         *RouterPort  `json:"gw_port,omitempty"`
	Interfaces          []RouterPort `json:"_interfaces"`
	FloatingIPs         []FloatingIP `json:"_floatingips"`
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
	ID           string       `json:"id"`
	NetworkID    string       `json:"network_id"`
	MACAddress   string       `json:"mac_address"`
	AdminStateUp bool         `json:"admin_state_up"`
	Status       string       `json:"status"`
	DeviceOwner  string       `json:"device_owner"`
	MTU          int          `json:"mtu"`
	FixedIPs     []FixedIP    `json:"fixed_ips"`
	Subnets      []PortSubnet `json:"subnets"`
}

// PortSubnet is a subnet a router port has an address on (for a gateway
// port, every subnet of its network).
type PortSubnet struct {
	ID             string   `json:"id"`
	CIDR           string   `json:"cidr"`
	GatewayIP      string   `json:"gateway_ip"`
	DNSNameservers []string `json:"dns_nameservers"`
	IPv6RAMode     string   `json:"ipv6_ra_mode,omitempty"`
}

// FloatingIP is a floating IP a router serves.
type FloatingIP struct {
	ID                string `json:"id"`
	FloatingIPAddress string `json:"floating_ip_address"`
	FloatingNetworkID string `json:"floating_network_id"`
	FixedIPAddress    string `json:"fixed_ip_address"`
	PortID            string `json:"port_id"`
	RouterID          string `json:"router_id"`
	Status            string `json:"status"`
	ProjectID         string `json:"project_id"`
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
}

// L3 agent scheduling notifications (L3AgentNotifyAPI): a router placed
// on an agent ({payload: [router_id]}) or taken off it ({payload:
// {router_id}}).
const (
	MethodRouterAddedToAgent     = "router_added_to_agent"
	MethodRouterRemovedFromAgent = "router_removed_from_agent"
)
