package outbox

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// TestEncode checks that a notification's body is the JSON value
// json.Marshal makes of it, whatever its names and arguments hold.
func TestEncode(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    rpcapi.Notification
	}{
		{"fanout", rpcapi.Notification{Topic: "dhcp_agent", Method: "port_create_end", Fanout: true, Version: "1.0",
			Args: json.RawMessage(`{"payload":{"port":{"id":"p1","name":"a <b> & \"c\" é"},"priority":6}}`)}},
		{"cast without a version", rpcapi.Notification{Topic: "dhcp_agent.host-1", Method: "network_delete_end",
			Args: json.RawMessage(`{"network_id":"n1"}`)}},
		{"arguments not compact", rpcapi.Notification{Topic: "t", Method: "m", Args: json.RawMessage(" {\"a\" : [1, 2],\n\"b\":null} ")}},
		{"no arguments", rpcapi.Notification{Topic: "t", Method: "m"}},
		{"names to escape", rpcapi.Notification{Topic: "l3_agent.h\"ost<1>", Method: "m\u00e9", Version: "1.1", Args: json.RawMessage(`[]`)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(tt.n)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(tt.n)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("encode = %s, json.Marshal = %s", got, want)
			}
		})
	}
	if _, err := encode(rpcapi.Notification{Topic: "t", Method: "m", Args: json.RawMessage(`{"a":`)}); err == nil {
		t.Error("arguments that are not JSON were encoded")
	}
}
