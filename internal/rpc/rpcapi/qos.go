package rpcapi

import (
	"encoding/json"
	"fmt"
)

// QoS (neutron/api/rpc/handlers/resources_rpc.py): the server pushes a
// changed QosPolicy to the agents on its versioned-object topic; an L2
// agent with a port using the policy converges again and reads the rules
// with the port's details (DeviceDetails.QoSRules).
const (
	// TopicQoSPolicy is Neutron's resource topic for QosPolicy objects.
	TopicQoSPolicy = "neutron-vo-QosPolicy-1.10"
	// MethodResourcePush is the agents' method for pushed objects.
	MethodResourcePush = "push"
)

// ResourcePush is the arguments of push: the objects (their ids here)
// and what happened to them ("updated", "deleted").
type ResourcePush struct {
	ResourceType string           `json:"resource_type"`
	EventType    string           `json:"event_type"`
	Resources    []map[string]any `json:"resource_list"`
}

// QoSRule is one rule of a port's effective QoS policy, as Neutron's
// QosRule.to_dict shows it: id, qos_policy_id, type ("bandwidth_limit",
// "dscp_marking", …) and the type's parameters (max_kbps,
// max_burst_kbps, direction, dscp_mark, min_kbps, max_kpps, …).
type QoSRule map[string]any

// Int returns an integer parameter of the rule (JSON numbers decode as
// float64), or 0.
func (r QoSRule) Int(name string) int {
	switch v := r[name].(type) {
	case int:
		return v
	case float64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

// String returns a string parameter of the rule, or "".
func (r QoSRule) String(name string) string {
	s, _ := r[name].(string)
	return s
}

// NewNotification builds a notification with args encoded.
func NewNotification(topic, method string, fanout bool, args any) (Notification, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return Notification{}, fmt.Errorf("encode %s arguments: %w", method, err)
	}
	return Notification{Topic: topic, Method: method, Fanout: fanout, Version: "1.0", Args: raw}, nil
}
