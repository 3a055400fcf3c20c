package agents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/agent/l2"
	"github.com/neutrino-net/neutrino/internal/agent/l3"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/server"
	"github.com/neutrino-net/neutrino/internal/testenv/apiserver"
)

// world is a Neutrino server (in this process, SQLite, embedded NATS
// without a listener) and two simulated hosts: namespaces A and B joined
// by an underlay namespace (br-ul for tunnels, br-phys for physnet1), each
// with its own agent (L2 and DHCP parts) running in this process on its
// own bus connection, its netlink handle opened on the host's namespace.
type world struct {
	t testing.TB
	r *Rig
	// agentOpts are options every agent gets on top of the defaults.
	agentOpts map[string]string
	url       string
	srv       *server.Server
	hosts     map[string]*simHost
	// outside is a namespace on physnet1 (the flat external network's
	// wire) holding OutsideIP: the world beyond the routers.
	outside *link.Host
	outNS   netns.Handle
}

// OutsideIP is the outside namespace's address on physnet1: the external
// subnet's gateway.
const OutsideIP = "203.0.113.1"

type simHost struct {
	name    string
	ns      netns.Handle
	h       *link.Host
	localIP string
	state   string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	l2     *l2.Part
	dhcp   *dhcp.Part
	l3     *l3.Part
	bus    *rpc.Bus
}

func logger() *slog.Logger {
	if testing.Verbose() && os.Getenv("AGENT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newWorld(t testing.TB) *world { return newWorldWith(t, nil) }

// newWorldWith is newWorld with agentOpts set on every agent.
func newWorldWith(t testing.TB, agentOpts map[string]string) *world {
	return newWorldOpts(t, nil, agentOpts)
}

// newWorldOpts is newWorld with serverOpts set on the server and
// agentOpts on every agent.
func newWorldOpts(t testing.TB, serverOpts, agentOpts map[string]string) *world {
	RequireDataplane(t)
	r := New(t)
	w := &world{t: t, r: r, hosts: map[string]*simHost{}, agentOpts: agentOpts}
	ulNS := r.NS("ul")
	ul := r.Host(ulNS)
	_, err := ul.EnsureBridge("br-ul", 0)
	Must(t, err)
	_, err = ul.EnsureBridge("br-phys", 0)
	Must(t, err)
	w.outNS = r.NS("outside")
	w.outside = r.Host(w.outNS)
	r.Veth(w.outside, "eth0", ulNS, "o-phys", "br-phys", "", "")
	Addr(t, w.outside, "eth0", OutsideIP+"/24")
	for i, name := range []string{"hostA", "hostB"} {
		ns := r.NS(strings.ToLower(name))
		h := r.Host(ns)
		side := string(rune('a' + i))
		r.Veth(h, "tun0", ulNS, side+"-tun", "br-ul", "", "")
		r.Veth(h, "phys0", ulNS, side+"-phys", "br-phys", "", "")
		ip := fmt.Sprintf("10.98.0.%d", i+1)
		Addr(t, h, "tun0", ip+"/24")
		state := filepath.Join(r.Dir, name)
		Must(t, os.MkdirAll(state, 0o755))
		w.hosts[name] = &simHost{name: name, ns: ns, h: h, localIP: ip, state: state}
	}

	db := filepath.Join(t.TempDir(), "neutrino.sqlite")
	srvOpts := map[string]string{
		"ml2.mechanism_drivers":       "linuxbridge,l2population",
		"ml2.type_drivers":            "flat,vxlan",
		"ml2.project_network_types":   "vxlan",
		"ml2_type_vxlan.vni_ranges":   "100:1100",
		"ml2_type_flat.flat_networks": "physnet1",
		"nats.embedded_port":          "0",
		"quotas.quota_router":         "-1",
		"quotas.quota_floatingip":     "-1",
		"quotas.quota_port":           "-1",
		"quotas.quota_network":        "-1",
		"quotas.quota_subnet":         "-1",
	}
	for k, v := range serverOpts {
		srvOpts[k] = v
	}
	w.url, w.srv = apiserver.Start(t, "sqlite:///"+db, srvOpts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	Must(t, w.srv.StartRPC(ctx, false))
	// Agents stop (and their dnsmasq go) before the server and the rig.
	t.Cleanup(w.teardown)
	for _, name := range []string{"hostA", "hostB"} {
		w.start(name)
	}
	WaitFor(t, "6 agents alive", 20*time.Second, func() error {
		var out struct {
			Agents []map[string]any `json:"agents"`
		}
		w.get("/v2.0/agents", &out)
		alive := 0
		for _, a := range out.Agents {
			if a["alive"] == true {
				alive++
			}
		}
		if alive != 6 {
			return fmt.Errorf("%d alive agents: %v", alive, out.Agents)
		}
		return nil
	})
	return w
}

// start runs a new agent (a fresh L2 and DHCP part) for host.
func (w *world) start(name string) {
	h := w.hosts[name]
	opts := map[string]string{
		"DEFAULT.host":                             name,
		"DEFAULT.state_path":                       h.state,
		"vxlan.local_ip":                           h.localIP,
		"vxlan.l2_population":                      "true",
		"linux_bridge.physical_interface_mappings": "physnet1:phys0",
		"agent.polling_interval":                   "2",
		"agent.report_interval":                    "2",
		"DEFAULT.resync_interval":                  "2",
		"DEFAULT.periodic_interval":                "5",
	}
	for k, v := range w.agentOpts {
		opts[k] = v
	}
	cfg, err := config.Options.LoadWithDefaults(opts, nil, nil, logger())
	Must(w.t, err)
	env := agent.Env{Host: name, Config: cfg, Logger: logger()}
	l2p, err := l2.NewPart(env, h.h, h.ns)
	Must(w.t, err)
	dp := dhcp.NewPart(env, h.h)
	l3p, err := l3.NewPart(env, h.h)
	Must(w.t, err)
	bus, err := w.srv.Bus.InProcess("agent:"+name, nil)
	Must(w.t, err)
	a := agent.New(bus, agent.OptionsFrom(cfg, env.Logger), l2p, dp, l3p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			w.t.Errorf("agent %s: %v", name, err)
		}
	}()
	h.mu.Lock()
	h.cancel, h.done, h.l2, h.dhcp, h.l3, h.bus = cancel, done, l2p, dp, l3p, bus
	h.mu.Unlock()
}

// stop cancels host's agent, as a kill would: its devices and dnsmasq
// stay.
func (w *world) stop(name string) {
	h := w.hosts[name]
	h.mu.Lock()
	cancel, done, bus := h.cancel, h.done, h.bus
	h.cancel = nil
	h.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	bus.Close()
}

func (w *world) teardown() {
	for name, h := range w.hosts {
		w.stop(name)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := h.dhcp.Teardown(ctx); err != nil {
			w.t.Errorf("teardown DHCP of %s: %v", name, err)
		}
		if err := h.l3.Teardown(ctx); err != nil {
			w.t.Errorf("teardown L3 of %s: %v", name, err)
		}
		cancel()
	}
}

// call makes an API request and decodes the answer into out; it returns
// the status code.
func (w *world) call(method, path string, body, out any) int {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		Must(w.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	Must(w.t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	Must(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	Must(w.t, err)
	if resp.StatusCode >= 300 && method != http.MethodGet {
		w.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		Must(w.t, json.Unmarshal(b, out))
	}
	return resp.StatusCode
}

func (w *world) get(path string, out any) int { return w.call(http.MethodGet, path, nil, out) }

func (w *world) create(kind string, body map[string]any) map[string]any {
	w.t.Helper()
	var out map[string]map[string]any
	w.call(http.MethodPost, "/v2.0/"+kind+"s", map[string]any{kind: body}, &out)
	return out[kind]
}

// network creates a network (extra: provider attributes) with one DHCP
// subnet and returns the network and subnet ids.
func (w *world) network(name, cidr string, extra map[string]any) (netID, subnetID, gateway string) {
	body := map[string]any{"name": name}
	for k, v := range extra {
		body[k] = v
	}
	n := w.create("network", body)
	s := w.create("subnet", map[string]any{"network_id": n["id"], "cidr": cidr, "ip_version": 4, "enable_dhcp": true})
	return n["id"].(string), s["id"].(string), s["gateway_ip"].(string)
}

// outsideNetwork creates the external network "public" (flat, on
// physnet1) with the subnet 203.0.113.0/24, without DHCP, whose gateway
// is the outside's OutsideIP, and returns the network's id.
func (w *world) outsideNetwork() string {
	w.t.Helper()
	ext := w.create("network", map[string]any{"name": "public", "router:external": true,
		"provider:network_type": "flat", "provider:physical_network": "physnet1"})["id"].(string)
	w.create("subnet", map[string]any{"network_id": ext, "cidr": "203.0.113.0/24", "ip_version": 4,
		"enable_dhcp": false, "gateway_ip": OutsideIP})
	return ext
}

type port struct {
	id, mac, ip, host string
}

func (w *world) port(netID, host string) port {
	p := w.create("port", map[string]any{"network_id": netID, "binding:host_id": host,
		"device_owner": "compute:nova", "device_id": UUID()})
	ip := p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	return port{id: p["id"].(string), mac: p["mac_address"].(string), ip: ip, host: host}
}

func (w *world) status(portID string) string {
	var out map[string]map[string]any
	if w.get("/v2.0/ports/"+portID, &out) != http.StatusOK {
		return "gone"
	}
	s, _ := out["port"]["status"].(string)
	return s
}

// dhcpPort is the network's DHCP port (its address and host).
func (w *world) dhcpPort(netID string) (port, error) {
	var out struct {
		Ports []map[string]any `json:"ports"`
	}
	w.get("/v2.0/ports?device_owner=network:dhcp&network_id="+netID, &out)
	if len(out.Ports) != 1 {
		return port{}, fmt.Errorf("%d DHCP ports on %s", len(out.Ports), netID)
	}
	p := out.Ports[0]
	ips, _ := p["fixed_ips"].([]any)
	if len(ips) == 0 {
		return port{}, fmt.Errorf("DHCP port without address")
	}
	return port{id: p["id"].(string), mac: p["mac_address"].(string),
		ip: ips[0].(map[string]any)["ip_address"].(string), host: p["binding:host_id"].(string)}, nil
}

// dnsmasqs counts the dnsmasq processes in the networks' qdhcp namespaces.
func dnsmasqs(netIDs ...string) int {
	n := 0
	for _, id := range netIDs {
		pids, _ := netns.PIDs(link.DHCPNamespace(id))
		for _, pid := range pids {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == "dnsmasq" {
				n++
			}
		}
	}
	return n
}
