// Package types holds ML2's type drivers: local, flat, vlan, vxlan,
// geneve and gre. A type driver validates provider segments, hands out
// segmentation ids from the configured ranges ([ml2_type_vlan]
// network_vlan_ranges, [ml2_type_vxlan] vni_ranges, [ml2_type_geneve]
// vni_ranges, [ml2_type_gre] tunnel_id_ranges, [ml2_type_flat]
// flat_networks) and computes a segment's MTU from [DEFAULT]
// global_physnet_mtu, [ml2] path_mtu, physical_network_mtus and
// overlay_ip_version, as Neutron's type drivers do.
//
// Allocation state lives in the store (one row per id in use), so a huge
// range costs nothing until used and changing ranges at restart keeps the
// ids existing networks hold.
package types

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Network type names.
const (
	Local  = "local"
	Flat   = "flat"
	VLAN   = "vlan"
	VXLAN  = "vxlan"
	Geneve = "geneve"
	GRE    = "gre"
)

// Segment is one L2 segment of a network.
type Segment struct {
	ID              string
	NetworkID       string
	NetworkType     string
	PhysicalNetwork string // "" when the type has none
	// SegmentationID is the VLAN id, VNI or GRE key; 0 when none.
	SegmentationID int
	// HasSegmentationID tells an id given as 0 from none given.
	HasSegmentationID bool
	Index             int
	IsDynamic         bool
}

// Driver is one network type.
type Driver interface {
	// Type is the network type the driver serves.
	Type() string
	// Validate checks a provider segment an admin asked for.
	Validate(seg Segment) error
	// Reserve takes a provider segment's id, or picks one when the
	// segment leaves it open.
	Reserve(ctx context.Context, tx *store.Tx, seg *Segment) error
	// Allocate gives a project network a segment from the ranges; a
	// NoNetworkAvailable error when none is left.
	Allocate(ctx context.Context, tx *store.Tx) (Segment, error)
	// Release frees a segment of a deleted network.
	Release(ctx context.Context, tx *store.Tx, seg Segment) error
	// MTU is the largest MTU a segment of this type on physnet carries;
	// 0 when the type sets no limit.
	MTU(physnet string) int
}

// RangeAllocator is a type driver whose project segments may come from
// network segment ranges (vlan and the tunnel types): AllocateFrom takes
// a free id of the given ranges, each on its physical network ("" for
// the tunnel types), or returns NoNetworkAvailable.
type RangeAllocator interface {
	AllocateFrom(ctx context.Context, tx *store.Tx, ranges []PhysnetRanges) (Segment, error)
}

// Config is what the type drivers read from the configuration.
type Config struct {
	GlobalPhysnetMTU int
	PathMTU          int
	PhysnetMTUs      map[string]int
	OverlayIPVersion int
	// FlatNetworks are the physical networks flat networks may use; "*"
	// allows any.
	FlatNetworks []string
	// VLANRanges are the VLAN ranges of each physical network, in
	// configuration order; a physical network without ranges serves
	// provider networks only.
	VLANRanges                           []PhysnetRanges
	VXLANRanges, GeneveRanges, GRERanges []store.IDRange
	// GeneveMaxHeaderSize is [ml2_type_geneve] max_header_size.
	GeneveMaxHeaderSize int
}

// PhysnetRanges are the VLAN ranges of one physical network.
type PhysnetRanges struct {
	Physnet string
	Ranges  []store.IDRange
}

// Limits of segmentation ids per type.
const (
	MaxVLAN   = 4094
	MaxVNI    = 1<<24 - 1
	MaxGREKey = 1<<32 - 1
)

// NoNetworkAvailable is neutron-lib's NoNetworkAvailable (503).
func NoNetworkAvailable() error {
	return fault.ServiceUnavailable("NoNetworkAvailable",
		"Unable to create the network. No project network is available for allocation.")
}

// registry holds the type drivers by network type; each registers itself
// from init, as mechanism drivers do.
var registry = map[string]func(Config) Driver{}

// Register adds a type driver constructor for a network type; called from
// init. Registering a type twice panics.
func Register(networkType string, build func(Config) Driver) {
	if _, dup := registry[networkType]; dup {
		panic("ml2/types: type driver " + networkType + " registered twice")
	}
	registry[networkType] = build
}

func init() {
	Register(Local, func(Config) Driver { return local{} })
	Register(Flat, func(cfg Config) Driver { return &flat{cfg: cfg} })
	Register(VLAN, func(cfg Config) Driver { return &vlan{cfg: cfg} })
	Register(VXLAN, func(cfg Config) Driver {
		return &tunnel{typ: VXLAN, max: MaxVNI, ranges: cfg.VXLANRanges, overhead: 30, cfg: cfg}
	})
	Register(Geneve, func(cfg Config) Driver {
		return &tunnel{typ: Geneve, max: MaxVNI, ranges: cfg.GeneveRanges, overhead: cfg.GeneveMaxHeaderSize, cfg: cfg}
	})
	Register(GRE, func(cfg Config) Driver {
		return &tunnel{typ: GRE, max: MaxGREKey, ranges: cfg.GRERanges, overhead: 22, cfg: cfg}
	})
}

// New builds the drivers named in [ml2] type_drivers.
func New(names []string, cfg Config) (map[string]Driver, error) {
	out := map[string]Driver{}
	for _, n := range names {
		build := registry[n]
		if build == nil {
			return nil, fmt.Errorf("unknown network type %q (Neutrino provides %s)", n, strings.Join(slices.Sorted(maps.Keys(registry)), ", "))
		}
		out[n] = build(cfg)
	}
	return out, nil
}

// ParseVLANRanges parses network_vlan_ranges entries
// "<physnet>[:<vlan_min>:<vlan_max>]".
func ParseVLANRanges(entries []string) ([]PhysnetRanges, error) {
	var out []PhysnetRanges
	index := map[string]int{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		parts := strings.Split(e, ":")
		physnet := strings.TrimSpace(parts[0])
		if physnet == "" {
			return nil, fmt.Errorf("Empty physical network name.")
		}
		i, seen := index[physnet]
		if !seen {
			i = len(out)
			index[physnet] = i
			out = append(out, PhysnetRanges{Physnet: physnet})
		}
		switch len(parts) {
		case 1:
		case 3:
			lo, err1 := strconv.Atoi(strings.TrimSpace(parts[1]))
			hi, err2 := strconv.Atoi(strings.TrimSpace(parts[2]))
			if err1 != nil || err2 != nil {
				return nil, vlanRangeError(e, "invalid literal for int()")
			}
			for _, v := range []int{lo, hi} {
				if v < 1 || v > MaxVLAN {
					return nil, vlanRangeError(e, fmt.Sprintf("%d is not a valid VLAN tag", v))
				}
			}
			if hi < lo {
				return nil, vlanRangeError(e, "End of VLAN range is less than start of VLAN range")
			}
			out[i].Ranges = append(out[i].Ranges, store.IDRange{Min: lo, Max: hi})
		default:
			return nil, vlanRangeError(e, "need more than 2 values to unpack")
		}
	}
	return out, nil
}

func vlanRangeError(entry, reason string) error {
	return fmt.Errorf("Invalid network VLAN range: '%s' - '%s'.", entry, reason)
}

// ParseTunnelRanges parses "<min>:<max>" entries for a tunnel type whose
// ids go up to max.
func ParseTunnelRanges(typ string, entries []string, max int) ([]store.IDRange, error) {
	var out []store.IDRange
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		parts := strings.Split(e, ":")
		if len(parts) != 2 {
			return nil, fmt.Errorf("Invalid network tunnel range: '%s' - need more than 1 value to unpack.", e)
		}
		lo, err1 := strconv.Atoi(strings.TrimSpace(parts[0]))
		hi, err2 := strconv.Atoi(strings.TrimSpace(parts[1]))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("Invalid network tunnel range: '%s' - invalid literal for int().", e)
		}
		for _, v := range []int{lo, hi} {
			if v < 1 || v > max {
				return nil, fmt.Errorf("Invalid network tunnel range: '%s' - %d is not a valid %s identifier.", e, v, typ)
			}
		}
		if hi < lo {
			return nil, fmt.Errorf("Invalid network tunnel range: '%s' - End of tunnel range is less than start of tunnel range.", e)
		}
		out = append(out, store.IDRange{Min: lo, Max: hi})
	}
	return out, nil
}

// ParsePhysnetMTUs parses physical_network_mtus entries "<physnet>:<mtu>".
func ParsePhysnetMTUs(entries []string) (map[string]int, error) {
	out := map[string]int{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		physnet, v, ok := strings.Cut(e, ":")
		mtu, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || strings.TrimSpace(physnet) == "" {
			return nil, fmt.Errorf("[ml2] physical_network_mtus: invalid entry %q, want <physnet>:<mtu>", e)
		}
		out[strings.TrimSpace(physnet)] = mtu
	}
	return out, nil
}

func invalid(format string, args ...any) error {
	return fault.InvalidInput(fmt.Sprintf(format, args...))
}

// prohibited refuses provider attributes a type has no use for.
func prohibited(seg Segment, label string, physnetOK, segIDOK bool) error {
	if !physnetOK && seg.PhysicalNetwork != "" {
		return invalid("%s prohibited for %s provider network", "physical_network", label)
	}
	if !segIDOK && seg.HasSegmentationID && seg.SegmentationID != 0 {
		return invalid("%s prohibited for %s provider network", "segmentation_id", label)
	}
	return nil
}

// physnetMTU is the VLAN and flat drivers' MTU: the smaller of the
// global and the physical network's own.
func physnetMTU(cfg Config, physnet string) int {
	var mtus []int
	if cfg.GlobalPhysnetMTU > 0 {
		mtus = append(mtus, cfg.GlobalPhysnetMTU)
	}
	if m, ok := cfg.PhysnetMTUs[physnet]; ok {
		mtus = append(mtus, m)
	}
	if len(mtus) == 0 {
		return 0
	}
	return slices.Min(mtus)
}

type local struct{}

func (local) Type() string { return Local }
func (local) Validate(seg Segment) error {
	return prohibited(seg, "local", false, false)
}
func (local) Reserve(context.Context, *store.Tx, *Segment) error { return nil }
func (local) Allocate(context.Context, *store.Tx) (Segment, error) {
	return Segment{NetworkType: Local}, nil
}
func (local) Release(context.Context, *store.Tx, Segment) error { return nil }
func (local) MTU(string) int                                    { return 0 }

type flat struct{ cfg Config }

func (d *flat) Type() string { return Flat }

func (d *flat) Validate(seg Segment) error {
	if seg.PhysicalNetwork == "" {
		return invalid("physical_network required for flat provider network")
	}
	if len(d.cfg.FlatNetworks) == 0 {
		return invalid("Flat provider networks are disabled")
	}
	if !slices.Contains(d.cfg.FlatNetworks, "*") && !slices.Contains(d.cfg.FlatNetworks, seg.PhysicalNetwork) {
		return invalid("physical_network '%s' unknown for flat provider network", seg.PhysicalNetwork)
	}
	if seg.HasSegmentationID {
		return invalid("%s prohibited for flat provider network", "segmentation_id")
	}
	return nil
}

func (d *flat) Reserve(ctx context.Context, tx *store.Tx, seg *Segment) error {
	ok, err := tx.ReserveSegmentID(ctx, Flat, seg.PhysicalNetwork, 0)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflict("FlatNetworkInUse",
			"Unable to create the flat network. Physical network %s is in use.", seg.PhysicalNetwork)
	}
	return nil
}

// Allocate: flat networks are never project networks, as in Neutron.
func (d *flat) Allocate(context.Context, *store.Tx) (Segment, error) {
	return Segment{}, NoNetworkAvailable()
}

func (d *flat) Release(ctx context.Context, tx *store.Tx, seg Segment) error {
	return tx.ReleaseSegmentID(ctx, Flat, seg.PhysicalNetwork, 0)
}

func (d *flat) MTU(physnet string) int { return physnetMTU(d.cfg, physnet) }

type vlan struct{ cfg Config }

func (d *vlan) Type() string { return VLAN }

func (d *vlan) ranges(physnet string) ([]store.IDRange, bool) {
	for _, p := range d.cfg.VLANRanges {
		if p.Physnet == physnet {
			return p.Ranges, true
		}
	}
	return nil, false
}

func (d *vlan) Validate(seg Segment) error {
	if seg.PhysicalNetwork != "" {
		if _, ok := d.ranges(seg.PhysicalNetwork); !ok {
			return invalid("physical_network '%s' unknown for VLAN provider network", seg.PhysicalNetwork)
		}
		if seg.HasSegmentationID && (seg.SegmentationID < 1 || seg.SegmentationID > MaxVLAN) {
			return invalid("segmentation_id out of range (%d through %d)", 1, MaxVLAN)
		}
	} else if seg.HasSegmentationID {
		return invalid("segmentation_id requires physical_network for VLAN provider network")
	}
	return nil
}

func (d *vlan) Reserve(ctx context.Context, tx *store.Tx, seg *Segment) error {
	if !seg.HasSegmentationID {
		return d.allocateInto(ctx, tx, seg, seg.PhysicalNetwork)
	}
	ok, err := tx.ReserveSegmentID(ctx, VLAN, seg.PhysicalNetwork, seg.SegmentationID)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflict("VlanIdInUse",
			"Unable to create the network. The VLAN %d on physical network %s is in use.",
			seg.SegmentationID, seg.PhysicalNetwork)
	}
	return nil
}

// allocateInto picks a free VLAN of physnet's ranges at random, or of
// every physical network's in configuration order when physnet is "".
func (d *vlan) allocateInto(ctx context.Context, tx *store.Tx, seg *Segment, physnet string) error {
	for _, p := range d.cfg.VLANRanges {
		if physnet != "" && p.Physnet != physnet {
			continue
		}
		id, ok, err := tx.AllocateSegmentID(ctx, VLAN, p.Physnet, p.Ranges)
		if err != nil {
			return err
		}
		if ok {
			seg.PhysicalNetwork, seg.SegmentationID, seg.HasSegmentationID = p.Physnet, id, true
			return nil
		}
	}
	return NoNetworkAvailable()
}

// AllocateFrom implements RangeAllocator.
func (d *vlan) AllocateFrom(ctx context.Context, tx *store.Tx, ranges []PhysnetRanges) (Segment, error) {
	for _, p := range ranges {
		id, ok, err := tx.AllocateSegmentID(ctx, VLAN, p.Physnet, p.Ranges)
		if err != nil {
			return Segment{}, err
		}
		if ok {
			return Segment{NetworkType: VLAN, PhysicalNetwork: p.Physnet, SegmentationID: id, HasSegmentationID: true}, nil
		}
	}
	return Segment{}, NoNetworkAvailable()
}

func (d *vlan) Allocate(ctx context.Context, tx *store.Tx) (Segment, error) {
	seg := Segment{NetworkType: VLAN}
	err := d.allocateInto(ctx, tx, &seg, "")
	return seg, err
}

func (d *vlan) Release(ctx context.Context, tx *store.Tx, seg Segment) error {
	return tx.ReleaseSegmentID(ctx, VLAN, seg.PhysicalNetwork, seg.SegmentationID)
}

func (d *vlan) MTU(physnet string) int { return physnetMTU(d.cfg, physnet) }

// tunnel serves the overlay types (vxlan, geneve, gre): one id space
// without physical networks.
type tunnel struct {
	typ      string
	max      int
	ranges   []store.IDRange
	overhead int
	cfg      Config
}

func (d *tunnel) Type() string { return d.typ }

func (d *tunnel) Validate(seg Segment) error {
	if seg.PhysicalNetwork != "" {
		return invalid("provider:physical_network specified for %s network", d.typ)
	}
	if seg.HasSegmentationID && (seg.SegmentationID < 1 || seg.SegmentationID > d.max) {
		return invalid("%d is not a valid %s identifier", seg.SegmentationID, d.typ)
	}
	return nil
}

func (d *tunnel) Reserve(ctx context.Context, tx *store.Tx, seg *Segment) error {
	if !seg.HasSegmentationID {
		s, err := d.Allocate(ctx, tx)
		if err != nil {
			return err
		}
		seg.SegmentationID, seg.HasSegmentationID = s.SegmentationID, true
		return nil
	}
	ok, err := tx.ReserveSegmentID(ctx, d.typ, "", seg.SegmentationID)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflict("TunnelIdInUse", "Unable to create the network. The tunnel ID %d is in use.", seg.SegmentationID)
	}
	return nil
}

func (d *tunnel) Allocate(ctx context.Context, tx *store.Tx) (Segment, error) {
	id, ok, err := tx.AllocateSegmentID(ctx, d.typ, "", d.ranges)
	if err != nil {
		return Segment{}, err
	}
	if !ok {
		return Segment{}, NoNetworkAvailable()
	}
	return Segment{NetworkType: d.typ, SegmentationID: id, HasSegmentationID: true}, nil
}

// AllocateFrom implements RangeAllocator: the ranges' physical networks
// are all "".
func (d *tunnel) AllocateFrom(ctx context.Context, tx *store.Tx, ranges []PhysnetRanges) (Segment, error) {
	var all []store.IDRange
	for _, p := range ranges {
		all = append(all, p.Ranges...)
	}
	id, ok, err := tx.AllocateSegmentID(ctx, d.typ, "", all)
	if err != nil {
		return Segment{}, err
	}
	if !ok {
		return Segment{}, NoNetworkAvailable()
	}
	return Segment{NetworkType: d.typ, SegmentationID: id, HasSegmentationID: true}, nil
}

// DefaultRanges are the configured ranges of the types that take network
// segment ranges, by type: Neutron's default network segment ranges.
func DefaultRanges(loaded []string, cfg Config) map[string][]PhysnetRanges {
	out := map[string][]PhysnetRanges{}
	for _, t := range loaded {
		switch t {
		case VLAN:
			for _, p := range cfg.VLANRanges {
				if len(p.Ranges) > 0 {
					out[t] = append(out[t], p)
				}
			}
		case VXLAN, Geneve, GRE:
			rs := map[string][]store.IDRange{VXLAN: cfg.VXLANRanges, Geneve: cfg.GeneveRanges, GRE: cfg.GRERanges}[t]
			if len(rs) > 0 {
				out[t] = []PhysnetRanges{{Ranges: rs}}
			}
		}
	}
	return out
}

func (d *tunnel) Release(ctx context.Context, tx *store.Tx, seg Segment) error {
	return tx.ReleaseSegmentID(ctx, d.typ, "", seg.SegmentationID)
}

// MTU is the underlay's (global_physnet_mtu, path_mtu) less the outer IP
// header and the encapsulation header.
func (d *tunnel) MTU(string) int {
	var mtus []int
	if d.cfg.GlobalPhysnetMTU > 0 {
		mtus = append(mtus, d.cfg.GlobalPhysnetMTU)
	}
	if d.cfg.PathMTU > 0 {
		mtus = append(mtus, d.cfg.PathMTU)
	}
	if len(mtus) == 0 {
		return 0
	}
	ipHeader := 20
	if d.cfg.OverlayIPVersion == 6 {
		ipHeader = 40
	}
	return slices.Min(mtus) - ipHeader - d.overhead
}
