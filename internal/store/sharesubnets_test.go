package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/store"
)

// TestShareNetworkSubnetsAfterLocks: a port create's read of its
// network's subnets waits for a subnet update or delete that holds a
// subnet's lock and reads what it committed (on PostgreSQL the read runs
// after the locks are granted, not as of the statement's start): the
// new pools of the one, not the other.
func TestShareNetworkSubnetsAfterLocks(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		netDef := networkDef(t)
		subDef := apidef.Build()[apidef.Subnets].Restrict(func(string) bool { return true })
		st.Bind(netDef)
		st.Bind(subDef)
		insertNetwork(t, st, netDef, "net-a", "a")
		if err := st.Write(ctx, func(tx *store.Tx) error {
			for _, id := range []string{"s1", "s2"} {
				if _, err := tx.Exec(ctx, "INSERT INTO subnets (id, network_id, ip_version, cidr, allocation_pools, created_at, updated_at)"+
					" VALUES (?, 'net-a', 4, '10.0.0.0/24', '[{\"start\": \"10.0.0.2\", \"end\": \"10.0.0.9\"}]', ?, ?)", id, "2026-12-07T20:00:0"+id[1:]+"Z", "2026-12-07T20:00:00Z"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		locked := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- st.Write(ctx, func(tx *store.Tx) error {
				for _, id := range []string{"s1", "s2"} {
					if err := tx.LockSubnet(ctx, id); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(ctx, "UPDATE subnets SET allocation_pools = '[{\"start\": \"10.0.0.2\", \"end\": \"10.0.0.99\"}]' WHERE id = 's1'"); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "DELETE FROM subnets WHERE id = 's2'"); err != nil {
					return err
				}
				if !tx.Rerun() {
					close(locked)
				}
				time.Sleep(300 * time.Millisecond)
				return nil
			})
		}()
		<-locked
		var got []string
		if err := st.Write(ctx, func(tx *store.Tx) error {
			objs, err := tx.ShareNetworkSubnets(ctx, subDef, "net-a")
			got = nil
			for _, o := range objs {
				got = append(got, fmt.Sprint(o.ID(), o.Get("allocation_pools")))
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if want := []string{"s1[map[end:10.0.0.99 start:10.0.0.2]]"}; !reflect.DeepEqual(got, want) {
			t.Errorf("read %v, want %v", got, want)
		}
	})
}
