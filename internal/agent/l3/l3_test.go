package l3

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/nat"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func TestOptionsRefuseWhatTheAgentCannotDo(t *testing.T) {
	for _, c := range []struct {
		set  map[string]string
		want string // "" accepts
	}{
		{nil, ""},
		{map[string]string{"DEFAULT.interface_driver": "neutron.agent.linux.interface.BridgeInterfaceDriver"}, ""},
		{map[string]string{"DEFAULT.interface_driver": "openvswitch"}, "interface_driver"},
		{map[string]string{"DEFAULT.external_network_bridge": "br-ex"}, "external_network_bridge"},
		{map[string]string{"DEFAULT.agent_mode": "dvr"}, "distributed routers (DVR) are not supported"},
		{map[string]string{"DEFAULT.agent_mode": "dvr_snat"}, "distributed routers (DVR) are not supported"},
		{map[string]string{"DEFAULT.agent_mode": "bogus"}, "only legacy"},
	} {
		cfg, err := config.Options.LoadWithDefaults(c.set, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, err := OptionsFrom(cfg)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.set, err)
		case c.want == "" && (!o.HandleInternalOnlyRouters || o.SendARPForHA != 3):
			t.Errorf("%v: defaults %+v", c.set, o)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want one naming %q", c.set, err, c.want)
		}
	}
}

func TestRouterFrom(t *testing.T) {
	scope, other := "scope-a", "scope-b"
	gwIP := "203.0.113.1"
	r := rpcapi.Router{ID: "r", EnableSNAT: true,
		Routes: []rpcapi.Route{{Destination: "192.0.2.0/24", Nexthop: "10.0.0.9"}},
		GatewayPort: &rpcapi.RouterPort{ID: "gwport-0123456789", NetworkID: "ext", MTU: 1500,
			FixedIPs:      []rpcapi.FixedIP{{IPAddress: "203.0.113.10", PrefixLen: 24}},
			Subnets:       []rpcapi.PortSubnet{{CIDR: "203.0.113.0/24", GatewayIP: &gwIP}},
			AddressScopes: map[string]*string{"4": &scope}},
		Interfaces: []rpcapi.RouterPort{
			{ID: "if1-0123456789", NetworkID: "n1", FixedIPs: []rpcapi.FixedIP{{IPAddress: "10.0.0.1", PrefixLen: 24}},
				AddressScopes: map[string]*string{"4": &scope}},
			{ID: "if2-0123456789", NetworkID: "n2", FixedIPs: []rpcapi.FixedIP{{IPAddress: "10.1.0.1", PrefixLen: 24}},
				AddressScopes: map[string]*string{"4": &other}},
		},
		FloatingIPs: []rpcapi.FloatingIP{
			{ID: "f1", FloatingIPAddress: "203.0.113.20", FixedIPAddress: "10.1.0.5", PortID: "p"},
			{ID: "f2", FloatingIPAddress: "203.0.113.21", PortForwardings: []rpcapi.PortForwarding{
				{ID: "pf", Protocol: "tcp", InternalIPAddress: "10.1.0.6", ExternalPortRange: "8000:8010", InternalPortRange: "9000:9010"}}},
		},
	}
	got, err := RouterFrom(r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Gateway == nil || got.Gateway.Device != "qg-gwport-0123" || len(got.Gateway.Addrs) != 3 {
		t.Errorf("gateway %+v", got.Gateway)
	}
	if len(got.Interfaces) != 2 || got.Interfaces[0].Device != "qr-if1-0123456" {
		t.Errorf("interfaces %+v", got.Interfaces)
	}
	if len(got.Routes) != 2 || got.Routes[0].Dst.String() != "0.0.0.0/0" || got.Routes[0].Via.String() != gwIP {
		t.Errorf("routes %+v", got.Routes)
	}
	want := nat.Ruleset{GatewayDevice: "qg-gwport-0123", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true,
		NoSNAT:          []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		FloatingIPs:     []nat.FloatingIP{{External: netip.MustParseAddr("203.0.113.20"), Internal: netip.MustParseAddr("10.1.0.5")}},
		PortForwardings: []nat.PortForwarding{{Protocol: "tcp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 8000, ExternalEnd: 8010, Internal: netip.MustParseAddr("10.1.0.6"), InternalStart: 9000, InternalEnd: 9010}},
	}
	if string(got.NAT.Fingerprint()) != string(want.Fingerprint()) {
		t.Errorf("NAT %+v\nwant %+v", got.NAT, want)
	}
	r.EnableSNAT = false
	if got, _ := RouterFrom(r); got.NAT.SNAT {
		t.Error("enable_snat false still SNATs")
	}
}

func TestRouterFromNDPProxies(t *testing.T) {
	r := rpcapi.Router{ID: "r", EnableNDPProxy: true,
		NDPProxies: []rpcapi.NDPProxy{{ID: "np", PortID: "p", IPAddress: "2001:db8:78::99"}}}
	if got, err := RouterFrom(r); err != nil || got.NDPProxy || got.NDPProxies != nil || got.NDPFilter.GatewayDevice != "" {
		t.Errorf("without a gateway: %+v, %v", got, err)
	}
	r.GatewayPort = &rpcapi.RouterPort{ID: "gwport-0123456789", FixedIPs: []rpcapi.FixedIP{{IPAddress: "2001:db8:77::2", PrefixLen: 64}}}
	got, err := RouterFrom(r)
	if err != nil || !got.NDPProxy || len(got.NDPProxies) != 1 || got.NDPProxies[0] != netip.MustParseAddr("2001:db8:78::99") {
		t.Errorf("with a gateway: %+v, %v", got, err)
	}
	if got.NDPFilter.GatewayDevice != "qg-gwport-0123" || len(got.NDPFilter.Subnets) != 0 {
		t.Errorf("filter without interfaces: %+v", got.NDPFilter)
	}
	// The filter keeps out the IPv6 subnets of interfaces in the
	// gateway's IPv6 address scope (none on both sides is one scope).
	scope, other := "s6", "t6"
	r.Interfaces = []rpcapi.RouterPort{
		{ID: "if1-0123456789", Subnets: []rpcapi.PortSubnet{{CIDR: "2001:db8:78::/64"}, {CIDR: "10.0.0.0/24"}}},
		{ID: "if2-0123456789", Subnets: []rpcapi.PortSubnet{{CIDR: "2001:db8:79::/64"}}, AddressScopes: map[string]*string{"6": &other}},
	}
	if got, _ := RouterFrom(r); len(got.NDPFilter.Subnets) != 1 || got.NDPFilter.Subnets[0] != netip.MustParsePrefix("2001:db8:78::/64") {
		t.Errorf("filter, no scopes: %+v", got.NDPFilter)
	}
	r.GatewayPort.AddressScopes = map[string]*string{"6": &scope}
	r.Interfaces[1].AddressScopes["6"] = &scope
	if got, _ := RouterFrom(r); len(got.NDPFilter.Subnets) != 1 || got.NDPFilter.Subnets[0] != netip.MustParsePrefix("2001:db8:79::/64") {
		t.Errorf("filter, gateway's scope: %+v", got.NDPFilter)
	}
	r.EnableNDPProxy = false
	if got, _ := RouterFrom(r); got.NDPProxy || got.NDPProxies != nil || got.NDPFilter.GatewayDevice != "" {
		t.Errorf("disabled: %+v", got)
	}
	r.EnableNDPProxy = true
	r.NDPProxies[0].IPAddress = "10.0.0.5"
	if _, err := RouterFrom(r); err == nil {
		t.Error("an IPv4 proxy address was taken")
	}
}
