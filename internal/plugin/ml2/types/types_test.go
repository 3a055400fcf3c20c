package types_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestParseVLANRanges(t *testing.T) {
	tests := []struct {
		in      []string
		want    string // physnet:ranges rendered
		wantErr string
	}{
		{[]string{"physnet1:100:200", "physnet2", "physnet1:300:301"}, "physnet1[{100 200} {300 301}] physnet2[]", ""},
		{[]string{" physnet1 : 1 : 4094 "}, "physnet1[{1 4094}]", ""},
		{[]string{"physnet1:0:10"}, "", "0 is not a valid VLAN tag"},
		{[]string{"physnet1:10:4095"}, "", "4095 is not a valid VLAN tag"},
		{[]string{"physnet1:20:10"}, "", "End of VLAN range is less than start of VLAN range"},
		{[]string{"physnet1:10"}, "", "Invalid network VLAN range: 'physnet1:10'"},
		{[]string{"physnet1:a:b"}, "", "invalid literal"},
		{[]string{":1:2"}, "", "Empty physical network name."},
	}
	for _, tt := range tests {
		got, err := types.ParseVLANRanges(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseVLANRanges(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseVLANRanges(%q): %v", tt.in, err)
		}
		var parts []string
		for _, p := range got {
			parts = append(parts, p.Physnet+fmtRanges(p.Ranges))
		}
		if s := strings.Join(parts, " "); s != tt.want {
			t.Errorf("ParseVLANRanges(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func fmtRanges(rs []store.IDRange) string {
	var b strings.Builder
	b.WriteString("[")
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("{" + itoa(r.Min) + " " + itoa(r.Max) + "}")
	}
	b.WriteString("]")
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseTunnelRanges(t *testing.T) {
	tests := []struct {
		typ     string
		max     int
		in      []string
		want    string
		wantErr string
	}{
		{types.VXLAN, types.MaxVNI, []string{"1:1000", "2000:2001"}, "[{1 1000} {2000 2001}]", ""},
		{types.VXLAN, types.MaxVNI, []string{"1:16777215"}, "[{1 16777215}]", ""},
		{types.VXLAN, types.MaxVNI, []string{"1:16777216"}, "", "16777216 is not a valid vxlan identifier"},
		{types.GRE, types.MaxGREKey, []string{"1:4294967295"}, "[{1 4294967295}]", ""},
		{types.Geneve, types.MaxVNI, []string{"10:5"}, "", "End of tunnel range is less than start of tunnel range"},
		{types.VXLAN, types.MaxVNI, []string{"5"}, "", "Invalid network tunnel range: '5'"},
		{types.VXLAN, types.MaxVNI, []string{"0:5"}, "", "0 is not a valid vxlan identifier"},
	}
	for _, tt := range tests {
		got, err := types.ParseTunnelRanges(tt.typ, tt.in, tt.max)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTunnelRanges(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseTunnelRanges(%q): %v", tt.in, err)
		}
		if s := fmtRanges(got); s != tt.want {
			t.Errorf("ParseTunnelRanges(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestParsePhysnetMTUs(t *testing.T) {
	got, err := types.ParsePhysnetMTUs([]string{"physnet1:9000", " physnet2 : 1400 "})
	if err != nil || got["physnet1"] != 9000 || got["physnet2"] != 1400 || len(got) != 2 {
		t.Fatalf("ParsePhysnetMTUs = %v, %v", got, err)
	}
	for _, bad := range []string{"physnet1", "physnet1:x", ":1500"} {
		if _, err := types.ParsePhysnetMTUs([]string{bad}); err == nil {
			t.Errorf("ParsePhysnetMTUs(%q) accepted", bad)
		}
	}
}

func TestMTU(t *testing.T) {
	base := types.Config{GlobalPhysnetMTU: 1500, OverlayIPVersion: 4, GeneveMaxHeaderSize: 30,
		PhysnetMTUs: map[string]int{"jumbo": 9000, "small": 1400}}
	with := func(f func(*types.Config)) types.Config { c := base; f(&c); return c }
	tests := []struct {
		name    string
		cfg     types.Config
		typ     string
		physnet string
		want    int
	}{
		{"vxlan", base, types.VXLAN, "", 1450},
		{"geneve", base, types.Geneve, "", 1450},
		{"geneve bigger header", with(func(c *types.Config) { c.GeneveMaxHeaderSize = 50 }), types.Geneve, "", 1430},
		{"gre", base, types.GRE, "", 1458},
		{"vxlan over ipv6", with(func(c *types.Config) { c.OverlayIPVersion = 6 }), types.VXLAN, "", 1430},
		{"vxlan path_mtu smaller", with(func(c *types.Config) { c.PathMTU = 1400 }), types.VXLAN, "", 1350},
		{"vxlan path_mtu larger", with(func(c *types.Config) { c.PathMTU = 9000 }), types.VXLAN, "", 1450},
		{"vxlan jumbo global", with(func(c *types.Config) { c.GlobalPhysnetMTU = 9000 }), types.VXLAN, "", 8950},
		{"vlan", base, types.VLAN, "physnet1", 1500},
		{"vlan small physnet", base, types.VLAN, "small", 1400},
		{"vlan jumbo physnet capped by global", base, types.VLAN, "jumbo", 1500},
		{"flat small physnet", base, types.Flat, "small", 1400},
		{"local", base, types.Local, "", 0},
	}
	for _, tt := range tests {
		ds, err := types.New([]string{tt.typ}, tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := ds[tt.typ].MTU(tt.physnet); got != tt.want {
			t.Errorf("%s: MTU = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	cfg := types.Config{FlatNetworks: []string{"physnet1"},
		VLANRanges: []types.PhysnetRanges{{Physnet: "physnet1", Ranges: []store.IDRange{{Min: 100, Max: 200}}}, {Physnet: "provider"}}}
	noFlat := cfg
	noFlat.FlatNetworks = nil
	anyFlat := cfg
	anyFlat.FlatNetworks = []string{"*"}
	seg := func(typ, physnet string, segID int, has bool) types.Segment {
		return types.Segment{NetworkType: typ, PhysicalNetwork: physnet, SegmentationID: segID, HasSegmentationID: has}
	}
	tests := []struct {
		name string
		cfg  types.Config
		seg  types.Segment
		want string // "" valid, else part of the message
	}{
		{"flat ok", cfg, seg(types.Flat, "physnet1", 0, false), ""},
		{"flat any", anyFlat, seg(types.Flat, "whatever", 0, false), ""},
		{"flat no physnet", cfg, seg(types.Flat, "", 0, false), "physical_network required for flat provider network"},
		{"flat disabled", noFlat, seg(types.Flat, "physnet1", 0, false), "Flat provider networks are disabled"},
		{"flat unknown", cfg, seg(types.Flat, "other", 0, false), "physical_network 'other' unknown for flat provider network"},
		{"flat with id", cfg, seg(types.Flat, "physnet1", 5, true), "segmentation_id prohibited for flat provider network"},
		{"vlan ok", cfg, seg(types.VLAN, "physnet1", 101, true), ""},
		{"vlan outside ranges", cfg, seg(types.VLAN, "provider", 4094, true), ""},
		{"vlan partial", cfg, seg(types.VLAN, "physnet1", 0, false), ""},
		{"vlan no physnet", cfg, seg(types.VLAN, "", 0, false), ""},
		{"vlan unknown physnet", cfg, seg(types.VLAN, "other", 5, true), "physical_network 'other' unknown for VLAN provider network"},
		{"vlan id 0", cfg, seg(types.VLAN, "physnet1", 0, true), "segmentation_id out of range (1 through 4094)"},
		{"vlan id 4095", cfg, seg(types.VLAN, "physnet1", 4095, true), "segmentation_id out of range (1 through 4094)"},
		{"vlan id without physnet", cfg, seg(types.VLAN, "", 5, true), "segmentation_id requires physical_network for VLAN provider network"},
		{"vxlan ok", cfg, seg(types.VXLAN, "", 16777215, true), ""},
		{"vxlan physnet", cfg, seg(types.VXLAN, "physnet1", 0, false), "provider:physical_network specified for vxlan network"},
		{"vxlan too big", cfg, seg(types.VXLAN, "", 16777216, true), "16777216 is not a valid vxlan identifier"},
		{"gre big key", cfg, seg(types.GRE, "", 1<<31, true), ""},
		{"local", cfg, seg(types.Local, "", 0, false), ""},
		{"local with physnet", cfg, seg(types.Local, "p", 0, false), "physical_network prohibited for local provider network"},
	}
	for _, tt := range tests {
		ds, err := types.New([]string{tt.seg.NetworkType}, tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = ds[tt.seg.NetworkType].Validate(tt.seg)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !fault.Is(err, "InvalidInput") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want InvalidInput %q", tt.name, err, tt.want)
		}
	}
}

// forEngines runs f on a migrated store per engine.
func forEngines(t *testing.T, f func(t *testing.T, s *store.Store)) {
	for _, e := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "n.sqlite") }},
		{"postgresql", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := store.Open(ctx, e.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			f(t, s)
		})
	}
}

func TestAllocation(t *testing.T) {
	forEngines(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cfg := types.Config{VXLANRanges: []store.IDRange{{Min: 1, Max: 3}, {Min: 10, Max: 10}},
			VLANRanges: []types.PhysnetRanges{{Physnet: "a", Ranges: []store.IDRange{{Min: 100, Max: 100}}},
				{Physnet: "b", Ranges: []store.IDRange{{Min: 7, Max: 8}}}}}
		ds, err := types.New([]string{types.VXLAN, types.VLAN, types.Flat, types.GRE}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		write := func(f func(tx *store.Tx) error) error { return s.Write(ctx, f) }
		alloc := func(typ string) (types.Segment, error) {
			var seg types.Segment
			err := write(func(tx *store.Tx) error {
				var err error
				seg, err = ds[typ].Allocate(ctx, tx)
				return err
			})
			return seg, err
		}
		var got []int
		for range 4 {
			seg, err := alloc(types.VXLAN)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, seg.SegmentationID)
		}
		// Random picks, as Neutron's: the set is the ranges, the order any.
		if slices.Sort(got); !equal(got, []int{1, 2, 3, 10}) {
			t.Fatalf("vxlan allocations = %v, want 1 2 3 10 in any order", got)
		}
		if _, err := alloc(types.VXLAN); !fault.Is(err, "NoNetworkAvailable") {
			t.Fatalf("exhausted: %v, want NoNetworkAvailable", err)
		}
		if err := write(func(tx *store.Tx) error {
			return ds[types.VXLAN].Release(ctx, tx, types.Segment{NetworkType: types.VXLAN, SegmentationID: 2})
		}); err != nil {
			t.Fatal(err)
		}
		if seg, err := alloc(types.VXLAN); err != nil || seg.SegmentationID != 2 {
			t.Fatalf("after release: %+v %v, want 2", seg, err)
		}
		// Provider ids: taken ones conflict, ids outside the ranges are fine.
		reserve := func(seg types.Segment) error {
			return write(func(tx *store.Tx) error { return ds[seg.NetworkType].Reserve(ctx, tx, &seg) })
		}
		if err := reserve(types.Segment{NetworkType: types.VXLAN, SegmentationID: 3, HasSegmentationID: true}); !fault.Is(err, "TunnelIdInUse") {
			t.Fatalf("reserve taken vni: %v", err)
		}
		if err := reserve(types.Segment{NetworkType: types.VXLAN, SegmentationID: 5000, HasSegmentationID: true}); err != nil {
			t.Fatalf("reserve vni outside ranges: %v", err)
		}
		// VLAN: physnets in configuration order.
		var vlans []string
		for range 3 {
			seg, err := alloc(types.VLAN)
			if err != nil {
				t.Fatal(err)
			}
			vlans = append(vlans, seg.PhysicalNetwork+":"+itoa(seg.SegmentationID))
		}
		// Physical networks in configuration order, ids at random within one.
		if vlans[0] != "a:100" || !(strings.Join(vlans[1:], ",") == "b:7,b:8" || strings.Join(vlans[1:], ",") == "b:8,b:7") {
			t.Fatalf("vlan allocations = %v", vlans)
		}
		if _, err := alloc(types.VLAN); !fault.Is(err, "NoNetworkAvailable") {
			t.Fatalf("vlan exhausted: %v", err)
		}
		if err := reserve(types.Segment{NetworkType: types.VLAN, PhysicalNetwork: "b", SegmentationID: 7, HasSegmentationID: true}); !fault.Is(err, "VlanIdInUse") ||
			!strings.Contains(err.Error(), "The VLAN 7 on physical network b is in use.") {
			t.Fatalf("reserve taken vlan: %v", err)
		}
		if err := reserve(types.Segment{NetworkType: types.VLAN, PhysicalNetwork: "a", SegmentationID: 7, HasSegmentationID: true}); err != nil {
			t.Fatalf("same vlan on another physnet: %v", err)
		}
		// GRE keys use all 32 bits.
		if err := reserve(types.Segment{NetworkType: types.GRE, SegmentationID: types.MaxGREKey, HasSegmentationID: true}); err != nil {
			t.Fatalf("largest GRE key: %v", err)
		}
		if err := reserve(types.Segment{NetworkType: types.GRE, SegmentationID: types.MaxGREKey, HasSegmentationID: true}); !fault.Is(err, "TunnelIdInUse") {
			t.Fatalf("largest GRE key again: %v", err)
		}
		if err := reserve(types.Segment{NetworkType: types.Flat, PhysicalNetwork: "a"}); err != nil {
			t.Fatal(err)
		}
		if err := reserve(types.Segment{NetworkType: types.Flat, PhysicalNetwork: "a"}); !fault.Is(err, "FlatNetworkInUse") {
			t.Fatalf("second flat network on a physnet: %v", err)
		}
	})
}

// TestHugeRange shows a full 24-bit VNI range costs nothing up front:
// allocation is immediate and stores only the ids in use.
func TestHugeRange(t *testing.T) {
	forEngines(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ds, err := types.New([]string{types.VXLAN}, types.Config{VXLANRanges: []store.IDRange{{Min: 1, Max: types.MaxVNI}}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		seen := map[int]bool{}
		for i := 1; i <= 50; i++ {
			var seg types.Segment
			if err := s.Write(ctx, func(tx *store.Tx) error {
				var err error
				seg, err = ds[types.VXLAN].Allocate(ctx, tx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if seg.SegmentationID < 1 || seg.SegmentationID > types.MaxVNI || seen[seg.SegmentationID] {
				t.Fatalf("allocation %d got vni %d (seen before: %v)", i, seg.SegmentationID, seen[seg.SegmentationID])
			}
			seen[seg.SegmentationID] = true
		}
		// Generous bound: millions of pre-populated rows would take
		// minutes; 50 allocations take milliseconds.
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("50 allocations from a 16M range took %v", d)
		}
		var n int
		if err := s.Read(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.CountWhere(ctx, "ml2_segment_allocations", map[string]any{"network_type": types.VXLAN})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n != 50 {
			t.Fatalf("%d allocation rows, want 50", n)
		}
	})
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
