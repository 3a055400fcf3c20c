package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/nova"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// The Nova notifier: a real HTTP server stands in for Nova's
// /os-server-external-events and receives what the server sends.

// fakeNova is Nova's external events API. fail answers the first
// requests with the given status codes; later ones get 200 with a code
// for each event (404 for instances in unknown).
type fakeNova struct {
	*httptest.Server
	mu       sync.Mutex
	posts    [][]nova.Event // every request's events, in order
	times    []time.Time
	fail     []int
	unknown  map[string]bool
	received chan struct{}
}

func newFakeNova(t *testing.T, fail ...int) *fakeNova {
	f := &fakeNova{fail: fail, unknown: map[string]bool{}, received: make(chan struct{}, 100)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v2.1/os-server-external-events" {
			http.Error(w, "not found", 404)
			return
		}
		if v := r.Header.Get("X-OpenStack-Nova-API-Version"); v != "2.1" {
			t.Errorf("Nova API version %q, want 2.1", v)
		}
		var body struct {
			Events []nova.Event `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f.mu.Lock()
		f.posts = append(f.posts, body.Events)
		f.times = append(f.times, time.Now())
		status := 200
		if len(f.fail) > 0 {
			status, f.fail = f.fail[0], f.fail[1:]
		}
		results := make([]nova.Result, 0, len(body.Events))
		for _, e := range body.Events {
			code := 200
			if f.unknown[e.ServerUUID] {
				code = 404
				if status == 200 {
					status = 207
				}
			}
			if e.Status == "" {
				e.Status = "completed"
			}
			results = append(results, nova.Result{Event: e, Code: code})
		}
		f.mu.Unlock()
		defer func() { f.received <- struct{}{} }()
		if status >= 300 {
			http.Error(w, `{"error": "try again"}`, status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"events": results})
	}))
	t.Cleanup(f.Close)
	return f
}

// events is every event received, flattened in order.
func (f *fakeNova) events() []nova.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []nova.Event
	for _, p := range f.posts {
		out = append(out, p...)
	}
	return out
}

func (f *fakeNova) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.posts)
}

// waitEvents waits until Nova has received n events in all.
func (f *fakeNova) waitEvents(t *testing.T, n int) []nova.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := f.events(); len(got) >= n {
			return got
		}
		select {
		case <-f.received:
		case <-deadline:
			t.Fatalf("Nova received %d events, want %d: %+v", len(f.events()), n, f.events())
		}
	}
}

// novaOptions points the server at f without Keystone.
func novaOptions(f *fakeNova, interval string) map[string]string {
	return ml2Options(map[string]string{
		"nova.auth_type":                "none",
		"nova.endpoint":                 f.URL + "/v2.1",
		"DEFAULT.send_events_interval":  interval,
		"DEFAULT.allow_overlapping_ips": "true",
	})
}

// runNova runs the server's Nova sender until the test ends.
func runNova(t *testing.T, e *env) {
	t.Helper()
	if e.srv.Nova == nil {
		t.Fatal("server has no Nova sender")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.srv.Nova.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// novaEngines runs f on SQLite and PostgreSQL with its own fake Nova.
func novaEngines(t *testing.T, interval string, fail []int, f func(t *testing.T, e *env, n *fakeNova)) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			n := newFakeNova(t, fail...)
			conn := pgtestOrSQLite(t, engine)
			f(t, newEnv(t, conn, novaOptions(n, interval)), n)
		})
	}
}

func pgtestOrSQLite(t *testing.T, engine string) string {
	if engine == "sqlite" {
		return "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite")
	}
	return pgtest.NewDatabase(t)
}

// computePort creates an instance's port bound to host1.
func (e *env) computePort(netID, server string) string {
	e.t.Helper()
	return e.portCreate(admin, netID, map[string]any{"binding:host_id": "host1",
		"device_owner": "compute:nova", "device_id": server})["id"].(string)
}

func TestNovaPortEvents(t *testing.T) {
	novaEngines(t, "0", nil, func(t *testing.T, e *env, fake *fakeNova) {
		ctx := context.Background()
		e.srv.ML2.SetAgents(testAgents())
		runNova(t, e)
		netID := e.createNetwork(admin, map[string]any{"name": "vms"})["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.20.0.0/24"})
		server := uuid.NewString()
		id := e.computePort(netID, server)
		// Ports of no instance make no events: a DHCP port, a compute
		// port whose device_id is not an instance's UUID.
		other := e.portCreate(admin, netID, map[string]any{"binding:host_id": "host1",
			"device_owner": "compute:nova", "device_id": "not-a-uuid"})["id"].(string)
		dhcp := e.portCreate(admin, netID, map[string]any{"binding:host_id": "host1",
			"device_owner": "network:dhcp", "device_id": uuid.NewString()})["id"].(string)

		for _, p := range []string{id, other, dhcp} {
			if _, err := e.srv.ML2.GetDeviceDetails(ctx, "tap"+p[:11], "agent", "host1"); err != nil {
				t.Fatal(err)
			}
			if err := e.srv.ML2.UpdateDeviceUp(ctx, "tap"+p[:11], "agent", "host1"); err != nil {
				t.Fatal(err)
			}
		}
		if s := portStatus(t, e, id); s != "ACTIVE" {
			t.Fatalf("port status %s, want ACTIVE", s)
		}
		e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"name": "eth0"}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/ports/"+other, map[string]any{"port": map[string]any{"name": "eth0"}}).expect(t, 200)
		if _, err := e.srv.ML2.UpdateDeviceDown(ctx, "tap"+id[:11], "agent", "host1"); err != nil {
			t.Fatal(err)
		}
		e.do(admin, "DELETE", "/v2.0/ports/"+id, nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/ports/"+dhcp, nil).expect(t, 204)

		want := []nova.Event{
			{Name: "network-vif-plugged", ServerUUID: server, Tag: id, Status: "completed"},
			{Name: "network-changed", ServerUUID: server, Tag: id},
			{Name: "network-vif-unplugged", ServerUUID: server, Tag: id, Status: "completed"},
			{Name: "network-vif-deleted", ServerUUID: server, Tag: id},
		}
		fake.waitEvents(t, len(want))
		time.Sleep(200 * time.Millisecond) // nothing else follows
		if got := fake.events(); !reflect.DeepEqual(got, want) {
			t.Fatalf("Nova received\n%+v\nwant\n%+v", got, want)
		}
		if n, err := e.srv.Store.NovaEventsLen(ctx); err != nil || n != 0 {
			t.Fatalf("events left after delivery: %d %v", n, err)
		}
	})
}

func TestNovaFloatingIPEvents(t *testing.T) {
	novaEngines(t, "0", nil, func(t *testing.T, e *env, fake *fakeNova) {
		runNova(t, e)
		top := e.l3Setup(admin, "172.24.50.0/24", "10.21.0.0/24")
		router := e.routerCreate(admin, map[string]any{"external_gateway_info": map[string]any{"network_id": top.extNet}})["id"].(string)
		e.routerAction(admin, router, "add_router_interface", map[string]any{"subnet_id": top.subnet}).expect(t, 200)
		vm1, vm2 := uuid.NewString(), uuid.NewString()
		p1 := e.portCreate(admin, top.net, map[string]any{"device_owner": "compute:nova", "device_id": vm1})["id"].(string)
		p2 := e.portCreate(admin, top.net, map[string]any{"device_owner": "compute:nova", "device_id": vm2})["id"].(string)

		fip := e.fipCreate(admin, map[string]any{"floating_network_id": top.extNet, "port_id": p1}).expect(t, 201).obj(t, "floatingip")["id"].(string)
		e.do(admin, "PUT", "/v2.0/floatingips/"+fip, map[string]any{"floatingip": map[string]any{"port_id": p2}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/floatingips/"+fip, map[string]any{"floatingip": map[string]any{"port_id": nil}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/floatingips/"+fip, map[string]any{"floatingip": map[string]any{"port_id": p1}}).expect(t, 200)
		e.do(admin, "DELETE", "/v2.0/floatingips/"+fip, nil).expect(t, 204)
		want := []nova.Event{
			{Name: "network-changed", ServerUUID: vm1, Tag: p1}, // associated
			{Name: "network-changed", ServerUUID: vm1, Tag: p1}, // moved away …
			{Name: "network-changed", ServerUUID: vm2, Tag: p2}, // … to p2
			{Name: "network-changed", ServerUUID: vm2, Tag: p2}, // disassociated
			{Name: "network-changed", ServerUUID: vm1, Tag: p1}, // associated again
			{Name: "network-changed", ServerUUID: vm1, Tag: p1}, // deleted
		}
		fake.waitEvents(t, len(want))
		time.Sleep(200 * time.Millisecond)
		if got := fake.events(); !reflect.DeepEqual(got, want) {
			t.Fatalf("Nova received\n%+v\nwant\n%+v", got, want)
		}
	})
}

// TestNovaBatching: events within send_events_interval of the first go
// to Nova in one request, and not before the interval has passed.
func TestNovaBatching(t *testing.T) {
	novaEngines(t, "1", nil, func(t *testing.T, e *env, fake *fakeNova) {
		runNova(t, e)
		netID := e.createNetwork(admin, map[string]any{"name": "vms"})["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.22.0.0/24"})
		server := uuid.NewString()
		id := e.computePort(netID, server)
		start := time.Now()
		for _, name := range []string{"a", "b", "c"} {
			e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"name": name}}).expect(t, 200)
		}
		fake.waitEvents(t, 3)
		fake.mu.Lock()
		posts, at := len(fake.posts), fake.times[0]
		fake.mu.Unlock()
		if posts != 1 {
			t.Fatalf("Nova got %d requests for 3 events within the interval, want 1", posts)
		}
		if d := at.Sub(start); d < time.Second {
			t.Fatalf("batch sent %v after the first event, before send_events_interval (1s)", d)
		}
	})
}

// TestNovaRetry: a Nova answering 503 gets the same events again until
// it takes them; one answering 404 (no such instance) does not; a 207
// with a failed event is an answer, not retried.
func TestNovaRetry(t *testing.T) {
	novaEngines(t, "0", []int{503, 502}, func(t *testing.T, e *env, fake *fakeNova) {
		ctx := context.Background()
		runNova(t, e)
		netID := e.createNetwork(admin, map[string]any{"name": "vms"})["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.23.0.0/24"})
		server := uuid.NewString()
		id := e.computePort(netID, server)
		e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"name": "x"}}).expect(t, 200)
		want := nova.Event{Name: "network-changed", ServerUUID: server, Tag: id}
		got := fake.waitEvents(t, 3)
		if !reflect.DeepEqual(got, []nova.Event{want, want, want}) || fake.requests() != 3 {
			t.Fatalf("Nova received %+v in %d requests; want the event three times (503, 502, 200)", got, fake.requests())
		}
		waitNovaDrained(t, e)

		// Rejected (404) and partly failed (207) requests are not resent.
		fake.mu.Lock()
		fake.fail = []int{404}
		fake.unknown[server] = true
		fake.mu.Unlock()
		e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"name": "y"}}).expect(t, 200)
		fake.waitEvents(t, 4)
		waitNovaDrained(t, e)
		e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"name": "z"}}).expect(t, 200)
		fake.waitEvents(t, 5)
		waitNovaDrained(t, e)
		time.Sleep(300 * time.Millisecond)
		if n := fake.requests(); n != 5 {
			t.Fatalf("Nova got %d requests, want 5: rejected events were sent again", n)
		}
		if n, err := e.srv.Store.NovaEventsLen(ctx); err != nil || n != 0 {
			t.Fatalf("events left: %d %v", n, err)
		}
	})
}

func waitNovaDrained(t *testing.T, e *env) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := e.srv.Store.NovaEventsLen(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Nova events still recorded", n)
		}
	}
}

// TestNovaEventsSurviveRestart: events recorded by a server that stops
// before sending them (a crash between commit and POST) reach Nova from
// the next server on the same database.
func TestNovaEventsSurviveRestart(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fake := newFakeNova(t)
			conn := pgtestOrSQLite(t, engine)
			first := newEnv(t, conn, novaOptions(fake, "0"))
			first.srv.ML2.SetAgents(testAgents())
			netID := first.createNetwork(admin, map[string]any{"name": "vms"})["id"].(string)
			first.portSubnet(admin, netID, map[string]any{"cidr": "10.24.0.0/24"})
			server := uuid.NewString()
			id := first.computePort(netID, server)
			if err := first.srv.ML2.UpdateDeviceUp(ctx, "tap"+id[:11], "agent", "host1"); err != nil {
				t.Fatal(err)
			}
			// The first server never runs its sender: it "crashes" with
			// the event committed and not sent.
			if n, err := first.srv.Store.NovaEventsLen(ctx); err != nil || n != 1 {
				t.Fatalf("recorded events: %d %v, want 1", n, err)
			}
			first.srv.Close()
			if fake.requests() != 0 {
				t.Fatal("Nova heard from the first server")
			}

			second := newEnv(t, conn, novaOptions(fake, "0"))
			runNova(t, second)
			want := []nova.Event{{Name: "network-vif-plugged", ServerUUID: server, Tag: id, Status: "completed"}}
			if got := fake.waitEvents(t, 1); !reflect.DeepEqual(got, want) {
				t.Fatalf("after restart Nova received %+v, want %+v", got, want)
			}
			waitNovaDrained(t, second)
		})
	}
}

// TestNovaEventsCostFixedQueries: with Nova's events recorded, an agent's
// update_device_list for 20 instances' ports still costs the (read)
// queries it costs for 2 — the recorder reads nothing for a port's status
// change — and Nova hears of every port.
func TestNovaEventsCostFixedQueries(t *testing.T) {
	novaEngines(t, "0", nil, func(t *testing.T, e *env, fake *fakeNova) {
		ctx := context.Background()
		e.srv.ML2.SetAgents(testAgents())
		netID := e.createNetwork(admin, map[string]any{"name": "vms"})["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.25.0.0/24"})
		ports := func(n int) []string {
			var taps []string
			for range n {
				id := e.computePort(netID, uuid.NewString())
				taps = append(taps, "tap"+id[:11])
			}
			return taps
		}
		up := func(taps []string) int64 {
			before := e.srv.Store.Queries()
			if r, err := e.srv.ML2.UpdateDeviceList(ctx, taps, nil, "agent", "host1"); err != nil || len(r.DevicesUp) != len(taps) {
				t.Fatalf("update_device_list: %+v %v", r, err)
			}
			return e.srv.Store.Queries() - before
		}
		up(ports(1)) // the host's first port
		few := up(ports(2))
		many := up(ports(20))
		if few != many {
			t.Errorf("update_device_list: %d queries for 2 ports, %d for 20", few, many)
		}
		if n, err := e.srv.Store.NovaEventsLen(ctx); err != nil || n != 23 {
			t.Fatalf("recorded Nova events: %d %v, want 23", n, err)
		}
		runNova(t, e)
		fake.waitEvents(t, 23)
	})
}
