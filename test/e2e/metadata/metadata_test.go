// Package metadata_test runs the metadata part end to end: a Neutrino
// server, one simulated host's agent (L2, DHCP and metadata parts) and VMs
// as namespaces, which lease their address from dnsmasq, take the route
// to 169.254.169.254 it pushes, and read their metadata with busybox
// wget through the proxy in the qdhcp namespace from a real HTTP server
// standing in for Nova's metadata API, which checks the signed identity.
package metadata_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/agent/l3"
	"github.com/neutrino-net/neutrino/internal/agent/metadata"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/nova"
	"github.com/neutrino-net/neutrino/internal/testenv/apiserver"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

const secret = "metadata-s3cret"

// novaMetadata is Nova's metadata API as far as the proxy sees it: it
// refuses a request whose signature does not match (403, as Nova does)
// and answers the instance's own id.
type novaMetadata struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newNovaMetadata(t *testing.T) *novaMetadata {
	n := &novaMetadata{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.seen = append(n.seen, r.Header.Clone())
		n.mu.Unlock()
		id := r.Header.Get("X-Instance-ID")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(id))
		if id == "" || r.Header.Get("X-Instance-ID-Signature") != hex.EncodeToString(m.Sum(nil)) {
			http.Error(w, "signature mismatch", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/":
			fmt.Fprint(w, "instance-id\nlocal-ipv4\n")
		case "/latest/meta-data/instance-id":
			fmt.Fprint(w, id)
		case "/latest/meta-data/local-ipv4":
			fmt.Fprint(w, r.Header.Get("X-Forwarded-For"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(n.Close)
	return n
}

func (n *novaMetadata) last() http.Header {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.seen) == 0 {
		return nil
	}
	return n.seen[len(n.seen)-1]
}

// novaEvents is Nova's external events API: it records what the server
// sends and when.
type novaEvents struct {
	*httptest.Server
	mu     sync.Mutex
	events []nova.Event
	at     []time.Time
}

func newNovaEvents(t *testing.T) *novaEvents {
	n := &novaEvents{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Events []nova.Event `json:"events"`
		}
		if r.URL.Path != "/v2.1/os-server-external-events" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", 400)
			return
		}
		n.mu.Lock()
		out := make([]nova.Result, len(body.Events))
		for i, e := range body.Events {
			n.events = append(n.events, e)
			n.at = append(n.at, time.Now())
			out[i] = nova.Result{Event: e, Code: 200}
		}
		n.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"events": out})
	}))
	t.Cleanup(n.Close)
	return n
}

// wait returns when Nova has event e, and when it got it.
func (n *novaEvents) wait(t *testing.T, e nova.Event) time.Time {
	t.Helper()
	var at time.Time
	nsrig.WaitFor(t, "Nova event "+e.Name, 20*time.Second, func() error {
		n.mu.Lock()
		defer n.mu.Unlock()
		for i, got := range n.events {
			if got == e {
				at = n.at[i]
				return nil
			}
		}
		return fmt.Errorf("Nova has %+v", n.events)
	})
	return at
}

func (n *novaMetadata) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

func logger() *slog.Logger {
	if testing.Verbose() && os.Getenv("AGENT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// api calls the server as the noauth admin.
func api(t *testing.T, base, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, base+path, rd)
	nsrig.Must(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	nsrig.Must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		nsrig.Must(t, json.Unmarshal(b, out))
	}
}

// world is a server with the Nova notifier on (send_events_interval =
// interval), one host's agent with the L2, DHCP and metadata parts, and a
// flat network with a subnet, served by the DHCP part.
type world struct {
	t      *testing.T
	r      *nsrig.Rig
	h      *link.Host
	url    string
	novaMD *novaMetadata
	events *novaEvents
	mp     *metadata.Part
	netID  string
	ctx    context.Context
	// plugged is when vmPort last began plugging a tap.
	plugged time.Time
}

func newWorld(t *testing.T, interval string) *world { return newWorldWith(t, interval, false) }

// newWorldWith is newWorld whose agent also runs the L3 part when
// withL3 (enable_metadata_proxy on, its default), with ML2 serving local
// networks too, for routers whose networks stay on the host.
func newWorldWith(t *testing.T, interval string, withL3 bool) *world {
	nsrig.RequireDataplane(t)
	r := nsrig.New(t)
	hostNS := r.NS("host")
	h := r.Host(hostNS)
	// physnet1's interface: a veth to a namespace of its own.
	r.Veth(h, "phys0", r.NS("ul"), "phys-peer", "", "", "")
	novaMD := newNovaMetadata(t)
	events := newNovaEvents(t)
	_, novaPort, _ := net.SplitHostPort(strings.TrimPrefix(novaMD.URL, "http://"))

	url, srv := apiserver.Start(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), map[string]string{
		"ml2.mechanism_drivers":       "linuxbridge",
		"ml2.type_drivers":            "flat,local",
		"ml2_type_flat.flat_networks": "physnet1",
		"nats.embedded_port":          "0",
		// StartRPC runs the Nova notifier's sender too.
		"nova.auth_type":               "none",
		"nova.endpoint":                events.URL + "/v2.1",
		"DEFAULT.send_events_interval": interval,
		// Two projects' networks may share a subnet (the router test).
		"DEFAULT.allow_overlapping_ips": "true",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	nsrig.Must(t, srv.StartRPC(ctx, false))

	state := filepath.Join(r.Dir, "host")
	nsrig.Must(t, os.MkdirAll(state, 0o755))
	cfg, err := config.Options.LoadWithDefaults(map[string]string{
		"DEFAULT.host":                             "mdhost",
		"DEFAULT.state_path":                       state,
		"DEFAULT.enable_isolated_metadata":         "true",
		"DEFAULT.nova_metadata_host":               "127.0.0.1",
		"DEFAULT.nova_metadata_port":               novaPort,
		"DEFAULT.metadata_proxy_shared_secret":     secret,
		"DEFAULT.resync_interval":                  "2",
		"linux_bridge.physical_interface_mappings": "physnet1:phys0",
		"agent.report_interval":                    "2",
		"vxlan.enable_vxlan":                       "false",
	}, nil, nil, logger())
	nsrig.Must(t, err)
	env := agent.Env{Host: "mdhost", Config: cfg, Logger: logger()}
	l2p, err := l2.NewPart(env, h, hostNS)
	nsrig.Must(t, err)
	dp := dhcp.NewPart(env, h)
	mp, err := metadata.NewPart(env)
	nsrig.Must(t, err)
	mp.Interval = 100 * time.Millisecond
	bus, err := srv.Bus.InProcess("agent:mdhost", nil)
	nsrig.Must(t, err)
	parts := []agent.Part{l2p, dp, mp}
	var l3p *l3.Part
	if withL3 {
		l3p, err = l3.NewPart(env, h)
		nsrig.Must(t, err)
		parts = append(parts, l3p)
	}
	a := agent.New(bus, agent.OptionsFrom(cfg, env.Logger), parts...)
	actx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(actx) }()
	t.Cleanup(func() {
		stop()
		<-done
		bus.Close()
		tctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		if err := dp.Teardown(tctx); err != nil {
			t.Errorf("teardown DHCP: %v", err)
		}
		if l3p != nil {
			if err := l3p.Teardown(tctx); err != nil {
				t.Errorf("teardown L3: %v", err)
			}
		}
		if n := len(mp.Serving()); n != 0 {
			t.Errorf("metadata listeners left after the agent stopped: %d", n)
		}
	})

	// The three parts report as Neutron's three agents.
	nsrig.WaitFor(t, "agents alive", 20*time.Second, func() error {
		var out struct{ Agents []map[string]any }
		api(t, url, "GET", "/v2.0/agents?host=mdhost", nil, &out)
		alive := map[string]any{}
		for _, a := range out.Agents {
			if a["alive"] == true {
				alive[a["agent_type"].(string)] = a["binary"]
			}
		}
		if len(alive) != len(parts) || alive["Metadata agent"] != "neutron-metadata-agent" {
			return fmt.Errorf("alive agents: %v", alive)
		}
		return nil
	})

	var net1 struct{ Network map[string]any }
	api(t, url, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "md",
		"provider:network_type": "flat", "provider:physical_network": "physnet1"}}, &net1)
	netID := net1.Network["id"].(string)
	api(t, url, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID,
		"ip_version": 4, "cidr": "10.77.0.0/24"}}, nil)

	return &world{t: t, r: r, h: h, url: url, novaMD: novaMD, events: events, mp: mp, netID: netID, ctx: ctx}
}

// vmPort creates an instance's port on the world's network, bound to the
// host, and plugs a VM into it.
func (w *world) vmPort(name, instance string) (*nsrig.VM, map[string]any) {
	w.t.Helper()
	var p struct{ Port map[string]any }
	api(w.t, w.url, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": w.netID,
		"binding:host_id": "mdhost", "device_owner": "compute:nova", "device_id": instance}}, &p)
	w.plugged = time.Now()
	return w.r.VM(name, w.h, p.Port["id"].(string), p.Port["mac_address"].(string)), p.Port
}

func TestMetadataThroughDHCPNamespace(t *testing.T) {
	w := newWorld(t, "0")
	r, url, novaMD, events, mp, netID, ctx := w.r, w.url, w.novaMD, w.events, w.mp, w.netID, w.ctx
	vmPort := w.vmPort
	instance := nsrig.UUID()
	vm, port := vmPort("vm1", instance)
	// Plugging the VM's tap makes the port ACTIVE (L2 agent up, DHCP
	// ready) and Nova hears network-vif-plugged for it.
	plugged := w.plugged
	at := events.wait(t, nova.Event{Name: nova.VIFPlugged, ServerUUID: instance, Tag: port["id"].(string), Status: "completed"})
	t.Logf("tap plugged → Nova has network-vif-plugged: %v", at.Sub(plugged).Round(time.Millisecond))
	lease, err := r.DHCP(ctx, vm)
	nsrig.Must(t, err)
	// dnsmasq pushes the route to the metadata address through the DHCP
	// port (an isolated network, enable_isolated_metadata).
	routes := strings.Fields(lease["staticroutes"])
	via := ""
	for i := 0; i+1 < len(routes); i += 2 {
		if routes[i] == "169.254.169.254/32" {
			via = routes[i+1]
		}
	}
	if via == "" {
		t.Fatalf("lease has no route to 169.254.169.254: %v", lease)
	}
	route(t, vm, via)

	nsrig.WaitFor(t, "metadata listener in the DHCP namespace", 20*time.Second, func() error {
		if s := mp.Serving(); len(s) != 1 || s[0] != netID {
			return fmt.Errorf("serving %v", s)
		}
		return nil
	})
	get := func(v *nsrig.VM, path string) (string, error) {
		return nsrig.Run(ctx, v.NS, nil, "busybox", "wget", "-q", "-O", "-", "http://169.254.169.254"+path)
	}
	out, err := get(vm, "/latest/meta-data/")
	if err != nil || out != "instance-id\nlocal-ipv4\n" {
		t.Fatalf("GET /latest/meta-data/: %q %v", out, err)
	}
	out, err = get(vm, "/latest/meta-data/instance-id")
	if err != nil || out != instance {
		t.Fatalf("instance-id: %q %v, want %s", out, err, instance)
	}
	hd := novaMD.last()
	if hd.Get("X-Instance-ID") != instance || hd.Get("X-Tenant-ID") != port["project_id"] ||
		hd.Get("X-Forwarded-For") != lease["ip"] || hd.Get("X-Instance-ID-Signature") == "" {
		t.Fatalf("Nova saw X-Instance-ID %q X-Tenant-ID %q X-Forwarded-For %q; want %s, %v, %s",
			hd.Get("X-Instance-ID"), hd.Get("X-Tenant-ID"), hd.Get("X-Forwarded-For"), instance, port["project_id"], lease["ip"])
	}

	// A second instance gets its own answer; an address no port has
	// gets 404 without Nova hearing of it.
	other := nsrig.UUID()
	vm2, port2 := vmPort("vm2", other)
	lease2, err := r.DHCP(ctx, vm2)
	nsrig.Must(t, err)
	route(t, vm2, via)
	if out, err := get(vm2, "/latest/meta-data/instance-id"); err != nil || out != other {
		t.Fatalf("second VM's instance-id: %q %v, want %s", out, err, other)
	}
	if out, err := get(vm2, "/latest/meta-data/local-ipv4"); err != nil || out != lease2["ip"] {
		t.Fatalf("second VM's local-ipv4: %q %v, want %s", out, err, lease2["ip"])
	}
	// The second guest forges an address no port has.
	vh, err := link.Open(vm2.NS)
	nsrig.Must(t, err)
	eth, err := vh.Netlink().LinkByName("eth0")
	nsrig.Must(t, err)
	leased, _ := netlink.ParseAddr(lease2["ip"] + "/24")
	nsrig.Must(t, vh.Netlink().AddrDel(eth, leased))
	forged, _ := netlink.ParseAddr("10.77.0.250/24")
	nsrig.Must(t, vh.Netlink().AddrAdd(eth, forged))
	vh.Close()
	route(t, vm2, via)
	before := novaMD.count()
	if out, err := get(vm2, "/latest/meta-data/instance-id"); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("unknown address: %q %v, want a 404", out, err)
	}
	if novaMD.count() != before {
		t.Fatal("Nova was asked about an address no port has")
	}

	// Unplugging a VM's tap takes its port DOWN: network-vif-unplugged;
	// deleting a port: network-vif-deleted.
	r.Delete("vm2")
	events.wait(t, nova.Event{Name: nova.VIFUnplugged, ServerUUID: other, Tag: port2["id"].(string), Status: "completed"})
	api(t, url, "DELETE", "/v2.0/ports/"+port["id"].(string), nil, nil)
	events.wait(t, nova.Event{Name: nova.VIFDeleted, ServerUUID: instance, Tag: port["id"].(string)})
}

// route sends v's traffic to the metadata address through via.
func route(t *testing.T, v *nsrig.VM, via string) {
	t.Helper()
	h, err := link.Open(v.NS)
	nsrig.Must(t, err)
	defer h.Close()
	eth, err := h.Netlink().LinkByName("eth0")
	nsrig.Must(t, err)
	_, dst, _ := net.ParseCIDR("169.254.169.254/32")
	nsrig.Must(t, h.Netlink().RouteReplace(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: net.ParseIP(via)}))
}
