package qos_test

import (
	"fmt"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/qos"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// TestApply sets limits and marks on a tap in a namespace of the test's,
// reads them back from the kernel, sees a marked packet cross the bridge,
// changes and removes them.
func TestApply(t *testing.T) {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	ns := r.NS("qos")
	h := r.Host(ns)
	br, err := h.EnsureBridge("brqqostest", 0)
	nsrig.Must(t, err)
	a := r.VM("a", h, nsrig.UUID(), "fa:16:3e:00:00:01")
	b := r.VM("b", h, nsrig.UUID(), "fa:16:3e:00:00:02")
	for i, v := range []*nsrig.VM{a, b} {
		tap, err := h.Get(link.TapName(v.Port))
		nsrig.Must(t, err)
		nsrig.Must(t, h.EnsureMaster(tap, br))
		nsrig.Must(t, h.EnsureState(tap, 0, true))
		vh := r.Host(v.NS)
		nsrig.Addr(t, vh, "eth0", fmt.Sprintf("10.77.0.%d/24", i+1))
	}
	nsrig.Must(t, h.EnsureState(br, 0, true))
	tapA := link.TapName(a.Port)
	e, err := qos.New(ns, h.Netlink())
	nsrig.Must(t, err)
	nl := h.Netlink()
	l, err := nl.LinkByName(tapA)
	nsrig.Must(t, err)

	tbfOf := func() *netlink.Tbf {
		t.Helper()
		qs, err := nl.QdiscList(l)
		nsrig.Must(t, err)
		for _, q := range qs {
			if x, ok := q.(*netlink.Tbf); ok {
				return x
			}
		}
		return nil
	}
	rules := func() int {
		t.Helper()
		c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
		nsrig.Must(t, err)
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyBridge)
		nsrig.Must(t, err)
		for _, tb := range tables {
			if tb.Name == qos.TableName {
				rs, err := c.GetRules(tb, &nftables.Chain{Name: "qos", Table: tb})
				nsrig.Must(t, err)
				return len(rs)
			}
		}
		return -1
	}

	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA, EgressKbps: 8000, IngressKbps: 4000, IngressBurstKbit: 400, DSCP: 26, HasDSCP: true},
		{Tap: "tapmissing00"}}))
	if tbf := tbfOf(); tbf == nil || tbf.Rate != 4000*1000/8 {
		t.Errorf("token bucket %+v, want 500000 bytes/s", tbf)
	}
	if n := rules(); n != 3 {
		t.Errorf("%d rules, want 3 (the policer, the IPv4 and IPv6 marks)", n)
	}
	if tos, err := nsrig.TOS(a.NS, b.NS, "10.77.0.2", 5999); err != nil || tos>>2 != 26 {
		t.Errorf("a's datagram arrives with TOS %#x (%v), want DSCP 26", tos, err)
	}
	if tos, err := nsrig.TOS(b.NS, a.NS, "10.77.0.1", 5999); err != nil || tos != 0 {
		t.Errorf("b's datagram arrives with TOS %#x (%v), want 0", tos, err)
	}
	// A second pass changes nothing and fails nothing.
	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA, EgressKbps: 8000, IngressKbps: 4000, IngressBurstKbit: 400, DSCP: 26, HasDSCP: true}}))
	// Changed, then removed.
	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA, EgressKbps: 2000}}))
	if tbf := tbfOf(); tbf != nil {
		t.Errorf("token bucket %+v after the ingress limit went", tbf)
	}
	if n := rules(); n != 1 {
		t.Errorf("%d rules after the marks went, want the policer", n)
	}
	// A fresh enforcer (an agent restart) replaces the table it finds.
	e2, err := qos.New(ns, h.Netlink())
	nsrig.Must(t, err)
	nsrig.Must(t, e2.Apply([]qos.Port{{Tap: tapA, EgressKbps: 2000, DSCP: 10, HasDSCP: true}}))
	if n := rules(); n != 3 {
		t.Errorf("%d rules after a fresh enforcer's pass, want 3", n)
	}
	nsrig.Must(t, e.Apply([]qos.Port{{Tap: tapA}}))
	if n := rules(); n != -1 {
		t.Errorf("table with %d rules after every rule went", n)
	}
	if tos, err := nsrig.TOS(a.NS, b.NS, "10.77.0.2", 5999); err != nil || tos != 0 {
		t.Errorf("a's datagram after the marks went: TOS %#x (%v)", tos, err)
	}
}
