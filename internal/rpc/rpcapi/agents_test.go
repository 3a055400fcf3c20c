package rpcapi

import (
	"encoding/json"
	"testing"
)

// TestReportStateArgs decodes report_state's arguments as a Neutron
// agent sends them.
func TestReportStateArgs(t *testing.T) {
	raw := `{"agent_state": {"agent_state": {"binary": "neutron-dhcp-agent", "host": "net1",
		"availability_zone": "nova", "topic": "dhcp_agent", "agent_type": "DHCP agent", "start_flag": true,
		"configurations": {"dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq", "networks": 3},
		"resource_versions": {"Port": "1.7"}, "uuid": "u-1"}}, "time": "2026-11-22T08:00:00.000000"}`
	var args ReportStateArgs
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	st := args.AgentState.AgentState
	if st.AgentType != AgentTypeDHCP || st.Host != "net1" || !st.StartFlag || st.AvailabilityZone != "nova" ||
		st.Configurations["networks"] != float64(3) || st.ResourceVersions["Port"] != "1.7" || st.UUID != "u-1" ||
		args.Time == "" {
		t.Errorf("decoded %+v", args)
	}
}
