// Package ml2 is the segment and binding machinery of Neutrino's core
// plugin, after Neutron's ML2: type drivers (package types) give each
// network its segments and MTU; mechanism drivers (package mech) bind
// ports to a segment a host's agent can reach; provisioning blocks hold a
// port DOWN until every entity that wires it (the L2 agent, DHCP) has
// reported; and the functions the L2 agent RPC calls (GetDeviceDetails,
// UpdateDeviceUp, UpdateDeviceDown, HostSnapshot) live here.
//
// The core plugin calls the network and port hooks (BeforeCreateNetwork,
// BeforeCreatePort …) inside its write transactions. Options read:
// [ml2] type_drivers, project_network_types, mechanism_drivers, path_mtu,
// physical_network_mtus, overlay_ip_version, and the [ml2_type_*]
// sections (see package types).
package ml2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Options configure ML2.
type Options struct {
	// TypeDrivers is [ml2] type_drivers.
	TypeDrivers []string
	// ProjectNetworkTypes is [ml2] project_network_types, in the order
	// tried for a network created without provider attributes.
	ProjectNetworkTypes []string
	// MechanismDrivers is [ml2] mechanism_drivers, in binding order.
	MechanismDrivers []string
	// ExtensionDrivers is [ml2] extension_drivers.
	ExtensionDrivers []string
	// Types is the type drivers' configuration.
	Types types.Config
	// Agents finds alive agents for binding; nil means none (SetAgents
	// may set it later).
	Agents mech.AgentLookup
	// Outbox records notifications to agents; nil records none.
	Outbox change.Outbox
	Logger *slog.Logger
}

// Plugin is ML2.
type Plugin struct {
	store     *store.Store
	defs      map[string]*resource.Resource
	types     map[string]types.Driver
	tenant    []string
	drivers   []mech.Driver
	globalMTU int
	log       *slog.Logger
	segmentsH *generic.Handler
	mu        sync.RWMutex
	agents    mech.AgentLookup
	l2pop     bool // l2population is enabled: snapshots carry FDB entries
	mechNames []string
	// qosRules reads QoS policies' rules for port details; nil without
	// the QoS plugin.
	qosRules  func(ctx context.Context, tx *store.Tx, policyIDs []string) (map[string][]rpcapi.QoSRule, error)
	extNames  []string
	outbox    change.Outbox
	status    change.Notifier
	now       func() time.Time
	typeNames []string
	typesCfg  types.Config
	ranges    SegmentRanges
}

// SegmentRanges chooses the segmentation ids a project network may take
// (the network_segment_range service plugin): sets of ranges, tried in
// order, for a network of networkType in project.
type SegmentRanges interface {
	Candidates(ctx context.Context, tx *store.Tx, networkType, project string) ([][]types.PhysnetRanges, error)
}

// SetSegmentRanges makes project networks take their ids from r; nil
// goes back to the configured ranges.
func (p *Plugin) SetSegmentRanges(r SegmentRanges) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ranges = r
}

func (p *Plugin) segmentRanges() SegmentRanges {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.ranges
}

// DefaultRanges are the configured ranges of the loaded type drivers that
// take network segment ranges, by network type.
func (p *Plugin) DefaultRanges() map[string][]types.PhysnetRanges {
	return types.DefaultRanges(p.typeNames, p.typesCfg)
}

// TypeLoaded reports whether networkType's type driver is loaded.
func (p *Plugin) TypeLoaded(networkType string) bool { return p.types[networkType] != nil }

// New builds ML2 over the store and the server's (restricted) resource
// definitions, which must include segments.
func New(s *store.Store, defs map[string]*resource.Resource, opts Options) (*Plugin, error) {
	if defs[apidef.Segments] == nil {
		return nil, errors.New("ml2: the segment extension must be enabled")
	}
	tds, err := types.New(opts.TypeDrivers, opts.Types)
	if err != nil {
		return nil, fmt.Errorf("[ml2] type_drivers: %w", err)
	}
	for _, t := range opts.ProjectNetworkTypes {
		if tds[t] == nil {
			return nil, fmt.Errorf("[ml2] project_network_types: %q is not in [ml2] type_drivers", t)
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	p := &Plugin{store: s, defs: defs, types: tds, tenant: opts.ProjectNetworkTypes,
		globalMTU: opts.Types.GlobalPhysnetMTU, log: logger, agents: opts.Agents, outbox: opts.Outbox, now: time.Now,
		typeNames: opts.TypeDrivers, typesCfg: opts.Types}
	p.l2pop = slices.Contains(opts.MechanismDrivers, "l2population")
	p.mechNames, p.extNames = opts.MechanismDrivers, opts.ExtensionDrivers
	drivers, err := mech.New(opts.MechanismDrivers, mech.Deps{Ports: p})
	if err != nil {
		return nil, fmt.Errorf("[ml2] mechanism_drivers: %w", err)
	}
	p.drivers = drivers
	if defs[apidef.Networks].Attr(apidef.NetworkSegmentRows) != nil {
		s.Relate(apidef.Networks, apidef.NetworkSegmentRows, "segments", "network_id",
			"id", "network_type", "physical_network", "segmentation_id", "segment_index", "is_dynamic")
	}
	for attr, col := range map[string]string{"provider:network_type": "network_type",
		"provider:physical_network": "physical_network", "provider:segmentation_id": "segmentation_id"} {
		s.FilterThrough(apidef.Networks, attr, "segments", "network_id", col)
	}
	p.segmentsH = generic.New(defs[apidef.Segments], s, generic.Hooks{
		NotFound:        SegmentNotFound,
		BeforeCreate:    p.beforeCreateSegment,
		BeforeDelete:    p.beforeDeleteSegment,
		InitialRevision: 0,
	})
	return p, nil
}

// SetAgents sets the agent lookup binding uses (the agents registry).
func (p *Plugin) SetAgents(l mech.AgentLookup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.agents = l
}

// SetOutbox sets where notifications to agents are recorded.
func (p *Plugin) SetOutbox(o change.Outbox) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outbox = o
}

func (p *Plugin) agentLookup() mech.AgentLookup {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.agents
}

// SetStatusNotifier sets who hears of the port status changes ML2 makes
// itself (change.ActionStatus events inside their transaction): the Nova
// notifier. nil hears nothing.
func (p *Plugin) SetStatusNotifier(n change.Notifier) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = n
}

func (p *Plugin) statusNotifier() change.Notifier {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.status
}

func (p *Plugin) outboxOf() change.Outbox {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.outbox
}

// Handlers returns the collections ML2 serves: segments.
func (p *Plugin) Handlers() map[string]plugin.Handler {
	return map[string]plugin.Handler{apidef.Segments: p.segmentsH}
}

// SegmentNotFound is Neutron's SegmentNotFound.
func SegmentNotFound(id string) error {
	return fault.NotFound("SegmentNotFound", fmt.Sprintf("Segment %s could not be found.", id))
}

// ---- segments in the store ----

func (p *Plugin) segDef() *resource.Resource { return p.defs[apidef.Segments] }

func segmentFromObject(o *resource.Object) types.Segment {
	s := types.Segment{ID: o.ID(), NetworkID: o.String("network_id"), NetworkType: o.String("network_type"),
		Index: o.Int("segment_index"), IsDynamic: o.Bool("is_dynamic")}
	if v, ok := o.Get("physical_network").(string); ok {
		s.PhysicalNetwork = v
	}
	if v, ok := o.Get("segmentation_id").(int); ok {
		s.SegmentationID, s.HasSegmentationID = v, true
	}
	return s
}

// MechanismDrivers are the names of the loaded mechanism drivers, in
// binding order.
func (p *Plugin) MechanismDrivers() []string { return slices.Clone(p.mechNames) }

// ExtensionDriverEnabled reports whether [ml2] extension_drivers names
// the extension driver.
func (p *Plugin) ExtensionDriverEnabled(name string) bool { return slices.Contains(p.extNames, name) }

// FirstSegmentPhysnets returns, for each network, the physical network of
// its first segment ("" for an overlay segment); networks without
// segments are absent. Neutron's placement traits look at that segment.
func (p *Plugin) FirstSegmentPhysnets(ctx context.Context, tx *store.Tx, netIDs ...string) (map[string]string, error) {
	segs, err := p.networkSegments(ctx, tx, netIDs...)
	if err != nil {
		return nil, fmt.Errorf("segments of networks: %w", err)
	}
	out := make(map[string]string, len(segs))
	for id, ss := range segs {
		if len(ss) > 0 {
			out[id] = ss[0].PhysicalNetwork
		}
	}
	return out, nil
}

// networkSegments returns the segments of the given networks, each
// network's in segment_index order.
func (p *Plugin) networkSegments(ctx context.Context, tx *store.Tx, netIDs ...string) (map[string][]types.Segment, error) {
	var rows map[string][]store.SegmentRow
	var err error
	// Engines cap the parameters of one statement, and one scan beats
	// many IN lists for a long list of networks.
	if len(netIDs) > 500 {
		rows, err = tx.NetworkSegments(ctx)
	} else {
		rows, err = tx.NetworkSegments(ctx, netIDs...)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string][]types.Segment, len(rows))
	for netID, rs := range rows {
		segs := make([]types.Segment, len(rs))
		for i, r := range rs {
			segs[i] = types.Segment{ID: r.ID, NetworkID: r.NetworkID, NetworkType: r.NetworkType,
				PhysicalNetwork: r.PhysicalNetwork, Index: r.Index, IsDynamic: r.IsDynamic}
			if r.SegmentationID != nil {
				segs[i].SegmentationID, segs[i].HasSegmentationID = *r.SegmentationID, true
			}
		}
		out[netID] = segs
	}
	return out, nil
}

func (p *Plugin) insertSegment(ctx context.Context, tx *store.Tx, seg types.Segment, projectID string) error {
	o := resource.New(p.segDef())
	now := p.now().UTC().Truncate(time.Second)
	o.Set("id", seg.ID)
	o.Set("network_id", seg.NetworkID)
	o.Set("name", nil)
	o.Set("network_type", seg.NetworkType)
	if seg.PhysicalNetwork != "" {
		o.Set("physical_network", seg.PhysicalNetwork)
	} else {
		o.Set("physical_network", nil)
	}
	if seg.HasSegmentationID {
		o.Set("segmentation_id", seg.SegmentationID)
	} else {
		o.Set("segmentation_id", nil)
	}
	o.Set("segment_index", seg.Index)
	o.Set("is_dynamic", seg.IsDynamic)
	setIfDeclared(o, "description", "")
	setIfDeclared(o, "project_id", projectID)
	setIfDeclared(o, "created_at", now)
	setIfDeclared(o, "updated_at", now)
	setIfDeclared(o, "revision_number", 0)
	return tx.Insert(ctx, o)
}

func setIfDeclared(o *resource.Object, name string, v any) {
	if o.Resource().Attr(name) != nil {
		o.Set(name, v)
	}
}

// ---- networks ----

func invalidInput(format string, args ...any) error {
	return fault.InvalidInput(fmt.Sprintf(format, args...))
}

// requestedSegments reads the provider attributes or the multi-provider
// segments of a network being created; none means a project network.
func requestedSegments(net *resource.Object) ([]types.Segment, error) {
	// As in Neutron, an attribute given as null counts as not given.
	provider := false
	for _, a := range []string{"provider:network_type", "provider:physical_network", "provider:segmentation_id"} {
		if net.Has(a) && net.Get(a) != nil {
			provider = true
		}
	}
	if net.Has("segments") && net.Get("segments") != nil {
		if provider {
			return nil, fault.New(400, "SegmentsSetInConjunctionWithProviders", "Segments and provider values cannot both be set.")
		}
		items, _ := net.Get("segments").([]any)
		var out []types.Segment
		for _, it := range items {
			m, _ := it.(map[string]any)
			seg, err := segmentFrom(m["provider:network_type"], m["provider:physical_network"], m["provider:segmentation_id"])
			if err != nil {
				return nil, err
			}
			for _, have := range out {
				if have.NetworkType == seg.NetworkType && have.PhysicalNetwork == seg.PhysicalNetwork &&
					have.SegmentationID == seg.SegmentationID {
					return nil, invalidInput("Duplicate segment entry in request.")
				}
			}
			out = append(out, seg)
		}
		return out, nil
	}
	if !provider {
		return nil, nil
	}
	seg, err := segmentFrom(net.Get("provider:network_type"), net.Get("provider:physical_network"), net.Get("provider:segmentation_id"))
	if err != nil {
		return nil, err
	}
	return []types.Segment{seg}, nil
}

func segmentFrom(netType, physnet, segID any) (types.Segment, error) {
	var seg types.Segment
	t, _ := netType.(string)
	if t == "" {
		return seg, invalidInput("network_type required")
	}
	seg.NetworkType = t
	seg.PhysicalNetwork, _ = physnet.(string)
	if n, ok := segID.(int); ok {
		seg.SegmentationID, seg.HasSegmentationID = n, true
	}
	return seg, nil
}

// BeforeCreateNetwork gives a network being created its segments — the
// provider segments an admin asked for, validated and reserved, or a
// project segment from project_network_types — and its MTU, inside the
// network's creating transaction.
func (p *Plugin) BeforeCreateNetwork(ctx context.Context, tx *store.Tx, net *resource.Object) error {
	segs, err := requestedSegments(net)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		seg, err := p.allocateProjectSegment(ctx, tx, net.String("project_id"))
		if err != nil {
			return err
		}
		segs = []types.Segment{seg}
	} else {
		for i := range segs {
			d := p.types[segs[i].NetworkType]
			if d == nil {
				return invalidInput("network_type value '%s' not supported", segs[i].NetworkType)
			}
			if err := d.Validate(segs[i]); err != nil {
				return err
			}
			if err := d.Reserve(ctx, tx, &segs[i]); err != nil {
				return err
			}
		}
	}
	for i := range segs {
		segs[i].ID = uuid.NewString()
		segs[i].NetworkID = net.ID()
		segs[i].Index = i
		if err := p.insertSegment(ctx, tx, segs[i], net.String("project_id")); err != nil {
			return err
		}
	}
	tx.SetMemo(newSegmentsMemo(net.ID()), segs)
	if err := p.setMTU(net, segs); err != nil {
		return err
	}
	nc := &mech.NetworkContext{Tx: tx, Current: net, Segments: segs}
	for _, d := range p.drivers {
		if err := d.CreateNetworkPrecommit(ctx, nc); err != nil {
			return err
		}
	}
	tx.AfterCommit(func() {
		post := &mech.NetworkContext{Current: net, Segments: segs}
		for _, d := range p.drivers {
			d.CreateNetworkPostcommit(context.WithoutCancel(ctx), post)
		}
	})
	return nil
}

// newSegmentsMemo is the Memo key of the segments (a []types.Segment) a
// network's create gave it.
func newSegmentsMemo(netID string) string { return "ml2-new-segments/" + netID }

// allocateProjectSegment gives a project network a segment of the first
// project_network_types type with a free id: from the project's ranges,
// then the shared ones, when network segment ranges are on.
func (p *Plugin) allocateProjectSegment(ctx context.Context, tx *store.Tx, project string) (types.Segment, error) {
	ranges := p.segmentRanges()
	for _, t := range p.tenant {
		if ra, ok := p.types[t].(types.RangeAllocator); ok && ranges != nil {
			sets, err := ranges.Candidates(ctx, tx, t, project)
			if err != nil {
				return types.Segment{}, err
			}
			for _, set := range sets {
				seg, err := ra.AllocateFrom(ctx, tx, set)
				if fault.Is(err, "NoNetworkAvailable") {
					continue
				}
				return seg, err
			}
			continue
		}
		seg, err := p.types[t].Allocate(ctx, tx)
		if fault.Is(err, "NoNetworkAvailable") {
			continue
		}
		return seg, err
	}
	return types.Segment{}, types.NoNetworkAvailable()
}

// MaxMTU is the largest MTU the segments carry: the smallest of the type
// drivers' limits, or global_physnet_mtu when none sets one.
func (p *Plugin) MaxMTU(segs []types.Segment) int {
	var mtus []int
	for _, s := range segs {
		if d := p.types[s.NetworkType]; d != nil {
			if m := d.MTU(s.PhysicalNetwork); m > 0 {
				mtus = append(mtus, m)
			}
		}
	}
	if len(mtus) == 0 {
		return p.globalMTU
	}
	return slices.Min(mtus)
}

// setMTU fills the MTU of target (a network or a patch of one) when none
// was asked for (0) and refuses one the segments cannot carry.
func (p *Plugin) setMTU(target *resource.Object, segs []types.Segment) error {
	if target.Resource().Attr("mtu") == nil {
		return nil
	}
	maxMTU := p.MaxMTU(segs)
	mtu := target.Int("mtu")
	if mtu == 0 {
		target.Set("mtu", maxMTU)
		return nil
	}
	if mtu > maxMTU {
		return invalidInput("Requested MTU is too big, maximum is %d", maxMTU)
	}
	if mtu < 68 {
		return invalidInput("Requested MTU is too small, minimum is 68")
	}
	return nil
}

// BeforeUpdateNetwork checks an MTU change against the network's
// segments; provider attributes cannot change.
func (p *Plugin) BeforeUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	segs, err := p.networkSegments(ctx, tx, old.ID())
	if err != nil {
		return err
	}
	if err := unchangedProvider(patch, segs[old.ID()]); err != nil {
		return err
	}
	if !patch.Has("mtu") {
		return nil
	}
	return p.setMTU(patch, segs[old.ID()])
}

// unchangedProvider refuses a change of provider attributes; giving the
// values the network has (a client sending the whole object back) is
// fine.
func unchangedProvider(patch *resource.Object, segs []types.Segment) error {
	refuse := invalidInput("Plugin does not support updating provider attributes")
	if patch.Has("segments") {
		return refuse
	}
	if !patch.Has("provider:network_type") && !patch.Has("provider:physical_network") && !patch.Has("provider:segmentation_id") {
		return nil
	}
	if len(segs) != 1 {
		return refuse
	}
	s := segs[0]
	if patch.Has("provider:network_type") && patch.Get("provider:network_type") != s.NetworkType {
		return refuse
	}
	if patch.Has("provider:physical_network") && patch.Get("provider:physical_network") != nilIfEmpty(s.PhysicalNetwork) {
		return refuse
	}
	if patch.Has("provider:segmentation_id") {
		want := any(nil)
		if s.HasSegmentationID {
			want = s.SegmentationID
		}
		if patch.Get("provider:segmentation_id") != want {
			return refuse
		}
	}
	return nil
}

// BeforeDeleteNetwork releases a deleted network's segments.
func (p *Plugin) BeforeDeleteNetwork(ctx context.Context, tx *store.Tx, net *resource.Object) error {
	segs, err := p.networkSegments(ctx, tx, net.ID())
	if err != nil {
		return err
	}
	nc := &mech.NetworkContext{Tx: tx, Current: net, Segments: segs[net.ID()]}
	for _, d := range p.drivers {
		if err := d.DeleteNetworkPrecommit(ctx, nc); err != nil {
			return err
		}
	}
	for _, s := range segs[net.ID()] {
		if err := p.releaseSegment(ctx, tx, s); err != nil {
			return err
		}
	}
	tx.AfterCommit(func() {
		post := &mech.NetworkContext{Current: net, Segments: nc.Segments}
		for _, d := range p.drivers {
			d.DeleteNetworkPostcommit(context.WithoutCancel(ctx), post)
		}
	})
	return nil
}

func (p *Plugin) releaseSegment(ctx context.Context, tx *store.Tx, s types.Segment) error {
	if d := p.types[s.NetworkType]; d != nil {
		if err := d.Release(ctx, tx, s); err != nil {
			return err
		}
	} else if s.HasSegmentationID || s.PhysicalNetwork != "" {
		// A type driver no longer loaded: free its id anyway so it is
		// not lost if the driver returns.
		if err := tx.ReleaseSegmentID(ctx, s.NetworkType, s.PhysicalNetwork, s.SegmentationID); err != nil {
			return err
		}
	}
	return tx.Delete(ctx, p.segDef(), s.ID)
}

// AfterReadNetworks shows each network's segments: the provider
// attributes for a network of one segment, the segments list for one of
// several, as Neutron's ML2 does.
func (p *Plugin) AfterReadNetworks(ctx context.Context, tx *store.Tx, nets []*resource.Object) error {
	def := nets[0].Resource()
	if def.Attr("provider:network_type") == nil && def.Attr("segments") == nil {
		return nil
	}
	// Networks read from the store carry their segment rows; those just
	// created do not, and are read here.
	segs := map[string][]types.Segment{}
	var missing []string
	for _, n := range nets {
		rows, ok := n.Get(apidef.NetworkSegmentRows).([]any)
		if !ok {
			missing = append(missing, n.ID())
			continue
		}
		segs[n.ID()] = segmentsFromRows(n.ID(), rows)
		n.Unset(apidef.NetworkSegmentRows)
	}
	// A network created in this transaction has the segments its create
	// inserted.
	missing = slices.DeleteFunc(missing, func(id string) bool {
		m, ok := tx.Memo(newSegmentsMemo(id))
		if ok {
			segs[id] = m.([]types.Segment)
		}
		return ok
	})
	if len(missing) > 0 {
		read, err := p.networkSegments(ctx, tx, missing...)
		if err != nil {
			return err
		}
		for id, ss := range read {
			segs[id] = ss
		}
	}
	for _, n := range nets {
		ss := segs[n.ID()]
		switch {
		case len(ss) == 0 && def.Attr("provider:network_type") != nil:
			for _, a := range []string{"provider:network_type", "provider:physical_network", "provider:segmentation_id"} {
				n.Set(a, nil)
			}
		case len(ss) == 1 && def.Attr("provider:network_type") != nil:
			// One segment shows as provider attributes alone, even when
			// it was asked for as a segments list (multi-provider).
			n.Unset("segments")
			s := ss[0]
			n.Set("provider:network_type", s.NetworkType)
			n.Set("provider:physical_network", nilIfEmpty(s.PhysicalNetwork))
			if s.HasSegmentationID {
				n.Set("provider:segmentation_id", s.SegmentationID)
			} else {
				n.Set("provider:segmentation_id", nil)
			}
		case len(ss) > 1 && def.Attr("segments") != nil:
			list := make([]any, len(ss))
			for i, s := range ss {
				m := map[string]any{"provider:network_type": s.NetworkType,
					"provider:physical_network": nilIfEmpty(s.PhysicalNetwork), "provider:segmentation_id": nil}
				if s.HasSegmentationID {
					m["provider:segmentation_id"] = s.SegmentationID
				}
				list[i] = m
			}
			n.Set("segments", list)
		}
	}
	return nil
}

// segmentsFromRows decodes the segment rows the store loads with a
// network, in segment_index order (then by id, as the rows come sorted),
// as networkSegments reads them.
func segmentsFromRows(netID string, rows []any) []types.Segment {
	out := make([]types.Segment, 0, len(rows))
	for _, r := range rows {
		m, _ := r.(map[string]any)
		s := types.Segment{NetworkID: netID}
		s.ID, _ = m["id"].(string)
		s.NetworkType, _ = m["network_type"].(string)
		s.PhysicalNetwork, _ = m["physical_network"].(string)
		if v, ok := m["segmentation_id"].(float64); ok {
			s.SegmentationID, s.HasSegmentationID = int(v), true
		}
		if v, ok := m["segment_index"].(float64); ok {
			s.Index = int(v)
		}
		// A boolean in PostgreSQL's JSON, 0 or 1 in SQLite's.
		switch v := m["is_dynamic"].(type) {
		case bool:
			s.IsDynamic = v
		case float64:
			s.IsDynamic = v != 0
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b types.Segment) int { return a.Index - b.Index })
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ---- the segments resource ----

func (p *Plugin) beforeCreateSegment(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	netID := o.String("network_id")
	net, err := tx.Get(ctx, p.defs[apidef.Networks], netID, true)
	if errors.Is(err, store.ErrNotFound) {
		return fault.NotFound("NetworkNotFound", fmt.Sprintf("Network %s could not be found.", netID))
	}
	if err != nil {
		return err
	}
	seg, err := segmentFrom(o.Get("network_type"), o.Get("physical_network"), o.Get("segmentation_id"))
	if err != nil {
		return err
	}
	d := p.types[seg.NetworkType]
	if d == nil {
		return invalidInput("network_type value '%s' not supported", seg.NetworkType)
	}
	if err := d.Validate(seg); err != nil {
		return err
	}
	if err := d.Reserve(ctx, tx, &seg); err != nil {
		return err
	}
	existing, err := p.networkSegments(ctx, tx, netID)
	if err != nil {
		return err
	}
	index := 0
	for _, s := range existing[netID] {
		index = max(index, s.Index+1)
	}
	o.Set("physical_network", nilIfEmpty(seg.PhysicalNetwork))
	if seg.HasSegmentationID {
		o.Set("segmentation_id", seg.SegmentationID)
	} else {
		o.Set("segmentation_id", nil)
	}
	if !o.Has("name") {
		o.Set("name", nil)
	}
	o.Set("segment_index", index)
	o.Set("is_dynamic", false)
	if !o.Has("project_id") || o.String("project_id") == "" {
		o.Set("project_id", net.String("project_id"))
	}
	return nil
}

func (p *Plugin) beforeDeleteSegment(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	subnets, err := tx.Strings(ctx, apidef.Subnets, "id", "segment_id", o.ID())
	if err != nil {
		return err
	}
	if len(subnets) > 0 {
		return fault.Conflict("SegmentInUse", "Segment '%s' cannot be deleted: %s.", o.ID(),
			"The segment is still associated with subnet(s) "+strings.Join(subnets, ", "))
	}
	ports, err := tx.Strings(ctx, "ml2_port_binding_levels", "port_id", "segment_id", o.ID())
	if err != nil {
		return err
	}
	if len(ports) > 0 {
		return fault.Conflict("SegmentInUse", "Segment '%s' cannot be deleted: %s.", o.ID(),
			"The segment is still bound with port(s) "+strings.Join(ports, ", "))
	}
	seg := segmentFromObject(o)
	if d := p.types[seg.NetworkType]; d != nil {
		return d.Release(ctx, tx, seg)
	}
	return nil
}

// CheckSubnetSegment applies Neutron's rules to a new subnet's
// segment_id: the segment exists, is on the subnet's network and is not
// dynamic, and a network's subnets are either all associated with
// segments or none is.
func (p *Plugin) CheckSubnetSegment(ctx context.Context, tx *store.Tx, subnet *resource.Object) error {
	if subnet.Resource().Attr("segment_id") == nil {
		return nil
	}
	netID := subnet.String("network_id")
	segID, _ := subnet.Get("segment_id").(string)
	current, err := tx.Strings(ctx, apidef.Subnets, "COALESCE(segment_id, '')", "network_id", netID)
	if err != nil {
		return err
	}
	for _, s := range current {
		if (s == "") != (segID == "") {
			return fault.New(400, "SubnetsNotAllAssociatedWithSegments",
				"All of the subnets on network '%s' must either all be associated with segments or all not associated with any segment.", netID)
		}
	}
	return p.checkSegmentOf(ctx, tx, netID, segID)
}

// CheckSubnetSegmentUpdate applies Neutron's rules to a change of a
// subnet's segment_id (subnet-segmentid-writable): only a network's one
// subnet, on a network of one segment, may be associated with a segment,
// and a subnet associated with one stays with it.
func (p *Plugin) CheckSubnetSegmentUpdate(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	if !patch.Has("segment_id") || old.Resource().Attr("segment_id") == nil {
		return nil
	}
	netID := old.String("network_id")
	oldSeg, _ := old.Get("segment_id").(string)
	segID, _ := patch.Get("segment_id").(string)
	current, err := tx.Strings(ctx, apidef.Subnets, "COALESCE(segment_id, '')", "network_id", netID)
	if err != nil {
		return err
	}
	assoc := map[string]bool{}
	for _, s := range current {
		assoc[s] = true
	}
	notAll := fault.New(400, "SubnetsNotAllAssociatedWithSegments",
		"All of the subnets on network '%s' must either all be associated with segments or all not associated with any segment.", netID)
	if assoc[""] && len(assoc) > 1 {
		return notAll
	}
	if oldSeg != segID {
		if len(current) > 1 {
			return notAll
		}
		if !assoc[""] && !assoc[segID] {
			return fault.New(400, "SubnetSegmentAssociationChangeNotAllowed",
				"A subnet that is already associated with a segment cannot have its segment association changed.")
		}
		segs, err := p.networkSegments(ctx, tx, netID)
		if err != nil {
			return err
		}
		if len(segs[netID]) > 1 {
			return fault.New(400, "NoUpdateSubnetWhenMultipleSegmentsOnNetwork",
				"The network '%s' has multiple segments, it is only possible to associate an existing subnet with a segment on networks with a single segment.", netID)
		}
	}
	return p.checkSegmentOf(ctx, tx, netID, segID)
}

// checkSegmentOf checks that segment segID ("" for none) exists, is on
// network netID and is not dynamic.
func (p *Plugin) checkSegmentOf(ctx context.Context, tx *store.Tx, netID, segID string) error {
	if segID == "" {
		return nil
	}
	seg, err := tx.Get(ctx, p.segDef(), segID, false)
	if errors.Is(err, store.ErrNotFound) {
		return SegmentNotFound(segID)
	}
	if err != nil {
		return err
	}
	if seg.String("network_id") != netID {
		return fault.New(400, "NetworkIdsDontMatch",
			"The subnet's network id, '%s', doesn't match the network_id of segment '%s'", netID, segID)
	}
	if seg.Bool("is_dynamic") {
		return fault.New(400, "SubnetCantAssociateToDynamicSegment", "A subnet cannot be associated with a dynamic segment.")
	}
	return nil
}

// SubnetCreated runs the drivers' subnet create hooks: precommit now,
// inside the creating transaction, postcommit after it commits.
func (p *Plugin) SubnetCreated(ctx context.Context, tx *store.Tx, subnet *resource.Object) error {
	return p.subnetHooks(ctx, tx, &mech.SubnetContext{Tx: tx, Current: subnet},
		mech.Driver.CreateSubnetPrecommit, mech.Driver.CreateSubnetPostcommit)
}

// SubnetUpdated runs the drivers' subnet update hooks.
func (p *Plugin) SubnetUpdated(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error {
	return p.subnetHooks(ctx, tx, &mech.SubnetContext{Tx: tx, Current: updated, Original: old},
		mech.Driver.UpdateSubnetPrecommit, mech.Driver.UpdateSubnetPostcommit)
}

// SubnetDeleting runs the drivers' subnet delete hooks.
func (p *Plugin) SubnetDeleting(ctx context.Context, tx *store.Tx, subnet *resource.Object) error {
	return p.subnetHooks(ctx, tx, &mech.SubnetContext{Tx: tx, Current: subnet},
		mech.Driver.DeleteSubnetPrecommit, mech.Driver.DeleteSubnetPostcommit)
}

func (p *Plugin) subnetHooks(ctx context.Context, tx *store.Tx, sc *mech.SubnetContext,
	pre func(mech.Driver, context.Context, *mech.SubnetContext) error, post func(mech.Driver, context.Context, *mech.SubnetContext)) error {
	for _, d := range p.drivers {
		if err := pre(d, ctx, sc); err != nil {
			return err
		}
	}
	if len(p.drivers) > 0 {
		tx.AfterCommit(func() {
			after := &mech.SubnetContext{Current: sc.Current, Original: sc.Original}
			for _, d := range p.drivers {
				post(d, context.WithoutCancel(ctx), after)
			}
		})
	}
	return nil
}
