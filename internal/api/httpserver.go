package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/fault"
)

// HTTPOptions configure the HTTP server in front of the API, with
// Neutron's [DEFAULT] options.
type HTTPOptions struct {
	// ClientSocketTimeout is client_socket_timeout: how long a client
	// may take to send a request, to read its reply, or to stay idle
	// between requests; zero for no limit. It also bounds how long a
	// request is served, so no database statement outlives it.
	ClientSocketTimeout time.Duration
	// KeepAlive is wsgi_keep_alive: whether a connection may carry
	// more than one request.
	KeepAlive bool
	// MaxHeaderLine is max_header_line: the longest request line or
	// header line accepted.
	MaxHeaderLine int
	Logger        *slog.Logger
}

// maxHeaderLines is how many lines of max_header_line bytes a request's
// header block may hold in all: Go bounds the whole block, not each line
// as eventlet did, and every line is also checked on its own.
const maxHeaderLines = 4

// maxHeaderWait bounds how long a client may take to send the request
// line and headers, however long client_socket_timeout allows for the
// rest: no legitimate client trickles its headers.
const maxHeaderWait = 30 * time.Second

// HTTPServer is the http.Server that serves the API, with slow clients
// cut off and every refusal a NeutronError.
type HTTPServer struct {
	*http.Server
	log *slog.Logger
}

// NewHTTPServer builds the HTTP server for handler (the API).
func NewHTTPServer(handler http.Handler, o HTTPOptions) *HTTPServer {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxHeaderLine <= 0 {
		o.MaxHeaderLine = 16384
	}
	h := headerLines(o.MaxHeaderLine)(handler)
	if o.ClientSocketTimeout > 0 {
		h = deadline(o.ClientSocketTimeout)(h)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: maxHeaderWait,
		// Absolute, not per read as eventlet's socket timeout was: a
		// client trickling a byte now and then is cut off all the same.
		ReadTimeout:    o.ClientSocketTimeout,
		WriteTimeout:   o.ClientSocketTimeout,
		IdleTimeout:    o.ClientSocketTimeout,
		MaxHeaderBytes: maxHeaderLines * o.MaxHeaderLine,
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	if o.ClientSocketTimeout > 0 && o.ClientSocketTimeout < maxHeaderWait {
		hs.ReadHeaderTimeout = o.ClientSocketTimeout
	}
	hs.SetKeepAlivesEnabled(o.KeepAlive)
	return &HTTPServer{Server: hs, log: o.Logger}
}

// Serve accepts connections on l and serves them until Shutdown or Close.
func (s *HTTPServer) Serve(l net.Listener) error {
	return s.Server.Serve(s.Listener(l))
}

// Listener wraps l so that net/http's own refusals of malformed requests
// go out as NeutronErrors; Serve does it, callers of s.Server.Serve must.
func (s *HTTPServer) Listener(l net.Listener) net.Listener {
	return &refusalListener{Listener: l, log: s.log}
}

// deadline gives every request a deadline of d, so that the database
// statements it runs stop when it could not answer anyway (its reply's
// write deadline has passed). The deadline's timer is only made when
// something waits on the context (see lazyDeadline).
func deadline(d time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := &lazyDeadline{parent: r.Context(), deadline: time.Now().Add(d)}
			defer ctx.stop()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// lazyDeadline is context.WithDeadline(parent, deadline) made only when
// something asks for its Done channel (a PostgreSQL statement watching
// it, a derived context that must be cancelled with it). A request that
// never waits on its context (a show on SQLite) pays no timer: a
// context.WithTimeout per request was a thirtieth of a show's CPU. Err
// and Deadline answer without making it.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time
	made     atomic.Pointer[madeDeadline]
	mu       sync.Mutex
	stopped  bool // under mu
}

type madeDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *lazyDeadline) make() context.Context {
	if m := c.made.Load(); m != nil {
		return m.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.made.Load(); m != nil {
		return m.ctx
	}
	ctx, cancel := context.WithDeadline(c.parent, c.deadline)
	if c.stopped {
		// Asked for after the request ended: done already, as
		// WithTimeout's context would be.
		cancel()
	}
	c.made.Store(&madeDeadline{ctx: ctx, cancel: cancel})
	return ctx
}

// stop ends the context when its request ends, releasing the deadline's
// timer if it was made.
func (c *lazyDeadline) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if m := c.made.Load(); m != nil {
		m.cancel()
	}
}

func (c *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lazyDeadline) Done() <-chan struct{} { return c.make().Done() }

func (c *lazyDeadline) Err() error {
	if m := c.made.Load(); m != nil {
		return m.ctx.Err()
	}
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		return c.make().Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers from the made context once there is one, so that a
// context derived later finds it as its parent to cancel with.
func (c *lazyDeadline) Value(key any) any {
	if m := c.made.Load(); m != nil {
		return m.ctx.Value(key)
	}
	return c.parent.Value(key)
}

// headerLines refuses a request whose request line or any header line is
// longer than max bytes, as max_header_line does in Neutron.
func headerLines(max int) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.Method)+len(r.RequestURI)+len(r.Proto)+2 > max {
				w.Header().Set("Connection", "close")
				writeFault(w, fault.New(http.StatusRequestURITooLong, "HTTPRequestURITooLong",
					"The request URI was too long for this server: the request line is longer than max_header_line (%d bytes).", max))
				return
			}
			for name, vals := range r.Header {
				for _, v := range vals {
					if len(name)+2+len(v) > max {
						w.Header().Set("Connection", "close")
						writeFault(w, fault.New(http.StatusRequestHeaderFieldsTooLarge, "HTTPRequestHeaderFieldsTooLarge",
							"The request header fields were too large: a line is longer than max_header_line (%d bytes).", max))
						return
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// net/http answers some malformed requests itself, before any handler
// runs: a bad request line or method, a bad or repeated Content-Length, a
// header it cannot parse (a NUL in it), headers over MaxHeaderBytes (431),
// an unsupported HTTP version (505) or transfer encoding (501). It writes
// those replies straight to the connection, as one write of a fixed shape:
//
//	HTTP/1.1 <code> <text>[: <reason>]\r\n
//	Content-Type: text/plain; charset=utf-8\r\n
//	Connection: close\r\n
//	\r\n
//	<plain text>
//
// and offers no hook to change them. So the listener wraps each
// connection, and a write of exactly that shape is replaced with the same
// status as a NeutronError. Replies from handlers can never take that
// shape: net/http always gives them a Date header and a length or
// chunked encoding, and sorts their headers (Connection before
// Content-Type), so nothing else is touched. Should a later Go change the
// canned shape, the refusals would go out as plain text again, and the
// test replaying them fails.

// refusalListener wraps accepted connections in refusalConn.
type refusalListener struct {
	net.Listener
	log *slog.Logger
}

func (l *refusalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &refusalConn{Conn: c, log: l.log}, nil
}

// refusalConn rewrites net/http's canned refusals as NeutronErrors.
type refusalConn struct {
	net.Conn
	log *slog.Logger
}

const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *refusalConn) Write(b []byte) (int, error) {
	reply, ok := rewriteRefusal(b)
	if !ok {
		return c.Conn.Write(b)
	}
	c.log.Info("refused a malformed request", "remote", c.RemoteAddr().String(), "status", string(b[9:12]))
	if _, err := c.Conn.Write(reply); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite lets net/http half-close the connection after a 431, as it
// does on a bare TCP connection.
func (c *refusalConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// rewriteRefusal returns the NeutronError reply for a canned refusal b,
// or false when b is anything else.
func rewriteRefusal(b []byte) ([]byte, bool) {
	const prefix = "HTTP/1.1 "
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	// The canned headers follow the status line: a handler's reply,
	// whose headers are sorted, has its Content-Length first (or some
	// other header before Content-Type), so it is told apart without
	// reading on.
	end := bytes.Index(b, []byte("\r\n"))
	if end < len(prefix)+3 || !bytes.HasPrefix(b[end:], []byte(cannedHeaders)) {
		return nil, false
	}
	status := string(b[len(prefix):end])
	if strings.ContainsAny(status, "\r\n") {
		return nil, false
	}
	code, err := strconv.Atoi(status[:3])
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	_, reason, _ := strings.Cut(status, ": ")
	f := refusalFault(code, reason)
	body, _ := json.Marshal(neutronError{errorBody{Type: f.Type, Message: f.Message, Detail: f.Detail}})
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"X-Openstack-Request-Id: req-%s\r\nConnection: close\r\n\r\n", code, http.StatusText(code), len(body), uuid.NewString())
	out.Write(body)
	return out.Bytes(), true
}

// refusalFault is the NeutronError for a refusal: webob's exception for
// the status, with its explanation, and net/http's reason as the detail.
func refusalFault(code int, reason string) *fault.Error {
	var f *fault.Error
	switch code {
	case http.StatusBadRequest:
		f = fault.New(code, "HTTPBadRequest", "The server could not comply with the request since it is either malformed or otherwise incorrect.")
	case http.StatusRequestHeaderFieldsTooLarge:
		f = fault.New(code, "HTTPRequestHeaderFieldsTooLarge", "The request header fields were too large.")
	case http.StatusHTTPVersionNotSupported:
		f = fault.New(code, "HTTPVersionNotSupported", "The HTTP version is not supported.")
	case http.StatusNotImplemented:
		f = fault.New(code, "HTTPNotImplemented", "The request's transfer encoding is not implemented by this server.")
	default:
		f = fault.New(code, "HTTP"+strings.ReplaceAll(http.StatusText(code), " ", ""), "%s", http.StatusText(code))
	}
	f.Detail = reason
	return f
}
