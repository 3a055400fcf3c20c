package firewall_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/dataplane/firewall"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// bigHost is a host with ports ports in groups groups of rules rules
// each (two of them naming a remote group), over 10 networks.
func bigHost(ports, groups, rules int) *firewall.Host {
	h := &firewall.Host{Rules: map[string][]firewall.Rule{}, Members: map[string][]netip.Prefix{}}
	for g := 0; g < groups; g++ {
		id := fmt.Sprintf("sg-%03d", g)
		remote := fmt.Sprintf("sg-%03d", (g+1)%groups)
		rs := []firewall.Rule{
			{Direction: "ingress", Ethertype: "IPv4", RemoteGroupID: id},
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortRangeMin: ptr(443), PortRangeMax: ptr(443), RemoteGroupID: remote},
			{Direction: "egress", Ethertype: "IPv4"},
			{Direction: "egress", Ethertype: "IPv6"},
		}
		for r := len(rs); r < rules; r++ {
			rs = append(rs, firewall.Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp",
				PortRangeMin: ptr(1000 + r), PortRangeMax: ptr(1000 + r), SourceIPPrefix: fmt.Sprintf("192.0.2.%d/32", r)})
		}
		h.Rules[id] = rs
	}
	for i := 0; i < ports; i++ {
		g := fmt.Sprintf("sg-%03d", i%groups)
		ip := netip.AddrFrom4([4]byte{10, byte(i / 250), byte(i % 250), 10})
		mac := net.HardwareAddr{0xfa, 0x16, 0x3e, 0, byte(i >> 8), byte(i)}
		h.Ports = append(h.Ports, firewall.Port{ID: fmt.Sprintf("port-%04d", i), Device: fmt.Sprintf("tapport-%04d", i),
			Bridge: fmt.Sprintf("brqnet-%02d", i%10), MAC: mac, FixedIPs: []netip.Addr{ip}, PortSecurity: true,
			SecurityGroups: []string{g}})
		h.Members[g] = append(h.Members[g], netip.PrefixFrom(ip, 32))
	}
	return h
}

func numbering(h *firewall.Host) firewall.Assignment {
	a := firewall.Assignment{Marks: map[string]uint16{}, Zones: map[string]uint16{}}
	for i, p := range h.Ports {
		a.Marks[p.Device] = uint16(i + 1)
		if _, ok := a.Zones[p.Bridge]; !ok {
			a.Zones[p.Bridge] = uint16(len(a.Zones) + 1)
		}
	}
	return a
}

// BenchmarkRender1000x10 renders 1,000 ports in 50 groups of 10 rules.
func BenchmarkRender1000x10(b *testing.B) {
	h := bigHost(1000, 50, 10)
	a := numbering(h)
	for b.Loop() {
		_ = firewall.Render(h, a).String()
	}
}

// BenchmarkApply1000x10 applies 1,000 ports in 50 groups of 10 rules in a
// namespace of its own: a full pass (both tables written), a pass with
// nothing to change, a rule added to a group of 20 ports, and a
// membership change (one address joins a group that 20 ports' rules
// name). It reports the objects each writes.
func BenchmarkApply1000x10(b *testing.B) {
	nsrig.RequireDataplane(b)
	rig := nsrig.New(b)
	ns := rig.NS("fwbench")
	host := rig.Host(ns)
	h := bigHost(1000, 50, 10)
	ctx := context.Background()
	b.Run("full", func(b *testing.B) {
		objects := 0
		for b.Loop() {
			fw, err := firewall.New(ns, host.Netlink(), nil)
			nsrig.Must(b, err)
			st, err := fw.Apply(ctx, h)
			nsrig.Must(b, err)
			objects = st.Objects
		}
		b.ReportMetric(float64(objects), "objects")
	})
	fw, err := firewall.New(ns, host.Netlink(), nil)
	nsrig.Must(b, err)
	_, err = fw.Apply(ctx, h)
	nsrig.Must(b, err)
	b.Run("unchanged", func(b *testing.B) {
		objects := 0
		for b.Loop() {
			st, err := fw.Apply(ctx, h)
			nsrig.Must(b, err)
			objects = st.Objects
		}
		b.ReportMetric(float64(objects), "objects")
	})
	b.Run("rule", func(b *testing.B) {
		// A rule added to and removed from one group (20 ports).
		more := *h
		more.Rules = map[string][]firewall.Rule{}
		for g, r := range h.Rules {
			more.Rules[g] = r
		}
		more.Rules["sg-007"] = append(append([]firewall.Rule{}, h.Rules["sg-007"]...), firewall.Rule{Direction: "ingress",
			Ethertype: "IPv4", Protocol: "udp", PortRangeMin: ptr(53), PortRangeMax: ptr(53)})
		objects, flip := 0, false
		for b.Loop() {
			next := h
			if flip = !flip; flip {
				next = &more
			}
			st, err := fw.Apply(ctx, next)
			nsrig.Must(b, err)
			objects = st.Objects
		}
		b.ReportMetric(float64(objects), "objects")
	})
	b.Run("membership", func(b *testing.B) {
		joined := *h
		joined.Members = map[string][]netip.Prefix{}
		for g, m := range h.Members {
			joined.Members[g] = m
		}
		joined.Members["sg-001"] = append(append([]netip.Prefix{}, h.Members["sg-001"]...), netip.MustParsePrefix("10.200.0.1/32"))
		objects, replaced := 0, false
		flip := false
		for b.Loop() {
			next := h
			if flip = !flip; flip {
				next = &joined
			}
			st, err := fw.Apply(ctx, next)
			nsrig.Must(b, err)
			objects, replaced = st.Objects, st.Replaced
		}
		if replaced {
			b.Error("a membership change replaced the tables")
		}
		b.ReportMetric(float64(objects), "objects")
	})
}

// BenchmarkFirstApply is a fresh firewall's first pass over a host of
// one port (a host's first port, or an agent's start): "absent" on a
// namespace without the tables, which are only created, "present" over
// tables a previous run left, which are replaced in one transaction (and
// so wait for the kernel's RCU grace period, as any deletion does).
func BenchmarkFirstApply(b *testing.B) {
	nsrig.RequireDataplane(b)
	rig := nsrig.New(b)
	ns := rig.NS("fwfirst")
	nl := rig.Host(ns).Netlink()
	h := bigHost(1, 1, 4)
	ctx := context.Background()
	for _, absent := range []bool{true, false} {
		name := map[bool]string{true: "absent", false: "present"}[absent]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				fw, err := firewall.New(ns, nl, nil)
				nsrig.Must(b, err)
				if absent {
					b.StopTimer()
					nsrig.Must(b, fw.Remove())
					b.StartTimer()
				}
				_, err = fw.Apply(ctx, h)
				nsrig.Must(b, err)
			}
		})
	}
}
