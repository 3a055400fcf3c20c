package policy

import "testing"

// BenchmarkEnforceGetNetwork measures one get_network decision under the new
// defaults, as made for every row of a network list.
func BenchmarkEnforceGetNetwork(b *testing.B) {
	e := mustNew(b, Options{EnforceNewDefaults: true, EnforceScope: true})
	cases := []struct {
		name   string
		target Target
		creds  Credentials
		want   bool
	}{
		// Allowed early in the "or" chain.
		{"owner", netP1, as(e, readerP1), true},
		// Allowed through rule:shared, after the owner checks fail.
		{"shared", sharedNetP3, as(e, memberP2), true},
		// Denied: every branch is evaluated.
		{"denied", netP1, as(e, memberP2), false},
		{"admin", netP1, as(e, adminCreds), true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if e.Enforce("get_network", c.target, c.creds) != c.want {
					b.Fatal("unexpected decision")
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		creds := as(e, memberP2)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Enforce("get_network", sharedNetP3, creds)
			}
		})
	})
}

// BenchmarkEnforceWithPolicyFile adds the once-per-second change check of a
// watched policy file.
func BenchmarkEnforceWithPolicyFile(b *testing.B) {
	e := mustNew(b, Options{PolicyFile: "testdata/override.yaml", EnforceNewDefaults: true})
	creds := as(e, memberP1)
	b.ReportAllocs()
	for b.Loop() {
		e.Enforce("update_network", netP1, creds)
	}
}
