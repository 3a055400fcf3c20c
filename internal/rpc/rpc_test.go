package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
)

func TestCall(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		srv, cli := tr.Open(t), tr.Open(t)
		err := srv.Serve("q-test", rpc.Handlers{
			"echo": func(_ context.Context, args json.RawMessage) (any, error) {
				var a struct{ Host string }
				if err := json.Unmarshal(args, &a); err != nil {
					return nil, err
				}
				return map[string]string{"hello": a.Host}, nil
			},
			"missing": func(context.Context, json.RawMessage) (any, error) {
				return nil, fault.New(404, "NetworkNotFound", "Network %s could not be found.", "n1")
			},
			"plain":   func(context.Context, json.RawMessage) (any, error) { return nil, errors.New("boom") },
			"panics":  func(context.Context, json.RawMessage) (any, error) { panic("kaput") },
			"nothing": func(context.Context, json.RawMessage) (any, error) { return nil, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var got map[string]string
		if err := cli.Call(ctx, "q-test", "echo", map[string]string{"host": "h1"}, &got); err != nil {
			t.Fatalf("call: %v", err)
		}
		if got["hello"] != "h1" {
			t.Errorf("echo = %v, want hello=h1", got)
		}
		if err := cli.Call(ctx, "q-test", "nothing", nil, nil); err != nil {
			t.Errorf("call returning nothing: %v", err)
		}
		for _, c := range []struct{ method, typ, msg string }{
			{"missing", "NetworkNotFound", "Network n1 could not be found."},
			{"plain", "RemoteError", "boom"},
			{"panics", "InternalError", "panics on topic q-test failed: kaput"},
			{"nosuch", "NoSuchMethod", "endpoint does not support RPC method nosuch on topic q-test"},
		} {
			err := cli.Call(ctx, "q-test", c.method, nil, nil)
			var re *rpc.RemoteError
			if !errors.As(err, &re) {
				t.Errorf("%s: error %v (%T), want *RemoteError", c.method, err, err)
				continue
			}
			if re.Type != c.typ || re.Message != c.msg {
				t.Errorf("%s: remote error %q: %q, want %q: %q", c.method, re.Type, re.Message, c.typ, c.msg)
			}
		}
		if err := cli.Call(ctx, "q-nobody", "echo", nil, nil); !errors.Is(err, rpc.ErrNoConsumer) {
			t.Errorf("call to a topic nobody serves: %v, want ErrNoConsumer", err)
		}
	})
}

func TestCallTimeout(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		srv := tr.Open(t)
		cli := tr.Open(t, func(o *rpc.Options) { o.Timeout = 200 * time.Millisecond })
		release := make(chan struct{})
		defer close(release)
		if err := srv.Serve("q-slow", rpc.Handlers{"sleep": func(context.Context, json.RawMessage) (any, error) {
			<-release
			return nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := cli.Call(context.Background(), "q-slow", "sleep", nil, nil)
		var te *rpc.TimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("call error %v, want *TimeoutError", err)
		}
		if el := time.Since(start); el < 200*time.Millisecond || el > 5*time.Second {
			t.Errorf("timed out after %s, want about 200ms", el)
		}
		if msg := err.Error(); !strings.Contains(msg, "sleep") || !strings.Contains(msg, "q-slow") {
			t.Errorf("timeout error %q does not name the method and topic", msg)
		}
		// A context deadline shorter than the bus timeout wins.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start = time.Now()
		if err := cli.Call(ctx, "q-slow", "sleep", nil, nil); !errors.As(err, &te) {
			t.Errorf("call error %v, want *TimeoutError", err)
		}
		if el := time.Since(start); el > 180*time.Millisecond {
			t.Errorf("context deadline ignored: took %s", el)
		}
	})
}

// consumers starts n consumers of topic on their own connections and
// counts what each receives.
func consumers(t *testing.T, tr *rpctest.Transport, topic string, n int) ([]atomic.Int64, *sync.WaitGroup, <-chan int) {
	counts := make([]atomic.Int64, n)
	marked := make(chan int, 1000)
	var wg sync.WaitGroup
	for i := range n {
		b := tr.Open(t)
		if err := b.Serve(topic, rpc.Handlers{"ping": func(context.Context, json.RawMessage) (any, error) {
			counts[i].Add(1)
			wg.Done()
			return nil, nil
		}, "marker": func(context.Context, json.RawMessage) (any, error) {
			marked <- i
			return nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return counts, &wg, marked
}

// awaitMarkers sends a marker with send, and again after each one handled,
// until every one of n consumers has handled one: a consumer handles a
// subscription's messages one at a time in the order sent, so once it has
// handled a marker it has handled everything sent to it before, any
// duplicate included. This replaces a fixed wait for "nothing else".
func awaitMarkers(t *testing.T, n int, marked <-chan int, send func() error) {
	t.Helper()
	seen := map[int]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		if err := send(); err != nil {
			t.Fatal(err)
		}
		select {
		case i := <-marked:
			seen[i] = true
		case <-deadline:
			t.Fatalf("markers reached consumers %v of %d", seen, n)
		}
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("messages not delivered within 10s")
	}
}

func TestCastReachesOneConsumer(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		const consumersN, casts = 3, 60
		counts, wg, marked := consumers(t, tr, "q-cast", consumersN)
		cli := tr.Open(t)
		wg.Add(casts)
		for range casts {
			if err := cli.Cast(context.Background(), "q-cast", "ping", nil); err != nil {
				t.Fatal(err)
			}
		}
		waitGroup(t, wg)
		// Casts (not fanouts) as markers: they share the casts'
		// subscription, hence their order; each reaches one consumer, so
		// they are repeated until every consumer had one.
		awaitMarkers(t, consumersN, marked, func() error { return cli.Cast(context.Background(), "q-cast", "marker", nil) })
		var total int64
		for i := range counts {
			total += counts[i].Load()
		}
		if total != casts {
			t.Errorf("%d casts delivered %d times, want each exactly once", casts, total)
		}
	})
}

func TestFanoutReachesEveryConsumer(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		const consumersN, fanouts = 3, 5
		counts, wg, marked := consumers(t, tr, "q-fan", consumersN)
		cli := tr.Open(t)
		wg.Add(consumersN * fanouts)
		for range fanouts {
			if err := cli.Fanout(context.Background(), "q-fan", "ping", nil); err != nil {
				t.Fatal(err)
			}
		}
		waitGroup(t, wg)
		awaitMarkers(t, consumersN, marked, func() error { return cli.Fanout(context.Background(), "q-fan", "marker", nil) })
		for i := range counts {
			if n := counts[i].Load(); n != fanouts {
				t.Errorf("consumer %d got %d fanouts, want %d", i, n, fanouts)
			}
		}
	})
}

func TestSendNotification(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		srv, cli := tr.Open(t), tr.Open(t)
		got := make(chan string, 4)
		if err := srv.Serve(rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host1"), rpc.Handlers{
			"port_create_end": func(_ context.Context, args json.RawMessage) (any, error) {
				got <- string(args)
				return nil, nil
			}}); err != nil {
			t.Fatal(err)
		}
		// The other host's agent must not receive it.
		if err := srv.Serve(rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host2"), rpc.Handlers{
			"port_create_end": func(_ context.Context, args json.RawMessage) (any, error) {
				got <- "host2"
				return nil, nil
			},
			"marker": func(_ context.Context, args json.RawMessage) (any, error) {
				got <- "host2 marker"
				return nil, nil
			}}); err != nil {
			t.Fatal(err)
		}
		n := rpcapi.Notification{Topic: rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host1"), Method: "port_create_end",
			Args: json.RawMessage(`{"payload":{"port":{"id":"p1"}}}`)}
		if err := cli.Send(n); err != nil {
			t.Fatal(err)
		}
		if err := cli.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != `{"payload":{"port":{"id":"p1"}}}` {
				t.Errorf("args = %s", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("notification not delivered")
		}
		// Markers after it on both hosts' topics, from the same sender:
		// a second delivery, to either host, would come before them.
		for _, m := range []rpcapi.Notification{
			{Topic: rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host1"), Method: "port_create_end", Args: json.RawMessage(`"marker"`)},
			{Topic: rpcapi.HostTopic(rpcapi.TopicDHCPAgent, "host2"), Method: "marker", Args: json.RawMessage(`{}`)},
		} {
			if err := cli.Send(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := cli.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for pending := 2; pending > 0; {
			select {
			case s := <-got:
				if s != `"marker"` && s != "host2 marker" {
					t.Fatalf("a second delivery: %s", s)
				}
				pending--
			case <-time.After(5 * time.Second):
				t.Fatal("markers not delivered")
			}
		}
	})
}

func TestParseTransportURL(t *testing.T) {
	for _, c := range []struct {
		in     string
		urls   string
		prefix string
		err    string
	}{
		{in: "nats://127.0.0.1:4222", urls: "nats://127.0.0.1:4222"},
		{in: "nats://h1", urls: "nats://h1:4222"},
		{in: "nats://u:p@h1:4222,u2:p2@h2:4223/", urls: "nats://u:p@h1:4222 nats://u2:p2@h2:4223"},
		{in: "nats://h1:4222,nats://h2:4222/prod", urls: "nats://h1:4222 nats://h2:4222", prefix: "prod."},
		{in: "tls://h1:4222", urls: "tls://h1:4222"},
		{in: "rabbit://guest:secret@h1:5672/", err: "rabbit://guest:xxxxx@h1:5672/: unsupported transport"},
		{in: "nats:///", err: "no hosts"},
		{in: "nats://h1/a.b", err: "virtual host"},
		{in: "h1:4222", err: "not a URL"},
	} {
		urls, prefix, err := rpc.ParseTransportURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := strings.Join(urls, " "); got != c.urls || prefix != c.prefix {
			t.Errorf("%s: %q %q, want %q %q", c.in, got, prefix, c.urls, c.prefix)
		}
	}
}

func TestExternalConnectFailsClearly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := rpc.Open(ctx, rpc.Options{TransportURL: "nats://u:secret@127.0.0.1:1"})
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	if msg := err.Error(); strings.Contains(msg, "secret") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Errorf("error %q: want the address named and the password hidden", msg)
	}
}

// TestCallsBoundedByWorkers: a consumer handles at most Workers calls at
// once; the rest wait their turn and still get answered.
func TestCallsBoundedByWorkers(t *testing.T) {
	tr := &rpctest.Transport{Name: "embedded"}
	srv := tr.Open(t, func(o *rpc.Options) { o.Workers = 3 })
	cli := tr.Open(t)
	var running, peak atomic.Int32
	if err := srv.Serve("q-busy", rpc.Handlers{"work": func(context.Context, json.RawMessage) (any, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := cli.Call(context.Background(), "q-busy", "work", nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Errorf("at most %d calls ran at once, want 3", p)
	}
}
