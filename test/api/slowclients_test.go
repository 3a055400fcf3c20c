package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSlowClientsAreCutOff opens connections that trickle their headers,
// trickle their body, stop their body halfway, never send anything, or
// never read a large reply, against a server with client_socket_timeout
// = 5: each is closed within 10 s, while a normal client is served
// throughout.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"),
		map[string]string{"quotas.quota_network": "-1", "DEFAULT.client_socket_timeout": "5"})
	// A list long enough to be streamed, and far larger than what the
	// slow reader's socket buffers take.
	e.populate(3000)

	// The server's HTTP server as configured; served here rather than
	// through the test environment's, to see its connections close.
	hs := e.srv.HTTPServer()
	var mu sync.Mutex
	closedAt := map[string]time.Time{}
	hs.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed || s == http.StateHijacked {
			mu.Lock()
			closedAt[c.RemoteAddr().String()] = time.Now()
			mu.Unlock()
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	addr := l.Addr().String()

	// Slow readers' sockets take little, so the server must wait on them.
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	type slow struct {
		name string
		// start sends what the client sends at once; then every second
		// it sends trickle (if any).
		start, trickle string
		// read is whether the client reads what comes back (slowly).
		read bool
	}
	clients := []slow{
		{name: "headers trickled", start: "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n", trickle: "X"},
		{name: "body trickled", start: "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 1000\r\n\r\n{", trickle: " "},
		{name: "body stopped halfway", start: "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 1000\r\n\r\n{\"network\": {"},
		{name: "nothing sent"},
		{name: "reply never read", start: "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n\r\n"},
		{name: "reply read slowly", start: "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n\r\n", read: true},
	}
	opened := time.Now()
	local := make([]string, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		conn, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		local[i] = conn.LocalAddr().String()
		io.WriteString(conn, c.start)
		if c.trickle != "" {
			go func() {
				for range time.Tick(time.Second) {
					if _, err := io.WriteString(conn, c.trickle); err != nil {
						return
					}
				}
			}()
		}
		if c.read {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 512)
				for range time.Tick(time.Second) {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}

	// A normal client is served all along.
	served := 0
	for time.Since(opened) < 10*time.Second {
		begin := time.Now()
		r := e.viaAddr(t, addr, "/v2.0/networks?limit=1")
		if r.status != 200 {
			t.Fatalf("normal client: %d %s", r.status, r.raw)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("normal client waited %v", d)
		}
		served++
		time.Sleep(250 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	for i, c := range clients {
		at, ok := closedAt[local[i]]
		switch {
		case !ok:
			t.Errorf("%s: connection still open after %v", c.name, time.Since(opened).Round(time.Second))
		case at.Sub(opened) > 10*time.Second:
			t.Errorf("%s: closed only after %v", c.name, at.Sub(opened))
		default:
			t.Logf("%s: closed after %v", c.name, at.Sub(opened).Round(100*time.Millisecond))
		}
	}
	t.Logf("normal client served %d times meanwhile", served)
}

// viaAddr sends GET path to the server at addr on a new connection.
func (e *env) viaAddr(t *testing.T, addr, path string) *reply {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &reply{status: resp.StatusCode, header: resp.Header, raw: raw}
}

// TestHTTPServerOptions checks wsgi_keep_alive and max_header_line as an
// operator sets them.
func TestHTTPServerOptions(t *testing.T) {
	e := newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"),
		map[string]string{"DEFAULT.wsgi_keep_alive": "false", "DEFAULT.max_header_line": "1024"})
	// net/http closes the connection after the reply without saying so.
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("wsgi_keep_alive = false, and the connection stays open after a reply (read: %v)", err)
	}
	e.do(admin, "GET", "/v2.0/networks", nil, "X-Pad", strings.Repeat("p", 1100)).
		neutronError(t, 431, "max_header_line (1024 bytes)")
	e.do(admin, "GET", "/v2.0/networks?name="+strings.Repeat("n", 1100), nil).
		neutronError(t, 414, "max_header_line (1024 bytes)")
	e.do(admin, "GET", "/v2.0/networks", nil, "X-Pad", strings.Repeat("p", 900)).expect(t, 200)
}
