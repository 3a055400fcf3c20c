package core

import (
	"context"

	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// PortExtension lets a service plugin take part in every port read,
// update and delete inside its transaction, as Neutron's service plugins
// do through resource_extend and the PORT callbacks (the trunk plugin:
// trunk_details on parent ports, the refusal to delete a trunk's ports,
// a trunk's status following its parent's binding).
type PortExtension interface {
	// ExtendPorts fills the extension's attributes of ports just read.
	ExtendPorts(ctx context.Context, tx *store.Tx, ports []*resource.Object) error
	// CheckPortDelete refuses to delete a port the extension still uses.
	CheckPortDelete(ctx context.Context, tx *store.Tx, port *resource.Object) error
	// PortUpdated sees a port update once ML2 has bound the port: old is
	// the stored port and updated the port as it will be stored.
	PortUpdated(ctx context.Context, tx *store.Tx, old, updated *resource.Object) error
}

// AddPortExtension installs a service plugin's port extension; call it
// before serving.
func (p *Plugin) AddPortExtension(e PortExtension) { p.portExts = append(p.portExts, e) }
