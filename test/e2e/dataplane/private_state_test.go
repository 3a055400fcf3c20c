package dataplane_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/agent/dhcp"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/dataplane/link"
)

// TestDHCPPrivateStatePath: dnsmasq drops to an unprivileged user and
// re-reads its files as that user. An agent whose state_path is a
// directory only root may enter (mode 0700, as mktemp -d makes it)
// refuses to start with a message naming the directory and the fix,
// instead of serving "no address available" after the first change.
func TestDHCPPrivateStatePath(t *testing.T) {
	RequireDataplane(t)
	r := New(t)
	r.NS("agent") // the agent's data-plane namespace; nothing is built in it
	state, err := os.MkdirTemp(r.Dir, "state.")
	Must(t, err)
	Must(t, os.Chmod(state, 0o700))
	build := func() error {
		cfg, err := config.Options.LoadWithDefaults(map[string]string{
			"DEFAULT.state_path": state,
		}, nil, nil, nil)
		Must(t, err)
		_, err = agent.Build(agent.Env{Host: "h", Config: cfg, Namespace: r.Prefix + "agent"}, []string{"dhcp"})
		return err
	}
	err = build()
	if err == nil {
		t.Fatal("the DHCP agent started with a state_path dnsmasq cannot reach")
	}
	for _, want := range []string{"dnsmasq runs as user nobody", filepath.Join(state, "dhcp"), state + " is mode 0700",
		"chmod o+x " + state, "state_path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	// Traversable, it starts, and dhcp_confs is made traversable whatever
	// the umask.
	Must(t, os.Chmod(state, 0o711))
	Must(t, build())
	if st, err := os.Stat(filepath.Join(state, "dhcp")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("dhcp_confs: %v %v", st.Mode(), err)
	}
}

// lockedBuffer is a log sink read while passes write to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDnsmasqProblemsReachTheAgent: when dnsmasq cannot re-read its hosts
// file (the state directory made private after start), its error and its
// "no address available" answer to a known port's request become agent
// log lines and counters instead of staying in dnsmasq's log alone.
func TestDnsmasqProblemsReachTheAgent(t *testing.T) {
	RequireDataplane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := New(t)
	h := r.Host(r.NS("h"))
	var logs lockedBuffer
	cfg := dhcp.DefaultConfig(filepath.Join(r.Dir, "dhcp"))
	rc := dhcp.New(h, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	Must(t, rc.Prepare(ctx))
	t.Cleanup(func() { rc.Teardown(context.Background()) })
	netID, subID := UUID(), UUID()
	v1, v2 := r.VM("v1", h, UUID(), "fa:16:3e:7b:00:01"), r.VM("v2", h, UUID(), "fa:16:3e:7b:00:02")
	n := dhcp.Network{ID: netID, MTU: 1500,
		Subnets:  []dhcp.Subnet{{ID: subID, CIDR: "10.74.0.0/24", IPVersion: 4, GatewayIP: "10.74.0.1", EnableDHCP: true}},
		Ports:    []dhcp.Port{{ID: v1.Port, MAC: v1.MAC, FixedIPs: fixed(subID, "10.74.0.11"), DeviceOwner: "compute:nova"}},
		DHCPPort: dhcp.Port{ID: UUID(), MAC: "fa:16:3e:7b:00:ff", FixedIPs: fixed(subID, "10.74.0.2")}}
	plug := func(v *VM) {
		br, err := h.Get(link.BridgeName(netID))
		Must(t, err)
		tap, err := h.Get(link.TapName(v.Port))
		Must(t, err)
		Must(t, h.EnsureMaster(tap, br))
		Must(t, h.EnsureState(tap, 0, true))
	}
	Must(t, rc.Reconcile(ctx, []dhcp.Network{n}).Err())
	plug(v1)
	_, err := r.DHCP(ctx, v1)
	Must(t, err)
	if hl := rc.Health(); hl.DnsmasqErrors != 0 || hl.NoAddress != 0 {
		t.Fatalf("health before the trouble: %+v\n%s", hl, logs.String())
	}

	// The state directory turns private; a port is added, dnsmasq reloads
	// and cannot read its new hosts file.
	Must(t, os.Chmod(cfg.StateDir, 0o700))
	t.Cleanup(func() { os.Chmod(cfg.StateDir, 0o755) })
	n.Ports = append(n.Ports, dhcp.Port{ID: v2.Port, MAC: v2.MAC, FixedIPs: fixed(subID, "10.74.0.12"), DeviceOwner: "compute:nova"})
	res := rc.Reconcile(ctx, []dhcp.Network{n})
	Must(t, res.Err())
	if res.Networks[netID].Action != dhcp.ActionReloaded {
		t.Fatalf("new port: %+v", res.Networks[netID])
	}
	plug(v2)
	if l, err := r.DHCPTries(ctx, v2, 2); err == nil {
		t.Fatalf("dnsmasq served %v with an unreadable hosts file: the test does not test", l)
	}
	// The next pass reads dnsmasq's log.
	WaitFor(t, "dnsmasq's problems reported", 10*time.Second, func() error {
		Must(t, rc.Reconcile(ctx, []dhcp.Network{n}).Err())
		if hl := rc.Health(); hl.DnsmasqErrors == 0 || hl.NoAddress == 0 {
			return os.ErrNotExist
		}
		return nil
	})
	out := logs.String()
	for _, want := range []string{"level=WARN msg=\"dnsmasq reported a problem\"", "Permission denied",
		"level=WARN msg=\"dnsmasq answered a port's DHCP request with no address\"", "port=" + v2.Port} {
		if !strings.Contains(out, want) {
			t.Errorf("agent log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "port="+v1.Port) {
		t.Errorf("the served port was reported:\n%s", out)
	}
}
