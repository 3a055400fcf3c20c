package store_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/store"
)

// key is the store key of the n-th address of 10.0.0.0/8.
func key(n int) store.Key {
	var k store.Key
	k[10], k[11], k[12] = 0xff, 0xff, 10
	k[13], k[14], k[15] = byte(n>>16), byte(n>>8), byte(n)
	return k
}

// ipamSubnet creates the network and subnet rows free ranges refer to.
func ipamSubnet(t *testing.T, st *store.Store, id string) {
	t.Helper()
	err := st.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Exec(context.Background(), "INSERT INTO networks (id, created_at, updated_at) VALUES (?, '', '')", "net-"+id); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), "INSERT INTO subnets (id, network_id, ip_version, cidr, created_at, updated_at) VALUES (?, ?, 4, '10.0.0.0/8', '', '')",
			id, "net-"+id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ranges reads a subnet's free ranges, in order.
func ranges(t *testing.T, st *store.Store, subnetID string) []store.KeyRange {
	t.Helper()
	q := "SELECT first_ip, last_ip FROM ip_availability_ranges WHERE subnet_id = ? ORDER BY first_ip"
	if st.Engine() == "postgresql" {
		q = "SELECT first_ip, last_ip FROM ip_availability_ranges WHERE subnet_id = $1 ORDER BY first_ip"
	}
	rows, err := st.DB().Query(q, subnetID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.KeyRange
	for rows.Next() {
		var a, b []byte
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		var r store.KeyRange
		copy(r.First[:], a)
		copy(r.Last[:], b)
		out = append(out, r)
	}
	return out
}

// TestFreeRanges takes every address of a range, by lowest and by name,
// returns them in random order, and checks the range table stays exact
// and merged.
func TestFreeRanges(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		ipamSubnet(t, st, "s1")
		const size = 200
		write := func(f func(tx *store.Tx) error) {
			t.Helper()
			if err := st.Write(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		write(func(tx *store.Tx) error {
			return tx.SetFreeRanges(ctx, "s1", []store.KeyRange{{First: key(1), Last: key(size)}})
		})
		// Named addresses split the range; the lowest free one comes next.
		for _, n := range []int{1, 50, 51, size, 120} {
			write(func(tx *store.Tx) error {
				ok, err := tx.TakeSpecific(ctx, "s1", key(n))
				if err == nil && !ok {
					t.Errorf("address %d not free", n)
				}
				return err
			})
		}
		write(func(tx *store.Tx) error {
			ok, err := tx.TakeSpecific(ctx, "s1", key(50))
			if ok {
				t.Errorf("address 50 taken twice")
			}
			return err
		})
		want := []store.KeyRange{{First: key(2), Last: key(49)}, {First: key(52), Last: key(119)}, {First: key(121), Last: key(size - 1)}}
		if got := ranges(t, st, "s1"); !equalRanges(got, want) {
			t.Fatalf("ranges after named takes: %v, want %v", got, want)
		}
		taken := map[store.Key]bool{key(1): true, key(50): true, key(51): true, key(size): true, key(120): true}
		for i := 0; ; i++ {
			var k store.Key
			var err error
			write(func(tx *store.Tx) error {
				k, err = tx.TakeFree(ctx, "s1")
				if errors.Is(err, store.ErrSubnetFull) {
					return nil
				}
				return err
			})
			if errors.Is(err, store.ErrSubnetFull) {
				break
			}
			if taken[k] {
				t.Fatalf("address %v handed out twice", k)
			}
			taken[k] = true
		}
		if len(taken) != size {
			t.Fatalf("%d addresses taken, want %d", len(taken), size)
		}
		if got := ranges(t, st, "s1"); len(got) != 0 {
			t.Fatalf("full subnet has free ranges %v", got)
		}
		// Give everything back in random order: the table ends as one
		// range, and never holds overlapping or adjacent ranges.
		order := rand.Perm(size)
		for i, n := range order {
			write(func(tx *store.Tx) error { return tx.ReturnFree(ctx, "s1", key(n+1)) })
			if i%17 == 0 {
				checkRanges(t, ranges(t, st, "s1"))
			}
		}
		write(func(tx *store.Tx) error { return tx.ReturnFree(ctx, "s1", key(7)) }) // already free: no change
		if got := ranges(t, st, "s1"); !equalRanges(got, []store.KeyRange{{First: key(1), Last: key(size)}}) {
			t.Fatalf("ranges after returning everything: %v", got)
		}
	})
}

// TestFreeRangesConcurrent runs TakeFree, TakeSpecific and ReturnFree from
// many goroutines on one subnet: no address is ever held twice.
func TestFreeRangesConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		ipamSubnet(t, st, "s2")
		const size = 100
		if err := st.Write(ctx, func(tx *store.Tx) error {
			return tx.SetFreeRanges(ctx, "s2", []store.KeyRange{{First: key(1), Last: key(size)}})
		}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		held := map[store.Key]bool{}
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				var mine []store.Key
				for i := range 60 {
					switch {
					case i%3 == 2 && len(mine) > 0:
						k := mine[0]
						mine = mine[1:]
						mu.Lock()
						delete(held, k)
						mu.Unlock()
						if err := st.Write(ctx, func(tx *store.Tx) error { return tx.ReturnFree(ctx, "s2", k) }); err != nil {
							t.Error(err)
							return
						}
					default:
						var k store.Key
						var got bool
						err := st.Write(ctx, func(tx *store.Tx) error {
							got = false
							if w%4 == 0 {
								k = key(1 + rand.IntN(size))
								ok, err := tx.TakeSpecific(ctx, "s2", k)
								got = ok
								return err
							}
							var err error
							k, err = tx.TakeFree(ctx, "s2")
							if errors.Is(err, store.ErrSubnetFull) {
								return nil
							}
							got = err == nil
							return err
						})
						if err != nil {
							t.Error(err)
							return
						}
						if got {
							mu.Lock()
							if held[k] {
								t.Errorf("address %v held twice", k)
							}
							held[k] = true
							mu.Unlock()
							mine = append(mine, k)
						}
					}
				}
			})
		}
		wg.Wait()
		// What is free and what is held make up the range exactly.
		free := 0
		got := ranges(t, st, "s2")
		checkRanges(t, got)
		for _, r := range got {
			for k := r.First; ; k = k.Next() {
				if held[k] {
					t.Errorf("address %v both free and held", k)
				}
				free++
				if k == r.Last {
					break
				}
			}
		}
		if free+len(held) != size {
			t.Errorf("%d free + %d held, want %d", free, len(held), size)
		}
	})
}

func equalRanges(a, b []store.KeyRange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkRanges fails unless rs are ordered, disjoint and not adjacent.
func checkRanges(t *testing.T, rs []store.KeyRange) {
	t.Helper()
	for i, r := range rs {
		if bytes.Compare(r.First[:], r.Last[:]) > 0 {
			t.Fatalf("range %d is inverted: %v", i, r)
		}
		if i == 0 {
			continue
		}
		if next := rs[i-1].Last.Next(); bytes.Compare(next[:], r.First[:]) >= 0 {
			t.Fatalf("ranges %v and %v overlap or touch", rs[i-1], r)
		}
	}
}
