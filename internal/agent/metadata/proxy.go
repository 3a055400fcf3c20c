package metadata

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// Instance is who owns an address on a network: the port's device_id
// (the instance) and project.
type Instance struct {
	ID        string
	ProjectID string
}

// Source is where a request came from: the namespace's network (a DHCP
// namespace) or router (a router namespace: the instance is on one of
// the router's networks), and the client's address. MAC is set instead
// of IP for an IPv6 link-local client, whose address no port lists:
// Neutron finds its port by the MAC its EUI-64 address carries.
type Source struct {
	NetworkID string
	RouterID  string
	IP        string
	MAC       string
}

func (s Source) key() string {
	return s.NetworkID + "|" + s.RouterID + "|" + s.IP + "|" + s.MAC
}

// Lookup finds the instance a request comes from; a zero Instance when
// no single port matches.
type Lookup func(ctx context.Context, src Source) (Instance, error)

// Proxy answers instances' metadata requests by forwarding them to Nova's
// metadata API with the instance's identity, signed, as Neutron's
// MetadataProxyHandler does. One Proxy serves every namespace.
type Proxy struct {
	opts   Options
	lookup Lookup
	nova   *url.URL
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached // Source.key()
}

type cached struct {
	inst    Instance
	expires time.Time
}

// NewProxy returns a proxy to the Nova metadata API of opts.
func NewProxy(opts Options, lookup Lookup, logger *slog.Logger) (*Proxy, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Requests from instances are few and small; a slow Nova holds only
	// its own requests (each on its own goroutine), never the others.
	tr.MaxIdleConnsPerHost = 16
	if opts.NovaProtocol == "https" {
		tc := &tls.Config{InsecureSkipVerify: opts.Insecure}
		if opts.CACert != "" {
			pem, err := os.ReadFile(opts.CACert)
			if err != nil {
				return nil, fmt.Errorf("auth_ca_cert: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("auth_ca_cert: no PEM certificate in %s", opts.CACert)
			}
		}
		if opts.ClientCert != "" {
			cert, err := tls.LoadX509KeyPair(opts.ClientCert, opts.ClientKey)
			if err != nil {
				return nil, fmt.Errorf("nova_client_cert, nova_client_priv_key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	u := &url.URL{Scheme: opts.NovaProtocol, Host: net.JoinHostPort(opts.NovaHost, strconv.Itoa(opts.NovaPort))}
	return &Proxy{opts: opts, lookup: lookup, nova: u, log: logger, now: time.Now, cache: map[string]cached{},
		// Redirects are followed, with the identity headers kept (Nova's
		// own host), as Neutron's requests call does by default.
		client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}, nil
}

// Sign is X-Instance-ID-Signature: the HMAC-SHA256 of the instance id with
// the shared secret, in hex, as Nova checks it.
func Sign(secret, instanceID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(instanceID))
	return hex.EncodeToString(m.Sum(nil))
}

// Handler serves the metadata requests arriving in network networkID's
// namespace: the source address names the instance.
func (p *Proxy) Handler(networkID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, Source{NetworkID: networkID}) })
}

// RouterHandler serves the metadata requests arriving in router
// routerID's namespace: the source address on one of the router's
// networks names the instance.
func (p *Proxy) RouterHandler(routerID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, Source{RouterID: routerID}) })
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, src Source) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		http.Error(w, "bad remote address", http.StatusBadRequest)
		return
	}
	// A dual-stack listener sees IPv4 clients as IPv4-mapped addresses.
	addr := ap.Addr().Unmap().WithZone("")
	ip := addr.String()
	src.IP = ip
	if addr.Is6() && addr.IsLinkLocalUnicast() {
		src.IP, src.MAC = "", macOfEUI64(addr)
	}
	inst, err := p.instance(r.Context(), src)
	if err != nil {
		p.log.Error("metadata: looking up the instance failed", "network_id", src.NetworkID, "router_id", src.RouterID,
			"address", ip, "error", err)
		http.Error(w, "An unknown error has occurred. Please try your request again.", http.StatusInternalServerError)
		return
	}
	if inst.ID == "" {
		p.log.Debug("metadata: no instance has this address", "network_id", src.NetworkID, "router_id", src.RouterID, "address", ip)
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	p.forward(w, r, ip, inst)
}

// macOfEUI64 is the MAC address an IPv6 address's EUI-64 interface
// identifier was made from (the universal/local bit flipped back, the
// ff:fe in the middle dropped).
func macOfEUI64(a netip.Addr) string {
	b := a.As16()
	mac := net.HardwareAddr{b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]}
	return mac.String()
}

// instance looks the source up, through the cache.
func (p *Proxy) instance(ctx context.Context, src Source) (Instance, error) {
	key := src.key()
	now := p.now()
	p.mu.Lock()
	c, ok := p.cache[key]
	p.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.inst, nil
	}
	inst, err := p.lookup(ctx, src)
	if err != nil {
		return Instance{}, err
	}
	p.mu.Lock()
	if len(p.cache) > 10000 {
		for k, v := range p.cache {
			if !now.Before(v.expires) {
				delete(p.cache, k)
			}
		}
	}
	p.cache[key] = cached{inst: inst, expires: now.Add(p.opts.CacheTTL)}
	p.mu.Unlock()
	return inst, nil
}

// forward sends the request to Nova with the instance's identity and
// relays the answer as Neutron does: a 200 with its body and type, the
// errors Nova may give as they are, anything else as a 500.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, ip string, inst Instance) {
	u := *p.nova
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("X-Instance-ID", inst.ID)
	req.Header.Set("X-Tenant-ID", inst.ProjectID)
	req.Header.Set("X-Instance-ID-Signature", Sign(p.opts.SharedSecret, inst.ID))
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Error("metadata: Nova's metadata API did not answer", "url", u.String(), "instance_id", inst.ID, "error", err)
		// Neutron answers 503 when Nova cannot be reached, 500 for
		// anything else (a timeout).
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			http.Error(w, "The remote metadata server is temporarily unavailable. Please try again later.", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "An unknown error has occurred. Please try your request again.", http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(http.StatusOK)
		io.Copy(w, resp.Body)
	case http.StatusForbidden:
		p.log.Warn("The remote metadata server responded with Forbidden. This response usually occurs when shared secrets do not match.",
			"instance_id", inst.ID)
		http.Error(w, "Forbidden", http.StatusForbidden)
	case http.StatusInternalServerError:
		p.log.Warn("Remote metadata server experienced an internal server error.", "instance_id", inst.ID)
		http.Error(w, "Remote metadata server experienced an internal server error.", http.StatusInternalServerError)
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		http.Error(w, http.StatusText(resp.StatusCode), resp.StatusCode)
	default:
		p.log.Error("metadata: unexpected response code from Nova", "code", resp.StatusCode, "instance_id", inst.ID)
		http.Error(w, "An unknown error has occurred. Please try your request again.", http.StatusInternalServerError)
	}
}
