package dnsmasq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// WriteFile replaces path with content atomically (rename of a temporary
// file) unless it already holds exactly content. It reports whether the
// file changed.
func WriteFile(path, content string) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && string(old) == content {
		return false, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// Process is the dnsmasq of one network, found through its pid file.
type Process struct {
	Binary string
	Paths  Paths
	// NetworkID identifies the process: its command line must mention it
	// (through the pid file path), which guards against a recycled pid.
	NetworkID string
}

// PID returns the pid of the running dnsmasq, or 0 if none runs. A zombie
// counts as not running.
func (p *Process) PID() int {
	b, err := os.ReadFile(p.Paths.PID)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if !p.ours(pid) {
		return 0
	}
	return pid
}

func (p *Process) ours(pid int) bool {
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmd) == 0 {
		return false
	}
	if !bytes.Contains(cmd, []byte(p.NetworkID)) || !bytes.Contains(cmd, []byte("dnsmasq")) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
		return false
	}
	return true
}

// Cmdline returns the argument list (without the program) of the running
// process, to tell whether a restart is needed after a configuration change.
func (p *Process) Cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	parts := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(parts) == 0 {
		return nil
	}
	return parts[1:]
}

// InNamespace reports whether process pid lives in the network namespace
// ns (a namespace deleted and recreated by hand leaves dnsmasq serving an
// orphaned one).
func InNamespace(pid int, ns netns.Handle) bool {
	var a, b syscall.Stat_t
	if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &a) != nil || syscall.Fstat(int(ns), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// Start runs dnsmasq inside ns and returns once it has daemonised: dnsmasq's
// foreground parent waits until the daemon has bound its sockets and written
// its pid file, and exits non-zero if that failed.
func (p *Process) Start(ctx context.Context, ns netns.Handle, args []string) error {
	cmd := exec.CommandContext(ctx, p.Binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	// Its own process group: the agent's terminal signals must not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := netns.Start(ns, cmd); err != nil {
		return fmt.Errorf("start dnsmasq for %s: %w", p.NetworkID, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("start dnsmasq for %s: %w: %s", p.NetworkID, err, strings.TrimSpace(stderr.String()))
	}
	if p.PID() == 0 {
		return fmt.Errorf("start dnsmasq for %s: no live process behind %s", p.NetworkID, p.Paths.PID)
	}
	return nil
}

// Reload makes dnsmasq re-read its hosts, addn-hosts and opts files.
func (p *Process) Reload() error {
	pid := p.PID()
	if pid == 0 {
		return fmt.Errorf("reload dnsmasq for %s: not running", p.NetworkID)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload dnsmasq for %s: %w", p.NetworkID, err)
	}
	return nil
}

// Stop terminates dnsmasq (SIGTERM, then SIGKILL after grace) and removes
// its pid file. Not running is not an error.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	pid := p.PID()
	if pid == 0 {
		os.Remove(p.Paths.PID)
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop dnsmasq for %s: %w", p.NetworkID, err)
	}
	deadline := time.Now().Add(grace)
	for p.ours(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for i := 0; i < 100 && p.ours(pid); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p.ours(pid) {
		return fmt.Errorf("stop dnsmasq for %s: pid %d survives SIGKILL", p.NetworkID, pid)
	}
	os.Remove(p.Paths.PID)
	return nil
}
