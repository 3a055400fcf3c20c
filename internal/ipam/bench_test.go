package ipam

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchUsed returns n distinct prefixes of length bits inside base, picked
// at random (seeded) or packed from the start.
func benchUsed(base netip.Prefix, bits, n int, random bool) []netip.Prefix {
	r := rand.New(rand.NewPCG(1, 2))
	slots := uint64(1) << uint(bits-base.Bits())
	seen := make(map[uint64]bool, n)
	out := make([]netip.Prefix, 0, n)
	start := addrU128(base.Addr())
	width := familyBits(base.Addr())
	for i := uint64(0); len(out) < n; i++ {
		k := i
		if random {
			k = r.Uint64N(slots)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		off := u128{lo: k << uint(width-bits)}
		if width-bits >= 64 {
			off = u128{hi: k << uint(width-bits-64)}
		}
		out = append(out, netip.PrefixFrom(u128Addr(start.add(off), base.Addr().Is4()), bits))
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// BenchmarkAllocatePrefix allocates from a pool that already holds
// 100,000 subnets.
func BenchmarkAllocatePrefix(b *testing.B) {
	const n = 100_000
	cases := []struct {
		name string
		pool netip.Prefix
		used []netip.Prefix
		len  int
	}{
		{"v4-scattered-/28-want-/24", pfx("10.0.0.0/8"), benchUsed(pfx("10.0.0.0/8"), 28, n, true), 24},
		{"v4-scattered-/28-want-/28", pfx("10.0.0.0/8"), benchUsed(pfx("10.0.0.0/8"), 28, n, true), 28},
		{"v4-packed-/28-want-/20", pfx("10.0.0.0/8"), benchUsed(pfx("10.0.0.0/8"), 28, n, false), 20},
		{"v6-scattered-/64-want-/64", pfx("2001:db8::/32"), benchUsed(pfx("2001:db8::/32"), 64, n, true), 64},
		{"v6-packed-/64-want-/56", pfx("2001:db8::/32"), benchUsed(pfx("2001:db8::/32"), 64, n, false), 56},
		// Every free hole is a /28, so nothing fits and every hole is visited.
		{"v4-full-want-/27", pfx("10.0.0.0/12"), evenSlots(pfx("10.0.0.0/12"), 28, n), 27},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = AllocatePrefix([]netip.Prefix{c.pool}, c.used, c.len)
			}
		})
	}
}

// evenSlots returns the even-numbered /bits prefixes of base, n of them.
func evenSlots(base netip.Prefix, bits, n int) []netip.Prefix {
	out := make([]netip.Prefix, 0, n)
	start := addrU128(base.Addr())
	for k := 0; k < n; k++ {
		off := u128{lo: uint64(2*k) << uint(32-bits)}
		out = append(out, netip.PrefixFrom(u128Addr(start.add(off), true), bits))
	}
	return out
}

func TestBenchUsedHelpers(t *testing.T) {
	used := benchUsed(pfx("10.0.0.0/8"), 28, 1000, true)
	if len(MergePrefixes(used)) == 0 {
		t.Fatal("no prefixes")
	}
	for _, p := range used {
		if !within(p, pfx("10.0.0.0/8")) || p.Bits() != 28 {
			t.Fatalf("bad prefix %v", p)
		}
	}
	// Even /28 slots of a /12 leave only /28 holes: a /27 cannot fit.
	full := evenSlots(pfx("10.0.0.0/12"), 28, 1<<15)
	if _, err := AllocatePrefix(pfxs("10.0.0.0/12"), full, 27); err == nil {
		t.Fatal("a /27 fit between alternating /28s")
	}
	if got, err := AllocatePrefix(pfxs("10.0.0.0/12"), full, 28); err != nil || got != pfx("10.0.0.16/28") {
		t.Fatalf("AllocatePrefix /28 = %v, %v", got, err)
	}
}
