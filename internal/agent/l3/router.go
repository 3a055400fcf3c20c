package l3

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/cthelper"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/nat"
	"github.com/neutrino-net/neutrino/internal/dataplane/ndpfilter"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// Port is a router port as the reconciler builds it: a veth whose
// tap<port-id[:11]> end is on the network's bridge and whose Device end
// (qr-… or qg-…) is in the router's namespace.
type Port struct {
	ID        string
	NetworkID string
	MAC       string
	MTU       int
	Device    string
	Addrs     []netip.Prefix
}

// Route is a route of the router's namespace.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// FloatingIP is a floating IP the router serves.
type FloatingIP struct {
	ID       string
	External netip.Addr
	// Internal is the fixed address it maps to; invalid for a floating
	// IP that only carries port forwardings.
	Internal netip.Addr
}

// Router is the data plane one router needs on this host.
type Router struct {
	ID          string
	Interfaces  []Port
	Gateway     *Port
	Routes      []Route
	FloatingIPs []FloatingIP
	NAT         nat.Ruleset
	// Helpers are the router's conntrack helpers, in a table of their own.
	Helpers []cthelper.Helper
	// NDPProxy is enable_ndp_proxy on a router with a gateway: the
	// gateway device proxies neighbour discovery for NDPProxies.
	NDPProxy   bool
	NDPProxies []netip.Addr
	// NDPFilter keeps the external network out of the router's IPv6
	// subnets in its address scope but for NDPProxies, while NDPProxy.
	NDPFilter ndpfilter.Ruleset
}

// fingerprint identifies what the router asks of the kernel.
func (r Router) fingerprint() [32]byte {
	b, _ := json.Marshal(r)
	return sha256.Sum256(b)
}

// RouterFrom turns a sync_routers router into what the reconciler
// builds, as Neutron's RouterInfo does: qr- devices with the interfaces'
// addresses, a qg- device with the gateway's addresses and the floating
// IPs (/32), a default route via each external subnet's gateway, the
// extra routes, and the NAT ruleset (SNAT unless enable_snat is off or
// the internal subnet shares the external network's address scope).
func RouterFrom(r rpcapi.Router) (Router, error) {
	out := Router{ID: r.ID}
	port := func(p rpcapi.RouterPort, dev string) (Port, error) {
		rp := Port{ID: p.ID, NetworkID: p.NetworkID, MAC: p.MACAddress, MTU: p.MTU, Device: dev}
		for _, f := range p.FixedIPs {
			a, err := netip.ParseAddr(f.IPAddress)
			if err != nil {
				return rp, fmt.Errorf("port %s address %q: %w", p.ID, f.IPAddress, err)
			}
			bits := f.PrefixLen
			if bits == 0 {
				bits = a.BitLen()
			}
			rp.Addrs = append(rp.Addrs, netip.PrefixFrom(a, bits))
		}
		return rp, nil
	}
	var extScope4 *string
	if gw := r.GatewayPort; gw != nil {
		p, err := port(*gw, link.RouterGatewayName(gw.ID))
		if err != nil {
			return out, err
		}
		extScope4 = gw.AddressScopes["4"]
		out.NAT = nat.Ruleset{GatewayDevice: p.Device, SNAT: r.EnableSNAT}
		for _, a := range p.Addrs {
			if a.Addr().Is4() && !out.NAT.GatewayIP.IsValid() {
				out.NAT.GatewayIP = a.Addr()
			}
		}
		if !out.NAT.GatewayIP.IsValid() {
			out.NAT.SNAT = false
		}
		for _, s := range gw.Subnets {
			if s.GatewayIP == nil {
				continue
			}
			via, err := netip.ParseAddr(*s.GatewayIP)
			if err != nil {
				continue
			}
			dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
			if via.Is6() {
				dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
			}
			if !slices.ContainsFunc(out.Routes, func(r Route) bool { return r.Dst == dst }) {
				out.Routes = append(out.Routes, Route{Dst: dst, Via: via})
			}
		}
		for _, f := range r.FloatingIPs {
			ext, err := netip.ParseAddr(f.FloatingIPAddress)
			if err != nil || !ext.Is4() {
				continue
			}
			fip := FloatingIP{ID: f.ID, External: ext}
			if in, err := netip.ParseAddr(string(f.FixedIPAddress)); err == nil && f.PortID != "" {
				fip.Internal = in
				out.NAT.FloatingIPs = append(out.NAT.FloatingIPs, nat.FloatingIP{External: ext, Internal: in})
			}
			for _, pf := range f.PortForwardings {
				npf, err := forwarding(ext, pf)
				if err != nil {
					return out, fmt.Errorf("floating IP %s: %w", f.ID, err)
				}
				out.NAT.PortForwardings = append(out.NAT.PortForwardings, npf)
			}
			out.FloatingIPs = append(out.FloatingIPs, fip)
			p.Addrs = append(p.Addrs, netip.PrefixFrom(ext, 32))
		}
		out.Gateway = &p
	}
	for _, ifc := range r.Interfaces {
		p, err := port(ifc, link.RouterInterfaceName(ifc.ID))
		if err != nil {
			return out, err
		}
		out.Interfaces = append(out.Interfaces, p)
		// Neutron routes a subnet of the external network's address scope
		// without NAT.
		if s := ifc.AddressScopes["4"]; s != nil && extScope4 != nil && *s == *extScope4 {
			for _, a := range p.Addrs {
				if a.Addr().Is4() {
					out.NAT.NoSNAT = append(out.NAT.NoSNAT, a.Masked())
				}
			}
		}
	}
	if r.EnableNDPProxy && out.Gateway != nil {
		out.NDPProxy = true
		for _, np := range r.NDPProxies {
			a, err := netip.ParseAddr(np.IPAddress)
			if err != nil || !a.Is6() {
				return out, fmt.Errorf("ndp proxy %s address %q: not an IPv6 address", np.ID, np.IPAddress)
			}
			out.NDPProxies = append(out.NDPProxies, a)
		}
		// Neutron's agent drops what comes in by the gateway for the
		// IPv6 subnets of interfaces in the gateway's IPv6 address scope
		// (none on both sides is one scope), but for proxied addresses.
		out.NDPFilter = ndpfilter.Ruleset{GatewayDevice: out.Gateway.Device, Proxied: out.NDPProxies}
		gwScope := r.GatewayPort.AddressScopes["6"]
		for _, ifc := range r.Interfaces {
			s := ifc.AddressScopes["6"]
			if (s == nil) != (gwScope == nil) || (s != nil && *s != *gwScope) {
				continue
			}
			for _, sub := range ifc.Subnets {
				if p, err := netip.ParsePrefix(sub.CIDR); err == nil && p.Addr().Is6() {
					out.NDPFilter.Subnets = append(out.NDPFilter.Subnets, p.Masked())
				}
			}
		}
	}
	for _, h := range r.ConntrackHelpers {
		out.Helpers = append(out.Helpers, cthelper.Helper{Protocol: h.Protocol, Port: uint16(h.Port), Name: h.Helper})
	}
	for _, rt := range r.Routes {
		dst, err1 := netip.ParsePrefix(rt.Destination)
		via, err2 := netip.ParseAddr(rt.Nexthop)
		if err := errors.Join(err1, err2); err != nil {
			return out, fmt.Errorf("route %s via %s: %w", rt.Destination, rt.Nexthop, err)
		}
		out.Routes = append(out.Routes, Route{Dst: dst.Masked(), Via: via})
	}
	return out, nil
}

func forwarding(ext netip.Addr, pf rpcapi.PortForwarding) (nat.PortForwarding, error) {
	in, err := netip.ParseAddr(pf.InternalIPAddress)
	if err != nil {
		return nat.PortForwarding{}, fmt.Errorf("port forwarding %s: %w", pf.ID, err)
	}
	es, ee, err := portRange(pf.ExternalPortRange)
	if err != nil {
		return nat.PortForwarding{}, fmt.Errorf("port forwarding %s: %w", pf.ID, err)
	}
	is, ie, err := portRange(pf.InternalPortRange)
	if err != nil {
		return nat.PortForwarding{}, fmt.Errorf("port forwarding %s: %w", pf.ID, err)
	}
	return nat.PortForwarding{Protocol: strings.ToLower(pf.Protocol), External: ext, ExternalStart: es, ExternalEnd: ee,
		Internal: in, InternalStart: is, InternalEnd: ie}, nil
}

// portRange parses "start:end" (or one port).
func portRange(s string) (uint16, uint16, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		b = a
	}
	var x, y uint16
	if _, err := fmt.Sscan(a, &x); err != nil {
		return 0, 0, fmt.Errorf("port range %q", s)
	}
	if _, err := fmt.Sscan(b, &y); err != nil {
		return 0, 0, fmt.Errorf("port range %q", s)
	}
	return x, y, nil
}

// Reconciler converges the routers of one host: namespaces, devices,
// addresses, routes and NAT.
type Reconciler struct {
	host     *link.Host
	stateDir string
	garps    int
	log      *slog.Logger

	// announcing counts the gratuitous ARP senders still running.
	announcing sync.WaitGroup

	mu      sync.Mutex
	applied map[string][32]byte                  // router → fingerprint last converged
	fips    map[string]map[netip.Addr]netip.Addr // router → floating IP → internal, last converged
	pfs     map[string][]nat.PortForwarding      // router → port forwardings, last converged
}

// NewReconciler returns a reconciler whose bridges live in the namespace
// of h; stateDir records the routers it built.
func NewReconciler(h *link.Host, stateDir string, garps int, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{host: h, stateDir: stateDir, garps: garps, log: log,
		applied: map[string][32]byte{}, fips: map[string]map[netip.Addr]netip.Addr{}, pfs: map[string][]nat.PortForwarding{}}
}

// Wait waits for the gratuitous ARP senders of past passes, which stop
// once their pass's context ends.
func (x *Reconciler) Wait() { x.announcing.Wait() }

// Built lists the routers this reconciler built (its state directory).
func (x *Reconciler) Built() []string {
	ents, err := os.ReadDir(x.stateDir)
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range ents {
		if !e.IsDir() && len(e.Name()) == 36 {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	return ids
}

// Ensure converges one router; with full it checks the kernel even when
// the router did not change since its last pass (drift repair).
func (x *Reconciler) Ensure(ctx context.Context, r Router, full bool) (changed bool, err error) {
	fp := r.fingerprint()
	x.mu.Lock()
	same := x.applied[r.ID] == fp
	x.mu.Unlock()
	if same && !full {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := os.MkdirAll(x.stateDir, 0o755); err != nil {
		return false, fmt.Errorf("router %s: state: %w", r.ID, err)
	}
	if err := os.WriteFile(filepath.Join(x.stateDir, r.ID), nil, 0o644); err != nil {
		return false, fmt.Errorf("router %s: state: %w", r.ID, err)
	}
	// Each step is timed for the debug log: what a burst of routers
	// waits for (namespace creation, veths, routes, the NAT commit).
	t0 := time.Now()
	name := link.RouterNamespace(r.ID)
	ns, err := netns.Create(name)
	if err != nil {
		return false, fmt.Errorf("router %s: %w", r.ID, err)
	}
	defer ns.Close()
	inner, err := link.Open(ns)
	if err != nil {
		return false, fmt.Errorf("router %s: %w", r.ID, err)
	}
	defer inner.Close()
	if err := netns.Do(ns, enableForwarding); err != nil {
		return false, fmt.Errorf("router %s: forwarding: %w", r.ID, err)
	}

	// Floating IPs on the gateway before this pass: the ones that go
	// lose their connection tracking entries once the rules are gone.
	before := map[netip.Addr]bool{}
	if r.Gateway != nil {
		before = x.hostAddrs(inner, r.Gateway.Device, true)
	}
	ports := slices.Clone(r.Interfaces)
	if r.Gateway != nil {
		ports = append(ports, *r.Gateway)
	}
	// Every port's IPv4 addresses before this pass: the new ones are
	// announced with gratuitous ARP, as Neutron's agent does for
	// interface, gateway and floating IP addresses, so that neighbours
	// waiting on the address (a VM resolving its gateway) learn it now
	// rather than at their next retry.
	had := map[string]map[netip.Addr]bool{}
	for _, p := range ports {
		had[p.Device] = x.hostAddrs(inner, p.Device, false)
	}
	tNS := time.Now()
	want := map[string]bool{}
	for _, p := range ports {
		want[p.Device] = true
		if err := x.ensurePort(ns, p); err != nil {
			return false, fmt.Errorf("router %s: port %s: %w", r.ID, p.ID, err)
		}
	}
	for _, prefix := range []string{link.RouterInterfacePrefix, link.RouterGatewayPrefix} {
		devs, err := inner.List(prefix)
		if err != nil {
			return false, fmt.Errorf("router %s: %w", r.ID, err)
		}
		for dev := range devs {
			if !want[dev] {
				x.log.Info("removing router device", "router", r.ID, "device", dev)
				if err := inner.Delete(dev); err != nil {
					return false, fmt.Errorf("router %s: %w", r.ID, err)
				}
			}
		}
	}
	tPorts := time.Now()
	if err := ensureRoutes(inner.Netlink(), r.Routes); err != nil {
		return false, fmt.Errorf("router %s: routes: %w", r.ID, err)
	}
	if err := ensureNDPProxies(ns, inner.Netlink(), r); err != nil {
		return false, fmt.Errorf("router %s: ndp proxies: %w", r.ID, err)
	}
	if _, err := ndpfilter.Apply(ns, r.NDPFilter); err != nil {
		return false, fmt.Errorf("router %s: ndp filter: %w", r.ID, err)
	}
	tRoutes := time.Now()
	if _, err := nat.Apply(ns, r.NAT); err != nil {
		return false, fmt.Errorf("router %s: %w", r.ID, err)
	}
	if _, err := cthelper.Apply(ns, r.Helpers); err != nil {
		return false, fmt.Errorf("router %s: conntrack helpers: %w", r.ID, err)
	}
	tNAT := time.Now()

	now := map[netip.Addr]netip.Addr{}
	for _, f := range r.FloatingIPs {
		now[f.External] = f.Internal
	}
	x.mu.Lock()
	last, lastPFs := x.fips[r.ID], x.pfs[r.ID]
	x.mu.Unlock()
	for a := range before {
		if _, ok := now[a]; !ok && a != r.NAT.GatewayIP {
			x.forget(ns, r.ID, a)
		}
	}
	for a, in := range last {
		if cur, ok := now[a]; ok && cur != in {
			x.forget(ns, r.ID, a) // moved to another port
		}
	}
	// A port forwarding removed or changed loses its connections (its
	// floating IP's other forwardings keep theirs), as in Neutron.
	for _, pf := range lastPFs {
		if !slices.Contains(r.NAT.PortForwardings, pf) {
			if n, err := nat.ForgetForwarding(ns, pf); err != nil {
				x.log.Warn("deleting connection tracking entries", "router", r.ID, "port_forwarding", pf, "error", err)
			} else {
				x.log.Debug("deleted connection tracking entries", "router", r.ID, "port_forwarding", pf, "entries", n)
			}
		}
	}
	if x.garps > 0 {
		for _, p := range ports {
			var fresh []netip.Addr
			for _, a := range p.Addrs {
				if a.Addr().Is4() && !had[p.Device][a.Addr()] {
					fresh = append(fresh, a.Addr())
				}
			}
			if len(fresh) > 0 {
				x.announcing.Add(1)
				go x.announce(ctx, r.ID, name, p, fresh)
			}
		}
	}
	x.mu.Lock()
	x.applied[r.ID] = fp
	x.fips[r.ID] = now
	x.pfs[r.ID] = slices.Clone(r.NAT.PortForwardings)
	x.mu.Unlock()
	x.log.Debug("router converged", "router", r.ID, "netns", tNS.Sub(t0), "ports", tPorts.Sub(tNS),
		"routes", tRoutes.Sub(tPorts), "nat+helpers", tNAT.Sub(tRoutes), "conntrack", time.Since(tNAT))
	return true, nil
}

// announce sends the gratuitous ARPs of a port's new addresses once
// its tap is on a bridge (the L2 part attaches it, a few milliseconds
// after the pass made it): sent earlier, they would reach no one.
func (x *Reconciler) announce(ctx context.Context, routerID, nsName string, p Port, addrs []netip.Addr) {
	defer x.announcing.Done()
	tap := link.TapName(p.ID)
	deadline := time.Now().Add(announceWait)
	for {
		l, err := x.host.Get(tap)
		if err == nil && l != nil && l.Attrs().MasterIndex != 0 {
			break
		}
		if time.Now().After(deadline) {
			x.log.Debug("not announcing: the tap is on no bridge", "router", routerID, "device", p.Device)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	ns, err := netns.Open(nsName)
	if err != nil {
		return // the router went meanwhile
	}
	defer ns.Close()
	// One sender for all the rounds: a packet socket each took the
	// kernel 10–20 ms to release, and a router's fifty new floating IPs
	// were announced one after the other over 0.75 s.
	s, err := link.OpenARP(ns, p.Device)
	if err != nil {
		x.log.Debug("gratuitous ARP", "router", routerID, "device", p.Device, "error", err)
		return
	}
	defer s.Close()
	for i := range x.garps {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(announceGap):
			}
		}
		for _, a := range addrs {
			if err := s.Gratuitous(a); err != nil {
				x.log.Debug("gratuitous ARP", "router", routerID, "device", p.Device, "address", a, "error", err)
				return
			}
		}
		x.solicit(ns, s, routerID, p)
	}
}

// solicit asks again for the neighbours of the router's device p.Device
// that the kernel could not resolve (INCOMPLETE or FAILED entries): the
// kernel sent its first request when the device was up but its tap not
// yet on a bridge (the router forwarded a VM's first packet towards the
// external gateway before the L2 part wired the gateway port), where no
// one heard it, and asks again only a second later. The answer to this
// request updates the entry at once and releases the packets queued on
// it.
func (x *Reconciler) solicit(ns netns.Handle, s *link.ARPSender, routerID string, p Port) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return
	}
	defer h.Close()
	l, err := h.LinkByName(p.Device)
	if err != nil {
		return
	}
	neighs, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		x.log.Debug("listing neighbours", "router", routerID, "device", p.Device, "error", err)
		return
	}
	for _, n := range neighs {
		if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
			continue
		}
		target, ok := netip.AddrFromSlice(n.IP.To4())
		if !ok {
			continue
		}
		if sender, ok := senderFor(p.Addrs, target); ok {
			if err := s.Request(sender, target); err != nil {
				x.log.Debug("ARP request", "router", routerID, "device", p.Device, "target", target, "error", err)
			}
		}
	}
}

// senderFor is the IPv4 address of addrs on target's subnet, or the
// first IPv4 address when none is.
func senderFor(addrs []netip.Prefix, target netip.Addr) (netip.Addr, bool) {
	var first netip.Addr
	for _, a := range addrs {
		if !a.Addr().Is4() {
			continue
		}
		if a.Contains(target) {
			return a.Addr(), true
		}
		if !first.IsValid() {
			first = a.Addr()
		}
	}
	return first, first.IsValid()
}

// How long announce waits for a tap to be attached, and the gap
// between its gratuitous ARPs (arping's one a second would leave a
// lost first one uncorrected for a second).
const (
	announceWait = 10 * time.Second
	announceGap  = 200 * time.Millisecond
)

func (x *Reconciler) forget(ns netns.Handle, routerID string, a netip.Addr) {
	if n, err := nat.ForgetAddress(ns, a); err != nil {
		x.log.Warn("deleting connection tracking entries", "router", routerID, "address", a, "error", err)
	} else {
		x.log.Debug("deleted connection tracking entries", "router", routerID, "address", a, "entries", n)
	}
}

// hostAddrs are the IPv4 addresses of a device (only the /32 ones, the
// floating IPs, with hostOnly).
func (x *Reconciler) hostAddrs(inner *link.Host, dev string, hostOnly bool) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	l, err := inner.Get(dev)
	if err != nil || l == nil {
		return out
	}
	addrs, err := inner.Netlink().AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if ones, _ := a.Mask.Size(); ones == 32 || !hostOnly {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
				out[ip] = true
			}
		}
	}
	return out
}

// ensurePort plugs one router port as Neutron's BridgeInterfaceDriver
// does: a veth whose tap<id[:11]> end stays on the host and whose other
// end is in the router's namespace with the port's MAC, MTU and
// addresses. The L2 part puts the tap on the network's bridge, as it does
// for any port bound to this host (sync_routers bound it): attaching it
// here would race the L2 part, which takes taps of ports it does not
// know yet off their bridges.
func (x *Reconciler) ensurePort(ns netns.Handle, p Port) error {
	addrs := make([]*net.IPNet, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		addrs = append(addrs, &net.IPNet{IP: net.IP(a.Addr().AsSlice()), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())})
	}
	return x.host.EnsureAgentPort(link.AgentPort{HostName: link.TapName(p.ID), NSName: p.Device, NS: ns,
		MAC: p.MAC, MTU: p.MTU, Addrs: addrs})
}

// ensureNDPProxies plumbs a router's NDP proxies as Neutron's L3 agent
// ndp_proxy extension does: while the router enables them, proxy_ndp is
// on for the gateway device and each proxy's address has a proxy
// neighbour entry there (ip -6 neigh add proxy ADDR dev qg-…), so the
// router answers the external network's neighbour solicitations for
// it; otherwise the entries go and proxy_ndp is off.
func ensureNDPProxies(ns netns.Handle, h *netlink.Handle, r Router) error {
	if r.Gateway == nil {
		return nil
	}
	dev, err := h.LinkByName(r.Gateway.Device)
	if err != nil {
		return fmt.Errorf("gateway device %s: %w", r.Gateway.Device, err)
	}
	idx := dev.Attrs().Index
	want := map[netip.Addr]bool{}
	if r.NDPProxy {
		for _, a := range r.NDPProxies {
			want[a] = true
		}
	}
	have, err := h.NeighProxyList(idx, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("list proxy neighbours: %w", err)
	}
	for i := range have {
		n := &have[i]
		a, ok := netip.AddrFromSlice(n.IP)
		if ok && want[a.Unmap()] {
			delete(want, a.Unmap())
			continue
		}
		if err := h.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete proxy neighbour %s: %w", n.IP, err)
		}
	}
	for a := range want {
		n := &netlink.Neigh{LinkIndex: idx, Family: netlink.FAMILY_V6, Flags: netlink.NTF_PROXY, IP: net.IP(a.AsSlice())}
		if err := h.NeighAdd(n); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add proxy neighbour %s: %w", a, err)
		}
	}
	value := "0"
	if r.NDPProxy {
		value = "1"
	}
	return netns.Do(ns, func() error {
		f := "/proc/sys/net/ipv6/conf/" + r.Gateway.Device + "/proxy_ndp"
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(b)) == value {
			return nil
		}
		return os.WriteFile(f, []byte(value), 0o644)
	})
}

// enableForwarding turns on IPv4 and IPv6 forwarding in the calling
// thread's namespace (only where off, so a converged router is not
// touched).
func enableForwarding() error {
	for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(b)) == "1" {
			continue
		}
		if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ensureRoutes makes the namespace's main-table routes added by the
// agent (protocol boot or static) exactly want; connected routes the
// kernel adds are left alone.
func ensureRoutes(h *netlink.Handle, want []Route) error {
	have, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("list routes: %w", err)
	}
	key := func(dst netip.Prefix, via netip.Addr) string { return dst.String() + " " + via.String() }
	wanted := map[string]Route{}
	for _, r := range want {
		wanted[key(r.Dst, r.Via)] = r
	}
	var errs []error
	for _, r := range have {
		if r.Protocol != unix.RTPROT_BOOT && r.Protocol != unix.RTPROT_STATIC {
			continue
		}
		if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
			continue
		}
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if r.Family == netlink.FAMILY_V6 {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		if r.Dst != nil {
			ones, _ := r.Dst.Mask.Size()
			if a, ok := netip.AddrFromSlice(r.Dst.IP); ok {
				dst = netip.PrefixFrom(a.Unmap(), ones)
			}
		}
		via, _ := netip.AddrFromSlice(r.Gw)
		k := key(dst, via.Unmap())
		if _, ok := wanted[k]; ok {
			delete(wanted, k)
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route %s: %w", k, err))
		}
	}
	for k, r := range wanted {
		dst := &net.IPNet{IP: net.IP(r.Dst.Addr().AsSlice()), Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())}
		if err := h.RouteReplace(&netlink.Route{Dst: dst, Gw: net.IP(r.Via.AsSlice())}); err != nil {
			// A nexthop not yet reachable (its interface still coming up)
			// is retried by the next pass.
			errs = append(errs, fmt.Errorf("route %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// Remove tears a router down: its devices (taking their tap peers off
// the bridges), its namespace with the NAT and NDP filter tables, and
// its state; a bridge left empty goes too.
func (x *Reconciler) Remove(ctx context.Context, id string) error {
	var errs []error
	name := link.RouterNamespace(id)
	bridges := map[string]bool{}
	if ns, err := netns.Open(name); err == nil {
		if in, err := link.Open(ns); err == nil {
			for _, prefix := range []string{link.RouterInterfacePrefix, link.RouterGatewayPrefix} {
				devs, err := in.List(prefix)
				errs = append(errs, err)
				for dev := range devs {
					tap := link.TapPrefix + strings.TrimPrefix(strings.TrimPrefix(dev, link.RouterInterfacePrefix), link.RouterGatewayPrefix)
					if t, err := x.host.Get(tap); err == nil && t != nil && t.Attrs().MasterIndex != 0 {
						if br, err := x.host.Netlink().LinkByIndex(t.Attrs().MasterIndex); err == nil {
							bridges[br.Attrs().Name] = true
						}
					}
					errs = append(errs, in.Delete(dev))
				}
			}
			in.Close()
		} else {
			errs = append(errs, err)
		}
		errs = append(errs, nat.Remove(ns), ndpfilter.Remove(ns))
		ns.Close()
	}
	errs = append(errs, netns.Delete(name))
	for name := range bridges {
		if br, err := x.host.Get(name); err == nil && br != nil {
			if members, err := x.host.Members(br); err == nil && len(members) == 0 {
				errs = append(errs, x.host.Delete(name))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove router %s: %w", id, err)
	}
	x.mu.Lock()
	delete(x.applied, id)
	delete(x.fips, id)
	delete(x.pfs, id)
	x.mu.Unlock()
	if err := os.Remove(filepath.Join(x.stateDir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove router %s: state: %w", id, err)
	}
	return nil
}
