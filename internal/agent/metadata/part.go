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
// Why a part of its own rather than inside the DHCP part: it is Neutron's
// "Metadata agent" (its own row in /v2.0/agents, its own options), it
// needs no change to the DHCP part's lifecycle, and it will serve router
// namespaces (qrouter-…) the same way. It is level-triggered: every
// second it compares the namespaces that exist and hold the address with
// the listeners it has, opens what is missing and closes what is gone
// (or was recreated: a namespace is known by its inode), so it converges
// after a restart of either part. A namespace without the address (metadata
// off) simply gets no listener.
package metadata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// Address is where instances reach the metadata service.
const Address = "169.254.169.254:80"

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
	// Interval is how often listeners are reconciled.
	Interval time.Duration

	bus atomic.Pointer[rpc.Bus]
	// recMu serializes Reconcile; mu guards listeners for readers.
	recMu     sync.Mutex
	mu        sync.Mutex
	listeners map[string]*listener // network id → its namespace's listener
	failures  map[string]string    // network id → last error, logged once; under recMu
}

var _ agent.Part = (*Part)(nil)

type listener struct {
	dev, ino uint64 // the namespace's identity
	srv      *http.Server
	done     chan struct{}
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

// lookup asks the server for the port with ip on networkID (Neutron's
// get_ports with network_id and fixed_ips filters).
func (p *Part) lookup(ctx context.Context, networkID, ip string) (Instance, error) {
	bus := p.bus.Load()
	if bus == nil {
		return Instance{}, errors.New("not connected to the server")
	}
	var ports []map[string]any
	args := rpcapi.GetPortsArgs{Filters: map[string]any{"network_id": []string{networkID},
		"fixed_ips": map[string]any{"ip_address": []string{ip}}}}
	if err := bus.Call(ctx, rpcapi.TopicPlugin, rpcapi.MethodGetPorts, args, &ports); err != nil {
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

// Reconcile opens a listener in every DHCP namespace that holds the
// metadata address and has none, and closes those whose namespace is
// gone or was recreated.
func (p *Part) Reconcile() {
	want := map[string]unix.Stat_t{}
	if p.dhcpMeta {
		ents, err := os.ReadDir(p.dhcpDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("cannot list the DHCP networks", "dir", p.dhcpDir, "error", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			var st unix.Stat_t
			if unix.Stat(netns.Path(link.DHCPNamespace(e.Name())), &st) == nil {
				want[e.Name()] = st
			}
		}
	}
	p.recMu.Lock()
	defer p.recMu.Unlock()
	p.mu.Lock()
	have := maps.Clone(p.listeners)
	p.mu.Unlock()
	for id, l := range have {
		if st, ok := want[id]; !ok || st.Dev != l.dev || st.Ino != l.ino {
			l.close()
			p.mu.Lock()
			delete(p.listeners, id)
			p.mu.Unlock()
			delete(have, id)
		}
	}
	for id, st := range want {
		if have[id] != nil {
			continue
		}
		l, err := p.listen(id, st)
		if err != nil {
			if msg := err.Error(); p.failures[id] != msg {
				p.failures[id] = msg
				p.log.Warn("cannot serve metadata in namespace", "network_id", id, "error", err)
			}
			continue
		}
		if l == nil {
			continue
		}
		delete(p.failures, id)
		p.mu.Lock()
		p.listeners[id] = l
		p.mu.Unlock()
		p.log.Info("serving metadata", "network_id", id, "netns", link.DHCPNamespace(id), "address", Address)
	}
	for id := range p.failures {
		if _, ok := want[id]; !ok {
			delete(p.failures, id)
		}
	}
}

// listen opens the listener of network id's namespace; nil, nil when the
// namespace does not hold the metadata address (yet).
func (p *Part) listen(id string, st unix.Stat_t) (*listener, error) {
	ns, err := netns.Open(link.DHCPNamespace(id))
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	var l net.Listener
	err = netns.Do(ns, func() error {
		var err error
		l, err = net.Listen("tcp4", Address)
		return err
	})
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s in %s: %w", Address, link.DHCPNamespace(id), err)
	}
	srv := &http.Server{Handler: p.proxy.Handler(id), ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)}
	ln := &listener{dev: st.Dev, ino: st.Ino, srv: srv, done: make(chan struct{})}
	go func() {
		defer close(ln.done)
		srv.Serve(l)
	}()
	return ln, nil
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
func (p *Part) Serving() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.listeners))
	for id := range p.listeners {
		out = append(out, id)
	}
	return out
}
