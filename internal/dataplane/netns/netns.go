// Package netns manages named network namespaces the way `ip netns` does, so
// that the namespaces an agent creates (qdhcp-…, qrouter-…) are visible to
// operators and to other processes, and runs work or programs inside them.
//
// A named namespace is a bind mount of a namespace file on /run/netns/<name>.
// Like iproute2, Create first makes /run/netns a shared mount point: an agent
// started in a private mount namespace would otherwise create mounts only it
// can see (the pitfall described in the dataplane README for agents started
// with a plain `ip netns exec`).
package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Dir is where named namespaces live, as for iproute2.
var Dir = "/run/netns"

// Handle is an open network namespace file descriptor.
type Handle = vns.NsHandle

// Path returns the bind-mount path of the named namespace.
func Path(name string) string { return filepath.Join(Dir, name) }

// Exists reports whether a named namespace is mounted at Path(name).
func Exists(name string) bool {
	h, err := Open(name)
	if err != nil {
		return false
	}
	h.Close()
	return true
}

// Open returns a handle to the named namespace; the caller closes it. A file
// left over without a namespace mounted on it counts as absent.
func Open(name string) (Handle, error) {
	p := Path(name)
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return vns.None(), fmt.Errorf("netns %s: %w", name, err)
	}
	// nsfs magic: a plain file means the mount is gone (stale entry).
	if st.Type != unix.NSFS_MAGIC {
		return vns.None(), fmt.Errorf("netns %s: %w", name, os.ErrNotExist)
	}
	h, err := vns.GetFromPath(p)
	if err != nil {
		return vns.None(), fmt.Errorf("netns %s: %w", name, err)
	}
	return h, nil
}

// Create creates the named namespace with its loopback up if it does not
// exist yet, and returns a handle to it either way (idempotent).
func Create(name string) (Handle, error) {
	if h, err := Open(name); err == nil {
		return h, nil
	}
	if err := ensureSharedDir(); err != nil {
		return vns.None(), err
	}
	p := Path(name)
	_ = unix.Unmount(p, unix.MNT_DETACH) // stale entry from a crash
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return vns.None(), fmt.Errorf("create netns %s: %w", name, err)
	}
	f.Close()

	// unshare moves the calling thread: do it on a locked thread and switch
	// back afterwards. If switching back fails the goroutine ends still
	// locked, and the runtime retires the thread instead of reusing it.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vns.Get()
		if err != nil {
			errc <- fmt.Errorf("current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		self := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		merr := unix.Mount(self, p, "none", unix.MS_BIND, "")
		if err := vns.Set(orig); err != nil {
			errc <- errors.Join(merr, fmt.Errorf("restore netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		if merr != nil {
			merr = fmt.Errorf("bind mount: %w", merr)
		}
		errc <- merr
	}()
	if err := <-errc; err != nil {
		os.Remove(p)
		return vns.None(), fmt.Errorf("create netns %s: %w", name, err)
	}
	h, err := Open(name)
	if err != nil {
		return vns.None(), err
	}
	if err := Do(h, func() error { return setLoopbackUp() }); err != nil {
		h.Close()
		return vns.None(), fmt.Errorf("netns %s: lo up: %w", name, err)
	}
	return h, nil
}

// ensureSharedDir makes Dir a shared mount point, as `ip netns add` does,
// so bind mounts made below it propagate to every mount namespace that
// shares it.
func ensureSharedDir() error {
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return fmt.Errorf("netns dir: %w", err)
	}
	err := unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err := unix.Mount(Dir, Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("netns dir bind: %w", err)
		}
		err = unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("netns dir make-shared: %w", err)
	}
	return nil
}

// Delete removes the named namespace; absent is not an error. The namespace
// itself disappears (with its devices) once no process and no open handle
// refers to it.
func Delete(name string) error {
	p := Path(name)
	err := unix.Unmount(p, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// List returns the names of the namespaces in Dir that start with prefix,
// sorted.
func List(prefix string) ([]string, error) {
	ents, err := os.ReadDir(Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list netns: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Do runs fn on an OS thread switched into ns. If the thread cannot be
// switched back it is discarded rather than reused.
func Do(ns Handle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vns.Get()
		if err != nil {
			errc <- fmt.Errorf("current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := vns.Set(ns); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		ferr := fn()
		if err := vns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("restore netns: %w", err))
			return // thread stays locked and dies with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Start starts cmd inside ns: the child inherits the namespace of the
// thread that forks it.
func Start(ns Handle, cmd *exec.Cmd) error {
	return Do(ns, cmd.Start)
}

// PIDs returns the processes whose network namespace is the named one,
// found by comparing /proc/<pid>/ns/net with the namespace (as `ip netns
// pids` does).
func PIDs(name string) ([]int, error) {
	var want unix.Stat_t
	if err := unix.Stat(Path(name), &want); err != nil {
		return nil, fmt.Errorf("netns %s: %w", name, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	self := os.Getpid()
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == self {
			// This process only ever visits namespaces on locked threads.
			continue
		}
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) != nil {
			continue
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func setLoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
