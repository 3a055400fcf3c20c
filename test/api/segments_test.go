package api_test

import (
	"reflect"
	"sort"
	"testing"
)

// The segment extension: /v2.0/segments, admin-only by Neutron's default
// policy.
func TestSegmentsAPI(t *testing.T) {
	// Two VNIs: the overlay segment takes one at random, the other
	// network the other, so the network made after the segment is
	// deleted must get the segment's.
	ml2Engines(t, map[string]string{"ml2_type_vxlan.vni_ranges": "1:2"}, func(t *testing.T, e *env) {
		e.srv.ML2.SetAgents(testAgents())
		net := e.createNetwork(admin, providerNet("vlan", "physnet1", 110))
		netID := net["id"].(string)
		segs := e.do(admin, "GET", "/v2.0/segments?network_id="+netID, nil).expect(t, 200).list(t, "segments")
		if len(segs) != 1 {
			t.Fatalf("segments of a new network: %v", segs)
		}
		first := segs[0]
		var keys []string
		for k := range first {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range []string{"created_at", "description", "id", "name", "network_id", "network_type", "physical_network",
			"revision_number", "segmentation_id", "updated_at"} {
			if _, ok := first[k]; !ok {
				t.Errorf("segment has no %s: %v", k, keys)
			}
		}
		for _, k := range []string{"segment_index", "is_dynamic"} {
			if _, ok := first[k]; ok {
				t.Errorf("segment shows %s", k)
			}
		}
		if first["network_type"] != "vlan" || first["physical_network"] != "physnet1" || first["segmentation_id"] != float64(110) ||
			first["name"] != nil || first["network_id"] != netID {
			t.Fatalf("segment: %v", first)
		}
		firstID := first["id"].(string)
		e.do(admin, "GET", "/v2.0/segments/"+firstID, nil).expect(t, 200)

		// Name and description change; the rest does not.
		up := e.do(admin, "PUT", "/v2.0/segments/"+firstID, map[string]any{"segment": map[string]any{"name": "rack1", "description": "first"}}).
			expect(t, 200).obj(t, "segment")
		if up["name"] != "rack1" || up["description"] != "first" || up["revision_number"].(float64) < 1 {
			t.Errorf("updated segment: %v", up)
		}
		if r := e.do(admin, "PUT", "/v2.0/segments/"+firstID, map[string]any{"segment": map[string]any{"segmentation_id": 111}}); r.status != 400 {
			t.Errorf("updating segmentation_id: %d %s", r.status, r.raw)
		}

		// A second segment makes the network multi-segment.
		second := e.do(admin, "POST", "/v2.0/segments", map[string]any{"segment": map[string]any{"network_id": netID,
			"network_type": "vxlan", "name": "overlay"}}).expect(t, 201).obj(t, "segment")
		vni := second["segmentation_id"]
		if (vni != float64(1) && vni != float64(2)) || second["physical_network"] != nil || second["name"] != "overlay" {
			t.Fatalf("created segment: %v", second)
		}
		shown := e.do(admin, "GET", "/v2.0/networks/"+netID, nil).expect(t, 200).obj(t, "network")
		want := []any{
			map[string]any{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": float64(110)},
			map[string]any{"provider:network_type": "vxlan", "provider:physical_network": nil, "provider:segmentation_id": vni},
		}
		if !reflect.DeepEqual(shown["segments"], want) {
			t.Errorf("network segments %v, want %v", shown["segments"], want)
		}
		e.do(admin, "POST", "/v2.0/segments", map[string]any{"segment": map[string]any{"network_id": netID,
			"network_type": "vlan", "physical_network": "physnet1", "segmentation_id": 110}}).
			fault(t, 409, "VlanIdInUse", "The VLAN 110 on physical network physnet1 is in use.")
		e.do(admin, "POST", "/v2.0/segments", map[string]any{"segment": map[string]any{"network_id": "6b3f2d55-5f6c-4c39-9d4e-bb4c7f35a1a0",
			"network_type": "vxlan"}}).fault(t, 404, "NetworkNotFound", "Network 6b3f2d55-5f6c-4c39-9d4e-bb4c7f35a1a0 could not be found.")
		e.do(admin, "POST", "/v2.0/segments", map[string]any{"segment": map[string]any{"network_id": netID,
			"network_type": "vlan", "physical_network": "nope", "segmentation_id": 3}}).
			fault(t, 400, "InvalidInput", "physical_network 'nope' unknown for VLAN provider network")

		// Subnets on segments: the segment must be on the subnet's network,
		// and a network's subnets are all on segments or none is.
		otherNet := e.createNetwork(admin, map[string]any{"name": "elsewhere"})["id"].(string)
		subnet := func(net, seg string) *reply {
			body := map[string]any{"network_id": net, "ip_version": 4, "cidr": "10.77.0.0/24"}
			if seg != "" {
				body["segment_id"] = seg
			}
			return e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": body})
		}
		subnet(otherNet, firstID).fault(t, 400, "NetworkIdsDontMatch",
			"The subnet's network id, '"+otherNet+"', doesn't match the network_id of segment '"+firstID+"'")
		subnet(netID, "0d1e0b9c-8f5e-4d55-9b1e-6f0e2f9f8a11").fault(t, 404, "SegmentNotFound",
			"Segment 0d1e0b9c-8f5e-4d55-9b1e-6f0e2f9f8a11 could not be found.")
		onSeg := subnet(netID, second["id"].(string)).expect(t, 201).obj(t, "subnet")
		if onSeg["segment_id"] != second["id"] {
			t.Errorf("subnet segment_id %v", onSeg["segment_id"])
		}
		subnet(netID, "").fault(t, 400, "SubnetsNotAllAssociatedWithSegments",
			"All of the subnets on network '"+netID+"' must either all be associated with segments or all not associated with any segment.")
		e.do(admin, "DELETE", "/v2.0/segments/"+second["id"].(string), nil).fault(t, 409, "SegmentInUse",
			"Segment '"+second["id"].(string)+"' cannot be deleted: The segment is still associated with subnet(s) "+onSeg["id"].(string)+".")
		e.do(admin, "DELETE", "/v2.0/subnets/"+onSeg["id"].(string), nil).expect(t, 204)

		// Members see none of it.
		if r := e.do(member1, "GET", "/v2.0/segments/"+firstID, nil); r.status != 404 {
			t.Errorf("member show: %d %s", r.status, r.raw)
		}
		if r := e.do(member1, "POST", "/v2.0/segments", map[string]any{"segment": map[string]any{"network_id": netID,
			"network_type": "vxlan"}}); r.status != 403 && r.status != 404 {
			t.Errorf("member create: %d %s", r.status, r.raw)
		}

		// A segment a port is bound with cannot go; an unused one can,
		// and its id is free again.
		port := e.do(admin, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"binding:host_id": "host3"}}).expect(t, 201).obj(t, "port")
		if port["binding:vif_type"] != "bridge" {
			t.Fatalf("port on the vlan segment: %v", port["binding:vif_type"])
		}
		e.do(admin, "DELETE", "/v2.0/segments/"+firstID, nil).fault(t, 409, "SegmentInUse",
			"Segment '"+firstID+"' cannot be deleted: The segment is still bound with port(s) "+port["id"].(string)+".")
		e.do(admin, "DELETE", "/v2.0/segments/"+second["id"].(string), nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/segments/"+second["id"].(string), nil).fault(t, 404, "SegmentNotFound",
			"Segment "+second["id"].(string)+" could not be found.")
		other := e.createNetwork(admin, map[string]any{"name": "gets the segment's vni again"})
		if got := e.do(admin, "GET", "/v2.0/networks/"+other["id"].(string), nil).obj(t, "network"); got["provider:segmentation_id"] != vni {
			t.Errorf("vni of the deleted segment (%v) not reused: %v", vni, got["provider:segmentation_id"])
		}

		// Deleting the network removes its segments.
		e.do(admin, "DELETE", "/v2.0/ports/"+port["id"].(string), nil).expect(t, 204)
		// A network without segments shows null provider attributes.
		e.do(admin, "DELETE", "/v2.0/segments/"+firstID, nil).expect(t, 204)
		bare := e.do(admin, "GET", "/v2.0/networks/"+netID, nil).expect(t, 200).obj(t, "network")
		for _, k := range []string{"provider:network_type", "provider:physical_network", "provider:segmentation_id"} {
			if v, ok := bare[k]; !ok || v != nil {
				t.Errorf("network without segments: %s = %v (present %v), want null", k, v, ok)
			}
		}
		e.createNetwork(admin, providerNet("vlan", "physnet1", 110))
		e.do(admin, "DELETE", "/v2.0/networks/"+netID, nil).expect(t, 204)
		if segs := e.do(admin, "GET", "/v2.0/segments?network_id="+netID, nil).expect(t, 200).list(t, "segments"); len(segs) != 0 {
			t.Errorf("segments of a deleted network: %v", segs)
		}
		if ext := e.do(admin, "GET", "/v2.0/extensions/segment", nil).expect(t, 200).obj(t, "extension"); ext["name"] != "Segment" {
			t.Errorf("segment extension: %v", ext)
		}
		for _, alias := range []string{"provider", "multi-provider"} {
			e.do(admin, "GET", "/v2.0/extensions/"+alias, nil).expect(t, 200)
		}
	})
}
