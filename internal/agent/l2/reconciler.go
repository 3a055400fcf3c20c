package l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
)

// ErrUnsupported marks a segment this kernel cannot build (VLAN without
// CONFIG_VLAN_8021Q).
var ErrUnsupported = errors.New("not supported on this kernel")

// Reconciler converges one host's L2 data plane. Its methods are safe for
// concurrent use; passes are serialised.
type Reconciler struct {
	host *link.Host
	cfg  Config
	log  *slog.Logger

	mu       sync.Mutex
	fdb      map[string]map[string]map[PortInfo]bool // net → remote IP → entries
	reported map[string]bool                         // ports reported up
	drivers  map[string]uplinkDriver
	// underlay is the device holding local_ip, looked up once per pass
	// (a dump of every address of the host) for all its VXLAN networks.
	underlay string
}

// New returns a reconciler for the host reachable through h.
func New(h *link.Host, cfg Config, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.Default()
	}
	r := &Reconciler{host: h, cfg: cfg, log: log.With("component", "l2"),
		fdb: map[string]map[string]map[PortInfo]bool{}, reported: map[string]bool{}}
	r.drivers = map[string]uplinkDriver{
		TypeFlat:  flatDriver{r},
		TypeVXLAN: vxlanDriver{r},
		TypeVLAN:  vlanDriver{r},
		TypeLocal: localDriver{},
	}
	return r
}

// uplinkDriver builds the uplink of a network's segment; one per network
// type, so that a kernel with 802.1Q gets a VLAN driver without touching
// the rest.
type uplinkDriver interface {
	// uplink ensures the segment's device and returns it (nil: none).
	uplink(n Network) (netlink.Link, error)
}

// FDBAdd merges an l2population fdb_add payload.
func (r *Reconciler) FDBAdd(e FDBEntries) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for netID, n := range e {
		m := r.fdb[netID]
		if m == nil {
			m = map[string]map[PortInfo]bool{}
			r.fdb[netID] = m
		}
		for ip, infos := range n.Ports {
			s := m[ip]
			if s == nil {
				s = map[PortInfo]bool{}
				m[ip] = s
			}
			for _, pi := range infos {
				s[normalize(pi)] = true
			}
		}
	}
}

// FDBRemove applies an l2population fdb_remove payload.
func (r *Reconciler) FDBRemove(e FDBEntries) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for netID, n := range e {
		m := r.fdb[netID]
		for ip, infos := range n.Ports {
			for _, pi := range infos {
				delete(m[ip], normalize(pi))
			}
			if len(m[ip]) == 0 {
				delete(m, ip)
			}
		}
		if len(m) == 0 {
			delete(r.fdb, netID)
		}
	}
}

// SetFDB replaces all l2population entries (a full resync).
func (r *Reconciler) SetFDB(e FDBEntries) {
	r.mu.Lock()
	r.fdb = map[string]map[string]map[PortInfo]bool{}
	r.mu.Unlock()
	r.FDBAdd(e)
}

func normalize(p PortInfo) PortInfo {
	if hw, err := net.ParseMAC(p.MAC); err == nil {
		p.MAC = hw.String()
	}
	return p
}

// snapshot is the kernel state read once per pass.
type snapshot struct {
	links map[string]netlink.Link
	fdb   map[int]map[link.FDBEntry]bool // loaded on first use
	neigh map[int]map[string]string      // loaded on first use
}

func (s *snapshot) get(name string) netlink.Link { return s.links[name] }

// Reconcile performs one full pass toward d.
func (r *Reconciler) Reconcile(ctx context.Context, d Desired) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Ports: make(map[string]PortStatus, len(d.Ports))}
	r.underlay = ""

	all, err := r.host.Links()
	if err != nil {
		return res, fmt.Errorf("l2: %w", err)
	}
	snap := &snapshot{links: make(map[string]netlink.Link, len(all))}
	for _, l := range all {
		snap.links[l.Attrs().Name] = l
	}

	nets := make(map[string]Network, len(d.Networks))
	for _, n := range d.Networks {
		nets[n.ID] = n
	}
	portsByNet := map[string][]Port{}
	for _, p := range d.Ports {
		if _, ok := nets[p.NetworkID]; !ok {
			res.Ports[p.ID] = PortStatus{State: StateError, Err: fmt.Errorf("port %s: network %s not in desired state", p.ID, p.NetworkID)}
			continue
		}
		portsByNet[p.NetworkID] = append(portsByNet[p.NetworkID], p)
	}
	// A network needs its bridge when a bound port is on it, or when its
	// bridge already carries another agent's tap (the DHCP port).
	for id := range nets {
		if _, ok := portsByNet[id]; ok {
			continue
		}
		if br := snap.get(link.BridgeName(id)); br != nil && r.hasTaps(snap, br) {
			portsByNet[id] = nil
		}
	}

	wantBridges := map[string]bool{}
	wantUplinks := map[string]bool{}
	netIDs := make([]string, 0, len(portsByNet))
	for id := range portsByNet {
		netIDs = append(netIDs, id)
	}
	sort.Strings(netIDs)
	for _, id := range netIDs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := nets[id]
		ports := portsByNet[id]
		br, uplink, err := r.ensureNetwork(snap, n)
		if br != nil {
			wantBridges[br.Attrs().Name] = true
		}
		if uplink != nil {
			wantUplinks[uplink.Attrs().Name] = true
		}
		if err != nil {
			st := PortStatus{State: StateError, Err: err}
			if errors.Is(err, ErrUnsupported) {
				st.State = StateUnsupported
			}
			for _, p := range ports {
				res.Ports[p.ID] = st
			}
			if !errors.Is(err, ErrUnsupported) {
				res.Errors = append(res.Errors, err)
			}
			continue
		}
		for _, p := range ports {
			res.Ports[p.ID] = r.ensurePort(snap, n, br, p)
		}
		if vx, ok := uplink.(*netlink.Vxlan); ok {
			if err := r.ensureFDB(snap, vx, n); err != nil {
				res.Errors = append(res.Errors, err)
			}
		}
	}

	res.Errors = append(res.Errors, r.collect(ctx, snap, wantBridges, wantUplinks)...)

	// Transitions for update_device_up / update_device_down.
	for id, st := range res.Ports {
		if st.State == StateUp {
			if !r.reported[id] {
				res.Up = append(res.Up, id)
				r.reported[id] = true
			}
		} else if r.reported[id] {
			res.Down = append(res.Down, id)
			delete(r.reported, id)
		}
	}
	for id := range r.reported {
		if _, ok := res.Ports[id]; !ok {
			res.Down = append(res.Down, id)
			delete(r.reported, id)
		}
	}
	sort.Strings(res.Up)
	sort.Strings(res.Down)
	return res, nil
}

func (r *Reconciler) hasTaps(s *snapshot, br netlink.Link) bool {
	for name, l := range s.links {
		if l.Attrs().MasterIndex == br.Attrs().Index && strings.HasPrefix(name, link.TapPrefix) {
			return true
		}
	}
	return false
}

func (r *Reconciler) ensureNetwork(s *snapshot, n Network) (br, uplink netlink.Link, err error) {
	d, ok := r.drivers[n.NetworkType]
	if !ok {
		return nil, nil, fmt.Errorf("network %s: network type %q: %w", n.ID, n.NetworkType, ErrUnsupported)
	}
	// The uplink first: an unsupported segment gets no bridge at all.
	uplink, err = d.uplink(n)
	if err != nil {
		return nil, nil, fmt.Errorf("network %s: %w", n.ID, err)
	}
	br, err = r.host.EnsureBridge(link.BridgeName(n.ID), n.MTU)
	if err != nil {
		return nil, uplink, fmt.Errorf("network %s: %w", n.ID, err)
	}
	s.links[br.Attrs().Name] = br
	if uplink != nil {
		if err := r.host.EnsureMaster(uplink, br); err != nil {
			return br, uplink, fmt.Errorf("network %s: %w", n.ID, err)
		}
		s.links[uplink.Attrs().Name] = uplink
	}
	return br, uplink, nil
}

func (r *Reconciler) ensurePort(s *snapshot, n Network, br netlink.Link, p Port) PortStatus {
	tap := s.get(link.TapName(p.ID))
	if tap == nil {
		return PortStatus{State: StateNoDevice}
	}
	if err := r.host.EnsureMaster(tap, br); err != nil {
		return PortStatus{State: StateError, Err: err}
	}
	mtu := p.MTU
	if mtu == 0 {
		mtu = n.MTU
	}
	if err := r.host.EnsureState(tap, mtu, p.AdminStateUp); err != nil {
		return PortStatus{State: StateError, Err: err}
	}
	if !p.AdminStateUp {
		return PortStatus{State: StateAdminDown}
	}
	return PortStatus{State: StateUp}
}

// ensureFDB converges the remote (static) FDB entries and, with
// arp_responder, the permanent neighbour entries of a VXLAN device.
func (r *Reconciler) ensureFDB(s *snapshot, vx *netlink.Vxlan, n Network) error {
	want := map[link.FDBEntry]bool{}
	wantNeigh := map[string]string{}
	switch {
	case r.cfg.L2Population:
		for ip, infos := range r.fdb[n.ID] {
			if ip == r.cfg.LocalIP {
				continue
			}
			for pi := range infos {
				want[link.FDBEntry{MAC: pi.MAC, Dst: ip}] = true
				if r.cfg.ARPResponder && pi != FloodEntry && pi.IP != "" && pi.IP != "0.0.0.0" && !strings.Contains(pi.IP, ":") {
					wantNeigh[pi.IP] = pi.MAC
				}
			}
		}
	case r.cfg.VXLANGroup == "":
		for _, ip := range r.cfg.FloodPeers {
			if ip != r.cfg.LocalIP {
				want[link.FDBEntry{MAC: link.FloodMAC.String(), Dst: ip}] = true
			}
		}
	}
	if s.fdb == nil {
		all, err := r.host.FDBAll()
		if err != nil {
			return err
		}
		s.fdb = all
	}
	have := s.fdb[vx.Attrs().Index]
	var errs []error
	for e := range have {
		// The kernel's own flood entry towards a multicast group is not ours.
		if len(vx.Group) > 0 && e.Dst == vx.Group.String() {
			continue
		}
		if !want[e] {
			errs = append(errs, r.host.DelFDB(vx, e))
		}
	}
	for e := range want {
		if !have[e] {
			errs = append(errs, r.host.AddFDB(vx, e))
		}
	}
	if r.cfg.ARPResponder || len(wantNeigh) > 0 {
		if s.neigh == nil {
			all, err := r.host.NeighborsAll()
			if err != nil {
				return err
			}
			s.neigh = all
		}
		haveNeigh := s.neigh[vx.Attrs().Index]
		for ip, mac := range haveNeigh {
			if wantNeigh[ip] != mac {
				errs = append(errs, r.host.DelNeighbor(vx, ip))
			}
		}
		for ip, mac := range wantNeigh {
			if haveNeigh[ip] != mac {
				errs = append(errs, r.host.SetNeighbor(vx, ip, mac))
			}
		}
	}
	return errors.Join(errs...)
}

// collect removes Neutron-named devices no network needs: brq* bridges
// without taps, vxlan-* devices and <physif>.<vid> VLAN sub-interfaces of
// mapped interfaces. Devices with other names are never touched.
func (r *Reconciler) collect(ctx context.Context, s *snapshot, wantBridges, wantUplinks map[string]bool) []error {
	var errs []error
	for name, l := range s.links {
		switch {
		case strings.HasPrefix(name, link.BridgePrefix) && l.Type() == "bridge":
			if wantBridges[name] || r.hasTaps(s, l) {
				continue
			}
		case strings.HasPrefix(name, link.VXLANPrefix) && l.Type() == "vxlan":
			if wantUplinks[name] {
				continue
			}
		case l.Type() == "vlan" && r.isMappedVLAN(l):
			if wantUplinks[name] {
				continue
			}
		default:
			continue
		}
		r.log.InfoContext(ctx, "removing unused device", "device", name)
		if err := r.host.Delete(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

type localDriver struct{}

func (localDriver) uplink(Network) (netlink.Link, error) { return nil, nil }

type flatDriver struct{ r *Reconciler }

func (d flatDriver) uplink(n Network) (netlink.Link, error) {
	ifname, ok := d.r.cfg.PhysicalInterfaceMappings[n.PhysicalNetwork]
	if !ok {
		return nil, fmt.Errorf("no physical_interface_mappings entry for physical network %q", n.PhysicalNetwork)
	}
	l, err := d.r.host.Get(ifname)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("physical interface %s of %q does not exist", ifname, n.PhysicalNetwork)
	}
	return l, d.r.host.EnsureState(l, 0, true)
}

type vxlanDriver struct{ r *Reconciler }

func (d vxlanDriver) uplink(n Network) (netlink.Link, error) {
	c := d.r.cfg
	if !c.EnableVXLAN {
		return nil, fmt.Errorf("vxlan network but enable_vxlan is false")
	}
	local := net.ParseIP(c.LocalIP)
	if local == nil {
		return nil, fmt.Errorf("vxlan: local_ip %q is not an IP address", c.LocalIP)
	}
	if d.r.underlay == "" {
		dev, err := d.r.host.AddrOf(local)
		if err != nil {
			return nil, fmt.Errorf("vxlan %d underlay: %w", n.SegmentationID, err)
		}
		d.r.underlay = dev.Attrs().Name
	}
	v := link.VXLAN{VNI: n.SegmentationID, Local: local, DevName: d.r.underlay, TTL: c.TTL, TOS: c.TOS,
		Port: c.UDPPort, Learn: !c.L2Population, Proxy: c.L2Population && c.ARPResponder, MTU: n.MTU}
	if !c.L2Population && c.VXLANGroup != "" {
		g, err := GroupFor(c.VXLANGroup, n.SegmentationID)
		if err != nil {
			return nil, err
		}
		v.Group = net.IP(g.AsSlice())
	}
	return d.r.host.EnsureVXLAN(v)
}

// GroupFor picks the multicast group of a VNI from vxlan_group: a single
// address, or a CIDR of which the VNI selects the host part (Neutron's
// scheme, spreading VNIs over the groups).
func GroupFor(group string, vni int) (netip.Addr, error) {
	if a, err := netip.ParseAddr(group); err == nil {
		return a, nil
	}
	p, err := netip.ParsePrefix(group)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}, fmt.Errorf("vxlan_group %q: not an IPv4 address or CIDR", group)
	}
	p = p.Masked()
	base := p.Addr().As4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	hostmask := uint32(1)<<(32-p.Bits()) - 1
	if p.Bits() == 0 {
		hostmask = ^uint32(0)
	}
	v += uint32(vni) & hostmask
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// vlanDriver would build physif.<vid> into the bridge, as Neutron's
// linuxbridge agent does. This kernel has no CONFIG_VLAN_8021Q, so it
// probes once and reports ErrUnsupported; on a kernel with 802.1Q the
// probe succeeds and the sub-interface is created.
type vlanDriver struct{ r *Reconciler }

func (d vlanDriver) uplink(n Network) (netlink.Link, error) {
	ifname, ok := d.r.cfg.PhysicalInterfaceMappings[n.PhysicalNetwork]
	if !ok {
		return nil, fmt.Errorf("no physical_interface_mappings entry for physical network %q", n.PhysicalNetwork)
	}
	parent, err := d.r.host.Get(ifname)
	if err != nil {
		return nil, err
	}
	if parent == nil {
		return nil, fmt.Errorf("physical interface %s of %q does not exist", ifname, n.PhysicalNetwork)
	}
	name := vlanName(ifname, n.SegmentationID)
	l, err := d.r.host.Get(name)
	if err != nil {
		return nil, err
	}
	if l == nil {
		v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index, MTU: n.MTU}, VlanId: n.SegmentationID}
		if err := d.r.host.Netlink().LinkAdd(v); err != nil {
			// RTNETLINK's answer for a link kind the kernel was built without.
			if errors.Is(err, unix.EOPNOTSUPP) {
				return nil, fmt.Errorf("vlan %d: 802.1Q sub-interfaces: %w", n.SegmentationID, ErrUnsupported)
			}
			return nil, fmt.Errorf("vlan %d: %w", n.SegmentationID, err)
		}
		if l, err = d.r.host.Netlink().LinkByName(name); err != nil {
			return nil, fmt.Errorf("vlan %d: %w", n.SegmentationID, err)
		}
	}
	return l, d.r.host.EnsureState(l, n.MTU, true)
}

// isMappedVLAN reports whether l is a VLAN sub-interface this agent names:
// <mapped physical interface>.<vid>.
func (r *Reconciler) isMappedVLAN(l netlink.Link) bool {
	v, ok := l.(*netlink.Vlan)
	if !ok {
		return false
	}
	for _, ifname := range r.cfg.PhysicalInterfaceMappings {
		if l.Attrs().Name == vlanName(ifname, v.VlanId) {
			return true
		}
	}
	return false
}

// vlanName is Neutron's sub-interface name: <physif>.<vid>, shortened so
// that it fits IFNAMSIZ.
func vlanName(ifname string, vid int) string {
	suffix := "." + strconv.Itoa(vid)
	if len(ifname)+len(suffix) > 15 {
		ifname = ifname[:15-len(suffix)]
	}
	return ifname + suffix
}
