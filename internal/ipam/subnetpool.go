package ipam

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParsePrefixList applies the API's validation of a subnet pool's prefixes
// attribute (validate_subnet_list): no string may appear twice
// ("Duplicate items in the list: '<a>, <b>'"), and each must be a CIDR
// ("'<s>' is not a valid IP subnet"; an IPv4 one written exactly as
// netaddr prints it). Failures are HTTPBadRequest "Invalid input for
// prefixes. Reason: ...". Host bits are allowed and cleared. The result
// keeps the given order and is not merged.
func ParsePrefixList(prefixes []string) ([]netip.Prefix, error) {
	seen := make(map[string]bool, len(prefixes))
	var dups []string
	for _, s := range prefixes {
		if seen[s] && !slices.Contains(dups, s) {
			dups = append(dups, s)
		}
		seen[s] = true
	}
	if len(dups) > 0 {
		return nil, AttributeError("prefixes", "Duplicate items in the list: '"+strings.Join(dups, ", ")+"'")
	}
	out := make([]netip.Prefix, len(prefixes))
	for i, s := range prefixes {
		p, reason := parseSubnetAttr(s)
		if reason != "" {
			return nil, AttributeError("prefixes", reason)
		}
		out[i] = p.Masked()
	}
	return out, nil
}

// ParseActionPrefixes parses the prefixes of an add_prefixes or
// remove_prefixes request body, which Neutron hands to netaddr without
// attribute validation: an empty list is HTTPBadRequest "Request body
// contains invalid data", an unparsable entry is netaddr's AddrFormatError
// (400) "invalid IPNetwork <s>". Host bits are cleared.
func ParseActionPrefixes(prefixes []string) ([]netip.Prefix, error) {
	if len(prefixes) == 0 {
		return nil, newError(400, "HTTPBadRequest", "Request body contains invalid data")
	}
	out := make([]netip.Prefix, len(prefixes))
	for i, s := range prefixes {
		p, ok := parseNetaddrCIDR(s)
		if !ok {
			return nil, newError(400, "AddrFormatError", "invalid IPNetwork %s", s)
		}
		out[i] = p.Masked()
	}
	return out, nil
}

// CheckPoolPrefixes applies what Neutron's SubnetPoolReader does with a
// pool's prefix list: an empty list is EmptySubnetPoolPrefixList (400)
// "Empty subnet pool prefix list.", and prefixes of both families (or of a
// family other than ipVersion, when ipVersion is 4 or 6) are
// PrefixVersionMismatch (400) "Cannot mix IPv4 and IPv6 prefixes in a
// subnet pool.". It returns the list merged (see MergePrefixes) and the
// pool's IP version.
func CheckPoolPrefixes(prefixes []netip.Prefix, ipVersion int) ([]netip.Prefix, int, error) {
	if len(prefixes) == 0 {
		return nil, 0, newError(400, "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list.")
	}
	v := versionOf(prefixes[0])
	for _, p := range prefixes[1:] {
		if versionOf(p) != v {
			return nil, 0, prefixVersionMismatch()
		}
	}
	if ipVersion != 0 && ipVersion != v {
		return nil, 0, prefixVersionMismatch()
	}
	return MergePrefixes(prefixes), v, nil
}

func prefixVersionMismatch() *Error {
	return newError(400, "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")
}

// ValidatePrefixes validates a subnet pool's prefixes attribute on create:
// ParsePrefixList, then CheckPoolPrefixes. It returns the merged prefixes;
// their family is the pool's ip_version.
func ValidatePrefixes(prefixes []string, ipVersion int) ([]netip.Prefix, error) {
	ps, err := ParsePrefixList(prefixes)
	if err != nil {
		return nil, err
	}
	merged, _, err := CheckPoolPrefixes(ps, ipVersion)
	return merged, err
}

// MergePrefixes returns the fewest CIDRs covering exactly the union of
// prefixes (netaddr's IPSet.compact and iter_cidrs, cidr_merge): host
// bits are cleared, overlapping and adjacent prefixes are merged, IPv4
// prefixes come first, each family in address order. 10.10.10.0/24 and
// 10.10.11.0/24 become 10.10.10.0/23.
func MergePrefixes(prefixes []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range MergeRanges(prefixRanges(prefixes)) {
		out = append(out, r.Prefixes()...)
	}
	return out
}

// prefixRanges converts prefixes to ranges.
func prefixRanges(prefixes []netip.Prefix) []Range {
	rs := make([]Range, 0, len(prefixes))
	for _, p := range prefixes {
		if p.IsValid() {
			rs = append(rs, RangeOf(p))
		}
	}
	return rs
}

// UpdatePrefixes applies an update of a subnet pool's prefixes attribute as
// _update_subnetpool_dict and SubnetPoolReader do: every current prefix
// must stay covered by the new list, else IllegalSubnetPoolPrefixUpdate
// (400) "Illegal update to prefixes: Existing prefixes must be a subset of
// the new prefixes."; then CheckPoolPrefixes (with the pool's ipVersion).
// It returns the new, merged list. add_prefixes is UpdatePrefixes with the
// current prefixes followed by the added ones.
func UpdatePrefixes(current, requested []netip.Prefix, ipVersion int) ([]netip.Prefix, error) {
	if len(SubtractRanges(prefixRanges(current), prefixRanges(requested))) > 0 {
		return nil, newError(400, "IllegalSubnetPoolPrefixUpdate",
			"Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.")
	}
	merged, _, err := CheckPoolPrefixes(requested, ipVersion)
	return merged, err
}

// RemovePrefixes applies remove_prefixes to a subnet pool whose prefixes
// are current and whose subnets have the CIDRs used. When remove shares
// no address with the pool the request is a no-op and current is returned
// as it is. When it shares an address with a subnet it is
// IllegalSubnetPoolPrefixUpdate (400) "Illegal update to prefixes: One or
// more the prefixes to be removed is in use by a subnet.." (Neutron's
// wording and doubled period). Otherwise the removed space is subtracted
// and the remainder returned merged.
func RemovePrefixes(current, remove, used []netip.Prefix) ([]netip.Prefix, error) {
	if len(remove) == 0 {
		return current, nil
	}
	cur, rem := prefixRanges(current), prefixRanges(remove)
	if !rangesIntersect(cur, rem) {
		return current, nil
	}
	if rangesIntersect(prefixRanges(used), rem) {
		return nil, newError(400, "IllegalSubnetPoolPrefixUpdate",
			"Illegal update to prefixes: One or more the prefixes to be removed is in use by a subnet..")
	}
	var out []netip.Prefix
	for _, r := range SubtractRanges(cur, rem) {
		out = append(out, r.Prefixes()...)
	}
	return out, nil
}

// rangesIntersect reports whether a and b share an address, in
// O(n log n).
func rangesIntersect(a, b []Range) bool {
	ma, mb := MergeRanges(a), MergeRanges(b)
	for i, j := 0, 0; i < len(ma) && j < len(mb); {
		x, y := ma[i], mb[j]
		if x.Overlaps(y) {
			return true
		}
		if endsFirst(x, y) {
			i++
		} else {
			j++
		}
	}
	return false
}

// endsFirst reports whether x ends before y in MergeRanges order.
func endsFirst(x, y Range) bool {
	if x.Is4() != y.Is4() {
		return x.Is4()
	}
	return x.End.Compare(y.End) < 0
}

// PrefixLens are a subnet pool's prefix-length bounds: min_prefixlen,
// default_prefixlen and max_prefixlen.
type PrefixLens struct {
	Min, Default, Max int
}

// DefaultPrefixLens returns the bounds a subnet pool of the IP version gets
// when none are given: min and default /8 and max /32 for IPv4, min and
// default /64 and max /128 for IPv6.
func DefaultPrefixLens(ipVersion int) PrefixLens {
	if ipVersion == 6 {
		return PrefixLens{Min: 64, Default: 64, Max: 128}
	}
	return PrefixLens{Min: 8, Default: 8, Max: 32}
}

// ResolvePrefixLens fills in the bounds a subnet pool create request
// leaves out (nil) as SubnetPoolReader does, min and max from
// DefaultPrefixLens and default from min, and validates the result with
// ValidatePrefixLens.
//
// One Neutron quirk is kept: with min_prefixlen 0 and no
// default_prefixlen, Neutron leaves the default unset and then fails
// comparing it, answering 500; so does this function
// (HTTPInternalServerError).
func ResolvePrefixLens(minLen, defLen, maxLen *int, ipVersion int) (PrefixLens, error) {
	l := DefaultPrefixLens(ipVersion)
	if minLen != nil {
		l.Min = *minLen
	}
	if maxLen != nil {
		l.Max = *maxLen
	}
	switch {
	case defLen != nil:
		l.Default = *defLen
	case l.Min != 0:
		l.Default = l.Min
	default:
		return PrefixLens{}, newError(500, "HTTPInternalServerError",
			"Request Failed: internal server error while processing your request.")
	}
	return l, ValidatePrefixLens(l.Min, l.Default, l.Max, ipVersion)
}

// ValidatePrefixLens checks a subnet pool's prefix-length bounds in
// Neutron's order (SubnetPoolHelper): a negative min is
// UnsupportedMinSubnetPoolPrefix (Neutron always names IPv4 in it); min
// above max, max above 32 or 128, default below min and default above max
// are IllegalSubnetPoolPrefixBounds (400), e.g. "Illegal prefix bounds:
// default_prefixlen=20, min_prefixlen=21.".
func ValidatePrefixLens(minLen, defLen, maxLen, ipVersion int) error {
	bounds := func(typ string, n int, baseTyp string, base int) *Error {
		return newError(400, "IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: %s=%d, %s=%d.", typ, n, baseTyp, base)
	}
	width := 32
	if ipVersion == 6 {
		width = 128
	}
	switch {
	case minLen < 0:
		return newError(400, "UnsupportedMinSubnetPoolPrefix", "Prefix '%d' not supported in IPv4 pool.", minLen)
	case minLen > maxLen:
		return bounds("min_prefixlen", minLen, "max_prefixlen", maxLen)
	case maxLen > width:
		return bounds("max_prefixlen", maxLen, "ip_version_max", width)
	case defLen < minLen:
		return bounds("default_prefixlen", defLen, "min_prefixlen", minLen)
	case defLen > maxLen:
		return bounds("default_prefixlen", defLen, "max_prefixlen", maxLen)
	}
	return nil
}

// CheckPrefixLenBounds refuses a subnet prefix length outside a pool's
// bounds as SubnetAllocator.allocate_subnet does, the maximum first:
// MaxPrefixSubnetAllocationError (400) "Unable to allocate subnet with
// prefix length 24, maximum allowed prefix is 21.", or
// MinPrefixSubnetAllocationError (400) "... minimum allowed prefix is ...".
func CheckPrefixLenBounds(prefixLen, minLen, maxLen int) error {
	if prefixLen > maxLen {
		return newError(400, "MaxPrefixSubnetAllocationError",
			"Unable to allocate subnet with prefix length %d, maximum allowed prefix is %d.", prefixLen, maxLen)
	}
	if prefixLen < minLen {
		return newError(400, "MinPrefixSubnetAllocationError",
			"Unable to allocate subnet with prefix length %d, minimum allowed prefix is %d.", prefixLen, minLen)
	}
	return nil
}

// subnetAllocationError is neutron-lib's SubnetAllocationError. It derives
// from NeutronException directly, outside the API fault map, so Neutron
// answers it with a 500 (its tests expect 500 for a specific CIDR outside
// the pool or already allocated).
func subnetAllocationError(reason string) *Error {
	return newError(500, "SubnetAllocationError", "Failed to allocate subnet: %s.", reason)
}

// AllocatePrefix picks the CIDR of length prefixLen Neutron's
// SubnetAllocator gives a subnet requested from a pool without a CIDR:
// it splits the pool's free space (pool minus used, merged) into its
// fewest CIDRs, takes the smallest of those that can hold a /prefixLen
// (the longest prefix not longer than prefixLen; the lowest address among
// equals) and returns its first /prefixLen. This best fit keeps large
// blocks whole: it is not always the lowest free /prefixLen.
//
// Without room the error is SubnetAllocationError "Failed to allocate
// subnet: Insufficient prefix space to allocate subnet size /<n>.", which
// Neutron answers with a 500. The used prefixes are sorted (a radix sort
// on the address bytes that vary) and merged, then the free space is
// walked once, skipping holes too small to matter: the work is linear in
// the number of used prefixes, whatever the prefix sizes involved, and
// never enumerates candidate subnets.
func AllocatePrefix(pool, used []netip.Prefix, prefixLen int) (netip.Prefix, error) {
	insufficient := subnetAllocationError("Insufficient prefix space to allocate subnet size /" + strconv.Itoa(prefixLen))
	if len(pool) == 0 {
		return netip.Prefix{}, insufficient
	}
	is4 := pool[0].Addr().Is4()
	width := 128
	if is4 {
		width = 32
	}
	if prefixLen < 0 || prefixLen > width {
		return netip.Prefix{}, insufficient
	}
	need := lowMask(width - prefixLen) // a free span must hold need+1 addresses
	var best u128
	bestBits := -1
	forEachFree(prefixSpans(pool, is4), prefixSpans(used, is4), func(r span) bool {
		if r.hi.sub(r.lo).cmp(need) < 0 {
			return true
		}
		forEachBlock(r.lo, r.hi, width, func(start u128, k int) bool {
			if bits := width - k; bits <= prefixLen && bits > bestBits {
				best, bestBits = start, bits
			}
			return bestBits != prefixLen
		})
		return bestBits != prefixLen
	})
	if bestBits < 0 {
		return netip.Prefix{}, insufficient
	}
	return netip.PrefixFrom(u128Addr(best, is4), prefixLen), nil
}

// RequestSpecificPrefix checks a specific CIDR requested from a pool as
// SubnetAllocator does: it must lie wholly inside the pool's prefixes and
// overlap none of the used ones, else SubnetAllocationError "Failed to
// allocate subnet: Cannot allocate requested subnet from the available set
// of prefixes." (a 500 in Neutron). Prefix-length bounds and quota are
// checked first by the caller, or use SubnetPool.AllocateSpecific.
func RequestSpecificPrefix(pool, used []netip.Prefix, want netip.Prefix) error {
	if want.IsValid() && len(pool) > 0 && want.Addr().Is4() == pool[0].Addr().Is4() && fitsFree(pool, used, prefixSpan(want)) {
		return nil
	}
	return subnetAllocationError("Cannot allocate requested subnet from the available set of prefixes")
}

// fitsFree reports whether w lies inside the union of pool and overlaps
// no used prefix, in O(n) for n used prefixes.
func fitsFree(pool, used []netip.Prefix, w span) bool {
	is4 := pool[0].Addr().Is4()
	inPool := false
	for _, p := range prefixSpans(pool, is4) {
		if p.lo.cmp(w.lo) <= 0 && w.hi.cmp(p.hi) <= 0 {
			inPool = true
			break
		}
	}
	if !inPool {
		return false
	}
	for _, u := range used {
		if u.IsValid() && u.Addr().Is4() == is4 {
			if s := prefixSpan(u); s.lo.cmp(w.hi) <= 0 && w.lo.cmp(s.hi) <= 0 {
				return false
			}
		}
	}
	return true
}

// QuotaUnits returns what a subnet of the prefix length costs against a
// subnet pool's default_quota: IPv4 quotas count addresses (/32s), IPv6
// quotas count /64s, so an IPv6 subnet longer than /64 costs a fraction,
// as in Neutron (2 ** (unit - prefixlen), in floating point).
func QuotaUnits(prefixLen, ipVersion int) float64 {
	unit := 32
	if ipVersion == 6 {
		unit = 64
	}
	return math.Pow(2, float64(unit-prefixLen))
}

// CheckQuota applies a subnet pool's default_quota to a new subnet of the
// prefix length, given the CIDRs already counted against it:
// SubnetPoolQuotaExceeded (409) "Per-project subnet pool prefix quota
// exceeded." when they would sum above quota. A quota of 0 means no
// limit, as in Neutron (which tests the quota for truth).
func CheckQuota(quota int, counted []netip.Prefix, prefixLen, ipVersion int) error {
	if quota <= 0 {
		return nil
	}
	used := 0.0
	for _, p := range counted {
		used += QuotaUnits(p.Bits(), ipVersion)
	}
	if used+QuotaUnits(prefixLen, ipVersion) > float64(quota) {
		return newError(409, "SubnetPoolQuotaExceeded", "Per-project subnet pool prefix quota exceeded.")
	}
	return nil
}

// SubnetPool is what allocating a subnet from a subnet pool needs to know
// about the pool, read inside the allocating transaction.
type SubnetPool struct {
	// Prefixes are the pool's prefixes, all of one family.
	Prefixes []netip.Prefix
	// MinPrefixLen and MaxPrefixLen bound the subnets' prefix lengths.
	MinPrefixLen, MaxPrefixLen int
	// DefaultQuota is the pool's default_quota; 0 when unset.
	DefaultQuota int
	// Allocated are the CIDRs of every subnet allocated from the pool.
	Allocated []netip.Prefix
	// QuotaCounted are the CIDRs counted against DefaultQuota. Neutron
	// counts the subnets of the pool owned by the pool's own project
	// (subnet_alloc._allocations_used_by_project reads the pool's
	// project_id, not the requester's).
	QuotaCounted []netip.Prefix
}

// version is the pool's IP version.
func (sp SubnetPool) version() int {
	if len(sp.Prefixes) > 0 && sp.Prefixes[0].Addr().Is4() {
		return 4
	}
	return 6
}

// AllocateAny allocates a subnet of the prefix length from the pool in
// Neutron's order: prefix-length bounds (CheckPrefixLenBounds), quota
// (CheckQuota), then AllocatePrefix.
func (sp SubnetPool) AllocateAny(prefixLen int) (netip.Prefix, error) {
	if err := CheckPrefixLenBounds(prefixLen, sp.MinPrefixLen, sp.MaxPrefixLen); err != nil {
		return netip.Prefix{}, err
	}
	if err := CheckQuota(sp.DefaultQuota, sp.QuotaCounted, prefixLen, sp.version()); err != nil {
		return netip.Prefix{}, err
	}
	return AllocatePrefix(sp.Prefixes, sp.Allocated, prefixLen)
}

// AllocateSpecific checks that the subnet CIDR want can be allocated from
// the pool, in Neutron's order: prefix-length bounds, quota, then
// RequestSpecificPrefix.
func (sp SubnetPool) AllocateSpecific(want netip.Prefix) error {
	if err := CheckPrefixLenBounds(want.Bits(), sp.MinPrefixLen, sp.MaxPrefixLen); err != nil {
		return err
	}
	if err := CheckQuota(sp.DefaultQuota, sp.QuotaCounted, want.Bits(), sp.version()); err != nil {
		return err
	}
	return RequestSpecificPrefix(sp.Prefixes, sp.Allocated, want)
}

// ValidateIPVersionWithPool refuses a subnet whose ip_version differs from
// its subnet pool's: BadRequest "Bad subnets request: Cannot allocate IPv6
// subnet from IPv4 subnet pool.".
func ValidateIPVersionWithPool(subnetVersion, poolVersion int) error {
	if subnetVersion != poolVersion {
		return badRequest("subnets", "Cannot allocate IPv"+strconv.Itoa(subnetVersion)+" subnet from IPv"+strconv.Itoa(poolVersion)+" subnet pool")
	}
	return nil
}
