package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// heard is one notification an agent received: "topic method args".
type heard struct {
	topic, method string
	args          map[string]any
}

// listenTopics are the topics an agent consumes: the L2 agents' fanout
// topics and the DHCP agents' topic.
var listenTopics = []string{rpcapi.TopicPortUpdate, rpcapi.TopicPortDelete, rpcapi.TopicNetworkUpdate,
	rpcapi.TopicNetworkDelete, rpcapi.TopicDHCPAgent}

// markerMethod is the method of the marker notifications await sends
// after the ones it expects.
const markerMethod = "test_marker"

// ear is what an agent hears, and the server it hears it from.
type ear struct {
	e  *env
	ch chan heard
}

// listenAsAgent consumes listenTopics on bus.
func listenAsAgent(t *testing.T, e *env, bus *rpc.Bus) *ear {
	ch := make(chan heard, 100)
	for _, topic := range listenTopics {
		hs := rpc.Handlers{}
		for _, m := range []string{"port_update", "port_delete", "network_update", "network_delete",
			"network_create_end", "network_update_end", "network_delete_end", "subnet_create_end", "subnet_update_end",
			"subnet_delete_end", "port_create_end", "port_update_end", "port_delete_end", markerMethod} {
			hs[m] = func(_ context.Context, args json.RawMessage) (any, error) {
				var a map[string]any
				if err := json.Unmarshal(args, &a); err != nil {
					return nil, err
				}
				ch <- heard{topic, m, a}
				return nil, nil
			}
		}
		if err := bus.Serve(topic, hs); err != nil {
			t.Fatal(err)
		}
	}
	return &ear{e: e, ch: ch}
}

// await collects exactly the given "topic method" notifications, in any
// order (they travel on several subjects), and fails on extras. To know
// that nothing else arrives, it records a marker notification after them
// in the server's outbox, on every topic the agent consumes, cast and
// fanout: the publisher sends rows in order on one connection and each
// subject delivers in order, so anything the change caused arrives before
// the marker of its subject.
func await(t *testing.T, ear *ear, want ...string) map[string]map[string]any {
	t.Helper()
	var markers []rpcapi.Notification
	for _, topic := range listenTopics {
		for _, fanout := range []bool{false, true} {
			markers = append(markers, rpcapi.Notification{Topic: topic, Method: markerMethod, Fanout: fanout,
				Args: json.RawMessage(`{}`)})
		}
	}
	st := ear.e.srv.Store
	if err := st.Write(context.Background(), func(tx *store.Tx) error {
		return ear.e.srv.Outbox.Record(context.Background(), tx, markers...)
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	var names []string
	for seen := 0; seen < len(markers); {
		select {
		case h := <-ear.ch:
			if h.method == markerMethod {
				seen++
				continue
			}
			k := h.topic + " " + h.method
			names = append(names, k)
			got[k] = h.args
		case <-time.After(10 * time.Second):
			t.Fatalf("heard %v and %d of %d markers, want %v", names, seen, len(markers), want)
		}
	}
	slices.Sort(names)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(names, w) {
		t.Fatalf("heard %v, want %v", names, w)
	}
	return got
}

func payload(t *testing.T, args map[string]any, key string) map[string]any {
	t.Helper()
	p, _ := args["payload"].(map[string]any)
	if key == "" {
		return p
	}
	obj, ok := p[key].(map[string]any)
	if !ok {
		t.Fatalf("payload has no %s: %v", key, args)
	}
	return obj
}

// TestAgentNotifications drives network, subnet and port changes through
// the API and checks that agents hear Neutron's notifications for each,
// on both engines and both bus transports.
func TestAgentNotifications(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":     func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite") },
		"postgresql": func(t *testing.T) string { return pgtest.NewDatabase(t) },
	}
	for _, engine := range []string{"sqlite", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
				overrides := map[string]string{"nats.embedded_port": "0"}
				if tr.URL != "" {
					overrides["DEFAULT.transport_url"] = tr.URL
				}
				e := newEnv(t, dsns[engine](t), overrides)
				if err := e.srv.StartRPC(context.Background(), false); err != nil {
					t.Fatal(err)
				}
				agentBus := tr.Open(t)
				if tr.URL == "" {
					b, err := e.srv.Bus.InProcess("agent", nil)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { b.Close() })
					agentBus = b
				}
				notifications(t, e, listenAsAgent(t, e, agentBus))
			})
		})
	}
}

func notifications(t *testing.T, e *env, ch *ear) {
	const (
		dhcp = "dhcp_agent "
		nUpd = "q-agent-notifier-network-update network_update"
		nDel = "q-agent-notifier-network-delete network_delete"
		pUpd = "q-agent-notifier-port-update port_update"
		pDel = "q-agent-notifier-port-delete port_delete"
	)
	net := e.createNetwork(admin, map[string]any{"name": "n1"})
	netID := net["id"].(string)
	got := await(t, ch, dhcp+"network_create_end")
	if n := payload(t, got[dhcp+"network_create_end"], "network"); n["id"] != netID || n["name"] != "n1" || n["tenant_id"] == nil {
		t.Errorf("network_create_end network = %v", n)
	}
	if p := payload(t, got[dhcp+"network_create_end"], ""); p["priority"] != float64(0) {
		t.Errorf("network_create_end priority = %v, want 0", p["priority"])
	}

	e.do(admin, "PUT", "/v2.0/networks/"+netID, map[string]any{"network": map[string]any{"name": "n2"}}).expect(t, 200)
	got = await(t, ch, nUpd, dhcp+"network_update_end")
	if n, _ := got[nUpd]["network"].(map[string]any); n["name"] != "n2" {
		t.Errorf("network_update network = %v", got[nUpd])
	}
	// An update that changes nothing tells nobody.
	e.do(admin, "PUT", "/v2.0/networks/"+netID, map[string]any{"network": map[string]any{"name": "n2"}}).expect(t, 200)
	await(t, ch)

	sub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": netID, "cidr": "10.0.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
	got = await(t, ch, dhcp+"subnet_create_end")
	if s := payload(t, got[dhcp+"subnet_create_end"], "subnet"); s["id"] != sub["id"] || s["cidr"] != "10.0.0.0/24" {
		t.Errorf("subnet_create_end subnet = %v", s)
	}

	port := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}).
		expect(t, 201).obj(t, "port")
	portID := port["id"].(string)
	got = await(t, ch, dhcp+"port_create_end")
	p := payload(t, got[dhcp+"port_create_end"], "port")
	if ips, _ := p["fixed_ips"].([]any); p["id"] != portID || len(ips) != 1 || p["mac_address"] != port["mac_address"] {
		t.Errorf("port_create_end port = %v", p)
	}

	// A name change concerns L2 agents, not DHCP.
	e.do(admin, "PUT", "/v2.0/ports/"+portID, map[string]any{"port": map[string]any{"name": "p1"}}).expect(t, 200)
	got = await(t, ch, pUpd)
	if pp, _ := got[pUpd]["port"].(map[string]any); pp["id"] != portID || pp["name"] != "p1" {
		t.Errorf("port_update port = %v", got[pUpd])
	}
	for _, k := range []string{"network_type", "segmentation_id", "physical_network"} {
		if _, ok := got[pUpd][k]; !ok {
			t.Errorf("port_update lacks %s: %v", k, got[pUpd])
		}
	}
	// A new address concerns both.
	e.do(admin, "PUT", "/v2.0/ports/"+portID, map[string]any{"port": map[string]any{
		"fixed_ips": []any{map[string]any{"subnet_id": sub["id"], "ip_address": "10.0.0.77"}}}}).expect(t, 200)
	got = await(t, ch, pUpd, dhcp+"port_update_end")
	if ips := fmt.Sprint(payload(t, got[dhcp+"port_update_end"], "port")["fixed_ips"]); !strings.Contains(ips, "10.0.0.77") {
		t.Errorf("port_update_end fixed_ips = %s", ips)
	}

	e.do(admin, "DELETE", "/v2.0/ports/"+portID, nil).expect(t, 204)
	got = await(t, ch, pDel, dhcp+"port_delete_end")
	if got[pDel]["port_id"] != portID {
		t.Errorf("port_delete = %v", got[pDel])
	}
	pd := payload(t, got[dhcp+"port_delete_end"], "")
	if pd["port_id"] != portID || pd["network_id"] != netID || !strings.Contains(fmt.Sprint(pd["fixed_ips"]), "10.0.0.77") {
		t.Errorf("port_delete_end payload = %v", pd)
	}

	e.do(admin, "DELETE", "/v2.0/subnets/"+sub["id"].(string), nil).expect(t, 204)
	got = await(t, ch, dhcp+"subnet_delete_end")
	if sd := payload(t, got[dhcp+"subnet_delete_end"], ""); sd["subnet_id"] != sub["id"] || sd["network_id"] != netID {
		t.Errorf("subnet_delete_end payload = %v", sd)
	}

	e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).expect(t, 204)
	got = await(t, ch, nDel, dhcp+"network_delete_end")
	if got[nDel]["network_id"] != netID || payload(t, got[dhcp+"network_delete_end"], "")["network_id"] != netID {
		t.Errorf("network deletes = %v", got)
	}

	// A refused change tells nobody.
	e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}).expect(t, 404)
	await(t, ch)
}
