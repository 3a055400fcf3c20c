// Package agents is Neutrino's agent registry and agent schedulers: the
// agents table that report_state keeps (Neutron's agents_db), the agent
// and availability_zone API resources, the DHCP scheduler (networks on
// DHCP agents, dhcp_agent_scheduler), the L3 scheduler (routers on L3
// agents, l3_agent_scheduler), and the server side of the DHCP agent's
// RPC calls (dhcp_rpc).
//
// Options read: [DEFAULT] agent_down_time, enable_new_agents,
// dhcp_agents_per_network, network_auto_schedule,
// allow_automatic_dhcp_failover, router_scheduler_driver,
// router_auto_schedule, allow_automatic_l3agent_failover,
// default_availability_zones.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/generic"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Router scheduler drivers ([DEFAULT] router_scheduler_driver).
const (
	ChanceScheduler       = "neutron.scheduler.l3_agent_scheduler.ChanceScheduler"
	LeastRoutersScheduler = "neutron.scheduler.l3_agent_scheduler.LeastRoutersScheduler"
)

// Options are the plugin's settings, from the configuration.
type Options struct {
	// Outbox records the scheduling notifications to agents (a network
	// or router placed on or taken off an agent); nil records none.
	Outbox change.Outbox
	// AgentDownTime is [DEFAULT] agent_down_time: an agent whose last
	// heartbeat is older is dead.
	AgentDownTime time.Duration
	// EnableNewAgents is [DEFAULT] enable_new_agents: the admin_state_up
	// of newly registered agents.
	EnableNewAgents bool
	// DHCPAgentsPerNetwork is [DEFAULT] dhcp_agents_per_network.
	DHCPAgentsPerNetwork int
	// NetworkAutoSchedule is [DEFAULT] network_auto_schedule.
	NetworkAutoSchedule bool
	// AllowAutomaticDHCPFailover is [DEFAULT] allow_automatic_dhcp_failover.
	AllowAutomaticDHCPFailover bool
	// RouterSchedulerDriver is [DEFAULT] router_scheduler_driver.
	RouterSchedulerDriver string
	// RouterAutoSchedule is [DEFAULT] router_auto_schedule.
	RouterAutoSchedule bool
	// AllowAutomaticL3AgentFailover is [DEFAULT] allow_automatic_l3agent_failover.
	AllowAutomaticL3AgentFailover bool
	// DefaultAvailabilityZones is [DEFAULT] default_availability_zones:
	// the zone hints of resources that give none.
	DefaultAvailabilityZones []string
	Logger                   *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// Routers is what the L3 scheduler needs of the routers plugin, which
// lives elsewhere: whether a router exists, and every router's id (for
// scheduling unhosted routers when an L3 agent starts).
type Routers interface {
	RouterExists(ctx context.Context, id string) (bool, error)
	RouterIDs(ctx context.Context) ([]string, error)
}

// Plugin is the agent registry and schedulers.
type Plugin struct {
	opts     Options
	store    *store.Store
	defs     map[string]*resource.Resource
	log      *slog.Logger
	handlers map[string]plugin.Handler
	agents   *generic.Handler
	// core are the core plugin's handlers (networks, subnets, ports),
	// through which the DHCP callbacks read and write so IPAM and
	// validation are shared.
	core    map[string]plugin.Handler
	routers Routers
}

// New returns the plugin serving the given (already restricted) resource
// definitions.
func New(s *store.Store, defs map[string]*resource.Resource, opts Options) *Plugin {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DHCPAgentsPerNetwork < 1 {
		opts.DHCPAgentsPerNetwork = 1
	}
	p := &Plugin{opts: opts, store: s, defs: defs, log: opts.Logger, handlers: map[string]plugin.Handler{}}
	if def := defs[apidef.Agents]; def != nil {
		p.agents = generic.New(def, s, generic.Hooks{
			NotFound:  func(id string) error { return AgentNotFound(id) },
			AfterRead: p.afterReadAgents,
		})
		p.agents.Now = func() time.Time { return p.opts.Now() }
		p.handlers[apidef.Agents] = &agentHandler{Handler: p.agents, p: p}
	}
	if def := defs[apidef.AvailabilityZones]; def != nil {
		p.handlers[apidef.AvailabilityZones] = &zoneHandler{p: p, res: def}
	}
	return p
}

// Handlers returns the plugin's handler for each collection it serves.
func (p *Plugin) Handlers() map[string]plugin.Handler { return p.handlers }

// SetCore gives the DHCP callbacks the core plugin's handlers (networks,
// subnets, ports), through which DHCP ports are created so they share
// IPAM and validation.
func (p *Plugin) SetCore(handlers map[string]plugin.Handler) { p.core = handlers }

// SetRouters gives the L3 scheduler the routers plugin; until then L3
// scheduling answers that routers do not exist.
func (p *Plugin) SetRouters(r Routers) { p.routers = r }

// AgentNotFound is neutron-lib's AgentNotFound.
func AgentNotFound(id string) error {
	return fault.NotFound("AgentNotFound", "Agent "+id+" could not be found.")
}

// alive reports whether a heartbeat is recent enough.
func (p *Plugin) alive(heartbeat time.Time) bool {
	return p.opts.Now().Sub(heartbeat) <= p.opts.AgentDownTime
}

// ReportState records an agent's state report (Neutron's
// create_or_update_agent): the first report of an agent type on a host
// registers it, later ones refresh its heartbeat and configuration. It
// returns the agent's status as the server sees it: rpcapi.AgentNew,
// AgentAlive, or AgentRevived when the previous heartbeat was older than
// agent_down_time. An agent that starts (start_flag) or registers gets
// its unhosted networks or routers scheduled to it, when auto scheduling
// is enabled.
func (p *Plugin) ReportState(ctx context.Context, st rpcapi.AgentState) (string, error) {
	if st.AgentType == "" || st.Host == "" {
		return "", fault.BadRequest("agent_state needs agent_type and host")
	}
	confs := st.Configurations
	if confs == nil {
		confs = map[string]any{}
	}
	confJSON, err := json.Marshal(confs)
	if err != nil {
		return "", fmt.Errorf("encode configurations of %s on %s: %w", st.AgentType, st.Host, err)
	}
	row := store.AgentRow{Type: st.AgentType, Binary: st.Binary, Topic: st.Topic, Host: st.Host,
		AvailabilityZone: st.AvailabilityZone, Configurations: string(confJSON), Load: agentLoad(st),
		ResourcesSynced: st.ResourcesSynced}
	if len(st.ResourceVersions) > 0 {
		b, _ := json.Marshal(st.ResourceVersions)
		row.ResourceVersions = string(b)
	}
	var status string
	write := func(tx *store.Tx) error {
		now := p.opts.Now().UTC().Truncate(time.Second)
		row.Heartbeat = now
		old, err := tx.AgentByTypeHost(ctx, st.AgentType, st.Host, true)
		if errors.Is(err, store.ErrNotFound) {
			row.ID, row.CreatedAt, row.StartedAt, row.AdminStateUp = uuid.NewString(), now, now, p.opts.EnableNewAgents
			status = rpcapi.AgentNew
			return tx.InsertAgent(ctx, row)
		}
		if err != nil {
			return err
		}
		row.ID = old.ID
		status = rpcapi.AgentAlive
		if !p.alive(old.Heartbeat) {
			status = rpcapi.AgentRevived
		}
		return tx.UpdateAgentReport(ctx, row, st.StartFlag)
	}
	err = p.store.Write(ctx, write)
	if errors.Is(err, store.ErrDuplicate) {
		// Another server registered the same agent at the same moment:
		// its row now exists, so this becomes an update.
		err = p.store.Write(ctx, write)
	}
	if err != nil {
		return "", fmt.Errorf("report state of %s on %s: %w", st.AgentType, st.Host, err)
	}
	if st.StartFlag || status != rpcapi.AgentAlive {
		switch st.AgentType {
		case rpcapi.AgentTypeDHCP:
			if p.opts.NetworkAutoSchedule {
				if err := p.AutoScheduleNetworks(ctx, st.Host); err != nil {
					p.log.WarnContext(ctx, "auto-scheduling networks failed", "host", st.Host, "error", err)
				}
			}
		case rpcapi.AgentTypeL3:
			if p.opts.RouterAutoSchedule {
				if err := p.AutoScheduleRouters(ctx, st.Host); err != nil {
					p.log.WarnContext(ctx, "auto-scheduling routers failed", "host", st.Host, "error", err)
				}
			}
		}
	}
	return status, nil
}

// agentLoad is Neutron's agent load: for DHCP agents the number of
// networks they report ([DEFAULT] dhcp_load_type = networks).
func agentLoad(st rpcapi.AgentState) int {
	if st.AgentType != rpcapi.AgentTypeDHCP {
		return 0
	}
	if n, ok := st.Configurations["networks"].(float64); ok {
		return int(n)
	}
	if n, ok := st.Configurations["networks"].(int); ok {
		return n
	}
	return 0
}

// Agent is an agent as port binding and notifiers see it.
type Agent struct {
	ID, Host, Type   string
	AvailabilityZone string
	AdminStateUp     bool
	Configurations   map[string]any
}

func toAgent(r store.AgentRow) Agent {
	a := Agent{ID: r.ID, Host: r.Host, Type: r.Type, AvailabilityZone: r.AvailabilityZone, AdminStateUp: r.AdminStateUp}
	if err := json.Unmarshal([]byte(r.Configurations), &a.Configurations); err != nil || a.Configurations == nil {
		a.Configurations = map[string]any{}
	}
	return a
}

// AliveAgents returns the alive agents of agentType on host (any type
// when empty), whatever their admin state, as ML2 port binding needs
// them: Neutron binds to agents that are alive, not necessarily enabled.
func (p *Plugin) AliveAgents(ctx context.Context, host, agentType string) ([]Agent, error) {
	var out []Agent
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = p.AliveAgentsIn(ctx, tx, host, agentType)
		return err
	})
	return out, err
}

// AliveAgentsIn is AliveAgents inside tx, for plugins deciding inside a
// write (ML2 binding a port): a second transaction there would wait on
// the first on SQLite's single writer.
func (p *Plugin) AliveAgentsIn(ctx context.Context, tx *store.Tx, host, agentType string) ([]Agent, error) {
	rows, err := tx.Agents(ctx, agentType, host)
	if err != nil {
		return nil, fmt.Errorf("alive agents on %s: %w", host, err)
	}
	var out []Agent
	for _, r := range rows {
		if p.alive(r.Heartbeat) {
			out = append(out, toAgent(r))
		}
	}
	return out, nil
}

// AnyAliveIn reports whether an agent of agentType is alive and
// administratively up, inside tx: what AliveAgentsIn's agents that are up
// would say by being there, read as one row (the newest heartbeat)
// rather than every agent of the type.
func (p *Plugin) AnyAliveIn(ctx context.Context, tx *store.Tx, agentType string) (bool, error) {
	hb, ok, err := tx.LatestHeartbeat(ctx, agentType)
	if err != nil {
		return false, err
	}
	return ok && p.alive(hb), nil
}

// agentHandler serves /v2.0/agents: agents appear by reporting state, so
// the API may only show, update (admin_state_up, description) and delete
// them.
type agentHandler struct {
	*generic.Handler
	p *Plugin
}

var _ plugin.Scoper = (*agentHandler)(nil)

// Scope lets a non-admin's list reach every agent; policy then hides them
// all, so the answer is an empty list rather than an error (as Neutron).
func (h *agentHandler) Scope(string) *resource.Scope { return nil }

// Create refuses, as Neutron does: agents register over RPC.
func (h *agentHandler) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, fault.NeutronBadRequest("agents", "Agent creation using API is not supported.")
}

// List implements plugin.Handler. binary and alive are not columns:
// binary filters on its column, alive after reading.
func (h *agentHandler) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	qq := *q
	qq.Filters = nil
	var aliveVals []any
	for _, f := range q.Filters {
		switch f.Attr.Name {
		case "alive":
			aliveVals = f.Values
		case "binary":
			qq.Filters = append(qq.Filters, resource.Filter{Attr: h.Res.Attr("agent_binary"), Values: f.Values})
		default:
			qq.Filters = append(qq.Filters, f)
		}
	}
	objs, err := h.Handler.List(ctx, &qq)
	if err != nil || aliveVals == nil {
		return objs, err
	}
	out := objs[:0]
	for _, o := range objs {
		if slices.Contains(aliveVals, o.Get("alive")) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (p *Plugin) afterReadAgents(ctx context.Context, tx *store.Tx, objs []*resource.Object) error {
	for _, o := range objs {
		o.Set("binary", o.String("agent_binary"))
		hb, err := time.Parse(store.AgentTimeFormat, o.String("heartbeat_timestamp"))
		o.Set("alive", err == nil && p.alive(hb))
	}
	return nil
}

// zoneHandler serves /v2.0/availability_zones: the zones of DHCP agents
// (resource network) and L3 agents (resource router), available when any
// agent of the zone is enabled.
type zoneHandler struct {
	p   *Plugin
	res *resource.Resource
}

var _ plugin.Handler = (*zoneHandler)(nil)

// Zone is one availability zone of one resource kind.
type Zone struct {
	Name, Resource string
	Available      bool
}

// AvailabilityZones lists the zones agents report, as Neutron's
// _list_availability_zones: per (zone, resource), available when any of
// its agents is administratively up.
func (p *Plugin) AvailabilityZones(ctx context.Context) ([]Zone, error) {
	var rows []store.AgentRow
	if err := p.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		rows, err = tx.Agents(ctx, "", "")
		return err
	}); err != nil {
		return nil, fmt.Errorf("list availability zones: %w", err)
	}
	index := map[[2]string]int{}
	var out []Zone
	for _, r := range rows {
		var kind string
		switch r.Type {
		case rpcapi.AgentTypeDHCP:
			kind = "network"
		case rpcapi.AgentTypeL3:
			kind = "router"
		default:
			continue
		}
		if r.AvailabilityZone == "" {
			continue
		}
		k := [2]string{r.AvailabilityZone, kind}
		if i, ok := index[k]; ok {
			out[i].Available = out[i].Available || r.AdminStateUp
			continue
		}
		index[k] = len(out)
		out = append(out, Zone{Name: r.AvailabilityZone, Resource: kind, Available: r.AdminStateUp})
	}
	slices.SortFunc(out, func(a, b Zone) int {
		if a.Name != b.Name {
			return compare(a.Name, b.Name)
		}
		return compare(a.Resource, b.Resource)
	})
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// List implements plugin.Handler; filters apply in memory.
func (h *zoneHandler) List(ctx context.Context, q *resource.Query) ([]*resource.Object, error) {
	zones, err := h.p.AvailabilityZones(ctx)
	if err != nil {
		return nil, err
	}
	project := ""
	if q.Scope != nil {
		project = q.Scope.ProjectID
	}
	var out []*resource.Object
	for _, z := range zones {
		o := resource.New(h.res)
		state := "unavailable"
		if z.Available {
			state = "available"
		}
		o.Set("name", z.Name)
		o.Set("resource", z.Resource)
		o.Set("state", state)
		o.Set("project_id", project)
		keep := true
		for _, f := range q.Filters {
			if !slices.Contains(f.Values, o.Get(f.Attr.Name)) {
				keep = false
			}
		}
		if keep {
			out = append(out, o)
		}
	}
	// Neutron pages zones in memory (they are sorted by name and
	// resource, and have no id a marker could name).
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Scope keeps the caller's project in the query so zones carry it for
// policy, as Neutron's do.
func (h *zoneHandler) Scope(projectID string) *resource.Scope {
	return &resource.Scope{ProjectID: projectID}
}

// Get implements plugin.Handler: zones have no show.
func (h *zoneHandler) Get(context.Context, string) (*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

func (h *zoneHandler) readOnly() error {
	return fault.New(405, "HTTPMethodNotAllowed", "The server could not comply with the request since it is either malformed or otherwise incorrect.")
}

// Create implements plugin.Handler; zones are read-only.
func (h *zoneHandler) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, h.readOnly()
}

// Update implements plugin.Handler; zones are read-only.
func (h *zoneHandler) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, h.readOnly()
}

// Delete implements plugin.Handler; zones are read-only.
func (h *zoneHandler) Delete(context.Context, string, int) error { return h.readOnly() }
