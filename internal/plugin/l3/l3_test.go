package l3_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/api"
	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/core"
	"github.com/neutrino-net/neutrino/internal/plugin/l3"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// outbox records the notifications of committed transactions only.
type outbox struct {
	mu   sync.Mutex
	sent []rpcapi.Notification
}

func (o *outbox) Record(_ context.Context, tx *store.Tx, ns ...rpcapi.Notification) error {
	tx.AfterCommit(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.sent = append(o.sent, ns...)
	})
	return nil
}

// take returns the notifications recorded since the last take.
func (o *outbox) take() []rpcapi.Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.sent
	o.sent = nil
	return out
}

// stack is the core and L3 plugins behind the API on one database, with
// every extension enabled and no authentication (an admin caller).
type stack struct {
	t   *testing.T
	url string
	l3  *l3.Plugin
	box *outbox
}

func newStack(t *testing.T, conn string) *stack {
	ctx := context.Background()
	st, err := store.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exts := apidef.Extensions()
	defs := map[string]*resource.Resource{}
	reg := resource.NewRegistry()
	for coll, r := range apidef.Build() {
		defs[coll] = r
		reg.Register(r)
	}
	// ML2 with flat and local types gives networks their MTU.
	m, err := ml2.New(st, defs, ml2.Options{TypeDrivers: []string{"local", "flat"}, ProjectNetworkTypes: []string{"local"},
		Types: types.Config{GlobalPhysnetMTU: 1500, FlatNetworks: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := core.New(st, defs, core.Options{ML2: m, BaseMAC: "fa:16:3e:00:00:00",
		AllowOverlappingIPs: true, MaxDNSNameservers: 5, MaxSubnetHostRoutes: 20})
	box := &outbox{}
	p := l3.New(st, defs, c, l3.Options{EnableSNATByDefault: true, MaxRoutes: -1, Outbox: box})
	c.SetServiceGuard(p)
	handlers := map[string]plugin.Handler{}
	for _, hs := range []map[string]plugin.Handler{c.Handlers(), p.Handlers()} {
		for coll, h := range hs {
			handlers[coll] = h
		}
	}
	srv := httptest.NewServer(api.New(api.Options{Resources: reg, Handlers: handlers, Extensions: exts,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return &stack{t: t, url: srv.URL, l3: p, box: box}
}

func engines(t *testing.T, f func(t *testing.T, s *stack)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, newStack(t, "sqlite:///"+filepath.Join(t.TempDir(), "l3.sqlite")))
	})
	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		f(t, newStack(t, pgtest.NewDatabase(t)))
	})
}

// do sends a request and returns the status and decoded body.
func (s *stack) do(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if body == nil {
		req, _ = http.NewRequest(method, s.url+path, nil)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// create POSTs one object and returns its id.
func (s *stack) create(coll, member string, attrs map[string]any) string {
	s.t.Helper()
	attrs["project_id"] = "p1"
	status, body := s.do("POST", "/v2.0/"+coll, map[string]any{member: attrs})
	if status != 201 {
		s.t.Fatalf("create %s: %d %v", member, status, body)
	}
	return body[member].(map[string]any)["id"].(string)
}

func (s *stack) put(path string, body any) map[string]any {
	s.t.Helper()
	status, out := s.do("PUT", path, body)
	if status != 200 {
		s.t.Fatalf("PUT %s: %d %v", path, status, out)
	}
	return out
}

// updated returns the router ids of the routers_updated notifications.
func updated(ns []rpcapi.Notification) []string {
	var ids []string
	for _, n := range ns {
		if n.Method != rpcapi.MethodRoutersUpdated || n.Topic != rpcapi.TopicL3Agent || !n.Fanout {
			continue
		}
		var args rpcapi.RoutersUpdatedArgs
		if err := json.Unmarshal(n.Args, &args); err != nil {
			panic(err)
		}
		ids = append(ids, args.Routers...)
	}
	return ids
}

func TestNotificationsAndSync(t *testing.T) {
	engines(t, func(t *testing.T, s *stack) {
		ctx := context.Background()
		ext := s.create("networks", "network", map[string]any{"router:external": true})
		extSub := s.create("subnets", "subnet", map[string]any{"network_id": ext, "ip_version": 4, "cidr": "203.0.113.0/24",
			"dns_nameservers": []string{"192.0.2.53"}})
		net := s.create("networks", "network", map[string]any{})
		sub := s.create("subnets", "subnet", map[string]any{"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24"})
		vm := s.create("ports", "port", map[string]any{"network_id": net, "device_id": "vm"})
		vm2 := s.create("ports", "port", map[string]any{"network_id": net, "device_id": "vm2"})
		if got := s.box.take(); len(got) != 0 {
			t.Fatalf("core changes notified L3 agents: %v", got)
		}

		router := s.create("routers", "router", map[string]any{"external_gateway_info": map[string]any{"network_id": ext}})
		if got := updated(s.box.take()); !slices.Equal(got, []string{router}) {
			t.Errorf("create: routers_updated %v", got)
		}
		s.put("/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": sub})
		if got := updated(s.box.take()); !slices.Equal(got, []string{router}) {
			t.Errorf("add interface: routers_updated %v", got)
		}
		// A refused change notifies nobody.
		if status, _ := s.do("PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": sub}); status != 400 {
			t.Fatalf("second attach: %d", status)
		}
		if got := s.box.take(); len(got) != 0 {
			t.Errorf("refused change notified: %v", got)
		}
		fip := s.create("floatingips", "floatingip", map[string]any{"floating_network_id": ext, "port_id": vm})
		if got := updated(s.box.take()); !slices.Equal(got, []string{router}) {
			t.Errorf("floating IP: routers_updated %v", got)
		}
		pfFIP := s.create("floatingips", "floatingip", map[string]any{"floating_network_id": ext})
		if got := s.box.take(); len(got) != 0 {
			t.Errorf("unassociated floating IP notified: %v", got)
		}
		status, body := s.do("POST", "/v2.0/floatingips/"+pfFIP+"/port_forwardings", map[string]any{"port_forwarding": map[string]any{
			"protocol": "tcp", "external_port": 80, "internal_port": 8080, "internal_port_id": vm2, "project_id": "p1"}})
		if status != 201 {
			t.Fatalf("port forwarding: %d %v", status, body)
		}
		if got := updated(s.box.take()); !slices.Equal(got, []string{router}) {
			t.Errorf("port forwarding: routers_updated %v", got)
		}
		s.put("/v2.0/routers/"+router, map[string]any{"router": map[string]any{"routes": []any{
			map[string]any{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}}}})
		if got := updated(s.box.take()); !slices.Equal(got, []string{router}) {
			t.Errorf("routes: routers_updated %v", got)
		}

		// The agents' view.
		rs, err := s.l3.SyncRouters(ctx, []string{router, "no-such-router"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			t.Fatalf("%d routers synced", len(rs))
		}
		r := rs[0]
		if r.ID != router || !r.EnableSNAT || r.Distributed || r.HA || len(r.Routes) != 1 || r.Status != "ACTIVE" {
			t.Errorf("router = %+v", r)
		}
		if r.GatewayPort == nil || r.ExternalGatewayInfo == nil || r.ExternalGatewayInfo.NetworkID != ext ||
			len(r.GatewayPort.Subnets) != 1 || r.GatewayPort.Subnets[0].ID != extSub || *r.GatewayPort.Subnets[0].GatewayIP != "203.0.113.1" ||
			!slices.Equal(r.GatewayPort.Subnets[0].DNSNameservers, []string{"192.0.2.53"}) || r.GatewayPort.MTU != 1500 {
			t.Errorf("gateway = %+v / %+v", r.GatewayPort, r.ExternalGatewayInfo)
		}
		if len(r.Interfaces) != 1 || r.Interfaces[0].FixedIPs[0].IPAddress != "10.0.0.1" || r.Interfaces[0].FixedIPs[0].PrefixLen != 24 ||
			r.Interfaces[0].Subnets[0].CIDR != "10.0.0.0/24" {
			t.Errorf("interfaces = %+v", r.Interfaces)
		}
		if len(r.FloatingIPs) != 2 {
			t.Fatalf("floating IPs = %+v", r.FloatingIPs)
		}
		for _, f := range r.FloatingIPs {
			switch f.ID {
			case fip:
				if string(f.PortID) != vm || f.FixedIPAddress == "" || len(f.PortForwardings) != 0 {
					t.Errorf("associated floating IP = %+v", f)
				}
			case pfFIP:
				if f.PortID != "" || len(f.PortForwardings) != 1 || f.PortForwardings[0].ExternalPortRange != "80:80" ||
					f.PortForwardings[0].InternalPortRange != "8080:8080" {
					t.Errorf("forwarding floating IP = %+v", f)
				}
			default:
				t.Errorf("unexpected floating IP %+v", f)
			}
		}

		// Agents report floating IP statuses.
		if err := s.l3.UpdateFloatingIPStatuses(ctx, router, map[string]string{fip: "ACTIVE"}); err != nil {
			t.Fatal(err)
		}
		_, got := s.do("GET", "/v2.0/floatingips/"+fip, nil)
		f := got["floatingip"].(map[string]any)
		if f["status"] != "ACTIVE" || f["revision_number"] != float64(1) {
			t.Errorf("after status report: %v", f)
		}
		// An unchanged status is no change; unknown ids are skipped.
		if err := s.l3.UpdateFloatingIPStatuses(ctx, router, map[string]string{fip: "ACTIVE", "no-such-fip": "ERROR"}); err != nil {
			t.Fatal(err)
		}
		if _, got := s.do("GET", "/v2.0/floatingips/"+fip, nil); got["floatingip"].(map[string]any)["revision_number"] != float64(1) {
			t.Errorf("unchanged status bumped the revision: %v", got)
		}

		if id, err := s.l3.ExternalNetworkID(ctx); err != nil || id != ext {
			t.Errorf("ExternalNetworkID = %q, %v", id, err)
		}
		s.create("networks", "network", map[string]any{"router:external": true})
		if _, err := s.l3.ExternalNetworkID(ctx); err == nil {
			t.Error("two external networks: no error")
		}

		// Teardown notifies too, and deletion names the router.
		s.box.take()
		s.do("DELETE", "/v2.0/floatingips/"+pfFIP+"/port_forwardings/"+body["port_forwarding"].(map[string]any)["id"].(string), nil)
		s.do("DELETE", "/v2.0/floatingips/"+fip, nil)
		s.put("/v2.0/routers/"+router, map[string]any{"router": map[string]any{"routes": []any{}}})
		s.put("/v2.0/routers/"+router+"/remove_router_interface", map[string]any{"subnet_id": sub})
		if got := updated(s.box.take()); len(got) != 4 {
			t.Errorf("teardown: routers_updated %v", got)
		}
		if status, body := s.do("DELETE", "/v2.0/routers/"+router, nil); status != 204 {
			t.Fatalf("delete router: %d %v", status, body)
		}
		ns := s.box.take()
		if len(ns) != 1 || ns[0].Method != rpcapi.MethodRouterDeleted || string(ns[0].Args) != `{"router_id":"`+router+`"}` {
			t.Errorf("delete: %v", ns)
		}
	})
}
