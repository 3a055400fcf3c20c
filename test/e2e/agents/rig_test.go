package agents_test

import (
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

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// requireDataplane skips (or, with CI=true, fails) when the test cannot
// build namespaces or lacks the programs it drives.
func requireDataplane(tb testing.TB) {
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
	if os.Getenv("CI") == "true" {
		tb.Fatalf("data-plane tests need %s", missing)
	}
	tb.Skipf("data-plane tests need %s; skipping (set CI=true to make this a failure)", missing)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	b := randHex(16)
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

// rig owns every namespace a test creates: all carry its prefix, and
// cleanup kills whatever still runs inside them and deletes them.
type rig struct {
	tb      testing.TB
	prefix  string
	dir     string
	handles map[string]netns.Handle
}

func newRig(tb testing.TB) *rig {
	r := &rig{tb: tb, prefix: "nt" + randHex(2) + "-", dir: tb.TempDir(), handles: map[string]netns.Handle{}}
	// dnsmasq drops privileges after start and re-reads its files on SIGHUP
	// as its own user: the state directory must be traversable.
	for _, d := range []string{filepath.Dir(r.dir), r.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(r.cleanup)
	return r
}

func (r *rig) cleanup() {
	for _, h := range r.handles {
		h.Close()
	}
	names, _ := netns.List(r.prefix)
	for _, n := range names {
		killIn(n)
		if err := netns.Delete(n); err != nil {
			r.tb.Errorf("cleanup: %v", err)
		}
	}
}

func killIn(name string) {
	pids, _ := netns.PIDs(name)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (r *rig) ns(name string) netns.Handle {
	r.tb.Helper()
	h, err := netns.Create(r.prefix + name)
	if err != nil {
		r.tb.Fatal(err)
	}
	r.handles[name] = h
	return h
}

// delete removes one of the rig's namespaces (a VM being unplugged): its
// devices go with it once the last handle is closed.
func (r *rig) delete(name string) {
	r.tb.Helper()
	if h, ok := r.handles[name]; ok {
		h.Close()
		delete(r.handles, name)
	}
	killIn(r.prefix + name)
	must(r.tb, netns.Delete(r.prefix+name))
}

func (r *rig) host(ns netns.Handle) *link.Host {
	r.tb.Helper()
	h, err := link.Open(ns)
	if err != nil {
		r.tb.Fatal(err)
	}
	r.tb.Cleanup(h.Close)
	return h
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// veth creates name in host h and peer in namespace peerNS, with the peer
// attached to bridge peerBridge there if non-empty, both up.
func (r *rig) veth(h *link.Host, name string, peerNS netns.Handle, peer string, peerBridge string, mac string, cidr string) {
	r.tb.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer, PeerNamespace: netlink.NsFd(int(peerNS))}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		must(r.tb, err)
		v.PeerHardwareAddr = hw
	}
	must(r.tb, h.Netlink().LinkAdd(v))
	l, err := h.Netlink().LinkByName(name)
	must(r.tb, err)
	must(r.tb, h.Netlink().LinkSetUp(l))
	ph, err := link.Open(peerNS)
	must(r.tb, err)
	defer ph.Close()
	pl, err := ph.Netlink().LinkByName(peer)
	must(r.tb, err)
	if peerBridge != "" {
		br, err := ph.Netlink().LinkByName(peerBridge)
		must(r.tb, err)
		must(r.tb, ph.Netlink().LinkSetMaster(pl, br))
	}
	if cidr != "" {
		a, err := netlink.ParseAddr(cidr)
		must(r.tb, err)
		must(r.tb, ph.Netlink().AddrAdd(pl, a))
	}
	must(r.tb, ph.Netlink().LinkSetUp(pl))
}

func addr(tb testing.TB, h *link.Host, dev, cidr string) {
	tb.Helper()
	l, err := h.Netlink().LinkByName(dev)
	must(tb, err)
	a, err := netlink.ParseAddr(cidr)
	must(tb, err)
	must(tb, h.Netlink().AddrAdd(l, a))
}

// vm is a "VM": a namespace whose eth0 is the peer of tap<port-id[:11]>
// in its host namespace, as Nova/os-vif would plug it.
type vm struct {
	name string
	ns   netns.Handle
	mac  string
	port string
}

func (r *rig) vm(name string, host *link.Host, portID, mac string) *vm {
	r.tb.Helper()
	ns := r.ns(name)
	// The tap is created in the host namespace with eth0 already in the VM.
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: link.TapName(portID)}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}
	hw, err := net.ParseMAC(mac)
	must(r.tb, err)
	v.PeerHardwareAddr = hw
	must(r.tb, host.Netlink().LinkAdd(v))
	vh, err := link.Open(ns)
	must(r.tb, err)
	defer vh.Close()
	eth, err := vh.Netlink().LinkByName("eth0")
	must(r.tb, err)
	must(r.tb, vh.Netlink().LinkSetUp(eth))
	return &vm{name: r.prefix + name, ns: ns, mac: mac, port: portID}
}

// run runs a program inside the namespace ns and returns its output.
func run(ctx context.Context, ns netns.Handle, env []string, prog string, args ...string) (string, error) {
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

const udhcpcHook = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    [ -n "$router" ] && ip route replace default via "$router" dev "$interface"
    printf 'ip=%s\nmask=%s\nrouter=%s\ndns=%s\ndomain=%s\nmtu=%s\nstaticroutes=%s\nhostname=%s\n' \
      "$ip" "$mask" "$router" "$dns" "$domain" "$mtu" "$staticroutes" "$hostname" > "$LEASE_OUT" ;;
esac
exit 0
`

// lease is what udhcpc's hook saw.
type lease map[string]string

// dhcp runs busybox udhcpc once in the VM and returns the lease.
func (r *rig) dhcp(ctx context.Context, v *vm) (lease, error) {
	return r.dhcpTries(ctx, v, 8)
}

// dhcpTries is dhcp with at most tries DISCOVERs, one a second.
func (r *rig) dhcpTries(ctx context.Context, v *vm, tries int) (lease, error) {
	hook := filepath.Join(r.dir, "udhcpc.sh")
	if _, err := os.Stat(hook); err != nil {
		if err := os.WriteFile(hook, []byte(udhcpcHook), 0o755); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(r.dir, v.name+".lease")
	os.Remove(out)
	log, err := run(ctx, v.ns, []string{"LEASE_OUT=" + out}, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", strconv.Itoa(tries), "-T", "1",
		"-O", "staticroutes", "-O", "mtu", "-O", "domain", "-O", "hostname", "-s", hook)
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		logs, _ := filepath.Glob(filepath.Join(r.dir, "log", "*", "dhcp_dns_log"))
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			log += "\n--- " + f + "\n" + string(b)
		}
		return nil, fmt.Errorf("no lease for %s (%v): %s", v.name, err, log)
	}
	l := lease{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, val, _ := strings.Cut(line, "=")
		l[k] = val
	}
	return l, nil
}

func ping(ctx context.Context, v *vm, ip string) error {
	out, err := run(ctx, v.ns, nil, "busybox", "ping", "-c", "2", "-i", "0.2", "-W", "2", ip)
	if err != nil {
		return fmt.Errorf("%s ping %s: %v: %s", v.name, ip, err, out)
	}
	return nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, d time.Duration, cond func() error) {
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
