package securitygroups

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
)

// DHCP ports by IP version: server port, client port (DHCP_RULE_PORT).
var dhcpRulePorts = map[int][2]int{4: {67, 68}, 6: {547, 546}}

// SecurityGroupInfoForDevices answers security_group_info_for_devices:
// for the given devices, the ports that take security groups, the rules
// of their groups, and the addresses of the remote groups those rules
// name. A device is named as agents name it (ML2's
// get_ports_from_devices): a tap device (tap<port-id[:11]>), a port id
// or a prefix of one; the reply keys each port by its id and echoes the
// name asked for as its "device". It costs the same six queries however
// many ports are asked for.
func (p *Plugin) SecurityGroupInfoForDevices(ctx context.Context, devices []string) (*rpcapi.SecurityGroupInfo, error) {
	info := &rpcapi.SecurityGroupInfo{
		Devices:        map[string]*rpcapi.SecurityGroupDevice{},
		SecurityGroups: map[string][]rpcapi.SecurityGroupRule{},
		SGMemberIPs:    map[string]map[string][]rpcapi.MemberIP{},
	}
	if len(devices) == 0 || p.portDef == nil {
		return info, nil
	}
	err := p.store.Read(ctx, func(tx *store.Tx) error {
		deviceOfPort, err := portsOfDevices(ctx, tx, devices)
		if err != nil {
			return err
		}
		if len(deviceOfPort) == 0 {
			return nil
		}
		ids := make([]any, 0, len(deviceOfPort))
		for id := range deviceOfPort {
			ids = append(ids, id)
		}
		ports, err := tx.List(ctx, p.portDef, &resource.Query{Filters: []resource.Filter{
			{Attr: p.portDef.Attr("id"), Values: ids}}})
		if err != nil {
			return err
		}
		var groupIDs []any
		seen := map[string]bool{}
		for _, port := range ports {
			if trusted(port) {
				continue
			}
			dev := deviceOf(port)
			dev.Device = deviceOfPort[port.ID()]
			info.Devices[port.ID()] = dev
			for _, g := range dev.SecurityGroups {
				if !seen[g] {
					seen[g] = true
					groupIDs = append(groupIDs, g)
					info.SecurityGroups[g] = []rpcapi.SecurityGroupRule{}
				}
			}
		}
		if len(groupIDs) == 0 {
			return nil
		}
		groups, err := tx.List(ctx, p.groupDef, &resource.Query{Filters: []resource.Filter{
			{Attr: p.groupDef.Attr("id"), Values: groupIDs}}})
		if err != nil {
			return err
		}
		stateful := map[string]bool{}
		for _, g := range groups {
			stateful[g.ID()] = g.Resource().Attr("stateful") == nil || g.Bool("stateful")
		}
		rules, err := tx.List(ctx, p.ruleDef, &resource.Query{
			Filters: []resource.Filter{{Attr: p.ruleDef.Attr("security_group_id"), Values: groupIDs}},
			Sorts:   []resource.SortKey{{Attr: p.ruleDef.Attr("id")}},
		})
		if err != nil {
			return err
		}
		remoteEthertypes := map[string]map[string]bool{}
		agEthertypes := map[string]map[string]bool{}
		for _, r := range rules {
			sg := r.String("security_group_id")
			rule := agentRule(r)
			st := stateful[sg]
			rule.Stateful = &st
			if !slices.ContainsFunc(info.SecurityGroups[sg], func(x rpcapi.SecurityGroupRule) bool { return sameRule(x, rule) }) {
				info.SecurityGroups[sg] = append(info.SecurityGroups[sg], rule)
			}
			if rule.RemoteGroupID != "" {
				if remoteEthertypes[rule.RemoteGroupID] == nil {
					remoteEthertypes[rule.RemoteGroupID] = map[string]bool{}
				}
				remoteEthertypes[rule.RemoteGroupID][rule.Ethertype] = true
			}
			if ag := rule.RemoteAddressGroupID; ag != "" {
				if agEthertypes[ag] == nil {
					agEthertypes[ag] = map[string]bool{}
				}
				agEthertypes[ag][rule.Ethertype] = true
			}
		}
		for _, dev := range info.Devices {
			for _, g := range dev.SecurityGroups {
				for _, r := range info.SecurityGroups[g] {
					if r.RemoteGroupID != "" && !slices.Contains(dev.SecurityGroupSourceGroups, r.RemoteGroupID) {
						dev.SecurityGroupSourceGroups = append(dev.SecurityGroupSourceGroups, r.RemoteGroupID)
					}
					if ag := r.RemoteAddressGroupID; ag != "" && !slices.Contains(dev.SecurityGroupRemoteAddressGroups, ag) {
						dev.SecurityGroupRemoteAddressGroups = append(dev.SecurityGroupRemoteAddressGroups, ag)
					}
				}
			}
		}
		if err := p.addressGroupMembers(ctx, tx, agEthertypes, info); err != nil {
			return err
		}
		remotes := make([]string, 0, len(remoteEthertypes))
		for g, types := range remoteEthertypes {
			remotes = append(remotes, g)
			info.SGMemberIPs[g] = map[string][]rpcapi.MemberIP{}
			for t := range types {
				info.SGMemberIPs[g][t] = []rpcapi.MemberIP{}
			}
		}
		slices.Sort(remotes)
		members, err := tx.SecurityGroupMembers(ctx, remotes)
		if err != nil {
			return err
		}
		for g, addrs := range members {
			for _, a := range addrs {
				ethertype := "IPv4"
				if pfx, err := netip.ParsePrefix(withLength(a.IP)); err == nil && pfx.Addr().Is6() {
					ethertype = "IPv6"
				}
				list, ok := info.SGMemberIPs[g][ethertype]
				if !ok {
					continue
				}
				m := rpcapi.MemberIP{IP: a.IP, MAC: a.MAC}
				if !slices.Contains(list, m) {
					info.SGMemberIPs[g][ethertype] = append(list, m)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// portsOfDevices maps the port id each device names to the device: the
// "tap" prefix stripped (Neutron's INTERFACE_PREFIXES for Linux bridge
// ports), a full id taken as it is, a shorter one matched as a prefix
// (all of them in one query).
func portsOfDevices(ctx context.Context, tx *store.Tx, devices []string) (map[string]string, error) {
	out := make(map[string]string, len(devices))
	deviceOf := map[string]string{}
	var prefixes []string
	for _, d := range devices {
		id := strings.TrimPrefix(d, "tap")
		switch {
		case id == "":
		case len(id) == uuidLen:
			if _, taken := out[id]; !taken {
				out[id] = d
			}
		default:
			if _, seen := deviceOf[id]; !seen {
				deviceOf[id] = d
				prefixes = append(prefixes, id)
			}
		}
	}
	if len(prefixes) == 0 {
		return out, nil
	}
	ids, err := tx.PortIDsByPrefixes(ctx, prefixes)
	if err != nil {
		return nil, fmt.Errorf("ports of devices: %w", err)
	}
	for _, pfx := range prefixes {
		for _, full := range ids[pfx] {
			if _, taken := out[full]; !taken {
				out[full] = deviceOf[pfx]
			}
		}
	}
	return out, nil
}

// uuidLen is the length of a port id.
const uuidLen = 36

// withLength gives an address without a prefix length its host length,
// so both forms parse as prefixes.
func withLength(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	return s
}

// deviceOf is make_port_dict_with_security_groups plus the provider rules
// (_apply_provider_rule): DHCP replies to the port's addresses, and
// router advertisements when it has an IPv6 address.
func deviceOf(port *resource.Object) *rpcapi.SecurityGroupDevice {
	dev := &rpcapi.SecurityGroupDevice{
		ID: port.ID(), Device: port.ID(), NetworkID: port.String("network_id"),
		MACAddress: port.String("mac_address"), DeviceOwner: port.String("device_owner"),
		DeviceID: port.String("device_id"), AdminStateUp: port.Bool("admin_state_up"),
		Status: port.String("status"), PortSecurityEnabled: portSecurity(port, nil),
		FixedIPs: []string{}, AllowedAddressPairs: []rpcapi.AddressPair{},
		SecurityGroupSourceGroups: []string{}, SecurityGroupRemoteAddressGroups: []string{},
		SecurityGroupRules: []rpcapi.SecurityGroupRule{},
		Port:               port.Map(),
	}
	if pid, ok := dev.Port["project_id"]; ok {
		if _, has := dev.Port["tenant_id"]; !has {
			dev.Port["tenant_id"] = pid
		}
	}
	dev.SecurityGroups, _ = port.Get("security_groups").([]string)
	if dev.SecurityGroups == nil {
		dev.SecurityGroups = []string{}
	}
	ips, _ := port.Get("fixed_ips").([]any)
	for _, it := range ips {
		if m, ok := it.(map[string]any); ok {
			if s, ok := m["ip_address"].(string); ok {
				dev.FixedIPs = append(dev.FixedIPs, s)
			}
		}
	}
	pairs, _ := port.Get("allowed_address_pairs").([]any)
	for _, it := range pairs {
		if m, ok := it.(map[string]any); ok {
			ip, _ := m["ip_address"].(string)
			mac, _ := m["mac_address"].(string)
			dev.AllowedAddressPairs = append(dev.AllowedAddressPairs, rpcapi.AddressPair{IPAddress: ip, MACAddress: mac})
		}
	}
	hasV6 := false
	for _, ip := range dev.FixedIPs {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
			hasV6 = true
		}
	}
	if hasV6 {
		ra := 134
		dev.SecurityGroupRules = append(dev.SecurityGroupRules, rpcapi.SecurityGroupRule{Direction: "ingress",
			Ethertype: "IPv6", Protocol: "ipv6-icmp", SourcePortRangeMin: &ra})
	}
	for _, v := range []int{4, 6} {
		var dests []string
		for _, ip := range dev.FixedIPs {
			if a, err := netip.ParseAddr(ip); err == nil && (a.Is4() == (v == 4)) {
				dests = append(dests, netip.PrefixFrom(a, a.BitLen()).String())
			}
		}
		ethertype := "IPv4"
		if v == 4 {
			dests = append(dests, "255.255.255.255/32")
		} else {
			dests = append(dests, "fe80::/64")
			ethertype = "IPv6"
		}
		src, dst := dhcpRulePorts[v][0], dhcpRulePorts[v][1]
		for _, d := range dests {
			dev.SecurityGroupRules = append(dev.SecurityGroupRules, rpcapi.SecurityGroupRule{Direction: "ingress",
				Ethertype: ethertype, Protocol: "udp", PortRangeMin: &dst, PortRangeMax: &dst,
				SourcePortRangeMin: &src, SourcePortRangeMax: &src, DestIPPrefix: d})
		}
	}
	return dev
}

// agentRule is a stored rule as security_group_info_for_ports gives it
// to agents: the remote prefix (normalized) by direction.
func agentRule(r *resource.Object) rpcapi.SecurityGroupRule {
	out := rpcapi.SecurityGroupRule{Direction: r.String("direction"), Ethertype: r.String("ethertype")}
	out.Protocol, _ = r.Get("protocol").(string)
	if n, ok := r.Get("port_range_min").(int); ok {
		out.PortRangeMin = &n
	}
	if n, ok := r.Get("port_range_max").(int); ok {
		out.PortRangeMax = &n
	}
	out.RemoteGroupID, _ = r.Get("remote_group_id").(string)
	out.RemoteAddressGroupID, _ = r.Get("remote_address_group_id").(string)
	if s, _ := r.Get("remote_ip_prefix").(string); s != "" {
		if n, _ := r.Get("normalized_cidr").(string); n != "" {
			s = n
		}
		if out.Direction == "ingress" {
			out.SourceIPPrefix = s
		} else {
			out.DestIPPrefix = s
		}
	}
	return out
}

func sameRule(a, b rpcapi.SecurityGroupRule) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Direction == b.Direction && a.Ethertype == b.Ethertype && a.Protocol == b.Protocol &&
		eq(a.PortRangeMin, b.PortRangeMin) && eq(a.PortRangeMax, b.PortRangeMax) &&
		a.SourceIPPrefix == b.SourceIPPrefix && a.DestIPPrefix == b.DestIPPrefix && a.RemoteGroupID == b.RemoteGroupID &&
		a.RemoteAddressGroupID == b.RemoteAddressGroupID
}

// addressGroupMembers puts the addresses of the address groups rules
// name into SGMemberIPs, by ethertype, for the ethertypes the rules
// naming each group have (Neutron's _get_address_group_ips).
func (p *Plugin) addressGroupMembers(ctx context.Context, tx *store.Tx, ethertypes map[string]map[string]bool, info *rpcapi.SecurityGroupInfo) error {
	if len(ethertypes) == 0 || p.agDef == nil {
		return nil
	}
	ids := make([]any, 0, len(ethertypes))
	for ag, types := range ethertypes {
		ids = append(ids, ag)
		info.SGMemberIPs[ag] = map[string][]rpcapi.MemberIP{}
		for t := range types {
			info.SGMemberIPs[ag][t] = []rpcapi.MemberIP{}
		}
	}
	groups, err := tx.List(ctx, p.agDef, &resource.Query{Filters: []resource.Filter{{Attr: p.agDef.Attr("id"), Values: ids}}})
	if err != nil {
		return fmt.Errorf("read address groups: %w", err)
	}
	for _, g := range groups {
		for _, a := range toStrings(g.Get("addresses")) {
			pfx, err := netip.ParsePrefix(a)
			if err != nil {
				continue
			}
			ethertype := "IPv4"
			if pfx.Addr().Is6() {
				ethertype = "IPv6"
			}
			if list, ok := info.SGMemberIPs[g.ID()][ethertype]; ok {
				info.SGMemberIPs[g.ID()][ethertype] = append(list, rpcapi.MemberIP{IP: a})
			}
		}
	}
	return nil
}
