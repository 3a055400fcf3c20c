package meter_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/meter"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func ping(t *testing.T, ns netns.Handle, n string, to string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := nsrig.Run(ctx, ns, nil, "busybox", "ping", "-c", n, "-i", "0.2", "-W", "2", to); err != nil {
		t.Fatalf("ping %s: %v: %s", to, err, out)
	}
}

// TestCountsTraffic: each label counts the packets its rules select on
// the gateway device (once per rule that selects them) — egress by destination, ingress by the legacy
// remote prefix (the destination), excluded prefixes taken out — a
// changed ruleset keeps the counts of labels that stay, and a label
// removed loses its counter.
func TestCountsTraffic(t *testing.T) {
	nsrig.RequireDataplane(t)
	rns, in, _ := nsrig.New(t).Router("m", pfx("10.61.0.0/24"))
	rs := meter.Ruleset{GatewayDevice: "qg-m", Labels: []meter.Label{
		{ID: "out", Rules: []meter.Rule{{Destination: pfx("203.0.113.0/24")}}},
		{ID: "back", Rules: []meter.Rule{{Ingress: true, Remote: pfx("10.61.0.0/24")}}},
		{ID: "none", Rules: []meter.Rule{{Destination: pfx("0.0.0.0/0")}, {Excluded: true, Destination: pfx("203.0.113.2/32")}}},
		{ID: "v6", Rules: []meter.Rule{{Source: pfx("2001:db8::/64")}}},
		// Two rules select the same packets: each counts them, as each
		// of Neutron's rules jumps to the label's counting chain.
		{ID: "twice", Rules: []meter.Rule{{Destination: pfx("203.0.113.0/24")}, {Destination: pfx("203.0.113.2/32")},
			{Destination: pfx("198.51.100.0/24")}}},
	}}
	if wrote, err := meter.Apply(rns, rs); err != nil || !wrote {
		t.Fatalf("Apply: %v, %v", wrote, err)
	}
	if wrote, err := meter.Apply(rns, rs); err != nil || wrote {
		t.Fatalf("second Apply: wrote %v, %v", wrote, err)
	}
	ping(t, in, "3", "203.0.113.2")
	counts, err := meter.Counters(rns)
	nsrig.Must(t, err)
	want := map[string]uint64{"out": 3, "back": 3, "none": 0, "v6": 0, "twice": 6}
	for id, n := range want {
		if counts[id].Packets != n {
			t.Errorf("label %s counted %d packets, want %d (%v)", id, counts[id].Packets, n, counts)
		}
	}
	if counts["out"].Bytes != 3*84 {
		t.Errorf("label out counted %d bytes, want %d", counts["out"].Bytes, 3*84)
	}

	// A rule more for "out", "back" gone: "out" keeps its count.
	rs.Labels = []meter.Label{
		{ID: "out", Rules: []meter.Rule{{Destination: pfx("203.0.113.0/24")}, {Ingress: true, Source: pfx("203.0.113.0/24")}}},
		rs.Labels[2],
	}
	if wrote, err := meter.Apply(rns, rs); err != nil || !wrote {
		t.Fatalf("Apply of a changed ruleset: %v, %v", wrote, err)
	}
	ping(t, in, "2", "203.0.113.2")
	counts, err = meter.Counters(rns)
	nsrig.Must(t, err)
	if counts["out"].Packets != 3+4 {
		t.Errorf("label out counted %d packets after the change, want 7", counts["out"].Packets)
	}
	if _, ok := counts["back"]; ok {
		t.Errorf("a removed label keeps its counter: %v", counts)
	}
	nsrig.Must(t, meter.Remove(rns))
	if counts, err := meter.Counters(rns); err != nil || len(counts) != 0 {
		t.Errorf("after Remove: %v, %v", counts, err)
	}
	nsrig.Must(t, meter.Remove(rns))
}
