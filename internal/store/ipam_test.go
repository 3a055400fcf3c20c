package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/store"
)

// key is the store key of the n-th address of 10.0.0.0/8.
func key(n int) store.Key {
	var k store.Key
	k[10], k[11], k[12] = 0xff, 0xff, 10
	k[13], k[14], k[15] = byte(n>>16), byte(n>>8), byte(n)
	return k
}

func keyName(k store.Key) string { return fmt.Sprintf("10.%d.%d.%d", k[13], k[14], k[15]) }

// ipamSubnet creates the network and subnet rows allocations refer to.
func ipamSubnet(t *testing.T, st *store.Store, id string) {
	t.Helper()
	err := st.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Exec(context.Background(), "INSERT INTO networks (id, created_at, updated_at) VALUES (?, '', '')", "net-"+id); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), "INSERT INTO subnets (id, network_id, ip_version, cidr, allocation_pools, created_at, updated_at) VALUES (?, ?, 4, '10.0.0.0/8', ?, '', '')",
			id, "net-"+id, `[{"start": "10.0.0.1", "end": "10.0.0.200"}]`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

var portSeq atomic.Int64

// newPort inserts a port row on the subnet's network and returns its id.
func newPort(ctx context.Context, tx *store.Tx, subnetID string) (string, error) {
	n := portSeq.Add(1)
	id := fmt.Sprintf("port-%d", n)
	_, err := tx.Exec(ctx, "INSERT INTO ports (id, network_id, mac_address, created_at, updated_at) VALUES (?, ?, ?, '', '')",
		id, "net-"+subnetID, fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n)))
	return id, err
}

// takeFree creates a port holding a free address of pools on the subnet.
func takeFree(ctx context.Context, tx *store.Tx, subnetID string, pools []store.KeyRange) (store.Allocation, error) {
	id, err := newPort(ctx, tx, subnetID)
	if err != nil {
		return store.Allocation{}, err
	}
	return tx.TakeFree(ctx, store.Allocation{PortID: id, SubnetID: subnetID, NetworkID: "net-" + subnetID}, pools, keyName)
}

// held reads the subnet's allocations as address → port.
func held(t *testing.T, st *store.Store, subnetID string) map[store.Key]string {
	t.Helper()
	out := map[store.Key]string{}
	err := st.Read(context.Background(), func(tx *store.Tx) error {
		as, err := tx.SubnetAllocations(context.Background(), subnetID)
		for _, a := range as {
			if keyName(a.Key) != a.IPAddress {
				t.Errorf("allocation %v names %s", a.Key, a.IPAddress)
			}
			out[a.Key] = a.PortID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTakeFree hands out a pool's addresses lowest first around named
// ones, says when it is full, and hands out again what was released or
// rolled back; new pools replace the old ones.
func TestTakeFree(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		ipamSubnet(t, st, "s1")
		const size = 200
		pools := []store.KeyRange{{First: key(1), Last: key(size)}}
		take := func() (store.Allocation, error) {
			var a store.Allocation
			err := st.Write(ctx, func(tx *store.Tx) error {
				var err error
				a, err = takeFree(ctx, tx, "s1", pools)
				return err
			})
			return a, err
		}

		err := st.Write(ctx, func(tx *store.Tx) error {
			got, err := tx.ShareSubnets(ctx, "s1", "nope", "s1")
			if err == nil && (len(got) != 1 || got["s1"] != `[{"start": "10.0.0.1", "end": "10.0.0.200"}]`) {
				t.Errorf("ShareSubnets: %v", got)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		named := map[int]string{}
		for _, n := range []int{1, 50, 51, size, 120} {
			err := st.Write(ctx, func(tx *store.Tx) error {
				id, err := newPort(ctx, tx, "s1")
				if err != nil {
					return err
				}
				named[n] = id
				return tx.AddAllocation(ctx, store.Allocation{PortID: id, SubnetID: "s1", NetworkID: "net-s1", IPAddress: keyName(key(n)), Key: key(n)})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		err = st.Write(ctx, func(tx *store.Tx) error {
			id, err := newPort(ctx, tx, "s1")
			if err != nil {
				return err
			}
			return tx.AddAllocation(ctx, store.Allocation{PortID: id, SubnetID: "s1", NetworkID: "net-s1", IPAddress: keyName(key(50)), Key: key(50)})
		})
		if !errors.Is(err, store.ErrAddressTaken) {
			t.Fatalf("address 50 a second time: %v", err)
		}

		// A rolled back allocation gives its address back.
		var first store.Allocation
		err = st.Write(ctx, func(tx *store.Tx) error {
			var err error
			if first, err = takeFree(ctx, tx, "s1", pools); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		if err == nil || first.Key != key(2) {
			t.Fatalf("first allocation %v (%v), want 10.0.0.2", first.IPAddress, err)
		}

		want := 2
		for {
			a, err := take()
			if errors.Is(err, store.ErrSubnetFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for named[want] != "" {
				want++
			}
			if a.Key != key(want) {
				t.Fatalf("took %s, want %s", a.IPAddress, keyName(key(want)))
			}
			want++
		}
		if got := held(t, st, "s1"); len(got) != size {
			t.Fatalf("%d addresses held on a full subnet, want %d", len(got), size)
		}

		// Released addresses come back, lowest first.
		for _, n := range []int{150, 10, 51} {
			err := st.Write(ctx, func(tx *store.Tx) error {
				return tx.RemoveAllocation(ctx, held(t, st, "s1")[key(n)], "s1", key(n))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []int{10, 51, 150} {
			if a, err := take(); err != nil || a.Key != key(n) {
				t.Fatalf("after releases took %s (%v), want %s", a.IPAddress, err, keyName(key(n)))
			}
		}
		if a, err := take(); !errors.Is(err, store.ErrSubnetFull) {
			t.Fatalf("took %s (%v) from a full subnet", a.IPAddress, err)
		}

		// New pools: addresses from them only.
		pools = []store.KeyRange{{First: key(300), Last: key(301)}, {First: key(250), Last: key(250)}}
		for _, n := range []int{250, 300, 301} {
			if a, err := take(); err != nil || a.Key != key(n) {
				t.Fatalf("new pools: took %s (%v), want %s", a.IPAddress, err, keyName(key(n)))
			}
		}
		if _, err := take(); !errors.Is(err, store.ErrSubnetFull) {
			t.Fatalf("new pools exhausted: %v", err)
		}
	})
}

// TestTakeFreeConcurrent has 16 goroutines on each of three independent
// stores (as three servers would be) allocate, release and ask for
// random addresses on one subnet, then fill it: no address is ever held
// twice, what the clients were given is what the database holds, and the
// full subnet holds every address of its pool.
func TestTakeFreeConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		dsn := e.newDSN(t)
		stores := []*store.Store{openMigrated(t, dsn), open(t, dsn), open(t, dsn)}
		ipamSubnet(t, stores[0], "s2")
		const size = 300
		pools := []store.KeyRange{{First: key(1), Last: key(size)}}
		var (
			mu    sync.Mutex
			mine  = map[store.Key]string{} // address → port, as the clients were told
			wg    sync.WaitGroup
			fails atomic.Int32
		)
		fail := func(format string, args ...any) {
			if fails.Add(1) <= 10 {
				t.Errorf(format, args...)
			}
		}
		record := func(a store.Allocation) {
			mu.Lock()
			defer mu.Unlock()
			if other, dup := mine[a.Key]; dup {
				fail("%s given to %s and %s", a.IPAddress, other, a.PortID)
			}
			mine[a.Key] = a.PortID
		}
		take := func(st *store.Store) (store.Allocation, error) {
			var a store.Allocation
			err := st.Write(ctx, func(tx *store.Tx) error {
				var err error
				if a, err = takeFree(ctx, tx, "s2", pools); err != nil {
					return err
				}
				// Stay open a little, so that transactions overlap.
				time.Sleep(time.Duration(rand.IntN(2)) * time.Millisecond)
				return nil
			})
			if err == nil {
				record(a)
			}
			return a, err
		}
		for c := range 48 {
			st := stores[c%len(stores)]
			wg.Go(func() {
				var own []store.Allocation
				for i := range 30 {
					switch {
					case i%3 == 2 && len(own) > 0:
						a := own[0]
						own = own[1:]
						mu.Lock()
						delete(mine, a.Key)
						mu.Unlock()
						if err := st.Write(ctx, func(tx *store.Tx) error { return tx.RemoveAllocation(ctx, a.PortID, "s2", a.Key) }); err != nil {
							fail("release: %v", err)
							return
						}
					case c%8 == 7:
						k := key(1 + rand.IntN(size))
						var a store.Allocation
						err := st.Write(ctx, func(tx *store.Tx) error {
							id, err := newPort(ctx, tx, "s2")
							if err != nil {
								return err
							}
							a = store.Allocation{PortID: id, SubnetID: "s2", NetworkID: "net-s2", IPAddress: keyName(k), Key: k}
							return tx.AddAllocation(ctx, a)
						})
						switch {
						case err == nil:
							record(a)
							own = append(own, a)
						case !errors.Is(err, store.ErrAddressTaken):
							fail("take %s: %v", keyName(k), err)
							return
						}
					default:
						a, err := take(st)
						switch {
						case err == nil:
							own = append(own, a)
						case !errors.Is(err, store.ErrSubnetFull):
							fail("take: %v", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		// Fill what is left from every store at once.
		for c := range 48 {
			wg.Go(func() {
				for {
					_, err := take(stores[c%len(stores)])
					if errors.Is(err, store.ErrSubnetFull) {
						return
					}
					if err != nil {
						fail("fill: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		got := held(t, stores[0], "s2")
		if len(got) != size || len(mine) != size {
			t.Errorf("%d addresses held, clients told of %d, want %d", len(got), len(mine), size)
		}
		for k, port := range mine {
			if got[k] != port {
				t.Errorf("%s: database says %q, client was told %q", keyName(k), got[k], port)
			}
		}
		for i, st := range stores {
			if a, err := take(st); !errors.Is(err, store.ErrSubnetFull) {
				t.Errorf("store %d took %s (%v) from a full subnet", i, a.IPAddress, err)
			}
		}
	})
}

// TestTakeFreeLastAddress frees one address of a full subnet and has 24
// clients on three stores race for it, several times: each time exactly
// one gets it and the others find the subnet full.
func TestTakeFreeLastAddress(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dsn := e.newDSN(t)
		stores := []*store.Store{openMigrated(t, dsn), open(t, dsn), open(t, dsn)}
		ipamSubnet(t, stores[0], "s3")
		const size = 20
		pools := []store.KeyRange{{First: key(1), Last: key(size)}}
		for i := range size {
			err := stores[i%3].Write(ctx, func(tx *store.Tx) error { _, err := takeFree(ctx, tx, "s3", pools); return err })
			if err != nil {
				t.Fatal(err)
			}
		}
		for round := range 6 {
			k := key(1 + rand.IntN(size))
			err := stores[round%3].Write(ctx, func(tx *store.Tx) error {
				return tx.RemoveAllocation(ctx, held(t, stores[0], "s3")[k], "s3", k)
			})
			if err != nil {
				t.Fatal(err)
			}
			var (
				wg         sync.WaitGroup
				start      = make(chan struct{})
				wins, full atomic.Int32
				winner     atomic.Value
			)
			for c := range 24 {
				wg.Go(func() {
					<-start
					var a store.Allocation
					err := stores[c%3].Write(ctx, func(tx *store.Tx) error {
						var err error
						if a, err = takeFree(ctx, tx, "s3", pools); err == nil {
							time.Sleep(2 * time.Millisecond) // others meet the uncommitted row
						}
						return err
					})
					switch {
					case err == nil:
						wins.Add(1)
						winner.Store(a.Key)
					case errors.Is(err, store.ErrSubnetFull):
						full.Add(1)
					default:
						t.Errorf("round %d: %v", round, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || full.Load() != 23 || winner.Load() != k {
				t.Fatalf("round %d: %d won (%v, freed %s), %d found it full", round, wins.Load(), winner.Load(), keyName(k), full.Load())
			}
			if n := len(held(t, stores[0], "s3")); n != size {
				t.Fatalf("round %d: %d held, want %d", round, n, size)
			}
		}
	})
}

// TestWindowsBounded keeps the address windows of a bounded number of
// subnets: a deleted subnet's goes at commit, and past the bound the
// least recently used idle ones go, never one a transaction holds a
// claim on; a subnet whose window went hands out its free addresses
// again, none twice.
func TestWindowsBounded(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		st.SetMaxWindows(8)
		pools := []store.KeyRange{{First: key(1), Last: key(200)}}
		const subnets = 20
		for i := range subnets + 4 {
			ipamSubnet(t, st, fmt.Sprintf("w%d", i))
		}
		for i := range subnets {
			err := st.Write(ctx, func(tx *store.Tx) error {
				_, err := takeFree(ctx, tx, fmt.Sprintf("w%d", i), pools)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(st.Windows()); got > 8 {
				t.Errorf("after subnet %d: %d windows kept, want at most 8", i, got)
			}
		}
		if w := st.Windows(); !w[fmt.Sprintf("w%d", subnets-1)] {
			t.Errorf("the most recently used window went: %v", w)
		}
		// One transaction holds a claim on a new subnet's window while it
		// allocates on three more.
		err := st.Write(ctx, func(tx *store.Tx) error {
			for i := subnets; i < subnets+4; i++ {
				if _, err := takeFree(ctx, tx, fmt.Sprintf("w%d", i), pools); err != nil {
					return err
				}
			}
			if w := st.Windows(); len(w) > 8 || !w[fmt.Sprintf("w%d", subnets)] {
				t.Errorf("windows kept with claims on w%d…w%d: %v", subnets, subnets+3, w)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Subnets whose windows went allocate on from their free
		// addresses.
		for i := range subnets {
			id := fmt.Sprintf("w%d", i)
			err := st.Write(ctx, func(tx *store.Tx) error {
				a, err := takeFree(ctx, tx, id, pools)
				if err == nil && a.Key != key(2) {
					t.Errorf("%s: second address %s, want %s", id, keyName(a.Key), keyName(key(2)))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := held(t, st, id); len(got) != 2 {
				t.Errorf("%s: %d addresses held, want 2", id, len(got))
			}
		}
		// A subnet's delete drops its window once it commits.
		last := fmt.Sprintf("w%d", subnets-1)
		if !st.Windows()[last] {
			t.Fatalf("no window for %s after allocating on it", last)
		}
		err = st.Write(ctx, func(tx *store.Tx) error {
			tx.ForgetSubnet(last)
			if !st.Windows()[last] {
				t.Errorf("the window of %s went before the delete committed", last)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Windows()[last] {
			t.Errorf("the window of %s outlived its delete", last)
		}
	})
}
