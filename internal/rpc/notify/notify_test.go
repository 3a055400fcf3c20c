package notify_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/notify"
	"github.com/neutrino-net/neutrino/internal/rpc/outbox"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// hosts is a DHCP scheduler with a fixed answer per network.
type hosts map[string][]string

func (h hosts) DHCPHosts(_ context.Context, _ *store.Tx, netID string) ([]string, error) {
	return h[netID], nil
}

// segments answers one VXLAN segment for every port.
type segments struct{}

func (segments) PortSegment(context.Context, *store.Tx, *resource.Object) (notify.Segment, error) {
	vni := 1001
	return notify.Segment{NetworkType: "vxlan", SegmentationID: &vni}, nil
}

// recorded runs ev through a notifier in a committed transaction and
// returns the notifications the outbox holds.
func recorded(t *testing.T, n *notify.Notifier, st *store.Store, ev change.Event) []rpcapi.Notification {
	t.Helper()
	ctx := context.Background()
	if err := st.Write(ctx, func(tx *store.Tx) error { return n.Notify(ctx, tx, ev) }); err != nil {
		t.Fatal(err)
	}
	var out []rpcapi.Notification
	_, err := st.DrainOutbox(ctx, 100, func(_ context.Context, es []store.OutboxEntry) error {
		for _, e := range es {
			var x rpcapi.Notification
			if err := json.Unmarshal(e.Body, &x); err != nil {
				return err
			}
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScheduledNetworks(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "n.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defs := apidef.Build()
	n := &notify.Notifier{Outbox: outbox.New(), DHCP: hosts{"net-1": {"h1", "h2"}}, Segments: segments{}}

	net := resource.New(defs[apidef.Networks])
	net.Set("id", "net-1")
	port := resource.New(defs[apidef.Ports])
	port.Set("id", "port-1")
	port.Set("network_id", "net-1")
	port.Set("revision_number", 1)
	moved := port.Clone()
	moved.Set("revision_number", 2)
	moved.Set("fixed_ips", []any{map[string]any{"subnet_id": "s", "ip_address": "10.0.0.9"}})

	for _, c := range []struct {
		name string
		ev   change.Event
		want []string // "topic method fanout priority"
	}{
		// No agent hosts a network being created (scheduling comes with
		// its DHCP-enabled subnets, in transactions of its own):
		// network_create_end is a fanout, and the scheduler is not
		// asked. Other events cast to each host.
		{"network create", change.Event{Resource: "network", Action: "create", New: net},
			[]string{"dhcp_agent network_create_end fanout 0"}},
		{"network delete", change.Event{Resource: "network", Action: "delete", Old: net},
			[]string{"q-agent-notifier-network-delete network_delete fanout -", "dhcp_agent network_delete_end fanout 2"}},
		{"port create", change.Event{Resource: "port", Action: "create", New: port},
			[]string{"dhcp_agent.h1 port_create_end cast 5", "dhcp_agent.h2 port_create_end cast 6"}},
		{"port update", change.Event{Resource: "port", Action: "update", Old: port, New: moved},
			[]string{"q-agent-notifier-port-update port_update fanout -", "dhcp_agent.h1 port_update_end cast 6", "dhcp_agent.h2 port_update_end cast 6"}},
		{"unscheduled", change.Event{Resource: "network", Action: "create", New: func() *resource.Object {
			o := net.Clone()
			o.Set("id", "net-2")
			return o
		}()}, []string{"dhcp_agent network_create_end fanout 0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, x := range recorded(t, n, st, c.ev) {
				var a struct {
					Payload struct {
						Priority *int `json:"priority"`
					} `json:"payload"`
					SegmentationID *int `json:"segmentation_id"`
				}
				if err := json.Unmarshal(x.Args, &a); err != nil {
					t.Fatal(err)
				}
				kind, prio := "cast", "-"
				if x.Fanout {
					kind = "fanout"
				}
				if a.Payload.Priority != nil {
					prio = string(rune('0' + *a.Payload.Priority))
				}
				if x.Method == "port_update" && (a.SegmentationID == nil || *a.SegmentationID != 1001) {
					t.Errorf("port_update without the port's segment: %s", x.Args)
				}
				got = append(got, x.Topic+" "+x.Method+" "+kind+" "+prio)
			}
			slices.Sort(got)
			slices.Sort(c.want)
			if !slices.Equal(got, c.want) {
				t.Errorf("notifications %q, want %q", got, c.want)
			}
		})
	}
}
