package ipam

import (
	"math/big"
	"net/netip"
	"testing"
)

// FuzzDefaultAllocationPools parses a CIDR as a subnet create does,
// generates its default pools around a gateway (the one given when it
// parses, else Neutron's default) and checks what Neutron guarantees:
// pools are ordered, disjoint and inside the subnet, hold neither the
// gateway nor the reserved addresses, pass ValidateAllocationPools, and
// cover every usable address but the gateway.
func FuzzDefaultAllocationPools(f *testing.F) {
	seeds := [][2]string{
		{"10.0.0.0/24", ""}, {"10.0.0.0/24", "10.0.0.128"}, {"10.0.0.0/24", "10.0.0.254"},
		{"10.0.0.0/30", ""}, {"10.0.0.0/31", "10.0.0.1"}, {"10.0.0.0/32", ""}, {"10.0.0.0/8", ""},
		{"255.255.255.255/32", ""}, {"0.0.0.0/0", ""}, {"10.129.122.5/8", ""},
		{"2001:db8::/64", ""}, {"2001:db8::/64", "2001:db8::1"}, {"2001:db8::/127", "2001:db8::1"},
		{"2001:db8::/128", ""}, {"::/0", ""}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", ""},
		{"fe80::/10", "fe80::ffff"}, {"10.0.0.0/24", "fe80::1"}, {"garbage", "x"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, cidr, gwText string) {
		p, err := ParseCIDR(cidr, 0)
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("ParseCIDR(%q) returned a non-Neutron error %v", cidr, err)
			}
			return
		}
		if p != p.Masked() {
			t.Fatalf("ParseCIDR(%q) = %v, not normalized", cidr, p)
		}
		gw := DefaultGateway(p)
		if a, err := netip.ParseAddr(gwText); err == nil && a.Zone() == "" {
			gw = a
		}
		var gwp *netip.Addr
		if gw.IsValid() {
			gwp = &gw
		}
		pools := DefaultAllocationPools(p, gwp)
		whole := RangeOf(p)
		if whole.Start == whole.End {
			if len(pools) != 1 || pools[0] != whole {
				t.Fatalf("%v: single-address subnet pools %v", p, pools)
			}
			return
		}
		is4 := p.Addr().Is4()
		total := new(big.Int)
		for i, r := range pools {
			if !r.IsValid() || !Contains(p, r.Start) || !Contains(p, r.End) {
				t.Fatalf("%v: pool %v outside the subnet", p, r)
			}
			if i > 0 && pools[i-1].End.Compare(r.Start) >= 0 {
				t.Fatalf("%v: pools %v out of order or overlapping", p, pools)
			}
			if gwp != nil && r.Contains(gw) {
				t.Fatalf("%v: pool %v holds the gateway %v", p, r, gw)
			}
			if (!is4 || p.Bits() <= 30) && r.Contains(p.Addr()) {
				t.Fatalf("%v: pool %v holds the network address", p, r)
			}
			if is4 && p.Bits() <= 30 && r.Contains(whole.End) {
				t.Fatalf("%v: pool %v holds the broadcast address", p, r)
			}
			total.Add(total, r.BigSize())
		}
		if err := ValidateAllocationPools(pools, p, gwp); err != nil {
			t.Fatalf("%v gw %v: generated pools %v refused: %v", p, gw, pools, err)
		}
		usable, _ := usableRange(p)
		want := usable.BigSize()
		if gwp != nil && usable.Contains(gw) {
			want.Sub(want, big.NewInt(1))
		}
		if total.Cmp(want) != 0 {
			t.Fatalf("%v gw %v: pools %v cover %v addresses, want %v", p, gw, pools, total, want)
		}
	})
}
