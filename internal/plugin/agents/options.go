package agents

import (
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// Agents and agent scheduling (neutron/conf/agent/database/agents_db.py,
// agentschedulers_db.py, neutron/conf/common.py).
var (
	optAgentDownTime = config.Options.Int(config.DefaultSection, "agent_down_time", 75,
		"Seconds to regard the agent is down; should be at least twice report_interval, to be sure the agent is down for good.").Min(1)
	optEnableNewAgents = config.Options.Bool(config.DefaultSection, "enable_new_agents", true,
		"Agent starts with admin_state_up=False when enable_new_agents=False. In the case, user's resources will not be scheduled automatically to the agent until admin changes admin_state_up to True.")
	optDHCPAgentsPerNetwork = config.Options.Int(config.DefaultSection, "dhcp_agents_per_network", 1,
		"Number of DHCP agents scheduled to host a tenant network. If this number is greater than 1, the scheduler automatically assigns multiple DHCP agents for a given tenant network, providing high availability for the DHCP service.").Min(1)
	optNetworkAutoSchedule = config.Options.Bool(config.DefaultSection, "network_auto_schedule", true,
		"Allow auto scheduling networks to DHCP agent.")
	optAllowAutomaticDHCPFailover = config.Options.Bool(config.DefaultSection, "allow_automatic_dhcp_failover", true,
		"Automatically remove networks from offline DHCP agents.")
	optRouterSchedulerDriver = config.Options.String(config.DefaultSection, "router_scheduler_driver",
		"neutron.scheduler.l3_agent_scheduler.LeastRoutersScheduler",
		"Driver to use for scheduling router to a default L3 agent.").
		Choices("neutron.scheduler.l3_agent_scheduler.LeastRoutersScheduler", "neutron.scheduler.l3_agent_scheduler.ChanceScheduler")
	optRouterAutoSchedule = config.Options.Bool(config.DefaultSection, "router_auto_schedule", true,
		"Allow auto scheduling of routers to L3 agent.")
	optAllowAutomaticL3AgentFailover = config.Options.Bool(config.DefaultSection, "allow_automatic_l3agent_failover", false,
		"Automatically reschedule routers from offline L3 agents to online L3 agents.")
	optDefaultAvailabilityZones = config.Options.List(config.DefaultSection, "default_availability_zones", nil,
		"Default value of availability zone hints. The availability zone aware schedulers use this when the resources availability_zone_hints is empty.")
)

// OptionsFrom reads the agents registry's and schedulers' options of cfg;
// the caller sets Outbox and Logger.
func OptionsFrom(cfg *config.Config) Options {
	return Options{
		AgentDownTime:                 time.Duration(cfg.Int(optAgentDownTime)) * time.Second,
		EnableNewAgents:               cfg.Bool(optEnableNewAgents),
		DHCPAgentsPerNetwork:          cfg.Int(optDHCPAgentsPerNetwork),
		NetworkAutoSchedule:           cfg.Bool(optNetworkAutoSchedule),
		AllowAutomaticDHCPFailover:    cfg.Bool(optAllowAutomaticDHCPFailover),
		RouterSchedulerDriver:         cfg.String(optRouterSchedulerDriver),
		RouterAutoSchedule:            cfg.Bool(optRouterAutoSchedule),
		AllowAutomaticL3AgentFailover: cfg.Bool(optAllowAutomaticL3AgentFailover),
		DefaultAvailabilityZones:      cfg.List(optDefaultAvailabilityZones),
	}
}
