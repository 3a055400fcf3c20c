package qos

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/fault"
)

// Neutron's QoS exceptions (neutron_lib/exceptions/qos.py).

// PolicyNotFound is QosPolicyNotFound.
func PolicyNotFound(id string) error {
	return fault.NotFound("QosPolicyNotFound", fmt.Sprintf("QoS policy %s could not be found.", id))
}

// RuleNotFound is QosRuleNotFound.
func RuleNotFound(policyID, ruleID string) error {
	return fault.NotFound("QosRuleNotFound",
		fmt.Sprintf("QoS rule %s for policy %s could not be found.", ruleID, policyID))
}

func defaultExists(project string) error {
	return fault.Conflict("QoSPolicyDefaultAlreadyExists", "A default QoS policy exists for project %s.", project)
}

func policyInUse(policyID, objectType, objectID string) error {
	return fault.Conflict("QosPolicyInUse", "QoS Policy %s is used by %s %s.", policyID, objectType, objectID)
}

func ruleNotSupported(ruleType, portID string) error {
	return fault.Conflict("QosRuleNotSupported", "Rule %s is not supported by port %s", ruleType, portID)
}

func parameterConflict(value any, policyID, existingRule string, existingValue any) error {
	return fault.Conflict("QoSRuleParameterConflict",
		"Unable to add the rule with value %v to the policy %s as the existing rule of type %s has value %v.",
		value, policyID, existingRule, existingValue)
}

func rulesConflict(newType, ruleID, policyID string) error {
	return fault.Conflict("QoSRulesConflict", "Rule %s conflicts with rule %s which already exists in QoS Policy %s.",
		newType, ruleID, policyID)
}

func removeNotAuthorized(policyID string) error {
	return fault.New(403, "PolicyRemoveAuthorizationError",
		"Failed to remove provided policy %s because you are not authorized.", policyID)
}
