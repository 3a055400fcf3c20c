package api_test

import (
	"context"
	"testing"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// Trunks (the trunk service plugin) and the port binding extensions of
// ML2: binding-extended and the extension drivers' port attributes.

// reportLB registers an alive Linux bridge agent on host that carries
// VXLAN, so ML2 binds ports there.
func (e *env) reportLB(host string) {
	e.t.Helper()
	if _, err := e.srv.Agents.ReportState(context.Background(), rpcapi.AgentState{
		AgentType: rpcapi.AgentTypeLinuxBridge, Binary: "neutron-linuxbridge-agent", Host: host, Topic: "N/A", StartFlag: true,
		Configurations: map[string]any{"tunnel_types": []any{"vxlan"}, "tunneling_ip": "192.0.2.9", "interface_mappings": map[string]any{"physnet1": "eth1"}},
	}); err != nil {
		e.t.Fatalf("report agent on %s: %v", host, err)
	}
}

func (e *env) port(as *caller, attrs map[string]any) map[string]any {
	e.t.Helper()
	return e.do(as, "POST", "/v2.0/ports", map[string]any{"port": attrs}).expect(e.t, 201).obj(e.t, "port")
}

func subPort(port string, segType string, segID any) map[string]any {
	m := map[string]any{"port_id": port, "segmentation_type": segType}
	if segID != nil {
		m["segmentation_id"] = segID
	}
	return m
}

func TestTrunksAPI(t *testing.T) {
	ml2Engines(t, map[string]string{"DEFAULT.service_plugins": "trunk"}, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{"name": "t"})["id"].(string)
		newPort := func() string { return e.port(member1, map[string]any{"network_id": net})["id"].(string) }
		parent, sub1, sub2 := newPort(), newPort(), newPort()
		create := func(body map[string]any) *reply {
			return e.do(member1, "POST", "/v2.0/trunks", map[string]any{"trunk": body})
		}

		tr := create(map[string]any{"port_id": parent, "name": "t1", "sub_ports": []any{subPort(sub1, "vlan", 2)}}).
			expect(t, 201).obj(t, "trunk")
		id := tr["id"].(string)
		if tr["status"] != "DOWN" || tr["admin_state_up"] != true || tr["project_id"] != "project-one" || tr["tenant_id"] != "project-one" ||
			tr["description"] != "" || tr["revision_number"] == nil || tr["tags"] == nil {
			t.Fatalf("trunk: %v", tr)
		}
		subs := tr["sub_ports"].([]any)
		if len(subs) != 1 || subs[0].(map[string]any)["segmentation_id"] != float64(2) || subs[0].(map[string]any)["port_id"] != sub1 {
			t.Fatalf("sub_ports: %v", subs)
		}
		shown := e.do(member1, "GET", "/v2.0/trunks/"+id, nil).expect(t, 200).obj(t, "trunk")
		if shown["revision_number"] != tr["revision_number"] || len(shown["sub_ports"].([]any)) != 1 {
			t.Errorf("shown: %v, created: %v", shown, tr)
		}
		if l := e.do(member1, "GET", "/v2.0/trunks?port_id="+parent, nil).expect(t, 200).list(t, "trunks"); len(l) != 1 {
			t.Errorf("list by port_id: %v", l)
		}
		e.do(member2, "GET", "/v2.0/trunks/"+id, nil).fault(t, 404, "TrunkNotFound", id)

		// trunk_details on the parent, with the sub-ports' MACs; none on
		// other ports.
		p := e.do(member1, "GET", "/v2.0/ports/"+parent, nil).expect(t, 200).obj(t, "port")
		td, ok := p["trunk_details"].(map[string]any)
		if !ok || td["trunk_id"] != id || len(td["sub_ports"].([]any)) != 1 || td["sub_ports"].([]any)[0].(map[string]any)["mac_address"] == "" {
			t.Errorf("trunk_details: %v", p["trunk_details"])
		}
		if _, ok := e.do(member1, "GET", "/v2.0/ports/"+sub1, nil).expect(t, 200).obj(t, "port")["trunk_details"]; ok {
			t.Error("a sub-port shows trunk_details")
		}

		// Sub-port actions.
		added := e.do(member1, "PUT", "/v2.0/trunks/"+id+"/add_subports", map[string]any{"sub_ports": []any{subPort(sub2, "vlan", 3)}}).
			expect(t, 200).body
		if added["id"] != id || len(added["sub_ports"].([]any)) != 2 {
			t.Errorf("add_subports: %v", added)
		}
		got := e.do(member1, "GET", "/v2.0/trunks/"+id+"/get_subports", nil).expect(t, 200).body
		if len(got["sub_ports"].([]any)) != 2 {
			t.Errorf("get_subports: %v", got)
		}
		removed := e.do(member1, "PUT", "/v2.0/trunks/"+id+"/remove_subports", map[string]any{"sub_ports": []any{map[string]any{"port_id": sub2}}}).
			expect(t, 200).body
		if len(removed["sub_ports"].([]any)) != 1 {
			t.Errorf("remove_subports: %v", removed)
		}

		// Neutron's refusals, in its order.
		other := newPort()
		missing := "0b4bc3b1-0d06-4c2d-9a5a-5e0e1b5f0000"
		for _, tc := range []struct {
			name          string
			r             *reply
			status        int
			typ, contains string
		}{
			{"unknown parent", create(map[string]any{"port_id": missing}), 404, "PortNotFound", missing},
			{"unknown sub-port", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(missing, "vlan", 2)}}), 404, "PortNotFound", missing},
			{"parent used", create(map[string]any{"port_id": parent}), 409, "ParentPortInUse", parent},
			{"parent is a sub-port", create(map[string]any{"port_id": sub1}), 409, "TrunkPortInUse", sub1},
			{"no segmentation id", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(sub2, "vlan", nil)}}), 400, "HTTPBadRequest", "missing segmentation information"},
			{"no port id", create(map[string]any{"port_id": other, "sub_ports": []any{map[string]any{"segmentation_type": "vlan", "segmentation_id": 3}}}), 400, "HTTPBadRequest", "A valid port UUID must be specified"},
			{"same segmentation twice", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(sub2, "vlan", 5), subPort(newPort(), "vlan", 5)}}), 400, "HTTPBadRequest", "is not unique"},
			{"VLAN out of range", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(sub2, "vlan", 4095)}}), 400, "InvalidInput", "Segmentation ID '4095' is not in range"},
			{"unknown type", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(sub2, "qinq", 5)}}), 400, "InvalidInput", "Unknown segmentation_type 'qinq'"},
			{"inherit from VXLAN", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(sub2, "inherit", nil)}}), 400, "InvalidInput", "Unknown segmentation_type 'vxlan'"},
			{"sub-port is the parent", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(other, "vlan", 5)}}), 409, "ParentPortInUse", other},
			{"sub-port of another trunk", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(sub1, "vlan", 5)}}), 409, "TrunkPortInUse", sub1},
			{"sub-port with a device", create(map[string]any{"port_id": other, "sub_ports": []any{subPort(e.port(member1, map[string]any{"network_id": net, "device_id": "vm1"})["id"].(string), "vlan", 5)}}), 409, "PortInUse", "vm1"},
			{"segmentation taken", e.do(member1, "PUT", "/v2.0/trunks/"+id+"/add_subports", map[string]any{"sub_ports": []any{subPort(sub2, "vlan", 2)}}), 409, "DuplicateSubPort", "segmentation_type vlan and segmentation_id 2 already in use"},
			{"add a dict", e.do(member1, "PUT", "/v2.0/trunks/"+id+"/add_subports", map[string]any{"sub_ports": subPort(sub2, "vlan", 7)}), 400, "InvalidInput", "is not a list"},
			{"add to no trunk", e.do(member1, "PUT", "/v2.0/trunks/"+missing+"/add_subports", map[string]any{"sub_ports": []any{subPort(sub2, "vlan", 7)}}), 404, "TrunkNotFound", missing},
			{"remove a stranger", e.do(member1, "PUT", "/v2.0/trunks/"+id+"/remove_subports", map[string]any{"sub_ports": []any{map[string]any{"port_id": sub2}}}), 404, "SubPortNotFound", sub2},
			{"delete the parent", e.do(member1, "DELETE", "/v2.0/ports/"+parent, nil), 409, "PortInUseAsTrunkParent", id},
			{"delete a sub-port", e.do(member1, "DELETE", "/v2.0/ports/"+sub1, nil), 409, "PortInUseAsSubPort", id},
		} {
			t.Run(tc.name, func(t *testing.T) { tc.r.fault(t, tc.status, tc.typ, tc.contains) })
		}

		// A disabled trunk can be renamed or enabled, nothing else.
		up := e.do(member1, "PUT", "/v2.0/trunks/"+id, map[string]any{"trunk": map[string]any{"admin_state_up": false, "name": "off"}}).
			expect(t, 200).obj(t, "trunk")
		if up["admin_state_up"] != false || up["name"] != "off" || up["revision_number"].(float64) <= tr["revision_number"].(float64) {
			t.Errorf("updated: %v", up)
		}
		e.do(member1, "PUT", "/v2.0/trunks/"+id+"/add_subports", map[string]any{"sub_ports": []any{subPort(sub2, "vlan", 9)}}).
			fault(t, 409, "TrunkDisabled", id)
		e.do(member1, "PUT", "/v2.0/trunks/"+id+"/remove_subports", map[string]any{"sub_ports": []any{map[string]any{"port_id": sub1}}}).
			fault(t, 409, "TrunkDisabled", id)
		e.do(member1, "DELETE", "/v2.0/trunks/"+id, nil).fault(t, 409, "TrunkDisabled", id)
		e.do(member1, "PUT", "/v2.0/trunks/"+id, map[string]any{"trunk": map[string]any{"admin_state_up": true}}).expect(t, 200)
		e.do(member1, "DELETE", "/v2.0/trunks/"+id, nil).expect(t, 204)
		e.do(member1, "GET", "/v2.0/trunks/"+id, nil).fault(t, 404, "TrunkNotFound", id)
		// Its ports are free again.
		e.do(member1, "DELETE", "/v2.0/ports/"+sub1, nil).expect(t, 204)
		e.do(member1, "DELETE", "/v2.0/ports/"+parent, nil).expect(t, 204)
	})
}

func TestTrunkSegmentationAndMTU(t *testing.T) {
	ml2Engines(t, map[string]string{"DEFAULT.service_plugins": "trunk"}, func(t *testing.T, e *env) {
		vxlan := e.createNetwork(admin, map[string]any{"name": "vx", "tenant_id": "project-one"})["id"].(string) // MTU 1450
		vlan := e.createNetwork(admin, providerNet("vlan", "physnet1", 150))["id"].(string)                      // MTU 1500
		small := e.port(admin, map[string]any{"network_id": vxlan})["id"].(string)
		small2 := e.port(admin, map[string]any{"network_id": vxlan})["id"].(string)
		large := e.port(admin, map[string]any{"network_id": vlan})["id"].(string)
		large2 := e.port(admin, map[string]any{"network_id": vlan})["id"].(string)

		// A sub-port's MTU may not exceed the parent's.
		e.do(admin, "POST", "/v2.0/trunks", map[string]any{"trunk": map[string]any{"port_id": small, "sub_ports": []any{subPort(large, "vlan", 2)}}}).
			fault(t, 409, "SubPortMtuGreaterThanTrunkPortMtu", "MTU 1500 of subport "+large+" cannot be greater than MTU 1450")
		// inherit takes the sub-port network's VLAN.
		tr := e.do(admin, "POST", "/v2.0/trunks", map[string]any{"trunk": map[string]any{"port_id": large2,
			"sub_ports": []any{subPort(large, "inherit", nil), subPort(small2, "vlan", 7)}}}).expect(t, 201).obj(t, "trunk")
		var inherited map[string]any
		for _, s := range tr["sub_ports"].([]any) {
			if m := s.(map[string]any); m["port_id"] == large {
				inherited = m
			}
		}
		if inherited["segmentation_type"] != "vlan" || inherited["segmentation_id"] != float64(150) {
			t.Errorf("inherited sub-port: %v", tr["sub_ports"])
		}
		e.do(admin, "PUT", "/v2.0/trunks/"+tr["id"].(string)+"/add_subports", map[string]any{"sub_ports": []any{subPort(small, "vlan", 8)}}).expect(t, 200)
	})
}

// A parent bound by the Linux bridge driver: its sub-ports are bound to
// its host as trunk:subport ports, and the trunk is DEGRADED because the
// agent cannot make the VLAN sub-interfaces; unbound, the trunk is DOWN.
func TestTrunkBoundParent(t *testing.T) {
	ml2Engines(t, map[string]string{"DEFAULT.service_plugins": "trunk"}, func(t *testing.T, e *env) {
		e.reportLB("host1")
		net := e.createNetwork(admin, map[string]any{"name": "t"})["id"].(string)
		parent := e.port(admin, map[string]any{"network_id": net, "binding:host_id": "host1", "device_owner": "compute:nova", "device_id": "vm"})
		if parent["binding:vif_type"] != "bridge" {
			t.Fatalf("parent not bound: %v", parent)
		}
		sub := e.port(admin, map[string]any{"network_id": net})["id"].(string)
		tr := e.do(admin, "POST", "/v2.0/trunks", map[string]any{"trunk": map[string]any{"port_id": parent["id"],
			"sub_ports": []any{subPort(sub, "vlan", 10)}}}).expect(t, 201).obj(t, "trunk")
		if tr["status"] != "DEGRADED" {
			t.Errorf("trunk of a bound parent: %v", tr["status"])
		}
		sp := e.do(admin, "GET", "/v2.0/ports/"+sub, nil).expect(t, 200).obj(t, "port")
		if sp["binding:host_id"] != "host1" || sp["device_owner"] != "trunk:subport" || sp["binding:vif_type"] != "bridge" {
			t.Errorf("sub-port: host %v owner %v vif %v", sp["binding:host_id"], sp["device_owner"], sp["binding:vif_type"])
		}
		id := tr["id"].(string)
		// A parent bound to a host without the Linux bridge agent cannot be
		// trunked (nor its trunk deleted).
		other := e.port(admin, map[string]any{"network_id": net, "binding:host_id": "nowhere"})["id"].(string)
		e.do(admin, "POST", "/v2.0/trunks", map[string]any{"trunk": map[string]any{"port_id": other}}).fault(t, 409, "ParentPortInUse", other)

		e.do(admin, "PUT", "/v2.0/trunks/"+id+"/remove_subports", map[string]any{"sub_ports": []any{map[string]any{"port_id": sub}}}).expect(t, 200)
		sp = e.do(admin, "GET", "/v2.0/ports/"+sub, nil).expect(t, 200).obj(t, "port")
		if sp["binding:host_id"] != "" || sp["device_owner"] != "" {
			t.Errorf("removed sub-port stays bound: %v %v", sp["binding:host_id"], sp["device_owner"])
		}
		e.do(admin, "PUT", "/v2.0/ports/"+parent["id"].(string), map[string]any{"port": map[string]any{"binding:host_id": ""}}).expect(t, 200)
		if s := e.do(admin, "GET", "/v2.0/trunks/"+id, nil).expect(t, 200).obj(t, "trunk")["status"]; s != "DOWN" {
			t.Errorf("trunk of an unbound parent: %v", s)
		}
	})
}

// Without the trunk service plugin neither trunks nor trunk_details are
// served.
func TestTrunkPluginNotLoaded(t *testing.T) {
	ml2Engines(t, map[string]string{"DEFAULT.service_plugins": "router"}, func(t *testing.T, e *env) {
		e.do(admin, "GET", "/v2.0/trunks", nil).expect(t, 404)
		for _, ext := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
			if ext["alias"] == "trunk" || ext["alias"] == "trunk-details" {
				t.Errorf("extension %v listed", ext["alias"])
			}
		}
	})
}

var service = &caller{project: "service", roles: "service"}

func TestPortBindingsExtended(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		e.reportLB("src")
		e.reportLB("dst")
		net := e.createNetwork(admin, map[string]any{"name": "b"})["id"].(string)
		port := e.port(admin, map[string]any{"network_id": net, "device_owner": "compute:nova", "device_id": "vm", "binding:host_id": "src"})
		id := port["id"].(string)
		base := "/v2.0/ports/" + id + "/bindings"

		list := e.do(admin, "GET", base, nil).expect(t, 200).list(t, "bindings")
		if len(list) != 1 || list[0]["host"] != "src" || list[0]["status"] != "ACTIVE" || list[0]["vif_type"] != "bridge" {
			t.Fatalf("bindings: %v", list)
		}
		if _, ok := list[0]["project_id"]; ok {
			t.Error("binding shows project_id")
		}
		// Only services make bindings (Neutron's default policy).
		e.do(admin, "POST", base, map[string]any{"binding": map[string]any{"host": "dst"}}).fault(t, 403, "PolicyNotAuthorized", "create_port_binding")
		b := e.do(service, "POST", base, map[string]any{"binding": map[string]any{"host": "dst", "profile": map[string]any{"migrating": true}}}).
			expect(t, 201).obj(t, "binding")
		if b["status"] != "INACTIVE" || b["vif_type"] != "bridge" || b["vnic_type"] != "normal" || b["profile"].(map[string]any)["migrating"] != true {
			t.Errorf("new binding: %v", b)
		}
		e.do(service, "POST", base, map[string]any{"binding": map[string]any{"host": "dst"}}).fault(t, 409, "PortBindingAlreadyExists", "dst")
		e.do(service, "POST", base, map[string]any{"binding": map[string]any{"host": "nowhere"}}).fault(t, 500, "PortBindingError", "nowhere")
		e.do(admin, "GET", base+"/nowhere", nil).fault(t, 404, "PortBindingNotFound", "for host nowhere could not be found")
		if s := e.do(admin, "GET", base+"/dst", nil).expect(t, 200).obj(t, "binding")["status"]; s != "INACTIVE" {
			t.Errorf("shown binding: %v", s)
		}
		if l := e.do(admin, "GET", base+"?status=INACTIVE", nil).expect(t, 200).list(t, "bindings"); len(l) != 1 || l[0]["host"] != "dst" {
			t.Errorf("filtered bindings: %v", l)
		}
		// The port still runs on src until the binding is activated.
		if h := e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")["binding:host_id"]; h != "src" {
			t.Errorf("port host before activate: %v", h)
		}
		e.do(service, "PUT", base+"/src/activate", nil).fault(t, 409, "PortBindingAlreadyActive", "src")
		e.do(service, "PUT", base+"/nowhere/activate", nil).fault(t, 404, "PortBindingNotFound", "nowhere")
		act := e.do(service, "PUT", base+"/dst/activate", nil).expect(t, 200).body
		if act["host"] != "dst" || act["status"] != "ACTIVE" {
			t.Errorf("activated: %v", act)
		}
		p := e.do(admin, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")
		if p["binding:host_id"] != "dst" || p["binding:profile"].(map[string]any)["migrating"] != true || p["status"] != "DOWN" {
			t.Errorf("port after activate: %v %v %v", p["binding:host_id"], p["binding:profile"], p["status"])
		}
		if s := e.do(admin, "GET", base+"/src", nil).expect(t, 200).obj(t, "binding")["status"]; s != "INACTIVE" {
			t.Errorf("previous binding: %v", s)
		}
		e.do(service, "DELETE", base+"/src", nil).expect(t, 204)
		e.do(admin, "GET", base+"/src", nil).fault(t, 404, "PortBindingNotFound", "src")

		// Only instances' ports have several bindings.
		plain := e.port(admin, map[string]any{"network_id": net})["id"].(string)
		e.do(admin, "GET", "/v2.0/ports/"+plain+"/bindings", nil).fault(t, 400, "BadRequest", "Operation only valid on compute and shared filesystem ports")
	})
}

func TestPortExtensionDrivers(t *testing.T) {
	drivers := map[string]string{"ml2.extension_drivers": "port_security,data_plane_status,uplink_status_propagation,port_numa_affinity_policy,port_device_profile"}
	ml2Engines(t, drivers, func(t *testing.T, e *env) {
		e.reportLB("host1")
		net := e.createNetwork(member1, map[string]any{"name": "x"})["id"].(string)
		p := e.port(member1, map[string]any{"network_id": net, "numa_affinity_policy": "required", "device_profile": "gpu",
			"propagate_uplink_status": false})
		id := p["id"].(string)
		if p["numa_affinity_policy"] != "required" || p["device_profile"] != "gpu" || p["propagate_uplink_status"] != false ||
			p["data_plane_status"] != nil {
			t.Fatalf("port: %v", p)
		}
		if _, ok := p["data_plane_status"]; !ok {
			t.Error("no data_plane_status")
		}
		q := e.port(member1, map[string]any{"network_id": net})
		if q["numa_affinity_policy"] != nil || q["device_profile"] != nil || q["propagate_uplink_status"] != true {
			t.Errorf("defaults: %v", q)
		}
		e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net, "numa_affinity_policy": "best"}}).
			fault(t, 400, "HTTPBadRequest", "numa_affinity_policy")
		e.do(member1, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"device_profile": "x"}}).expect(t, 400)
		e.do(member1, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"propagate_uplink_status": true}}).expect(t, 400)

		// data_plane_status: admins (and data plane integrators) only.
		e.do(member1, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"data_plane_status": "DOWN"}}).expect(t, 403)
		if s := e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"data_plane_status": "DOWN"}}).
			expect(t, 200).obj(t, "port")["data_plane_status"]; s != "DOWN" {
			t.Errorf("data_plane_status: %v", s)
		}

		// mac_address null regenerates the MAC (admins may change MACs).
		mac := p["mac_address"]
		if m := e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"mac_address": nil}}).
			expect(t, 200).obj(t, "port")["mac_address"]; m == mac || m == nil || m == "" {
			t.Errorf("regenerated MAC: %v (was %v)", m, mac)
		}

		// The NUMA policy may change only while the port is unbound.
		e.do(member1, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"numa_affinity_policy": "legacy"}}).expect(t, 200)
		e.do(admin, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"binding:host_id": "host1"}}).expect(t, 200)
		e.do(member1, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"numa_affinity_policy": nil}}).
			fault(t, 409, "PortBoundNUMAAffinityPolicy", "port is already bound to host host1")
	})
	// Without the drivers their extensions and attributes are not served.
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		for _, ext := range e.do(admin, "GET", "/v2.0/extensions", nil).expect(t, 200).list(t, "extensions") {
			switch ext["alias"] {
			case "data-plane-status", "uplink-status-propagation", "port-numa-affinity-policy", "port-device-profile":
				t.Errorf("extension %v listed without its driver", ext["alias"])
			}
		}
		net := e.createNetwork(admin, map[string]any{"name": "x"})["id"].(string)
		e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net, "numa_affinity_policy": "required"}}).
			fault(t, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'numa_affinity_policy'")
	})
}
