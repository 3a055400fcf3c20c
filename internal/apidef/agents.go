package apidef

import "github.com/neutrino-net/neutrino/internal/resource"

// Collections of the agent management and scheduling extensions.
const (
	Agents            = "agents"
	AvailabilityZones = "availability_zones"
)

// The agent extension (neutron-lib api/definitions/agent.py) and the
// availability_zone extension's list of zones and agent attribute.
func init() {
	registerResource(Agents, func() *resource.Resource {
		str := func(name string) *resource.Attr {
			return &resource.Attr{Name: name, Kind: resource.String, Visible: true, Filter: true, Sort: true}
		}
		r := resource.NewResource("agent", Agents,
			&resource.Attr{Name: "id", Kind: resource.String, Visible: true, Filter: true, Sort: true, Validate: resource.UUID},
			str("agent_type"),
			// BINARY is reserved in PostgreSQL, so the column is
			// agent_binary; the plugin shows it as binary.
			&resource.Attr{Name: "binary", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual, Default: ""},
			str("topic"),
			str("host"),
			&resource.Attr{Name: "admin_state_up", Kind: resource.Bool, AllowPut: true, Visible: true, Filter: true, Sort: true},
			&resource.Attr{Name: "created_at", Kind: resource.String, Visible: true, Sort: true},
			&resource.Attr{Name: "started_at", Kind: resource.String, Visible: true, Sort: true},
			&resource.Attr{Name: "heartbeat_timestamp", Kind: resource.String, Visible: true, Sort: true},
			&resource.Attr{Name: "alive", Kind: resource.Bool, Visible: true, Filter: true, Storage: resource.Virtual, Default: false},
			&resource.Attr{Name: "configurations", Kind: resource.JSON, Visible: true},
			&resource.Attr{Name: "description", Kind: resource.String, Nullable: true, AllowPut: true, Visible: true,
				Filter: true, Validate: resource.MaxLen(255)},
			&resource.Attr{Name: "availability_zone", Kind: resource.String, Nullable: true, Visible: true, Filter: true,
				Extension: "availability_zone"},
			// Whether the agent's last sync of its resources to Placement
			// succeeded; null for agents that report none.
			&resource.Attr{Name: "resources_synced", Kind: resource.Bool, Nullable: true, Visible: true,
				Extension: "agent-resources-synced"},
			&resource.Attr{Name: "agent_binary", Kind: resource.String},
			&resource.Attr{Name: "load", Kind: resource.Int},
		)
		r.Extension = "agent"
		return r
	})
	registerResource(AvailabilityZones, func() *resource.Resource {
		r := resource.NewResource("availability_zone", AvailabilityZones,
			&resource.Attr{Name: "name", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "resource", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "state", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			// Neutron puts the caller's project into each zone for policy
			// checks; it is not shown.
			&resource.Attr{Name: "project_id", Kind: resource.String, Storage: resource.Virtual},
		)
		r.Extension = "availability_zone"
		r.ReadOnly = true
		return r
	})
	for _, e := range []*Extension{
		{Alias: "agent", Name: "agent", Description: "The agent management extension.",
			Updated: "2013-02-03T10:00:00-00:00"},
		{Alias: "availability_zone", Name: "Availability Zone", Description: "The availability zone extension.",
			Updated: "2015-01-01T10:00:00-00:00", Requires: []string{"agent"}},
		{Alias: "availability_zone_filter", Name: "Availability Zone Filter Extension",
			Description: "Add filter parameters to AvailabilityZone resource",
			Updated:     "2018-06-22T10:00:00-00:00", Requires: []string{"availability_zone"}},
		{Alias: "agent-resources-synced", Name: "Agent's Resource View Synced to Placement",
			Description: "Stores success/failure of last sync to Placement",
			Updated:     "2018-12-19T00:00:00-00:00", Requires: []string{"agent"}},
		{Alias: "dhcp_agent_scheduler", Name: "DHCP Agent Scheduler", Description: "Schedule networks among dhcp agents",
			Updated: "2013-02-07T10:00:00-00:00", Requires: []string{"agent"}},
		{Alias: "l3_agent_scheduler", Name: "L3 Agent Scheduler", Description: "Schedule routers among l3 agents",
			Updated: "2013-02-07T10:00:00-00:00", Requires: []string{"agent"}},
	} {
		registerExtension(e)
	}
}
