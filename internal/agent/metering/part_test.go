package metering

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/meter"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func TestRegistered(t *testing.T) {
	if !slices.Contains(agent.Registered(), "metering") {
		t.Errorf("metering not registered: %v", agent.Registered())
	}
}

func newPart(t *testing.T, opts map[string]string) (*Part, error) {
	t.Helper()
	cfg, err := config.Options.LoadWithDefaults(opts, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewPart(agent.Env{Host: "h", Config: cfg})
}

// TestOptions: Neutron's driver names and class paths are accepted,
// anything else is refused, and the report carries Neutron's keys.
func TestOptions(t *testing.T) {
	for driver, want := range map[string]string{
		"":         DriverNoop,
		"noop":     DriverNoop,
		"iptables": DriverIptables,
		"neutron.services.metering.drivers.iptables.iptables_driver.IptablesMeteringDriver": DriverIptables,
	} {
		opts := map[string]string{}
		if driver != "" {
			opts["DEFAULT.driver"] = driver
		}
		p, err := newPart(t, opts)
		if err != nil || p.opts.Driver != want {
			t.Errorf("driver %q: %v, %v; want %s", driver, p, err, want)
		}
	}
	if _, err := newPart(t, map[string]string{"DEFAULT.driver": "ovs"}); err == nil {
		t.Error("driver ovs accepted")
	}
	p, err := newPart(t, map[string]string{"DEFAULT.measure_interval": "5", "DEFAULT.report_interval": "60"})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Configurations()
	if c["measure_interval"] != 5 || c["report_interval"] != 60 ||
		c["metering_driver"] != "neutron.services.metering.drivers.noop.noop_driver.NoopMeteringDriver" {
		t.Errorf("configurations %v", c)
	}
	if p.AgentType() != "Metering agent" || p.Binary() != "neutron-metering-agent" || p.Topic() != "metering_agent" {
		t.Errorf("agent %s %s %s", p.AgentType(), p.Binary(), p.Topic())
	}
}

// TestRulesetOf: a router's labels become the meter package's ruleset,
// prefixes read as Neutron stores them.
func TestRulesetOf(t *testing.T) {
	s := func(v string) *string { return &v }
	rs := rulesetOf(rpcapi.MeteringRouter{ID: "r", GatewayPortID: "0123456789abcdef", Labels: []rpcapi.MeteringLabel{
		{ID: "l1", Rules: []rpcapi.MeteringRule{
			{Direction: "ingress", RemoteIPPrefix: s("10.0.0.1/24")},
			{Direction: "egress", Excluded: true, SourceIPPrefix: s("192.0.2.7"), DestinationIPPrefix: s("fd00::/64")},
			{Direction: "egress", DestinationIPPrefix: s("not-an-address")},
		}},
	}})
	if rs.GatewayDevice != "qg-0123456789a" {
		t.Errorf("gateway device %q", rs.GatewayDevice)
	}
	want := []meter.Rule{
		{Ingress: true, Remote: netip.MustParsePrefix("10.0.0.0/24")},
		{Excluded: true, Source: netip.MustParsePrefix("192.0.2.7/32"), Destination: netip.MustParsePrefix("fd00::/64")},
		{},
	}
	if len(rs.Labels) != 1 || !slices.Equal(rs.Labels[0].Rules, want) {
		t.Errorf("rules %+v, want %+v", rs.Labels, want)
	}
	if rs := rulesetOf(rpcapi.MeteringRouter{ID: "r"}); rs.GatewayDevice != "" {
		t.Errorf("a router without gateway meters %q", rs.GatewayDevice)
	}
}

// TestAccount: each read adds what the counters gained since the last
// one, per label across routers; a counter made anew counts from zero;
// a report hands over the interval's usage and starts afresh while the
// totals go on.
func TestAccount(t *testing.T) {
	p, err := newPart(t, map[string]string{"DEFAULT.report_interval": "10"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	r1 := rpcapi.MeteringRouter{ID: "r1", ProjectID: "p", Labels: []rpcapi.MeteringLabel{{ID: "a"}, {ID: "b"}}}
	r2 := rpcapi.MeteringRouter{ID: "r2", ProjectID: "p", Labels: []rpcapi.MeteringLabel{{ID: "a"}}}
	p.account(r1, map[string]meter.Count{"a": {Packets: 2, Bytes: 200}, "b": {Packets: 1, Bytes: 50}})
	p.account(r2, map[string]meter.Count{"a": {Packets: 3, Bytes: 300}})
	now = now.Add(5 * time.Second)
	p.account(r1, map[string]meter.Count{"a": {Packets: 5, Bytes: 500}, "b": {Packets: 1, Bytes: 50}})
	// r2's namespace was rebuilt: its counter starts again.
	p.account(r2, map[string]meter.Count{"a": {Packets: 1, Bytes: 100}})
	tot := p.Totals()
	if a := tot["a"]; a.Packets != 2+3+3+1 || a.Bytes != 200+300+300+100 || a.Time != 5 || a.FirstUpdate != 1000 || a.LastUpdate != 1005 {
		t.Errorf("label a: %+v", a)
	}
	if b := tot["b"]; b.Packets != 1 || b.Bytes != 50 {
		t.Errorf("label b: %+v", b)
	}
	p.lastReport = time.Unix(1000, 0)
	p.maybeReport(t.Context())
	if len(p.interval) != 2 {
		t.Errorf("reported before report_interval: %v", p.interval)
	}
	now = now.Add(10 * time.Second)
	p.maybeReport(t.Context())
	if len(p.interval) != 0 || p.Totals()["a"].Packets != 9 {
		t.Errorf("after a report: interval %v, totals %v", p.interval, p.Totals())
	}
}
