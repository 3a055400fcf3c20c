package nat_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/dataplane/nat"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

func ruleset() nat.Ruleset {
	return nat.Ruleset{GatewayDevice: "qg-test", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true,
		NoSNAT:      []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
		FloatingIPs: []nat.FloatingIP{{External: netip.MustParseAddr("203.0.113.20"), Internal: netip.MustParseAddr("10.1.0.5")}},
		PortForwardings: []nat.PortForwarding{
			{Protocol: "tcp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 22, ExternalEnd: 22, Internal: netip.MustParseAddr("10.1.0.6"), InternalStart: 2222, InternalEnd: 2222},
			{Protocol: "udp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 5000, ExternalEnd: 5010, Internal: netip.MustParseAddr("10.1.0.6"), InternalStart: 5000, InternalEnd: 5010},
			{Protocol: "tcp", External: netip.MustParseAddr("203.0.113.21"), ExternalStart: 8000, ExternalEnd: 8003, Internal: netip.MustParseAddr("10.1.0.7"), InternalStart: 9000, InternalEnd: 9003},
		}}
}

// TestApplyIsIdempotentAndAtomic: a ruleset is written once, a second
// Apply of the same one writes nothing, a different one replaces it, and
// Remove leaves no table.
func TestApplyIsIdempotentAndAtomic(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("nat")
	rs := ruleset()
	if cur, err := nat.Current(ns); err != nil || cur != nil {
		t.Fatalf("Current before Apply: %x, %v", cur, err)
	}
	for i, want := range []bool{true, false} {
		wrote, err := nat.Apply(ns, rs)
		if err != nil || wrote != want {
			t.Fatalf("Apply #%d: wrote %v, %v; want %v", i+1, wrote, err, want)
		}
	}
	if cur, err := nat.Current(ns); err != nil || !bytes.Equal(cur, rs.Fingerprint()) {
		t.Fatalf("Current = %x, %v; want %x", cur, err, rs.Fingerprint())
	}
	rs.FloatingIPs = nil
	if wrote, err := nat.Apply(ns, rs); err != nil || !wrote {
		t.Fatalf("Apply of a changed ruleset: %v, %v", wrote, err)
	}
	if cur, _ := nat.Current(ns); !bytes.Equal(cur, rs.Fingerprint()) {
		t.Errorf("the table holds %x, want the new ruleset %x", cur, rs.Fingerprint())
	}
	if err := nat.Remove(ns); err != nil {
		t.Fatal(err)
	}
	if cur, err := nat.Current(ns); err != nil || cur != nil {
		t.Errorf("after Remove: %x, %v", cur, err)
	}
	if err := nat.Remove(ns); err != nil {
		t.Errorf("Remove of an absent table: %v", err)
	}
}

func TestValidate(t *testing.T) {
	bad := []nat.Ruleset{
		{GatewayDevice: "qg", SNAT: true},
		{GatewayDevice: "qg", FloatingIPs: []nat.FloatingIP{{External: netip.MustParseAddr("2001:db8::1"), Internal: netip.MustParseAddr("10.0.0.1")}}},
		{GatewayDevice: "qg", PortForwardings: []nat.PortForwarding{{Protocol: "sctp", External: netip.MustParseAddr("1.2.3.4"), Internal: netip.MustParseAddr("10.0.0.1")}}},
		{GatewayDevice: "qg", PortForwardings: []nat.PortForwarding{{Protocol: "tcp", External: netip.MustParseAddr("1.2.3.4"), ExternalStart: 10, ExternalEnd: 20,
			Internal: netip.MustParseAddr("10.0.0.1"), InternalStart: 30, InternalEnd: 35}}},
	}
	for i, rs := range bad {
		if err := rs.Validate(); err == nil {
			t.Errorf("ruleset %d accepted", i)
		}
	}
	if err := ruleset().Validate(); err != nil {
		t.Error(err)
	}
	a, b := ruleset(), ruleset()
	b.PortForwardings[0], b.PortForwardings[2] = b.PortForwardings[2], b.PortForwardings[0]
	if !bytes.Equal(a.Fingerprint(), b.Fingerprint()) {
		t.Error("the fingerprint depends on the order of the lists")
	}
}
