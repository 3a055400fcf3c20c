package ipam

import (
	"net/netip"
	"slices"
)

// span is an inclusive range of addresses of one family as integers; the
// pool allocation paths work on spans so that sorting and merging 10^5
// prefixes stays cheap.
type span struct{ lo, hi u128 }

// prefixSpan converts a prefix to a span.
func prefixSpan(p netip.Prefix) span {
	lo := addrU128(p.Addr())
	width := familyBits(p.Addr())
	m := hostMask(width, p.Bits())
	lo = u128{lo.hi &^ m.hi, lo.lo &^ m.lo}
	return span{lo, lo.or(m)}
}

// prefixSpans converts the valid prefixes of the family is4 names to
// spans, merged (see mergeSpans).
func prefixSpans(ps []netip.Prefix, is4 bool) []span {
	out := make([]span, 0, len(ps))
	for _, p := range ps {
		if p.IsValid() && p.Addr().Is4() == is4 {
			out = append(out, prefixSpan(p))
		}
	}
	return mergeSpans(out)
}

// mergeSpans sorts s in place and merges overlapping and adjacent spans.
func mergeSpans(s []span) []span {
	sortSpans(s)
	out := s[:0]
	for _, x := range s {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if x.lo.cmp(last.hi) <= 0 || x.lo == last.hi.add(u128{lo: 1}) && !last.hi.isMax() {
				if x.hi.cmp(last.hi) > 0 {
					last.hi = x.hi
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// sortSpans sorts s by first address. Large inputs are radix-sorted on
// the bytes of the first address that vary, which is several times faster
// than a comparison sort of 32-byte elements; small ones use pdqsort.
func sortSpans(s []span) {
	if slices.IsSortedFunc(s, compareSpans) {
		return
	}
	if len(s) < 256 {
		slices.SortFunc(s, compareSpans)
		return
	}
	// Only the bytes in which some first address differs from the first
	// one need a pass.
	var diffHi, diffLo uint64
	for _, x := range s {
		diffHi |= x.lo.hi ^ s[0].lo.hi
		diffLo |= x.lo.lo ^ s[0].lo.lo
	}
	buf := make([]span, len(s))
	src, dst := s, buf
	for i := 15; i >= 0; i-- {
		if spanDigit(span{lo: u128{diffHi, diffLo}}, i) == 0 {
			continue
		}
		var pos [256]int
		for _, x := range src {
			pos[spanDigit(x, i)]++
		}
		sum := 0
		for d := range 256 {
			pos[d], sum = sum, sum+pos[d]
		}
		for _, x := range src {
			d := spanDigit(x, i)
			dst[pos[d]] = x
			pos[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
}

// spanDigit is byte i (0 the most significant) of x's first address.
func spanDigit(x span, i int) byte {
	if i < 8 {
		return byte(x.lo.hi >> (8 * (7 - i)))
	}
	return byte(x.lo.lo >> (8 * (15 - i)))
}

func compareSpans(a, b span) int { return a.lo.cmp(b.lo) }

// isMax reports whether a has all 128 bits set.
func (a u128) isMax() bool { return a.hi == ^uint64(0) && a.lo == ^uint64(0) }

// forEachFree calls f, in address order, on the maximal stretches of
// from (merged) outside cut (merged), until f returns false.
func forEachFree(from, cut []span, f func(span) bool) {
	j := 0
	for _, r := range from {
		for j < len(cut) && cut[j].hi.cmp(r.lo) < 0 {
			j++
		}
		cur, done := r.lo, false
		for k := j; k < len(cut) && cut[k].lo.cmp(r.hi) <= 0; k++ {
			c := cut[k]
			if c.lo.cmp(cur) > 0 && !f(span{cur, c.lo.sub(u128{lo: 1})}) {
				return
			}
			if c.hi.cmp(r.hi) >= 0 {
				done = true
				break
			}
			cur = c.hi.add(u128{lo: 1})
		}
		if !done && !f(span{cur, r.hi}) {
			return
		}
	}
}

// forEachBlock calls f, in address order, on the aligned blocks of the
// fewest-CIDR cover of [lo, hi] in a width-bit family, each given by its
// first address and number of host bits, until f returns false.
func forEachBlock(lo, hi u128, width int, f func(start u128, hostBits int) bool) {
	all := lowMask(width)
	for {
		k := min(lo.tz(), width)
		d := hi.sub(lo) // the block may span d+1 addresses
		fit := width
		if d != all {
			fit = d.add(u128{lo: 1}).bitLen() - 1
		}
		k = min(k, fit)
		if !f(lo, k) {
			return
		}
		last := lo.add(lowMask(k))
		if last.cmp(hi) >= 0 {
			return
		}
		lo = last.add(u128{lo: 1})
	}
}
