package api_test

import (
	"fmt"
	"path/filepath"
	"testing"

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
