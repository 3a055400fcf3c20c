package api_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// BenchmarkPortCreateOnBusySubnet measures POST /v2.0/ports with an
// automatic address on a /16 that already holds 0 or 20,000 ports. The
// free-range IPAM should make both cost the same: allocation reads the
// lowest free range through the primary key, whatever is allocated.
//
//	go test -run '^$' -bench PortCreateOnBusySubnet -benchtime 2000x ./test/api/
func BenchmarkPortCreateOnBusySubnet(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		for _, busy := range []int{0, 20000} {
			b.Run(fmt.Sprintf("%s/allocated=%d", engine, busy), func(b *testing.B) {
				overrides := map[string]string{"quotas.quota_port": "-1"}
				var e *env
				if engine == "sqlite" {
					e = newEnv(b, "sqlite:///"+filepath.Join(b.TempDir(), "bench.sqlite"), overrides)
				} else {
					e = newEnv(b, pgtest.NewDatabase(b), overrides)
				}
				n := e.createNetwork(admin, map[string]any{"name": "busy"})
				netID := n["id"].(string)
				e.portSubnet(admin, netID, map[string]any{"cidr": "10.0.0.0/16"})
				for done := 0; done < busy; {
					batch := min(500, busy-done)
					items := make([]any, batch)
					for i := range items {
						items[i] = map[string]any{"network_id": netID}
					}
					e.do(admin, "POST", "/v2.0/ports", map[string]any{"ports": items}).expect(b, 201)
					done += batch
				}
				body := fmt.Sprintf(`{"port": {"network_id": %q}}`, netID)
				b.ResetTimer()
				for b.Loop() {
					e.do(admin, "POST", "/v2.0/ports", body).expect(b, 201)
				}
			})
		}
	}
}

// BenchmarkHostSnapshot measures get_snapshot, the L2 agent's full
// resync read, for a host with 1,000 bound ports on 10 VXLAN networks
// (l2population on), and update_device_list reporting all 1,000 up.
//
//	go test -run '^$' -bench HostSnapshot ./test/api/
func BenchmarkHostSnapshot(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		b.Run(engine, func(b *testing.B) {
			overrides := ml2Options(map[string]string{"quotas.quota_port": "-1", "quotas.quota_network": "-1",
				"ml2_type_vxlan.vni_ranges": "1:100"})
			var e *env
			if engine == "sqlite" {
				e = newEnv(b, "sqlite:///"+filepath.Join(b.TempDir(), "bench.sqlite"), overrides)
			} else {
				e = newEnv(b, pgtest.NewDatabase(b), overrides)
			}
			ctx := context.Background()
			ml2 := e.srv.ML2
			ml2.SetAgents(testAgents())
			ml2.SetOutbox(&outbox{})
			var taps []string
			for n := range 10 {
				netID := e.createNetwork(admin, map[string]any{"name": fmt.Sprintf("n%d", n)})["id"].(string)
				e.portSubnet(admin, netID, map[string]any{"cidr": fmt.Sprintf("10.%d.0.0/22", 100+n)})
				items := make([]any, 100)
				for i := range items {
					items[i] = map[string]any{"network_id": netID, "binding:host_id": "host1", "device_owner": "compute:nova"}
				}
				for _, p := range e.do(admin, "POST", "/v2.0/ports", map[string]any{"ports": items}).expect(b, 201).list(b, "ports") {
					taps = append(taps, "tap"+p["id"].(string)[:11])
				}
			}
			start := time.Now()
			if r, err := ml2.UpdateDeviceList(ctx, taps, nil, "agent", "host1"); err != nil || len(r.DevicesUp) != len(taps) {
				b.Fatalf("update_device_list: %v", err)
			}
			b.Logf("update_device_list, %d devices up: %v", len(taps), time.Since(start))
			b.ResetTimer()
			for b.Loop() {
				snap, err := ml2.HostSnapshot(ctx, "host1")
				if err != nil || len(snap.Ports) != len(taps) {
					b.Fatalf("snapshot: %d ports, %v", len(snap.Ports), err)
				}
			}
		})
	}
}
