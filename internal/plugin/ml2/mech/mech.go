// Package mech holds ML2's mechanism drivers and the contract they meet:
// drivers see network and port changes inside the writing transaction
// (precommit) and after it commits (postcommit), and bind ports to a
// segment a host can reach. The drivers run in the order of [ml2]
// mechanism_drivers.
package mech

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Agent is an agent as the agents registry reports it.
type Agent struct {
	ID   string
	Host string
	Type string
	// Configurations is the agent's reported configuration
	// (interface_mappings, bridge_mappings, tunnel_types, tunneling_ip …).
	Configurations map[string]any
}

// AgentLookup finds alive agents. An empty host means any host. A nil
// AgentLookup means no agents: no port can be bound.
type AgentLookup interface {
	AliveAgents(ctx context.Context, tx *store.Tx, host, agentType string) ([]Agent, error)
}

// AnyAlive is an AgentLookup that can tell whether any agent of a type
// is alive (and administratively up) without reading them all: what a
// non-empty AliveAgents(ctx, tx, "", agentType) would say.
type AnyAlive interface {
	AnyAlive(ctx context.Context, tx *store.Tx, agentType string) (bool, error)
}

// NetworkContext is a network change as drivers see it.
type NetworkContext struct {
	Tx       *store.Tx // nil in postcommit
	Current  *resource.Object
	Original *resource.Object // nil on create
	Segments []types.Segment
}

// SubnetContext is a subnet change as drivers see it.
type SubnetContext struct {
	Tx       *store.Tx // nil in postcommit
	Current  *resource.Object
	Original *resource.Object // nil on create
}

// PortContext is a port change as drivers see it.
type PortContext struct {
	Tx       *store.Tx // nil in postcommit
	Current  *resource.Object
	Original *resource.Object // nil on create
	Network  *resource.Object
	// Segments are the network's segments, the candidates for binding.
	Segments []types.Segment
	// BoundSegment is the segment the port is bound with, if any;
	// OriginalBoundSegment the one it was bound with before the change.
	BoundSegment, OriginalBoundSegment *types.Segment
	// OriginalHost is the host the port was bound to before the change.
	OriginalHost string
	Agents       AgentLookup
	Outbox       change.Outbox

	binding *Binding
}

// Host is the host the port is (to be) bound to.
func (c *PortContext) Host() string { return c.Current.String("binding:host_id") }

// Binding is a driver's decision to bind a port.
type Binding struct {
	Segment    types.Segment
	VIFType    string
	VIFDetails map[string]any
	Driver     string
}

// SetBinding binds the port with segment; the first driver to call it
// wins.
func (c *PortContext) SetBinding(b Binding) {
	if c.binding == nil {
		c.binding = &b
	}
}

// Bound returns the binding a driver set, or nil.
func (c *PortContext) Bound() *Binding { return c.binding }

// Driver is a mechanism driver. Embed Base for the hooks a driver does
// not need.
type Driver interface {
	Name() string
	CreateNetworkPrecommit(ctx context.Context, nc *NetworkContext) error
	CreateNetworkPostcommit(ctx context.Context, nc *NetworkContext)
	UpdateNetworkPrecommit(ctx context.Context, nc *NetworkContext) error
	UpdateNetworkPostcommit(ctx context.Context, nc *NetworkContext)
	DeleteNetworkPrecommit(ctx context.Context, nc *NetworkContext) error
	DeleteNetworkPostcommit(ctx context.Context, nc *NetworkContext)
	CreateSubnetPrecommit(ctx context.Context, sc *SubnetContext) error
	CreateSubnetPostcommit(ctx context.Context, sc *SubnetContext)
	UpdateSubnetPrecommit(ctx context.Context, sc *SubnetContext) error
	UpdateSubnetPostcommit(ctx context.Context, sc *SubnetContext)
	DeleteSubnetPrecommit(ctx context.Context, sc *SubnetContext) error
	DeleteSubnetPostcommit(ctx context.Context, sc *SubnetContext)
	CreatePortPrecommit(ctx context.Context, pc *PortContext) error
	CreatePortPostcommit(ctx context.Context, pc *PortContext)
	// UpdatePortPrecommit also sees status changes (a port going ACTIVE
	// when its agent reports it up) and rebinding.
	UpdatePortPrecommit(ctx context.Context, pc *PortContext) error
	UpdatePortPostcommit(ctx context.Context, pc *PortContext)
	DeletePortPrecommit(ctx context.Context, pc *PortContext) error
	DeletePortPostcommit(ctx context.Context, pc *PortContext)
	// BindPort binds the port with one of pc.Segments through
	// pc.SetBinding, or leaves it for the next driver.
	BindPort(ctx context.Context, pc *PortContext) error
}

// BatchUpdater is implemented by drivers that see many ports' updates of
// one transaction at once: an agent reporting a hundred ports up makes
// l2population send one fdb_add, reading the network's ports once, where
// a hook per port would read them a hundred times. ML2 calls it instead
// of UpdatePortPrecommit for status changes it applies in a batch.
type BatchUpdater interface {
	UpdatePortsPrecommit(ctx context.Context, pcs []*PortContext) error
}

// Base implements every Driver hook as doing nothing.
type Base struct{}

func (Base) CreateNetworkPrecommit(context.Context, *NetworkContext) error { return nil }
func (Base) CreateNetworkPostcommit(context.Context, *NetworkContext)      {}
func (Base) UpdateNetworkPrecommit(context.Context, *NetworkContext) error { return nil }
func (Base) UpdateNetworkPostcommit(context.Context, *NetworkContext)      {}
func (Base) DeleteNetworkPrecommit(context.Context, *NetworkContext) error { return nil }
func (Base) DeleteNetworkPostcommit(context.Context, *NetworkContext)      {}
func (Base) CreateSubnetPrecommit(context.Context, *SubnetContext) error   { return nil }
func (Base) CreateSubnetPostcommit(context.Context, *SubnetContext)        {}
func (Base) UpdateSubnetPrecommit(context.Context, *SubnetContext) error   { return nil }
func (Base) UpdateSubnetPostcommit(context.Context, *SubnetContext)        {}
func (Base) DeleteSubnetPrecommit(context.Context, *SubnetContext) error   { return nil }
func (Base) DeleteSubnetPostcommit(context.Context, *SubnetContext)        {}
func (Base) CreatePortPrecommit(context.Context, *PortContext) error       { return nil }
func (Base) CreatePortPostcommit(context.Context, *PortContext)            {}
func (Base) UpdatePortPrecommit(context.Context, *PortContext) error       { return nil }
func (Base) UpdatePortPostcommit(context.Context, *PortContext)            {}
func (Base) DeletePortPrecommit(context.Context, *PortContext) error       { return nil }
func (Base) DeletePortPostcommit(context.Context, *PortContext)            {}
func (Base) BindPort(context.Context, *PortContext) error                  { return nil }

// Deps are what drivers may need from the plugin.
type Deps struct {
	// Ports lists a network's ports for drivers that compute per-network
	// state (l2population).
	Ports NetworkPorts
}

// NetworkPorts lists ports of a network inside a transaction.
type NetworkPorts interface {
	ActivePorts(ctx context.Context, tx *store.Tx, networkID string) ([]PortInfo, error)
}

// PortInfo is what l2population needs of a port.
type PortInfo struct {
	ID   string
	MAC  string
	IPs  []string
	Host string
}

var registry = map[string]func(Deps) Driver{}

// Register adds a driver constructor under name; called from init.
func Register(name string, build func(Deps) Driver) {
	if _, dup := registry[name]; dup {
		panic("mech: driver " + name + " registered twice")
	}
	registry[name] = build
}

// Check reports an error for a driver name that is not available.
func Check(names []string) error {
	for _, n := range names {
		if _, ok := registry[n]; !ok {
			return fmt.Errorf("%q is not available (Neutrino provides %s)", n, strings.Join(slices.Sorted(maps.Keys(registry)), ", "))
		}
	}
	return nil
}

// New builds the named drivers in order. Names ML2 knows but Neutrino
// does not implement (openvswitch, ovn …) are refused so a misconfigured
// server fails at start.
func New(names []string, deps Deps) ([]Driver, error) {
	if err := Check(names); err != nil {
		return nil, err
	}
	var out []Driver
	for _, n := range names {
		out = append(out, registry[n](deps))
	}
	return out, nil
}

// FixedIPAddresses returns the addresses of a port's fixed_ips.
func FixedIPAddresses(port *resource.Object) []string {
	ips, _ := port.Get("fixed_ips").([]any)
	out := make([]string, 0, len(ips))
	for _, it := range ips {
		if m, ok := it.(map[string]any); ok {
			if s, ok := m["ip_address"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
