// Package dnsmasq renders and runs one dnsmasq per network the way
// Neutron's DHCP agent does (neutron/agent/linux/dhcp.py, class Dnsmasq):
// static leases only from --dhcp-hostsfile, names from --addn-hosts,
// options from --dhcp-optsfile, the same argv, and reloads by SIGHUP after
// rewriting the files.
package dnsmasq

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// Network is what dnsmasq serves for one network.
type Network struct {
	ID      string
	MTU     int
	Subnets []Subnet
	Ports   []Port
}

// Subnet is a subnet of the network as the DHCP agent sees it.
type Subnet struct {
	ID              string
	CIDR            string
	IPVersion       int
	GatewayIP       string // empty: no gateway
	EnableDHCP      bool
	DNSNameservers  []string
	HostRoutes      []HostRoute
	IPv6AddressMode string // "", dhcpv6-stateful, dhcpv6-stateless, slaac
	IPv6RAMode      string
}

// HostRoute is a subnet's host_routes entry.
type HostRoute struct {
	Destination string
	Nexthop     string
}

// Port is a port of the network (including the DHCP port itself).
type Port struct {
	ID            string
	MAC           string
	FixedIPs      []FixedIP
	DeviceOwner   string
	ExtraDHCPOpts []ExtraDHCPOpt
	// DNSAssignment names the port's addresses (the server's
	// dns_assignment, with the dns-integration extension); an address it
	// does not name is host-<address> in Config.DNSDomain.
	DNSAssignment []DNSAssignment
}

// DNSAssignment is one entry of a port's dns_assignment.
type DNSAssignment struct {
	IPAddress string
	Hostname  string
	FQDN      string
}

// FixedIP is one of a port's fixed_ips.
type FixedIP struct {
	SubnetID  string
	IPAddress string
}

// ExtraDHCPOpt is one of a port's extra_dhcp_opts. IPVersion 0 means 4,
// the API default.
type ExtraDHCPOpt struct {
	OptName   string
	OptValue  string
	IPVersion int
}

// Config holds the DHCP agent options that shape dnsmasq's configuration.
type Config struct {
	LeaseDuration          int    // dhcp_lease_duration in seconds; -1 = infinite
	DNSDomain              string // dns_domain
	LeaseMax               int    // dnsmasq_lease_max
	EnableIsolatedMetadata bool   // enable_isolated_metadata
	ForceMetadata          bool   // force_metadata
	LogDir                 string // dnsmasq_base_log_dir; empty = no query log
}

// DefaultConfig returns Neutron's defaults.
func DefaultConfig() Config {
	return Config{LeaseDuration: 86400, DNSDomain: "openstacklocal", LeaseMax: 1 << 24}
}

// Device owners the DHCP agent treats specially (neutron-lib constants).
const (
	OwnerDHCP        = "network:dhcp"
	ownerRouterHA    = "network:router_ha_interface"
	ownerFloatingIP  = "network:floatingip"
	ownerDistributed = "network:distributed"
)

var routerInterfaceOwners = map[string]bool{
	"network:router_interface":               true,
	"network:router_interface_distributed":   true,
	"network:ha_router_replicated_interface": true,
}

const (
	metadataCIDR   = "169.254.169.254/32"
	win2k3Routes   = "249"
	clientIDOpt    = "client-id"
	clientIDOptNum = "61"
	hostDHCPv6Tag  = "tag:dhcpv6,"
)

// Files are the rendered contents of the three configuration files plus
// the initial lease file.
type Files struct {
	Hosts, AddnHosts, Opts, Leases string
}

func requiresDHCPConfig(p Port) bool {
	switch p.DeviceOwner {
	case ownerRouterHA, ownerFloatingIP, OwnerDHCP, ownerDistributed:
		return false
	}
	return true
}

type alloc struct {
	port           Port
	ip             string
	subnet         *Subnet
	hostname, fqdn string
	noDHCP, noOpts bool
	tag            string
}

func (c Config) iterHosts(n *Network) []alloc {
	subnets := make(map[string]*Subnet, len(n.Subnets))
	for i := range n.Subnets {
		subnets[n.Subnets[i].ID] = &n.Subnets[i]
	}
	var out []alloc
	for _, p := range n.Ports {
		if !requiresDHCPConfig(p) {
			continue
		}
		for _, ip := range sortFixedIPs(p.FixedIPs, subnets) {
			s := subnets[ip.SubnetID]
			a := alloc{port: p, ip: ip.IPAddress, subnet: s}
			if s != nil && s.IPVersion == 6 {
				a.noDHCP = s.IPv6AddressMode == "slaac" || s.IPv6AddressMode == "dhcpv6-stateless"
				a.noOpts = s.IPv6AddressMode == "slaac"
				a.tag = hostDHCPv6Tag
			}
			a.hostname, a.fqdn = c.names(p, ip.IPAddress)
			out = append(out, a)
		}
	}
	return out
}

// names are an address's hostname and fqdn: those the server assigned,
// or else host-<address> in the agent's domain, as Neutron's agent does.
func (c Config) names(p Port, ip string) (hostname, fqdn string) {
	for _, d := range p.DNSAssignment {
		if d.IPAddress == ip {
			return d.Hostname, d.FQDN
		}
	}
	hostname = "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip)
	fqdn = hostname
	if c.DNSDomain != "" {
		fqdn += "." + c.DNSDomain
	}
	return hostname, fqdn
}

// sortFixedIPs puts stateless IPv6 addresses first, as Neutron does, so
// that a dual-stack port's v4 entry is the one dnsmasq matches.
func sortFixedIPs(ips []FixedIP, subnets map[string]*Subnet) []FixedIP {
	var first, rest []FixedIP
	for _, ip := range ips {
		if s := subnets[ip.SubnetID]; s != nil && s.IPVersion == 6 &&
			(s.IPv6AddressMode == "slaac" || s.IPv6AddressMode == "dhcpv6-stateless") {
			first = append(first, ip)
		} else {
			rest = append(rest, ip)
		}
	}
	return append(first, rest...)
}

func formatAddr(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

func clientID(p Port) string {
	for _, o := range p.ExtraDHCPOpts {
		if o.OptName == clientIDOpt || o.OptName == clientIDOptNum {
			return o.OptValue
		}
	}
	return ""
}

// Render produces the files for n.
func (c Config) Render(n *Network) Files {
	enabled := map[string]bool{}
	for _, s := range n.Subnets {
		if s.EnableDHCP {
			enabled[s.ID] = true
		}
	}
	hosts := c.iterHosts(n)

	var hb, ab, lb strings.Builder
	for _, a := range hosts {
		if a.noDHCP {
			if !a.noOpts && len(a.port.ExtraDHCPOpts) > 0 {
				fmt.Fprintf(&hb, "%s,%sset:port-%s\n", a.port.MAC, a.tag, a.port.ID)
			}
			continue
		}
		// An address on a subnet the network does not list (a snapshot taken
		// while a subnet was being added) has no range to serve it from.
		if a.subnet == nil || !enabled[a.subnet.ID] {
			continue
		}
		ip := formatAddr(a.ip)
		cid := clientID(a.port)
		switch {
		case len(a.port.ExtraDHCPOpts) == 0:
			fmt.Fprintf(&hb, "%s,%s%s,%s\n", a.port.MAC, a.tag, a.fqdn, ip)
		case cid != "" && len(a.port.ExtraDHCPOpts) > 1:
			fmt.Fprintf(&hb, "%s,%sid:%s,%s,%s,set:port-%s\n", a.port.MAC, a.tag, cid, a.fqdn, ip, a.port.ID)
		case cid != "":
			fmt.Fprintf(&hb, "%s,%sid:%s,%s,%s\n", a.port.MAC, a.tag, cid, a.fqdn, ip)
		default:
			fmt.Fprintf(&hb, "%s,%s%s,%s,set:port-%s\n", a.port.MAC, a.tag, a.fqdn, ip, a.port.ID)
		}
	}
	for _, a := range hosts {
		if a.subnet == nil {
			continue
		}
		// fqdn first so that PTR answers carry it.
		fmt.Fprintf(&ab, "%s\t%s %s\n", a.ip, a.fqdn, a.hostname)
		if !a.noDHCP && enabled[a.subnet.ID] && a.subnet.IPVersion == 4 {
			fmt.Fprintf(&lb, "0 %s %s * *\n", a.port.MAC, a.ip)
		}
	}
	opts, noNS := c.subnetOpts(n)
	opts = append(opts, c.portOpts(n, noNS)...)
	return Files{Hosts: hb.String(), AddnHosts: ab.String(), Opts: strings.Join(opts, "\n"), Leases: lb.String()}
}

// isolatedSubnets reports, per subnet, whether no router interface holds
// its gateway address.
func isolatedSubnets(n *Network) map[string]bool {
	iso := map[string]bool{}
	gw := map[string]string{}
	for _, s := range n.Subnets {
		iso[s.ID] = true
		gw[s.ID] = s.GatewayIP
	}
	for _, p := range n.Ports {
		if !routerInterfaceOwners[p.DeviceOwner] {
			continue
		}
		for _, ip := range p.FixedIPs {
			if g, ok := gw[ip.SubnetID]; ok && g != "" && g == ip.IPAddress {
				iso[ip.SubnetID] = false
			}
		}
	}
	return iso
}

func (c Config) subnetOpts(n *Network) ([]string, map[string]bool) {
	var opts []string
	noNS := map[string]bool{}
	iso := isolatedSubnets(n)
	dhcpIP := dhcpInterfaceIPs(n)
	for _, s := range n.Subnets {
		if !s.EnableDHCP || (s.IPVersion == 6 && s.IPv6AddressMode == "slaac") {
			continue
		}
		tag := "subnet-" + s.ID
		if len(s.DNSNameservers) > 0 {
			if allAnyAddress(s.DNSNameservers) {
				opts = append(opts, formatOption(s.IPVersion, tag, "dns-server"))
			} else {
				opts = append(opts, formatOption(s.IPVersion, tag, "dns-server", strings.Join(literalAddrs(s.IPVersion, s.DNSNameservers), ",")))
			}
		} else {
			noNS[s.ID] = true
		}
		if c.DNSDomain != "" && s.IPVersion == 6 {
			opts = append(opts, formatOption(6, tag, "domain-search", c.DNSDomain))
		}
		if s.IPVersion != 4 {
			continue
		}
		gateway := s.GatewayIP
		var routes []string
		for _, hr := range s.HostRoutes {
			if hr.Destination == "0.0.0.0/0" {
				if gateway == "" {
					gateway = hr.Nexthop
				}
				continue
			}
			routes = append(routes, hr.Destination+","+hr.Nexthop)
		}
		var mdIP string
		switch {
		case c.ForceMetadata || (iso[s.ID] && c.EnableIsolatedMetadata):
			mdIP = dhcpIP[s.ID]
		case !iso[s.ID] && gateway != "":
			mdIP = gateway
		}
		if mdIP != "" {
			routes = append(routes, metadataCIDR+","+mdIP)
		}
		for _, o := range n.Subnets {
			if o.IPVersion == 4 && o.CIDR != s.CIDR {
				routes = append([]string{o.CIDR + ",0.0.0.0"}, routes...)
			}
		}
		if len(routes) > 0 {
			if gateway != "" {
				routes = append(routes, "0.0.0.0/0,"+gateway)
			}
			opts = append(opts,
				formatOption(4, tag, "classless-static-route", strings.Join(routes, ",")),
				formatOption(4, tag, win2k3Routes, strings.Join(routes, ",")))
		}
		if gateway != "" {
			opts = append(opts, formatOption(4, tag, "router", gateway))
		} else {
			opts = append(opts, formatOption(4, tag, "router"))
		}
	}
	return opts, noNS
}

func (c Config) portOpts(n *Network, noNS map[string]bool) []string {
	var opts []string
	dhcpIPs := map[string][]string{}
	var order []string
	for _, p := range n.Ports {
		if len(p.ExtraDHCPOpts) > 0 {
			versions := map[int]bool{}
			for _, ip := range p.FixedIPs {
				versions[ipVersion(ip.IPAddress)] = true
			}
			for _, o := range p.ExtraDHCPOpts {
				if o.OptName == clientIDOpt || o.OptName == clientIDOptNum {
					continue
				}
				v := o.IPVersion
				if v == 0 {
					v = 4
				}
				if versions[v] {
					opts = append(opts, formatOption(v, "port-"+p.ID, o.OptName, o.OptValue))
				}
			}
		}
		if p.DeviceOwner == OwnerDHCP {
			for _, ip := range p.FixedIPs {
				if !noNS[ip.SubnetID] {
					continue
				}
				if _, seen := dhcpIPs[ip.SubnetID]; !seen {
					order = append(order, ip.SubnetID)
				}
				dhcpIPs[ip.SubnetID] = append(dhcpIPs[ip.SubnetID], ip.IPAddress)
			}
		}
	}
	// With several DHCP servers on a subnet, every one of them is announced.
	for _, sid := range order {
		for _, v := range []int{4, 6} {
			var vx []string
			for _, ip := range dhcpIPs[sid] {
				if ipVersion(ip) == v {
					vx = append(vx, ip)
				}
			}
			if len(vx) > 1 {
				opts = append(opts, formatOption(v, "subnet-"+sid, "dns-server", strings.Join(literalAddrs(v, vx), ",")))
			}
		}
	}
	return opts
}

// formatOption renders one dhcp-optsfile line: "tag:<tag>,[extra tag,]option:<name>|<num>|option6:<name>,args…".
func formatOption(ipVersion int, tag, option string, args ...string) string {
	option, _, _ = strings.Cut(option, "\n")
	var extra string
	if strings.HasPrefix(option, "tag:") {
		if i := strings.LastIndex(option, ","); i >= 0 {
			extra, option = option[:i], option[i+1:]
		}
	}
	switch {
	case ipVersion == 6:
		option = "option6:" + option
	case !isDigits(option):
		option = "option:" + option
	}
	parts := []string{"tag:" + tag}
	if extra != "" {
		parts = append(parts, extra)
	}
	parts = append(parts, option)
	for _, a := range args {
		a, _, _ = strings.Cut(a, "\n")
		parts = append(parts, a)
	}
	return strings.Join(parts, ",")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func ipVersion(ip string) int {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		return 6
	}
	return 4
}

func literalAddrs(v int, ips []string) []string {
	if v == 4 {
		return ips
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = "[" + ip + "]"
	}
	return out
}

func allAnyAddress(ips []string) bool {
	for _, ip := range ips {
		if ip != "0.0.0.0" && ip != "::" {
			return false
		}
	}
	return true
}

// dhcpInterfaceIPs maps subnet id → the DHCP port's address on it.
func dhcpInterfaceIPs(n *Network) map[string]string {
	out := map[string]string{}
	for _, p := range n.Ports {
		if p.DeviceOwner != OwnerDHCP {
			continue
		}
		for _, ip := range p.FixedIPs {
			if _, ok := out[ip.SubnetID]; !ok {
				out[ip.SubnetID] = ip.IPAddress
			}
		}
	}
	return out
}

// Paths are the per-network files under the state directory
// (<state_dir>/<network-id>/…, as Neutron lays them out).
type Paths struct {
	Dir, PID, Hosts, AddnHosts, Opts, Leases string
	// Log is dnsmasq's own log (--log-facility) when no
	// dnsmasq_base_log_dir is set: the agent reads its warnings and
	// errors from it.
	Log string
}

// PathsFor returns the file paths of network id under stateDir.
func PathsFor(stateDir, id string) Paths {
	d := filepath.Join(stateDir, id)
	return Paths{Dir: d, PID: filepath.Join(d, "pid"), Hosts: filepath.Join(d, "host"),
		AddnHosts: filepath.Join(d, "addn_hosts"), Opts: filepath.Join(d, "opts"), Leases: filepath.Join(d, "leases"),
		Log: filepath.Join(d, "dnsmasq.log")}
}

// LogFile is the file dnsmasq of network id logs to with c and paths p.
func (c Config) LogFile(id string, p Paths) string {
	if c.LogDir != "" {
		return filepath.Join(c.LogDir, id, "dhcp_dns_log")
	}
	return p.Log
}

// Args returns dnsmasq's argument list (without the program name) for n,
// in Neutron's order. ok is false when no subnet has DHCP enabled, in which
// case no dnsmasq should run.
func (c Config) Args(n *Network, p Paths) (args []string, ok bool) {
	args = []string{
		"--no-hosts",
		"--no-resolv",
		"--pid-file=" + p.PID,
		"--dhcp-hostsfile=" + p.Hosts,
		"--addn-hosts=" + p.AddnHosts,
		"--dhcp-optsfile=" + p.Opts,
		"--dhcp-leasefile=" + p.Leases,
		"--dhcp-match=set:ipxe,175",
		"--dhcp-userclass=set:ipxe6,iPXE",
		"--local-service",
		"--bind-dynamic",
	}
	lease := strconv.Itoa(c.LeaseDuration) + "s"
	if c.LeaseDuration == -1 {
		lease = "infinite"
	}
	possible := uint64(0)
	for _, s := range n.Subnets {
		if !s.EnableDHCP {
			continue
		}
		ok = true
		pfx, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			continue
		}
		pfx = pfx.Masked()
		if s.IPVersion == 4 {
			mask := net4Mask(pfx.Bits())
			args = append(args, fmt.Sprintf("--dhcp-range=set:subnet-%s,%s,static,%s,%s", s.ID, pfx.Addr(), mask, lease))
			possible += 1 << (32 - pfx.Bits())
			continue
		}
		if m := s.IPv6AddressMode; m != "dhcpv6-stateful" && m != "dhcpv6-stateless" && (m != "" || s.IPv6RAMode != "") {
			continue
		}
		if pfx.Bits() < 64 {
			continue
		}
		args = append(args, fmt.Sprintf("--dhcp-range=set:subnet-%s,%s,static,%d,%s", s.ID, pfx.Addr(), pfx.Bits(), lease))
		if 128-pfx.Bits() < 63 {
			possible += 1 << (128 - pfx.Bits())
		} else {
			possible = 1 << 62
		}
	}
	if n.MTU > 0 {
		args = append(args, fmt.Sprintf("--dhcp-option-force=option:mtu,%d", n.MTU))
	}
	leaseMax := uint64(c.LeaseMax)
	if possible < leaseMax {
		leaseMax = possible
	}
	args = append(args, fmt.Sprintf("--dhcp-lease-max=%d", leaseMax), "--conf-file=/dev/null")
	if c.DNSDomain != "" {
		args = append(args, "--domain="+c.DNSDomain)
	}
	// dnsmasq logs to a file the agent reads, not to syslog, so that its
	// warnings (an unreadable hosts file, "no address available") reach
	// the agent's log; with dnsmasq_base_log_dir, also every query and
	// DHCP detail, as Neutron does.
	if c.LogDir != "" {
		args = append(args, "--log-queries", "--log-dhcp")
	}
	args = append(args, "--log-facility="+c.LogFile(n.ID, p))
	return args, ok
}

func net4Mask(bits int) string {
	m := ^uint32(0) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}
