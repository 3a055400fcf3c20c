package dnsmasq

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParseLogLine(t *testing.T) {
	for _, c := range []struct {
		line string
		kind LogKind // "" = ignored
		mac  string
	}{
		{"Dec  7 01:36:05 dnsmasq[29784]: started, version 2.90 cachesize 150", "", ""},
		{"Dec  7 01:36:05 dnsmasq[29784]: compile time options: IPv6 GNU-getopt DBus no-UBus i18n IDN2 DHCP DHCPv6 no-Lua TFTP conntrack ipset nftset auth cryptohash DNSSEC loop-detect inotify dumpfile", "", ""},
		{"Dec  7 01:36:05 dnsmasq[29784]: warning: no upstream servers configured", "", ""},
		{"Dec  7 01:36:05 dnsmasq-dhcp[29784]: read /var/lib/neutron/dhcp/x/host", "", ""},
		{"Dec  7 01:36:06 dnsmasq-dhcp[29784]: DHCPACK(ns-d0f34f1a-87) 10.74.0.11 fa:16:3e:7b:00:01 host-10-74-0-11", "", ""},
		{"Dec  7 01:36:06 dnsmasq-dhcp[29784]: DHCPDISCOVER(ns-d0f34f1a-87) fa:16:3e:7b:00:01 ", "", ""},
		{"Dec  7 01:36:06 dnsmasq[29784]: query[A] failed.example from 10.74.0.11", "", ""},
		{"Dec  7 01:37:06 dnsmasq-dhcp[29784]: DHCPDISCOVER(ns-d0f34f1a-87) FA:16:3E:7B:00:02 no address available", LogNoAddress, "fa:16:3e:7b:00:02"},
		{"Dec  7 01:37:05 dnsmasq-dhcp[29784]: cannot read /var/lib/neutron/dhcp/x/host: Permission denied", LogProblem, ""},
		{"Dec  7 01:37:05 dnsmasq[29784]: failed to load names from /var/lib/neutron/dhcp/x/addn_hosts: Permission denied", LogProblem, ""},
		{"Dec  7 01:37:05 dnsmasq-dhcp[29784]: bad dhcp-host at line 3 of /var/lib/neutron/dhcp/x/host", LogProblem, ""},
		{"Dec  7 01:37:05 dnsmasq-dhcp[29784]: duplicate dhcp-host IP address 10.0.0.5 at line 4 of /x/host", LogProblem, ""},
		{"", "", ""},
	} {
		ev, ok := ParseLogLine(c.line)
		if ok != (c.kind != "") || ev.Kind != c.kind || ev.MAC != c.mac {
			t.Errorf("%q: %+v %v, want kind %q mac %q", c.line, ev, ok, c.kind, c.mac)
		}
		if ok && strings.Contains(ev.Message, "dnsmasq[") {
			t.Errorf("%q: message keeps the prefix: %q", c.line, ev.Message)
		}
	}
}

// TestLogReader: each Read returns what was appended since the last one,
// a partial line waits for its end, a file truncated by someone else is
// read from its start, and the reader truncates a file it has read past
// its bound.
func TestLogReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnsmasq.log")
	appendLine := func(s string) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	const bad = "Dec  7 01:37:05 dnsmasq-dhcp[1]: cannot read /x/host: Permission denied\n"
	appendLine(bad) // before the reader: an earlier agent's news
	r := NewLogReader(path, 400)
	if ev, err := r.Read(); err != nil || len(ev) != 0 {
		t.Fatalf("old lines reported: %v %v", ev, err)
	}
	appendLine(bad + "Dec  7 01:37:06 dnsmasq-dhcp[1]: DHCPDISCOVER(ns-1) fa:16:3e:00:00:01 no addr")
	ev, _ := r.Read()
	if len(ev) != 1 || ev[0].Kind != LogProblem {
		t.Fatalf("events %+v", ev)
	}
	appendLine("ess available\n")
	if ev, _ := r.Read(); len(ev) != 1 || ev[0].Kind != LogNoAddress || ev[0].MAC != "fa:16:3e:00:00:01" {
		t.Fatalf("completed line: %+v", ev)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendLine(bad)
	if ev, _ := r.Read(); len(ev) != 1 {
		t.Fatalf("after truncation: %+v", ev)
	}
	for range 5 {
		appendLine(bad)
	}
	if ev, _ := r.Read(); len(ev) != 5 {
		t.Fatalf("events %+v", ev)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("a log read past its bound is kept: %v %v", st.Size(), err)
	}
	appendLine(bad)
	if ev, _ := r.Read(); len(ev) != 1 {
		t.Fatalf("after the reader's truncation: %+v", ev)
	}
}

// TestCanReach judges a directory chain by its mode bits as the user
// dnsmasq drops to.
func TestCanReach(t *testing.T) {
	// Directly under the system's temporary directory (mode 1777), not
	// under t.TempDir's private parent, so that only the test's own
	// directories can block.
	base, err := os.MkdirTemp("", "neutrino-canreach.")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	nobody := Identity{User: "nobody", UID: 65534, GID: 65534}
	if err := nobody.CanReach(base); err != nil {
		t.Fatalf("the temporary directory itself: %v", err)
	}
	private := filepath.Join(base, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if err := nobody.CanReach(filepath.Join(base, "open", "dhcp")); err != nil {
		t.Errorf("a chain that does not exist yet (made 0755 later): %v", err)
	}
	err = nobody.CanReach(filepath.Join(private, "dhcp"))
	if ue, ok := err.(*UnreachableError); !ok || ue.Blocker != private || ue.Mode != 0o700 {
		t.Fatalf("private directory: %v", err)
	}
	// Its owner passes; so does its group once it may search.
	if err := (Identity{User: "owner", UID: uid, GID: 12345}).CanReach(private); err != nil {
		t.Errorf("owner: %v", err)
	}
	if err := os.Chmod(private, 0o710); err != nil {
		t.Fatal(err)
	}
	if err := (Identity{User: "group", UID: 12345, GID: gid}).CanReach(private); err != nil {
		t.Errorf("group: %v", err)
	}
	if err := nobody.CanReach(private); err == nil {
		t.Error("others pass a 0710 directory")
	}
	if err := os.Chmod(private, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := nobody.CanReach(private); err != nil {
		t.Errorf("0711: %v", err)
	}
}

// TestMkdirReadable makes missing directories 0755 whatever the umask and
// leaves existing ones alone.
func TestMkdirReadable(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "a", "b")
	old := umask(0o077)
	err := MkdirReadable(dir)
	umask(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(base, "a"), dir} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", p, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(base); st.Mode().Perm() != 0o700 {
		t.Errorf("an existing directory changed: %v", st.Mode())
	}
}
func umask(m int) int { return syscall.Umask(m) }
