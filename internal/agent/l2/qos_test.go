package l2

import (
	"testing"

	"github.com/neutrino-net/neutrino/internal/dataplane/qos"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

func TestQoSPort(t *testing.T) {
	got := qosPort("tapx", []rpcapi.QoSRule{
		{"type": "bandwidth_limit", "max_kbps": float64(8000), "max_burst_kbps": float64(0), "direction": "egress"},
		{"type": "bandwidth_limit", "max_kbps": float64(4000), "max_burst_kbps": float64(400), "direction": "ingress"},
		{"type": "dscp_marking", "dscp_mark": float64(26)},
		{"type": "minimum_bandwidth", "min_kbps": float64(1)},
	})
	want := qos.Port{Tap: "tapx", EgressKbps: 8000, IngressKbps: 4000, IngressBurstKbit: 400, DSCP: 26, HasDSCP: true}
	if got != want {
		t.Errorf("qosPort = %+v, want %+v", got, want)
	}
	if got := qosPort("tapy", nil); got != (qos.Port{Tap: "tapy"}) {
		t.Errorf("no rules: %+v", got)
	}
}
