package l2

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestGroupFor(t *testing.T) {
	for _, c := range []struct {
		group string
		vni   int
		want  string
		err   bool
	}{
		{"239.1.1.1", 1001, "239.1.1.1", false},
		{"239.1.1.0/24", 1001, "239.1.1.233", false}, // 1001 & 255
		{"239.0.0.0/8", 70000, "239.1.17.112", false},
		{"224.0.0.0/4", 5, "224.0.0.5", false},
		{"239.1.1.0/32", 7, "239.1.1.0", false},
		{"not-an-ip", 1, "", true},
		{"ff05::/16", 1, "", true},
	} {
		got, err := GroupFor(c.group, c.vni)
		if (err != nil) != c.err {
			t.Errorf("GroupFor(%q, %d) error = %v, want error %v", c.group, c.vni, err, c.err)
			continue
		}
		if err == nil && got.String() != c.want {
			t.Errorf("GroupFor(%q, %d) = %s, want %s", c.group, c.vni, got, c.want)
		}
	}
}

func TestFDBEntriesJSON(t *testing.T) {
	// Neutron's l2population fdb_add payload.
	payload := `{"net-1": {"segment_id": 1001, "network_type": "vxlan",
		"ports": {"10.0.0.2": [["00:00:00:00:00:00", "0.0.0.0"], ["fa:16:3e:00:00:01", "10.1.0.5"]]}}}`
	var got FDBEntries
	if err := json.Unmarshal([]byte(payload), &got); err != nil {
		t.Fatal(err)
	}
	want := FDBEntries{"net-1": {SegmentID: 1001, NetworkType: "vxlan", Ports: map[string][]PortInfo{
		"10.0.0.2": {FloodEntry, {MAC: "fa:16:3e:00:00:01", IP: "10.1.0.5"}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	b, err := json.Marshal(got["net-1"].Ports)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"10.0.0.2":[["00:00:00:00:00:00","0.0.0.0"],["fa:16:3e:00:00:01","10.1.0.5"]]}` {
		t.Fatalf("encoded %s", b)
	}
	var bad PortInfo
	if err := json.Unmarshal([]byte(`["only-mac"]`), &bad); err == nil {
		t.Fatal("a one-element port info must not decode")
	}
}

func TestFDBAddRemove(t *testing.T) {
	r := New(nil, Config{}, nil)
	entry := func(ip string, infos ...PortInfo) FDBEntries {
		return FDBEntries{"n": {Ports: map[string][]PortInfo{ip: infos}}}
	}
	a := PortInfo{MAC: "FA:16:3E:00:00:01", IP: "10.1.0.5"} // case is normalised
	r.FDBAdd(entry("10.0.0.2", FloodEntry, a))
	r.FDBAdd(entry("10.0.0.3", FloodEntry))
	r.FDBRemove(entry("10.0.0.2", PortInfo{MAC: "fa:16:3e:00:00:01", IP: "10.1.0.5"}))
	want := map[string]map[string]map[PortInfo]bool{"n": {
		"10.0.0.2": {FloodEntry: true},
		"10.0.0.3": {FloodEntry: true},
	}}
	if !reflect.DeepEqual(r.fdb, want) {
		t.Fatalf("after add/remove: %v", r.fdb)
	}
	r.FDBRemove(entry("10.0.0.2", FloodEntry))
	r.FDBRemove(entry("10.0.0.3", FloodEntry))
	if len(r.fdb) != 0 {
		t.Fatalf("empty network kept: %v", r.fdb)
	}
}

func TestVLANName(t *testing.T) {
	for _, c := range []struct {
		ifname string
		vid    int
		want   string
	}{
		{"eth0", 100, "eth0.100"},
		{"enp0s31f6-long", 4094, "enp0s31f6-.4094"},
	} {
		if got := vlanName(c.ifname, c.vid); got != c.want || len(got) > 15 {
			t.Errorf("vlanName(%q, %d) = %q, want %q", c.ifname, c.vid, got, c.want)
		}
	}
}
