package rpcapi

import (
	"encoding/json"
	"testing"
)

func TestDeviceDetailsJSON(t *testing.T) {
	vid := 101
	physnet := "physnet1"
	tests := []struct {
		name string
		d    DeviceDetails
		want string
	}{
		{"unknown device", DeviceDetails{Device: "tapabc"}, `{"device":"tapabc"}`},
		{"bound elsewhere", DeviceDetails{Device: "tapabc", NoActiveBinding: true}, `{"device":"tapabc","no_active_binding":true}`},
		{"vxlan port, admin down", DeviceDetails{Device: "tapabc", NetworkID: "n", PortID: "p", MACAddress: "fa:16:3e:00:00:01",
			NetworkType: "vxlan", SegmentationID: &vid, MTU: 1450, RevisionNumber: 3},
			`{"device":"tapabc","network_id":"n","port_id":"p","mac_address":"fa:16:3e:00:00:01","admin_state_up":false,` +
				`"network_type":"vxlan","segmentation_id":101,"physical_network":null,"mtu":1450,"fixed_ips":[],"device_owner":"",` +
				`"allowed_address_pairs":[],"port_security_enabled":false,"qos_policy_id":null,"network_qos_policy_id":null,` +
				`"profile":{},"security_groups":[],"revision_number":3}`},
		{"vlan port", DeviceDetails{Device: "p", NetworkID: "n", PortID: "p", AdminStateUp: true, NetworkType: "vlan",
			SegmentationID: &vid, PhysicalNetwork: &physnet, FixedIPs: []FixedIP{{SubnetID: "s", IPAddress: "10.0.0.5"}},
			PortSecurityEnabled: true, SecurityGroups: []string{"sg"}},
			`{"device":"p","network_id":"n","port_id":"p","mac_address":"","admin_state_up":true,"network_type":"vlan",` +
				`"segmentation_id":101,"physical_network":"physnet1","mtu":0,"fixed_ips":[{"subnet_id":"s","ip_address":"10.0.0.5"}],` +
				`"device_owner":"","allowed_address_pairs":[],"port_security_enabled":true,"qos_policy_id":null,` +
				`"network_qos_policy_id":null,"profile":{},"security_groups":["sg"],"revision_number":0}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, b, tt.want)
		}
	}
}

func TestFDBArgsJSON(t *testing.T) {
	args := FDBArgs{FDBEntries: FDBEntries{"net": {SegmentID: 5, NetworkType: "vxlan",
		Ports: map[string][][2]string{"192.0.2.1": {{FloodingMAC, FloodingIP}, {"fa:16:3e:00:00:01", "10.0.0.5"}}}}}}
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fdb_entries":{"net":{"segment_id":5,"network_type":"vxlan","ports":{"192.0.2.1":[["00:00:00:00:00:00","0.0.0.0"],["fa:16:3e:00:00:01","10.0.0.5"]]}}}}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}
