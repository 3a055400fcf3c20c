package l3

import (
	"fmt"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Neutron's L3 exceptions (neutron_lib/exceptions/l3.py, extraroute.py,
// and neutron/services/portforwarding/common/exceptions.py).

// RouterNotFound is neutron-lib's RouterNotFound.
func RouterNotFound(id string) error {
	return fault.NotFound("RouterNotFound", fmt.Sprintf("Router %s could not be found", id))
}

// FloatingIPNotFound is neutron-lib's FloatingIPNotFound.
func FloatingIPNotFound(id string) error {
	return fault.NotFound("FloatingIPNotFound", fmt.Sprintf("Floating IP %s could not be found", id))
}

// PortForwardingNotFound is Neutron's PortForwardingNotFound.
func PortForwardingNotFound(id string) error {
	return fault.NotFound("PortForwardingNotFound", fmt.Sprintf("Port Forwarding %s could not be found.", id))
}

func subnetNotFound(id string) error {
	return fault.NotFound("SubnetNotFound", fmt.Sprintf("Subnet %s could not be found.", id))
}

func portNotFound(id string) error {
	return fault.NotFound("PortNotFound", fmt.Sprintf("Port %s could not be found.", id))
}

func networkNotFound(id string) error {
	return fault.NotFound("NetworkNotFound", fmt.Sprintf("Network %s could not be found.", id))
}

func badRouter(format string, args ...any) error {
	return fault.NeutronBadRequest("router", fmt.Sprintf(format, args...))
}

func badFloatingIP(format string, args ...any) error {
	return fault.NeutronBadRequest("floatingip", fmt.Sprintf(format, args...))
}

func badPortForwarding(format string, args ...any) error {
	return fault.NeutronBadRequest("port_forwarding", fmt.Sprintf(format, args...))
}

func routerInUse(id string, ports []string) error {
	return fault.Conflict("RouterInUse", "Router %s has ports still attached: %s", id, strings.Join(ports, ", "))
}

func portInUse(port *resource.Object) error {
	return fault.Conflict("PortInUse",
		"Unable to complete operation on port %s for network %s. Port already has an attached device %s.",
		port.ID(), port.String("network_id"), port.String("device_id"))
}

func interfaceInUseByFloatingIP(routerID, subnetID string) error {
	return fault.Conflict("RouterInterfaceInUseByFloatingIP",
		"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.",
		subnetID, routerID)
}

func interfaceInUseByRoute(routerID, subnetID string) error {
	return fault.Conflict("RouterInterfaceInUseByRoute",
		"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more routes.",
		subnetID, routerID)
}

func gatewayInUseByFloatingIP(routerID, netID string) error {
	return fault.Conflict("RouterExternalGatewayInUseByFloatingIp",
		"Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.",
		routerID, netID)
}

func invalidRoutes(routes []any, reason string) error {
	return fault.New(400, "InvalidRoutes", "Invalid format for routes: %s, %s", resource.PyStr(routes), reason)
}

func fipInUseByPortForwarding(id string) error {
	return fault.Conflict("FipInUseByPortForwarding", "Floating IP %s in use by Port Forwarding resources.", id)
}
