package api_test

import (
	"fmt"
	"testing"
)

func rangeBody(attrs map[string]any) map[string]any {
	return map[string]any{"network_segment_range": attrs}
}

// TestNetworkSegmentRanges: the network_segment_range service plugin, as
// Neutron's: default ranges from the ML2 configuration, project and
// shared ranges with Neutron's validations, used and available ids, and
// project networks taking their ids from their project's range first.
func TestNetworkSegmentRanges(t *testing.T) {
	ml2Engines(t, map[string]string{"ml2.type_drivers": "flat,vlan,vxlan", "ml2_type_vxlan.vni_ranges": "1:20",
		"ml2_type_vlan.network_vlan_ranges": "physnet1:100:110,physnet2"},
		func(t *testing.T, e *env) {
			if !extensionAliases(t, e)["network-segment-range"] {
				t.Fatal("network-segment-range not listed")
			}
			// Neutron's path (Tempest's) and the collection's (openstacksdk's).
			e.do(admin, "GET", "/v2.0/network-segment-ranges", nil).expect(t, 200).list(t, "network_segment_ranges")
			// The defaults: one per configured range, shared, read-only.
			all := e.do(admin, "GET", "/v2.0/network_segment_ranges", nil).expect(t, 200).list(t, "network_segment_ranges")
			defaults := map[string]map[string]any{}
			for _, r := range all {
				if r["default"] == true {
					defaults[fmt.Sprintf("%v:%v:%v:%v", r["network_type"], r["physical_network"], r["minimum"], r["maximum"])] = r
				}
			}
			vx, vl := defaults["vxlan::1:20"], defaults["vlan:physnet1:100:110"]
			if len(defaults) != 2 || vx == nil || vl == nil {
				t.Fatalf("default ranges: %v", all)
			}
			if vx["shared"] != true || vx["project_id"] != nil || vx["name"] != "" || len(vx["available"].([]any)) != 20 {
				t.Errorf("default vxlan range: %v", vx)
			}
			for _, key := range []string{"id", "name", "default", "shared", "project_id", "network_type", "physical_network",
				"minimum", "maximum", "used", "available", "description", "tags", "created_at", "updated_at", "revision_number"} {
				if _, ok := vx[key]; !ok {
					t.Errorf("range has no %s: %v", key, vx)
				}
			}
			e.do(admin, "PUT", "/v2.0/network_segment_ranges/"+vx["id"].(string), rangeBody(map[string]any{"name": "x"})).
				fault(t, 400, "NetworkSegmentRangeDefaultReadOnly", "is a default segment range which could not be updated or deleted.")
			e.do(admin, "DELETE", "/v2.0/network_segment_ranges/"+vl["id"].(string), nil).
				fault(t, 400, "NetworkSegmentRangeDefaultReadOnly", "is a default segment range")

			// A project range outside the configured VNIs.
			mine := e.do(admin, "POST", "/v2.0/network_segment_ranges", rangeBody(map[string]any{"name": "p1", "shared": false,
				"project_id": "project-one", "network_type": "vxlan", "physical_network": "", "minimum": 1100, "maximum": 1102})).
				expect(t, 201).obj(t, "network_segment_range")
			if mine["default"] != false || mine["shared"] != false || mine["project_id"] != "project-one" ||
				mine["minimum"] != float64(1100) || mine["maximum"] != float64(1102) || len(mine["available"].([]any)) != 3 {
				t.Errorf("project range: %v", mine)
			}
			mineID := mine["id"].(string)
			// Project networks take ids from their own range first, then the shared ones.
			var nets []string
			for i := 0; i < 4; i++ {
				n := e.createNetwork(member1, map[string]any{"name": fmt.Sprint("n", i)})
				nets = append(nets, n["id"].(string))
				vni := e.do(admin, "GET", "/v2.0/networks/"+n["id"].(string), nil).expect(t, 200).obj(t, "network")["provider:segmentation_id"].(float64)
				if i < 3 && (vni < 1100 || vni > 1102) || i == 3 && (vni < 1 || vni > 20) {
					t.Errorf("network %d of project-one: VNI %v", i, vni)
				}
			}
			// Other projects never take another project's ids.
			other := e.createNetwork(member2, map[string]any{})
			if vni := e.do(admin, "GET", "/v2.0/networks/"+other["id"].(string), nil).expect(t, 200).obj(t, "network")["provider:segmentation_id"].(float64); vni > 20 {
				t.Errorf("project-two's network has VNI %v", vni)
			}
			shown := e.do(admin, "GET", "/v2.0/network_segment_ranges/"+mineID, nil).expect(t, 200).obj(t, "network_segment_range")
			if used := shown["used"].(map[string]any); len(used) != 3 || len(shown["available"].([]any)) != 0 {
				t.Errorf("used %v available %v", shown["used"], shown["available"])
			}
			for _, id := range shown["used"].(map[string]any) {
				if id != "project-one" {
					t.Errorf("used by %v", id)
				}
			}

			// In use: not deleted, and bounds that cut into the used ids refused.
			e.do(admin, "DELETE", "/v2.0/network_segment_ranges/"+mineID, nil).
				fault(t, 409, "NetworkSegmentRangeReferencedByProject", "is referenced by one or more project networks.")
			e.do(admin, "PUT", "/v2.0/network_segment_ranges/"+mineID, rangeBody(map[string]any{"minimum": 1100, "maximum": 1150})).
				fault(t, 409, "NetworkSegmentRangeReferencedByProject", "")
			up := e.do(admin, "PUT", "/v2.0/network_segment_ranges/"+mineID, rangeBody(map[string]any{"name": "wider", "minimum": 1050, "maximum": 1150})).
				expect(t, 200).obj(t, "network_segment_range")
			if up["name"] != "wider" || up["minimum"] != float64(1050) || up["maximum"] != float64(1150) {
				t.Errorf("updated range: %v", up)
			}

			// Validation.
			for _, c := range []struct {
				attrs       map[string]any
				status      int
				typ, reason string
			}{
				{map[string]any{"network_type": "vxlan", "minimum": 1120, "maximum": 1130, "shared": true}, 409, "NetworkSegmentRangeOverlaps",
					"Network segment range overlaps with range(s) with id " + mineID},
				{map[string]any{"network_type": "vxlan", "minimum": 30, "maximum": 20}, 400, "NetworkTunnelRangeError",
					"Invalid network tunnel range: '30:20' - End of tunnel range is less than start of tunnel range."},
				{map[string]any{"network_type": "vxlan", "minimum": 1, "maximum": 1 << 24}, 400, "NetworkTunnelRangeError",
					"16777216 is not a valid vxlan identifier"},
				{map[string]any{"network_type": "vlan", "physical_network": "physnet1", "minimum": 1, "maximum": 4095}, 400, "NetworkVlanRangeError",
					"'4095 is not a valid VLAN tag'"},
				{map[string]any{"network_type": "vlan", "minimum": 1, "maximum": 5}, 400, "BadRequest",
					"Network type vlan requires 'physical_network' to be specified while creating new range"},
				{map[string]any{"network_type": "flat", "minimum": 1, "maximum": 5}, 400, "HTTPBadRequest",
					"Invalid input for network_type. Reason: 'flat' is not in ['vlan', 'vxlan', 'gre', 'geneve']."},
				{map[string]any{"network_type": "gre", "minimum": 1, "maximum": 5}, 400, "NetworkSegmentRangeNetTypeNotSupported",
					"Network type gre does not support network segment ranges."},
				{map[string]any{"network_type": "vxlan", "minimum": 0, "maximum": 5}, 400, "HTTPBadRequest",
					"Invalid input for minimum."},
			} {
				e.do(admin, "POST", "/v2.0/network_segment_ranges", rangeBody(c.attrs)).fault(t, c.status, c.typ, c.reason)
			}
			// Admin only.
			e.do(member1, "GET", "/v2.0/network_segment_ranges/"+mineID, nil).expect(t, 404)
			e.do(member1, "POST", "/v2.0/network_segment_ranges", rangeBody(map[string]any{"network_type": "vxlan", "minimum": 1200, "maximum": 1201})).
				expect(t, 403)

			// A shared VLAN range on a physical network without configured
			// ranges serves that network's project VLANs too once the
			// configured ones run out (the VLAN type is not a project
			// network type here, so only the range itself is checked).
			shared := e.do(admin, "POST", "/v2.0/network_segment_ranges", rangeBody(map[string]any{"network_type": "vlan",
				"physical_network": "physnet2", "minimum": 10, "maximum": 12})).expect(t, 201).obj(t, "network_segment_range")
			if shared["shared"] != true || shared["project_id"] != nil || shared["physical_network"] != "physnet2" {
				t.Errorf("shared range: %v", shared)
			}
			list := e.do(admin, "GET", "/v2.0/network_segment_ranges?network_type=vlan", nil).expect(t, 200).list(t, "network_segment_ranges")
			if len(list) != 2 {
				t.Errorf("vlan ranges: %v", list)
			}

			for _, id := range append(nets, other["id"].(string)) {
				e.do(admin, "DELETE", "/v2.0/networks/"+id, nil).expect(t, 204)
			}
			e.do(admin, "DELETE", "/v2.0/network_segment_ranges/"+mineID, nil).expect(t, 204)
			e.do(admin, "GET", "/v2.0/network_segment_ranges/"+mineID, nil).
				fault(t, 404, "NetworkSegmentRangeNotFound", "Network Segment Range "+mineID+" could not be found.")
		})
}

// TestNetworkSegmentRangesOff: without the service plugin, the extension
// is not listed and its path is not served.
func TestNetworkSegmentRangesOff(t *testing.T) {
	enginesWith(t, map[string]string{"DEFAULT.service_plugins": "router,segments"}, func(t *testing.T, e *env) {
		if extensionAliases(t, e)["network-segment-range"] {
			t.Error("network-segment-range listed")
		}
		e.do(admin, "GET", "/v2.0/network_segment_ranges", nil).expect(t, 404)
	})
}

// TestSubnetSegmentIDWritable: subnet-segmentid-writable lets a network's
// only subnet be associated with the network's only segment, and nothing
// else (Neutron's rules).
func TestSubnetSegmentIDWritable(t *testing.T) {
	ml2Engines(t, map[string]string{"ml2_type_vxlan.vni_ranges": "1:20"}, func(t *testing.T, e *env) {
		exts := extensionAliases(t, e)
		for _, a := range []string{"subnet-segmentid-writable", "standard-attr-segment"} {
			if !exts[a] {
				t.Errorf("%s not listed", a)
			}
		}
		net := e.createNetwork(admin, map[string]any{})
		netID := net["id"].(string)
		segs := e.do(admin, "GET", "/v2.0/segments?network_id="+netID, nil).expect(t, 200).list(t, "segments")
		segID := segs[0]["id"].(string)
		sub := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID,
			"cidr": "10.30.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
		subID := sub["id"].(string)
		up := e.do(admin, "PUT", "/v2.0/subnets/"+subID, map[string]any{"subnet": map[string]any{"segment_id": segID}}).
			expect(t, 200).obj(t, "subnet")
		if up["segment_id"] != segID {
			t.Errorf("segment_id %v", up["segment_id"])
		}
		// Associated: it cannot move to another segment.
		other := e.createNetwork(admin, map[string]any{})
		otherSeg := e.do(admin, "GET", "/v2.0/segments?network_id="+other["id"].(string), nil).expect(t, 200).list(t, "segments")[0]["id"].(string)
		e.do(admin, "PUT", "/v2.0/subnets/"+subID, map[string]any{"subnet": map[string]any{"segment_id": otherSeg}}).
			fault(t, 400, "SubnetSegmentAssociationChangeNotAllowed", "A subnet that is already associated with a segment cannot have its segment association changed.")
		// A network with two subnets: neither may be associated by update.
		net2 := e.createNetwork(admin, map[string]any{})
		seg2 := e.do(admin, "GET", "/v2.0/segments?network_id="+net2["id"].(string), nil).expect(t, 200).list(t, "segments")[0]["id"].(string)
		var subs []string
		for _, cidr := range []string{"10.31.0.0/24", "10.32.0.0/24"} {
			s := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net2["id"],
				"cidr": cidr, "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
			subs = append(subs, s["id"].(string))
		}
		e.do(admin, "PUT", "/v2.0/subnets/"+subs[0], map[string]any{"subnet": map[string]any{"segment_id": seg2}}).
			fault(t, 400, "SubnetsNotAllAssociatedWithSegments", "must either all be associated with segments or all not associated with any segment.")
		// A segment of another network.
		net3 := e.createNetwork(admin, map[string]any{})
		sub3 := e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net3["id"],
			"cidr": "10.33.0.0/24", "ip_version": 4}}).expect(t, 201).obj(t, "subnet")
		e.do(admin, "PUT", "/v2.0/subnets/"+sub3["id"].(string), map[string]any{"subnet": map[string]any{"segment_id": seg2}}).
			fault(t, 400, "NetworkIdsDontMatch", "doesn't match the network_id of segment")
	})
}
