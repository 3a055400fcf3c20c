package l2

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// TestHostFirewall reads a security_group_info_for_devices reply in
// Neutron's shape (devices keyed by port id, named by tap, member IPs as
// [ip, mac] pairs) into the firewall's input.
func TestHostFirewall(t *testing.T) {
	const reply = `{
	  "devices": {"0123456789ab-cdef": {
	    "id": "0123456789ab-cdef", "device": "tap0123456789a", "network_id": "net-1",
	    "mac_address": "fa:16:3e:00:00:01", "port_security_enabled": true, "name": "vm",
	    "fixed_ips": ["10.0.0.5", "2001:db8::5"],
	    "allowed_address_pairs": [{"ip_address": "10.0.0.128/25", "mac_address": "fa:16:3e:00:00:99"}, {"ip_address": "10.0.0.9"}],
	    "security_groups": ["sg-web"], "security_group_source_groups": ["sg-db"],
	    "security_group_rules": [{"direction": "ingress", "ethertype": "IPv6", "protocol": "ipv6-icmp", "source_port_range_min": 134}]}},
	  "security_groups": {"sg-web": [
	    {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
	     "source_ip_prefix": "192.0.2.0/24", "stateful": true},
	    {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "sg-db", "stateful": true}]},
	  "sg_member_ips": {"sg-db": {"IPv4": [["10.0.0.20", null], ["10.0.0.128/25", "fa:16:3e:00:00:99"]], "IPv6": []}}
	}`
	var info rpcapi.SecurityGroupInfo
	if err := json.Unmarshal([]byte(reply), &info); err != nil {
		t.Fatal(err)
	}
	h, groups := hostFirewall(&info)
	if len(h.Ports) != 1 {
		t.Fatalf("ports %+v", h.Ports)
	}
	p := h.Ports[0]
	if p.Device != "tap0123456789a" || p.Bridge != "brqnet-1" || p.MAC.String() != "fa:16:3e:00:00:01" || !p.PortSecurity ||
		!slices.Equal(p.FixedIPs, []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::5")}) {
		t.Errorf("port %+v", p)
	}
	if len(p.AllowedAddressPairs) != 2 || p.AllowedAddressPairs[0].Prefix != netip.MustParsePrefix("10.0.0.128/25") ||
		p.AllowedAddressPairs[0].MAC.String() != "fa:16:3e:00:00:99" || p.AllowedAddressPairs[1].MAC != nil ||
		p.AllowedAddressPairs[1].Prefix != netip.MustParsePrefix("10.0.0.9/32") {
		t.Errorf("allowed address pairs %+v", p.AllowedAddressPairs)
	}
	if len(p.ProviderRules) != 1 || *p.ProviderRules[0].SourcePortRangeMin != 134 {
		t.Errorf("provider rules %+v", p.ProviderRules)
	}
	if rs := h.Rules["sg-web"]; len(rs) != 2 || rs[0].SourceIPPrefix != "192.0.2.0/24" || rs[1].RemoteGroupID != "sg-db" {
		t.Errorf("rules %+v", h.Rules)
	}
	if m := h.Members["sg-db"]; !slices.Equal(m, []netip.Prefix{netip.MustParsePrefix("10.0.0.20/32"), netip.MustParsePrefix("10.0.0.128/25")}) {
		t.Errorf("members %v", m)
	}
	if !groups["sg-web"] || !groups["sg-db"] || len(groups) != 2 {
		t.Errorf("groups concerning the host %v", groups)
	}
}

// TestNotificationsDuringAFetch: a security group notification concerns
// the host when it names a group of the last reply, and whatever it
// names while a fetch is under way (the reply may predate the change it
// announces); a failed fetch keeps the groups known before it.
func TestNotificationsDuringAFetch(t *testing.T) {
	p := &Part{sgGroups: map[string]bool{"sg-a": true}}
	for _, c := range []struct {
		step    string
		do      func()
		concern map[string]bool
	}{
		{"after a pass", func() {}, map[string]bool{"sg-a": true, "sg-b": false}},
		{"during a fetch", func() { p.sgFetching = true }, map[string]bool{"sg-a": true, "sg-b": true}},
		{"after the fetch", func() { p.sgFetched(map[string]bool{"sg-b": true}) }, map[string]bool{"sg-a": false, "sg-b": true}},
		{"during another", func() { p.sgFetching = true }, map[string]bool{"sg-a": true, "sg-b": true}},
		{"after it failed", func() { p.sgFetched(nil) }, map[string]bool{"sg-a": false, "sg-b": true}},
	} {
		c.do()
		for g, want := range c.concern {
			if got := p.concerns([]string{g}); got != want {
				t.Errorf("%s: a notification about %s concerns the host: %v, want %v", c.step, g, got, want)
			}
		}
	}
}
