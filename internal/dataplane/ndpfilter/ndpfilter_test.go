package ndpfilter_test

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/ndpfilter"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// TestNDPFingerprint: a ruleset's fingerprint ignores the order of its
// addresses and subnets, repeats, host bits and IPv4 entries, and tells
// apart whatever changes the table.
func TestNDPFingerprint(t *testing.T) {
	base := ndpfilter.Ruleset{GatewayDevice: "qg-a", Proxied: addrs("2001:db8:1::10", "2001:db8:1::11"),
		Subnets: prefixes("2001:db8:1::/64", "2001:db8::/48")}
	for _, tc := range []struct {
		name string
		rs   ndpfilter.Ruleset
		same bool
	}{
		{"reordered", ndpfilter.Ruleset{GatewayDevice: "qg-a", Proxied: addrs("2001:db8:1::11", "2001:db8:1::10"),
			Subnets: prefixes("2001:db8::/48", "2001:db8:1::/64")}, true},
		{"repeats, host bits, IPv4", ndpfilter.Ruleset{GatewayDevice: "qg-a",
			Proxied: addrs("2001:db8:1::11", "2001:db8:1::10", "2001:db8:1::11", "10.0.0.1"),
			Subnets: prefixes("2001:db8:1::5/64", "2001:db8::/48", "10.0.0.0/24")}, true},
		{"another device", ndpfilter.Ruleset{GatewayDevice: "qg-b", Proxied: base.Proxied, Subnets: base.Subnets}, false},
		{"a proxy fewer", ndpfilter.Ruleset{GatewayDevice: "qg-a", Proxied: addrs("2001:db8:1::10"), Subnets: base.Subnets}, false},
		{"a subnet fewer", ndpfilter.Ruleset{GatewayDevice: "qg-a", Proxied: base.Proxied, Subnets: prefixes("2001:db8:1::/64")}, false},
		{"another prefix length", ndpfilter.Ruleset{GatewayDevice: "qg-a", Proxied: base.Proxied,
			Subnets: prefixes("2001:db8:1::/64", "2001:db8::/56")}, false},
	} {
		if got := bytes.Equal(ndpfilter.Fingerprint(tc.rs), ndpfilter.Fingerprint(base)); got != tc.same {
			t.Errorf("%s: same fingerprint %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestNDPFilter: in a router namespace between an inside with three
// IPv6 addresses (two on the in-scope subnet 2001:db8:63::/64, one on
// 2001:db8:64::/64) and an outside, the table lets the outside reach
// the in-scope subnet only at proxied addresses; the other subnet is
// not its business. A converged table is not written again (as after
// an agent's restart), and the empty ruleset removes it.
func TestNDPFilter(t *testing.T) {
	nsrig.RequireDataplane(t)
	rig := nsrig.New(t)
	rns, in, out := rig.Router("d", netip.MustParsePrefix("10.63.0.0/24"))
	rh, ih, oh := rig.Host(rns), rig.Host(in), rig.Host(out)
	nsrig.Must(t, netns.Do(rns, func() error {
		return os.WriteFile("/proc/sys/net/ipv6/conf/all/forwarding", []byte("1"), 0o644)
	}))
	for _, a := range []struct{ h, dev, cidr string }{
		{"r", "qr-d", "2001:db8:63::1/64"}, {"r", "qr-d", "2001:db8:64::1/64"}, {"r", "qg-d", "2001:db8:ff::1/64"},
		{"in", "eth0", "2001:db8:63::10/64"}, {"in", "eth0", "2001:db8:63::11/64"}, {"in", "eth0", "2001:db8:64::10/64"},
		{"out", "eth0", "2001:db8:ff::2/64"},
	} {
		nsrig.AddrNoDAD(t, map[string]*link.Host{"r": rh, "in": ih, "out": oh}[a.h], a.dev, a.cidr)
	}
	nsrig.Route(t, ih, "eth0", "::/0", "2001:db8:63::1")
	nsrig.Route(t, oh, "eth0", "2001:db8:60::/44", "2001:db8:ff::1")

	const proxied, other, outOfScope = "2001:db8:63::10", "2001:db8:63::11", "2001:db8:64::10"
	// reach waits for each address's answer to come (or checks that none
	// does) as want says.
	reach := func(step string, want map[string]bool) {
		t.Helper()
		for ip, ok := range want {
			if ok {
				nsrig.WaitFor(t, step+": outside → "+ip, 10*time.Second, func() error { return nsrig.PingFrom(out, ip) })
			} else if nsrig.PingFrom(out, ip) == nil {
				t.Errorf("%s: outside → %s answered", step, ip)
			}
		}
	}
	all := map[string]bool{proxied: true, other: true, outOfScope: true}
	reach("no table", all)

	rs := ndpfilter.Ruleset{GatewayDevice: "qg-d", Proxied: addrs(proxied), Subnets: prefixes("2001:db8:63::/64")}
	for _, step := range []struct {
		name  string
		rs    ndpfilter.Ruleset
		wrote bool
		reach map[string]bool
	}{
		{"a proxy", rs, true, map[string]bool{proxied: true, other: false, outOfScope: true}},
		{"converged", rs, false, map[string]bool{proxied: true, other: false, outOfScope: true}},
		{"converged, reordered", ndpfilter.Ruleset{GatewayDevice: "qg-d", Proxied: addrs(proxied, proxied),
			Subnets: prefixes("2001:db8:63::77/64")}, false, nil},
		{"the proxy gone", ndpfilter.Ruleset{GatewayDevice: "qg-d", Subnets: rs.Subnets}, true,
			map[string]bool{proxied: false, other: false, outOfScope: true}},
		{"both proxied", ndpfilter.Ruleset{GatewayDevice: "qg-d", Proxied: addrs(other, proxied), Subnets: rs.Subnets}, true, all},
		{"disabled", ndpfilter.Ruleset{}, true, all},
		{"disabled, converged", ndpfilter.Ruleset{}, false, nil},
	} {
		wrote, err := ndpfilter.Apply(rns, step.rs)
		if err != nil || wrote != step.wrote {
			t.Fatalf("%s: Apply wrote %v, %v; want %v", step.name, wrote, err, step.wrote)
		}
		cur, err := ndpfilter.Current(rns)
		want := ndpfilter.Fingerprint(step.rs)
		if step.rs.GatewayDevice == "" {
			want = nil
		}
		if err != nil || !bytes.Equal(cur, want) {
			t.Errorf("%s: Current = %x, %v; want %x", step.name, cur, err, want)
		}
		reach(step.name, step.reach)
	}
	if err := ndpfilter.Remove(rns); err != nil {
		t.Errorf("Remove of no table: %v", err)
	}
}
