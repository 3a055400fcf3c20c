package l2

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/firewall"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// The security group part of the L2 agent (Neutron's
// SecurityGroupAgentRpc with a firewall driver): every pass asks the
// server for the security group information of the ports it wires
// (security_group_info_for_devices, by tap name as Neutron's Linux
// bridge agent does) and has the firewall converge to it, before the
// ports are reported up; the server's security group notifications only
// make a pass come sooner.

// initFirewall opens the firewall, or with filtering off removes the
// tables a previous run left.
func (p *Part) initFirewall() error {
	switch {
	case p.opts.Filter && p.opts.FirewallDriver != "nftables":
		p.log.Info("security groups are enforced with nftables, whatever [securitygroup] firewall_driver names",
			"firewall_driver", p.opts.FirewallDriver)
	case !p.opts.Filter && p.opts.EnableSecurityGroup && p.opts.FirewallDriver == "":
		// Neutron's _is_valid_driver_combination warning.
		p.log.Warn("[securitygroup] firewall_driver is not set: ports are not filtered (set firewall_driver = nftables or iptables)")
	case !p.opts.Filter:
		p.log.Info("ports are not filtered", "firewall_driver", p.opts.FirewallDriver,
			"enable_security_group", p.opts.EnableSecurityGroup)
	}
	if p.h == nil {
		return nil // no data plane (unit tests of the part's protocol)
	}
	fw, err := firewall.New(p.ns, p.h.Netlink(), p.log)
	if err != nil {
		return err
	}
	if !p.opts.Filter {
		if err := fw.Remove(); err != nil {
			p.log.Warn("removing the firewall tables of a previous run", "error", err)
		}
		return nil
	}
	p.fw = fw
	return nil
}

// firewallHandlers are the security group notifications: each makes a
// pass come sooner when it concerns this host's ports.
func (p *Part) firewallHandlers() rpc.Handlers {
	if p.fw == nil {
		return nil
	}
	groups := func(_ context.Context, raw json.RawMessage) (any, error) {
		var args rpcapi.SecurityGroupsUpdated
		if err := json.Unmarshal(raw, &args); err != nil || p.concerns(args.SecurityGroups) {
			p.sgStale()
			p.Trigger()
		}
		return nil, nil
	}
	return rpc.Handlers{
		rpcapi.MethodSecurityGroupsRuleUpdated:   groups,
		rpcapi.MethodSecurityGroupsMemberUpdated: groups,
		rpcapi.MethodSecurityGroupsProviderUpdated: func(_ context.Context, raw json.RawMessage) (any, error) {
			var args rpcapi.SecurityGroupsProviderUpdated
			err := json.Unmarshal(raw, &args)
			// No list: every port (Neutron's global refresh).
			if err != nil || args.DevicesToUpdate == nil || slices.ContainsFunc(args.DevicesToUpdate, p.isKnown) {
				p.sgStale()
				p.Trigger()
			}
			return nil, nil
		},
	}
}

// concerns reports whether a notification naming groups matters here:
// one of them is a group of a port here or a remote group its rules
// name. While a fetch is under way every notification does: the reply
// may have been read before the change it announces and name groups the
// last pass did not (a host's first port, created a moment before
// another member of its group, would otherwise miss that member until
// the next periodic refresh).
func (p *Part) concerns(groups []string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sgFetching {
		return true
	}
	for _, g := range groups {
		if p.sgGroups[g] {
			return true
		}
	}
	return false
}

// sgFetched ends a fetch: groups (nil when it failed) concern the host
// from now on.
func (p *Part) sgFetched(groups map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sgFetching = false
	if groups != nil {
		p.sgGroups = groups
	}
}

// sgRefresh is how often the security group information is fetched
// again with no notification saying it changed, to repair what a lost
// notification would leave stale.
const sgRefresh = 30 * time.Second

// sgStale marks the security group information as possibly changed.
func (p *Part) sgStale() {
	p.mu.Lock()
	p.sgDirty = true
	p.mu.Unlock()
}

// filter converges the firewall to the server's view of the ports. The
// server is asked only when the ports changed, a notification may have
// changed their information, or sgRefresh passed: a polling pass of a
// quiet host costs no call.
func (p *Part) filter(ctx context.Context, bus *rpc.Bus, d Desired) error {
	devices := make([]string, 0, len(d.Ports))
	for _, port := range d.Ports {
		devices = append(devices, link.TapName(port.ID))
	}
	slices.Sort(devices)
	key := strings.Join(devices, ",")
	p.mu.Lock()
	periodic := !p.sgDirty && key == p.sgDevices
	if periodic && time.Since(p.sgAt) < sgRefresh {
		p.mu.Unlock()
		return nil
	}
	p.sgDirty = false // a notification from now on marks it again
	p.sgFetching = true
	p.mu.Unlock()
	if periodic {
		// Nothing announced a change: look for drift in the kernel too.
		if ok, err := p.fw.Verify(); err != nil {
			p.log.Warn("checking the firewall tables", "error", err)
		} else if !ok {
			p.log.Warn("the firewall tables changed behind the agent's back; writing them anew")
		}
	}
	var info rpcapi.SecurityGroupInfo
	if len(devices) > 0 {
		if err := bus.Call(ctx, rpcapi.TopicPlugin, rpcapi.MethodSecurityGroupInfoForDevices,
			rpcapi.SecurityGroupInfoRequest{Devices: devices}, &info); err != nil {
			p.sgFetched(nil)
			p.sgStale()
			return fmt.Errorf("security_group_info_for_devices: %w", err)
		}
	}
	h, groups := hostFirewall(&info)
	p.sgFetched(groups)
	start := time.Now()
	st, err := p.fw.Apply(ctx, h)
	if err != nil {
		p.sgStale()
		return fmt.Errorf("firewall: %w", err)
	}
	p.mu.Lock()
	p.sgDevices, p.sgAt = key, start
	p.mu.Unlock()
	if st.Objects > 0 || st.ConntrackDeleted > 0 {
		p.log.DebugContext(ctx, "firewall pass", "ports", len(h.Ports), "replaced", st.Replaced, "objects", st.Objects,
			"connections_deleted", st.ConntrackDeleted, "took", time.Since(start))
	}
	return nil
}

// hostFirewall is the firewall's input from the server's reply, and the
// groups that concern this host.
func hostFirewall(info *rpcapi.SecurityGroupInfo) (*firewall.Host, map[string]bool) {
	h := &firewall.Host{Rules: map[string][]firewall.Rule{}, Members: map[string][]netip.Prefix{}}
	groups := map[string]bool{}
	for _, id := range slices.Sorted(mapKeys(info.Devices)) {
		dev := info.Devices[id]
		mac, _ := net.ParseMAC(dev.MACAddress)
		port := firewall.Port{ID: id, Device: link.TapName(id), Bridge: link.BridgeName(dev.NetworkID),
			NetworkID: dev.NetworkID, MAC: mac, PortSecurity: dev.PortSecurityEnabled,
			SecurityGroups: dev.SecurityGroups}
		for _, s := range dev.FixedIPs {
			if a, err := netip.ParseAddr(s); err == nil {
				port.FixedIPs = append(port.FixedIPs, a)
			}
		}
		for _, ap := range dev.AllowedAddressPairs {
			pfx, ok := prefix(ap.IPAddress)
			if !ok {
				continue
			}
			pair := firewall.AddressPair{Prefix: pfx}
			pair.MAC, _ = net.ParseMAC(ap.MACAddress)
			port.AllowedAddressPairs = append(port.AllowedAddressPairs, pair)
		}
		for _, r := range dev.SecurityGroupRules {
			port.ProviderRules = append(port.ProviderRules, ruleFrom(r))
		}
		for _, g := range dev.SecurityGroups {
			groups[g] = true
		}
		for _, g := range dev.SecurityGroupSourceGroups {
			groups[g] = true
		}
		for _, g := range dev.SecurityGroupRemoteAddressGroups {
			groups[g] = true
		}
		h.Ports = append(h.Ports, port)
	}
	for g, rules := range info.SecurityGroups {
		for _, r := range rules {
			h.Rules[g] = append(h.Rules[g], ruleFrom(r))
		}
	}
	for g, byType := range info.SGMemberIPs {
		groups[g] = true
		h.Members[g] = []netip.Prefix{}
		for _, ethertype := range slices.Sorted(mapKeys(byType)) {
			for _, m := range byType[ethertype] {
				if pfx, ok := prefix(m.IP); ok {
					h.Members[g] = append(h.Members[g], pfx)
				}
			}
		}
	}
	return h, groups
}

func ruleFrom(r rpcapi.SecurityGroupRule) firewall.Rule {
	return firewall.Rule{Direction: r.Direction, Ethertype: r.Ethertype, Protocol: r.Protocol,
		PortRangeMin: r.PortRangeMin, PortRangeMax: r.PortRangeMax,
		SourcePortRangeMin: r.SourcePortRangeMin, SourcePortRangeMax: r.SourcePortRangeMax,
		SourceIPPrefix: r.SourceIPPrefix, DestIPPrefix: r.DestIPPrefix, RemoteGroupID: r.RemoteGroupID,
		RemoteAddressGroupID: r.RemoteAddressGroupID, Stateful: r.Stateful}
}

// prefix reads an address or a CIDR.
func prefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen()), err == nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
