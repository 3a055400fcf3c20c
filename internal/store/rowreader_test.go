package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// TestGetOutsideTransaction: a show (Get in a Read, which on SQLite goes
// through SQLite's own interface on connections of its own) reads
// exactly what the same Get reads inside a write transaction (through
// database/sql): every kind of column, NULLs, empty and non-ASCII text,
// related strings and objects, tags; and a missing id is ErrNotFound.
func TestGetOutsideTransaction(t *testing.T) {
	for _, e := range []struct{ name, conn string }{
		{"sqlite", "sqlite:///" + filepath.Join(t.TempDir(), "get.sqlite")},
		{"sqlite-memory", "sqlite://"},
		{"postgresql", ""},
	} {
		t.Run(e.name, func(t *testing.T) {
			conn := e.conn
			if conn == "" {
				conn = pgtest.NewDatabase(t)
			}
			ctx := context.Background()
			st := openMigrated(t, conn)
			defs := apidef.Build()
			all := func(string) bool { return true }
			netDef, portDef := defs[apidef.Networks].Restrict(all), defs[apidef.Ports].Restrict(all)
			st.Bind(netDef)
			st.Bind(portDef)
			// Related rows from the tags table stand in for a port's
			// addresses (objects) and security groups (strings).
			st.Relate(portDef.Collection, "fixed_ips", "tags", "resource_id", "tag", "resource_id")
			st.Relate(portDef.Collection, "security_groups", "tags", "resource_id", "tag")
			now := time.Now().UTC().Truncate(time.Second)
			ports := []struct {
				id   string
				vals map[string]any
				tags []string
			}{
				{"p-plain", map[string]any{"name": "plain", "mac_address": "fa:16:3e:00:00:01"}, nil},
				{"p-full", map[string]any{
					"name": "réseau ☃ \"quoted\" \\ back", "description": "", "mac_address": "fa:16:3e:00:00:02",
					"admin_state_up": false, "port_security_enabled": true, "device_owner": "compute:nova",
					"binding:profile":         map[string]any{"capabilities": []any{"switchdev"}, "n": 1.5, "nested": map[string]any{"x": nil}},
					"allowed_address_pairs":   []any{map[string]any{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:09"}},
					"binding:vif_details":     map[string]any{},
					"extra_dhcp_opts":         []any{},
					"revision_number":         7,
					"binding:host_id":         "host-1",
					"propagate_uplink_status": true,
				}, []string{"b", "a", "c,d"}},
			}
			err := st.Write(ctx, func(tx *store.Tx) error {
				n := resource.New(netDef)
				n.Set("id", "n1")
				n.Set("created_at", now)
				n.Set("updated_at", now)
				if err := tx.Insert(ctx, n); err != nil {
					return err
				}
				for _, p := range ports {
					o := resource.New(portDef)
					o.Set("id", p.id)
					o.Set("network_id", "n1")
					o.Set("created_at", now)
					o.Set("updated_at", now)
					for k, v := range p.vals {
						if portDef.Attr(k) != nil {
							o.Set(k, v)
						}
					}
					if err := tx.Insert(ctx, o); err != nil {
						return err
					}
					if err := tx.SetTags(ctx, p.id, p.tags); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range append(ports, struct {
				id   string
				vals map[string]any
				tags []string
			}{id: "p-missing"}) {
				var shown, inTx *resource.Object
				errShown := st.Read(ctx, func(tx *store.Tx) error {
					var err error
					shown, err = tx.Get(ctx, portDef, p.id, false)
					return err
				})
				errTx := st.Write(ctx, func(tx *store.Tx) error {
					var err error
					inTx, err = tx.Get(ctx, portDef, p.id, false)
					if errors.Is(err, store.ErrNotFound) {
						return nil
					}
					return err
				})
				if errTx != nil {
					t.Fatalf("%s in a transaction: %v", p.id, errTx)
				}
				if inTx == nil {
					if !errors.Is(errShown, store.ErrNotFound) {
						t.Errorf("%s: %v, want ErrNotFound", p.id, errShown)
					}
					continue
				}
				if errShown != nil {
					t.Fatalf("%s: %v", p.id, errShown)
				}
				if got, want := shown.Map(), inTx.Map(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s read outside a transaction:\n%#v\nwant (inside one):\n%#v", p.id, got, want)
				}
				if got := shown.Get("name"); p.vals["name"] != nil && got != p.vals["name"] {
					t.Errorf("%s name %q, want %q", p.id, got, p.vals["name"])
				}
				if got := shown.Get("security_groups"); len(p.tags) > 0 && !reflect.DeepEqual(got, []string{"a", "b", "c,d"}) && !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
					t.Errorf("%s related strings %#v", p.id, got)
				}
			}
		})
	}
}

// TestGetRowReaderFails: when the row reader fails (here, its
// connections cannot be opened), a show reads through the connection
// pool, as before it, rather than fail.
func TestGetRowReaderFails(t *testing.T) {
	st := openMigrated(t, "sqlite:///"+filepath.Join(t.TempDir(), "broken.sqlite"))
	def := networkDef(t)
	st.Bind(def)
	const id = "0b8f7c43-2f0d-4d5c-9d44-b0e3b1c0bfff"
	insertNetwork(t, st, def, id, "pooled")
	st.BreakRowReader()
	o, err := getNetwork(t, st, def, id)
	if err != nil || o.String("name") != "pooled" {
		t.Fatalf("get with a broken row reader: %v, %v", o, err)
	}
	if _, err := getNetwork(t, st, def, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
}

// TestGetConcurrent reads ports while they are updated, from more
// goroutines than the row reader has connections: every read finds its
// port, with one of the names written.
func TestGetConcurrent(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		st := openMigrated(t, e.newDSN(t))
		def := networkDef(t)
		st.Bind(def)
		const n = 4
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("0b8f7c43-2f0d-4d5c-9d44-b0e3b1c0b%03d", i)
			insertNetwork(t, st, def, ids[i], "name-0")
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 1; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				p := resource.New(def)
				p.Set("id", ids[k%n])
				p.Set("name", fmt.Sprintf("name-%d", k))
				if err := st.Write(ctx, func(tx *store.Tx) error { return tx.Update(ctx, p) }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		var readers sync.WaitGroup
		for g := range 24 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for k := range 40 {
					o, err := getNetwork(t, st, def, ids[(g+k)%n])
					if err != nil {
						t.Error(err)
						return
					}
					if o.String("project_id") != "p1" || len(o.String("name")) < len("name-0") {
						t.Errorf("read %v", o.Map())
						return
					}
				}
			}()
		}
		readers.Wait()
		close(stop)
		wg.Wait()
	})
}
