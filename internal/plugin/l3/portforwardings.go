package l3

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// Floating IP port forwardings, as neutron/services/portforwarding's
// plugin makes them: a floating IP either is associated with a port or
// forwards ports, never both.

// portRange is an inclusive range of port numbers.
type portRange struct{ start, end int }

func (r portRange) String() string { return fmt.Sprintf("%d:%d", r.start, r.end) }

func parseRange(s string) portRange {
	a, b, ok := strings.Cut(s, ":")
	start, _ := strconv.Atoi(a)
	if !ok {
		return portRange{start, start}
	}
	end, _ := strconv.Atoi(b)
	return portRange{start, end}
}

// requestedRange is the range a port forwarding asks for on one side: the
// single port, else the range; ok is false when neither is given.
func requestedRange(o *resource.Object, single, ranged string) (portRange, bool) {
	if n, ok := o.Get(single).(int); ok {
		return portRange{n, n}, true
	}
	if s, ok := o.Get(ranged).(string); ok && s != "" {
		return parseRange(s), true
	}
	return portRange{}, false
}

// fillPorts shows a stored port forwarding's ports: the single ports
// when the ranges hold one port each, and the ranges always.
func fillPorts(pf *resource.Object) {
	ext := portRange{pf.Int("external_port_start"), pf.Int("external_port_end")}
	in := portRange{pf.Int("internal_port_start"), pf.Int("internal_port_end")}
	set := func(name string, v any) {
		if pf.Resource().Attr(name) != nil {
			pf.Set(name, v)
		}
	}
	set("external_port", nil)
	set("internal_port", nil)
	if ext.start == ext.end {
		set("external_port", ext.start)
	}
	if in.start == in.end {
		set("internal_port", in.start)
	}
	set("external_port_range", ext.String())
	set("internal_port_range", in.String())
}

func (p *Plugin) afterReadPortForwardings(ctx context.Context, tx *store.Tx, pfs []*resource.Object) error {
	for _, pf := range pfs {
		fillPorts(pf)
	}
	return nil
}

func (p *Plugin) lockFloatingIP(ctx context.Context, tx *store.Tx, id string) (*resource.Object, error) {
	f, err := tx.Get(ctx, p.fipDef, id, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, FloatingIPNotFound(id)
	}
	return f, err
}

func (p *Plugin) beforeCreatePortForwarding(ctx context.Context, tx *store.Tx, o *resource.Object) error {
	fip, err := p.lockFloatingIP(ctx, tx, o.String("floatingip_id"))
	if err != nil {
		return err
	}
	return p.checkPortForwarding(ctx, tx, fip, o, o, true)
}

func (p *Plugin) beforeUpdatePortForwarding(ctx context.Context, tx *store.Tx, old, patch *resource.Object) error {
	fip, err := p.lockFloatingIP(ctx, tx, old.String("floatingip_id"))
	if err != nil {
		return err
	}
	merged := old.Clone()
	fillPorts(merged)
	// A single port given replaces the range on that side, and a range
	// the single port.
	for _, side := range [][2]string{{"external_port", "external_port_range"}, {"internal_port", "internal_port_range"}} {
		if patch.Get(side[0]) != nil && merged.Resource().Attr(side[1]) != nil {
			merged.Set(side[1], nil)
		} else if patch.Get(side[1]) != nil && merged.Resource().Attr(side[1]) != nil {
			merged.Set(side[0], nil)
		}
	}
	merged.Merge(patch)
	changedPort := patch.Has("internal_port_id") && patch.String("internal_port_id") != old.String("internal_port_id")
	if err := p.checkPortForwarding(ctx, tx, fip, merged, patch, changedPort); err != nil {
		return err
	}
	return nil
}

// checkPortForwarding validates port forwarding o of floating IP fip
// (create, or the stored one merged with an update) and writes the stored
// port bounds and internal address into out. findRouter resolves (and
// checks) the router that reaches the internal port.
func (p *Plugin) checkPortForwarding(ctx context.Context, tx *store.Tx, fip, o, out *resource.Object, findRouter bool) error {
	ext, okExt := requestedRange(o, "external_port", "external_port_range")
	in, okIn := requestedRange(o, "internal_port", "internal_port_range")
	if !okExt || !okIn {
		missing := "external_port"
		if okExt {
			missing = "internal_port"
		}
		return badPortForwarding("%s or %s_range must be specified", missing, missing)
	}
	if in.end-in.start > 0 && in.end-in.start != ext.end-ext.start {
		return badPortForwarding("Invalid ranges of internal and/or external ports. The relation between internal and external ports must be N-N or 1-N")
	}
	portID := o.String("internal_port_id")
	port, err := p.visiblePort(ctx, tx, portID, false)
	if err != nil {
		return err
	}
	var v4 []fixedIP
	for _, f := range fixedIPs(port) {
		if isIPv4(f.ip) {
			v4 = append(v4, f)
		}
	}
	if len(v4) == 0 {
		return badPortForwarding("Requested internal port %s must allocate an IPv4 address at least.", portID)
	}
	internalIP, _ := o.Get("internal_ip_address").(string)
	subnetID := ""
	if internalIP == "" {
		internalIP, subnetID = v4[0].ip, v4[0].subnetID
	} else {
		for _, f := range v4 {
			if f.ip == internalIP {
				subnetID = f.subnetID
			}
		}
		if subnetID == "" {
			shown := make([]any, len(v4))
			for i, f := range v4 {
				shown[i] = map[string]any{"subnet_id": f.subnetID, "ip_address": f.ip}
			}
			return badPortForwarding("Requested internal IP address %s is not suitable for internal neutron port %s, as its fixed_ips are %s",
				internalIP, portID, resource.PyStr(shown))
		}
	}
	if findRouter {
		bound, err := list(ctx, tx, p.fipDef, "port_id", portID)
		if err != nil {
			return err
		}
		if len(bound) > 0 {
			return fault.Conflict("PortHasBindingFloatingIP",
				"Cannot create port forwarding to floating IP %s (%s) with port %s using fixed IP %s, as that port already has a binding floating IP.",
				bound[0].String("floating_ip_address"), bound[0].ID(), portID, internalIP)
		}
	}
	if pid, _ := fip.Get("port_id").(string); pid != "" {
		return fault.Conflict("FloatingIPPortAlreadyAssociated",
			"Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
			fip.String("floating_ip_address"), fip.ID(), portID, internalIP, fip.String("floating_network_id"))
	}
	if findRouter {
		routerID, err := p.routerForFloatingIP(ctx, tx, port, subnetID, fip.String("floating_network_id"))
		if fault.Is(err, "ExternalGatewayForFloatingIPNotFound") {
			return badPortForwarding("External network %s is not reachable from subnet %s. Cannot set Port forwarding for port %s with Floating IP %s",
				fip.String("floating_network_id"), subnetID, portID, fip.ID())
		}
		if err != nil {
			return err
		}
		if current, _ := fip.Get("router_id").(string); current != "" && current != routerID {
			return badPortForwarding("The Floating IP %s had been set on router %s, the internal Neutron port %s can not reach it",
				fip.ID(), current, portID)
		}
		if fip.Get("router_id") == nil {
			patch := resource.New(p.fipDef)
			patch.Set("router_id", routerID)
			if _, err := p.fips.Write(ctx, tx, fip, patch); err != nil {
				return err
			}
			fip.Set("router_id", routerID)
		}
	}
	// Collisions with the floating IP's other forwardings of the protocol
	// outside, and with the internal socket's inside.
	siblings, err := list(ctx, tx, p.pfDef, "floatingip_id", fip.ID())
	if err != nil {
		return err
	}
	internal, err := list(ctx, tx, p.pfDef, "internal_port_id", portID)
	if err != nil {
		return err
	}
	protocol := o.String("protocol")
	for _, pf := range siblings {
		fillPorts(pf)
		if pf.ID() == o.ID() || pf.String("protocol") != protocol {
			continue
		}
		if collides(parseRange(pf.String("external_port_range")), ext) {
			return badPortForwarding("There is a port collision with the external_port_range. The following ranges collide: %s and %s",
				pf.String("external_port_range"), ext)
		}
	}
	for _, pf := range internal {
		fillPorts(pf)
		if pf.ID() == o.ID() || pf.String("protocol") != protocol || pf.String("internal_ip_address") != internalIP {
			continue
		}
		if collides(parseRange(pf.String("internal_port_range")), in) {
			return badPortForwarding("There is a port collision with the internal_port_range. The following ranges collide: %s and %s",
				pf.String("internal_port_range"), in)
		}
	}
	out.Set("internal_ip_address", internalIP)
	out.Set("external_port_start", ext.start)
	out.Set("external_port_end", ext.end)
	out.Set("internal_port_start", in.start)
	out.Set("internal_port_end", in.end)
	return nil
}

func collides(a, b portRange) bool { return max(a.start, b.start) <= min(a.end, b.end) }

// afterWritePortForwarding tells the agents of the floating IP's router.
func (p *Plugin) afterWritePortForwarding(ctx context.Context, tx *store.Tx, _, pf *resource.Object) error {
	fillPorts(pf)
	return p.notify(ctx, tx, p.routerOfFloatingIP(ctx, tx, pf.String("floatingip_id")))
}

// beforeDeletePortForwarding notifies the router; the floating IP's last
// forwarding gone, a floating IP without a port leaves the router.
func (p *Plugin) beforeDeletePortForwarding(ctx context.Context, tx *store.Tx, pf *resource.Object) error {
	fip, err := p.lockFloatingIP(ctx, tx, pf.String("floatingip_id"))
	if err != nil {
		return err
	}
	routerID, _ := fip.Get("router_id").(string)
	n, err := tx.CountWhere(ctx, "port_forwardings", map[string]any{"floatingip_id": fip.ID()})
	if err != nil {
		return err
	}
	if n <= 1 && fip.Get("port_id") == nil && routerID != "" {
		patch := resource.New(p.fipDef)
		patch.Set("router_id", nil)
		if _, err := p.fips.Write(ctx, tx, fip, patch); err != nil {
			return err
		}
	}
	return p.notify(ctx, tx, routerID)
}
