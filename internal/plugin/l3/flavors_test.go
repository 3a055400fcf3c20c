package l3

import (
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// TestCheckProvider is Neutron's L3 driver controller check of a router
// request against its flavor's provider: only values given count.
func TestCheckProvider(t *testing.T) {
	def := resource.NewResource("router", "routers",
		&resource.Attr{Name: "distributed", Kind: resource.Bool, Nullable: true},
		&resource.Attr{Name: "ha", Kind: resource.Bool, Nullable: true})
	req := func(kv ...any) *resource.Object {
		o := resource.New(def)
		for i := 0; i < len(kv); i += 2 {
			o.Set(kv[i].(string), kv[i+1])
		}
		return o
	}
	for _, tc := range []struct {
		provider string
		request  *resource.Object
		ok       bool
	}{
		{"single_node", req(), true},
		{"single_node", req("distributed", false, "ha", false), true},
		{"single_node", req("distributed", true), false},
		{"single_node", req("ha", true), false},
		{"single_node", req("ha", nil), true},
		{"dvr", req("distributed", true), true},
		{"dvr", req("distributed", false), false},
		{"dvr", req("ha", true), false},
		{"ha", req("ha", true, "distributed", false), true},
		{"ha", req("ha", false), false},
		{"dvrha", req("ha", true, "distributed", true), true},
		{"dvrha", req("distributed", false), false},
		{"operator_defined", req("ha", true, "distributed", true), true},
	} {
		err := checkProvider(tc.provider, tc.request)
		if tc.ok != (err == nil) {
			t.Errorf("%s with %v: %v", tc.provider, tc.request.Map(), err)
		}
		if err != nil && !fault.Is(err, "InvalidInput") {
			t.Errorf("%s: error %v is not InvalidInput", tc.provider, err)
		}
	}
}
