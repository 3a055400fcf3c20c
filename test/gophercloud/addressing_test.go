package gophercloud_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/addressscopes"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/networkipavailabilities"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsbinding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/subnetpools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// createNetwork creates a network named name and returns its id.
func createNetwork(ctx context.Context, t *testing.T, client *gophercloud.ServiceClient, name string) string {
	t.Helper()
	n, err := networks.Create(ctx, client, networks.CreateOpts{Name: name}).Extract()
	if err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	return n.ID
}

// createSubnet creates a subnet and fails the test if that fails.
func createSubnet(ctx context.Context, t *testing.T, client *gophercloud.ServiceClient, opts subnets.CreateOpts) *subnets.Subnet {
	t.Helper()
	if opts.IPVersion == 0 {
		opts.IPVersion = gophercloud.IPv4
	}
	s, err := subnets.Create(ctx, client, opts).Extract()
	if err != nil {
		t.Fatalf("create subnet %+v: %v", opts, err)
	}
	return s
}

// responseBody is the body of a failed request, or "" if err carries none.
func responseBody(err error) string {
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &unexpected) {
		return string(unexpected.Body)
	}
	return ""
}

// expectFault checks that err is an HTTP error with the given status whose
// NeutronError body names the exception type.
func expectFault(t *testing.T, what string, err error, status int, neutronType string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want %d %s", what, status, neutronType)
		return
	}
	if !gophercloud.ResponseCodeIs(err, status) {
		t.Errorf("%s: status %d, want %d %s: %v", what, statusOf(err), status, neutronType, err)
		return
	}
	if body := responseBody(err); !strings.Contains(body, `"type":"`+neutronType+`"`) {
		t.Errorf("%s: body %s, want a NeutronError of type %s", what, body, neutronType)
	}
}

func poolsOf(s *subnets.Subnet) []subnets.AllocationPool {
	out := slices.Clone(s.AllocationPools)
	slices.SortFunc(out, func(a, b subnets.AllocationPool) int {
		return netip.MustParseAddr(a.Start).Compare(netip.MustParseAddr(b.Start))
	})
	return out
}

func routesOf(s *subnets.Subnet) []subnets.HostRoute {
	out := slices.Clone(s.HostRoutes)
	slices.SortFunc(out, func(a, b subnets.HostRoute) int { return cmp.Compare(a.DestinationCIDR, b.DestinationCIDR) })
	return out
}

func TestSubnetLifecycle(t *testing.T) {
	ctx := t.Context()
	client, rec := newClient(t)
	netID := createNetwork(ctx, t, client, "gc-subnet-net")

	// Create with every addressing attribute given.
	created, err := subnets.Create(ctx, client, subnets.CreateOpts{
		NetworkID:   netID,
		Name:        "gc-subnet",
		Description: "made by gophercloud",
		IPVersion:   gophercloud.IPv4,
		CIDR:        "10.30.0.0/24",
		GatewayIP:   ptr("10.30.0.254"),
		AllocationPools: []subnets.AllocationPool{
			{Start: "10.30.0.100", End: "10.30.0.150"},
			{Start: "10.30.0.10", End: "10.30.0.20"},
		},
		DNSNameservers: []string{"192.0.2.53", "192.0.2.54"},
		HostRoutes:     []subnets.HostRoute{{DestinationCIDR: "172.16.0.0/12", NextHop: "10.30.0.1"}},
		EnableDHCP:     ptr(false),
	}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.NetworkID != netID || created.Name != "gc-subnet" ||
		created.Description != "made by gophercloud" || created.IPVersion != 4 || created.CIDR != "10.30.0.0/24" {
		t.Errorf("create: %+v", created)
	}
	if created.GatewayIP != "10.30.0.254" {
		t.Errorf("create: gateway_ip %q, want 10.30.0.254", created.GatewayIP)
	}
	if want := []subnets.AllocationPool{{Start: "10.30.0.10", End: "10.30.0.20"}, {Start: "10.30.0.100", End: "10.30.0.150"}}; !slices.Equal(poolsOf(created), want) {
		t.Errorf("create: allocation_pools %v, want %v", created.AllocationPools, want)
	}
	if want := []string{"192.0.2.53", "192.0.2.54"}; !slices.Equal(created.DNSNameservers, want) {
		t.Errorf("create: dns_nameservers %v, want %v (in order)", created.DNSNameservers, want)
	}
	if want := []subnets.HostRoute{{DestinationCIDR: "172.16.0.0/12", NextHop: "10.30.0.1"}}; !slices.Equal(created.HostRoutes, want) {
		t.Errorf("create: host_routes %v, want %v", created.HostRoutes, want)
	}
	if created.EnableDHCP || created.SubnetPoolID != "" || created.IPv6AddressMode != "" || created.IPv6RAMode != "" {
		t.Errorf("create: enable_dhcp %v subnetpool_id %q ipv6 modes %q/%q", created.EnableDHCP, created.SubnetPoolID,
			created.IPv6AddressMode, created.IPv6RAMode)
	}
	if created.ProjectID == "" || created.TenantID != created.ProjectID || created.CreatedAt.IsZero() || created.UpdatedAt.IsZero() {
		t.Errorf("create: project_id %q tenant_id %q created_at %v updated_at %v",
			created.ProjectID, created.TenantID, created.CreatedAt, created.UpdatedAt)
	}

	// Defaults: gateway_ip omitted (GatewayIP nil) means the first address,
	// DHCP on, the rest of the subnet in one pool.
	defaulted := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, Name: "gc-default", CIDR: "10.31.0.0/28"})
	if defaulted.GatewayIP != "10.31.0.1" || !defaulted.EnableDHCP {
		t.Errorf("defaults: gateway_ip %q enable_dhcp %v, want 10.31.0.1 true", defaulted.GatewayIP, defaulted.EnableDHCP)
	}
	if want := []subnets.AllocationPool{{Start: "10.31.0.2", End: "10.31.0.14"}}; !slices.Equal(defaulted.AllocationPools, want) {
		t.Errorf("defaults: allocation_pools %v, want %v", defaulted.AllocationPools, want)
	}
	if defaulted.DNSNameservers == nil || len(defaulted.DNSNameservers) != 0 || defaulted.HostRoutes == nil || len(defaulted.HostRoutes) != 0 {
		t.Errorf("defaults: dns_nameservers %#v host_routes %#v, want empty lists", defaulted.DNSNameservers, defaulted.HostRoutes)
	}

	// GatewayIP: new(string), a pointer to "", is gophercloud's way of
	// asking for no gateway: it sends "gateway_ip": null, and the pool then
	// covers the whole subnet.
	noGW := subnets.Create(ctx, client, subnets.CreateOpts{
		NetworkID: netID, Name: "gc-no-gateway", IPVersion: gophercloud.IPv4, CIDR: "10.32.0.0/29", GatewayIP: new(string),
	})
	noGateway, err := noGW.Extract()
	if err != nil {
		t.Fatalf("create without gateway: %v", err)
	}
	if raw := noGW.Body.(map[string]any)["subnet"].(map[string]any); raw["gateway_ip"] != nil {
		t.Errorf("create without gateway: gateway_ip %#v, want null", raw["gateway_ip"])
	}
	if want := []subnets.AllocationPool{{Start: "10.32.0.1", End: "10.32.0.6"}}; !slices.Equal(noGateway.AllocationPools, want) {
		t.Errorf("create without gateway: allocation_pools %v, want %v", noGateway.AllocationPools, want)
	}

	// Get.
	got, err := subnets.Get(ctx, client, created.ID).Extract()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != created.ID || got.CIDR != created.CIDR || got.GatewayIP != created.GatewayIP ||
		!slices.Equal(poolsOf(got), poolsOf(created)) || !slices.Equal(got.DNSNameservers, created.DNSNameservers) ||
		!slices.Equal(got.HostRoutes, created.HostRoutes) || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("get: %+v, create said %+v", got, created)
	}

	// The network lists its subnets.
	net, err := networks.Get(ctx, client, netID).Extract()
	if err != nil {
		t.Fatalf("get network: %v", err)
	}
	if want := []string{created.ID, defaulted.ID, noGateway.ID}; !sameSet(net.Subnets, want) {
		t.Errorf("network subnets %v, want %v", net.Subnets, want)
	}

	// With allow_overlapping_ips false, as in Neutron's default
	// configuration, a CIDR may not be used twice even on other networks.
	otherNet := createNetwork(ctx, t, client, "gc-other-net")
	err = subnets.Create(ctx, client, subnets.CreateOpts{NetworkID: otherNet, IPVersion: gophercloud.IPv4, CIDR: "10.30.0.0/24"}).Err
	expectFault(t, "create a CIDR in use on another network", err, http.StatusBadRequest, "InvalidInput")

	// List with filters.
	other := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: otherNet, Name: "gc-other", CIDR: "10.35.0.0/24", GatewayIP: ptr("10.35.0.254")})
	listIDs := func(opts subnets.ListOpts) []string {
		t.Helper()
		return pageIDs(ctx, t, subnets.List(client, opts), subnets.ExtractSubnets, func(x subnets.Subnet) string { return x.ID })
	}
	for _, c := range []struct {
		opts subnets.ListOpts
		want []string
	}{
		{subnets.ListOpts{}, []string{created.ID, defaulted.ID, noGateway.ID, other.ID}},
		{subnets.ListOpts{NetworkID: netID}, []string{created.ID, defaulted.ID, noGateway.ID}},
		{subnets.ListOpts{NetworkID: otherNet}, []string{other.ID}},
		{subnets.ListOpts{IPVersion: 4}, []string{created.ID, defaulted.ID, noGateway.ID, other.ID}},
		{subnets.ListOpts{IPVersion: 6}, nil},
		{subnets.ListOpts{CIDR: "10.30.0.0/24"}, []string{created.ID}},
		{subnets.ListOpts{CIDR: "10.35.0.0/24", NetworkID: otherNet}, []string{other.ID}},
		{subnets.ListOpts{CIDR: "10.35.0.0/24", NetworkID: netID}, nil},
		{subnets.ListOpts{Name: "gc-default"}, []string{defaulted.ID}},
		{subnets.ListOpts{EnableDHCP: ptr(false)}, []string{created.ID}},
		{subnets.ListOpts{GatewayIP: "10.30.0.254"}, []string{created.ID}},
		{subnets.ListOpts{ID: other.ID}, []string{other.ID}},
	} {
		if got := listIDs(c.opts); !sameSet(got, c.want) {
			t.Errorf("list %+v: %v, want %v", c.opts, got, c.want)
		}
	}
	sorted := listIDs(subnets.ListOpts{NetworkID: netID, SortKey: "cidr", SortDir: "desc"})
	if want := []string{noGateway.ID, defaulted.ID, created.ID}; !slices.Equal(sorted, want) {
		t.Errorf("list sorted by cidr desc: %v, want %v", sorted, want)
	}

	// Update: lists are replaced wholesale.
	updated, err := subnets.Update(ctx, client, created.ID, subnets.UpdateOpts{
		Name:            ptr("gc-renamed"),
		DNSNameservers:  &[]string{"192.0.2.99"},
		HostRoutes:      &[]subnets.HostRoute{{DestinationCIDR: "198.51.100.0/24", NextHop: "10.30.0.2"}, {DestinationCIDR: "172.16.0.0/12", NextHop: "10.30.0.1"}},
		AllocationPools: []subnets.AllocationPool{{Start: "10.30.0.10", End: "10.30.0.200"}},
		EnableDHCP:      ptr(true),
	}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Name != "gc-renamed" || !updated.EnableDHCP || !slices.Equal(updated.DNSNameservers, []string{"192.0.2.99"}) {
		t.Errorf("update: name %q enable_dhcp %v dns_nameservers %v", updated.Name, updated.EnableDHCP, updated.DNSNameservers)
	}
	if want := []subnets.HostRoute{{DestinationCIDR: "172.16.0.0/12", NextHop: "10.30.0.1"}, {DestinationCIDR: "198.51.100.0/24", NextHop: "10.30.0.2"}}; !slices.Equal(routesOf(updated), want) {
		t.Errorf("update: host_routes %v, want %v", updated.HostRoutes, want)
	}
	if want := []subnets.AllocationPool{{Start: "10.30.0.10", End: "10.30.0.200"}}; !slices.Equal(updated.AllocationPools, want) {
		t.Errorf("update: allocation_pools %v, want %v", updated.AllocationPools, want)
	}
	if updated.GatewayIP != "10.30.0.254" || updated.Description != "made by gophercloud" || updated.CIDR != "10.30.0.0/24" {
		t.Errorf("update changed attributes it was not given: %+v", updated)
	}
	if updated.RevisionNumber <= created.RevisionNumber {
		t.Errorf("update: revision_number %d, not above %d", updated.RevisionNumber, created.RevisionNumber)
	}

	// Clearing lists, and the gateway with GatewayIP: new(string).
	cleared, err := subnets.Update(ctx, client, created.ID, subnets.UpdateOpts{
		DNSNameservers: &[]string{},
		HostRoutes:     &[]subnets.HostRoute{},
		GatewayIP:      new(string),
	}).Extract()
	if err != nil {
		t.Fatalf("update clearing: %v", err)
	}
	if len(cleared.DNSNameservers) != 0 || len(cleared.HostRoutes) != 0 || cleared.GatewayIP != "" {
		t.Errorf("update clearing: dns_nameservers %v host_routes %v gateway_ip %q", cleared.DNSNameservers, cleared.HostRoutes, cleared.GatewayIP)
	}
	raw := subnets.Get(ctx, client, created.ID)
	if raw.Err != nil {
		t.Fatalf("get after clearing: %v", raw.Err)
	}
	if gw, ok := raw.Body.(map[string]any)["subnet"].(map[string]any)["gateway_ip"]; !ok || gw != nil {
		t.Errorf("get after clearing the gateway: gateway_ip %#v (present %v), want null", gw, ok)
	}
	regw, err := subnets.Update(ctx, client, created.ID, subnets.UpdateOpts{GatewayIP: ptr("10.30.0.1")}).Extract()
	if err != nil {
		t.Fatalf("update gateway: %v", err)
	}
	if regw.GatewayIP != "10.30.0.1" {
		t.Errorf("update gateway: gateway_ip %q, want 10.30.0.1", regw.GatewayIP)
	}

	// If-Match with a stale revision number.
	n := rec.count()
	err = subnets.Update(ctx, client, created.ID, subnets.UpdateOpts{Name: ptr("stale"), RevisionNumber: ptr(created.RevisionNumber)}).Err
	if !gophercloud.ResponseCodeIs(err, http.StatusPreconditionFailed) {
		t.Errorf("update with stale revision: status %d, want 412: %v", statusOf(err), err)
	}
	if sent := rec.since(n); len(sent) != 1 || sent[0].header.Get("If-Match") != fmt.Sprintf("revision_number=%d", created.RevisionNumber) {
		t.Errorf("update with stale revision sent %+v", sent)
	}

	// Errors gophercloud reports with their status.
	err = subnets.Create(ctx, client, subnets.CreateOpts{NetworkID: netID, IPVersion: gophercloud.IPv4, CIDR: "10.30.0.128/25"}).Err
	expectFault(t, "create overlapping subnet", err, http.StatusBadRequest, "InvalidInput")
	err = subnets.Create(ctx, client, subnets.CreateOpts{NetworkID: netID, IPVersion: gophercloud.IPv4, CIDR: "10.33.0.0/24",
		GatewayIP: ptr("10.33.0.15"), AllocationPools: []subnets.AllocationPool{{Start: "10.33.0.10", End: "10.33.0.20"}}}).Err
	expectFault(t, "create with the gateway in the pool", err, http.StatusConflict, "GatewayConflictWithAllocationPools")
	err = subnets.Create(ctx, client, subnets.CreateOpts{NetworkID: "00000000-0000-0000-0000-000000000000", IPVersion: gophercloud.IPv4, CIDR: "10.34.0.0/24"}).Err
	expectFault(t, "create on a missing network", err, http.StatusNotFound, "NetworkNotFound")

	// Delete.
	for _, id := range []string{created.ID, defaulted.ID, noGateway.ID, other.ID} {
		if err := subnets.Delete(ctx, client, id).ExtractErr(); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	_, err = subnets.Get(ctx, client, created.ID).Extract()
	expectFault(t, "get after delete", err, http.StatusNotFound, "SubnetNotFound")
	err = subnets.Delete(ctx, client, created.ID).ExtractErr()
	expectFault(t, "second delete", err, http.StatusNotFound, "SubnetNotFound")
	if ids := listIDs(subnets.ListOpts{}); len(ids) != 0 {
		t.Errorf("list after delete: %v", ids)
	}
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestSubnetPoolLifecycle(t *testing.T) {
	ctx := t.Context()
	client, _ := newClient(t)

	// An address scope to put the pool in.
	scope, err := addressscopes.Create(ctx, client, addressscopes.CreateOpts{Name: "gc-scope", IPVersion: 4}).Extract()
	if err != nil {
		t.Fatalf("create address scope: %v", err)
	}
	if scope.ID == "" || scope.Name != "gc-scope" || scope.IPVersion != 4 || scope.Shared || scope.ProjectID == "" {
		t.Errorf("create address scope: %+v", scope)
	}
	scope, err = addressscopes.Update(ctx, client, scope.ID, addressscopes.UpdateOpts{Shared: ptr(true)}).Extract()
	if err != nil {
		t.Fatalf("update address scope: %v", err)
	}
	if !scope.Shared || scope.Name != "gc-scope" {
		t.Errorf("update address scope: %+v", scope)
	}

	// Create: adjacent prefixes are merged, as Neutron does.
	created, err := subnetpools.Create(ctx, client, subnetpools.CreateOpts{
		Name:             "gc-pool",
		Description:      "made by gophercloud",
		Prefixes:         []string{"10.100.0.0/16", "10.101.0.0/16"},
		DefaultPrefixLen: 24,
		MinPrefixLen:     20,
		MaxPrefixLen:     28,
		AddressScopeID:   scope.ID,
		Shared:           true,
		IsDefault:        true,
	}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.Name != "gc-pool" || created.Description != "made by gophercloud" ||
		created.AddressScopeID != scope.ID || !created.Shared || !created.IsDefault || created.IPversion != 4 {
		t.Errorf("create: %+v", created)
	}
	if !slices.Equal(created.Prefixes, []string{"10.100.0.0/15"}) {
		t.Errorf("create: prefixes %v, want [10.100.0.0/15]", created.Prefixes)
	}
	if created.DefaultPrefixLen != 24 || created.MinPrefixLen != 20 || created.MaxPrefixLen != 28 {
		t.Errorf("create: prefix lengths default %d min %d max %d, want 24 20 28", created.DefaultPrefixLen, created.MinPrefixLen, created.MaxPrefixLen)
	}
	if created.ProjectID == "" || created.CreatedAt.IsZero() {
		t.Errorf("create: project_id %q created_at %v", created.ProjectID, created.CreatedAt)
	}
	plain, err := subnetpools.Create(ctx, client, subnetpools.CreateOpts{Name: "gc-plain", Prefixes: []string{"192.168.0.0/16"}}).Extract()
	if err != nil {
		t.Fatalf("create plain: %v", err)
	}
	if plain.DefaultPrefixLen != 8 || plain.MinPrefixLen != 8 || plain.MaxPrefixLen != 32 || plain.Shared || plain.IsDefault || plain.AddressScopeID != "" {
		t.Errorf("create plain: %+v", plain)
	}

	got, err := subnetpools.Get(ctx, client, created.ID).Extract()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != created.ID || !slices.Equal(got.Prefixes, created.Prefixes) || got.DefaultPrefixLen != 24 || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("get: %+v, create said %+v", got, created)
	}

	listIDs := func(opts subnetpools.ListOpts) []string {
		t.Helper()
		return pageIDs(ctx, t, subnetpools.List(client, opts), subnetpools.ExtractSubnetPools, func(x subnetpools.SubnetPool) string { return x.ID })
	}
	for _, c := range []struct {
		opts subnetpools.ListOpts
		want []string
	}{
		{subnetpools.ListOpts{}, []string{created.ID, plain.ID}},
		{subnetpools.ListOpts{Name: "gc-pool"}, []string{created.ID}},
		{subnetpools.ListOpts{AddressScopeID: scope.ID}, []string{created.ID}},
		{subnetpools.ListOpts{IsDefault: ptr(true)}, []string{created.ID}},
		{subnetpools.ListOpts{Shared: ptr(false)}, []string{plain.ID}},
		{subnetpools.ListOpts{IPVersion: 4}, []string{created.ID, plain.ID}},
		{subnetpools.ListOpts{IPVersion: 6}, nil},
		{subnetpools.ListOpts{DefaultPrefixLen: 24}, []string{created.ID}},
	} {
		if got := listIDs(c.opts); !sameSet(got, c.want) {
			t.Errorf("list %+v: %v, want %v", c.opts, got, c.want)
		}
	}
	scopes, err := addressscopes.List(client, addressscopes.ListOpts{Name: "gc-scope"}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list address scopes: %v", err)
	}
	if all, err := addressscopes.ExtractAddressScopes(scopes); err != nil || len(all) != 1 || all[0].ID != scope.ID {
		t.Errorf("list address scopes name=gc-scope: %+v %v", all, err)
	}

	// Update: prefixes may only grow through a PUT.
	updated, err := subnetpools.Update(ctx, client, created.ID, subnetpools.UpdateOpts{
		Name:             "gc-pool-renamed",
		Description:      ptr("changed"),
		Prefixes:         []string{"10.100.0.0/15", "10.110.0.0/16"},
		DefaultPrefixLen: 25,
		IsDefault:        ptr(false),
	}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Name != "gc-pool-renamed" || updated.Description != "changed" || updated.DefaultPrefixLen != 25 || updated.IsDefault {
		t.Errorf("update: %+v", updated)
	}
	if !sameSet(updated.Prefixes, []string{"10.100.0.0/15", "10.110.0.0/16"}) {
		t.Errorf("update: prefixes %v", updated.Prefixes)
	}
	if updated.MinPrefixLen != 20 || updated.MaxPrefixLen != 28 || updated.AddressScopeID != scope.ID || !updated.Shared {
		t.Errorf("update changed attributes it was not given: %+v", updated)
	}
	err = subnetpools.Update(ctx, client, created.ID, subnetpools.UpdateOpts{Prefixes: []string{"10.110.0.0/16"}}).Err
	expectFault(t, "update shrinking the prefixes", err, http.StatusBadRequest, "IllegalSubnetPoolPrefixUpdate")

	// add_prefixes / remove_prefixes.
	prefixes, err := subnetpools.AddPrefixes(ctx, client, created.ID, subnetpools.PrefixesOpsOpts{Prefixes: []string{"10.200.0.0/16"}}).Extract()
	if err != nil {
		t.Fatalf("add_prefixes: %v", err)
	}
	if want := []string{"10.100.0.0/15", "10.110.0.0/16", "10.200.0.0/16"}; !sameSet(prefixes, want) {
		t.Errorf("add_prefixes: %v, want %v", prefixes, want)
	}
	prefixes, err = subnetpools.RemovePrefixes(ctx, client, created.ID, subnetpools.PrefixesOpsOpts{Prefixes: []string{"10.110.0.0/16"}}).Extract()
	if err != nil {
		t.Fatalf("remove_prefixes: %v", err)
	}
	if want := []string{"10.100.0.0/15", "10.200.0.0/16"}; !sameSet(prefixes, want) {
		t.Errorf("remove_prefixes: %v, want %v", prefixes, want)
	}
	if got, err := subnetpools.Get(ctx, client, created.ID).Extract(); err != nil || !sameSet(got.Prefixes, prefixes) {
		t.Errorf("get after remove_prefixes: %v %v, want %v", got, err, prefixes)
	}

	// Subnets from the pool: the requested prefix length, or the pool's default.
	netID := createNetwork(ctx, t, client, "gc-pool-net")
	s26 := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, SubnetPoolID: created.ID, Prefixlen: 26})
	sDef := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, SubnetPoolID: created.ID})
	inPool := func(cidr string) bool {
		p := netip.MustParsePrefix(cidr)
		for _, pp := range prefixes {
			if q := netip.MustParsePrefix(pp); q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		s    *subnets.Subnet
		bits int
	}{{s26, 26}, {sDef, 25}} {
		p, err := netip.ParsePrefix(c.s.CIDR)
		if err != nil || p.Bits() != c.bits || !inPool(c.s.CIDR) || c.s.SubnetPoolID != created.ID {
			t.Errorf("subnet from pool: cidr %q subnetpool_id %q, want a /%d inside %v", c.s.CIDR, c.s.SubnetPoolID, c.bits, prefixes)
		}
		if c.s.GatewayIP != p.Addr().Next().String() {
			t.Errorf("subnet from pool %s: gateway_ip %q", c.s.CIDR, c.s.GatewayIP)
		}
	}
	if netip.MustParsePrefix(s26.CIDR).Overlaps(netip.MustParsePrefix(sDef.CIDR)) {
		t.Errorf("subnets from one pool overlap: %s and %s", s26.CIDR, sDef.CIDR)
	}
	if ids := listIDs(subnetpools.ListOpts{}); len(ids) != 2 {
		t.Errorf("pools after allocating subnets: %v", ids)
	}
	pages, err := subnets.List(client, subnets.ListOpts{SubnetPoolID: created.ID}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list subnets by pool: %v", err)
	}
	if all, _ := subnets.ExtractSubnets(pages); len(all) != 2 {
		t.Errorf("list subnets subnetpool_id=%s: %d subnets, want 2", created.ID, len(all))
	}
	err = subnets.Create(ctx, client, subnets.CreateOpts{NetworkID: netID, IPVersion: gophercloud.IPv4, SubnetPoolID: created.ID, Prefixlen: 29}).Err
	expectFault(t, "subnet longer than max_prefixlen", err, http.StatusBadRequest, "MaxPrefixSubnetAllocationError")
	// Removing the prefix the subnets came from is refused. (Neutron takes
	// subnets from the smallest free block first, here 10.200.0.0/16.)
	var used string
	for _, pp := range prefixes {
		if q := netip.MustParsePrefix(pp); q.Contains(netip.MustParsePrefix(s26.CIDR).Addr()) {
			used = pp
		}
	}
	_, err = subnetpools.RemovePrefixes(ctx, client, created.ID, subnetpools.PrefixesOpsOpts{Prefixes: []string{used}}).Extract()
	expectFault(t, "remove_prefixes of "+used+", in use by "+s26.CIDR, err, http.StatusBadRequest, "IllegalSubnetPoolPrefixUpdate")

	// Neutron refuses to delete a pool with subnets (400
	// SubnetPoolDeleteError), and an address scope with pools (409).
	err = subnetpools.Delete(ctx, client, created.ID).ExtractErr()
	expectFault(t, "delete a pool in use", err, http.StatusBadRequest, "SubnetPoolDeleteError")
	err = addressscopes.Delete(ctx, client, scope.ID).ExtractErr()
	expectFault(t, "delete an address scope in use", err, http.StatusConflict, "AddressScopeInUse")

	// Pools of one address scope must not overlap: 409 AddressScopePrefixConflict.
	overlap, err := subnetpools.Create(ctx, client, subnetpools.CreateOpts{
		Name: "gc-overlap", Prefixes: []string{"10.101.128.0/17"}, AddressScopeID: scope.ID,
	}).Extract()
	expectFault(t, "create a pool overlapping another in its address scope", err, http.StatusConflict, "AddressScopePrefixConflict")
	if err == nil {
		_ = subnetpools.Delete(ctx, client, overlap.ID).ExtractErr()
	}
	_, err = subnetpools.Update(ctx, client, plain.ID, subnetpools.UpdateOpts{Prefixes: []string{"192.168.0.0/16", "10.200.128.0/17"}, AddressScopeID: &scope.ID}).Extract()
	expectFault(t, "move a pool into an address scope it overlaps", err, http.StatusConflict, "AddressScopePrefixConflict")

	// Delete.
	for _, id := range []string{s26.ID, sDef.ID} {
		if err := subnets.Delete(ctx, client, id).ExtractErr(); err != nil {
			t.Fatalf("delete subnet %s: %v", id, err)
		}
	}
	for _, id := range []string{created.ID, plain.ID} {
		if err := subnetpools.Delete(ctx, client, id).ExtractErr(); err != nil {
			t.Fatalf("delete pool %s: %v", id, err)
		}
	}
	_, err = subnetpools.Get(ctx, client, created.ID).Extract()
	expectFault(t, "get after delete", err, http.StatusNotFound, "SubnetPoolNotFound")
	if err := addressscopes.Delete(ctx, client, scope.ID).ExtractErr(); err != nil {
		t.Fatalf("delete address scope: %v", err)
	}
	_, err = addressscopes.Get(ctx, client, scope.ID).Extract()
	expectFault(t, "get address scope after delete", err, http.StatusNotFound, "AddressScopeNotFound")
}

// fullPort is a port with the extension attributes Terraform's provider
// reads, extracted the way gophercloud documents it.
type fullPort struct {
	ports.Port
	portsecurity.PortSecurityExt
	portsbinding.PortsBindingExt
}

func ipsOf(p *ports.Port) []ports.IP {
	out := slices.Clone(p.FixedIPs)
	slices.SortFunc(out, func(a, b ports.IP) int {
		return netip.MustParseAddr(a.IPAddress).Compare(netip.MustParseAddr(b.IPAddress))
	})
	return out
}

func TestPortLifecycle(t *testing.T) {
	ctx := t.Context()
	client, rec := newClient(t)
	netID := createNetwork(ctx, t, client, "gc-port-net")
	s1 := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, Name: "gc-s1", CIDR: "10.40.0.0/24"})
	s2 := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, Name: "gc-s2", CIDR: "10.41.0.0/24"})

	// Create with a fixed address on one subnet and any on the other.
	var created fullPort
	err := ports.Create(ctx, client, ports.CreateOpts{
		NetworkID:   netID,
		Name:        "gc-port",
		Description: "made by gophercloud",
		MACAddress:  "fa:16:3e:11:22:33",
		FixedIPs:    []ports.IP{{SubnetID: s1.ID, IPAddress: "10.40.0.10"}, {SubnetID: s2.ID}},
		DeviceID:    "vm-1",
		DeviceOwner: "compute:nova",
		AllowedAddressPairs: []ports.AddressPair{
			{IPAddress: "10.90.0.0/24"},
			{IPAddress: "10.91.0.1", MACAddress: "fa:16:3e:99:99:99"},
		},
	}).ExtractInto(&created)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.NetworkID != netID || created.Name != "gc-port" || created.Description != "made by gophercloud" ||
		created.MACAddress != "fa:16:3e:11:22:33" || created.DeviceID != "vm-1" || created.DeviceOwner != "compute:nova" ||
		!created.AdminStateUp || created.Status == "" {
		t.Errorf("create: %+v", created.Port)
	}
	ips := ipsOf(&created.Port)
	if len(ips) != 2 || ips[0] != (ports.IP{SubnetID: s1.ID, IPAddress: "10.40.0.10"}) || ips[1].SubnetID != s2.ID ||
		!netip.MustParsePrefix(s2.CIDR).Contains(netip.MustParseAddr(ips[1].IPAddress)) || ips[1].IPAddress == s2.GatewayIP {
		t.Errorf("create: fixed_ips %+v, want 10.40.0.10 on %s and an address of %s", created.FixedIPs, s1.ID, s2.CIDR)
	}
	wantPairs := []ports.AddressPair{{IPAddress: "10.90.0.0/24", MACAddress: "fa:16:3e:11:22:33"}, {IPAddress: "10.91.0.1", MACAddress: "fa:16:3e:99:99:99"}}
	if !sameSet(pairStrings(created.AllowedAddressPairs), pairStrings(wantPairs)) {
		t.Errorf("create: allowed_address_pairs %+v, want %+v (the port's MAC filled in)", created.AllowedAddressPairs, wantPairs)
	}
	if !created.PortSecurityEnabled || created.VNICType != "normal" || created.ProjectID == "" || created.CreatedAt.IsZero() {
		t.Errorf("create: port_security_enabled %v binding:vnic_type %q project_id %q created_at %v",
			created.PortSecurityEnabled, created.VNICType, created.ProjectID, created.CreatedAt)
	}

	// A port with no fixed_ips given gets one IPv4 address.
	other, err := ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, Name: "gc-other"}).Extract()
	if err != nil {
		t.Fatalf("create other: %v", err)
	}
	if len(other.FixedIPs) != 1 || (other.FixedIPs[0].SubnetID != s1.ID && other.FixedIPs[0].SubnetID != s2.ID) {
		t.Errorf("create other: fixed_ips %+v, want one address", other.FixedIPs)
	}
	if other.MACAddress == "" || other.MACAddress == created.MACAddress {
		t.Errorf("create other: mac_address %q", other.MACAddress)
	}

	// Get.
	var got fullPort
	if err := ports.Get(ctx, client, created.ID).ExtractInto(&got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != created.ID || !slices.Equal(ipsOf(&got.Port), ips) || got.MACAddress != created.MACAddress ||
		!got.CreatedAt.Equal(created.CreatedAt) || got.VNICType != "normal" {
		t.Errorf("get: %+v, create said %+v", got.Port, created.Port)
	}

	// List, filtering on fixed_ips the way gophercloud encodes it:
	// fixed_ips=ip_address%3D..., fixed_ips=subnet_id%3D..., ...
	listIDs := func(opts ports.ListOpts) []string {
		t.Helper()
		return pageIDs(ctx, t, ports.List(client, opts), ports.ExtractPorts, func(x ports.Port) string { return x.ID })
	}
	n := rec.count()
	if got := listIDs(ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.40.0.10"}}}); !sameSet(got, []string{created.ID}) {
		t.Errorf("list fixed_ips ip_address=10.40.0.10: %v, want [%s]", got, created.ID)
	}
	if sent := rec.since(n); len(sent) != 1 || sent[0].query != "fixed_ips=ip_address%3D10.40.0.10" {
		t.Errorf("list with a fixed_ips filter sent %+v", sent)
	}
	otherOnS1 := other.FixedIPs[0].SubnetID == s1.ID
	onS1, onS2 := []string{created.ID}, []string{created.ID}
	var otherIfOnS1 []string // other's address and s1 match only if other's address is on s1
	if otherOnS1 {
		onS1 = append(onS1, other.ID)
		otherIfOnS1 = []string{other.ID}
	} else {
		onS2 = append(onS2, other.ID)
	}
	for _, c := range []struct {
		opts ports.ListOpts
		want []string
	}{
		{ports.ListOpts{}, []string{created.ID, other.ID}},
		{ports.ListOpts{NetworkID: netID}, []string{created.ID, other.ID}},
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{SubnetID: s1.ID}}}, onS1},
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{SubnetID: s2.ID}}}, onS2},
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.40.0.10", SubnetID: s1.ID}}}, []string{created.ID}},
		// Like Neutron, each fixed_ips sub-filter may match a different
		// address of the port.
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.40.0.10", SubnetID: s2.ID}}}, []string{created.ID}},
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: other.FixedIPs[0].IPAddress, SubnetID: s1.ID}}}, otherIfOnS1},
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.40.0.99"}}}, nil},
		{ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddressSubstr: "40.0.10"}}}, []string{created.ID}},
		{ports.ListOpts{DeviceOwner: "compute:nova"}, []string{created.ID}},
		{ports.ListOpts{DeviceID: "vm-1"}, []string{created.ID}},
		{ports.ListOpts{MACAddress: "fa:16:3e:11:22:33"}, []string{created.ID}},
		{ports.ListOpts{Name: "gc-other"}, []string{other.ID}},
		{ports.ListOpts{AdminStateUp: ptr(true), NetworkID: netID}, []string{created.ID, other.ID}},
	} {
		if got := listIDs(c.opts); !sameSet(got, c.want) {
			t.Errorf("list %+v: %v, want %v", c.opts, got, c.want)
		}
	}

	// Update the fixed IPs: replacing the list frees the addresses left out.
	updated, err := ports.Update(ctx, client, created.ID, ports.UpdateOpts{
		FixedIPs: []ports.IP{{SubnetID: s1.ID, IPAddress: "10.40.0.11"}, {SubnetID: s1.ID, IPAddress: "10.40.0.12"}},
	}).Extract()
	if err != nil {
		t.Fatalf("update fixed_ips: %v", err)
	}
	if want := []ports.IP{{SubnetID: s1.ID, IPAddress: "10.40.0.11"}, {SubnetID: s1.ID, IPAddress: "10.40.0.12"}}; !slices.Equal(ipsOf(updated), want) {
		t.Errorf("update fixed_ips: %+v, want %+v", updated.FixedIPs, want)
	}
	if updated.MACAddress != created.MACAddress || updated.Name != "gc-port" || updated.DeviceOwner != "compute:nova" {
		t.Errorf("update changed attributes it was not given: %+v", updated)
	}
	if updated.RevisionNumber <= created.RevisionNumber {
		t.Errorf("update: revision_number %d, not above %d", updated.RevisionNumber, created.RevisionNumber)
	}
	if got := listIDs(ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.40.0.10"}}}); len(got) != 0 {
		t.Errorf("list fixed_ips ip_address=10.40.0.10 after update: %v", got)
	}
	reuse, err := ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, Name: "gc-reuse",
		FixedIPs: []ports.IP{{SubnetID: s1.ID, IPAddress: "10.40.0.10"}, {SubnetID: s2.ID, IPAddress: ips[1].IPAddress}}}).Extract()
	if err != nil {
		t.Errorf("create with the addresses the update released: %v", err)
	} else if err := ports.Delete(ctx, client, reuse.ID).ExtractErr(); err != nil {
		t.Errorf("delete gc-reuse: %v", err)
	}

	// Allowed address pairs: replaced, then cleared.
	updated, err = ports.Update(ctx, client, created.ID, ports.UpdateOpts{
		AllowedAddressPairs: &[]ports.AddressPair{{IPAddress: "10.92.0.0/16"}},
	}).Extract()
	if err != nil {
		t.Fatalf("update allowed_address_pairs: %v", err)
	}
	if want := []ports.AddressPair{{IPAddress: "10.92.0.0/16", MACAddress: "fa:16:3e:11:22:33"}}; !slices.Equal(updated.AllowedAddressPairs, want) {
		t.Errorf("update allowed_address_pairs: %+v, want %+v", updated.AllowedAddressPairs, want)
	}
	if len(updated.FixedIPs) != 2 {
		t.Errorf("update of allowed_address_pairs changed fixed_ips: %+v", updated.FixedIPs)
	}
	updated, err = ports.Update(ctx, client, created.ID, ports.UpdateOpts{AllowedAddressPairs: &[]ports.AddressPair{}}).Extract()
	if err != nil {
		t.Fatalf("clear allowed_address_pairs: %v", err)
	}
	if updated.AllowedAddressPairs == nil || len(updated.AllowedAddressPairs) != 0 {
		t.Errorf("clear allowed_address_pairs: %#v, want an empty list", updated.AllowedAddressPairs)
	}

	// Name, device and MAC address.
	updated, err = ports.Update(ctx, client, created.ID, ports.UpdateOpts{
		Name: ptr("gc-renamed"), DeviceID: ptr(""), DeviceOwner: ptr(""), MACAddress: ptr("fa:16:3e:44:55:66"),
	}).Extract()
	if err != nil {
		t.Fatalf("update name/device/mac: %v", err)
	}
	if updated.Name != "gc-renamed" || updated.DeviceID != "" || updated.DeviceOwner != "" || updated.MACAddress != "fa:16:3e:44:55:66" {
		t.Errorf("update name/device/mac: %+v", updated)
	}

	// Errors.
	err = ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, FixedIPs: []ports.IP{{SubnetID: s1.ID, IPAddress: "10.40.0.11"}}}).Err
	expectFault(t, "create with an address in use", err, http.StatusConflict, "IpAddressAlreadyAllocated")
	if body := responseBody(err); !strings.Contains(body, "IP address 10.40.0.11 already allocated in subnet "+s1.ID) {
		t.Errorf("create with an address in use: body %s", body)
	}
	err = ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, FixedIPs: []ports.IP{{SubnetID: s1.ID, IPAddress: "10.41.0.50"}}}).Err
	expectFault(t, "create with an address outside the subnet", err, http.StatusBadRequest, "InvalidIpForSubnet")
	err = ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, MACAddress: "fa:16:3e:44:55:66"}).Err
	expectFault(t, "create with a MAC address in use", err, http.StatusConflict, "MacAddressInUse")
	err = ports.Update(ctx, client, other.ID, ports.UpdateOpts{FixedIPs: []ports.IP{{SubnetID: s1.ID, IPAddress: "10.40.0.12"}}}).Err
	expectFault(t, "update to an address in use", err, http.StatusConflict, "IpAddressAlreadyAllocated")
	err = subnets.Delete(ctx, client, s1.ID).ExtractErr()
	expectFault(t, "delete a subnet with ports", err, http.StatusConflict, "SubnetInUse")
	err = networks.Delete(ctx, client, netID).ExtractErr()
	expectFault(t, "delete a network with ports", err, http.StatusConflict, "NetworkInUse")

	// Delete.
	for _, id := range []string{created.ID, other.ID} {
		if err := ports.Delete(ctx, client, id).ExtractErr(); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	_, err = ports.Get(ctx, client, created.ID).Extract()
	expectFault(t, "get after delete", err, http.StatusNotFound, "PortNotFound")
	err = ports.Delete(ctx, client, created.ID).ExtractErr()
	expectFault(t, "second delete", err, http.StatusNotFound, "PortNotFound")
	if got := listIDs(ports.ListOpts{}); len(got) != 0 {
		t.Errorf("list after delete: %v", got)
	}
	if err := networks.Delete(ctx, client, netID).ExtractErr(); err != nil {
		t.Errorf("delete the network once its ports are gone: %v", err)
	}
}

func pairStrings(pairs []ports.AddressPair) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p.IPAddress+"/"+p.MACAddress)
	}
	return out
}

func TestPortPagination(t *testing.T) {
	ctx := t.Context()
	client, rec := newClient(t)
	netID := createNetwork(ctx, t, client, "gc-page-net")
	subnet := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, CIDR: "10.50.0.0/24"})
	// A port on another network, which the filtered walk must skip.
	otherNet := createNetwork(ctx, t, client, "gc-page-other")
	createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: otherNet, CIDR: "10.51.0.0/24"})
	if err := ports.Create(ctx, client, ports.CreateOpts{NetworkID: otherNet, Name: "page-other"}).Err; err != nil {
		t.Fatalf("create port on the other network: %v", err)
	}

	want := map[string]bool{}
	for i := range 25 {
		p, err := ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, Name: fmt.Sprintf("page-port-%02d", i)}).Extract()
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want[p.ID] = true
	}

	walk := func(opts ports.ListOpts) (sizes []int, all []ports.Port) {
		t.Helper()
		err := ports.List(client, opts).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
			items, err := ports.ExtractPorts(page)
			if err != nil {
				return false, err
			}
			sizes = append(sizes, len(items))
			all = append(all, items...)
			return true, nil
		})
		if err != nil {
			t.Fatalf("EachPage %+v: %v", opts, err)
		}
		return sizes, all
	}
	checkOnce := func(what string, all []ports.Port) {
		t.Helper()
		seen := map[string]int{}
		for _, p := range all {
			seen[p.ID]++
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("%s: port %s listed %d times, want once", what, id, seen[id])
			}
		}
		for id := range seen {
			if !want[id] {
				t.Errorf("%s: port %s listed, but it is not one of the 25", what, id)
			}
		}
	}

	// Filtered on the network, 10 at a time.
	start := rec.count()
	sizes, all := walk(ports.ListOpts{NetworkID: netID, Limit: 10})
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes %v, want [10 10 5]", sizes)
	}
	checkOnce("limit=10", all)
	checkPagedRequests(t, rec.since(start), "/v2.0/ports", 10, 3)

	// Filtered on fixed_ips, 7 at a time, sorted by name descending.
	sizes, all = walk(ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{SubnetID: subnet.ID}}, Limit: 7, SortKey: "name", SortDir: "desc"})
	if !slices.Equal(sizes, []int{7, 7, 7, 4}) {
		t.Errorf("fixed_ips subnet_id filter, limit=7: page sizes %v, want [7 7 7 4]", sizes)
	}
	checkOnce("fixed_ips subnet_id filter, limit=7", all)
	for i, p := range all {
		if wantName := fmt.Sprintf("page-port-%02d", 24-i); p.Name != wantName {
			t.Errorf("sorted paging position %d: %s, want %s", i, p.Name, wantName)
		}
	}

	// Unfiltered, the other network's port comes too.
	pages, err := ports.List(client, ports.ListOpts{Limit: 10}).AllPages(ctx)
	if err != nil {
		t.Fatalf("AllPages: %v", err)
	}
	if everything, err := ports.ExtractPorts(pages); err != nil || len(everything) != 26 {
		t.Errorf("AllPages limit=10: %d ports (%v), want 26", len(everything), err)
	}
}

func TestNetworkIPAvailability(t *testing.T) {
	ctx := t.Context()
	client, _ := newClient(t)
	netID := createNetwork(ctx, t, client, "gc-avail-net")
	s := createSubnet(ctx, t, client, subnets.CreateOpts{NetworkID: netID, Name: "gc-avail", CIDR: "10.60.0.0/28"})
	for i := range 3 {
		if err := ports.Create(ctx, client, ports.CreateOpts{NetworkID: netID, Name: fmt.Sprintf("avail-%d", i)}).Err; err != nil {
			t.Fatalf("create port %d: %v", i, err)
		}
	}
	createNetwork(ctx, t, client, "gc-avail-empty")

	got, err := networkipavailabilities.Get(ctx, client, netID).Extract()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.NetworkID != netID || got.NetworkName != "gc-avail-net" || got.TotalIPs != "13" || got.UsedIPs != "3" || got.ProjectID == "" {
		t.Errorf("get: %+v, want 13 total and 3 used", got)
	}
	if len(got.SubnetIPAvailabilities) != 1 {
		t.Fatalf("get: subnet_ip_availability %+v", got.SubnetIPAvailabilities)
	}
	if sa := got.SubnetIPAvailabilities[0]; sa.SubnetID != s.ID || sa.SubnetName != "gc-avail" || sa.CIDR != "10.60.0.0/28" ||
		sa.IPVersion != 4 || sa.TotalIPs != "13" || sa.UsedIPs != "3" {
		t.Errorf("get: subnet_ip_availability %+v", sa)
	}

	pages, err := networkipavailabilities.List(client, networkipavailabilities.ListOpts{NetworkName: "gc-avail-net"}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	all, err := networkipavailabilities.ExtractNetworkIPAvailabilities(pages)
	if err != nil {
		t.Fatalf("extract list: %v", err)
	}
	if len(all) != 1 || all[0].NetworkID != netID || all[0].UsedIPs != "3" {
		t.Errorf("list network_name=gc-avail-net: %+v", all)
	}
}

// pageIDs reads every page of a list and returns the ids of its items.
func pageIDs[T any](ctx context.Context, t *testing.T, pager pagination.Pager,
	extract func(pagination.Page) ([]T, error), id func(T) string) []string {
	t.Helper()
	pages, err := pager.AllPages(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	all, err := extract(pages)
	if err != nil {
		t.Fatalf("extract list: %v", err)
	}
	ids := make([]string, 0, len(all))
	for _, x := range all {
		ids = append(ids, id(x))
	}
	return ids
}
