package apidef

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidateSubPorts(t *testing.T) {
	const a, b = "3f2b0e4c-1c8e-4a51-9d3a-0a8b3e6f0a01", "3f2b0e4c-1c8e-4a51-9d3a-0a8b3e6f0a02"
	for _, c := range []struct {
		name, body, err string
	}{
		{"empty", `[]`, ""},
		{"one", `[{"port_id":"` + a + `","segmentation_type":"vlan","segmentation_id":2}]`, ""},
		{"port id alone", `[{"port_id":"` + a + `"}]`, ""},
		{"not a list", `{"port_id":"` + a + `"}`, "Invalid data format for subports: '{'port_id': '" + a + "'}' is not a list"},
		{"not a dict", `["x"]`, "Invalid data format for subport: 'x' is not a dict"},
		{"no port id", `[{"segmentation_type":"vlan","segmentation_id":2}]`, "A valid port UUID must be specified"},
		{"bad port id", `[{"port_id":"nope"}]`, "Invalid UUID for subport: 'nope'"},
		{"port twice", `[{"port_id":"` + a + `"},{"port_id":"` + a + `"}]`, "Non unique UUID for subport: '" + a + "'"},
		{"no id", `[{"port_id":"` + a + `","segmentation_type":"vlan"}]`, "missing segmentation information"},
		{"null id", `[{"port_id":"` + a + `","segmentation_type":"vlan","segmentation_id":null}]`, "missing segmentation information"},
		{"no type", `[{"port_id":"` + a + `","segmentation_id":3}]`, "missing segmentation information"},
		{"id twice", `[{"port_id":"` + a + `","segmentation_type":"vlan","segmentation_id":2},{"port_id":"` + b + `","segmentation_type":"vlan","segmentation_id":2}]`,
			"Segmentation ID '2' for '" + b + "' is not unique"},
		{"same id, other types", `[{"port_id":"` + a + `","segmentation_type":"vlan","segmentation_id":2},{"port_id":"` + b + `","segmentation_type":"x","segmentation_id":2}]`, ""},
		// neutron-lib stops at the first inherit: what follows is not
		// checked here (the plugin checks it).
		{"inherit stops", `[{"port_id":"` + a + `","segmentation_type":"inherit"},{"port_id":"nope"}]`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(c.body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			err := ValidateSubPorts(v)
			switch {
			case c.err == "" && err != nil:
				t.Errorf("error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("error %v, want %q", err, c.err)
			}
			if _, cerr := ConvertSubPorts(v); (cerr == nil) != (err == nil) {
				t.Errorf("ConvertSubPorts disagrees: %v", cerr)
			}
		})
	}
}
