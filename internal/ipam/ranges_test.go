package ipam

import (
	"math"
	"slices"
	"testing"
)

func TestKeys(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.0.1", "255.255.255.255", "::", "2001:db8::1", "::ffff:10.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		a := ip(s)
		k := Key(a)
		if got := AddrFromKey(k, a.Is4()); got != a {
			t.Errorf("AddrFromKey(Key(%s)) = %s", a, got)
		}
	}
	k := Key(ip("10.0.0.1"))
	if k != [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1} {
		t.Errorf("Key(10.0.0.1) = %x", k)
	}
	// Keys sort in address order within a family.
	addrs := []string{"10.0.0.1", "10.0.0.2", "10.0.1.0", "11.0.0.0"}
	for i := 1; i < len(addrs); i++ {
		a, b := Key(ip(addrs[i-1])), Key(ip(addrs[i]))
		if string(a[:]) >= string(b[:]) {
			t.Errorf("Key(%s) >= Key(%s)", addrs[i-1], addrs[i])
		}
	}
	if got := AddrFromKey(Key(ip("2001:db8::1")), true); got.IsValid() {
		t.Errorf("AddrFromKey of a v6 key as v4 = %v, want invalid", got)
	}
	lo, hi := RangeKeys(rg("10.0.0.2", "10.0.0.254"))
	if AddrFromKey(lo, true) != ip("10.0.0.2") || AddrFromKey(hi, true) != ip("10.0.0.254") {
		t.Errorf("RangeKeys wrong")
	}
}

func TestNextPrev(t *testing.T) {
	if Next(ip("10.0.0.255")) != ip("10.0.1.0") || Prev(ip("10.0.1.0")) != ip("10.0.0.255") {
		t.Error("Next/Prev across an octet")
	}
	if Next(ip("255.255.255.255")).IsValid() || Prev(ip("0.0.0.0")).IsValid() {
		t.Error("IPv4 Next/Prev must not wrap")
	}
	if Next(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).IsValid() || Prev(ip("::")).IsValid() {
		t.Error("IPv6 Next/Prev must not wrap")
	}
	if Next(ip("::ffff:ffff")) != ip("::1:0:0") {
		t.Error("IPv6 Next carries")
	}
}

func TestContainsOverlaps(t *testing.T) {
	if !Contains(pfx("10.0.0.0/24"), ip("10.0.0.255")) || Contains(pfx("10.0.0.0/24"), ip("10.0.1.0")) {
		t.Error("Contains v4")
	}
	if Contains(pfx("::/0"), ip("10.0.0.1")) || Contains(pfx("0.0.0.0/0"), ip("::1")) {
		t.Error("Contains across families")
	}
	if !Overlaps(pfx("10.0.0.0/23"), pfx("10.0.1.0/24")) || Overlaps(pfx("10.0.0.0/24"), pfx("10.0.1.0/24")) {
		t.Error("Overlaps v4")
	}
	if Overlaps(pfx("0.0.0.0/0"), pfx("::/0")) {
		t.Error("Overlaps across families")
	}
	if LastAddr(pfx("10.0.0.0/24")) != ip("10.0.0.255") || LastAddr(pfx("2001:db8::/64")) != ip("2001:db8::ffff:ffff:ffff:ffff") ||
		LastAddr(pfx("0.0.0.0/0")) != ip("255.255.255.255") || LastAddr(pfx("::/0")) != ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") {
		t.Error("LastAddr")
	}
}

func TestRangeBasics(t *testing.T) {
	r := rg("10.0.0.2", "10.0.0.254")
	if !r.IsValid() || !r.Is4() || r.String() != "10.0.0.2-10.0.0.254" || r.Size() != 253 || r.BigSize().Int64() != 253 {
		t.Errorf("range basics: %v %d", r, r.Size())
	}
	if !r.Contains(ip("10.0.0.2")) || !r.Contains(ip("10.0.0.254")) || r.Contains(ip("10.0.0.1")) || r.Contains(ip("::ffff:10.0.0.2")) {
		t.Error("Contains")
	}
	if rg("10.0.0.5", "10.0.0.1").IsValid() || (Range{ip("10.0.0.1"), ip("::1")}).IsValid() || (Range{}).IsValid() {
		t.Error("invalid ranges reported valid")
	}
	if p := r.Pool(); p != (Pool{"10.0.0.2", "10.0.0.254"}) {
		t.Errorf("Pool() = %v", p)
	}
	if got := FormatPools([]Range{rg("2001:db8::1", "2001:db8::ffff")}); got[0] != (Pool{"2001:db8::1", "2001:db8::ffff"}) {
		t.Errorf("FormatPools = %v", got)
	}
	sizes := []struct {
		r    Range
		want uint64
		big  string
	}{
		{RangeOf(pfx("0.0.0.0/0")), 1 << 32, "4294967296"},
		{RangeOf(pfx("2001:db8::/64")), math.MaxUint64, "18446744073709551616"},
		{rg("2001:db8::", "2001:db8::ffff:ffff:ffff:fffe"), math.MaxUint64, "18446744073709551615"},
		{rg("2001:db8::", "2001:db8::ffff:ffff:ffff:fffd"), math.MaxUint64 - 1, "18446744073709551614"},
		{RangeOf(pfx("::/0")), math.MaxUint64, "340282366920938463463374607431768211456"},
		{rg("::1", "::1"), 1, "1"},
	}
	for _, s := range sizes {
		if s.r.Size() != s.want || s.r.BigSize().String() != s.big {
			t.Errorf("%v: Size %d BigSize %s, want %d %s", s.r, s.r.Size(), s.r.BigSize(), s.want, s.big)
		}
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		r    Range
		want string
	}{
		{rg("10.0.0.0", "10.0.0.255"), "[10.0.0.0/24]"},
		{rg("10.0.0.1", "10.0.0.254"), "[10.0.0.1/32 10.0.0.2/31 10.0.0.4/30 10.0.0.8/29 10.0.0.16/28 10.0.0.32/27 10.0.0.64/26 10.0.0.128/26 10.0.0.192/27 10.0.0.224/28 10.0.0.240/29 10.0.0.248/30 10.0.0.252/31 10.0.0.254/32]"},
		{rg("0.0.0.0", "255.255.255.255"), "[0.0.0.0/0]"},
		{rg("255.255.255.255", "255.255.255.255"), "[255.255.255.255/32]"},
		{rg("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "[::/0]"},
		{rg("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "[::1/128 ::2/127 ::4/126 ::8/125 ::10/124 ::20/123 ::40/122 ::80/121 ::100/120 ::200/119 ::400/118 ::800/117 ::1000/116 ::2000/115 ::4000/114 ::8000/113 ::1:0/112 ::2:0/111 ::4:0/110 ::8:0/109 ::10:0/108 ::20:0/107 ::40:0/106 ::80:0/105 ::100:0/104 ::200:0/103 ::400:0/102 ::800:0/101 ::1000:0/100 ::2000:0/99 ::4000:0/98 ::8000:0/97 ::1:0:0/96 ::2:0:0/95 ::4:0:0/94 ::8:0:0/93 ::10:0:0/92 ::20:0:0/91 ::40:0:0/90 ::80:0:0/89 ::100:0:0/88 ::200:0:0/87 ::400:0:0/86 ::800:0:0/85 ::1000:0:0/84 ::2000:0:0/83 ::4000:0:0/82 ::8000:0:0/81 ::1:0:0:0/80 ::2:0:0:0/79 ::4:0:0:0/78 ::8:0:0:0/77 ::10:0:0:0/76 ::20:0:0:0/75 ::40:0:0:0/74 ::80:0:0:0/73 ::100:0:0:0/72 ::200:0:0:0/71 ::400:0:0:0/70 ::800:0:0:0/69 ::1000:0:0:0/68 ::2000:0:0:0/67 ::4000:0:0:0/66 ::8000:0:0:0/65 0:0:0:1::/64 0:0:0:2::/63 0:0:0:4::/62 0:0:0:8::/61 0:0:0:10::/60 0:0:0:20::/59 0:0:0:40::/58 0:0:0:80::/57 0:0:0:100::/56 0:0:0:200::/55 0:0:0:400::/54 0:0:0:800::/53 0:0:0:1000::/52 0:0:0:2000::/51 0:0:0:4000::/50 0:0:0:8000::/49 0:0:1::/48 0:0:2::/47 0:0:4::/46 0:0:8::/45 0:0:10::/44 0:0:20::/43 0:0:40::/42 0:0:80::/41 0:0:100::/40 0:0:200::/39 0:0:400::/38 0:0:800::/37 0:0:1000::/36 0:0:2000::/35 0:0:4000::/34 0:0:8000::/33 0:1::/32 0:2::/31 0:4::/30 0:8::/29 0:10::/28 0:20::/27 0:40::/26 0:80::/25 0:100::/24 0:200::/23 0:400::/22 0:800::/21 0:1000::/20 0:2000::/19 0:4000::/18 0:8000::/17 1::/16 2::/15 4::/14 8::/13 10::/12 20::/11 40::/10 80::/9 100::/8 200::/7 400::/6 800::/5 1000::/4 2000::/3 4000::/2 8000::/1]"},
	}
	for _, tt := range tests {
		if got := prefixesString(tt.r.Prefixes()); got != tt.want {
			t.Errorf("%v.Prefixes() = %s\nwant %s", tt.r, got, tt.want)
		}
	}
}

func TestMergeRanges(t *testing.T) {
	got := MergeRanges([]Range{
		rg("10.0.0.20", "10.0.0.30"),
		rg("2001:db8::5", "2001:db8::9"),
		rg("10.0.0.1", "10.0.0.10"),
		rg("10.0.0.11", "10.0.0.12"), // adjacent
		rg("10.0.0.25", "10.0.0.40"), // overlapping
		rg("2001:db8::1", "2001:db8::4"),
		rg("10.0.0.50", "10.0.0.40"), // invalid, dropped
		rg("255.255.255.250", "255.255.255.255"),
		rg("255.255.255.255", "255.255.255.255"),
	})
	want := "[10.0.0.1-10.0.0.12 10.0.0.20-10.0.0.40 255.255.255.250-255.255.255.255 2001:db8::1-2001:db8::9]"
	if s := rangesString(got); s != want {
		t.Errorf("MergeRanges = %s\nwant %s", s, want)
	}
	if len(MergeRanges(nil)) != 0 {
		t.Error("MergeRanges(nil)")
	}
}

func TestSubtract(t *testing.T) {
	pools := []Range{rg("10.0.0.2", "10.0.0.254"), rg("10.0.1.5", "10.0.1.5")}
	tests := []struct {
		a    string
		want string
	}{
		{"10.0.0.2", "[10.0.0.3-10.0.0.254 10.0.1.5-10.0.1.5]"},
		{"10.0.0.254", "[10.0.0.2-10.0.0.253 10.0.1.5-10.0.1.5]"},
		{"10.0.0.128", "[10.0.0.2-10.0.0.127 10.0.0.129-10.0.0.254 10.0.1.5-10.0.1.5]"},
		{"10.0.1.5", "[10.0.0.2-10.0.0.254]"},
		{"10.0.0.1", "[10.0.0.2-10.0.0.254 10.0.1.5-10.0.1.5]"},
		{"::ffff:10.0.0.128", "[10.0.0.2-10.0.0.254 10.0.1.5-10.0.1.5]"},
	}
	for _, tt := range tests {
		if got := rangesString(Subtract(pools, ip(tt.a))); got != tt.want {
			t.Errorf("Subtract(%s) = %s, want %s", tt.a, got, tt.want)
		}
	}
	if got := rangesString(Subtract([]Range{rg("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}, ip("::"))); got != "[::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]" {
		t.Errorf("Subtract(::) = %s", got)
	}
}

func TestSubtractRanges(t *testing.T) {
	tests := []struct {
		from, cut []Range
		want      string
	}{
		{[]Range{rg("10.0.0.0", "10.0.0.255")}, []Range{rg("10.0.0.10", "10.0.0.20"), rg("10.0.0.0", "10.0.0.0")}, "[10.0.0.1-10.0.0.9 10.0.0.21-10.0.0.255]"},
		{[]Range{rg("10.0.0.0", "10.0.0.255")}, []Range{rg("9.0.0.0", "11.0.0.0")}, "[]"},
		{[]Range{rg("10.0.0.0", "10.0.0.255"), rg("10.0.2.0", "10.0.2.255")}, []Range{rg("10.0.0.128", "10.0.2.127")}, "[10.0.0.0-10.0.0.127 10.0.2.128-10.0.2.255]"},
		{[]Range{rg("10.0.0.0", "10.0.0.255"), rg("2001:db8::", "2001:db8::ff")}, []Range{rg("2001:db8::10", "2001:db8::1f")}, "[10.0.0.0-10.0.0.255 2001:db8::-2001:db8::f 2001:db8::20-2001:db8::ff]"},
		{[]Range{rg("2001:db8::", "2001:db8::ff")}, []Range{rg("10.0.0.0", "10.0.0.255")}, "[2001:db8::-2001:db8::ff]"},
		{[]Range{rg("0.0.0.0", "255.255.255.255")}, []Range{rg("255.255.255.255", "255.255.255.255")}, "[0.0.0.0-255.255.255.254]"},
		{nil, []Range{rg("10.0.0.0", "10.0.0.1")}, "[]"},
	}
	for _, tt := range tests {
		if got := rangesString(SubtractRanges(tt.from, tt.cut)); got != tt.want {
			t.Errorf("SubtractRanges(%s, %s) = %s, want %s", rangesString(tt.from), rangesString(tt.cut), got, tt.want)
		}
	}
}

func TestParsePools(t *testing.T) {
	got, err := ParsePools([]Pool{{"10.0.0.2", "10.0.0.100"}, {"2001:DB8::2", "2001:db8::ff"}, {"10.0.0.5", "10.0.0.5"}})
	if err != nil || rangesString(got) != "[10.0.0.2-10.0.0.100 2001:db8::2-2001:db8::ff 10.0.0.5-10.0.0.5]" {
		t.Fatalf("ParsePools = %v, %v", got, err)
	}
	const attr = "Invalid input for allocation_pools. Reason: "
	tests := []struct {
		pools       []Pool
		typ, msg    string
		wantSuccess bool
	}{
		// test_create_subnet_bad_pools, test_create_subnet_invalid_allocation_pool_returns_400
		{[]Pool{{"", "10.0.0.254"}}, "HTTPBadRequest", attr + "'' is not a valid IP address.", false},
		{[]Pool{{"1000.0.0.254", ""}}, "HTTPBadRequest", attr + "'1000.0.0.254' is not a valid IP address.", false},
		{[]Pool{{"10.0.0.2", "10.0.0.256"}}, "HTTPBadRequest", attr + "'10.0.0.256' is not a valid IP address.", false},
		// Attribute validation of every pool comes before building ranges.
		{[]Pool{{"10.0.2.10", "10.0.2.5"}, {"10.0.0.2", "x"}}, "HTTPBadRequest", attr + "'x' is not a valid IP address.", false},
		{[]Pool{{"10.0.2.10", "10.0.2.5"}}, "InvalidAllocationPool", "The allocation pool {'start': '10.0.2.10', 'end': '10.0.2.5'} is not valid.", false},
		{[]Pool{{"10.0.0.1", "fe80::1"}}, "InvalidAllocationPool", "The allocation pool {'start': '10.0.0.1', 'end': 'fe80::1'} is not valid.", false},
		{[]Pool{{"2001:DB8::9", "2001:db8::1"}}, "InvalidAllocationPool", "The allocation pool {'start': '2001:db8::9', 'end': '2001:db8::1'} is not valid.", false},
	}
	for _, tt := range tests {
		_, err := ParsePools(tt.pools)
		wantErr(t, err, tt.typ, 400, tt.msg)
	}
	if !slices.Equal(FormatPools(got), []Pool{{"10.0.0.2", "10.0.0.100"}, {"2001:db8::2", "2001:db8::ff"}, {"10.0.0.5", "10.0.0.5"}}) {
		t.Error("FormatPools round trip")
	}
}
