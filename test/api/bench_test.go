package api_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// benchEnv starts a server for a benchmark on the named engine.
// benchEnv starts a server for a benchmark on the named engine, with
// quotas lifted so benchmarks can create thousands of objects.
func benchEnv(b *testing.B, engine string) *env {
	unlimited := map[string]string{"quotas.quota_network": "-1", "quotas.quota_subnet": "-1", "quotas.quota_port": "-1"}
	switch engine {
	case "sqlite":
		return newEnv(b, "sqlite:///"+filepath.Join(b.TempDir(), "bench.sqlite"), unlimited)
	default:
		return newEnv(b, pgtest.NewDatabase(b), unlimited)
	}
}

// populate creates n networks with bulk requests.
func (e *env) populate(n int) {
	for done := 0; done < n; {
		batch := min(500, n-done)
		items := make([]any, batch)
		for i := range items {
			items[i] = map[string]any{"name": fmt.Sprintf("bench-%d", done+i), "description": "benchmark network"}
		}
		e.do(admin, "POST", "/v2.0/networks", map[string]any{"networks": items}).expect(e.t, 201)
		done += batch
	}
}

// get fetches path and discards the body, failing on a non-200.
func (e *env) get(b *testing.B, path string) int {
	resp, err := http.Get(e.url + path)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return int(n)
}

// BenchmarkListNetworks measures GET /v2.0/networks end to end (HTTP,
// policy, SQL, encoding). The target: a full list of 10,000 networks well
// under 100 ms of server time.
func BenchmarkListNetworks(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
				e := benchEnv(b, engine)
				e.populate(n)
				var size int
				b.ResetTimer()
				for b.Loop() {
					size = e.get(b, "/v2.0/networks")
				}
				b.ReportMetric(float64(size), "bytes/reply")
			})
			b.Run(fmt.Sprintf("%s/%d/paged100", engine, n), func(b *testing.B) {
				e := benchEnv(b, engine)
				e.populate(n)
				b.ResetTimer()
				for b.Loop() {
					e.get(b, "/v2.0/networks?limit=100")
				}
			})
		}
	}
}

// BenchmarkNetworkWrites measures create, show and update of one network.
func BenchmarkNetworkWrites(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		b.Run(engine+"/create", func(b *testing.B) {
			e := benchEnv(b, engine)
			for b.Loop() {
				e.do(admin, "POST", "/v2.0/networks", `{"network": {"name": "b"}}`).expect(b, 201)
			}
		})
		b.Run(engine+"/show", func(b *testing.B) {
			e := benchEnv(b, engine)
			id := e.createNetwork(admin, map[string]any{"name": "s"})["id"].(string)
			for b.Loop() {
				e.get(b, "/v2.0/networks/"+id)
			}
		})
		b.Run(engine+"/update", func(b *testing.B) {
			e := benchEnv(b, engine)
			id := e.createNetwork(admin, map[string]any{"name": "u"})["id"].(string)
			i := 0
			for b.Loop() {
				i++
				e.do(admin, "PUT", "/v2.0/networks/"+id, fmt.Sprintf(`{"network": {"name": "u%d"}}`, i)).expect(b, 200)
			}
		})
	}
}

// BenchmarkListPorts measures GET /v2.0/ports with 10,000 ports, each
// with an address (a correlated JSON aggregate per row), full and paged.
func BenchmarkListPorts(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		b.Run(engine, func(b *testing.B) {
			e := benchEnv(b, engine)
			net := e.createNetwork(admin, map[string]any{"name": "ports"})
			e.do(admin, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
				"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/16"}}).expect(b, 201)
			for done := 0; done < 10000; done += 500 {
				items := make([]any, 500)
				for i := range items {
					items[i] = map[string]any{"network_id": net["id"], "name": fmt.Sprintf("p%d", done+i)}
				}
				e.do(admin, "POST", "/v2.0/ports", map[string]any{"ports": items}).expect(b, 201)
			}
			b.Run("full", func(b *testing.B) {
				for b.Loop() {
					e.get(b, "/v2.0/ports")
				}
			})
			b.Run("paged100", func(b *testing.B) {
				for b.Loop() {
					e.get(b, "/v2.0/ports?limit=100")
				}
			})
		})
	}
}

// BenchmarkSecurityGroupRulesList measures GET /v2.0/security-group-rules
// with 10,000 rules in one group, full and paged, and GET of the group
// (its rules inline): each is a fixed number of queries whatever the
// number of rules.
func BenchmarkSecurityGroupRulesList(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		b.Run(engine, func(b *testing.B) {
			var e *env
			if engine == "sqlite" {
				e = newEnv(b, "sqlite:///"+filepath.Join(b.TempDir(), "bench.sqlite"), map[string]string{"quotas.quota_security_group_rule": "-1"})
			} else {
				e = newEnv(b, pgtest.NewDatabase(b), map[string]string{"quotas.quota_security_group_rule": "-1"})
			}
			sg := e.do(admin, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "bench"}}).
				expect(b, 201).obj(b, "security_group")["id"].(string)
			for done := 0; done < 10000; done += 500 {
				items := make([]any, 500)
				for i := range items {
					items[i] = map[string]any{"security_group_id": sg, "direction": "ingress", "protocol": "tcp",
						"port_range_min": 1 + (done+i)%65535, "port_range_max": 1 + (done+i)%65535,
						"remote_ip_prefix": fmt.Sprintf("10.%d.%d.0/24", (done+i)/256%256, (done+i)%256)}
				}
				e.do(admin, "POST", "/v2.0/security-group-rules", map[string]any{"security_group_rules": items}).expect(b, 201)
			}
			b.Run("full", func(b *testing.B) {
				var size int
				for b.Loop() {
					size = e.get(b, "/v2.0/security-group-rules")
				}
				b.ReportMetric(float64(size), "bytes/reply")
			})
			b.Run("paged100", func(b *testing.B) {
				for b.Loop() {
					e.get(b, "/v2.0/security-group-rules?limit=100")
				}
			})
			b.Run("group", func(b *testing.B) {
				for b.Loop() {
					e.get(b, "/v2.0/security-groups/"+sg)
				}
			})
		})
	}
}

// BenchmarkTagFilter measures listings filtered by many tags: each tag
// filter is one subquery, so 50 tags cost about what one does (one
// EXISTS per tag made PostgreSQL take seconds at 100 tags).
func BenchmarkTagFilter(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		e := benchEnv(b, engine)
		e.populate(300)
		nets := e.do(admin, "GET", "/v2.0/networks?fields=id", nil).expect(b, 200).list(b, "networks")
		for i, n := range nets {
			tags := []string{"all", fmt.Sprintf("t%d", i%50), fmt.Sprintf("u%d", i%7)}
			e.do(admin, "PUT", "/v2.0/networks/"+n["id"].(string)+"/tags", map[string]any{"tags": tags}).expect(b, 200)
		}
		for _, n := range []int{1, 10, 50} {
			tags := make([]string, n)
			for i := range tags {
				tags[i] = fmt.Sprintf("t%d", i)
			}
			list := strings.Join(tags, ",")
			for _, filter := range []string{"tags", "tags-any", "not-tags", "not-tags-any"} {
				b.Run(fmt.Sprintf("%s/%s/%d", engine, filter, n), func(b *testing.B) {
					for b.Loop() {
						e.get(b, "/v2.0/networks?fields=id&"+filter+"="+list)
					}
				})
			}
		}
	}
}

// BenchmarkPortShow measures GET /v2.0/ports/{id} end to end for a port
// with an address and a security group, as the admin and as its project's
// member (whose policy checks look at the network's owner).
//
//	go test -run '^$' -bench PortShow ./test/api/
func BenchmarkPortShow(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgresql"} {
		e := benchEnv(b, engine)
		net := e.do(member1, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "show"}}).expect(b, 201).obj(b, "network")
		e.do(member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/24"}}).expect(b, 201)
		id := e.do(member1, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"]}}).expect(b, 201).obj(b, "port")["id"].(string)
		for _, as := range []struct {
			name string
			c    *caller
		}{{"admin", admin}, {"member", member1}} {
			b.Run(engine+"/"+as.name, func(b *testing.B) {
				for b.Loop() {
					e.do(as.c, "GET", "/v2.0/ports/"+id, nil).expect(b, 200)
				}
			})
		}
	}
}
