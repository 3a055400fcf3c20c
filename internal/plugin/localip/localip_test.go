package localip

import (
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

func portWith(ips ...string) *resource.Object {
	def := resource.NewResource("port", "ports",
		&resource.Attr{Name: "id", Kind: resource.String},
		&resource.Attr{Name: "fixed_ips", Kind: resource.JSON})
	o := resource.New(def)
	o.Set("id", "p1")
	var fixed []any
	for _, ip := range ips {
		fixed = append(fixed, map[string]any{"subnet_id": "s", "ip_address": ip})
	}
	o.Set("fixed_ips", fixed)
	return o
}

// TestPickAddress is Neutron's choice of a local IP's (or an
// association's) address from a port.
func TestPickAddress(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ips       []string
		requested string
		want      string
		fault     string
	}{
		{"only address", []string{"10.0.0.5"}, "", "10.0.0.5", ""},
		{"only address requested", []string{"10.0.0.5"}, "10.0.0.5", "10.0.0.5", ""},
		{"only address, another requested", []string{"10.0.0.5"}, "10.0.0.6", "", "LocalIPRequestedIPNotFound"},
		{"no address", nil, "", "", "LocalIPNoIP"},
		{"no address, one requested", nil, "10.0.0.6", "", "LocalIPNoIP"},
		{"several, none requested", []string{"10.0.0.5", "10.0.0.6"}, "", "", "LocalIPNoRequestedIP"},
		{"several, one requested", []string{"10.0.0.5", "10.0.0.6"}, "10.0.0.6", "10.0.0.6", ""},
		{"IPv6 spelled otherwise", []string{"fd00::5"}, "fd00:0::5", "fd00::5", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickAddress(portWith(tc.ips...), tc.requested)
			if tc.fault != "" {
				if !fault.Is(err, tc.fault) {
					t.Fatalf("error %v, want %s", err, tc.fault)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
