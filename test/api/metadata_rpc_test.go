package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
)

// TestMetadataGetPorts: the server side of the metadata agent's get_ports
// finds an instance's port by network and address, and refuses filters
// it does not know.
func TestMetadataGetPorts(t *testing.T) {
	enginesWith(t, overlapping, func(t *testing.T, e *env) {
		ctx := context.Background()
		net1 := e.createNetwork(member1, map[string]any{"name": "a"})["id"].(string)
		net2 := e.createNetwork(admin, map[string]any{"name": "b"})["id"].(string)
		e.portSubnet(member1, net1, map[string]any{"cidr": "10.30.0.0/24"})
		e.portSubnet(admin, net2, map[string]any{"cidr": "10.30.0.0/24"})
		p1 := e.portCreate(member1, net1, nil)
		// The same address on another network is another instance's.
		e.portCreate(admin, net2, map[string]any{"fixed_ips": []any{map[string]any{"ip_address": fixedIP(p1)}}})
		ports, err := e.srv.Agents.GetPorts(ctx, map[string]any{"network_id": []any{net1},
			"fixed_ips": map[string]any{"ip_address": []any{fixedIP(p1)}}})
		if err != nil || len(ports) != 1 || ports[0]["id"] != p1["id"] || ports[0]["tenant_id"] != "project-one" {
			t.Fatalf("get_ports: %v %v", ports, err)
		}
		ports, err = e.srv.Agents.GetPorts(ctx, map[string]any{"network_id": []any{net1},
			"fixed_ips": map[string]any{"ip_address": []any{"10.30.0.250"}}})
		if err != nil || len(ports) != 0 {
			t.Fatalf("get_ports of an unused address: %v %v", ports, err)
		}
		for _, bad := range []map[string]any{{"name": []any{"x"}}, {"fixed_ips": map[string]any{"mac": []any{"x"}}},
			{"network_id": 7}} {
			var f *fault.Error
			if _, err := e.srv.Agents.GetPorts(ctx, bad); !errors.As(err, &f) || f.Status != 400 {
				t.Errorf("get_ports %v: %v, want a 400", bad, err)
			}
		}
	})
}

func fixedIP(port map[string]any) string {
	return port["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
}
