package ipam

import (
	"cmp"
	"math"
	"math/big"
	"net/netip"
	"slices"
)

// Range is an inclusive range of addresses of one family: an allocation
// pool, or a free stretch of address space. It is netaddr's IPRange in
// Neutron.
type Range struct {
	Start, End netip.Addr
}

// Pool is an allocation pool in Neutron's JSON form, {"start": ..., "end": ...}.
type Pool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// RangeOf returns the range of every address in p, network address and
// broadcast address included.
func RangeOf(p netip.Prefix) Range {
	p = p.Masked()
	return Range{Start: p.Addr(), End: LastAddr(p)}
}

// IsValid reports whether r has two valid addresses of the same family in
// order.
func (r Range) IsValid() bool {
	return r.Start.IsValid() && r.End.IsValid() && r.Start.Is4() == r.End.Is4() && r.Start.Compare(r.End) <= 0
}

// Is4 reports whether r is an IPv4 range.
func (r Range) Is4() bool { return r.Start.Is4() }

// Contains reports whether a lies in r.
func (r Range) Contains(a netip.Addr) bool {
	return a.IsValid() && a.Is4() == r.Start.Is4() && r.Start.Compare(a) <= 0 && a.Compare(r.End) <= 0
}

// Overlaps reports whether r and o share an address.
func (r Range) Overlaps(o Range) bool {
	return r.Start.Is4() == o.Start.Is4() && r.Start.Compare(o.End) <= 0 && o.Start.Compare(r.End) <= 0
}

// Size returns the number of addresses in r, saturated at math.MaxUint64
// for IPv6 ranges of 2^64 addresses or more.
func (r Range) Size() uint64 {
	d := addrU128(r.End).sub(addrU128(r.Start))
	if d.hi != 0 || d.lo == math.MaxUint64 {
		return math.MaxUint64
	}
	return d.lo + 1
}

// BigSize returns the exact number of addresses in r.
func (r Range) BigSize() *big.Int {
	d := addrU128(r.End).sub(addrU128(r.Start))
	n := new(big.Int).SetUint64(d.hi)
	n.Lsh(n, 64)
	n.Or(n, new(big.Int).SetUint64(d.lo))
	return n.Add(n, big.NewInt(1))
}

// String formats r as netaddr does, "start-end"; Neutron's messages quote
// pools this way.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

// Pool returns r in Neutron's JSON form.
func (r Range) Pool() Pool { return Pool{Start: r.Start.String(), End: r.End.String()} }

// FormatPools returns ranges in Neutron's JSON form.
func FormatPools(rs []Range) []Pool {
	out := make([]Pool, len(rs))
	for i, r := range rs {
		out[i] = r.Pool()
	}
	return out
}

// Prefixes returns the fewest CIDRs that cover r exactly, in address order
// (netaddr's iter_cidrs).
func (r Range) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	forEachCIDR(r, func(p netip.Prefix) bool {
		out = append(out, p)
		return true
	})
	return out
}

// forEachCIDR calls f on the CIDRs of r's decomposition in address order
// until f returns false.
func forEachCIDR(r Range, f func(netip.Prefix) bool) {
	is4 := r.Start.Is4()
	width := familyBits(r.Start)
	forEachBlock(addrU128(r.Start), addrU128(r.End), width, func(start u128, k int) bool {
		return f(netip.PrefixFrom(u128Addr(start, is4), width-k))
	})
}

// compareRanges orders ranges IPv4 first, then by start and end.
func compareRanges(a, b Range) int {
	if a.Start.Is4() != b.Start.Is4() {
		if a.Start.Is4() {
			return -1
		}
		return 1
	}
	return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End))
}

// MergeRanges returns the union of ranges as sorted, disjoint,
// non-adjacent ranges: IPv4 ranges first, each family in address order.
// Invalid ranges are dropped.
func MergeRanges(ranges []Range) []Range {
	rs := make([]Range, 0, len(ranges))
	for _, r := range ranges {
		if r.IsValid() {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, compareRanges)
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].Start.Is4() == r.Start.Is4() {
			last := &out[n-1]
			next := last.End.Next()
			if r.Start.Compare(last.End) <= 0 || (next.IsValid() && r.Start == next) {
				if r.End.Compare(last.End) > 0 {
					last.End = r.End
				}
				continue
			}
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// Subtract returns ranges with the single address a carved out of
// whichever range holds it: that range is dropped, shrunk or split in two.
// The other ranges are returned as they are, in their order.
func Subtract(ranges []Range, a netip.Addr) []Range {
	out := make([]Range, 0, len(ranges)+1)
	for _, r := range ranges {
		if !r.Contains(a) {
			out = append(out, r)
			continue
		}
		if r.Start != a {
			out = append(out, Range{r.Start, a.Prev()})
		}
		if r.End != a {
			out = append(out, Range{a.Next(), r.End})
		}
	}
	return out
}

// SubtractRanges returns the addresses of ranges that are not in remove,
// as merged ranges (see MergeRanges). It runs in O(n log n).
func SubtractRanges(ranges, remove []Range) []Range {
	from, cut := MergeRanges(ranges), MergeRanges(remove)
	var out []Range
	j := 0
	for _, r := range from {
		// Skip cuts entirely before r (or of the IPv4 family while r is IPv6).
		for j < len(cut) && compareFamilyEnd(cut[j], r) < 0 {
			j++
		}
		cur := r.Start
		done := false
		for k := j; k < len(cut) && cut[k].Start.Is4() == r.Start.Is4() && cut[k].Start.Compare(r.End) <= 0; k++ {
			c := cut[k]
			if c.Start.Compare(cur) > 0 {
				out = append(out, Range{cur, c.Start.Prev()})
			}
			if c.End.Compare(r.End) >= 0 {
				done = true
				break
			}
			if c.End.Compare(cur) >= 0 {
				cur = c.End.Next()
			}
		}
		if !done {
			out = append(out, Range{cur, r.End})
		}
	}
	return out
}

// compareFamilyEnd is negative when c lies wholly before r: in the IPv4
// family while r is IPv6, or ending before r starts.
func compareFamilyEnd(c, r Range) int {
	if c.Start.Is4() != r.Start.Is4() {
		if c.Start.Is4() {
			return -1
		}
		return 1
	}
	return c.End.Compare(r.Start)
}

// ParsePools turns allocation pools in Neutron's JSON form into ranges.
//
// Errors come in Neutron's order: first the API's attribute validation of
// every address (HTTPBadRequest "Invalid input for allocation_pools.
// Reason: '...' is not a valid IP address."), then netaddr's refusal to
// build a range whose start is above its end or whose ends differ in
// family (InvalidAllocationPool, 400, quoting the pool as a Python dict).
func ParsePools(pools []Pool) ([]Range, error) {
	addrs := make([][2]netip.Addr, len(pools))
	for i, p := range pools {
		for j, s := range [2]string{p.Start, p.End} {
			a, reason := parseIPAddress(s)
			if reason != "" {
				return nil, AttributeError("allocation_pools", reason)
			}
			addrs[i][j] = a
		}
	}
	out := make([]Range, len(pools))
	for i, a := range addrs {
		r := Range{a[0], a[1]}
		if !r.IsValid() {
			return nil, newError(400, "InvalidAllocationPool", "The allocation pool {'start': '%s', 'end': '%s'} is not valid.",
				a[0], a[1])
		}
		out[i] = r
	}
	return out, nil
}
