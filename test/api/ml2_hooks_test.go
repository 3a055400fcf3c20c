package api_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
)

// hookRecorder is a mechanism driver that records which hooks ran for
// which object, and refuses objects named "refuse-me" in precommit.
type hookRecorder struct {
	mech.Base
	mu     sync.Mutex
	events map[string][]string // object id → hooks, in order
}

var recorder = &hookRecorder{events: map[string][]string{}}

func init() { mech.Register("test-recorder", func(mech.Deps) mech.Driver { return recorder }) }

func (r *hookRecorder) Name() string { return "test-recorder" }

func (r *hookRecorder) add(id, hook string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[id] = append(r.events[id], hook)
}

func (r *hookRecorder) of(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events[id])
}

func refuse(name string) error {
	if name == "refuse-me" {
		return fault.Conflict("RefusedByDriver", "the test driver refuses %s", name)
	}
	return nil
}

func (r *hookRecorder) CreateNetworkPrecommit(_ context.Context, nc *mech.NetworkContext) error {
	r.add(nc.Current.ID(), "create_network_precommit:"+nc.Segments[0].NetworkType)
	return refuse(nc.Current.String("name"))
}
func (r *hookRecorder) CreateNetworkPostcommit(_ context.Context, nc *mech.NetworkContext) {
	r.add(nc.Current.ID(), "create_network_postcommit")
}
func (r *hookRecorder) DeleteNetworkPrecommit(_ context.Context, nc *mech.NetworkContext) error {
	r.add(nc.Current.ID(), "delete_network_precommit")
	return nil
}
func (r *hookRecorder) DeleteNetworkPostcommit(_ context.Context, nc *mech.NetworkContext) {
	r.add(nc.Current.ID(), "delete_network_postcommit")
}
func (r *hookRecorder) CreateSubnetPrecommit(_ context.Context, sc *mech.SubnetContext) error {
	r.add(sc.Current.ID(), "create_subnet_precommit")
	return nil
}
func (r *hookRecorder) CreateSubnetPostcommit(_ context.Context, sc *mech.SubnetContext) {
	r.add(sc.Current.ID(), "create_subnet_postcommit")
}
func (r *hookRecorder) UpdateSubnetPrecommit(_ context.Context, sc *mech.SubnetContext) error {
	r.add(sc.Current.ID(), "update_subnet_precommit:"+sc.Original.String("name")+">"+sc.Current.String("name"))
	return nil
}
func (r *hookRecorder) DeleteSubnetPrecommit(_ context.Context, sc *mech.SubnetContext) error {
	r.add(sc.Current.ID(), "delete_subnet_precommit")
	return nil
}
func (r *hookRecorder) CreatePortPrecommit(_ context.Context, pc *mech.PortContext) error {
	r.add(pc.Current.ID(), "create_port_precommit")
	return refuse(pc.Current.String("name"))
}
func (r *hookRecorder) CreatePortPostcommit(_ context.Context, pc *mech.PortContext) {
	r.add(pc.Current.ID(), "create_port_postcommit")
}
func (r *hookRecorder) UpdatePortPrecommit(_ context.Context, pc *mech.PortContext) error {
	r.add(pc.Current.ID(), "update_port_precommit:"+pc.Original.String("status")+">"+pc.Current.String("status"))
	return nil
}
func (r *hookRecorder) DeletePortPrecommit(_ context.Context, pc *mech.PortContext) error {
	r.add(pc.Current.ID(), "delete_port_precommit")
	return nil
}
func (r *hookRecorder) BindPort(_ context.Context, pc *mech.PortContext) error {
	r.add(pc.Current.ID(), "bind_port:"+pc.Host())
	return nil
}

// TestMechanismDriverHooks: drivers run in [ml2] mechanism_drivers order,
// precommit inside the transaction (an error undoes the change), and
// postcommit only after a commit.
func TestMechanismDriverHooks(t *testing.T) {
	ml2Engines(t, map[string]string{"ml2.mechanism_drivers": "test-recorder,linuxbridge"}, func(t *testing.T, e *env) {
		e.srv.ML2.SetAgents(testAgents())
		expect := func(id string, want ...string) {
			t.Helper()
			if got := recorder.of(id); !slices.Equal(got, want) {
				t.Errorf("hooks for %s: %v, want %v", id, got, want)
			}
		}
		net := e.createNetwork(admin, map[string]any{"name": "hooked"})
		netID := net["id"].(string)
		expect(netID, "create_network_precommit:vxlan", "create_network_postcommit")

		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "refuse-me"}}).
			fault(t, 409, "RefusedByDriver", "the test driver refuses refuse-me")
		// The refused network's VNI went back with the rollback: two more
		// networks fill the range of three with hooked's.
		e.createNetwork(admin, map[string]any{"name": "next"})
		e.createNetwork(admin, map[string]any{"name": "last"})

		sub := e.portSubnet(admin, netID, map[string]any{"cidr": "10.66.0.0/24", "name": "a"})
		subID := sub["id"].(string)
		e.do(admin, "PUT", "/v2.0/subnets/"+subID, map[string]any{"subnet": map[string]any{"name": "b"}}).expect(t, 200)
		expect(subID, "create_subnet_precommit", "create_subnet_postcommit", "update_subnet_precommit:a>b")

		port := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:host_id": "host1"}}).expect(t, 201).obj(t, "port")
		portID := port["id"].(string)
		if port["binding:vif_type"] != "bridge" {
			t.Errorf("linuxbridge after a driver that binds nothing: %v", port["binding:vif_type"])
		}
		if err := e.srv.ML2.UpdateDeviceUp(context.Background(), portID, "agent", "host1"); err != nil {
			t.Fatal(err)
		}
		e.do(admin, "DELETE", "/v2.0/ports/"+portID, nil).expect(t, 204)
		expect(portID, "bind_port:host1", "create_port_precommit", "create_port_postcommit",
			"update_port_precommit:DOWN>ACTIVE", "delete_port_precommit")

		if r := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "name": "refuse-me"}}); r.status != 409 {
			t.Errorf("refused port: %d %s", r.status, r.raw)
		}
		if ports := e.do(admin, "GET", "/v2.0/ports?name=refuse-me", nil).expect(t, 200).list(t, "ports"); len(ports) != 0 {
			t.Errorf("refused port exists: %v", ports)
		}

		e.do(admin, "DELETE", "/v2.0/subnets/"+subID, nil).expect(t, 204)
		e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).expect(t, 204)
		got := recorder.of(netID)
		if len(got) != 4 || !strings.HasPrefix(got[2], "delete_network_precommit") || got[3] != "delete_network_postcommit" {
			t.Errorf("network hooks: %v", got)
		}
	})
}
