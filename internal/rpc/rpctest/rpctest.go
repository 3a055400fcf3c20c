// Package rpctest runs tests against the message bus both ways Neutrino
// deploys it: the NATS server embedded in-process, and Debian's external
// nats-server. Only tests import it.
package rpctest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/testenv/ci"
)

// Transport is one way to run the bus in a test.
type Transport struct {
	// Name is "embedded" or "external".
	Name string
	// URL is the transport_url of an external server; empty when embedded.
	URL string

	mu    sync.Mutex
	first *rpc.Bus
}

// Open returns a new connection to the test's bus, closed at the test's
// end. On the embedded transport the first Open starts the server and
// later ones connect to it in-process. opts adjust the options (timeout).
func (tr *Transport) Open(t testing.TB, opts ...func(*rpc.Options)) *rpc.Bus {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	o := rpc.Options{TransportURL: tr.URL, EmbeddedPort: 0, Name: t.Name()}
	for _, f := range opts {
		f(&o)
	}
	if tr.URL == "" && tr.first != nil {
		b, err := tr.first.InProcess(t.Name(), nil)
		if err != nil {
			t.Fatalf("connect in-process: %v", err)
		}
		b.SetTimeout(o.Timeout)
		t.Cleanup(func() { b.Close() })
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := rpc.Open(ctx, o)
	if err != nil {
		t.Fatalf("open bus (%s): %v", tr.Name, err)
	}
	if tr.URL == "" {
		tr.first = b
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Each runs f on an embedded bus and on an external nats-server.
func Each(t *testing.T, f func(t *testing.T, tr *Transport)) {
	t.Run("embedded", func(t *testing.T) { f(t, &Transport{Name: "embedded"}) })
	t.Run("external", func(t *testing.T) { f(t, &Transport{Name: "external", URL: StartServer(t)}) })
}

// Password is the external test server's password for user neutrino.
const Password = "s3cret"

// NATSServerBinary finds Debian's nats-server (package nats-server).
func NATSServerBinary() string {
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	return ""
}

// StartServer runs an external nats-server on a free loopback port for
// the test and returns its nats:// URL. Without the binary the test is
// skipped, except under CI=true where that is a failure.
func StartServer(t testing.TB) string {
	t.Helper()
	bin := NATSServerBinary()
	if bin == "" {
		ci.Require(t, "nats-server not installed (apt-get install nats-server)")
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		// Credentials, so the user:pass@ form of transport_url is exercised.
		conf := filepath.Join(t.TempDir(), "nats.conf")
		if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 8MB\n"+
			"authorization { user: neutrino, password: %q }\n", port, Password)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", conf)
		if testing.Verbose() {
			cmd.Stderr = os.Stderr
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start nats-server: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-done:
				deadline = time.Time{} // exited: port taken meanwhile; retry
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				c.Close()
				t.Cleanup(func() {
					cmd.Process.Kill()
					<-done
				})
				return fmt.Sprintf("nats://neutrino:%s@%s", Password, addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		<-done
	}
	t.Fatal("nats-server did not start")
	return ""
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
