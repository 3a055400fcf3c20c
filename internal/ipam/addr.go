package ipam

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Key returns the 16-byte big-endian key under which the store keeps addr.
//
// IPv4 addresses are stored in their IPv4-mapped IPv6 form
// (::ffff:a.b.c.d), so every key has the same width and keys sort in
// address order. A subnet holds addresses of a single family, so its v4
// keys never meet v6 keys; AddrFromKey needs to be told the family back.
// The zone of an IPv6 address is dropped.
func Key(addr netip.Addr) [16]byte {
	return addr.As16()
}

// AddrFromKey turns a key made by Key back into an address of the family
// is4 names. An IPv4 key that is not in the IPv4-mapped range yields the
// zero (invalid) Addr.
func AddrFromKey(k [16]byte, is4 bool) netip.Addr {
	a := netip.AddrFrom16(k)
	if !is4 {
		return a
	}
	if !a.Is4In6() {
		return netip.Addr{}
	}
	return a.Unmap()
}

// RangeKeys returns the keys of r's first and last addresses.
func RangeKeys(r Range) (start, end [16]byte) {
	return Key(r.Start), Key(r.End)
}

// Next returns the address after a, or the zero Addr when a is the last
// address of its family.
func Next(a netip.Addr) netip.Addr { return a.Next() }

// Prev returns the address before a, or the zero Addr when a is the first
// address of its family.
func Prev(a netip.Addr) netip.Addr { return a.Prev() }

// Contains reports whether a lies inside p; an address of the other family
// is never inside.
func Contains(p netip.Prefix, a netip.Addr) bool {
	return p.IsValid() && a.IsValid() && a.Is4() == p.Addr().Is4() && p.Contains(a)
}

// Overlaps reports whether a and b share at least one address; prefixes of
// different families never overlap.
func Overlaps(a, b netip.Prefix) bool {
	return a.IsValid() && b.IsValid() && a.Addr().Is4() == b.Addr().Is4() && a.Overlaps(b)
}

// LastAddr returns the last address of p (the IPv4 broadcast address).
func LastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	return u128Addr(addrU128(p.Addr()).or(hostMask(familyBits(p.Addr()), p.Bits())), p.Addr().Is4())
}

// familyBits is 32 for IPv4 and 128 for IPv6.
func familyBits(a netip.Addr) int {
	if a.Is4() {
		return 32
	}
	return 128
}

// addrVersion is 4 or 6.
func addrVersion(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// u128 is an unsigned 128-bit integer; IPv4 addresses use its low 32 bits.
type u128 struct{ hi, lo uint64 }

func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func u128Addr(v u128, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) sub(b u128) u128 {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) or(b u128) u128  { return u128{a.hi | b.hi, a.lo | b.lo} }
func (a u128) and(b u128) u128 { return u128{a.hi & b.hi, a.lo & b.lo} }
func (a u128) xor(b u128) u128 { return u128{a.hi ^ b.hi, a.lo ^ b.lo} }

// tz is the number of trailing zero bits, 128 for zero.
func (a u128) tz() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

// bitLen is the number of bits needed to represent a.
func (a u128) bitLen() int {
	if a.hi != 0 {
		return 64 + bits.Len64(a.hi)
	}
	return bits.Len64(a.lo)
}

// lowMask has the k lowest bits set (0 <= k <= 128).
func lowMask(k int) u128 {
	switch {
	case k <= 0:
		return u128{}
	case k < 64:
		return u128{lo: 1<<uint(k) - 1}
	case k == 64:
		return u128{lo: ^uint64(0)}
	case k < 128:
		return u128{hi: 1<<uint(k-64) - 1, lo: ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

// hostMask has the host bits of a /prefixLen of a width-bit family set.
func hostMask(width, prefixLen int) u128 { return lowMask(width - prefixLen) }
