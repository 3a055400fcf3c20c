// Package nsrig builds the network-namespace test rigs of the end-to-end
// tests: "hosts" and "VMs" as namespaces the test owns (all named with
// one random prefix and removed at cleanup), veths, taps, a DHCP client
// (busybox udhcpc) and ping inside VMs. It never touches the root
// network namespace's existing interfaces, routes or rules.
package nsrig

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/ci"
)

// RequireDataplane skips (or, with CI=true, fails) when the test cannot
// build namespaces or lacks the programs it drives.
func RequireDataplane(tb testing.TB) {
	tb.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces"
	}
	for _, prog := range []string{"dnsmasq", "busybox", "ip"} {
		if _, err := exec.LookPath(prog); err != nil && missing == "" {
			missing = prog + " (Debian packages dnsmasq-base, busybox, iproute2; scripts/test-all installs them)"
		}
	}
	if missing == "" {
		return
	}
	ci.Require(tb, "data-plane tests need %s", missing)
}

func RandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func UUID() string {
	b := RandHex(16)
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

// Rig owns every namespace a test creates: all carry its prefix, and
// cleanup kills whatever still runs inside them and deletes them.
type Rig struct {
	TB      testing.TB
	Prefix  string
	Dir     string
	Handles map[string]netns.Handle
}

func New(tb testing.TB) *Rig {
	r := &Rig{TB: tb, Prefix: "nt" + RandHex(2) + "-", Dir: tb.TempDir(), Handles: map[string]netns.Handle{}}
	// dnsmasq drops privileges after start and re-reads its files on SIGHUP
	// as its own user: the state directory must be traversable.
	for _, d := range []string{filepath.Dir(r.Dir), r.Dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(r.Cleanup)
	return r
}

func (r *Rig) Cleanup() {
	for _, h := range r.Handles {
		h.Close()
	}
	names, _ := netns.List(r.Prefix)
	for _, n := range names {
		KillIn(n)
		if err := netns.Delete(n); err != nil {
			r.TB.Errorf("cleanup: %v", err)
		}
	}
}

func KillIn(name string) {
	pids, _ := netns.PIDs(name)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (r *Rig) NS(name string) netns.Handle {
	r.TB.Helper()
	h, err := netns.Create(r.Prefix + name)
	if err != nil {
		r.TB.Fatal(err)
	}
	r.Handles[name] = h
	return h
}

// Delete removes one of the rig's namespaces (a VM being unplugged). Its
// devices are deleted first, so a veth's peer in another namespace (a
// VM's tap) goes at once: the kernel destroys a deleted namespace, and
// the devices still in it, only later, in a work queue that falls
// seconds behind while other namespaces come and go.
func (r *Rig) Delete(name string) {
	r.TB.Helper()
	if h, ok := r.Handles[name]; ok {
		nl, err := netlink.NewHandleAt(h)
		Must(r.TB, err)
		links, err := nl.LinkList()
		Must(r.TB, err)
		for _, l := range links {
			if l.Attrs().Flags&net.FlagLoopback == 0 {
				Must(r.TB, nl.LinkDel(l))
			}
		}
		nl.Close()
		h.Close()
		delete(r.Handles, name)
	}
	KillIn(r.Prefix + name)
	Must(r.TB, netns.Delete(r.Prefix+name))
}

func (r *Rig) Host(ns netns.Handle) *link.Host {
	r.TB.Helper()
	h, err := link.Open(ns)
	if err != nil {
		r.TB.Fatal(err)
	}
	r.TB.Cleanup(h.Close)
	return h
}

func Must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// Veth creates name in host h and peer in namespace peerNS, with the peer
// attached to bridge peerBridge there if non-empty, both up.
func (r *Rig) Veth(h *link.Host, name string, peerNS netns.Handle, peer string, peerBridge string, mac string, cidr string) {
	r.TB.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer, PeerNamespace: netlink.NsFd(int(peerNS))}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		Must(r.TB, err)
		v.PeerHardwareAddr = hw
	}
	Must(r.TB, h.Netlink().LinkAdd(v))
	l, err := h.Netlink().LinkByName(name)
	Must(r.TB, err)
	Must(r.TB, h.Netlink().LinkSetUp(l))
	ph, err := link.Open(peerNS)
	Must(r.TB, err)
	defer ph.Close()
	pl, err := ph.Netlink().LinkByName(peer)
	Must(r.TB, err)
	if peerBridge != "" {
		br, err := ph.Netlink().LinkByName(peerBridge)
		Must(r.TB, err)
		Must(r.TB, ph.Netlink().LinkSetMaster(pl, br))
	}
	if cidr != "" {
		a, err := netlink.ParseAddr(cidr)
		Must(r.TB, err)
		Must(r.TB, ph.Netlink().AddrAdd(pl, a))
	}
	Must(r.TB, ph.Netlink().LinkSetUp(pl))
}

func Addr(tb testing.TB, h *link.Host, dev, cidr string) {
	tb.Helper()
	l, err := h.Netlink().LinkByName(dev)
	Must(tb, err)
	a, err := netlink.ParseAddr(cidr)
	Must(tb, err)
	Must(tb, h.Netlink().AddrAdd(l, a))
}

// AddrNoDAD gives dev in h an address usable at once: an IPv6 address
// skips duplicate address detection.
func AddrNoDAD(tb testing.TB, h *link.Host, dev, cidr string) {
	tb.Helper()
	l, err := h.Netlink().LinkByName(dev)
	Must(tb, err)
	a, err := netlink.ParseAddr(cidr)
	Must(tb, err)
	a.Flags = unix.IFA_F_NODAD
	Must(tb, h.Netlink().AddrAdd(l, a))
}

// Route adds a route to dst by dev in h: through the gateway via, or on
// link when via is "".
func Route(tb testing.TB, h *link.Host, dev, dst, via string) {
	tb.Helper()
	Must(tb, h.Netlink().RouteAdd(route(tb, h, dev, dst, via)))
}

// RouteDel removes a route Route added.
func RouteDel(tb testing.TB, h *link.Host, dev, dst, via string) {
	tb.Helper()
	Must(tb, h.Netlink().RouteDel(route(tb, h, dev, dst, via)))
}

func route(tb testing.TB, h *link.Host, dev, dst, via string) *netlink.Route {
	tb.Helper()
	l, err := h.Netlink().LinkByName(dev)
	Must(tb, err)
	_, d, err := net.ParseCIDR(dst)
	Must(tb, err)
	rt := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: d}
	if via != "" {
		rt.Gw = net.ParseIP(via)
	}
	return rt
}

// VM is a "VM": a namespace whose eth0 is the peer of tap<port-id[:11]>
// in its host namespace, as Nova/os-vif would plug it.
type VM struct {
	Name string
	NS   netns.Handle
	MAC  string
	Port string
}

func (r *Rig) VM(name string, host *link.Host, portID, mac string) *VM {
	r.TB.Helper()
	ns := r.NS(name)
	// The tap is created in the host namespace with eth0 already in the VM.
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: link.TapName(portID)}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}
	hw, err := net.ParseMAC(mac)
	Must(r.TB, err)
	v.PeerHardwareAddr = hw
	Must(r.TB, host.Netlink().LinkAdd(v))
	vh, err := link.Open(ns)
	Must(r.TB, err)
	defer vh.Close()
	eth, err := vh.Netlink().LinkByName("eth0")
	Must(r.TB, err)
	Must(r.TB, vh.Netlink().LinkSetUp(eth))
	return &VM{Name: r.Prefix + name, NS: ns, MAC: mac, Port: portID}
}

// Run runs a program inside the namespace ns and returns its output.
func Run(ctx context.Context, ns netns.Handle, env []string, prog string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), env...)
	if err := netns.Start(ns, cmd); err != nil {
		return "", err
	}
	err := cmd.Wait()
	return out.String(), err
}

// UDHCPCHook is udhcpc's script: it writes what the lease holds for the
// test, which applies it to the guest's eth0 through netlink (applyLease).
// A hook running ip four times would cost each guest five processes: a
// hundred guests configuring themselves at once on the test machine's few
// CPUs, where real guests would each have their own, would measure the
// test's process starts rather than Neutrino.
const UDHCPCHook = `#!/bin/sh
case "$1" in
  bound|renew)
    printf 'ip=%s\nmask=%s\nrouter=%s\ndns=%s\ndomain=%s\nmtu=%s\nstaticroutes=%s\nhostname=%s\n' \
      "$ip" "$mask" "$router" "$dns" "$domain" "$mtu" "$staticroutes" "$hostname" > "$LEASE_OUT" ;;
esac
exit 0
`

// Lease is what udhcpc's hook saw.
type Lease map[string]string

// DHCP runs busybox udhcpc once in the VM and returns the lease.
func (r *Rig) DHCP(ctx context.Context, v *VM) (Lease, error) {
	return r.DHCPTries(ctx, v, 8)
}

// DHCPTries is dhcp with at most tries DISCOVERs, one a second.
func (r *Rig) DHCPTries(ctx context.Context, v *VM, tries int) (Lease, error) {
	hook := filepath.Join(r.Dir, "udhcpc.sh")
	if _, err := os.Stat(hook); err != nil {
		if err := os.WriteFile(hook, []byte(UDHCPCHook), 0o755); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(r.Dir, v.Name+".lease")
	os.Remove(out)
	log, err := Run(ctx, v.NS, []string{"LEASE_OUT=" + out}, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", strconv.Itoa(tries), "-T", "1",
		"-O", "staticroutes", "-O", "mtu", "-O", "domain", "-O", "hostname", "-s", hook)
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		logs, _ := filepath.Glob(filepath.Join(r.Dir, "log", "*", "dhcp_dns_log"))
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			log += "\n--- " + f + "\n" + string(b)
		}
		return nil, fmt.Errorf("no lease for %s (%v): %s", v.Name, err, log)
	}
	l := Lease{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, val, _ := strings.Cut(line, "=")
		l[k] = val
	}
	if err := applyLease(v, l); err != nil {
		return nil, fmt.Errorf("%s: apply lease %v: %w", v.Name, l, err)
	}
	return l, nil
}

// applyLease configures v's eth0 as udhcpc's default script would: the
// leased address alone, the MTU and the default route.
func applyLease(v *VM, l Lease) error {
	h, err := link.Open(v.NS)
	if err != nil {
		return err
	}
	defer h.Close()
	nl := h.Netlink()
	eth, err := nl.LinkByName("eth0")
	if err != nil {
		return err
	}
	addrs, err := nl.AddrList(eth, netlink.FAMILY_ALL)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		if err := nl.AddrDel(eth, &a); err != nil {
			return err
		}
	}
	addr, err := netlink.ParseAddr(l["ip"] + "/" + l["mask"])
	if err != nil {
		return err
	}
	if err := nl.AddrAdd(eth, addr); err != nil {
		return err
	}
	if l["mtu"] != "" {
		mtu, err := strconv.Atoi(l["mtu"])
		if err != nil {
			return err
		}
		if err := nl.LinkSetMTU(eth, mtu); err != nil {
			return err
		}
	}
	if l["router"] != "" {
		gw := net.ParseIP(strings.Fields(l["router"])[0])
		if gw == nil {
			return fmt.Errorf("router %q", l["router"])
		}
		return nl.RouteReplace(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw})
	}
	return nil
}

func Ping(ctx context.Context, v *VM, ip string) error {
	out, err := Run(ctx, v.NS, nil, "busybox", "ping", "-c", "2", "-i", "0.2", "-W", "2", ip)
	if err != nil {
		return fmt.Errorf("%s ping %s: %v: %s", v.Name, ip, err, out)
	}
	return nil
}

// PingFrom is nil when namespace ns gets an echo reply from ip to one
// echo request (waiting 1 s for it).
func PingFrom(ns netns.Handle, ip string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := Run(ctx, ns, nil, "busybox", "ping", "-c", "1", "-W", "1", ip); err != nil {
		return fmt.Errorf("ping %s: %v: %s", ip, err, out)
	}
	return nil
}

// PingFirst returns once v has its first echo reply from ip (one echo a
// second, for at most 3 s): latency measurements time the first answer.
func PingFirst(ctx context.Context, v *VM, ip string) error {
	out, err := Run(ctx, v.NS, nil, "busybox", "ping", "-c", "1", "-w", "3", ip)
	if err != nil {
		return fmt.Errorf("%s ping %s: %v: %s", v.Name, ip, err, out)
	}
	return nil
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(tb testing.TB, what string, d time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ServeEcho runs a TCP echo server on addr ("ip:port" or ":port") inside
// ns until the test ends: every line a client sends comes back, the way
// data-plane tests see whether a connection still passes.
func ServeEcho(tb testing.TB, ns netns.Handle, addr string) {
	tb.Helper()
	ServeTCP(tb, ns, addr, func(c net.Conn) {
		s := bufio.NewScanner(c)
		for s.Scan() {
			fmt.Fprintln(c, s.Text())
		}
	})
}
