package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/server"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// loadConfig builds a noauth configuration on the given database.
func loadConfig(t *testing.T, connection string) *config.Config {
	t.Helper()
	cfg, err := config.Options.LoadWithDefaults(map[string]string{
		"DEFAULT.auth_strategy": "noauth",
		"database.connection":   connection,
	}, nil, nil, testLogger())
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	return cfg
}

// running is a server answering on an httptest listener.
type running struct {
	srv  *server.Server
	ts   *httptest.Server
	once sync.Once
}

// serve puts srv behind an httptest server; stop (also run at cleanup)
// closes both.
func serve(t *testing.T, srv *server.Server) *running {
	t.Helper()
	r := &running{srv: srv, ts: httptest.NewServer(srv.API)}
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.once.Do(func() {
		r.ts.Close()
		r.srv.Close()
	})
}

// start builds a server on connection and serves it.
func start(t *testing.T, connection string) *running {
	t.Helper()
	srv, err := server.New(context.Background(), loadConfig(t, connection), testLogger())
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return serve(t, srv)
}

// call sends a request as the noauth admin and decodes the JSON reply.
func (r *running) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, r.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: %d reply is not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m
}

// must is call that fails the test unless the status is want.
func (r *running) must(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	status, m := r.call(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %v", method, path, status, want, m)
	}
	return m
}

func network(t *testing.T, reply map[string]any) map[string]any {
	t.Helper()
	n, ok := reply["network"].(map[string]any)
	if !ok {
		t.Fatalf("no network in %v", reply)
	}
	return n
}

func networkIDs(t *testing.T, reply map[string]any) []string {
	t.Helper()
	items, ok := reply["networks"].([]any)
	if !ok {
		t.Fatalf("no networks list in %v", reply)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// TestRestartKeepsData creates and updates a network, restarts the server
// on the same SQLite file, and finds the network unchanged.
func TestRestartKeepsData(t *testing.T) {
	dsn := "sqlite:///" + filepath.Join(t.TempDir(), "state", "neutrino.sqlite")

	first := start(t, dsn)
	created := network(t, first.must(t, 201, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{
		"name":                  "persistent",
		"description":           "survives restarts",
		"admin_state_up":        false,
		"shared":                true,
		"mtu":                   1400,
		"port_security_enabled": false,
		"router:external":       true,
	}}))
	id := created["id"].(string)
	network(t, first.must(t, 200, "PUT", "/v2.0/networks/"+id,
		map[string]any{"network": map[string]any{"name": "persistent-2"}}))
	before := network(t, first.must(t, 200, "GET", "/v2.0/networks/"+id, nil))
	other := network(t, first.must(t, 201, "POST", "/v2.0/networks",
		map[string]any{"network": map[string]any{"name": "second"}}))
	first.must(t, 204, "DELETE", "/v2.0/networks/"+other["id"].(string), nil)
	first.stop()

	second := start(t, dsn)
	after := network(t, second.must(t, 200, "GET", "/v2.0/networks/"+id, nil))
	if !reflect.DeepEqual(before, after) {
		t.Errorf("network changed across the restart:\nbefore %v\nafter  %v", before, after)
	}
	for k, want := range map[string]any{"name": "persistent-2", "description": "survives restarts",
		"admin_state_up": false, "shared": true, "mtu": 1400.0, "port_security_enabled": false,
		"router:external": true, "revision_number": 2.0} {
		if after[k] != want {
			t.Errorf("after restart %s = %v, want %v", k, after[k], want)
		}
	}
	if ids := networkIDs(t, second.must(t, 200, "GET", "/v2.0/networks", nil)); !reflect.DeepEqual(ids, []string{id}) {
		t.Errorf("after restart the list has %v, want only %s", ids, id)
	}
}

// TestTwoServersOnePostgres starts two servers on one PostgreSQL database
// at once (both migrating at start) and checks they serve the same data.
func TestTwoServersOnePostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var (
		wg   sync.WaitGroup
		srvs [2]*server.Server
		errs [2]error
	)
	for i := range srvs {
		cfg := loadConfig(t, dsn)
		wg.Go(func() { srvs[i], errs[i] = server.New(context.Background(), cfg, testLogger()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
	}
	a, b := serve(t, srvs[0]), serve(t, srvs[1])

	created := network(t, a.must(t, 201, "POST", "/v2.0/networks",
		map[string]any{"network": map[string]any{"name": "from-a", "mtu": 1450}}))
	id := created["id"].(string)

	got := network(t, b.must(t, 200, "GET", "/v2.0/networks/"+id, nil))
	if !reflect.DeepEqual(got, created) {
		t.Errorf("B shows\n%v\nA created\n%v", got, created)
	}
	if ids := networkIDs(t, b.must(t, 200, "GET", "/v2.0/networks?name=from-a", nil)); !reflect.DeepEqual(ids, []string{id}) {
		t.Errorf("B lists %v, want [%s]", ids, id)
	}

	updated := network(t, b.must(t, 200, "PUT", "/v2.0/networks/"+id,
		map[string]any{"network": map[string]any{"name": "renamed-by-b"}}))
	if updated["name"] != "renamed-by-b" || updated["revision_number"] != 2.0 {
		t.Errorf("B's update returned %v", updated)
	}
	if seen := network(t, a.must(t, 200, "GET", "/v2.0/networks/"+id, nil)); !reflect.DeepEqual(seen, updated) {
		t.Errorf("A shows\n%v\nafter B's update\n%v", seen, updated)
	}

	b.must(t, 204, "DELETE", "/v2.0/networks/"+id, nil)
	status, reply := a.call(t, "GET", "/v2.0/networks/"+id, nil)
	if status != 404 {
		t.Fatalf("A shows the network B deleted: %d %v", status, reply)
	}
	if ne, _ := reply["NeutronError"].(map[string]any); ne["type"] != "NetworkNotFound" {
		t.Errorf("A's 404 is %v, want NetworkNotFound", reply)
	}
	if ids := networkIDs(t, a.must(t, 200, "GET", "/v2.0/networks", nil)); len(ids) != 0 {
		t.Errorf("A still lists %v", ids)
	}
	if status, _ := a.call(t, "DELETE", "/v2.0/networks/"+id, nil); status != 404 {
		t.Errorf("A deleting the deleted network: %d, want 404", status)
	}
}

// TestConfigErrors checks that a bad configuration stops the server from
// starting, with an error naming what to fix.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		file string
		// loadFails: the configuration itself is refused; otherwise
		// server.New refuses it.
		loadFails bool
		want      []string
	}{
		{"bad_bind_port.conf", true, []string{"bad_bind_port.conf:3", "[DEFAULT]", "bind_port", `"abc"`}},
		{"bad_auth_strategy.conf", true, []string{"bad_auth_strategy.conf:2", "[DEFAULT]", "auth_strategy", `"bogus"`}},
		{"keystone.conf", false, []string{"keystone.conf:2", "[DEFAULT]", "auth_strategy", "keystone"}},
		{"no_connection.conf", false, []string{"[database]", "connection", "not set"}},
		{"other_core_plugin.conf", false, []string{"other_core_plugin.conf:3", "[DEFAULT]", "core_plugin", `"other"`}},
		{"bad_vni_ranges.conf", false, []string{"bad_vni_ranges.conf:5", "[ml2_type_vxlan] vni_ranges", "16777216 is not a valid vxlan identifier"}},
		{"bad_vlan_ranges.conf", false, []string{"bad_vlan_ranges.conf:5", "[ml2_type_vlan] network_vlan_ranges", "End of VLAN range is less than start of VLAN range"}},
		{"bad_mechanism_driver.conf", false, []string{"bad_mechanism_driver.conf:5", "mechanism_drivers", `"openvswitch" is not available`}},
		{"bad_project_type.conf", false, []string{"project_network_types", `"vxlan" is not in [ml2] type_drivers`}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".conf"), func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			cfg, err := config.Options.LoadWithDefaults(nil, []string{path}, nil, testLogger())
			if !tt.loadFails {
				if err != nil {
					t.Fatalf("load %s: %v", path, err)
				}
				var srv *server.Server
				srv, err = server.New(context.Background(), cfg, testLogger())
				if err == nil {
					srv.Close()
					t.Fatalf("server.New accepted %s", path)
				}
			} else if err == nil {
				t.Fatalf("LoadWithDefaults accepted %s", path)
			}
			t.Logf("error: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.loadFails {
				var oe *config.OptionError
				if !errors.As(err, &oe) {
					t.Errorf("error %v is not a *config.OptionError", err)
				}
			}
		})
	}
}

// TestGoodConfigFile is the control for TestConfigErrors: a valid file
// (with Neutron's long core plugin name and an unavailable service plugin,
// which is only warned about) starts a server.
func TestGoodConfigFile(t *testing.T) {
	cfg, err := config.Options.LoadWithDefaults(nil, []string{filepath.Join("testdata", "good.conf")}, nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, testLogger())
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	defer srv.Close()
	if got := srv.Addr(); got != "127.0.0.1:9797" {
		t.Errorf("Addr() = %q", got)
	}
	if srv.Store.Engine() != "sqlite" {
		t.Errorf("engine %q", srv.Store.Engine())
	}
}

// TestServeShutsDown serves on a real listener and checks that cancelling
// the context stops Serve cleanly, after answering.
func TestServeShutsDown(t *testing.T) {
	srv, err := server.New(context.Background(),
		loadConfig(t, "sqlite:///"+filepath.Join(t.TempDir(), "n.sqlite")), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()

	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET / = %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of cancel")
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Errorf("still listening after Serve returned")
	}
}
