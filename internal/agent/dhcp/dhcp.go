// Package dhcp is the DHCP agent's data-plane reconciler (the job of
// Neutron's neutron-dhcp-agent with the Dnsmasq driver): for each network
// it serves, a namespace qdhcp-<network-id> holding ns-<port-id[:11]>, the
// namespace end of a veth whose other end tap<port-id[:11]> sits on the
// network's bridge brq<network-id[:11]>, the DHCP port's addresses on it,
// and one dnsmasq with static leases only. Changes rewrite dnsmasq's files
// and send SIGHUP; a dnsmasq that died is restarted on the next pass; a
// network no longer served loses its dnsmasq, namespace and veth. Each
// pass first checks every network's snapshot: an object that contradicts
// the rest (see Skipped) is left out and reported, and a panic in one
// network's pass is recovered; neither stops the other networks (Health
// counts both). dnsmasq logs to a file the reconciler reads after each
// pass, turning its warnings into the agent's.
//
// Options it reads (Neutron's dhcp_lease_duration, dns_domain,
// dnsmasq_lease_max, enable_isolated_metadata, force_metadata,
// dnsmasq_base_log_dir, dhcp_confs) come in Config.
//
// Wiring it to the agent RPC (Neutron's names): each network of
// get_active_networks_info / get_network_info scheduled to this agent is a
// Network (its subnets, its ports with fixed_ips, device_owner and
// extra_dhcp_opts, and the agent's own port from create_dhcp_port /
// update_dhcp_port as DHCPPort). Reconcile takes the whole set each time;
// port and subnet notifications only make the next pass come sooner.
// Supervise respawns a dnsmasq that died between passes. The DHCP port must
// also be given to the L2 agent as a port of this host, as in Neutron, so
// that the L2 side keeps the bridge and wires the uplink.
package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/dnsmasq"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// Desired-state types shared with the dnsmasq renderer.
type (
	// Subnet is a subnet of a served network.
	Subnet = dnsmasq.Subnet
	// HostRoute is a subnet's host_routes entry.
	HostRoute = dnsmasq.HostRoute
	// Port is a port of a served network.
	Port = dnsmasq.Port
	// FixedIP is one of a port's fixed_ips.
	FixedIP = dnsmasq.FixedIP
	// ExtraDHCPOpt is one of a port's extra_dhcp_opts.
	ExtraDHCPOpt = dnsmasq.ExtraDHCPOpt
	// DNSAssignment is one entry of a port's dns_assignment.
	DNSAssignment = dnsmasq.DNSAssignment
)

// Network is a network this agent serves DHCP for.
type Network struct {
	ID      string
	MTU     int
	Subnets []Subnet
	// Ports are the network's ports (the DHCP port may be among them).
	Ports []Port
	// DHCPPort is this agent's port on the network (device_owner
	// network:dhcp): its MAC and fixed IPs go on ns-<id[:11]>.
	DHCPPort Port
}

// Config is the DHCP agent configuration.
type Config struct {
	LeaseDuration          int    // dhcp_lease_duration, default 86400; -1 infinite
	DNSDomain              string // dns_domain, default openstacklocal
	LeaseMax               int    // dnsmasq_lease_max, default 2^24
	EnableIsolatedMetadata bool   // enable_isolated_metadata
	ForceMetadata          bool   // force_metadata
	DnsmasqBinary          string // default "dnsmasq" from PATH
	// DHCPReleaseBinary is dnsmasq-utils' dhcp_release (default from
	// PATH); without it leases of deleted ports linger until they expire.
	DHCPReleaseBinary string
	StateDir          string // dhcp_confs: <state>/<network-id>/{pid,host,…}
	LogDir            string // dnsmasq_base_log_dir
}

// DefaultConfig returns Neutron's defaults with stateDir as dhcp_confs.
func DefaultConfig(stateDir string) Config {
	d := dnsmasq.DefaultConfig()
	return Config{LeaseDuration: d.LeaseDuration, DNSDomain: d.DNSDomain, LeaseMax: d.LeaseMax,
		DnsmasqBinary: "dnsmasq", DHCPReleaseBinary: "dhcp_release", StateDir: stateDir}
}

// Action is what a pass did to a network's dnsmasq.
type Action string

// Actions.
const (
	ActionStarted   Action = "started"
	ActionRestarted Action = "restarted" // argv changed or the process had died
	ActionReloaded  Action = "reloaded"  // files rewritten, SIGHUP sent
	ActionNone      Action = "unchanged"
	ActionDisabled  Action = "disabled" // no subnet with DHCP: nothing runs
	ActionRemoved   Action = "removed"
)

// NetworkStatus is one network's outcome of a pass.
type NetworkStatus struct {
	Action Action
	PID    int
	Err    error
	// Skipped are the objects of the network's snapshot left out of the
	// pass (see Skipped); the rest was served.
	Skipped []Skipped
	// Panicked is set when the network's pass panicked: the panic was
	// recovered, the other networks were served, and the next pass
	// converges this one again from a fresh snapshot.
	Panicked bool
}

// Unserved returns the ports of the network whose addresses the pass did
// not all serve (a fixed IP or the port itself skipped): they are not
// ready.
func (s NetworkStatus) Unserved() map[string]bool {
	out := map[string]bool{}
	for _, k := range s.Skipped {
		if k.Kind == "port" || k.Kind == "fixed_ip" {
			out[k.ID] = true
		}
	}
	return out
}

// Health counts what went wrong in the reconciler without stopping it;
// the DHCP agent reports it in its configurations.
type Health struct {
	// Skipped is how many objects the last pass left out as inconsistent.
	Skipped int
	// Panics is how many network passes panicked (and were recovered)
	// since start.
	Panics int
	// DnsmasqErrors is how many warnings and errors dnsmasq logged since
	// start (an unreadable hosts file, a failed reload...).
	DnsmasqErrors int
	// NoAddress is how many times dnsmasq answered a known port's DHCP
	// request with "no address available" since start: the port's host
	// entry was missing or unreadable.
	NoAddress int
}

// Result reports a pass per network id.
type Result struct {
	Networks map[string]NetworkStatus
}

// Err joins the per-network errors.
func (r Result) Err() error {
	var errs []error
	for _, s := range r.Networks {
		errs = append(errs, s.Err)
	}
	return errors.Join(errs...)
}

// Reconciler converges the DHCP data plane of one host. Safe for
// concurrent use; passes are serialised.
type Reconciler struct {
	host *link.Host
	cfg  Config
	log  *slog.Logger

	mu   sync.Mutex
	last []Network

	// hmu guards health and logged apart from mu, so that reading the
	// health never waits for a pass.
	hmu    sync.Mutex
	health Health
	// logged are the skipped objects already logged: each is logged when
	// first seen, not on every pass.
	logged map[string]bool
	// logs follow each network's dnsmasq log file.
	logs map[string]*dnsmasq.LogReader

	// testHook, when set, runs at the start of each network's pass (tests
	// make it panic).
	testHook func(Network)
}

// Health returns the reconciler's counters.
func (r *Reconciler) Health() Health {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	return r.health
}

// New returns a reconciler whose bridges live in the namespace of h.
func New(h *link.Host, cfg Config, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.Default()
	}
	if cfg.DnsmasqBinary == "" {
		cfg.DnsmasqBinary = "dnsmasq"
	}
	if cfg.DHCPReleaseBinary == "" {
		cfg.DHCPReleaseBinary = "dhcp_release"
	}
	return &Reconciler{host: h, cfg: cfg, log: log.With("component", "dhcp"), logged: map[string]bool{},
		logs: map[string]*dnsmasq.LogReader{}}
}

func (r *Reconciler) renderConfig() dnsmasq.Config {
	return dnsmasq.Config{LeaseDuration: r.cfg.LeaseDuration, DNSDomain: r.cfg.DNSDomain, LeaseMax: r.cfg.LeaseMax,
		EnableIsolatedMetadata: r.cfg.EnableIsolatedMetadata, ForceMetadata: r.cfg.ForceMetadata, LogDir: r.cfg.LogDir}
}

func (r *Reconciler) process(id string) *dnsmasq.Process {
	return &dnsmasq.Process{Binary: r.cfg.DnsmasqBinary, Paths: dnsmasq.PathsFor(r.cfg.StateDir, id), NetworkID: id}
}

// Reconcile performs one full pass: every network in want is served, every
// network this agent served before (found in its state directory) and not
// in want is torn down.
func (r *Reconciler) Reconcile(ctx context.Context, want []Network) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = slices.Clone(want)
	res := Result{Networks: map[string]NetworkStatus{}}
	wanted := map[string]bool{}
	var skipped []Skipped
	for _, n := range want {
		checked, skip, ok := checkNetwork(n)
		skipped = append(skipped, skip...)
		if !ok {
			res.Networks[n.ID] = NetworkStatus{Skipped: skip,
				Err: fmt.Errorf("dhcp network %q: skipped: %s", n.ID, skip[0].Reason)}
			continue
		}
		wanted[n.ID] = true
		if ctx.Err() != nil {
			res.Networks[n.ID] = NetworkStatus{Err: ctx.Err()}
			continue
		}
		st := r.guard(n.ID, func() NetworkStatus {
			if r.testHook != nil {
				r.testHook(checked)
			}
			return r.ensure(ctx, checked)
		})
		if st.Err != nil {
			st.Err = fmt.Errorf("dhcp network %s: %w", n.ID, st.Err)
		}
		st.Skipped = skip
		res.Networks[n.ID] = st
	}
	for _, id := range r.served() {
		if wanted[id] {
			continue
		}
		st := r.guard(id, func() NetworkStatus {
			err := r.remove(ctx, id)
			if err != nil {
				err = fmt.Errorf("remove: %w", err)
			}
			return NetworkStatus{Action: ActionRemoved, Err: err}
		})
		if st.Err != nil {
			st.Err = fmt.Errorf("dhcp network %s: %w", id, st.Err)
		}
		res.Networks[id] = st
	}
	r.noteSkipped(skipped)
	return res
}

// guard runs one network's part of a pass, turning a panic into that
// network's error so that the other networks are still served; the next
// pass converges the network again.
func (r *Reconciler) guard(id string, f func() NetworkStatus) (st NetworkStatus) {
	defer func() {
		if v := recover(); v != nil {
			r.hmu.Lock()
			r.health.Panics++
			r.hmu.Unlock()
			r.log.Error("DHCP network pass panicked; serving the other networks, the next pass resyncs this one",
				"network", id, "panic", v, "stack", string(debug.Stack()))
			st = NetworkStatus{Err: fmt.Errorf("panic: %v", v), Panicked: true}
		}
	}()
	return f()
}

// noteSkipped records the last pass's skipped objects and logs those not
// logged before (an inconsistent object is logged once, not every pass).
func (r *Reconciler) noteSkipped(skipped []Skipped) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	r.health.Skipped = len(skipped)
	now := make(map[string]bool, len(skipped))
	for _, s := range skipped {
		key := s.String()
		now[key] = true
		if !r.logged[key] {
			r.log.Warn("skipping an inconsistent object of a network snapshot; serving the rest",
				"kind", s.Kind, "id", s.ID, "reason", s.Reason)
		}
	}
	r.logged = now
}

// Supervise re-runs the last pass every interval until ctx ends, so a
// dnsmasq that died is restarted (Neutron's ProcessMonitor respawn).
func (r *Reconciler) Supervise(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		last := r.last
		r.mu.Unlock()
		if last == nil {
			continue
		}
		if err := r.Reconcile(ctx, last).Err(); err != nil && ctx.Err() == nil {
			r.log.Warn("supervision pass", "err", err)
		}
	}
}

// Teardown stops every dnsmasq and removes every namespace and veth this
// agent made (a pass with nothing wanted).
func (r *Reconciler) Teardown(ctx context.Context) error {
	return r.Reconcile(ctx, nil).Err()
}

// served lists the networks that have a directory in the state directory.
// Only UUID-named directories count, as in Neutron, so that anything else
// kept there (a log directory, say) is never torn down.
func (r *Reconciler) served() []string {
	ents, err := os.ReadDir(r.cfg.StateDir)
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && uuidLike(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids
}

// uuidLike reports whether s has the 8-4-4-4-12 hexadecimal form.
func uuidLike(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
}

// toRender is the network as the dnsmasq renderer sees it: its ports plus
// the DHCP port, once.
func toRender(n Network) *dnsmasq.Network {
	ports := slices.Clone(n.Ports)
	if n.DHCPPort.ID != "" && !slices.ContainsFunc(ports, func(p Port) bool { return p.ID == n.DHCPPort.ID }) {
		dp := n.DHCPPort
		if dp.DeviceOwner == "" {
			dp.DeviceOwner = dnsmasq.OwnerDHCP
		}
		ports = append(ports, dp)
	}
	return &dnsmasq.Network{ID: n.ID, MTU: n.MTU, Subnets: n.Subnets, Ports: ports}
}

// dhcpAddrs are the DHCP port's addresses with their subnets' prefix
// lengths, plus the metadata address when metadata is served from here.
func (r *Reconciler) dhcpAddrs(n Network) ([]*net.IPNet, error) {
	bySubnet := map[string]netip.Prefix{}
	for _, s := range n.Subnets {
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return nil, fmt.Errorf("subnet %s cidr %q: %w", s.ID, s.CIDR, err)
		}
		bySubnet[s.ID] = p
	}
	var out []*net.IPNet
	for _, ip := range n.DHCPPort.FixedIPs {
		p, ok := bySubnet[ip.SubnetID]
		if !ok {
			continue
		}
		a, err := netip.ParseAddr(ip.IPAddress)
		if err != nil {
			return nil, fmt.Errorf("dhcp port address %q: %w", ip.IPAddress, err)
		}
		out = append(out, &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(p.Bits(), a.BitLen())})
	}
	if r.cfg.EnableIsolatedMetadata || r.cfg.ForceMetadata {
		out = append(out, &net.IPNet{IP: net.IPv4(169, 254, 169, 254).To4(), Mask: net.CIDRMask(32, 32)})
		// A network with an IPv6 subnet gets metadata's IPv6 address too
		// (Neutron's METADATA_V6_CIDR), where the metadata part listens.
		for _, p := range bySubnet {
			if p.Addr().Is6() {
				out = append(out, &net.IPNet{IP: net.ParseIP("fe80::a9fe:a9fe"), Mask: net.CIDRMask(128, 128)})
				break
			}
		}
	}
	return out, nil
}

func (r *Reconciler) ensure(ctx context.Context, n Network) NetworkStatus {
	rc := r.renderConfig()
	rn := toRender(n)
	paths := dnsmasq.PathsFor(r.cfg.StateDir, n.ID)
	args, enabled := rc.Args(rn, paths)
	if !enabled {
		if err := r.remove(ctx, n.ID); err != nil {
			return NetworkStatus{Err: err}
		}
		return NetworkStatus{Action: ActionDisabled}
	}
	if n.DHCPPort.ID == "" {
		return NetworkStatus{Err: errors.New("no DHCP port")}
	}
	// The state directory first: it is what marks the network as ours for
	// clean-up, even if a later step fails. dnsmasq re-reads its files as
	// its own user: the directory is made traversable whatever the umask.
	if err := dnsmasq.MkdirReadable(paths.Dir); err != nil {
		return NetworkStatus{Err: err}
	}
	br, err := r.host.EnsureBridge(link.BridgeName(n.ID), n.MTU)
	if err != nil {
		return NetworkStatus{Err: err}
	}
	ns, err := netns.Create(link.DHCPNamespace(n.ID))
	if err != nil {
		return NetworkStatus{Err: err}
	}
	defer ns.Close()
	addrs, err := r.dhcpAddrs(n)
	if err != nil {
		return NetworkStatus{Err: err}
	}
	if err := r.host.EnsureAgentPort(link.AgentPort{
		HostName: link.TapName(n.DHCPPort.ID), NSName: link.NSDevName(n.DHCPPort.ID), NS: ns,
		MAC: n.DHCPPort.MAC, MTU: n.MTU, Addrs: addrs, Bridge: br,
	}); err != nil {
		return NetworkStatus{Err: err}
	}

	files := rc.Render(rn)
	changed := false
	for _, f := range []struct{ path, content string }{
		{paths.Hosts, files.Hosts}, {paths.AddnHosts, files.AddnHosts}, {paths.Opts, files.Opts},
	} {
		c, err := dnsmasq.WriteFile(f.path, f.content)
		if err != nil {
			return NetworkStatus{Err: err}
		}
		changed = changed || c
	}

	proc := r.process(n.ID)
	pid := proc.PID()
	logs := r.logReader(n.ID, rc.LogFile(n.ID, paths))
	defer r.scanLog(n, rn, logs)
	action := ActionNone
	switch {
	case pid != 0 && slices.Equal(proc.Cmdline(pid), args) && dnsmasq.InNamespace(pid, ns):
		if changed {
			r.releaseStale(ctx, ns, n, rn, paths)
			if err := proc.Reload(); err != nil {
				return NetworkStatus{Err: err}
			}
			action = ActionReloaded
		}
		return NetworkStatus{Action: action, PID: pid}
	case pid != 0:
		if err := proc.Stop(ctx, 2*time.Second); err != nil {
			return NetworkStatus{Err: err}
		}
		action = ActionRestarted
	default:
		action = ActionStarted
		if _, err := os.Stat(paths.PID); err == nil {
			action = ActionRestarted // it had died
		}
	}
	// The initial lease file keeps known clients' leases across a (re)start
	// instead of NAKing their renewals.
	if _, err := dnsmasq.WriteFile(paths.Leases, files.Leases); err != nil {
		return NetworkStatus{Err: err}
	}
	if r.cfg.LogDir != "" {
		if err := dnsmasq.MkdirReadable(filepath.Join(r.cfg.LogDir, n.ID)); err != nil {
			return NetworkStatus{Err: err}
		}
	}
	// Whatever the old dnsmasq logged is reported before the new one
	// starts writing.
	r.scanLog(n, rn, logs)
	if err := proc.Start(ctx, ns, args); err != nil {
		return NetworkStatus{Err: err}
	}
	r.log.Info("dnsmasq "+string(action), "network", n.ID, "pid", proc.PID())
	return NetworkStatus{Action: action, PID: proc.PID()}
}

// ownLogMax bounds the log file the agent has dnsmasq write when no
// dnsmasq_base_log_dir is set (one line per DHCP transaction): the agent
// truncates it once it has read that much. A log in dnsmasq_base_log_dir
// is the operator's, to rotate.
const ownLogMax = 1 << 20

// logReader returns the reader of network id's dnsmasq log.
func (r *Reconciler) logReader(id, path string) *dnsmasq.LogReader {
	l := r.logs[id]
	if l == nil || l.Path != path {
		limit := int64(ownLogMax)
		if r.cfg.LogDir != "" {
			limit = 0
		}
		l = dnsmasq.NewLogReader(path, limit)
		r.logs[id] = l
	}
	return l
}

// scanLog turns what dnsmasq logged since the last pass into the agent's
// log lines and counters: its warnings and errors, and "no address
// available" answers to a port of the network (dnsmasq lacks or could not
// read the port's host entry; other clients' requests are no concern).
func (r *Reconciler) scanLog(n Network, rn *dnsmasq.Network, logs *dnsmasq.LogReader) {
	events, err := logs.Read()
	if err != nil {
		r.log.Warn("reading dnsmasq's log", "network", n.ID, "err", err)
		return
	}
	if len(events) == 0 {
		return
	}
	ports := map[string]string{}
	for _, p := range rn.Ports {
		ports[strings.ToLower(p.MAC)] = p.ID
	}
	problems, noAddr := 0, 0
	for _, ev := range events {
		switch ev.Kind {
		case dnsmasq.LogProblem:
			problems++
			r.log.Warn("dnsmasq reported a problem", "network", n.ID, "dnsmasq", ev.Message)
		case dnsmasq.LogNoAddress:
			if port, ok := ports[ev.MAC]; ok {
				noAddr++
				r.log.Warn("dnsmasq answered a port's DHCP request with no address", "network", n.ID,
					"port", port, "mac", ev.MAC, "dnsmasq", ev.Message)
			}
		}
	}
	r.hmu.Lock()
	r.health.DnsmasqErrors += problems
	r.health.NoAddress += noAddr
	r.hmu.Unlock()
}

// Prepare checks, before the first pass, that dnsmasq will be able to
// read what the agent writes for it: it drops to an unprivileged user
// after start and re-reads its files on SIGHUP as that user, so a state
// directory under a directory only root may enter (mode 0700, as mktemp -d
// makes) would have it answer "no address available" after the first
// change. It creates dhcp_confs traversable, and refuses with the
// directory to fix named.
func (r *Reconciler) Prepare(ctx context.Context) error {
	id, drops, err := dnsmasq.RunAs(ctx, r.cfg.DnsmasqBinary)
	if err != nil {
		return err
	}
	if err := dnsmasq.MkdirReadable(r.cfg.StateDir); err != nil {
		return fmt.Errorf("dhcp_confs: %w", err)
	}
	if !drops {
		return nil
	}
	for _, d := range []string{r.cfg.StateDir, r.cfg.LogDir} {
		if d == "" {
			continue
		}
		if err := id.CanReach(d); err != nil {
			return err
		}
	}
	return nil
}

// releaseStale drops the leases of addresses whose port is gone or changed
// MAC, before dnsmasq reloads (Neutron's _release_unused_leases). Failures
// are logged: the lease then only lingers until it expires.
func (r *Reconciler) releaseStale(ctx context.Context, ns netns.Handle, n Network, rn *dnsmasq.Network, paths dnsmasq.Paths) {
	leases, err := dnsmasq.ReadLeases(paths.Leases)
	if err != nil {
		r.log.Warn("reading leases", "network", n.ID, "err", err)
		return
	}
	for _, l := range dnsmasq.StaleLeases(rn, leases) {
		if err := dnsmasq.Release(ctx, r.cfg.DHCPReleaseBinary, ns, link.NSDevName(n.DHCPPort.ID), l); err != nil {
			r.log.Warn("releasing lease", "network", n.ID, "ip", l.IP, "mac", l.MAC, "err", err)
		}
	}
}

// remove tears a network down: dnsmasq, the veth (by deleting the ns-
// devices, which takes their tap peers with them), the namespace, the state
// directory, and the bridge if nothing else is left on it.
func (r *Reconciler) remove(ctx context.Context, id string) error {
	var errs []error
	errs = append(errs, r.process(id).Stop(ctx, 2*time.Second))
	name := link.DHCPNamespace(id)
	if ns, err := netns.Open(name); err == nil {
		if in, err := link.Open(ns); err == nil {
			devs, err := in.List(link.NSDevPrefix)
			errs = append(errs, err)
			for dev := range devs {
				errs = append(errs, in.Delete(dev))
			}
			in.Close()
		} else {
			errs = append(errs, err)
		}
		ns.Close()
		// Any process still inside (a dnsmasq we no longer know about) would
		// keep the namespace alive after the unmount.
		if pids, err := netns.PIDs(name); err == nil {
			for _, pid := range pids {
				r.log.Warn("killing leftover process in namespace", "netns", name, "pid", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	errs = append(errs, netns.Delete(name))
	if br, err := r.host.Get(link.BridgeName(id)); err == nil && br != nil {
		if members, err := r.host.Members(br); err == nil && len(members) == 0 {
			errs = append(errs, r.host.Delete(br.Attrs().Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	delete(r.logs, id)
	return os.RemoveAll(dnsmasq.PathsFor(r.cfg.StateDir, id).Dir)
}
