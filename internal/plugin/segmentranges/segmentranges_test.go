package segmentranges

import (
	"reflect"
	"testing"

	"github.com/neutrino-net/neutrino/internal/store"
)

func TestSubtract(t *testing.T) {
	r := func(lo, hi int) store.IDRange { return store.IDRange{Min: lo, Max: hi} }
	for _, c := range []struct {
		name        string
		ranges, cut []store.IDRange
		want        []store.IDRange
	}{
		{"nothing cut", []store.IDRange{r(1, 10)}, nil, []store.IDRange{r(1, 10)}},
		{"disjoint", []store.IDRange{r(1, 10)}, []store.IDRange{r(20, 30)}, []store.IDRange{r(1, 10)}},
		{"middle", []store.IDRange{r(1, 10)}, []store.IDRange{r(4, 6)}, []store.IDRange{r(1, 3), r(7, 10)}},
		{"head and tail", []store.IDRange{r(1, 10)}, []store.IDRange{r(0, 2), r(9, 12)}, []store.IDRange{r(3, 8)}},
		{"whole", []store.IDRange{r(1, 10), r(20, 25)}, []store.IDRange{r(1, 10)}, []store.IDRange{r(20, 25)}},
		{"across ranges", []store.IDRange{r(1, 10), r(20, 25)}, []store.IDRange{r(8, 21)}, []store.IDRange{r(1, 7), r(22, 25)}},
	} {
		if got := subtract(c.ranges, c.cut); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: subtract(%v, %v) = %v, want %v", c.name, c.ranges, c.cut, got, c.want)
		}
	}
}

func TestVerify(t *testing.T) {
	for _, c := range []struct {
		typ    string
		lo, hi int
		ok     bool
	}{
		{"vlan", 1, 4094, true}, {"vlan", 0, 5, false}, {"vlan", 10, 5, false}, {"vlan", 1, 4095, false},
		{"vxlan", 1, 1<<24 - 1, true}, {"vxlan", 1, 1 << 24, false}, {"geneve", 5, 4, false},
		{"gre", 1, 1<<32 - 1, true},
	} {
		if err := verify(c.typ, c.lo, c.hi); (err == nil) != c.ok {
			t.Errorf("verify(%s, %d, %d) = %v, want ok=%v", c.typ, c.lo, c.hi, err, c.ok)
		}
	}
}
