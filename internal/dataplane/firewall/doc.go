// Package firewall enforces Neutron security groups and port security on
// a Linux-bridge host with nftables, through netlink
// (github.com/google/nftables): the job of Neutron's iptables firewall
// driver (neutron/agent/linux/iptables_firewall.py with ipset) and of the
// Linux bridge agent's ARP/MAC spoofing protection (arp_protect.py).
//
// # Why two tables
//
// The kernel this runs on has bridge netfilter (br_netfilter) and
// conntrack for IPv4/IPv6, but no conntrack in the nftables bridge family
// (NF_CONNTRACK_BRIDGE; see ../shared/dataplane/README.md). Stateful
// filtering therefore happens in an inet-family table that br_netfilter
// runs for bridged IP packets, and per-port identity comes from a
// bridge-family table: in the inet hooks a bridged packet's iifname and
// oifname are the bridge, never the tap. Every pass is one netlink
// transaction over both tables, so a packet never meets half a ruleset:
// the first pass (and one after Invalidate or a failure) writes both
// tables anew; later passes write only what changed (a port's chains
// flushed and refilled, map entries of ports that came or went, set
// intervals of members that joined or left: a member joining a group
// that a thousand ports' rules name is one interval), and a pass whose
// input did not change writes nothing.
//
//	table bridge neutrino-sg
//	  prerouting (priority -300), per filtered tap from the VM:
//	    iifname vmap @ports-in → port-<tap>: mark the packet with the
//	    port's index in the upper 16 bits of the mark, then anti-spoofing:
//	    allowed source MACs (the port's and its allowed address pairs'),
//	    DHCP server replies from the VM dropped, DHCP discovery from
//	    0.0.0.0 let through, ARP sender IPs, IPv4/IPv6 source (MAC, IP)
//	    pairs including allowed address pairs and the EUI-64 link-local
//	    address, router advertisements from the VM dropped, ND/MLD from ::
//	    for duplicate address detection let through.
//	  forward (priority -200), per filtered tap towards the VM:
//	    oifname vmap @ports-out → out-<tap>: put the port's index in the
//	    lower 16 bits of the mark (per flooded copy: the bridge clones a
//	    frame per output port before this hook).
//	table inet neutrino-sg
//	  prerouting (priority raw): conntrack zone per network
//	    (iifname vmap @zones → zone-<network>: ct zone set N), so that the
//	    same addresses on two networks never share a connection; ports of
//	    stateless groups get notrack (by the mark from the VM, by
//	    destination MAC towards it).
//	  egress (forward, priority 0): mark&0xffff0000 vmap @egress →
//	    egress-<tap>
//	  ingress (forward, priority 1): mark&0xffff vmap @ingress →
//	    ingress-<tap>
//	  input (priority 0): mark&0xffff0000 vmap @egress, for what a VM
//	    sends to the host itself (Neutron's INPUT jump)
//
// Two base chains on the forward hook give Neutron's order for traffic
// between two filtered ports of the host (the sender's egress rules, then
// the receiver's ingress rules): an accept ends only its own base chain,
// a drop ends the packet.
//
// A port chain is Neutron's, rule for rule: egress starts with the DHCP
// client and ICMPv6 allowances that follow anti-spoofing, ingress with
// MLD query/NS/NA; then "ct state established,related accept", the
// port's provider rules (DHCP replies to its addresses, router
// advertisements), a jump to each of its groups' chains of that
// direction, "ct state invalid drop" and drop. A group's chain
// (group-<id>-ingress, group-<id>-egress) holds its rules once for all
// its ports (ethertype, protocol by name or number, port ranges, ICMP
// type/code, remote_ip_prefix, remote_group_id and
// remote_address_group_id as named sets of member addresses:
// ip saddr @v4-<group> on ingress, ip daddr on egress); an accept there
// accepts, as Neutron's RETURN to its accepting sg-chain does, so a rule
// change rewrites one chain however many ports the group has. Ports
// with port security disabled get no chain at all. A stateless group's
// port is untracked, so its "established" rule never matches and replies
// need rules of their own, as in Neutron. Its peers' packets to and from
// it are untracked too, so a stateful port of the same host talking to
// it needs rules for those replies as well (Neutron's raw-table notrack
// makes a stateless port's whole network untracked on its host; here it
// is only that port's traffic).
//
// Conntrack entries that removed rules, removed ports or removed remote
// group members allowed are deleted after the transaction (as Neutron's
// ip_conntrack manager does), so an existing connection stops as soon as
// new ones are refused. Port indices and zones are kept across passes;
// zones are read back from the kernel's table when a Firewall starts, so
// an agent restart changes no rule and drops no connection.
package firewall
