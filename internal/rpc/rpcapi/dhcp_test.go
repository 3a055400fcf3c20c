package rpcapi

import "testing"

func TestDHCPDeviceID(t *testing.T) {
	// Values from Neutron: 'dhcp%s-%s' % (uuid.uuid5(uuid.NAMESPACE_DNS, host), network_id).
	for _, tc := range []struct{ host, net, want string }{
		{"host-a", "net1", "dhcp645ab895-b76a-5ada-8177-739c5b8ac740-net1"},
		{"compute-17.example.org", "5f2c7a6e-0000-4000-8000-000000000001",
			"dhcp4917795c-8808-5c41-9ec9-5f0c9b5e0531-5f2c7a6e-0000-4000-8000-000000000001"},
	} {
		if got := DHCPDeviceID(tc.net, tc.host); got != tc.want {
			t.Errorf("DHCPDeviceID(%q, %q) = %q, want %q", tc.net, tc.host, got, tc.want)
		}
	}
}
