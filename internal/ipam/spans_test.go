package ipam

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"testing"
)

func TestSortSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for _, n := range []int{0, 1, 2, 255, 256, 1000, 5000} {
		for _, mask := range []u128{{0, 0xffffffff}, {^uint64(0), ^uint64(0)}, {0xff00, 0}, {0, 0xff00ff}, {1 << 63, 1}} {
			s := make([]span, n)
			for i := range s {
				lo := u128{0x20010db800000000 | r.Uint64()&mask.hi, r.Uint64() & mask.lo}
				s[i] = span{lo, lo.add(u128{lo: uint64(i)})}
			}
			want := slices.Clone(s)
			sort.SliceStable(want, func(i, j int) bool { return want[i].lo.cmp(want[j].lo) < 0 })
			sortSpans(s)
			for i := range s {
				if s[i].lo != want[i].lo {
					t.Fatalf("n=%d mask=%v: position %d differs", n, mask, i)
				}
			}
		}
	}
}

// referenceAllocate is Neutron's _allocate_any_subnet, literally: list the
// free CIDRs, sort them by prefix length, longest first (stable, so
// address order among equals), take the first that can hold the request.
func referenceAllocate(pool, used []netip.Prefix, prefixLen int) (netip.Prefix, bool) {
	var cidrs []netip.Prefix
	for _, r := range SubtractRanges(prefixRanges(pool), prefixRanges(used)) {
		cidrs = append(cidrs, r.Prefixes()...)
	}
	sort.SliceStable(cidrs, func(i, j int) bool { return cidrs[i].Bits() > cidrs[j].Bits() })
	for _, c := range cidrs {
		if prefixLen >= c.Bits() {
			return netip.PrefixFrom(c.Addr(), prefixLen), true
		}
	}
	return netip.Prefix{}, false
}

func TestAllocatePrefixMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	randPrefix := func(is4 bool, minBits int) netip.Prefix {
		if is4 {
			bits := minBits + r.IntN(33-minBits)
			a := u128Addr(u128{lo: uint64(0x0a000000 | r.Uint32()&0x00ffffff)}, true)
			return netip.PrefixFrom(a, bits).Masked()
		}
		bits := minBits + r.IntN(129-minBits)
		a := u128Addr(u128{0x20010db800000000 | r.Uint64()&0xffff, r.Uint64()}, false)
		return netip.PrefixFrom(a, bits).Masked()
	}
	for iter := 0; iter < 3000; iter++ {
		is4 := iter%2 == 0
		min := 8
		if !is4 {
			min = 32
		}
		var pool, used []netip.Prefix
		for i := 0; i < 1+r.IntN(3); i++ {
			pool = append(pool, randPrefix(is4, min+8))
		}
		for i := 0; i < r.IntN(40); i++ {
			p := pool[r.IntN(len(pool))]
			sub := randPrefix(is4, p.Bits())
			// Move sub inside p.
			a := addrU128(p.Addr()).or(addrU128(sub.Addr()).and(hostMask(familyBits(p.Addr()), p.Bits())))
			used = append(used, netip.PrefixFrom(u128Addr(a, is4), sub.Bits()).Masked())
		}
		width := 32
		if !is4 {
			width = 128
		}
		want := pool[0].Bits() + r.IntN(width-pool[0].Bits()+1)
		got, err := AllocatePrefix(pool, used, want)
		ref, ok := referenceAllocate(pool, used, want)
		if ok != (err == nil) || got != ref {
			t.Fatalf("AllocatePrefix(%v, %v, /%d) = %v, %v; reference %v, %v", pool, used, want, got, err, ref, ok)
		}
		if ok {
			if err := RequestSpecificPrefix(pool, used, got); err != nil {
				t.Fatalf("allocated %v is not requestable: %v", got, err)
			}
			if err := RequestSpecificPrefix(pool, append(used, got), got); err == nil {
				t.Fatalf("allocated %v requestable twice", got)
			}
		}
	}
}
