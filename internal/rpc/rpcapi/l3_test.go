package rpcapi

import (
	"encoding/json"
	"testing"
)

// TestNullable: an unset floating IP port and router gateway are null on
// the wire, as Neutron sends them, and read back as "".
func TestNullable(t *testing.T) {
	b, err := json.Marshal(FloatingIP{ID: "f", PortID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["fixed_ip_address"]; !ok || v != nil || m["port_id"] != "p" {
		t.Errorf("fixed_ip_address %v (present %v), port_id %v", v, ok, m["port_id"])
	}
	var back FloatingIP
	if err := json.Unmarshal(b, &back); err != nil || back.FixedIPAddress != "" || back.PortID != "p" {
		t.Errorf("read back %+v, %v", back, err)
	}
}
