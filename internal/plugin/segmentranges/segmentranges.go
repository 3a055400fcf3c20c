// Package segmentranges is the network_segment_range service plugin
// (Neutron's NetworkSegmentRangePlugin): /v2.0/network_segment_ranges,
// the ranges of segmentation ids project networks take theirs from.
//
// At start the plugin makes the default ranges, shared, from the ML2
// type drivers' configured ranges ([ml2_type_vlan] network_vlan_ranges,
// [ml2_type_vxlan] vni_ranges, ...), replacing the defaults of an earlier
// configuration. Admins add shared ranges and ranges of one project. Once
// the plugin is loaded, ML2 gives a project network an id from the
// project's own ranges first, then from the shared ranges less the ids of
// other projects' ranges, as Neutron's type drivers do.
package segmentranges

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/plugin/registry"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

func init() {
	registry.RegisterService(registry.Descriptor{
		Name:       "network_segment_range",
		Aliases:    []string{"neutron.services.network_segment_range.plugin.NetworkSegmentRangePlugin"},
		Extensions: []string{"network-segment-range"},
		Configure: func(_ *config.Config, logger *slog.Logger) (registry.Build, error) {
			return func(env registry.Env) (registry.Plugin, error) {
				return New(env.Store, env.Defs, logger), nil
			}, nil
		},
	})
}

// Plugin serves network segment ranges and chooses project networks'
// ranges for ML2.
type Plugin struct {
	store *store.Store
	def   *resource.Resource
	h     *generic.Handler
	ml2   *ml2.Plugin
	log   *slog.Logger
}

var (
	_ registry.Wirer    = (*Plugin)(nil)
	_ ml2.SegmentRanges = (*Plugin)(nil)
)

// New builds the plugin over the served definitions.
func New(s *store.Store, defs map[string]*resource.Resource, logger *slog.Logger) *Plugin {
	if logger == nil {
		logger = slog.Default()
	}
	p := &Plugin{store: s, def: defs[apidef.NetworkSegmentRanges], log: logger}
	if p.def != nil {
		p.h = generic.New(p.def, s, generic.Hooks{
			NotFound:     notFound,
			BeforeCreate: p.beforeCreate,
			BeforeUpdate: p.beforeUpdate,
			BeforeDelete: p.beforeDelete,
			AfterRead:    p.afterRead,
		})
	}
	return p
}

// Handlers implements registry.Plugin.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	if p.h == nil {
		return nil
	}
	return map[string]plugin.Handler{apidef.NetworkSegmentRanges: p.h}
}

// Wire implements registry.Wirer: the plugin makes the default ranges
// from ML2's configuration and takes over ML2's choice of project ids.
func (p *Plugin) Wire(all registry.Set) error {
	m, ok := registry.Find[*ml2.Plugin](all)
	if !ok {
		return errors.New("network_segment_range: the core plugin is not ML2")
	}
	p.ml2 = m
	if p.def == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.syncDefaults(ctx); err != nil {
		return fmt.Errorf("network_segment_range: default ranges: %w", err)
	}
	m.SetSegmentRanges(p)
	return nil
}

func notFound(id string) error {
	return fault.NotFound("NetworkSegmentRangeNotFound", fmt.Sprintf("Network Segment Range %s could not be found.", id))
}

// rangeRow is a range as the plugin reasons about it.
type rangeRow struct {
	id, project, networkType, physnet string
	isDefault, shared                 bool
	min, max                          int
}

func rowOf(o *resource.Object) rangeRow {
	return rangeRow{id: o.ID(), project: o.String("project_id"), networkType: o.String("network_type"),
		physnet: o.String("physical_network"), isDefault: o.Bool("is_default"), shared: o.Bool("shared"),
		min: o.Int("minimum"), max: o.Int("maximum")}
}

// ranges reads the ranges of networkType.
func (p *Plugin) ranges(ctx context.Context, tx *store.Tx, networkType string) ([]rangeRow, error) {
	objs, err := tx.List(ctx, p.def, &resource.Query{Filters: []resource.Filter{{Attr: p.def.Attr("network_type"), Values: []any{networkType}}},
		Sorts: []resource.SortKey{{Attr: p.def.Attr("id")}}})
	if err != nil {
		return nil, fmt.Errorf("read %s segment ranges: %w", networkType, err)
	}
	out := make([]rangeRow, len(objs))
	for i, o := range objs {
		out[i] = rowOf(o)
	}
	return out, nil
}

// defaultID names a default range by what it covers, so that servers
// starting together make each default once.
func defaultID(networkType, physnet string, r store.IDRange) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "neutrino-segment-range:%s:%s:%d:%d", networkType, physnet, r.Min, r.Max)).String()
}

// syncDefaults makes the configured default ranges and removes the
// defaults of an earlier configuration, as Neutron's
// initialize_network_segment_range_support does at start.
func (p *Plugin) syncDefaults(ctx context.Context) error {
	want := map[string]rangeRow{}
	for t, sets := range p.ml2.DefaultRanges() {
		for _, set := range sets {
			for _, r := range set.Ranges {
				id := defaultID(t, set.Physnet, r)
				want[id] = rangeRow{id: id, networkType: t, physnet: set.Physnet, isDefault: true, shared: true, min: r.Min, max: r.Max}
			}
		}
	}
	return p.store.Write(ctx, func(tx *store.Tx) error {
		have := map[string]bool{}
		for _, t := range apidef.SegmentRangeTypes {
			rows, err := p.ranges(ctx, tx, t)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if !r.isDefault {
					continue
				}
				if _, keep := want[r.id]; keep {
					have[r.id] = true
					continue
				}
				if err := tx.Delete(ctx, p.def, r.id); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		now := time.Now().UTC().Truncate(time.Second)
		for id, r := range want {
			if have[id] {
				continue
			}
			o := resource.New(p.def)
			for k, v := range map[string]any{"id": id, "name": "", "is_default": true, "shared": true, "project_id": "",
				"network_type": r.networkType, "physical_network": r.physnet, "minimum": r.min, "maximum": r.max,
				"description": "", "created_at": now, "updated_at": now, "revision_number": 0} {
				if p.def.Attr(k) != nil {
					o.Set(k, v)
				}
			}
			if err := tx.Insert(ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// Candidates implements ml2.SegmentRanges: the project's own ranges of
// networkType, then the shared ranges less the ids of other projects'
// ranges (Neutron's get_segments_for_project and get_segments_shared).
func (p *Plugin) Candidates(ctx context.Context, tx *store.Tx, networkType, project string) ([][]types.PhysnetRanges, error) {
	rows, err := p.ranges(ctx, tx, networkType)
	if err != nil {
		return nil, err
	}
	var own, shared []types.PhysnetRanges
	others := map[string][]store.IDRange{}
	for _, r := range rows {
		switch {
		case r.shared:
			shared = addRange(shared, r.physnet, store.IDRange{Min: r.min, Max: r.max})
		case r.project == project && project != "":
			own = addRange(own, r.physnet, store.IDRange{Min: r.min, Max: r.max})
		default:
			others[r.physnet] = append(others[r.physnet], store.IDRange{Min: r.min, Max: r.max})
		}
	}
	for i := range shared {
		shared[i].Ranges = subtract(shared[i].Ranges, others[shared[i].Physnet])
	}
	var out [][]types.PhysnetRanges
	if len(own) > 0 {
		out = append(out, own)
	}
	if len(shared) > 0 {
		out = append(out, shared)
	}
	return out, nil
}

func addRange(sets []types.PhysnetRanges, physnet string, r store.IDRange) []types.PhysnetRanges {
	for i := range sets {
		if sets[i].Physnet == physnet {
			sets[i].Ranges = append(sets[i].Ranges, r)
			return sets
		}
	}
	return append(sets, types.PhysnetRanges{Physnet: physnet, Ranges: []store.IDRange{r}})
}

// subtract removes the ids of cut from ranges.
func subtract(ranges, cut []store.IDRange) []store.IDRange {
	out := slices.Clone(ranges)
	for _, c := range cut {
		var next []store.IDRange
		for _, r := range out {
			if c.Max < r.Min || c.Min > r.Max {
				next = append(next, r)
				continue
			}
			if r.Min < c.Min {
				next = append(next, store.IDRange{Min: r.Min, Max: c.Min - 1})
			}
			if r.Max > c.Max {
				next = append(next, store.IDRange{Min: c.Max + 1, Max: r.Max})
			}
		}
		out = next
	}
	return out
}

// ---- the API ----

func badRange(msg string) error {
	return fault.NeutronBadRequest("network_segment_range", msg)
}

// verify checks a range's ids for its type, as neutron-lib's
// verify_vlan_range and verify_tunnel_range do.
func verify(networkType string, lo, hi int) error {
	rangeText := strconv.Itoa(lo) + ":" + strconv.Itoa(hi)
	if networkType == types.VLAN {
		for _, v := range []int{lo, hi} {
			if v < 1 || v > types.MaxVLAN {
				return fault.New(400, "NetworkVlanRangeError", "Invalid network VLAN range: '%s' - '%d is not a valid VLAN tag'.", rangeText, v)
			}
		}
		if hi < lo {
			return fault.New(400, "NetworkVlanRangeError", "Invalid network VLAN range: '%s' - 'End of VLAN range is less than start of VLAN range'.", rangeText)
		}
		return nil
	}
	max := map[string]int{types.VXLAN: types.MaxVNI, types.Geneve: types.MaxVNI, types.GRE: types.MaxGREKey}[networkType]
	for _, v := range []int{lo, hi} {
		if v < 1 || v > max {
			return fault.New(400, "NetworkTunnelRangeError", "Invalid network tunnel range: '%s' - %d is not a valid %s identifier.", rangeText, v, networkType)
		}
	}
	if hi < lo {
		return fault.New(400, "NetworkTunnelRangeError", "Invalid network tunnel range: '%s' - End of tunnel range is less than start of tunnel range.", rangeText)
	}
	return nil
}

// overlapping refuses a range overlapping another non-default range of
// the same type and physical network.
func (p *Plugin) overlapping(ctx context.Context, tx *store.Tx, r rangeRow) error {
	rows, err := p.ranges(ctx, tx, r.networkType)
	if err != nil {
		return err
	}
	var ids []string
	for _, o := range rows {
		if o.isDefault || o.id == r.id || o.physnet != r.physnet {
			continue
		}
		if r.min <= o.max && r.max >= o.min {
			ids = append(ids, o.id)
		}
	}
	if len(ids) > 0 {
		return fault.Conflict("NetworkSegmentRangeOverlaps", "Network segment range overlaps with range(s) with id %s", joinIDs(ids))
	}
	return nil
}

func joinIDs(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ", "
		}
		out += id
	}
	return out
}

func (p *Plugin) beforeCreate(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	t, _ := o.Get("network_type").(string)
	if t == "" || !p.ml2.TypeLoaded(t) || !slices.Contains(apidef.SegmentRangeTypes, t) {
		return fault.New(400, "NetworkSegmentRangeNetTypeNotSupported", "Network type %s does not support network segment ranges.", pyNone(t))
	}
	physnet := ""
	if t == types.VLAN {
		v, ok := o.Get("physical_network").(string)
		if !ok {
			return badRange("Network type vlan requires 'physical_network' to be specified while creating new range")
		}
		physnet = v
	}
	o.Set("physical_network", physnet)
	if !o.Has("name") {
		o.Set("name", "")
	}
	o.Set("is_default", false)
	if o.Bool("shared") {
		o.Set("project_id", "")
	} else if o.String("project_id") == "" {
		return fault.New(400, "ObjectActionError", "Object action create failed because: if NetworkSegmentRange is not shared, it must have a project_id.")
	}
	r := rowOf(o)
	if err := verify(t, r.min, r.max); err != nil {
		return err
	}
	return p.overlapping(ctx, tx, r)
}

func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func (p *Plugin) beforeUpdate(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	r := rowOf(old)
	if r.isDefault {
		return fault.New(400, "NetworkSegmentRangeDefaultReadOnly",
			"Network Segment Range %s is a default segment range which could not be updated or deleted.", r.id)
	}
	next := r
	if patch.Has("minimum") {
		next.min = patch.Int("minimum")
	}
	if patch.Has("maximum") {
		next.max = patch.Int("maximum")
	}
	// Neutron's _are_allocated_segments_in_range_impacted, as it is: with
	// any id of the range in use, the new bounds must stay strictly
	// outside the lowest and highest ids used.
	used, err := tx.SegmentsInRange(ctx, r.networkType, r.physnet, r.min, r.max)
	if err != nil {
		return err
	}
	if len(used) > 0 {
		lo, hi := minMax(used)
		if next.min >= lo || next.max <= hi {
			return inUse(r.id)
		}
	}
	if err := verify(r.networkType, next.min, next.max); err != nil {
		return err
	}
	return p.overlapping(ctx, tx, next)
}

func minMax(used map[int]string) (lo, hi int) {
	first := true
	for id := range used {
		if first || id < lo {
			lo = id
		}
		if first || id > hi {
			hi = id
		}
		first = false
	}
	return lo, hi
}

func inUse(id string) error {
	return fault.Conflict("NetworkSegmentRangeReferencedByProject",
		"Network Segment Range %s is referenced by one or more project networks.", id)
}

func (p *Plugin) beforeDelete(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	r := rowOf(o)
	if r.isDefault {
		return fault.New(400, "NetworkSegmentRangeDefaultReadOnly",
			"Network Segment Range %s is a default segment range which could not be updated or deleted.", r.id)
	}
	used, err := tx.SegmentsInRange(ctx, r.networkType, r.physnet, r.min, r.max)
	if err != nil {
		return err
	}
	if len(used) > 0 {
		return inUse(r.id)
	}
	return nil
}

// afterRead shows default, the project of a shared range (none), and
// the range's used and available ids.
func (p *Plugin) afterRead(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	for _, o := range objs {
		r := rowOf(o)
		o.Set("default", r.isDefault)
		if r.shared && o.Resource().Attr("project_id") != nil {
			o.Set("project_id", nil)
		}
		used, err := tx.SegmentsInRange(ctx, r.networkType, r.physnet, r.min, r.max)
		if err != nil {
			return err
		}
		u := make(map[string]any, len(used))
		for id, project := range used {
			u[strconv.Itoa(id)] = project
		}
		o.Set("used", u)
		taken, err := tx.AllocatedSegmentIDs(ctx, r.networkType, r.physnet, r.min, r.max)
		if err != nil {
			return err
		}
		avail := make([]any, 0, max(0, r.max-r.min+1-len(taken)))
		for id := r.min; id <= r.max; id++ {
			if !taken[id] {
				avail = append(avail, id)
			}
		}
		o.Set("available", avail)
	}
	return nil
}
