// Package nova tells Nova what happens to its instances' ports, as
// Neutron's Nova notifier (neutron/notifiers/nova.py) does: Nova waits
// for network-vif-plugged before it starts an instance, and refreshes
// its network cache on network-changed.
//
// Events are Nova's external events (POST /os-server-external-events):
//
//   - network-vif-plugged, status completed (failed) when a port goes
//     from DOWN or BUILD (or nothing) to ACTIVE (ERROR);
//   - network-vif-unplugged, status completed, when it goes from ACTIVE
//     to DOWN;
//   - network-changed after an API update of a port, and after a floating
//     IP of the port is created, updated or deleted;
//   - network-vif-deleted when a port is deleted;
//
// each with server_uuid = the port's device_id and tag = the port's id,
// and only for ports of instances: a device_owner starting with
// "compute:" and a UUID as device_id. The first two follow [DEFAULT]
// notify_nova_on_port_status_changes, the others
// notify_nova_on_port_data_changes.
//
// Unlike Neutron, which queues events in memory, a Recorder writes them
// in the transaction of the change (table nova_events), and a Sender
// posts them after commit, batched within send_events_interval, and
// again after a failure or a crash: Nova never misses a vif-plugged it
// waits for. The server composes both (internal/server).
package nova

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/change"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Nova's event names.
const (
	VIFPlugged   = "network-vif-plugged"
	VIFUnplugged = "network-vif-unplugged"
	VIFDeleted   = "network-vif-deleted"
	Changed      = "network-changed"
)

// Event is one Nova external event.
type Event struct {
	Name       string `json:"name"`
	ServerUUID string `json:"server_uuid"`
	Tag        string `json:"tag,omitempty"`
	Status     string `json:"status,omitempty"`
}

// Port statuses (neutron-lib constants).
const (
	statusActive = "ACTIVE"
	statusDown   = "DOWN"
	statusBuild  = "BUILD"
	statusError  = "ERROR"
)

// eventStatus maps a port status to the status of its event.
var eventStatus = map[string]string{statusActive: "completed", statusError: "failed", statusDown: "completed"}

// isComputePort is Neutron's _is_compute_port: an instance's port.
func isComputePort(port *resource.Object) bool {
	if port == nil {
		return false
	}
	dev := port.String("device_id")
	if dev == "" || !strings.HasPrefix(port.String("device_owner"), "compute:") {
		return false
	}
	_, err := uuid.Parse(dev)
	return err == nil
}

// statusEvent is the event a status change of port from prev ("" for a
// new port) makes, or nil; Neutron's record_port_status_changed.
func statusEvent(port *resource.Object, prev string) *Event {
	if !isComputePort(port) {
		return nil
	}
	cur := port.String("status")
	var name string
	switch {
	case prev == statusActive && cur == statusDown:
		name = VIFUnplugged
	case (prev == "" || prev == statusDown || prev == statusBuild) && (cur == statusActive || cur == statusError):
		name = VIFPlugged
	default:
		return nil
	}
	return &Event{Name: name, ServerUUID: port.String("device_id"), Tag: port.ID(), Status: eventStatus[cur]}
}

// PortReader reads a port inside a transaction (nil, nil when there is
// none); floating IP changes name their port by id.
type PortReader func(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error)

// Events computes the Nova events of a change. ports reads the port of a
// floating IP change; it may be nil when only ports are watched.
func Events(ctx context.Context, tx *store.Tx, o Options, ev change.Event, ports PortReader) ([]Event, error) {
	var out []Event
	add := func(e *Event) {
		if e != nil {
			out = append(out, *e)
		}
	}
	switch ev.Resource {
	case "port":
		if o.StatusChanges {
			switch ev.Action {
			case change.ActionCreate:
				add(statusEvent(ev.New, ""))
			case change.ActionUpdate, change.ActionStatus:
				if ev.Old.String("status") != ev.New.String("status") {
					add(statusEvent(ev.New, ev.Old.String("status")))
				}
			}
		}
		if o.DataChanges {
			switch ev.Action {
			case change.ActionUpdate:
				if isComputePort(ev.New) {
					add(&Event{Name: Changed, ServerUUID: ev.New.String("device_id"), Tag: ev.New.ID()})
				}
			case change.ActionDelete:
				if isComputePort(ev.Old) {
					add(&Event{Name: VIFDeleted, ServerUUID: ev.Old.String("device_id"), Tag: ev.Old.ID()})
				}
			}
		}
	case "floatingip":
		if !o.DataChanges || ports == nil {
			return nil, nil
		}
		// The port losing the floating IP (disassociated, reassociated
		// or deleted with it), then the port gaining it.
		var ids []string
		oldPort, newPort := portOf(ev.Old), portOf(ev.New)
		if oldPort != "" && (ev.Action == change.ActionDelete || oldPort != newPort) {
			ids = append(ids, oldPort)
		}
		if newPort != "" {
			ids = append(ids, newPort)
		}
		for _, id := range ids {
			port, err := ports(ctx, tx, id)
			if err != nil {
				return nil, fmt.Errorf("port %s of floating IP: %w", id, err)
			}
			if isComputePort(port) {
				add(&Event{Name: Changed, ServerUUID: port.String("device_id"), Tag: port.ID()})
			}
		}
	}
	return out, nil
}

func portOf(fip *resource.Object) string {
	if fip == nil {
		return ""
	}
	s, _ := fip.Get("port_id").(string)
	return s
}

// Recorder is the change.Notifier that records Nova's events in the
// change's transaction. The server sets it on the ports and floating IPs
// handlers and as ML2's status listener.
type Recorder struct {
	opts  Options
	ports PortReader
	wake  chan struct{}
}

var _ change.Notifier = (*Recorder)(nil)

// NewRecorder returns a Recorder; ports reads the port of a floating IP
// change (nil: floating IP changes make no events).
func NewRecorder(o Options, ports PortReader) *Recorder {
	return &Recorder{opts: o, ports: ports, wake: make(chan struct{}, 1)}
}

var _ change.Batcher = (*Recorder)(nil)

// Notify implements change.Notifier.
func (r *Recorder) Notify(ctx context.Context, tx *store.Tx, ev change.Event) error {
	return r.NotifyBatch(ctx, tx, []change.Event{ev})
}

// NotifyBatch implements change.Batcher: the events of all the changes
// are recorded with one write.
func (r *Recorder) NotifyBatch(ctx context.Context, tx *store.Tx, evs []change.Event) error {
	var events []Event
	for _, ev := range evs {
		es, err := Events(ctx, tx, r.opts, ev, r.ports)
		if err != nil {
			return err
		}
		events = append(events, es...)
	}
	if len(events) == 0 {
		return nil
	}
	var err error
	bodies := make([][]byte, len(events))
	for i, e := range events {
		if bodies[i], err = json.Marshal(e); err != nil {
			return fmt.Errorf("nova: encode %s event: %w", e.Name, err)
		}
	}
	if err := tx.AppendNovaEvents(ctx, bodies...); err != nil {
		return err
	}
	tx.AfterCommit(r.nudge)
	return nil
}

func (r *Recorder) nudge() {
	select {
	case r.wake <- struct{}{}:
	default: // a nudge is pending: the sender takes everything
	}
}
