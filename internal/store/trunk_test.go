package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// TestTrunkRows stores trunks' sub-ports and ports' inactive bindings on
// both engines: the unique keys Neutron's trunk rules rely on, the reads
// the trunk plugin makes, and binding rows replaced by host.
func TestTrunkRows(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		defs := apidef.Build()
		all := func(string) bool { return true }
		netDef, portDef, trunkDef := defs[apidef.Networks].Restrict(all), defs[apidef.Ports].Restrict(all), defs[apidef.Trunks].Restrict(all)
		for _, r := range []*resource.Resource{netDef, portDef, trunkDef} {
			st.Bind(r)
		}
		now := time.Now().UTC().Truncate(time.Second)
		obj := func(r *resource.Resource, vals map[string]any) *resource.Object {
			o := resource.New(r)
			for k, v := range vals {
				o.Set(k, v)
			}
			o.Set("created_at", now)
			o.Set("updated_at", now)
			return o
		}
		ports := []string{"p0", "p1", "p2", "p3"}
		err := st.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Insert(ctx, obj(netDef, map[string]any{"id": "n1"})); err != nil {
				return err
			}
			for i, id := range ports {
				if err := tx.Insert(ctx, obj(portDef, map[string]any{"id": id, "network_id": "n1", "mac_address": fmt.Sprintf("fa:16:3e:00:00:0%d", i)})); err != nil {
					return err
				}
			}
			return tx.Insert(ctx, obj(trunkDef, map[string]any{"id": "t1", "port_id": "p0", "status": "DOWN"}))
		})
		if err != nil {
			t.Fatal(err)
		}
		write := func(f func(tx *store.Tx) error) error { return st.Write(ctx, f) }
		for _, s := range []store.SubPort{{"p2", "t1", "vlan", 20}, {"p1", "t1", "vlan", 10}} {
			if err := write(func(tx *store.Tx) error { return tx.AddSubPort(ctx, s) }); err != nil {
				t.Fatal(err)
			}
		}
		// One segmentation per trunk, one trunk per sub-port.
		for _, s := range []store.SubPort{{"p3", "t1", "vlan", 10}, {"p1", "t1", "vlan", 30}} {
			if err := write(func(tx *store.Tx) error { return tx.AddSubPort(ctx, s) }); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("add %v: %v, want ErrDuplicate", s, err)
			}
		}
		err = st.Read(ctx, func(tx *store.Tx) error {
			subs, err := tx.TrunkSubPorts(ctx, []string{"t1", "t2"})
			if err != nil {
				return err
			}
			want := []store.SubPort{{"p1", "t1", "vlan", 10}, {"p2", "t1", "vlan", 20}}
			if !reflect.DeepEqual(subs["t1"], want) || len(subs["t2"]) != 0 {
				t.Errorf("sub-ports %v, want %v", subs, want)
			}
			if s, ok, err := tx.SubPortOf(ctx, "p2"); err != nil || !ok || s.SegmentationID != 20 {
				t.Errorf("SubPortOf p2: %v %v %v", s, ok, err)
			}
			if _, ok, err := tx.SubPortWithSegmentation(ctx, "t1", "vlan", 10); err != nil || !ok {
				t.Errorf("segmentation 10: %v %v", ok, err)
			}
			if id, err := tx.TrunkOfPort(ctx, "p0"); err != nil || id != "t1" {
				t.Errorf("TrunkOfPort p0: %q %v", id, err)
			}
			m, err := tx.TrunksOfPorts(ctx, ports)
			if err != nil || !reflect.DeepEqual(m, map[string]string{"p0": "t1"}) {
				t.Errorf("TrunksOfPorts: %v %v", m, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := write(func(tx *store.Tx) error { return tx.RemoveSubPort(ctx, "t1", "p1") }); err != nil {
			t.Fatal(err)
		}
		if err := write(func(tx *store.Tx) error { return tx.RemoveTrunkSubPorts(ctx, "t1") }); err != nil {
			t.Fatal(err)
		}

		// Inactive bindings: one per host, replaced whole.
		b := store.InactiveBinding{PortID: "p3", Host: "dst", VNICType: "normal", VIFType: "bridge",
			Profile: map[string]any{"migrating_to": "dst"}, VIFDetails: map[string]any{"port_filter": true}}
		if err := write(func(tx *store.Tx) error { return tx.PutInactiveBinding(ctx, b) }); err != nil {
			t.Fatal(err)
		}
		b.VNICType = "direct"
		if err := write(func(tx *store.Tx) error { return tx.PutInactiveBinding(ctx, b) }); err != nil {
			t.Fatal(err)
		}
		err = st.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.InactiveBindings(ctx, "p3")
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], b) {
				t.Errorf("inactive bindings %v %v, want %v", got, err, b)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := write(func(tx *store.Tx) error { return tx.DeleteInactiveBinding(ctx, "p3", "dst") }); err != nil {
			t.Fatal(err)
		}
	})
}
