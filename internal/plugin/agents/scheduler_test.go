package agents

import (
	"fmt"
	"testing"

	"github.com/neutrino-net/neutrino/internal/store"
)

func TestVacantIndex(t *testing.T) {
	for _, tc := range []struct {
		used  []int
		limit int
		want  int
	}{
		{nil, 1, 1},
		{[]int{1}, 1, 0},
		{[]int{1, 3}, 3, 2},
		{[]int{2}, 2, 1},
		{[]int{1, 2}, 2, 0},
		{nil, 0, 0},
	} {
		var bs []store.Binding
		for _, i := range tc.used {
			bs = append(bs, store.Binding{Index: i})
		}
		if got := vacantIndex(bs, tc.limit); got != tc.want {
			t.Errorf("vacantIndex(%v, %d) = %d, want %d", tc.used, tc.limit, got, tc.want)
		}
	}
}

func TestPickSpread(t *testing.T) {
	agents := []store.AgentRow{
		{ID: "a", AvailabilityZone: "z1"}, {ID: "b", AvailabilityZone: "z1"},
		{ID: "c", AvailabilityZone: "z2"}, {ID: "d", AvailabilityZone: "z2"},
	}
	for _, tc := range []struct {
		name   string
		load   map[string]int
		hosted map[string]int
		n      int
		want   string
	}{
		{"least loaded first", map[string]int{"a": 3, "b": 1, "c": 2, "d": 5}, nil, 1, "[b]"},
		{"spread over zones", map[string]int{"a": 0, "b": 0, "c": 1, "d": 1}, nil, 2, "[a c]"},
		{"zone already hosting goes last", map[string]int{}, map[string]int{"z1": 1}, 1, "[c]"},
		{"more than there are", nil, nil, 9, "[a c b d]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pickSpread(append([]store.AgentRow(nil), agents...), tc.load, tc.hosted, tc.n)
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if fmt.Sprint(ids) != tc.want {
				t.Errorf("picked %v, want %s", ids, tc.want)
			}
		})
	}
}
