package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// ML2: provider networks, project network allocation, MTU, port binding
// through the linuxbridge driver, port status through provisioning
// blocks and the L2 agent's device functions, and l2population.

// ml2Options is the ML2 configuration of these tests.
func ml2Options(extra map[string]string) map[string]string {
	o := map[string]string{
		"ml2.type_drivers":                  "local,flat,vlan,vxlan,geneve,gre",
		"ml2.project_network_types":         "vxlan",
		"ml2.mechanism_drivers":             "linuxbridge,l2population",
		"ml2.physical_network_mtus":         "physnet2:1400",
		"ml2_type_vxlan.vni_ranges":         "1:3",
		"ml2_type_vlan.network_vlan_ranges": "physnet1:100:200,physnet2",
		"ml2_type_flat.flat_networks":       "flatnet",
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// ml2Engines runs f once per engine with the ML2 options.
func ml2Engines(t *testing.T, extra map[string]string, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), ml2Options(extra)))
	})
	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		f(t, newEnv(t, pgtest.NewDatabase(t), ml2Options(extra)))
	})
}

func providerNet(typ, physnet string, segID any) map[string]any {
	m := map[string]any{"provider:network_type": typ}
	if physnet != "" {
		m["provider:physical_network"] = physnet
	}
	if segID != nil {
		m["provider:segmentation_id"] = segID
	}
	return m
}

func TestProviderNetworks(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		ok := []struct {
			body    map[string]any
			physnet any
			segID   any
			mtu     float64
		}{
			{providerNet("vlan", "physnet1", 101), "physnet1", float64(101), 1500},
			{providerNet("vlan", "physnet1", 300), "physnet1", float64(300), 1500}, // outside the ranges: admins may
			{providerNet("vlan", "physnet2", 5), "physnet2", float64(5), 1400},
			{providerNet("vlan", "physnet1", nil), "physnet1", nil, 1500}, // a free id of the range (checked below)
			{providerNet("flat", "flatnet", nil), "flatnet", nil, 1500},
			{providerNet("vxlan", "", 5000), nil, float64(5000), 1450},
			{providerNet("geneve", "", 77), nil, float64(77), 1450},
			{providerNet("gre", "", 78), nil, float64(78), 1458},
			{providerNet("gre", "", 4294967295), nil, float64(4294967295), 1458},
			{providerNet("local", "", nil), nil, nil, 1500},
		}
		for _, tt := range ok {
			n := e.createNetwork(admin, tt.body)
			got := e.do(admin, "GET", "/v2.0/networks/"+n["id"].(string), nil).expect(t, 200).obj(t, "network")
			for _, m := range []map[string]any{n, got} {
				segID := m["provider:segmentation_id"]
				if v, ok := segID.(float64); ok && tt.segID == nil && tt.body["provider:network_type"] == "vlan" {
					// Picked at random among the free ids, as Neutron does.
					if v < 100 || v > 200 || v == 101 {
						t.Errorf("allocated vlan %v, want a free one of 100-200", v)
					}
					segID = nil
				}
				if m["provider:network_type"] != tt.body["provider:network_type"] || m["provider:physical_network"] != tt.physnet ||
					segID != tt.segID || m["mtu"] != tt.mtu {
					t.Errorf("%v: network shows type %v physnet %v segid %v mtu %v, want %v %v %v", tt.body,
						m["provider:network_type"], m["provider:physical_network"], m["provider:segmentation_id"], m["mtu"],
						tt.physnet, tt.segID, tt.mtu)
				}
				if _, ok := m["segments"]; ok {
					t.Errorf("single-segment network shows segments: %v", m)
				}
			}
		}
		// Networks filter by their segments.
		for q, want := range map[string]int{
			"provider:network_type=vlan":                                    4,
			"provider:network_type=vlan&provider:physical_network=physnet1": 3,
			"provider:segmentation_id=101":                                  1,
			"provider:network_type=gre&provider:network_type=geneve":        3,
			"provider:physical_network=flatnet":                             1,
		} {
			if got := e.do(admin, "GET", "/v2.0/networks?"+q, nil).expect(t, 200).list(t, "networks"); len(got) != want {
				t.Errorf("networks?%s: %d networks, want %d", q, len(got), want)
			}
		}
		refused := []struct {
			name   string
			body   map[string]any
			status int
			typ    string
			msg    string
		}{
			{"vlan taken", providerNet("vlan", "physnet1", 101), 409, "VlanIdInUse",
				"Unable to create the network. The VLAN 101 on physical network physnet1 is in use."},
			{"flat taken", providerNet("flat", "flatnet", nil), 409, "FlatNetworkInUse",
				"Unable to create the flat network. Physical network flatnet is in use."},
			{"vxlan taken", providerNet("vxlan", "", 5000), 409, "TunnelIdInUse",
				"Unable to create the network. The tunnel ID 5000 is in use."},
			{"vlan unknown physnet", providerNet("vlan", "nope", 5), 400, "InvalidInput",
				"Invalid input for operation: physical_network 'nope' unknown for VLAN provider network."},
			{"vlan out of range", providerNet("vlan", "physnet1", 4095), 400, "InvalidInput",
				"segmentation_id out of range (1 through 4094)"},
			{"flat not allowed", providerNet("flat", "physnet1", nil), 400, "InvalidInput",
				"physical_network 'physnet1' unknown for flat provider network"},
			{"vxlan with physnet", providerNet("vxlan", "physnet1", nil), 400, "InvalidInput",
				"provider:physical_network specified for vxlan network"},
			{"unknown type", providerNet("foo", "", nil), 400, "InvalidInput", "network_type value 'foo' not supported"},
			{"no type", map[string]any{"provider:physical_network": "physnet1"}, 400, "InvalidInput", "network_type required"},
			{"segments and provider", map[string]any{"provider:network_type": "vxlan",
				"segments": []any{map[string]any{"provider:network_type": "vxlan"}}}, 400,
				"SegmentsSetInConjunctionWithProviders", "Segments and provider values cannot both be set."},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": tt.body}).fault(t, tt.status, tt.typ, tt.msg)
			})
		}
		// Provider attributes are the admin's: a member may neither set
		// nor see them.
		if r := e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": providerNet("vlan", "physnet1", 150)}); r.status != 403 {
			t.Errorf("member creating a provider network: %d %s", r.status, r.raw)
		}
		nulls := e.createNetwork(admin, map[string]any{"provider:network_type": nil, "provider:segmentation_id": nil})
		if nulls["provider:network_type"] != "vxlan" {
			t.Errorf("provider attributes given as null: %v, want a project network", nulls["provider:network_type"])
		}
		mine := e.createNetwork(member1, map[string]any{"name": "mine"})
		for _, k := range []string{"provider:network_type", "provider:physical_network", "provider:segmentation_id"} {
			if _, ok := mine[k]; ok {
				t.Errorf("member sees %s: %v", k, mine)
			}
		}
		if mine["mtu"] != float64(1450) {
			t.Errorf("project vxlan network mtu %v, want 1450", mine["mtu"])
		}
		// Provider attributes do not change; sending the current ones back is fine.
		vlanNet := e.do(admin, "GET", "/v2.0/networks?provider:segmentation_id=101", nil).expect(t, 200).list(t, "networks")[0]
		e.do(admin, "PUT", "/v2.0/networks/"+vlanNet["id"].(string), map[string]any{"network": map[string]any{"name": "same",
			"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 101}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/networks/"+mine["id"].(string), map[string]any{"network": map[string]any{"provider:segmentation_id": 9}}).
			fault(t, 400, "InvalidInput", "Plugin does not support updating provider attributes")
		// MTU: at most what the segment carries.
		e.do(admin, "PUT", "/v2.0/networks/"+mine["id"].(string), map[string]any{"network": map[string]any{"mtu": 1500}}).
			fault(t, 400, "InvalidInput", "Requested MTU is too big, maximum is 1450")
		e.do(admin, "PUT", "/v2.0/networks/"+mine["id"].(string), map[string]any{"network": map[string]any{"mtu": 1400}}).expect(t, 200)
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"provider:network_type": "vlan",
			"provider:physical_network": "physnet2", "provider:segmentation_id": 6, "mtu": 1450}}).fault(t, 400, "InvalidInput", "Requested MTU is too big, maximum is 1400")
	})
}

func TestProjectNetworkAllocation(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		var nets []map[string]any
		var vnis []float64
		for i := range 3 {
			n := e.createNetwork(member1, map[string]any{"name": fmt.Sprint("p", i)})
			n = e.do(admin, "GET", "/v2.0/networks/"+n["id"].(string), nil).expect(t, 200).obj(t, "network")
			if n["provider:network_type"] != "vxlan" || n["provider:physical_network"] != nil {
				t.Fatalf("project network: %v", n)
			}
			nets = append(nets, n)
			vnis = append(vnis, n["provider:segmentation_id"].(float64))
		}
		if sort.Float64s(vnis); !reflect.DeepEqual(vnis, []float64{1, 2, 3}) {
			t.Fatalf("vnis %v, want 1 2 3 in any order", vnis)
		}
		e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "one too many"}}).
			fault(t, 503, "NoNetworkAvailable", "Unable to create the network. No project network is available for allocation.")
		// A provider network outside the ranges does not use up the pool,
		// and its id is gone once it is deleted.
		out := e.createNetwork(admin, providerNet("vxlan", "", 900))
		e.do(admin, "DELETE", "/v2.0/networks/"+out["id"].(string), nil).expect(t, 204)
		e.createNetwork(admin, providerNet("vxlan", "", 900))
		// Deleting a project network returns its VNI to the pool.
		e.do(member1, "DELETE", "/v2.0/networks/"+nets[1]["id"].(string), nil).expect(t, 204)
		n := e.createNetwork(member1, map[string]any{"name": "again"})
		n = e.do(admin, "GET", "/v2.0/networks/"+n["id"].(string), nil).expect(t, 200).obj(t, "network")
		if want := nets[1]["provider:segmentation_id"]; n["provider:segmentation_id"] != want {
			t.Fatalf("after delete got vni %v, want %v (the only free one)", n["provider:segmentation_id"], want)
		}
	})
}

func TestLocalProjectNetworksByDefault(t *testing.T) {
	// Neutron's defaults: project networks are 'local', MTU the global one.
	engines(t, func(t *testing.T, e *env) {
		n := e.createNetwork(admin, map[string]any{"name": "plain"})
		if n["provider:network_type"] != "local" || n["provider:segmentation_id"] != nil || n["mtu"] != float64(1500) {
			t.Fatalf("default network: %v", n)
		}
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": providerNet("vxlan", "", nil)}).
			fault(t, 503, "NoNetworkAvailable", "No project network is available for allocation.")
	})
}

func TestMultiProviderNetworks(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		segs := []any{
			map[string]any{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 150},
			map[string]any{"provider:network_type": "vxlan", "provider:segmentation_id": 7777},
		}
		n := e.createNetwork(admin, map[string]any{"name": "multi", "segments": segs})
		want := []any{
			map[string]any{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": float64(150)},
			map[string]any{"provider:network_type": "vxlan", "provider:physical_network": nil, "provider:segmentation_id": float64(7777)},
		}
		got := e.do(admin, "GET", "/v2.0/networks/"+n["id"].(string), nil).expect(t, 200).obj(t, "network")
		if !reflect.DeepEqual(got["segments"], want) {
			t.Fatalf("segments %v, want %v", got["segments"], want)
		}
		if _, ok := got["provider:network_type"]; ok {
			t.Errorf("multi-segment network shows provider attributes: %v", got)
		}
		if got["mtu"] != float64(1450) {
			t.Errorf("mtu %v, want the smallest segment's 1450", got["mtu"])
		}
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"segments": []any{
			map[string]any{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 150}}}}).
			fault(t, 409, "VlanIdInUse", "The VLAN 150 on physical network physnet1 is in use.")
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"segments": []any{segs[0], segs[0]}}}).
			fault(t, 400, "InvalidInput", "Duplicate segment entry in request.")
		// One segment asked for as a list shows as provider attributes
		// alone, in the create's reply as afterwards, as in Neutron.
		one := e.createNetwork(admin, map[string]any{"name": "one", "segments": []any{
			map[string]any{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 160}}})
		shown := e.do(admin, "GET", "/v2.0/networks/"+one["id"].(string), nil).expect(t, 200).obj(t, "network")
		for what, net := range map[string]map[string]any{"created": one, "shown": shown} {
			if _, ok := net["segments"]; ok || net["provider:network_type"] != "vlan" || net["provider:physical_network"] != "physnet1" ||
				net["provider:segmentation_id"] != float64(160) {
				t.Errorf("%s single-segment network: %v", what, net)
			}
		}
		// A failed create reserves nothing.
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"segments": []any{
			map[string]any{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 151},
			map[string]any{"provider:network_type": "vxlan", "provider:segmentation_id": 7777}}}}).
			fault(t, 409, "TunnelIdInUse", "The tunnel ID 7777 is in use.")
		e.createNetwork(admin, providerNet("vlan", "physnet1", 151))
		// Deleting the network frees both.
		e.do(admin, "DELETE", "/v2.0/networks/"+n["id"].(string), nil).expect(t, 204)
		e.createNetwork(admin, providerNet("vlan", "physnet1", 150))
		e.createNetwork(admin, providerNet("vxlan", "", 7777))
	})
}

// agents is an in-test agents registry.
type agents map[string][]mech.Agent // host → agents

func (a agents) AliveAgents(_ context.Context, _ *store.Tx, host, agentType string) ([]mech.Agent, error) {
	var out []mech.Agent
	for h, as := range a {
		if host != "" && h != host {
			continue
		}
		for _, ag := range as {
			if ag.Type == agentType {
				out = append(out, ag)
			}
		}
	}
	return out, nil
}

func lbAgent(host, tunnelIP string, tunnels []any, mappings map[string]any) mech.Agent {
	return mech.Agent{ID: "lb-" + host, Host: host, Type: rpcapi.AgentTypeLinuxBridge, Configurations: map[string]any{
		"tunnel_types": tunnels, "tunneling_ip": tunnelIP, "interface_mappings": mappings}}
}

// outbox records notifications in memory, for the test to read.
type outbox struct {
	mu sync.Mutex
	ns []rpcapi.Notification
}

func (o *outbox) Record(_ context.Context, _ *store.Tx, ns ...rpcapi.Notification) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ns = append(o.ns, ns...)
	return nil
}

func (o *outbox) take() []rpcapi.Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	ns := o.ns
	o.ns = nil
	return ns
}

func testAgents() agents {
	return agents{
		"host1": {lbAgent("host1", "192.0.2.1", []any{"vxlan"}, map[string]any{"physnet1": "eth1"})},
		"host2": {lbAgent("host2", "192.0.2.2", []any{"vxlan"}, nil)},
		"host3": {lbAgent("host3", "192.0.2.3", []any{}, map[string]any{"physnet1": "eth1"})},
	}
}

func TestML2PortBinding(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		e.srv.ML2.SetAgents(testAgents())
		vx := e.createNetwork(admin, map[string]any{"name": "vx"})["id"].(string)
		vlan := e.createNetwork(admin, providerNet("vlan", "physnet1", 120))["id"].(string)
		port := func(net, host string) map[string]any {
			body := map[string]any{"network_id": net}
			if host != "" {
				body["binding:host_id"] = host
			}
			return e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": body}).expect(t, 201).obj(t, "port")
		}
		bridge := map[string]any{"port_filter": true, "connectivity": "l2"}
		tests := []struct {
			name, net, host string
			vifType         string
			details         map[string]any
		}{
			{"no host", vx, "", "unbound", map[string]any{}},
			{"vxlan on a vxlan agent", vx, "host1", "bridge", bridge},
			{"vxlan on an agent without vxlan", vx, "host3", "binding_failed", map[string]any{}},
			{"vlan on an agent with the physnet", vlan, "host3", "bridge", bridge},
			{"vlan on an agent without the physnet", vlan, "host2", "binding_failed", map[string]any{}},
			{"host without agent", vx, "nowhere", "binding_failed", map[string]any{}},
		}
		for _, tt := range tests {
			p := port(tt.net, tt.host)
			got := e.do(admin, "GET", "/v2.0/ports/"+p["id"].(string), nil).expect(t, 200).obj(t, "port")
			for _, m := range []map[string]any{p, got} {
				if m["binding:vif_type"] != tt.vifType || !reflect.DeepEqual(m["binding:vif_details"], tt.details) ||
					m["binding:vnic_type"] != "normal" || m["status"] != "DOWN" {
					t.Errorf("%s: vif_type %v details %v vnic %v status %v, want %s %v normal DOWN", tt.name,
						m["binding:vif_type"], m["binding:vif_details"], m["binding:vnic_type"], m["status"], tt.vifType, tt.details)
				}
			}
		}
		// Setting the host binds; changing it rebinds.
		p := port(vx, "")
		id := p["id"].(string)
		up := e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"binding:host_id": "host3"}}).expect(t, 200).obj(t, "port")
		if up["binding:vif_type"] != "binding_failed" {
			t.Errorf("host3: %v", up["binding:vif_type"])
		}
		up = e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"binding:host_id": "host1"}}).expect(t, 200).obj(t, "port")
		if up["binding:vif_type"] != "bridge" || !reflect.DeepEqual(up["binding:vif_details"], bridge) {
			t.Errorf("host1: %v %v", up["binding:vif_type"], up["binding:vif_details"])
		}
		// Without an agents registry nothing binds.
		e.srv.ML2.SetAgents(nil)
		if p := port(vx, "host1"); p["binding:vif_type"] != "binding_failed" {
			t.Errorf("no agents: %v", p["binding:vif_type"])
		}
	})
}

func portStatus(t *testing.T, e *env, id string) string {
	t.Helper()
	return e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")["status"].(string)
}

func TestML2PortStatus(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		ml2 := e.srv.ML2
		reg := testAgents()
		ml2.SetAgents(reg)
		netID := e.createNetwork(admin, map[string]any{"name": "st"})["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.9.0.0/24"})
		p := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:host_id": "host1", "device_owner": "compute:nova"}}).expect(t, 201).obj(t, "port")
		id := p["id"].(string)
		tap := "tap" + id[:11]

		// An unknown device gets only its name back.
		if d, err := ml2.GetDeviceDetails(ctx, "tap00000000-00", "agent", "host1"); err != nil || d.Found() || d.Device != "tap00000000-00" {
			t.Fatalf("unknown device: %+v %v", d, err)
		}
		// Asked from another host, a compute port has no active binding.
		if d, err := ml2.GetDeviceDetails(ctx, tap, "agent", "host2"); err != nil || d.Found() || !d.NoActiveBinding {
			t.Fatalf("other host: %+v %v", d, err)
		}
		d, err := ml2.GetDeviceDetails(ctx, tap, "agent", "host1")
		if err != nil || !d.Found() {
			t.Fatalf("details: %+v %v", d, err)
		}
		// VNIs are drawn at random among the free ones.
		vni := int(e.do(admin, "GET", "/v2.0/networks/"+netID, nil).expect(t, 200).obj(t, "network")["provider:segmentation_id"].(float64))
		if d.Device != tap || d.PortID != id || d.NetworkID != netID || d.NetworkType != "vxlan" || d.SegmentationID == nil ||
			*d.SegmentationID != vni || d.PhysicalNetwork != nil || d.MTU != 1450 || d.MACAddress != p["mac_address"] ||
			!d.AdminStateUp || d.DeviceOwner != "compute:nova" || len(d.FixedIPs) != 1 || !d.PortSecurityEnabled {
			t.Fatalf("details: %+v", d)
		}
		if s := portStatus(t, e, id); s != "BUILD" {
			t.Fatalf("after get_device_details: %s, want BUILD", s)
		}
		rev := e.do(admin, "GET", "/v2.0/ports/"+id, nil).obj(t, "port")["revision_number"].(float64)
		if int(rev) != d.RevisionNumber {
			t.Errorf("details revision %d, port revision %v", d.RevisionNumber, rev)
		}
		// A report from another host changes nothing.
		if err := ml2.UpdateDeviceUp(ctx, tap, "agent", "host2"); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, id); s != "BUILD" {
			t.Fatalf("after device up from another host: %s", s)
		}
		if err := ml2.UpdateDeviceUp(ctx, id, "agent", "host1"); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, id); s != "ACTIVE" {
			t.Fatalf("after device up: %s, want ACTIVE", s)
		}
		snap, err := ml2.HostSnapshot(ctx, "host1")
		if err != nil || len(snap.Ports) != 1 || snap.Ports[0].PortID != id || snap.Revisions[id] == 0 || snap.Networks[netID] != "vxlan" {
			t.Fatalf("snapshot: %+v %v", snap, err)
		}
		if snap, _ := ml2.HostSnapshot(ctx, "host2"); len(snap.Ports) != 0 {
			t.Fatalf("host2 snapshot: %+v", snap)
		}
		down, err := ml2.UpdateDeviceDown(ctx, tap, "agent", "host1")
		if err != nil || !down.Exists || down.Device != tap {
			t.Fatalf("device down: %+v %v", down, err)
		}
		if s := portStatus(t, e, id); s != "DOWN" {
			t.Fatalf("after device down: %s", s)
		}
		if down, err := ml2.UpdateDeviceDown(ctx, "tapffffffff-ff", "agent", "host1"); err != nil || down.Exists {
			t.Fatalf("unknown device down: %+v %v", down, err)
		}
		details, err := ml2.GetDevicesDetailsList(ctx, []string{tap, "nope"}, "agent", "host1")
		if err != nil || len(details) != 2 || !details[0].Found() || details[1].Found() {
			t.Fatalf("details list: %+v %v", details, err)
		}

		// With a DHCP agent, a new port waits for DHCP too.
		reg["dhcp"] = []mech.Agent{{ID: "dhcp", Host: "dhcp", Type: rpcapi.AgentTypeDHCP}}
		q := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:host_id": "host1"}}).expect(t, 201).obj(t, "port")
		qid := q["id"].(string)
		if err := ml2.UpdateDeviceUp(ctx, qid, "agent", "host1"); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, qid); s != "DOWN" {
			t.Fatalf("L2 up, DHCP pending: %s, want DOWN", s)
		}
		if err := ml2.ProvisioningComplete(ctx, qid, rpcapi.ProvisioningEntityDHCP); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, qid); s != "ACTIVE" {
			t.Fatalf("L2 and DHCP done: %s, want ACTIVE", s)
		}
		// An extra block holds it again until lifted.
		if err := ml2.AddProvisioningBlock(ctx, qid, "custom"); err != nil {
			t.Fatal(err)
		}
		// Moving the port to another host takes it DOWN until that host's agent reports.
		e.do(admin, "PUT", "/v2.0/ports/"+qid, map[string]any{"port": map[string]any{"binding:host_id": "host2"}}).expect(t, 200)
		if s := portStatus(t, e, qid); s != "DOWN" {
			t.Fatalf("moved: %s, want DOWN", s)
		}
		if err := ml2.UpdateDeviceUp(ctx, qid, "agent", "host2"); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, qid); s != "DOWN" {
			t.Fatalf("custom block pending: %s, want DOWN", s)
		}
		if err := ml2.ProvisioningComplete(ctx, qid, "custom"); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, qid); s != "ACTIVE" {
			t.Fatalf("all done: %s, want ACTIVE", s)
		}
		// An unbound port never goes ACTIVE.
		u := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}).expect(t, 201).obj(t, "port")
		if err := ml2.ProvisioningComplete(ctx, u["id"].(string), rpcapi.ProvisioningEntityL2); err != nil {
			t.Fatal(err)
		}
		if s := portStatus(t, e, u["id"].(string)); s != "DOWN" {
			t.Fatalf("unbound port: %s, want DOWN", s)
		}
	})
}

func fdb(t *testing.T, n rpcapi.Notification) rpcapi.FDBEntries {
	t.Helper()
	var args rpcapi.FDBArgs
	if err := json.Unmarshal(n.Args, &args); err != nil {
		t.Fatal(err)
	}
	return args.FDBEntries
}

// l2popNetwork gives e's ML2 the test agents and a recording outbox, and
// makes a VXLAN network with a subnet of cidr.
func l2popNetwork(e *env, name, cidr string) (*ml2.Plugin, *outbox, string) {
	p := e.srv.ML2
	p.SetAgents(testAgents())
	box := &outbox{}
	p.SetOutbox(box)
	netID := e.createNetwork(admin, map[string]any{"name": name})["id"].(string)
	e.portSubnet(admin, netID, map[string]any{"cidr": cidr})
	return p, box, netID
}

func TestL2Population(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		ml2, box, netID := l2popNetwork(e, "pop", "10.8.0.0/24")
		// VNIs are drawn at random among the free ones.
		vni := int(e.do(admin, "GET", "/v2.0/networks/"+netID, nil).expect(t, 200).obj(t, "network")["provider:segmentation_id"].(float64))
		activate := func(host string) (id, mac, ip string) {
			p := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
				"binding:host_id": host}}).expect(t, 201).obj(t, "port")
			id = p["id"].(string)
			if err := ml2.UpdateDeviceUp(ctx, id, "agent", host); err != nil {
				t.Fatal(err)
			}
			return id, p["mac_address"].(string), p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		}
		flood := [2]string{rpcapi.FloodingMAC, rpcapi.FloodingIP}
		_, mac1, ip1 := activate("host1")
		ns := box.take()
		if len(ns) != 1 || ns[0].Method != "add_fdb_entries" || ns[0].Topic != rpcapi.TopicL2Population || !ns[0].Fanout {
			t.Fatalf("first port: %+v", ns)
		}
		want := rpcapi.FDBEntries{netID: {SegmentID: vni, NetworkType: "vxlan",
			Ports: map[string][][2]string{"192.0.2.1": {flood, {mac1, ip1}}}}}
		if got := fdb(t, ns[0]); !reflect.DeepEqual(got, want) {
			t.Fatalf("fdb_add %+v, want %+v", got, want)
		}
		id2, mac2, ip2 := activate("host2")
		ns = box.take()
		if len(ns) != 2 {
			t.Fatalf("second host: %d notifications: %+v", len(ns), ns)
		}
		sort.Slice(ns, func(i, j int) bool { return ns[i].Topic < ns[j].Topic })
		if got := fdb(t, ns[0]); !reflect.DeepEqual(got[netID].Ports, map[string][][2]string{"192.0.2.2": {flood, {mac2, ip2}}}) || !ns[0].Fanout {
			t.Errorf("fanout for host2's port: %+v", ns[0])
		}
		if ns[1].Topic != rpcapi.HostTopic(rpcapi.TopicL2Population, "host2") || ns[1].Fanout ||
			!reflect.DeepEqual(fdb(t, ns[1])[netID].Ports, map[string][][2]string{"192.0.2.1": {flood, {mac1, ip1}}}) {
			t.Errorf("host2's view of the network: %+v %s", ns[1], ns[1].Args)
		}
		// A second port on host1 adds no flooding entry.
		_, mac3, ip3 := activate("host1")
		ns = box.take()
		if len(ns) != 1 || !reflect.DeepEqual(fdb(t, ns[0])[netID].Ports, map[string][][2]string{"192.0.2.1": {{mac3, ip3}}}) {
			t.Fatalf("second port on host1: %+v", ns)
		}
		// Each host's snapshot holds the other hosts' entries, as a whole.
		snapFDB := func(host string) rpcapi.FDBEntries {
			snap, err := ml2.HostSnapshot(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range snap.FDB {
				for _, pairs := range n.Ports {
					sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
				}
			}
			return snap.FDB
		}
		sorted := func(pairs ...[2]string) [][2]string {
			sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
			return pairs
		}
		if got, want := snapFDB("host2"), (rpcapi.FDBEntries{netID: {SegmentID: vni, NetworkType: "vxlan",
			Ports: map[string][][2]string{"192.0.2.1": sorted(flood, [2]string{mac1, ip1}, [2]string{mac3, ip3})}}}); !reflect.DeepEqual(got, want) {
			t.Errorf("host2's snapshot FDB %+v, want %+v", got, want)
		}
		if got, want := snapFDB("host1"), (rpcapi.FDBEntries{netID: {SegmentID: vni, NetworkType: "vxlan",
			Ports: map[string][][2]string{"192.0.2.2": {flood, {mac2, ip2}}}}}); !reflect.DeepEqual(got, want) {
			t.Errorf("host1's snapshot FDB %+v, want %+v", got, want)
		}
		// Deleting host2's only port removes its entries and its flooding entry.
		e.do(admin, "DELETE", "/v2.0/ports/"+id2, nil).expect(t, 204)
		ns = box.take()
		if len(ns) != 1 || ns[0].Method != "remove_fdb_entries" ||
			!reflect.DeepEqual(fdb(t, ns[0])[netID].Ports, map[string][][2]string{"192.0.2.2": {flood, {mac2, ip2}}}) {
			t.Fatalf("delete: %+v", ns)
		}
		if got := snapFDB("host1"); got == nil || len(got) != 0 {
			t.Errorf("host1's snapshot FDB once alone: %#v, want empty (not null: l2population is on)", got)
		}
	})
}

// TestRangesReconfigured: a restart with other VNI ranges keeps the ids
// existing networks hold; ids now outside the ranges leave the pool when
// their network goes.
func TestRangesReconfigured(t *testing.T) {
	dsn := "sqlite:///" + filepath.Join(t.TempDir(), "neutrino.sqlite")
	before := newEnv(t, dsn, ml2Options(nil)) // vni_ranges 1:3
	ids := map[float64]string{}               // vni → network, picked at random
	for range 3 {
		id := before.createNetwork(admin, map[string]any{})["id"].(string)
		ids[before.do(admin, "GET", "/v2.0/networks/"+id, nil).obj(t, "network")["provider:segmentation_id"].(float64)] = id
	}
	after := newEnv(t, dsn, ml2Options(map[string]string{"ml2_type_vxlan.vni_ranges": "2:4"}))
	after.do(admin, "POST", "/v2.0/networks", map[string]any{"network": providerNet("vxlan", "", 1)}).
		fault(t, 409, "TunnelIdInUse", "The tunnel ID 1 is in use.")
	n := after.createNetwork(admin, map[string]any{})
	if got := after.do(admin, "GET", "/v2.0/networks/"+n["id"].(string), nil).obj(t, "network"); got["provider:segmentation_id"] != float64(4) {
		t.Fatalf("first allocation after reconfiguring: vni %v, want 4", got["provider:segmentation_id"])
	}
	after.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{}}).
		fault(t, 503, "NoNetworkAvailable", "No project network is available for allocation.")
	after.do(admin, "DELETE", "/v2.0/networks/"+ids[1], nil).expect(t, 204) // vni 1, now outside the ranges
	after.do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{}}).
		fault(t, 503, "NoNetworkAvailable", "No project network is available for allocation.")
	after.createNetwork(admin, providerNet("vxlan", "", 1))
	after.do(admin, "DELETE", "/v2.0/networks/"+ids[2], nil).expect(t, 204) // vni 2, in the ranges
	after.createNetwork(admin, map[string]any{})
}

// TestConcurrentNetworkAllocation: two servers on one PostgreSQL (or one
// on SQLite) create 200 project networks at once from a range of 200
// VNIs: every network gets its own VNI, and one more is refused.
func TestConcurrentNetworkAllocation(t *testing.T) {
	for _, engine := range []string{"postgresql", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			overrides := ml2Options(map[string]string{"ml2_type_vxlan.vni_ranges": "1:200", "quotas.quota_network": "-1"})
			var servers []*env
			if engine == "postgresql" {
				dsn := pgtest.NewDatabase(t)
				servers = []*env{newEnv(t, dsn, overrides), newEnv(t, dsn, overrides)}
			} else {
				servers = []*env{newEnv(t, "sqlite:///"+filepath.Join(t.TempDir(), "neutrino.sqlite"), overrides)}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			const n = 200
			var wg sync.WaitGroup
			var bad failures
			ids := make([]string, n)
			for i := range n {
				wg.Go(func() {
					srv := servers[i%len(servers)]
					r := call(ctx, srv.url, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": fmt.Sprint("h", i)}})
					if r.err != nil || r.status != 201 {
						bad.add("create %d: %v", i, r)
						return
					}
					ids[i] = r.body["network"].(map[string]any)["id"].(string)
				})
			}
			wg.Wait()
			bad.report(t)
			if t.Failed() {
				return
			}
			nets := servers[0].do(admin, "GET", "/v2.0/networks?fields=id&fields=provider:segmentation_id", nil).expect(t, 200).list(t, "networks")
			seen := map[float64]string{}
			for _, nw := range nets {
				v, ok := nw["provider:segmentation_id"].(float64)
				if !ok || v < 1 || v > n {
					t.Fatalf("network %v has vni %v", nw["id"], nw["provider:segmentation_id"])
				}
				if other, dup := seen[v]; dup {
					t.Fatalf("vni %v given to %s and %s", v, other, nw["id"])
				}
				seen[v] = nw["id"].(string)
			}
			if len(seen) != n {
				t.Fatalf("%d distinct vnis, want %d", len(seen), n)
			}
			servers[len(servers)-1].do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "extra"}}).
				fault(t, 503, "NoNetworkAvailable", "No project network is available for allocation.")
		})
	}
}

// TestML2UpdateDeviceList: update_device_list reports many ports up and
// down in one call, with update_device_up/down's meaning for each.
func TestML2UpdateDeviceList(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		ml2 := e.srv.ML2
		ml2.SetAgents(testAgents())
		netID := e.createNetwork(admin, map[string]any{"name": "batch"})["id"].(string)
		e.portSubnet(admin, netID, map[string]any{"cidr": "10.19.0.0/24"})
		var taps, ids []string
		for range 3 {
			p := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
				"binding:host_id": "host1", "device_owner": "compute:nova"}}).expect(t, 201).obj(t, "port")
			ids = append(ids, p["id"].(string))
			taps = append(taps, "tap"+p["id"].(string)[:11])
		}
		r, err := ml2.UpdateDeviceList(ctx, taps, nil, "agent", "host1")
		if err != nil || len(r.DevicesUp) != 3 || len(r.FailedDevicesUp) != 0 {
			t.Fatalf("up: %+v %v", r, err)
		}
		for _, id := range ids {
			if s := portStatus(t, e, id); s != "ACTIVE" {
				t.Errorf("port %s is %s after update_device_list up, want ACTIVE", id, s)
			}
		}
		r, err = ml2.UpdateDeviceList(ctx, nil, []string{taps[0], "tap00000000-00"}, "agent", "host1")
		if err != nil || len(r.DevicesDown) != 2 || !r.DevicesDown[0].Exists || r.DevicesDown[1].Exists {
			t.Fatalf("down: %+v %v", r, err)
		}
		if s := portStatus(t, e, ids[0]); s != "DOWN" {
			t.Errorf("port is %s after update_device_list down, want DOWN", s)
		}
		if s := portStatus(t, e, ids[1]); s != "ACTIVE" {
			t.Errorf("untouched port is %s, want ACTIVE", s)
		}
	})
}

// TestML2AgentCallsCostFixedQueries: an L2 agent's snapshot and its
// report of many ports up cost the same reads whether the host has a few
// ports or many, and l2population announces a batch in one fdb_add.
func TestML2AgentCallsCostFixedQueries(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		ctx := context.Background()
		ml2, box, netID := l2popNetwork(e, "cost", "10.21.0.0/24")
		ports := func(n int) (taps, ids []string) {
			for range n {
				p := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
					"binding:host_id": "host1", "device_owner": "compute:nova"}}).expect(t, 201).obj(t, "port")
				ids = append(ids, p["id"].(string))
				taps = append(taps, "tap"+p["id"].(string)[:11])
			}
			return taps, ids
		}
		cost := func(f func()) int64 {
			before := e.srv.Store.Queries()
			f()
			return e.srv.Store.Queries() - before
		}
		up := func(taps []string) {
			if r, err := ml2.UpdateDeviceList(ctx, taps, nil, "agent", "host1"); err != nil || len(r.DevicesUp) != len(taps) {
				t.Fatalf("update_device_list: %+v %v", r, err)
			}
		}
		snapshot := func(want int) func() {
			return func() {
				snap, err := ml2.HostSnapshot(ctx, "host1")
				if err != nil || len(snap.Ports) != want {
					t.Fatalf("snapshot: %d ports, %v; want %d", len(snap.Ports), err, want)
				}
			}
		}
		// The host's first port takes l2population's "first port" branch.
		first, _ := ports(1)
		up(first)

		few, _ := ports(2)
		box.take()
		upFew := cost(func() { up(few) })
		if ns := box.take(); len(ns) != 1 || len(fdb(t, ns[0])[netID].Ports["192.0.2.1"]) != 2 {
			t.Errorf("2 ports up: %d notifications %+v, want one fdb_add with both", len(ns), ns)
		}
		snapFew := cost(snapshot(3))

		many, ids := ports(20)
		box.take()
		upMany := cost(func() { up(many) })
		if ns := box.take(); len(ns) != 1 || len(fdb(t, ns[0])[netID].Ports["192.0.2.1"]) != 20 {
			t.Errorf("20 ports up: %d notifications, want one fdb_add with all 20", len(ns))
		}
		snapMany := cost(snapshot(23))
		if upMany != upFew || snapMany != snapFew {
			t.Errorf("queries: update_device_list %d for 2 ports, %d for 20; get_snapshot %d for 3 ports, %d for 23",
				upFew, upMany, snapFew, snapMany)
		}
		for _, id := range ids {
			if s := portStatus(t, e, id); s != "ACTIVE" {
				t.Fatalf("port %s is %s, want ACTIVE", id, s)
			}
		}
		// get_devices_details_list moves them to BUILD, as in Neutron.
		details := func(taps []string) func() {
			return func() {
				ds, err := ml2.GetDevicesDetailsList(ctx, taps, "agent", "host1")
				if err != nil || len(ds) != len(taps) {
					t.Fatalf("get_devices_details_list: %d, %v", len(ds), err)
				}
				for _, d := range ds {
					if !d.Found() {
						t.Fatalf("device %s not found", d.Device)
					}
				}
			}
		}
		if few, many := cost(details(few)), cost(details(many)); few != many {
			t.Errorf("queries: get_devices_details_list %d for 2 devices, %d for 20", few, many)
		}
	})
}

// TestNetworkAllocationChurn: three servers on one PostgreSQL draw VNIs at
// random from a range of 300 while networks are deleted on other
// servers, so draws collide with ids taken, ids held by uncommitted
// transactions and ids being freed: no VNI is ever held by two networks,
// every freed one can be taken again, and the full range refuses one
// more.
func TestNetworkAllocationChurn(t *testing.T) {
	t.Parallel()
	const size = 300
	overrides := ml2Options(map[string]string{"ml2_type_vxlan.vni_ranges": fmt.Sprint("1:", size), "quotas.quota_network": "-1"})
	dsn := pgtest.NewDatabase(t)
	servers := []*env{newEnv(t, dsn, overrides), newEnv(t, dsn, overrides), newEnv(t, dsn, overrides)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu  sync.Mutex
		ids []string
		bad failures
	)
	create := func(i int) {
		r := call(ctx, servers[i%len(servers)].url, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": fmt.Sprint("c", i)}})
		if r.err != nil || r.status != 201 {
			bad.add("create %d: %v", i, r)
			return
		}
		mu.Lock()
		ids = append(ids, r.body["network"].(map[string]any)["id"].(string))
		mu.Unlock()
	}
	run := func(n int, f func(i int)) {
		var wg sync.WaitGroup
		work := make(chan int)
		for range 16 {
			wg.Go(func() {
				for i := range work {
					f(i)
				}
			})
		}
		for i := range n {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	run(240, create)
	// Delete 120 while creating the 60 still free: at every moment at
	// least as many ids are free as creates remain.
	doomed := slices.Clone(ids[:120])
	ids = slices.Clone(ids[120:])
	run(180, func(i int) {
		if i < 120 {
			if r := call(ctx, servers[(i+1)%len(servers)].url, "DELETE", "/v2.0/networks/"+doomed[i], nil); r.err != nil || r.status != 204 {
				bad.add("delete %d: %v", i, r)
			}
			return
		}
		create(1000 + i)
	})
	run(120, func(i int) { create(2000 + i) })
	bad.report(t)
	if t.Failed() {
		return
	}
	nets := servers[0].do(admin, "GET", "/v2.0/networks?fields=id&fields=provider:segmentation_id", nil).expect(t, 200).list(t, "networks")
	seen := map[float64]string{}
	for _, nw := range nets {
		v, ok := nw["provider:segmentation_id"].(float64)
		if !ok || v < 1 || v > size {
			t.Fatalf("network %v has vni %v", nw["id"], nw["provider:segmentation_id"])
		}
		if other, dup := seen[v]; dup {
			t.Fatalf("vni %v given to %s and %s", v, other, nw["id"])
		}
		seen[v] = nw["id"].(string)
	}
	if len(seen) != size || len(ids) != size {
		t.Fatalf("%d distinct vnis over %d networks created and kept, want %d", len(seen), len(ids), size)
	}
	servers[1].do(admin, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "extra"}}).
		fault(t, 503, "NoNetworkAvailable", "No project network is available for allocation.")
}
