package l2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	vnetns "github.com/vishvananda/netns"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/dataplane/firewall"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/qos"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// The Linux bridge agent part: registered as "l2", it runs the
// Reconciler on this host from the server's get_snapshot.
func init() {
	agent.Register("l2", func(env agent.Env) (agent.Part, error) {
		h, ns, err := env.OpenHost()
		if err != nil {
			return nil, err
		}
		return NewPart(env, h, ns)
	})
}

// Part is the Linux bridge agent (Neutron's neutron-linuxbridge-agent) as
// a part of `neutrino agent`. Its loop is level-triggered: every trigger
// (start, a port/network/FDB notification, a tap appearing, the polling
// interval) makes it fetch the host's snapshot, converge the kernel to it
// and report the ports whose state changed with update_device_up/down.
// Bursts of triggers coalesce into one pass.
type Part struct {
	host string
	opts Options
	h    *link.Host
	ns   vnetns.NsHandle
	log  *slog.Logger
	rec  *Reconciler
	// fw filters the ports; nil when they are not filtered.
	fw *firewall.Firewall
	// qos enforces the ports' QoS rules; nil without [agent]
	// extensions = qos.
	qos *qos.Enforcer

	*agent.Kicker

	mu       sync.Mutex
	devices  int
	reported map[string]bool // port id → reported up (true) to the server
	known    map[string]bool // port ids of the last snapshot
	seeded   bool            // FDB adopted from the kernel after a start
	// sgGroups are the security groups of this host's ports and the
	// remote groups their rules name, as of the last pass.
	sgGroups map[string]bool
	// sgDirty: a notification may have changed the ports' security
	// group information since it was last fetched (sgDevices, at sgAt).
	sgDirty bool
	// sgFetching: a fetch is under way, whose reply may name groups that
	// sgGroups lacks.
	sgFetching bool
	sgDevices  string
	sgAt       time.Time
	// journal holds the FDB notifications that arrive while a snapshot is
	// fetched, to apply again over the snapshot's (possibly older) table.
	journal    []fdbDelta
	journaling bool
}

var (
	_ agent.Part    = (*Part)(nil)
	_ agent.Reviver = (*Part)(nil)
)

// NewPart builds the part for env on the namespace reachable through h
// (ns is that namespace, for watching taps: vnetns.None() for the
// caller's own). Tests use it to run one agent per simulated host.
func NewPart(env agent.Env, h *link.Host, ns vnetns.NsHandle) (*Part, error) {
	opts, err := OptionsFrom(env.Config)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := Config{
		PhysicalInterfaceMappings: opts.PhysicalInterfaceMappings,
		EnableVXLAN:               opts.EnableVXLAN, LocalIP: opts.LocalIP, L2Population: opts.L2Population,
		ARPResponder: opts.ARPResponder, TTL: opts.TTL, TOS: opts.TOS, UDPPort: opts.UDPPort,
	}
	if !opts.L2Population {
		cfg.VXLANGroup = opts.VXLANGroup
	}
	p := &Part{host: env.Host, opts: opts, h: h, ns: ns, log: log.With("part", "l2", "host", env.Host),
		Kicker: agent.NewKicker(), reported: map[string]bool{}, known: map[string]bool{}}
	p.rec = New(h, cfg, p.log)
	if err := p.initFirewall(); err != nil {
		return nil, err
	}
	if err := p.initQoS(); err != nil {
		return nil, err
	}
	return p, nil
}

// AgentType implements agent.Part.
func (*Part) AgentType() string { return rpcapi.AgentTypeLinuxBridge }

// Binary implements agent.Part.
func (*Part) Binary() string { return "neutron-linuxbridge-agent" }

// Topic implements agent.Part.
func (*Part) Topic() string { return "N/A" }

// Configurations implements agent.Part with the keys ML2's linuxbridge
// driver binds ports by.
func (p *Part) Configurations() map[string]any {
	p.mu.Lock()
	n := p.devices
	p.mu.Unlock()
	tunnels := []string{}
	if p.opts.EnableVXLAN {
		tunnels = append(tunnels, TypeVXLAN)
	}
	im := map[string]any{}
	for k, v := range p.opts.PhysicalInterfaceMappings {
		im[k] = v
	}
	bm := map[string]any{}
	for k, v := range p.opts.BridgeMappings {
		bm[k] = v
	}
	return map[string]any{
		rpcapi.AgentConfigInterfaceMappings: im,
		rpcapi.AgentConfigBridgeMappings:    bm,
		rpcapi.AgentConfigTunnelTypes:       tunnels,
		rpcapi.AgentConfigTunnelingIP:       p.opts.LocalIP,
		"l2_population":                     p.opts.L2Population,
		"devices":                           n,
	}
}

// Handlers implements agent.Part: port and network notifications only
// trigger a pass; FDB notifications also update the reconciler's table.
func (p *Part) Handlers(host string) map[string]rpc.Handlers {
	trigger := func(context.Context, json.RawMessage) (any, error) { p.sgStale(); p.Trigger(); return nil, nil }
	fdb := rpc.Handlers{
		rpcapi.MethodFDBAdd:    p.fdbHandler(false),
		rpcapi.MethodFDBRemove: p.fdbHandler(true),
	}
	hs := map[string]rpc.Handlers{
		rpcapi.TopicPortUpdate:                           {"port_update": p.portUpdate},
		rpcapi.TopicQoSPolicy:                            {rpcapi.MethodResourcePush: trigger},
		rpcapi.TopicPortDelete:                           {"port_delete": p.portDelete},
		rpcapi.TopicNetworkUpdate:                        {"network_update": trigger},
		rpcapi.TopicNetworkDelete:                        {"network_delete": trigger},
		rpcapi.TopicL2Population:                         fdb,
		rpcapi.HostTopic(rpcapi.TopicL2Population, host): fdb,
	}
	if fw := p.firewallHandlers(); fw != nil {
		hs[rpcapi.TopicSecurityGroup] = fw
	}
	return hs
}

type fdbDelta struct {
	remove  bool
	entries FDBEntries
}

func (p *Part) applyFDB(d fdbDelta) {
	if d.remove {
		p.rec.FDBRemove(withAdopted(d.entries))
	} else {
		p.rec.FDBAdd(d.entries)
	}
}

// portUpdate triggers a pass for a port bound here or known from the
// last snapshot (it may have moved away): every L2 agent hears every
// port's updates, and a burst of other hosts' ports must not keep this
// one busy.
func (p *Part) portUpdate(_ context.Context, raw json.RawMessage) (any, error) {
	var args struct {
		Port struct {
			ID   string `json:"id"`
			Host string `json:"binding:host_id"`
		} `json:"port"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || args.Port.ID == "" || args.Port.Host == p.host || p.isKnown(args.Port.ID) {
		p.sgStale()
		p.Trigger()
	}
	return nil, nil
}

// portDelete triggers a pass for a port known from the last snapshot.
func (p *Part) portDelete(_ context.Context, raw json.RawMessage) (any, error) {
	var args struct {
		PortID string `json:"port_id"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || args.PortID == "" || p.isKnown(args.PortID) {
		p.sgStale()
		p.Trigger()
	}
	return nil, nil
}

func (p *Part) isKnown(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.known[id] || p.reported[id]
}

func (p *Part) fdbHandler(remove bool) func(context.Context, json.RawMessage) (any, error) {
	return func(_ context.Context, raw json.RawMessage) (any, error) {
		var args struct {
			FDBEntries FDBEntries `json:"fdb_entries"`
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, rpc.Remote("InvalidInput", "fdb entries: %v", err)
		}
		d := fdbDelta{remove: remove, entries: args.FDBEntries}
		p.mu.Lock()
		p.applyFDB(d)
		if p.journaling {
			p.journal = append(p.journal, d)
		}
		p.mu.Unlock()
		p.Trigger()
		return nil, nil
	}
}

// withAdopted adds to a removal the form an entry has when it was adopted
// from the kernel after a restart (the MAC without its IP), so that it
// goes too.
func withAdopted(e FDBEntries) FDBEntries {
	out := FDBEntries{}
	for id, n := range e {
		m := FDBNetwork{SegmentID: n.SegmentID, NetworkType: n.NetworkType, Ports: map[string][]PortInfo{}}
		for ip, infos := range n.Ports {
			all := slices.Clone(infos)
			for _, pi := range infos {
				if pi != FloodEntry {
					all = append(all, PortInfo{MAC: pi.MAC})
				}
			}
			m.Ports[ip] = all
		}
		out[id] = m
	}
	return out
}

// Revived implements agent.Reviver: the server may have missed our
// reports, so everything is reported again.
func (p *Part) Revived() {
	p.mu.Lock()
	p.reported = map[string]bool{}
	p.mu.Unlock()
	p.sgStale()
	p.Trigger()
}

// Run implements agent.Part.
func (p *Part) Run(ctx context.Context, bus *rpc.Bus) error {
	taps, err := link.Watch(ctx, p.ns, link.TapPrefix)
	if err != nil {
		p.log.Warn("not watching taps; polling only", "error", err)
	}
	interval := p.opts.PollingInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	p.Trigger()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
		case name, ok := <-taps:
			if !ok {
				taps = nil
				continue
			}
			if name == link.Resubscribed {
				p.log.Info("tap watch subscribed again after an overflow; looking at every port")
			}
		case <-tick.C:
		}
		// One pass covers every trigger so far: a VM plugging many taps, or
		// our own pass changing them, must not queue a pass per event.
		taps = drain(taps)
		select {
		case <-p.Kicked():
		default:
		}
		pctx := agent.PassContext(ctx)
		if err := p.pass(pctx, bus); err != nil && ctx.Err() == nil {
			p.log.WarnContext(pctx, "L2 pass failed", "error", err)
		}
	}
}

// drain empties c without blocking; it returns nil once c is closed.
func drain(c <-chan string) <-chan string {
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return nil
			}
		default:
			return c
		}
	}
}

// pass is one level-triggered round: snapshot, converge, report.
func (p *Part) pass(ctx context.Context, bus *rpc.Bus) error {
	start := time.Now()
	p.Begin()
	var snap rpcapi.HostSnapshot
	p.mu.Lock()
	p.journaling, p.journal = true, nil
	p.mu.Unlock()
	err := bus.Call(ctx, rpcapi.TopicPlugin, rpcapi.MethodL2HostSnapshot, rpcapi.HostArgs{Host: p.host}, &snap)
	p.mu.Lock()
	if err == nil && snap.FDB != nil {
		// The whole table, then what was announced meanwhile on top.
		p.rec.SetFDB(fdbFrom(snap.FDB))
		for _, d := range p.journal {
			p.applyFDB(d)
		}
		p.seeded = true
	}
	p.journaling, p.journal = false, nil
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("get_snapshot: %w", err)
	}
	fetched := time.Now()
	d := DesiredFrom(snap)
	p.adoptFDB(ctx, d)
	p.unplugStale(ctx, d)
	res, err := p.rec.Reconcile(ctx, d)
	reconciled := time.Now()
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		p.log.WarnContext(ctx, "L2 pass incomplete", "error", err)
	}
	// Filters are in place before a port is reported up, as in
	// Neutron's process_network_devices.
	if p.fw != nil {
		if err := p.filter(ctx, bus, d); err != nil {
			return err
		}
	}
	if p.qos != nil {
		if err := p.qos.Apply(qosPorts(snap)); err != nil {
			p.log.WarnContext(ctx, "QoS not applied to every port", "error", err)
		}
	}
	filtered := time.Now()
	up := map[string]bool{}
	for id, st := range res.Ports {
		if st.State == StateUp {
			up[id] = true
		}
	}
	known := make(map[string]bool, len(d.Ports))
	for _, port := range d.Ports {
		known[port.ID] = true
	}
	p.mu.Lock()
	p.devices = len(d.Ports)
	p.known = known
	reported := maps.Clone(p.reported)
	p.mu.Unlock()
	var toUp, toDown []string
	for id := range up {
		if !reported[id] {
			toUp = append(toUp, id)
		}
	}
	for id := range reported {
		if !up[id] {
			toDown = append(toDown, id)
		}
	}
	if len(toUp)+len(toDown) > 0 {
		if err := p.report(ctx, bus, toUp, toDown); err != nil {
			p.log.WarnContext(ctx, "update_device_list", "up", len(toUp), "down", len(toDown), "error", err)
		} else {
			for _, id := range toUp {
				reported[id] = true
			}
			for _, id := range toDown {
				delete(reported, id)
			}
		}
	}
	p.mu.Lock()
	p.reported = reported
	p.mu.Unlock()
	p.Done()
	p.log.DebugContext(ctx, "L2 pass", "ports", len(d.Ports), "up", len(up), "snapshot", fetched.Sub(start),
		"reconcile", reconciled.Sub(fetched), "filter", filtered.Sub(reconciled), "report", time.Since(filtered))
	return nil
}

// unplugStale takes the taps of ports no longer bound here (deleted,
// moved) off their network's bridge and down, before the pass, so that
// the VM behind one is cut off and an emptied bridge is collected.
func (p *Part) unplugStale(ctx context.Context, d Desired) {
	want := map[string]bool{}
	for _, port := range d.Ports {
		want[link.TapName(port.ID)] = true
	}
	taps, err := p.h.List(link.TapPrefix)
	if err != nil {
		p.log.WarnContext(ctx, "listing taps", "error", err)
		return
	}
	nl := p.h.Netlink()
	for name, l := range taps {
		if want[name] || l.Attrs().MasterIndex == 0 {
			continue
		}
		br, err := nl.LinkByIndex(l.Attrs().MasterIndex)
		if err != nil || !strings.HasPrefix(br.Attrs().Name, link.BridgePrefix) {
			continue
		}
		if err := errors.Join(nl.LinkSetNoMaster(l), nl.LinkSetDown(l)); err != nil {
			p.log.WarnContext(ctx, "unplugging stale tap", "tap", name, "error", err)
			continue
		}
		p.log.InfoContext(ctx, "unplugged the tap of a port no longer bound here", "tap", name, "bridge", br.Attrs().Name)
	}
}

// report tells the server which ports came up and went down, in one
// update_device_list call (one round trip and one commit however many
// ports a pass wired); a failed call is retried by the next pass.
func (p *Part) report(ctx context.Context, bus *rpc.Bus, up, down []string) error {
	devices := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = link.TapName(id)
		}
		return out
	}
	return bus.Call(ctx, rpcapi.TopicPlugin, rpcapi.MethodUpdateDeviceList, rpcapi.DeviceListRequest{
		DevicesUp: devices(up), DevicesDown: devices(down), AgentID: p.agentID(), Host: p.host}, nil)
}

func (p *Part) agentID() string { return "lb-" + p.host }

// fdbFrom converts the snapshot's entries to the reconciler's form.
func fdbFrom(e rpcapi.FDBEntries) FDBEntries {
	out := FDBEntries{}
	for id, n := range e {
		fn := FDBNetwork{SegmentID: n.SegmentID, NetworkType: n.NetworkType, Ports: map[string][]PortInfo{}}
		for ip, pairs := range n.Ports {
			for _, pr := range pairs {
				fn.Ports[ip] = append(fn.Ports[ip], PortInfo{MAC: pr[0], IP: pr[1]})
			}
		}
		out[id] = fn
	}
	return out
}

// adoptFDB takes over, on the first pass after a start against a server
// whose snapshots carry no FDB, the forwarding entries a previous run left
// on the VXLAN devices of the wanted networks: such a server sends a host
// its peers' entries only when the host's first port of a network goes
// up, so a restarted agent that dropped them would cut its ports off
// until then. l2population's later removals take them away again.
func (p *Part) adoptFDB(ctx context.Context, d Desired) {
	p.mu.Lock()
	seeded := p.seeded
	p.seeded = true
	p.mu.Unlock()
	if seeded || !p.opts.L2Population {
		return
	}
	adopted := FDBEntries{}
	for _, n := range d.Networks {
		if n.NetworkType != TypeVXLAN {
			continue
		}
		dev, err := p.h.Get(link.VXLANName(n.SegmentationID))
		if err != nil || dev == nil {
			continue
		}
		entries, err := p.h.FDB(dev)
		if err != nil {
			p.log.WarnContext(ctx, "reading FDB to adopt", "device", dev.Attrs().Name, "error", err)
			continue
		}
		fn := FDBNetwork{SegmentID: n.SegmentationID, NetworkType: n.NetworkType, Ports: map[string][]PortInfo{}}
		for e := range entries {
			pi := PortInfo{MAC: e.MAC}
			if e.MAC == FloodEntry.MAC {
				pi = FloodEntry
			}
			fn.Ports[e.Dst] = append(fn.Ports[e.Dst], pi)
		}
		if len(fn.Ports) > 0 {
			adopted[n.ID] = fn
		}
	}
	p.rec.FDBAdd(adopted)
}

// DesiredFrom is the data plane a host snapshot asks for: each port's
// network with its segment, and the port itself.
func DesiredFrom(s rpcapi.HostSnapshot) Desired {
	var d Desired
	seen := map[string]bool{}
	for _, det := range s.Ports {
		if !det.Found() {
			continue
		}
		if !seen[det.NetworkID] {
			seen[det.NetworkID] = true
			n := Network{ID: det.NetworkID, NetworkType: det.NetworkType, MTU: det.MTU}
			if det.SegmentationID != nil {
				n.SegmentationID = *det.SegmentationID
			}
			if det.PhysicalNetwork != nil {
				n.PhysicalNetwork = *det.PhysicalNetwork
			}
			d.Networks = append(d.Networks, n)
		}
		d.Ports = append(d.Ports, Port{ID: det.PortID, NetworkID: det.NetworkID, MAC: det.MACAddress, AdminStateUp: det.AdminStateUp})
	}
	return d
}
