package nova

import (
	"context"
	"reflect"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/resource"
)

const (
	server = "0f6c5a34-9b1e-4b8e-8a43-3d0c8f1f6e10"
	portID = "9d0a4e2c-7f57-4d1b-b0f1-1a2b3c4d5e6f"
)

func port(status, owner, device string) *resource.Object {
	o := resource.New(apidef.Build()[apidef.Ports])
	o.Set("id", portID)
	o.Set("status", status)
	o.Set("device_owner", owner)
	o.Set("device_id", device)
	return o
}

// TestEvents checks Neutron's rules (record_port_status_changed,
// create_port_changed_event) for ports.
func TestEvents(t *testing.T) {
	all := Options{StatusChanges: true, DataChanges: true}
	vm := func(status string) *resource.Object { return port(status, "compute:nova", server) }
	plugged := func(status string) Event {
		return Event{Name: VIFPlugged, ServerUUID: server, Tag: portID, Status: status}
	}
	tests := []struct {
		name string
		o    Options
		ev   change.Event
		want []Event
	}{
		{"down to active", all, change.Event{Action: change.ActionStatus, Old: vm("DOWN"), New: vm("ACTIVE")},
			[]Event{plugged("completed")}},
		{"build to active", all, change.Event{Action: change.ActionStatus, Old: vm("BUILD"), New: vm("ACTIVE")},
			[]Event{plugged("completed")}},
		{"build to error", all, change.Event{Action: change.ActionStatus, Old: vm("BUILD"), New: vm("ERROR")},
			[]Event{plugged("failed")}},
		{"created active", all, change.Event{Action: change.ActionCreate, New: vm("ACTIVE")},
			[]Event{plugged("completed")}},
		{"created down", all, change.Event{Action: change.ActionCreate, New: vm("DOWN")}, nil},
		{"active to down", all, change.Event{Action: change.ActionStatus, Old: vm("ACTIVE"), New: vm("DOWN")},
			[]Event{{Name: VIFUnplugged, ServerUUID: server, Tag: portID, Status: "completed"}}},
		{"down to build", all, change.Event{Action: change.ActionStatus, Old: vm("DOWN"), New: vm("BUILD")}, nil},
		{"active to build", all, change.Event{Action: change.ActionStatus, Old: vm("ACTIVE"), New: vm("BUILD")}, nil},
		{"status changes off", Options{DataChanges: true},
			change.Event{Action: change.ActionStatus, Old: vm("DOWN"), New: vm("ACTIVE")}, nil},
		{"api update moving host", all, change.Event{Action: change.ActionUpdate, Old: vm("ACTIVE"), New: vm("DOWN")},
			[]Event{{Name: VIFUnplugged, ServerUUID: server, Tag: portID, Status: "completed"},
				{Name: Changed, ServerUUID: server, Tag: portID}}},
		{"api update", all, change.Event{Action: change.ActionUpdate, Old: vm("ACTIVE"), New: vm("ACTIVE")},
			[]Event{{Name: Changed, ServerUUID: server, Tag: portID}}},
		{"data changes off", Options{StatusChanges: true},
			change.Event{Action: change.ActionUpdate, Old: vm("ACTIVE"), New: vm("ACTIVE")}, nil},
		{"delete", all, change.Event{Action: change.ActionDelete, Old: vm("ACTIVE")},
			[]Event{{Name: VIFDeleted, ServerUUID: server, Tag: portID}}},
		{"router port", all, change.Event{Action: change.ActionStatus, Old: port("DOWN", "network:router_interface", server),
			New: port("ACTIVE", "network:router_interface", server)}, nil},
		{"device id not a uuid", all, change.Event{Action: change.ActionStatus, Old: port("DOWN", "compute:nova", "vm-1"),
			New: port("ACTIVE", "compute:nova", "vm-1")}, nil},
		{"no device id", all, change.Event{Action: change.ActionDelete, Old: port("DOWN", "compute:nova", "")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.ev.Resource = "port"
			got, err := Events(context.Background(), nil, tc.o, tc.ev, nil)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Events = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
