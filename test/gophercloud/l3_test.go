package gophercloud_test

import (
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/extraroutes"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/portforwarding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// TestL3Lifecycle drives a router, a floating IP and a port forwarding
// through gophercloud's layer3 packages, as Terraform's provider does.
func TestL3Lifecycle(t *testing.T) {
	ctx := t.Context()
	client, _ := newClient(t)

	ext, err := networks.Create(ctx, client, external.CreateOptsExt{
		CreateOptsBuilder: networks.CreateOpts{Name: "gc-public"}, External: ptr(true)}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	extSub := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: ext.ID, CIDR: "172.24.40.0/24"})
	netID := createNetwork(ctx, t, client, "gc-private")
	sub := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, CIDR: "10.40.0.0/24"})

	r, err := routers.Create(ctx, client, routers.CreateOpts{Name: "gc-router",
		GatewayInfo: &routers.GatewayInfo{NetworkID: ext.ID}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "ACTIVE" || r.GatewayInfo.NetworkID != ext.ID || r.GatewayInfo.EnableSNAT == nil || !*r.GatewayInfo.EnableSNAT ||
		len(r.GatewayInfo.ExternalFixedIPs) != 1 || r.GatewayInfo.ExternalFixedIPs[0].SubnetID != extSub.ID {
		t.Errorf("router = %+v", r)
	}
	iface, err := routers.AddInterface(ctx, client, r.ID, routers.AddInterfaceOpts{SubnetID: sub.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if iface.ID != r.ID || iface.SubnetID != sub.ID || iface.PortID == "" {
		t.Errorf("interface = %+v", iface)
	}
	routes := []routers.Route{{DestinationCIDR: "192.168.40.0/24", NextHop: "10.40.0.9"}}
	withRoutes, err := extraroutes.Add(ctx, client, r.ID, extraroutes.Opts{Routes: &routes}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(withRoutes.Routes, routes) {
		t.Errorf("routes = %+v", withRoutes.Routes)
	}

	vm, err := ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, DeviceID: "gc-vm", DeviceOwner: "compute:nova"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	fip, err := floatingips.Create(ctx, client, floatingips.CreateOpts{FloatingNetworkID: ext.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if fip.Status != "DOWN" || fip.PortID != "" || fip.RouterID != "" {
		t.Errorf("floating IP = %+v", fip)
	}
	assoc, err := floatingips.Update(ctx, client, fip.ID, floatingips.UpdateOpts{PortID: &vm.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if assoc.PortID != vm.ID || assoc.RouterID != r.ID || assoc.FixedIP != vm.FixedIPs[0].IPAddress {
		t.Errorf("associated = %+v", assoc)
	}
	// Removing the interface the floating IP needs is refused.
	_, err = routers.RemoveInterface(ctx, client, r.ID, routers.RemoveInterfaceOpts{SubnetID: sub.ID}).Extract()
	expectFault(t, "remove interface in use", err, 409, "RouterInterfaceInUseByFloatingIP")
	// gophercloud disassociates with an empty port_id, sent as null.
	freed, err := floatingips.Update(ctx, client, fip.ID, floatingips.UpdateOpts{PortID: new(string)}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if freed.PortID != "" || freed.RouterID != "" || freed.FixedIP != "" {
		t.Errorf("disassociated = %+v", freed)
	}

	pfFIP, err := floatingips.Create(ctx, client, floatingips.CreateOpts{FloatingNetworkID: ext.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := portforwarding.Create(ctx, client, pfFIP.ID, portforwarding.CreateOpts{InternalPortID: vm.ID,
		InternalIPAddress: vm.FixedIPs[0].IPAddress, InternalPort: 22, ExternalPort: 2222, Protocol: "tcp"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if pf.InternalPort != 22 || pf.ExternalPort != 2222 || pf.Protocol != "tcp" {
		t.Errorf("port forwarding = %+v", pf)
	}
	all, err := portforwarding.List(client, portforwarding.ListOpts{}, pfFIP.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pfs, err := portforwarding.ExtractPortForwardings(all); err != nil || len(pfs) != 1 || pfs[0].ID != pf.ID {
		t.Errorf("port forwardings = %+v, %v", pfs, err)
	}

	// Teardown in the order Terraform destroys.
	for _, err := range []error{
		portforwarding.Delete(ctx, client, pfFIP.ID, pf.ID).ExtractErr(),
		floatingips.Delete(ctx, client, pfFIP.ID).ExtractErr(),
		floatingips.Delete(ctx, client, fip.ID).ExtractErr(),
		ports.Delete(ctx, client, vm.ID).ExtractErr(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := extraroutes.Remove(ctx, client, r.ID, extraroutes.Opts{Routes: &routes}).Extract(); err != nil {
		t.Fatal(err)
	}
	if _, err := routers.RemoveInterface(ctx, client, r.ID, routers.RemoveInterfaceOpts{SubnetID: sub.ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := routers.Delete(ctx, client, r.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	_, err = routers.Get(ctx, client, r.ID).Extract()
	expectFault(t, "get deleted router", err, 404, "RouterNotFound")
}
