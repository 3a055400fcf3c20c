package link

import "testing"

func TestNames(t *testing.T) {
	const id = "3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7a"
	for _, c := range []struct{ got, want string }{
		{BridgeName(id), "brq3f1c6f52-9a"},
		{TapName(id), "tap3f1c6f52-9a"},
		{NSDevName(id), "ns-3f1c6f52-9a"},
		{VXLANName(1001), "vxlan-1001"},
		{DHCPNamespace(id), "qdhcp-" + id},
		{TapName("short"), "tapshort"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
		if len(c.got) > 15 && c.got[:6] != "qdhcp-" {
			t.Errorf("%q exceeds IFNAMSIZ-1", c.got)
		}
	}
}
