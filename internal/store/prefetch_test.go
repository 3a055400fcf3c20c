package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/store"
)

// facts are what QuotaLimits, DefaultSecurityGroup, LatestHeartbeat and
// Bindings answer in one transaction.
type facts struct {
	Quotas    map[string]int
	DefaultSG string
	Heartbeat time.Time
	AnyAgent  bool
	Bindings  []store.Binding
}

func readFacts(ctx context.Context, t *testing.T, tx *store.Tx, project, network string) facts {
	t.Helper()
	var f facts
	var err error
	if f.Quotas, err = tx.QuotaLimits(ctx, project); err != nil {
		t.Fatal(err)
	}
	if f.DefaultSG, err = tx.DefaultSecurityGroup(ctx, project); err != nil {
		t.Fatal(err)
	}
	if f.Heartbeat, f.AnyAgent, err = tx.LatestHeartbeat(ctx, "DHCP agent"); err != nil {
		t.Fatal(err)
	}
	if f.Bindings, err = tx.Bindings(ctx, store.DHCPBindings, network, ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPrefetch: what Prefetch reads in one statement is what the four
// reads it stands for answer, for projects and networks with and without
// each fact; after a write the reads go to the database again and see it
// (a default group recorded, a binding added), and the quota lock leaves
// the facts in place.
func TestPrefetch(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		def := networkDef(t)
		st.Bind(def)
		insertNetwork(t, st, def, "net-a", "a")
		insertNetwork(t, st, def, "net-b", "b")
		hb := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
		err := st.Write(ctx, func(tx *store.Tx) error {
			for _, q := range []string{
				"INSERT INTO security_groups (id, project_id, name, created_at, updated_at) VALUES ('sg-p1', 'p1', 'default', 'x', 'x')",
				"INSERT INTO security_groups (id, project_id, name, created_at, updated_at) VALUES ('sg-p3', 'p3', 'default', 'x', 'x')",
				"INSERT INTO default_security_group (project_id, security_group_id) VALUES ('p1', 'sg-p1')",
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			for _, q := range []struct {
				r string
				n int
			}{{"port", 7}, {"network", -1}} {
				if err := tx.SetQuotaLimit(ctx, "p1", q.r, q.n); err != nil {
					return err
				}
			}
			for i, h := range []time.Time{hb.Add(-time.Minute), hb} {
				a := store.AgentRow{ID: []string{"ag-1", "ag-2"}[i], Type: "DHCP agent", Binary: "neutrino", Topic: "dhcp_agent",
					Host: []string{"h1", "h2"}[i], AdminStateUp: true, CreatedAt: h, StartedAt: h, Heartbeat: h, Configurations: "{}"}
				if err := tx.InsertAgent(ctx, a); err != nil {
					return err
				}
			}
			if err := tx.AddBinding(ctx, store.DHCPBindings, "net-a", "ag-2", 2); err != nil {
				return err
			}
			return tx.AddBinding(ctx, store.DHCPBindings, "net-a", "ag-1", 1)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ project, network string }{
			{"p1", "net-a"}, {"p1", "net-b"}, {"p2", "net-a"}, {"p2", ""}, {"p1", "absent"},
		} {
			var want, got facts
			if err := st.Write(ctx, func(tx *store.Tx) error {
				want = readFacts(ctx, t, tx, c.project, c.network)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := st.Write(ctx, func(tx *store.Tx) error {
				if err := tx.Prefetch(ctx, store.PrefetchArgs{Project: c.project, NetworkID: c.network, AgentType: "DHCP agent", Networks: def}); err != nil {
					return err
				}
				got = readFacts(ctx, t, tx, c.project, c.network)
				n, ok := tx.PrefetchedNetwork(c.network)
				want, err := tx.Get(ctx, def, c.network, false)
				switch {
				case err == store.ErrNotFound && ok:
					t.Errorf("%s: prefetched a network that does not exist: %v", c.network, n)
				case err == nil && (!ok || !reflect.DeepEqual(n.Map(), want.Map())):
					t.Errorf("%s: prefetched network %v (%v), read %v", c.network, n, ok, want.Map())
				}
				if _, again := tx.PrefetchedNetwork(c.network); again {
					t.Errorf("%s: the prefetched network was given twice", c.network)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s on %s: prefetched %+v, read %+v", c.project, c.network, got, want)
			}
		}
		// Writes: the quota lock keeps the facts, a recorded default group
		// and a new binding are seen.
		if err := st.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Prefetch(ctx, store.PrefetchArgs{Project: "p3", NetworkID: "net-b", AgentType: "DHCP agent"}); err != nil {
				return err
			}
			if err := tx.LockQuota(ctx, "p3", "port"); err != nil {
				return err
			}
			if f := readFacts(ctx, t, tx, "p3", "net-b"); f.DefaultSG != "" || len(f.Bindings) != 0 || !f.AnyAgent || !f.Heartbeat.Equal(hb) {
				t.Errorf("after the quota lock: %+v", f)
			}
			if err := tx.SetDefaultSecurityGroup(ctx, "p3", "sg-p3"); err != nil {
				return err
			}
			if err := tx.AddBinding(ctx, store.DHCPBindings, "net-b", "ag-1", 1); err != nil {
				return err
			}
			f := readFacts(ctx, t, tx, "p3", "net-b")
			if want := []store.Binding{{ResourceID: "net-b", AgentID: "ag-1", Index: 1}}; f.DefaultSG != "sg-p3" || !reflect.DeepEqual(f.Bindings, want) {
				t.Errorf("after the writes: %+v", f)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// Each fact is given once: a second read, after a lock as a default
		// group's creator takes one, sees what others committed meanwhile.
		if e.name == "postgresql" {
			if err := st.Write(ctx, func(tx *store.Tx) error {
				if err := tx.Prefetch(ctx, store.PrefetchArgs{Project: "p4"}); err != nil {
					return err
				}
				if id, err := tx.DefaultSecurityGroup(ctx, "p4"); err != nil || id != "" {
					t.Errorf("p4's default group before: %q, %v", id, err)
				}
				if err := st.Write(ctx, func(other *store.Tx) error {
					if _, err := other.Exec(ctx, "INSERT INTO security_groups (id, project_id, name, created_at, updated_at) VALUES ('sg-p4', 'p4', 'default', 'x', 'x')"); err != nil {
						return err
					}
					return other.SetDefaultSecurityGroup(ctx, "p4", "sg-p4")
				}); err != nil {
					return err
				}
				if err := tx.LockName(ctx, "default-security-group/p4"); err != nil {
					return err
				}
				if id, err := tx.DefaultSecurityGroup(ctx, "p4"); err != nil || id != "sg-p4" {
					t.Errorf("p4's default group after the lock: %q, %v", id, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		// A write that names none of the bindings' tables keeps them, and
		// one that deletes the network's row takes them.
		if err := st.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Prefetch(ctx, store.PrefetchArgs{Project: "p1", NetworkID: "net-a", Networks: def}); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO tags (resource_id, tag) VALUES ('net-a', 'x')"); err != nil {
				return err
			}
			if bs, _ := tx.Bindings(ctx, store.DHCPBindings, "net-a", ""); len(bs) != 2 {
				t.Errorf("bindings after a tag: %+v", bs)
			}
			if _, err := tx.Exec(ctx, "DELETE FROM networks WHERE id = 'net-a'"); err != nil {
				return err
			}
			if bs, _ := tx.Bindings(ctx, store.DHCPBindings, "net-a", ""); len(bs) != 0 {
				t.Errorf("bindings after the network's delete: %+v", bs)
			}
			return store.ErrNotFound // roll back
		}); err != store.ErrNotFound {
			t.Fatal(err)
		}
	})
}
