package api_test

import (
	"net/url"
	"testing"
)

// TestHARouterNetwork: an HA router's project gets Neutron's hidden "HA
// network tenant <project>" (l3_hamode_db), with an ML2 segment and the
// l3_ha_net_cidr subnet; its later HA routers share it, deleting one of
// them keeps the network and its segment
// (neutron_tempest_plugin's test_delete_ha_router_keeps_ha_network_
// segment_data), and the project's last HA router takes it along.
func TestHARouterNetwork(t *testing.T) {
	ml2Engines(t, nil, func(t *testing.T, e *env) {
		const project = "project-one"
		haNets := func() []map[string]any {
			return e.do(admin, "GET", "/v2.0/networks?name="+url.QueryEscape("HA network tenant "+project), nil).
				expect(t, 200).list(t, "networks")
		}
		plain := e.routerCreate(admin, map[string]any{"name": "plain", "project_id": project, "ha": false})
		if len(haNets()) != 0 {
			t.Fatalf("a router with ha=false made an HA network")
		}
		var routers []string
		for _, name := range []string{"ha1", "ha2"} {
			r := e.routerCreate(admin, map[string]any{"name": name, "project_id": project, "ha": true})
			if r["ha"] != true {
				t.Errorf("router %s shows ha=%v", name, r["ha"])
			}
			routers = append(routers, r["id"].(string))
		}
		nets := haNets()
		if len(nets) != 1 {
			t.Fatalf("HA networks of the project: %v", nets)
		}
		net := nets[0]
		netID := net["id"].(string)
		for k, want := range map[string]any{"project_id": "", "tenant_id": "", "shared": false, "admin_state_up": true,
			"provider:network_type": "vxlan"} {
			if net[k] != want {
				t.Errorf("HA network %s = %v, want %v", k, net[k], want)
			}
		}
		segID := net["provider:segmentation_id"]
		if segID == nil {
			t.Fatalf("HA network has no segment: %v", net)
		}
		subnets := e.do(admin, "GET", "/v2.0/subnets?network_id="+netID, nil).expect(t, 200).list(t, "subnets")
		if len(subnets) != 1 {
			t.Fatalf("HA subnets %v", subnets)
		}
		for k, want := range map[string]any{"name": "HA subnet tenant " + project, "cidr": "169.254.192.0/18",
			"enable_dhcp": false, "gateway_ip": nil, "project_id": "", "ip_version": float64(4)} {
			if subnets[0][k] != want {
				t.Errorf("HA subnet %s = %v, want %v", k, subnets[0][k], want)
			}
		}
		// Owned by no project: hidden from the project's members.
		for _, c := range []struct {
			as   *caller
			seen bool
		}{{admin, true}, {member1, false}, {member2, false}} {
			l := e.do(c.as, "GET", "/v2.0/networks", nil).expect(t, 200).list(t, "networks")
			if containsID(l, netID) != c.seen {
				t.Errorf("HA network in the list of %v: %v, want %v", c.as, !c.seen, c.seen)
			}
		}

		e.do(admin, "DELETE", "/v2.0/routers/"+routers[0], nil).expect(t, 204)
		kept := e.do(admin, "GET", "/v2.0/networks/"+netID, nil).expect(t, 200).obj(t, "network")
		if kept["provider:segmentation_id"] != segID || kept["provider:network_type"] != "vxlan" {
			t.Errorf("HA network after deleting one HA router: %v, want segment %v", kept, segID)
		}
		e.do(admin, "DELETE", "/v2.0/routers/"+plain["id"].(string), nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/networks/"+netID, nil).expect(t, 200)
		e.do(admin, "DELETE", "/v2.0/routers/"+routers[1], nil).expect(t, 204)
		e.do(admin, "GET", "/v2.0/networks/"+netID, nil).fault(t, 404, "NetworkNotFound", netID)

		// A new HA router makes the network again.
		e.routerCreate(admin, map[string]any{"name": "ha3", "project_id": project, "ha": true})
		if again := haNets(); len(again) != 1 || again[0]["id"] == netID {
			t.Errorf("HA networks after a new HA router: %v", again)
		}
	})
}
