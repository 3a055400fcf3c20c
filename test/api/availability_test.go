package api_test

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestNetworkIPAvailability: counts are exact however large (an IPv6 /64
// whose gateway is ::1 holds 2^64 - 2 addresses, beyond int64), and
// ?ip_version= keeps each network's subnets of that version, counting
// only them, as Neutron's query does.
func TestNetworkIPAvailability(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		dual := e.createNetwork(admin, map[string]any{"name": "dual"})["id"].(string)
		v4only := e.createNetwork(admin, map[string]any{"name": "v4"})["id"].(string)
		empty := e.createNetwork(admin, map[string]any{"name": "empty"})["id"].(string)
		e.snCreate(admin, map[string]any{"network_id": dual, "ip_version": 4, "cidr": "10.0.0.0/24"})
		// With the gateway at ::1 (as Tempest sets it) the pool is ::2 on.
		e.snCreate(admin, map[string]any{"network_id": dual, "ip_version": 6, "cidr": "2001:db8::/64", "gateway_ip": "2001:db8::1"})
		e.snCreate(admin, map[string]any{"network_id": v4only, "ip_version": 4, "cidr": "10.1.0.0/28"})
		// A subnet without pools counts its whole CIDR, as Neutron does.
		e.snCreate(admin, map[string]any{"network_id": v4only, "ip_version": 4, "cidr": "10.2.0.0/29",
			"allocation_pools": []any{}, "gateway_ip": nil})

		type subnetAv struct {
			IPVersion int         `json:"ip_version"`
			Total     json.Number `json:"total_ips"`
			Used      json.Number `json:"used_ips"`
		}
		type netAv struct {
			NetworkID string      `json:"network_id"`
			Total     json.Number `json:"total_ips"`
			Used      json.Number `json:"used_ips"`
			Subnets   []subnetAv  `json:"subnet_ip_availability"`
		}
		decode := func(raw []byte, v any) {
			t.Helper()
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
		}
		list := func(q string) map[string]netAv {
			var body struct {
				List []netAv `json:"network_ip_availabilities"`
			}
			decode(e.do(admin, "GET", "/v2.0/network-ip-availabilities"+q, nil).expect(t, 200).raw, &body)
			out := map[string]netAv{}
			for _, n := range body.List {
				out[n.NetworkID] = n
			}
			return out
		}

		var one struct {
			Av netAv `json:"network_ip_availability"`
		}
		decode(e.do(admin, "GET", "/v2.0/network-ip-availabilities/"+dual, nil).expect(t, 200).raw, &one)
		// 253 IPv4 addresses (.2–.254) and 2^64 - 2 IPv6 ones (::2 on).
		if one.Av.Total != "18446744073709551867" || len(one.Av.Subnets) != 2 {
			t.Errorf("dual-stack network: %+v", one.Av)
		}
		for _, s := range one.Av.Subnets {
			if want := map[int]json.Number{4: "253", 6: "18446744073709551614"}[s.IPVersion]; s.Total != want {
				t.Errorf("IPv%d subnet total_ips %s, want %s", s.IPVersion, s.Total, want)
			}
		}

		all := list("")
		if all[v4only].Total != "21" || all[empty].Total != "0" || len(all[empty].Subnets) != 0 {
			t.Errorf("without a filter: v4 %+v, empty %+v", all[v4only], all[empty])
		}
		v6 := list("?ip_version=6")
		if len(v6) != 1 || v6[dual].Total != "18446744073709551614" || len(v6[dual].Subnets) != 1 || v6[dual].Subnets[0].IPVersion != 6 {
			t.Errorf("?ip_version=6: %+v", v6)
		}
		v4 := list("?ip_version=4")
		if len(v4) != 2 || v4[dual].Total != "253" || len(v4[dual].Subnets) != 1 || v4[dual].Subnets[0].IPVersion != 4 ||
			v4[v4only].Total != "21" {
			t.Errorf("?ip_version=4: %+v", v4)
		}
		if both := list("?ip_version=4&ip_version=6"); len(both) != 2 || len(both[dual].Subnets) != 2 {
			t.Errorf("?ip_version=4&ip_version=6: %+v", both)
		}
		if named := list("?ip_version=6&network_id=" + v4only); len(named) != 0 {
			t.Errorf("IPv6 of an IPv4-only network: %+v", named)
		}
	})
}
