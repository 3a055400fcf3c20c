package core

import (
	"context"

	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// ExtensionDriver is an ML2 extension driver's part in networks and ports,
// as Neutron's process_create/update hooks and extend_dict give it: it
// checks and completes its attributes inside the write transaction, after
// ML2 has bound the port (so it sees the binding it will get), and fills
// the attributes it computes on read. Service plugins that provide one
// (QoS) are found when plugins are wired.
type ExtensionDriver interface {
	ProcessCreateNetwork(ctx context.Context, tx *store.Tx, network *resource.Object) error
	ProcessUpdateNetwork(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error
	ProcessCreatePort(ctx context.Context, tx *store.Tx, port *resource.Object) error
	ProcessUpdatePort(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error
	ExtendPorts(ctx context.Context, tx *store.Tx, ports []*resource.Object) error
}

// AddExtensionDriver adds an extension driver; call it before serving.
func (p *Plugin) AddExtensionDriver(d ExtensionDriver) { p.extDrivers = append(p.extDrivers, d) }
