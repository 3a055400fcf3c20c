package quota

import (
	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/config"
)

// [quotas]: Neutron's default per-project limits; negative is unlimited.
var (
	optDefault = config.Options.Int("quotas", "default_quota", -1,
		"Default number of resources allowed per project. A negative value means unlimited.")
	optNetwork = config.Options.Int("quotas", "quota_network", 100,
		"Number of networks allowed per project. A negative value means unlimited.")
	optSubnet = config.Options.Int("quotas", "quota_subnet", 100,
		"Number of subnets allowed per project, A negative value means unlimited.")
	optPort = config.Options.Int("quotas", "quota_port", 500,
		"Number of ports allowed per project. A negative value means unlimited.")
	optRouter = config.Options.Int("quotas", "quota_router", 10,
		"Number of routers allowed per project. A negative value means unlimited.")
	optFloatingIP = config.Options.Int("quotas", "quota_floatingip", 50,
		"Number of floating IPs allowed per project. A negative value means unlimited.")
	optSecurityGroup = config.Options.Int("quotas", "quota_security_group", 10,
		"Number of security groups allowed per project. A negative value means unlimited.")
	optSecurityGroupRule = config.Options.Int("quotas", "quota_security_group_rule", 100,
		"Number of security rules allowed per project. A negative value means unlimited.")
	optRBACPolicy = config.Options.Int("quotas", "quota_rbac_policy", 10,
		"Default number of RBAC entries allowed per project. A negative value means unlimited.")
)

// ResourcesFrom are Neutron's quota resources with their [quotas] limits
// (default_quota for those without an option of their own); those whose
// resource the loaded plugins do not serve show with no usage.
func ResourcesFrom(cfg *config.Config) []Resource {
	limit := cfg.Int
	return []Resource{
		{Name: "network", Collection: apidef.Networks, Default: limit(optNetwork)},
		{Name: "subnet", Collection: apidef.Subnets, Default: limit(optSubnet)},
		{Name: "port", Collection: apidef.Ports, Default: limit(optPort)},
		{Name: "subnetpool", Collection: apidef.SubnetPools, Default: limit(optDefault)},
		{Name: "router", Collection: apidef.Routers, Default: limit(optRouter)},
		{Name: "floatingip", Collection: apidef.FloatingIPs, Default: limit(optFloatingIP)},
		{Name: "security_group", Collection: apidef.SecurityGroups, Default: limit(optSecurityGroup)},
		{Name: "security_group_rule", Collection: apidef.SecurityGroupRules, Default: limit(optSecurityGroupRule)},
		{Name: "rbac_policy", Collection: apidef.RBACPolicies, Default: limit(optRBACPolicy)},
	}
}
