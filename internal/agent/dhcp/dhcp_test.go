package dhcp

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestToRenderAddsDHCPPortOnce(t *testing.T) {
	dp := Port{ID: "dhcp-port", MAC: "fa:16:3e:00:00:02", FixedIPs: []FixedIP{{SubnetID: "s", IPAddress: "10.0.0.2"}}}
	vm := Port{ID: "vm", MAC: "fa:16:3e:00:00:11", DeviceOwner: "compute:nova"}
	for _, c := range []struct {
		name  string
		ports []Port
		want  int
	}{
		{"absent from ports", []Port{vm}, 2},
		{"already among ports", []Port{vm, dp}, 2},
	} {
		rn := toRender(Network{ID: "n", Ports: c.ports, DHCPPort: dp})
		if len(rn.Ports) != c.want {
			t.Errorf("%s: %d ports, want %d", c.name, len(rn.Ports), c.want)
		}
		last := rn.Ports[len(rn.Ports)-1]
		if c.name == "absent from ports" && last.DeviceOwner != "network:dhcp" {
			t.Errorf("%s: DHCP port added with owner %q", c.name, last.DeviceOwner)
		}
	}
}

func TestDHCPAddrs(t *testing.T) {
	n := Network{
		Subnets: []Subnet{{ID: "v4", CIDR: "10.0.0.0/22"}, {ID: "v6", CIDR: "2001:db8::/64"}},
		DHCPPort: Port{FixedIPs: []FixedIP{
			{SubnetID: "v4", IPAddress: "10.0.1.2"},
			{SubnetID: "v6", IPAddress: "2001:db8::2"},
			{SubnetID: "elsewhere", IPAddress: "192.0.2.9"}, // not a subnet of this network
		}},
	}
	for _, c := range []struct {
		metadata bool
		want     []string
	}{
		{false, []string{"10.0.1.2/22", "2001:db8::2/64"}},
		{true, []string{"10.0.1.2/22", "2001:db8::2/64", "169.254.169.254/32", "fe80::a9fe:a9fe/128"}},
	} {
		r := New(nil, Config{EnableIsolatedMetadata: c.metadata}, nil)
		got, err := r.dhcpAddrs(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("metadata=%v: %v, want %v", c.metadata, got, c.want)
		}
		for i, a := range got {
			ones, _ := a.Mask.Size()
			if s := (&net.IPNet{IP: a.IP, Mask: a.Mask}).String(); s != c.want[i] || ones == 0 {
				t.Errorf("metadata=%v: address %d = %s, want %s", c.metadata, i, s, c.want[i])
			}
		}
	}
	if _, err := New(nil, Config{}, nil).dhcpAddrs(Network{Subnets: []Subnet{{ID: "x", CIDR: "bogus"}}}); err == nil {
		t.Error("a bad CIDR must be an error")
	}
}

func TestServedOnlyUUIDDirectories(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7a", "log", ".tmp", "3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7z"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "0d6c2f1e-9a4e-4c1b-8a55-3f1c6f529b7a"), nil, 0o644); err != nil {
		t.Fatal(err) // a file, not a directory
	}
	got := New(nil, Config{StateDir: dir}, nil).served()
	if len(got) != 1 || got[0] != "3f1c6f52-9a4e-4c1b-8a55-0d6c2f1e9b7a" {
		t.Fatalf("served() = %v", got)
	}
}
