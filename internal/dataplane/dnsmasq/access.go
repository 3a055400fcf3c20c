package dnsmasq

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// Identity is the user and group dnsmasq drops to after start. It re-reads
// its hosts, addn-hosts and opts files on SIGHUP as them, so every
// directory above those files must let them through.
type Identity struct {
	User, Group string
	UID, GID    uint32
}

var (
	defaultUserRE  = regexp.MustCompile(`--user=\S*\s+Change to this user after startup\. \(defaults to ([^)\s]+)\)`)
	defaultGroupRE = regexp.MustCompile(`--group=\S*\s+Change to this group after startup \(defaults to ([^)\s]+)\)`)
)

// RunAs returns the identity dnsmasq (binary) takes when started by the
// current process. ok is false when it keeps the current one: it drops
// privileges only when started as root. dnsmasq's compiled-in defaults
// (Debian: user nobody, group dip) are read from its --help; a group that
// does not exist leaves dnsmasq with the user's primary group.
func RunAs(ctx context.Context, binary string) (id Identity, ok bool, err error) {
	if os.Geteuid() != 0 {
		return Identity{}, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--help").Output()
	if err != nil {
		return Identity{}, false, fmt.Errorf("%s --help: %w", binary, err)
	}
	id.User, id.Group = "nobody", "dip"
	if m := defaultUserRE.FindSubmatch(out); m != nil {
		id.User = string(m[1])
	}
	if m := defaultGroupRE.FindSubmatch(out); m != nil {
		id.Group = string(m[1])
	}
	u, err := user.Lookup(id.User)
	if err != nil {
		return Identity{}, false, fmt.Errorf("dnsmasq's user %q: %w", id.User, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if g, err := user.LookupGroup(id.Group); err == nil {
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	} else {
		id.Group = u.Gid
	}
	id.UID, id.GID = uint32(uid), uint32(gid)
	if id.UID == 0 {
		return id, false, nil
	}
	return id, true, nil
}

// CanReach checks that id may traverse every directory from the root down
// to dir, and read dir's files (which the agent writes mode 0644) — what
// dnsmasq needs to re-read its files after dropping privileges. It judges
// by mode bits (owner, group, others), as the kernel does without ACLs.
func (id Identity) CanReach(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var chain []string
	for p := abs; ; p = filepath.Dir(p) {
		chain = append([]string{p}, chain...)
		if p == filepath.Dir(p) {
			break
		}
	}
	for _, p := range chain {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // made later by the agent, traversable (0755)
		}
		if err != nil {
			return err
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		perm := st.Mode().Perm()
		var x fs.FileMode
		switch {
		case sys.Uid == id.UID:
			x = perm & 0o100
		case sys.Gid == id.GID:
			x = perm & 0o010
		default:
			x = perm & 0o001
		}
		if x == 0 {
			return &UnreachableError{Dir: abs, Blocker: p, Mode: perm, UID: sys.Uid, GID: sys.Gid, As: id}
		}
	}
	return nil
}

// UnreachableError says which directory keeps dnsmasq from its files.
type UnreachableError struct {
	Dir, Blocker string
	Mode         fs.FileMode
	UID, GID     uint32
	As           Identity
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("dnsmasq runs as user %s (uid %d, gid %d) after it starts and then cannot reach its files under %s: "+
		"%s is mode %04o, owner %d, group %d, with no search (x) permission for it; DHCP would answer \"no address available\" "+
		"after the first change. Make that directory traversable (chmod o+x %s) or set [DEFAULT] state_path or dhcp_confs "+
		"to a directory dnsmasq's user can reach",
		e.As.User, e.As.UID, e.As.GID, e.Dir, e.Blocker, e.Mode, e.UID, e.GID, e.Blocker)
}

// MkdirReadable creates dir and any missing parents mode 0755 whatever the
// umask, so that dnsmasq's user can reach the files the agent puts there.
// Directories that exist already keep their mode.
func MkdirReadable(dir string) error {
	var missing []string
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		missing = append(missing, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range missing {
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}
