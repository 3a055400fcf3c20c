package l2

import (
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/qos"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// initQoS opens the QoS enforcer when [agent] extensions names qos, as
// Neutron's linuxbridge agent loads its QoS extension; otherwise the
// nftables table (policers and DSCP marks) of an earlier run is removed
// (tc qdiscs go with the taps).
func (p *Part) initQoS() error {
	if p.h == nil {
		return nil // no data plane (unit tests of the part's protocol)
	}
	e, err := qos.New(p.ns, p.h.Netlink())
	if err != nil {
		return err
	}
	if !p.opts.QoS {
		if err := e.Remove(); err != nil {
			p.log.Warn("removing the QoS table of a previous run", "error", err)
		}
		return nil
	}
	p.qos = e
	return nil
}

// qosPorts is what the snapshot's ports' effective rules ask of their
// taps: Neutron's egress (from the VM) and ingress (to the VM) bandwidth
// limits and the DSCP mark. Every port is listed, so a port whose rules
// went away loses their enforcement.
func qosPorts(s rpcapi.HostSnapshot) []qos.Port {
	out := make([]qos.Port, 0, len(s.Ports))
	for _, det := range s.Ports {
		if !det.Found() {
			continue
		}
		out = append(out, qosPort(link.TapName(det.PortID), det.QoSRules))
	}
	return out
}

// qosPort translates one port's rules; rule types the Linux bridge
// cannot enforce (the server refuses them on bound ports) are ignored.
func qosPort(tap string, rules []rpcapi.QoSRule) qos.Port {
	p := qos.Port{Tap: tap}
	for _, r := range rules {
		switch r.String("type") {
		case "bandwidth_limit":
			rate, burst := uint64(max(r.Int("max_kbps"), 0)), uint64(max(r.Int("max_burst_kbps"), 0))
			if r.String("direction") == "ingress" {
				p.IngressKbps, p.IngressBurstKbit = rate, burst
			} else {
				p.EgressKbps, p.EgressBurstKbit = rate, burst
			}
		case "dscp_marking":
			p.DSCP, p.HasDSCP = uint8(r.Int("dscp_mark")), true
		}
	}
	return p
}
