package dhcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// The DHCP agent part: registered as "dhcp", it runs the Reconciler on
// this host for the networks the server scheduled to it.
func init() {
	agent.Register("dhcp", func(env agent.Env) (agent.Part, error) {
		h, _, err := env.OpenHost()
		if err != nil {
			return nil, err
		}
		p := NewPart(env, h)
		if err := p.rec.Prepare(context.Background()); err != nil {
			h.Close()
			return nil, err
		}
		return p, nil
	})
}

// Events are the DHCP agent's notifications (Neutron's
// <resource>_<action>_end); each only makes the next pass come now.
var Events = []string{
	"network_create_end", "network_update_end", "network_delete_end",
	"subnet_create_end", "subnet_update_end", "subnet_delete_end",
	"port_create_end", "port_update_end", "port_delete_end",
}

// Part is the DHCP agent (Neutron's neutron-dhcp-agent with dnsmasq) as a
// part of `neutrino agent`. A pass fetches the networks scheduled to this
// host (get_active_networks_info), makes sure each has this agent's DHCP
// port (create_dhcp_port), converges namespaces, veths and dnsmasq, and
// reports the ports whose leases are now served (dhcp_ready_on_ports).
// Passes run on every notification (bursts coalesce), on start, after a
// revival, and every resync_interval, which also restarts a dnsmasq that
// died. dnsmasq keeps running when the agent stops, so leases keep being
// served across an agent restart; Teardown removes everything.
type Part struct {
	host string
	opts Options
	log  *slog.Logger
	rec  *Reconciler
	*agent.Kicker

	mu     sync.Mutex
	counts [3]int         // networks, subnets, ports served
	ready  map[string]int // port id → revision reported ready
	last   []Network      // the last pass's networks, to supervise without the server
	// passPanics counts passes that panicked outside any one network's
	// reconcile (fetching, reporting), recovered by Run.
	passPanics int
}

var (
	_ agent.Part    = (*Part)(nil)
	_ agent.Reviver = (*Part)(nil)
)

// NewPart builds the part for env; bridges live in the namespace of h
// (tests run one agent per simulated host).
func NewPart(env agent.Env, h *link.Host) *Part {
	opts := OptionsFrom(env.Config)
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("part", "dhcp", "host", env.Host)
	cfg := DefaultConfig(opts.StateDir)
	cfg.LeaseDuration, cfg.DNSDomain, cfg.LeaseMax = opts.LeaseDuration, opts.DNSDomain, opts.LeaseMax
	cfg.EnableIsolatedMetadata, cfg.ForceMetadata, cfg.LogDir = opts.EnableIsolatedMetadata, opts.ForceMetadata, opts.LogDir
	return &Part{host: env.Host, opts: opts, log: log, rec: New(h, cfg, log), Kicker: agent.NewKicker(),
		ready: map[string]int{}}
}

// AgentType implements agent.Part.
func (*Part) AgentType() string { return rpcapi.AgentTypeDHCP }

// Binary implements agent.Part.
func (*Part) Binary() string { return "neutron-dhcp-agent" }

// Topic implements agent.Part.
func (*Part) Topic() string { return rpcapi.TopicDHCPAgent }

// Configurations implements agent.Part.
func (p *Part) Configurations() map[string]any {
	p.mu.Lock()
	c, passPanics := p.counts, p.passPanics
	p.mu.Unlock()
	h := p.rec.Health()
	return map[string]any{
		"networks": c[0], "subnets": c[1], "ports": c[2],
		"dhcp_driver": p.opts.Driver, "dhcp_lease_duration": p.opts.LeaseDuration,
		"log_agent_heartbeats": false,
		// Neutrino: what went wrong without stopping the part (see Health).
		"inconsistent_objects": h.Skipped, "reconcile_panics": h.Panics + passPanics,
		"dnsmasq_errors": h.DnsmasqErrors, "dnsmasq_no_address": h.NoAddress,
	}
}

// Handlers implements agent.Part: the nine events on the host's topic and
// on the fanout the server uses while no agent hosts a network.
func (p *Part) Handlers(host string) map[string]rpc.Handlers {
	hs := rpc.Handlers{}
	for _, ev := range Events {
		hs[ev] = func(context.Context, json.RawMessage) (any, error) { p.Trigger(); return nil, nil }
	}
	return map[string]rpc.Handlers{
		rpcapi.HostTopic(rpcapi.TopicDHCPAgent, host): hs,
		rpcapi.TopicDHCPAgent:                         hs,
	}
}

// Revived implements agent.Reviver: report every port ready again.
func (p *Part) Revived() {
	p.mu.Lock()
	p.ready = map[string]int{}
	p.mu.Unlock()
	p.Trigger()
}

// Teardown stops every dnsmasq and removes every namespace and veth of
// this agent.
func (p *Part) Teardown(ctx context.Context) error { return p.rec.Teardown(ctx) }

// Run implements agent.Part.
func (p *Part) Run(ctx context.Context, bus *rpc.Bus) error {
	interval := p.opts.ResyncInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	p.Trigger()
	for {
		periodic := false
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kicked():
		case <-tick.C:
			periodic = true
		}
		ctx := agent.PassContext(ctx) // this pass's request id, in its calls and log lines
		if err := p.safePass(ctx, bus); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "DHCP pass failed", "error", err)
			if periodic {
				p.supervise(ctx)
			}
		}
	}
}

// safePass is a pass whose panic is recovered and reported instead of
// stopping the part: the next pass starts from a fresh snapshot.
func (p *Part) safePass(ctx context.Context, bus *rpc.Bus) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.mu.Lock()
			p.passPanics++
			p.mu.Unlock()
			p.log.ErrorContext(ctx, "DHCP pass panicked; the next pass resyncs", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("DHCP pass panicked: %v", v)
		}
	}()
	return p.pass(ctx, bus)
}

// supervise re-applies the last pass without the server, so a dnsmasq
// that died comes back even while the server is unreachable.
func (p *Part) supervise(ctx context.Context) {
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if last == nil {
		return
	}
	if err := p.rec.Reconcile(ctx, last).Err(); err != nil && ctx.Err() == nil {
		p.log.Warn("DHCP supervision pass", "error", err)
	}
}

func (p *Part) pass(ctx context.Context, bus *rpc.Bus) error {
	start := time.Now()
	p.Begin()
	var nets []rpcapi.DHCPNetwork
	if err := bus.Call(ctx, rpcapi.TopicDHCPPlugin, rpcapi.MethodGetActiveNetworksInfo, rpcapi.HostArgs{Host: p.host}, &nets); err != nil {
		return fmt.Errorf("get_active_networks_info: %w", err)
	}
	var want []Network
	var errs []error
	counts := [3]int{}
	for _, rn := range nets {
		n := ToNetwork(rn)
		if !rn.AdminStateUp || !slices.ContainsFunc(n.Subnets, func(s Subnet) bool { return s.EnableDHCP }) {
			continue
		}
		dp, err := p.ensurePort(ctx, bus, rn, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", rn.ID, err))
			continue
		}
		n.DHCPPort = dp
		want = append(want, n)
		counts[0]++
		counts[1] += len(n.Subnets)
		counts[2] += len(n.Ports)
	}
	fetched := time.Now()
	res := p.rec.Reconcile(ctx, want)
	reconciled := time.Now()
	p.mu.Lock()
	p.last, p.counts = want, counts
	p.mu.Unlock()

	// Ports whose host entries dnsmasq now serves: their DHCP provisioning
	// block can go.
	var readyIDs []string
	revs := map[string]int{}
	p.mu.Lock()
	for _, rn := range nets {
		st, ok := res.Networks[rn.ID]
		if !ok || st.Err != nil {
			continue
		}
		unserved := st.Unserved()
		for _, port := range rn.Ports {
			id, _ := port["id"].(string)
			owner, _ := port["device_owner"].(string)
			if id == "" || owner == rpcapi.DeviceOwnerDHCP || unserved[id] {
				continue
			}
			rev := intOf(port["revision_number"])
			if r, ok := p.ready[id]; ok && r == rev {
				continue
			}
			readyIDs = append(readyIDs, id)
			revs[id] = rev
		}
	}
	p.mu.Unlock()
	if len(readyIDs) > 0 {
		slices.Sort(readyIDs)
		if err := bus.Call(ctx, rpcapi.TopicDHCPPlugin, rpcapi.MethodDHCPReadyOnPorts, rpcapi.DHCPReadyArgs{PortIDs: readyIDs}, nil); err != nil {
			errs = append(errs, fmt.Errorf("dhcp_ready_on_ports: %w", err))
		} else {
			p.mu.Lock()
			for id, r := range revs {
				p.ready[id] = r
			}
			p.mu.Unlock()
		}
	}
	errs = append(errs, p.release(ctx, bus, res)...)
	p.Done()
	p.log.DebugContext(ctx, "DHCP pass", "networks", len(want), "ready", len(readyIDs), "fetch", fetched.Sub(start),
		"reconcile", reconciled.Sub(fetched), "report", time.Since(reconciled))
	for id, st := range res.Networks {
		if st.Err != nil {
			errs = append(errs, st.Err)
		} else if st.Action != ActionNone && st.Action != "" {
			p.log.DebugContext(ctx, "DHCP network", "network", id, "action", st.Action)
		}
	}
	return errors.Join(errs...)
}

// release gives back the DHCP ports of the networks this pass stopped
// serving (release_dhcp_port), as Neutron's agent does when it disables
// DHCP for a network: their addresses return to the subnets. A network
// deleted or moved to another agent has no port left under this agent's
// device id, and the call changes nothing.
func (p *Part) release(ctx context.Context, bus *rpc.Bus, res Result) []error {
	var errs []error
	for id, st := range res.Networks {
		if st.Action != ActionRemoved || st.Err != nil {
			continue
		}
		args := rpcapi.ReleaseDHCPPortArgs{Host: p.host, NetworkID: id, DeviceID: rpcapi.DHCPDeviceID(id, p.host)}
		if err := bus.Call(ctx, rpcapi.TopicDHCPPlugin, rpcapi.MethodReleaseDHCPPort, args, nil); err != nil {
			errs = append(errs, fmt.Errorf("release_dhcp_port %s: %w", id, err))
		}
	}
	return errs
}

// ensurePort returns this agent's DHCP port on the network, as Neutron's
// agent sets it up: its own port (device_id from DHCPDeviceID), given an
// address on any DHCP subnet it lacks; else a port reserved for DHCP
// (left by an agent the network moved away from), taken over; else a new
// port with an address on each DHCP-enabled subnet.
func (p *Part) ensurePort(ctx context.Context, bus *rpc.Bus, rn rpcapi.DHCPNetwork, n Network) (Port, error) {
	devID := rpcapi.DHCPDeviceID(rn.ID, p.host)
	var dhcpSubnets []string
	for _, s := range n.Subnets {
		if s.EnableDHCP {
			dhcpSubnets = append(dhcpSubnets, s.ID)
		}
	}
	reserved := -1
	for i, port := range rn.Ports {
		if strOf(port["device_owner"]) != rpcapi.DeviceOwnerDHCP {
			continue
		}
		switch strOf(port["device_id"]) {
		case devID:
			return p.addMissingSubnets(ctx, bus, rn.ID, n.Ports[i], dhcpSubnets)
		case rpcapi.DeviceIDReservedDHCPPort:
			if reserved < 0 {
				reserved = i
			}
		}
	}
	if reserved >= 0 {
		port, err := p.updatePort(ctx, bus, rn.ID, n.Ports[reserved].ID, map[string]any{"device_id": devID})
		if err != nil {
			return Port{}, err
		}
		if port.ID != "" {
			return p.addMissingSubnets(ctx, bus, rn.ID, port, dhcpSubnets)
		}
		// Taken by another agent meanwhile: make our own.
	}
	ips := make([]map[string]any, 0, len(dhcpSubnets))
	for _, id := range dhcpSubnets {
		ips = append(ips, map[string]any{"subnet_id": id})
	}
	args := rpcapi.CreateDHCPPortArgs{Host: p.host, Port: map[string]map[string]any{"port": {
		"network_id": rn.ID, "device_id": devID, "device_owner": rpcapi.DeviceOwnerDHCP,
		"binding:host_id": p.host, "fixed_ips": ips, "admin_state_up": true, "name": "",
	}}}
	if rn.ProjectID != "" {
		args.Port["port"]["project_id"] = rn.ProjectID
	}
	var created map[string]any
	if err := bus.Call(ctx, rpcapi.TopicDHCPPlugin, rpcapi.MethodCreateDHCPPort, args, &created); err != nil {
		return Port{}, fmt.Errorf("create_dhcp_port: %w", err)
	}
	if created == nil {
		return Port{}, errors.New("create_dhcp_port: the server created no port")
	}
	p.log.InfoContext(ctx, "created DHCP port", "network", rn.ID, "port", created["id"])
	return toPort(created), nil
}

// addMissingSubnets gives the DHCP port an address on each DHCP subnet it
// has none on (a subnet added to the network).
func (p *Part) addMissingSubnets(ctx context.Context, bus *rpc.Bus, netID string, port Port, dhcpSubnets []string) (Port, error) {
	have := map[string]bool{}
	ips := make([]map[string]any, 0, len(port.FixedIPs)+1)
	for _, ip := range port.FixedIPs {
		have[ip.SubnetID] = true
		ips = append(ips, map[string]any{"subnet_id": ip.SubnetID, "ip_address": ip.IPAddress})
	}
	missing := false
	for _, id := range dhcpSubnets {
		if !have[id] {
			missing = true
			ips = append(ips, map[string]any{"subnet_id": id})
		}
	}
	if !missing {
		return port, nil
	}
	updated, err := p.updatePort(ctx, bus, netID, port.ID, map[string]any{"fixed_ips": ips})
	if err != nil || updated.ID == "" {
		return port, err
	}
	return updated, nil
}

// updatePort calls update_dhcp_port; a zero Port means the server found
// the port not ours to change (or gone).
func (p *Part) updatePort(ctx context.Context, bus *rpc.Bus, netID, portID string, attrs map[string]any) (Port, error) {
	attrs["network_id"] = netID
	args := rpcapi.UpdateDHCPPortArgs{Host: p.host, PortID: portID, Port: map[string]map[string]any{"port": attrs}}
	var updated map[string]any
	if err := bus.Call(ctx, rpcapi.TopicDHCPPlugin, rpcapi.MethodUpdateDHCPPort, args, &updated); err != nil {
		return Port{}, fmt.Errorf("update_dhcp_port %s: %w", portID, err)
	}
	if updated == nil {
		return Port{}, nil
	}
	return toPort(updated), nil
}

// ToNetwork is a network of get_active_networks_info as the reconciler
// takes it (without its DHCP port).
func ToNetwork(rn rpcapi.DHCPNetwork) Network {
	n := Network{ID: rn.ID, MTU: rn.MTU}
	for _, s := range rn.Subnets {
		sub := Subnet{ID: strOf(s["id"]), CIDR: strOf(s["cidr"]), IPVersion: intOf(s["ip_version"]),
			GatewayIP: strOf(s["gateway_ip"]), IPv6AddressMode: strOf(s["ipv6_address_mode"]),
			IPv6RAMode: strOf(s["ipv6_ra_mode"])}
		sub.EnableDHCP, _ = s["enable_dhcp"].(bool)
		for _, d := range listOf(s["dns_nameservers"]) {
			sub.DNSNameservers = append(sub.DNSNameservers, strOf(d))
		}
		for _, r := range listOf(s["host_routes"]) {
			m, _ := r.(map[string]any)
			sub.HostRoutes = append(sub.HostRoutes, HostRoute{Destination: strOf(m["destination"]), Nexthop: strOf(m["nexthop"])})
		}
		n.Subnets = append(n.Subnets, sub)
	}
	for _, port := range rn.Ports {
		n.Ports = append(n.Ports, toPort(port))
	}
	return n
}

func toPort(m map[string]any) Port {
	p := Port{ID: strOf(m["id"]), MAC: strOf(m["mac_address"]), DeviceOwner: strOf(m["device_owner"])}
	for _, ip := range listOf(m["fixed_ips"]) {
		f, _ := ip.(map[string]any)
		p.FixedIPs = append(p.FixedIPs, FixedIP{SubnetID: strOf(f["subnet_id"]), IPAddress: strOf(f["ip_address"])})
	}
	for _, o := range listOf(m["extra_dhcp_opts"]) {
		f, _ := o.(map[string]any)
		p.ExtraDHCPOpts = append(p.ExtraDHCPOpts, ExtraDHCPOpt{OptName: strOf(f["opt_name"]), OptValue: strOf(f["opt_value"]), IPVersion: intOf(f["ip_version"])})
	}
	for _, d := range listOf(m["dns_assignment"]) {
		f, _ := d.(map[string]any)
		p.DNSAssignment = append(p.DNSAssignment, DNSAssignment{IPAddress: strOf(f["ip_address"]), Hostname: strOf(f["hostname"]), FQDN: strOf(f["fqdn"])})
	}
	return p
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

func intOf(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}
