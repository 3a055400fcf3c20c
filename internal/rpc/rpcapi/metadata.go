package rpcapi

// MethodGetPorts is the metadata agent's one call on the server
// (TopicPlugin; Neutron's MetadataRpcCallback, namespace "metadata"):
// the ports matching filters, as the API shows them to an admin.
const MethodGetPorts = "get_ports"

// GetPortsArgs are get_ports' arguments. Filters map an attribute to the
// values it may take ({"network_id": [...], "device_id": [...]}), and
// "fixed_ips" to a map of ip_address and/or subnet_id to values, as the
// API's fixed_ips=ip_address=… filter.
type GetPortsArgs struct {
	Filters map[string]any `json:"filters"`
}
