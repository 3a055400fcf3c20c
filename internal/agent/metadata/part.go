// Package metadata is the metadata agent (Neutron's neutron-metadata-agent
// with the namespace proxies the DHCP agent spawns) as a part of
// `neutrino agent`: instances read http://169.254.169.254 — SSH keys,
// user data — from Nova's metadata API through it.
//
// The DHCP part gives each qdhcp-<network> namespace the address
// 169.254.169.254 when [DEFAULT] enable_isolated_metadata or
// force_metadata is set, and dnsmasq pushes instances a route to it. This
// part listens on 169.254.169.254:80 inside each such namespace of the
// networks this host's DHCP part serves: the socket is opened on a thread
// switched into the namespace (netns.Do) and keeps belonging to it, so one
// process serves every namespace, without Neutron's haproxy per network
// and Unix socket hop. A request's source address and the namespace's
// network name the instance: the server's get_ports (Neutron's metadata
// RPC) finds the one port with that address, cached for 5 seconds. The
// request goes on to nova_metadata_host:nova_metadata_port with
// X-Forwarded-For, X-Instance-ID (the port's device_id), X-Tenant-ID and
// X-Instance-ID-Signature, the HMAC-SHA256 of the instance id with
// metadata_proxy_shared_secret that Nova checks.
//
// Router namespaces (Neutron's L3 agent with enable_metadata_proxy): the
// L3 part's NAT table in each qrouter-<router> namespace redirects TCP to
// 169.254.169.254:80 coming in by a qr- device to metadata_port (9697),
// and this part listens there, on "::" (IPv4 and IPv6), in every router
// namespace the L3 part's state directory lists. There the source address
// is looked up on the router's networks (the networks of its interface
// ports), as Neutron's agent does with the X-Neutron-Router-ID header.
// The table redirects [fe80::a9fe:a9fe]:80 the same way (Neutron's
// ip6tables rule); as in Neutron, nothing in the router answers neighbour
// discovery for that address.
//
// IPv6: a DHCP namespace of a network with an IPv6 subnet also holds
// fe80::a9fe:a9fe (the DHCP part adds it, as Neutron's does), and this
// part listens on [fe80::a9fe:a9fe%<device>]:80 there once duplicate
// address detection lets it. A link-local client's port is found by the
// MAC its EUI-64 address carries, as in Neutron.
//
// Why a part of its own rather than inside the DHCP part: it is Neutron's
// "Metadata agent" (its own row in /v2.0/agents, its own options), and it
// needs no change to the DHCP or L3 parts' lifecycles. It is
// level-triggered: every second it compares the namespaces that exist
// (and hold the address) with the listeners it has, opens what is missing
// and closes what is gone (or was recreated: a namespace is known by its
// inode), so it converges after a restart of any part. A namespace
// without the address (metadata off) simply gets no listener.
package metadata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l3"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// Address is where instances reach the metadata service; AddressV6 is
// its IPv6 link-local twin, served in DHCP namespaces of networks with an
// IPv6 subnet (Neutron's METADATA_V6_IP).
const (
	Address   = "169.254.169.254:80"
	AddressV6 = "fe80::a9fe:a9fe"
)

func init() {
	agent.Register("metadata", func(env agent.Env) (agent.Part, error) { return NewPart(env) })
}

// Part is the metadata agent.
type Part struct {
	host     string
	opts     Options
	log      *slog.Logger
	proxy    *Proxy
	dhcpDir  string // the DHCP part's dhcp_confs: one directory per network it serves
	dhcpMeta bool   // enable_isolated_metadata or force_metadata
	// routerDir is the L3 part's state directory (one file per router it
	// built) and routerPort the port its NAT table redirects metadata
	// requests to; routerDir is empty when enable_metadata_proxy is off.
	routerDir  string
	routerPort int
	// Interval is how often listeners are reconciled.
	Interval time.Duration

	bus atomic.Pointer[rpc.Bus]
	// recMu serializes Reconcile; mu guards listeners for readers.
	recMu     sync.Mutex
	mu        sync.Mutex
	listeners map[string]*listener // target key → its listener
	failures  map[string]string    // target key → last error, logged once; under recMu
}

var _ agent.Part = (*Part)(nil)

// target is one socket the part wants: in a namespace (known by its
// inode), on an address, serving a network or a router.
type target struct {
	kind     string // "network" or "router"
	id       string
	netns    string
	v6       bool // the IPv6 link-local address (DHCP namespaces)
	dev, ino uint64
}

func (t target) key() string {
	k := t.kind + ":" + t.id
	if t.v6 {
		k += ":v6"
	}
	return k
}

type listener struct {
	target
	srv  *http.Server
	done chan struct{}
}

// NewPart builds the metadata part from env's configuration.
func NewPart(env agent.Env) (*Part, error) {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("part", "metadata", "host", env.Host)
	d := dhcp.OptionsFrom(env.Config)
	p := &Part{host: env.Host, opts: OptionsFrom(env.Config), log: log, dhcpDir: d.StateDir,
		dhcpMeta: d.EnableIsolatedMetadata || d.ForceMetadata, Interval: time.Second,
		listeners: map[string]*listener{}, failures: map[string]string{}}
	if l3o, err := l3.OptionsFrom(env.Config); err != nil {
		// The L3 part refuses to start with these; it says why.
		log.Warn("not serving metadata in router namespaces: the L3 agent's options are invalid", "error", err)
	} else if l3o.EnableMetadataProxy {
		p.routerDir, p.routerPort = l3o.StateDir, l3o.MetadataPort
	}
	var err error
	if p.proxy, err = NewProxy(p.opts, p.lookup, log); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return p, nil
}

// AgentType implements agent.Part.
func (*Part) AgentType() string { return rpcapi.AgentTypeMetadata }

// Binary implements agent.Part.
func (*Part) Binary() string { return "neutron-metadata-agent" }

// Topic implements agent.Part.
func (*Part) Topic() string { return "N/A" }

// Configurations implements agent.Part.
func (p *Part) Configurations() map[string]any {
	p.mu.Lock()
	n := len(p.listeners)
	p.mu.Unlock()
	return map[string]any{"nova_metadata_host": p.opts.NovaHost, "nova_metadata_port": p.opts.NovaPort,
		"log_agent_heartbeats": false, "namespaces_served": n}
}

// Handlers implements agent.Part: the metadata agent hears no
// notifications.
func (*Part) Handlers(string) map[string]rpc.Handlers { return nil }

// Run reconciles the listeners every Interval until ctx ends, then closes
// them.
func (p *Part) Run(ctx context.Context, bus *rpc.Bus) error {
	p.bus.Store(bus)
	defer p.closeAll()
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		p.Reconcile()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// routerInterfaceOwners are the device owners of a router's internal
// ports (neutron_lib's ROUTER_INTERFACE_OWNERS).
var routerInterfaceOwners = []string{"network:router_interface", "network:router_interface_distributed",
	"network:ha_router_replicated_interface"}

// lookup asks the server for the one port the request came from, as
// Neutron's metadata agent does with get_ports: on the namespace's
// network, or on the networks of the namespace's router (its interface
// ports'), with the client's fixed IP (or, for an IPv6 link-local
// client, its MAC).
func (p *Part) lookup(ctx context.Context, src Source) (Instance, error) {
	bus := p.bus.Load()
	if bus == nil {
		return Instance{}, errors.New("not connected to the server")
	}
	networks := []string{src.NetworkID}
	if src.RouterID != "" {
		var ifaces []map[string]any
		args := rpcapi.GetPortsArgs{Filters: map[string]any{"device_id": []string{src.RouterID},
			"device_owner": routerInterfaceOwners}}
		if err := bus.Call(ctx, rpcapi.TopicPlugin, rpcapi.MethodGetPorts, args, &ifaces); err != nil {
			return Instance{}, fmt.Errorf("get_ports of router %s: %w", src.RouterID, err)
		}
		networks = networks[:0]
		for _, port := range ifaces {
			if id, _ := port["network_id"].(string); id != "" {
				networks = append(networks, id)
			}
		}
		if len(networks) == 0 {
			return Instance{}, nil
		}
	}
	filters := map[string]any{"network_id": networks}
	if src.MAC != "" {
		filters["mac_address"] = []string{src.MAC}
	} else {
		filters["fixed_ips"] = map[string]any{"ip_address": []string{src.IP}}
	}
	var ports []map[string]any
	if err := bus.Call(ctx, rpcapi.TopicPlugin, rpcapi.MethodGetPorts, rpcapi.GetPortsArgs{Filters: filters}, &ports); err != nil {
		return Instance{}, fmt.Errorf("get_ports: %w", err)
	}
	if len(ports) != 1 {
		return Instance{}, nil
	}
	id, _ := ports[0]["device_id"].(string)
	project, _ := ports[0]["tenant_id"].(string)
	if project == "" {
		project, _ = ports[0]["project_id"].(string)
	}
	return Instance{ID: id, ProjectID: project}, nil
}

// Reconcile opens the listeners that are missing — in every DHCP
// namespace that holds the metadata address, and in every router
// namespace the L3 part built — and closes those whose namespace is gone
// or was recreated.
func (p *Part) Reconcile() {
	want := map[string]target{}
	add := func(kind, id, ns string) {
		var st unix.Stat_t
		if unix.Stat(netns.Path(ns), &st) != nil {
			return
		}
		t := target{kind: kind, id: id, netns: ns, dev: st.Dev, ino: st.Ino}
		want[t.key()] = t
		if kind == "network" {
			t.v6 = true
			want[t.key()] = t
		}
	}
	if p.dhcpMeta {
		ents, err := os.ReadDir(p.dhcpDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("cannot list the DHCP networks", "dir", p.dhcpDir, "error", err)
		}
		for _, e := range ents {
			if e.IsDir() {
				add("network", e.Name(), link.DHCPNamespace(e.Name()))
			}
		}
	}
	if p.routerDir != "" {
		ents, err := os.ReadDir(p.routerDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("cannot list the routers", "dir", p.routerDir, "error", err)
		}
		for _, e := range ents {
			if !e.IsDir() && len(e.Name()) == 36 {
				add("router", e.Name(), link.RouterNamespace(e.Name()))
			}
		}
	}
	p.recMu.Lock()
	defer p.recMu.Unlock()
	p.mu.Lock()
	have := maps.Clone(p.listeners)
	p.mu.Unlock()
	for key, l := range have {
		if t, ok := want[key]; !ok || t.dev != l.dev || t.ino != l.ino {
			l.close()
			p.mu.Lock()
			delete(p.listeners, key)
			p.mu.Unlock()
			delete(have, key)
		}
	}
	for key, t := range want {
		if have[key] != nil {
			continue
		}
		l, err := p.listen(t)
		if err != nil {
			if msg := err.Error(); p.failures[key] != msg {
				p.failures[key] = msg
				p.log.Warn("cannot serve metadata in namespace", t.kind+"_id", t.id, "netns", t.netns, "error", err)
			}
			continue
		}
		if l == nil {
			continue
		}
		delete(p.failures, key)
		p.mu.Lock()
		p.listeners[key] = l
		p.mu.Unlock()
		p.log.Info("serving metadata", t.kind+"_id", t.id, "netns", t.netns, "address", l.srv.Addr)
	}
	for key := range p.failures {
		if _, ok := want[key]; !ok {
			delete(p.failures, key)
		}
	}
}

// listen opens t's listener; nil, nil when the namespace does not hold
// the address (yet: metadata off, or IPv6's duplicate address detection
// still running).
//
// A DHCP namespace's listeners are on the metadata addresses themselves,
// port 80; a router namespace's is on every address, IPv4 and IPv6, at
// the L3 part's metadata_port, which its NAT table redirects the
// instances' requests to (Neutron's haproxy binds "::" there too).
func (p *Part) listen(t target) (*listener, error) {
	ns, err := netns.Open(t.netns)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	var l net.Listener
	var addr string
	err = netns.Do(ns, func() error {
		var err error
		switch {
		case t.kind == "router":
			addr = net.JoinHostPort("::", strconv.Itoa(p.routerPort))
			if l, err = net.Listen("tcp", addr); err != nil && errors.Is(err, syscall.EAFNOSUPPORT) {
				addr = net.JoinHostPort("0.0.0.0", strconv.Itoa(p.routerPort))
				l, err = net.Listen("tcp4", addr)
			}
		case t.v6:
			dev, found := deviceWith(netip.MustParseAddr(AddressV6))
			if !found {
				return syscall.EADDRNOTAVAIL
			}
			addr = net.JoinHostPort(AddressV6+"%"+dev, "80")
			l, err = net.Listen("tcp6", addr)
		default:
			addr = Address
			l, err = net.Listen("tcp4", addr)
		}
		return err
	})
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s in %s: %w", addr, t.netns, err)
	}
	h := p.proxy.Handler(t.id)
	if t.kind == "router" {
		h = p.proxy.RouterHandler(t.id)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)}
	ln := &listener{target: t, srv: srv, done: make(chan struct{})}
	go func() {
		defer close(ln.done)
		srv.Serve(l)
	}()
	return ln, nil
}

// deviceWith names the calling thread's namespace's device that holds
// a (ready: not tentative), for a link-local listener's zone.
func deviceWith(a netip.Addr) (string, bool) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return "", false
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip == a && x.Flags&unix.IFA_F_TENTATIVE == 0 {
			l, err := netlink.LinkByIndex(x.LinkIndex)
			if err != nil {
				return "", false
			}
			return l.Attrs().Name, true
		}
	}
	return "", false
}

// close stops the listener: the socket is closed at once (the namespace
// can go), requests in flight get a moment to finish.
func (l *listener) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if l.srv.Shutdown(ctx) != nil {
		l.srv.Close()
	}
	<-l.done
}

func (p *Part) closeAll() {
	p.recMu.Lock()
	defer p.recMu.Unlock()
	p.mu.Lock()
	have := p.listeners
	p.listeners = map[string]*listener{}
	p.mu.Unlock()
	for _, l := range have {
		l.close()
	}
}

// Serving lists the networks whose namespace has a listener.
func (p *Part) Serving() []string { return p.serving("network", false) }

// ServingV6 lists the networks whose namespace has a listener on the
// IPv6 metadata address.
func (p *Part) ServingV6() []string { return p.serving("network", true) }

// ServingRouters lists the routers whose namespace has a listener.
func (p *Part) ServingRouters() []string { return p.serving("router", false) }

func (p *Part) serving(kind string, v6 bool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.listeners {
		if l.kind == kind && l.v6 == v6 {
			out = append(out, l.id)
		}
	}
	slices.Sort(out)
	return out
}
