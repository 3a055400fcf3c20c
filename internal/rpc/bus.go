package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// DefaultTimeout is oslo.messaging's rpc_response_timeout default.
const DefaultTimeout = 60 * time.Second

// DefaultWorkers is oslo.messaging's executor_thread_pool_size default.
const DefaultWorkers = 64

// Options configure a Bus.
type Options struct {
	// TransportURL is [DEFAULT] transport_url: "nats://[user:pass@]host:port
	// [,[user:pass@]host2:port]/[vhost]". Empty embeds a NATS server.
	TransportURL string
	// EmbeddedHost and EmbeddedPort are where an embedded server listens
	// for agents on other hosts; EmbeddedPort 0 accepts in-process
	// connections only, -1 picks a free port.
	EmbeddedHost string
	EmbeddedPort int
	// TLS and credentials for an external cluster ([nats] section).
	TLSCAFile   string
	TLSCertFile string
	TLSKeyFile  string
	CredsFile   string
	// Timeout bounds Call; zero means DefaultTimeout.
	Timeout time.Duration
	// Workers bounds the calls one Serve handles at once (oslo.messaging's
	// executor_thread_pool_size); zero means DefaultWorkers. Calls beyond
	// it wait their turn rather than pile onto the database.
	Workers int
	// Name names the connection in the NATS server's monitoring.
	Name string
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// Bus is a connection to the message bus, and the embedded NATS server
// when there is one. It is safe for concurrent use.
type Bus struct {
	nc      *nats.Conn
	ns      *natsserver.Server
	prefix  string
	timeout time.Duration
	workers int
	log     *slog.Logger

	mu     sync.Mutex
	subs   []*nats.Subscription
	closed bool
}

// Open connects to the bus: to the cluster named by TransportURL, or to a
// NATS server it starts in this process.
func Open(ctx context.Context, o Options) (*Bus, error) {
	b := &Bus{timeout: o.Timeout, workers: o.Workers, log: o.Logger}
	if b.timeout <= 0 {
		b.timeout = DefaultTimeout
	}
	if b.workers <= 0 {
		b.workers = DefaultWorkers
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	copts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("message bus disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { b.log.Info("message bus reconnected", "server", c.ConnectedUrlRedacted()) }),
	}
	var servers string
	if o.TransportURL == "" {
		ns, err := startEmbedded(o.EmbeddedHost, o.EmbeddedPort)
		if err != nil {
			return nil, err
		}
		b.ns = ns
		copts = append(copts, nats.InProcessServer(ns))
	} else {
		urls, prefix, err := ParseTransportURL(o.TransportURL)
		if err != nil {
			return nil, err
		}
		servers, b.prefix = strings.Join(urls, ","), prefix
		if o.TLSCAFile != "" {
			copts = append(copts, nats.RootCAs(o.TLSCAFile))
		}
		if o.TLSCertFile != "" || o.TLSKeyFile != "" {
			copts = append(copts, nats.ClientCert(o.TLSCertFile, o.TLSKeyFile))
		}
		if o.CredsFile != "" {
			copts = append(copts, nats.UserCredentials(o.CredsFile))
		}
		if dl, ok := ctx.Deadline(); ok {
			copts = append(copts, nats.Timeout(time.Until(dl)))
		}
		// Keep retrying the first connection in the background rather
		// than failing a start that races the cluster's own.
		copts = append(copts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(servers, copts...)
	if err != nil {
		b.shutdownEmbedded()
		return nil, fmt.Errorf("connect to message bus %s: %w", redactURL(o.TransportURL), err)
	}
	b.nc = nc
	if o.TransportURL != "" {
		// RetryOnFailedConnect returns before the first connection: wait
		// for it so a misconfigured URL fails at start, not on first use.
		if err := waitConnected(ctx, nc); err != nil {
			nc.Close()
			return nil, fmt.Errorf("connect to message bus %s: %w", redactURL(o.TransportURL), err)
		}
	}
	return b, nil
}

func waitConnected(ctx context.Context, nc *nats.Conn) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			if err := nc.LastError(); err != nil {
				return err
			}
			return fmt.Errorf("not connected: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

func startEmbedded(host string, port int) (*natsserver.Server, error) {
	opts := &natsserver.Options{
		ServerName: "neutrino-embedded",
		Host:       host,
		Port:       port,
		NoSigs:     true,
		NoLog:      true,
		// Agents' replies can be large (a network's ports for DHCP).
		MaxPayload: 8 << 20,
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	switch port {
	case 0:
		opts.DontListen = true
	case -1:
		opts.Port = natsserver.RANDOM_PORT
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded message bus: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded message bus: not ready to listen on %s within 10s (port in use?)",
			net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	}
	return ns, nil
}

// ParseTransportURL splits an oslo.messaging transport URL with the nats
// driver into NATS server URLs and the subject prefix its virtual host
// gives ("" or "vhost."). Each host keeps its own user:pass@.
func ParseTransportURL(s string) (urls []string, prefix string, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, "", fmt.Errorf("transport_url %q: not a URL", redactURL(s))
	}
	switch scheme {
	case "nats", "tls":
	default:
		return nil, "", fmt.Errorf("transport_url %s: unsupported transport %q (Neutrino speaks nats://)", redactURL(s), scheme)
	}
	rest = strings.ReplaceAll(rest, ","+scheme+"://", ",")
	hosts, vhost, _ := strings.Cut(rest, "/")
	vhost, _, _ = strings.Cut(vhost, "?")
	for h := range strings.SplitSeq(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		u, err := url.Parse(scheme + "://" + h)
		if err != nil || u.Host == "" {
			return nil, "", fmt.Errorf("transport_url %s: bad host %q", redactURL(s), redactURL(h))
		}
		if u.Port() == "" {
			u.Host = net.JoinHostPort(u.Hostname(), "4222")
		}
		urls = append(urls, u.String())
	}
	if len(urls) == 0 {
		return nil, "", fmt.Errorf("transport_url %s: no hosts", redactURL(s))
	}
	if vhost != "" {
		if strings.ContainsAny(vhost, " .*>") {
			return nil, "", fmt.Errorf("transport_url %s: virtual host %q may not contain spaces, dots, '*' or '>'", redactURL(s), vhost)
		}
		prefix = vhost + "."
	}
	return urls, prefix, nil
}

// redactURL hides passwords in a transport URL for errors and logs.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	parts := strings.Split(rest, ",")
	for i, p := range parts {
		at := strings.LastIndexByte(p, '@')
		if at < 0 {
			continue
		}
		if user, _, has := strings.Cut(p[:at], ":"); has {
			parts[i] = user + ":xxxxx" + p[at:]
		}
	}
	return scheme + "://" + strings.Join(parts, ",")
}

// ClientURL is where agents on other hosts reach an embedded server
// ("nats://127.0.0.1:4222"); empty for an external cluster or an embedded
// server that accepts in-process connections only.
func (b *Bus) ClientURL() string {
	if b.ns == nil || b.ns.Addr() == nil {
		return ""
	}
	return b.ns.ClientURL()
}

// Embedded returns the in-process NATS server, nil with an external one;
// in-process agents connect to it without a listener (InProcess).
func (b *Bus) Embedded() *natsserver.Server { return b.ns }

// Conn is the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Timeout is the Call timeout.
func (b *Bus) Timeout() time.Duration { return b.timeout }

// Flush waits until the server has received everything published so far.
func (b *Bus) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush message bus: %w", err)
	}
	return nil
}

// Close stops the bus's consumers (letting handlers in flight finish),
// closes the connection and shuts an embedded server down.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	var errs []error
	if !b.nc.IsConnected() {
		subs = nil // nothing can drain through a broken connection
	}
	for _, s := range subs {
		if err := s.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	if len(subs) > 0 {
		// Drain is asynchronous: give handlers in flight time to reply.
		deadline := time.Now().Add(5 * time.Second)
		for _, s := range subs {
			for s.IsValid() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	b.nc.Close()
	b.shutdownEmbedded()
	return errors.Join(errs...)
}

func (b *Bus) shutdownEmbedded() {
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
}

// InProcess connects another Bus to the same embedded server without a
// network listener: an in-process agent of all-in-one uses it. It fails
// on a bus that uses an external cluster.
func (b *Bus) InProcess(name string, logger *slog.Logger) (*Bus, error) {
	if b.ns == nil {
		return nil, errors.New("message bus: no embedded server to connect to in-process")
	}
	nc, err := nats.Connect("", nats.InProcessServer(b.ns), nats.Name(name))
	if err != nil {
		return nil, fmt.Errorf("connect in-process to message bus: %w", err)
	}
	if logger == nil {
		logger = b.log
	}
	return &Bus{nc: nc, prefix: b.prefix, timeout: b.timeout, workers: b.workers, log: logger}, nil
}

// SetTimeout changes the Call timeout; zero keeps it.
func (b *Bus) SetTimeout(d time.Duration) {
	if d > 0 {
		b.timeout = d
	}
}
