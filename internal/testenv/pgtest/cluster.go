package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// dirPrefix names the per-cluster temporary directories, so that ones
	// left behind by killed test binaries can be recognised and swept.
	dirPrefix = "neutrino-pgtest-"

	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
	portAttempts = 5
)

// cluster is one running throwaway PostgreSQL server.
type cluster struct {
	binDir string
	user   *runAs
	base   string // temp dir holding data/, sock/, postgres.log; removed on stop
	name   string // cluster_name, used to check we reached our own server
	port   int

	cmd    *exec.Cmd
	exited chan struct{} // closed when the postmaster has exited

	stopOnce sync.Once
	stopErr  error
}

// runAs is the identity initdb and postgres run under.
type runAs struct {
	name     string
	uid, gid uint32
	switchTo bool // false: run as the current (non-root) user
}

func (c *cluster) dataDir() string { return filepath.Join(c.base, "data") }
func (c *cluster) sockDir() string { return filepath.Join(c.base, "sock") }
func (c *cluster) logFile() string { return filepath.Join(c.base, "postgres.log") }

func (c *cluster) dsn(dbname string) string {
	return fmt.Sprintf("postgresql://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.port, dbname)
}

// exec runs one statement on the maintenance database over a fresh connection.
func (c *cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// findBinDir locates a directory holding PostgreSQL's initdb and postgres.
func findBinDir() (string, error) {
	if dir := os.Getenv("NEUTRINO_PG_BINDIR"); dir != "" {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w in NEUTRINO_PG_BINDIR=%s", errNoBinaries, dir)
	}
	// Debian/Ubuntu: /usr/lib/postgresql/<version>/bin, newest first.
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return versionLess(filepath.Base(filepath.Dir(dirs[j])), filepath.Base(filepath.Dir(dirs[i])))
	})
	for _, d := range dirs {
		if hasServerBinaries(d) {
			return d, nil
		}
	}
	// Elsewhere: initdb and postgres side by side on $PATH.
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); hasServerBinaries(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w in /usr/lib/postgresql/*/bin or $PATH", errNoBinaries)
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionLess compares dotted numeric versions ("9.6" < "15").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return a < b
}

// serverUser decides who runs the server: the current user, or, as root
// (which PostgreSQL refuses), the "postgres" system user, else "nobody".
func serverUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return &runAs{name: "current user"}, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &runAs{name: name, uid: uint32(uid), gid: uint32(gid), switchTo: true}, nil
	}
	return nil, errors.New(`running as root, and no unprivileged "postgres" or "nobody" user to run PostgreSQL as`)
}

// sysProcAttr returns the process attributes for initdb and postgres: the
// user switch when needed, and SIGQUIT (immediate shutdown) if the test
// binary dies without stopping the server (crash, timeout, kill, ^C). Go
// applies Pdeathsig after the credential change, so it survives it.
func (u *runAs) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if u.switchTo {
		a.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}
	}
	return a
}

// command prepares one of the cluster's binaries to run in the base dir as
// the server user, with a clean environment (no PG* variables, C locale).
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.base
	cmd.SysProcAttr = c.user.sysProcAttr()
	env := []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return cmd
}

// startCluster creates, initialises and starts a new cluster.
func startCluster() (_ *cluster, err error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	u, err := serverUser()
	if err != nil {
		return nil, err
	}
	root := tempRoot(u)
	sweepStale(root)
	base, err := makeBaseDir(root, u)
	if err != nil {
		return nil, err
	}
	c := &cluster{
		binDir: binDir,
		user:   u,
		base:   base,
		name:   fmt.Sprintf("pgtest-%d-%s", os.Getpid(), strings.TrimPrefix(filepath.Base(base), dirPrefix)),
	}
	defer func() {
		if err != nil {
			os.RemoveAll(base)
		}
	}()

	initdb := c.command("initdb", "-D", c.dataDir(), "-A", "trust", "-U", superuser,
		"--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions")
	out, err := runWithTimeout(initdb, 2*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("initdb (%s, as %s): %v\n%s", initdb.Path, u.name, err, out)
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		err = c.startServer(port)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, err
		}
	}
}

var errPortInUse = errors.New("port already in use")

// startServer starts postgres on port and waits until it accepts connections.
func (c *cluster) startServer(port int) error {
	logf, err := os.OpenFile(c.logFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own copy of the descriptor

	cmd := c.command("postgres",
		"-D", c.dataDir(),
		"-k", c.sockDir(),
		"-p", strconv.Itoa(port),
		"-h", "127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "cluster_name="+c.name,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := startOnLockedThread(cmd); err != nil {
		return fmt.Errorf("starting %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.cmd, c.exited, c.port = cmd, exited, port

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			log := c.readLog()
			if strings.Contains(log, "Address already in use") || strings.Contains(log, "could not bind") {
				return fmt.Errorf("%w: %d", errPortInUse, port)
			}
			return fmt.Errorf("postgres exited during startup (%v); server log:\n%s", cmd.ProcessState, log)
		default:
		}
		if err := c.ping(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("postgres did not accept connections on 127.0.0.1:%d within %v; server log:\n%s",
				port, startTimeout, c.readLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping checks that our own server (not another one that happens to own the
// port) accepts connections.
func (c *cluster) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var name string
	if err := conn.QueryRow(ctx, "SHOW cluster_name").Scan(&name); err != nil {
		return err
	}
	if name != c.name {
		return fmt.Errorf("port %d is served by another cluster (%q)", c.port, name)
	}
	return nil
}

func (c *cluster) readLog() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", c.logFile(), err)
	}
	const max = 8 << 10
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// kill ends the postmaster at once (SIGQUIT, then SIGKILL) and waits.
func (c *cluster) kill() {
	c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// stop shuts the server down (fast shutdown: SIGINT) and removes its files.
// It is safe to call more than once.
func (c *cluster) stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.cmd != nil {
			c.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-c.exited:
			case <-time.After(stopTimeout):
				errs = append(errs, fmt.Errorf("postgres did not stop within %v after SIGINT; killed it; server log:\n%s",
					stopTimeout, c.readLog()))
				c.kill()
			}
		}
		if err := os.RemoveAll(c.base); err != nil {
			errs = append(errs, err)
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another process
// may take it before postgres binds it; startCluster retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("timed out after %v", d)
	}
}

// Pdeathsig fires when the OS thread that started the child exits, not the
// process. The postmaster is therefore started from a goroutine locked to a
// thread that lives as long as the test binary.
var (
	launcherOnce sync.Once
	launchJobs   chan func()
)

func startOnLockedThread(cmd *exec.Cmd) error {
	launcherOnce.Do(func() {
		launchJobs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must not be reused or exit
			for job := range launchJobs {
				job()
			}
		}()
	})
	errc := make(chan error, 1)
	launchJobs <- func() { errc <- cmd.Start() }
	return <-errc
}

// tempRoot picks where cluster dirs go: os.TempDir(), unless running as root
// and the server user could not reach it (e.g. TMPDIR under /root); then /tmp.
func tempRoot(u *runAs) string {
	dir := os.TempDir()
	if !u.switchTo {
		return dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return "/tmp"
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return "/tmp"
		}
		perm := fi.Mode().Perm()
		if !(perm&0o001 != 0 || (st.Uid == u.uid && perm&0o100 != 0) || (st.Gid == u.gid && perm&0o010 != 0)) {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

// makeBaseDir creates the cluster's private dir (mode 0700), owned by the
// server user, with the socket dir in it and an "owner" file naming this
// process so that sweepStale can tell when it is gone.
func makeBaseDir(root string, u *runAs) (string, error) {
	base, err := os.MkdirTemp(root, dirPrefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(base, "owner"), []byte(processID(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(base)
		return "", err
	}
	sock := filepath.Join(base, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		os.RemoveAll(base)
		return "", err
	}
	if u.switchTo {
		for _, p := range []string{base, sock} {
			if err := os.Chown(p, int(u.uid), int(u.gid)); err != nil {
				os.RemoveAll(base)
				return "", fmt.Errorf("chown %s to %s: %w", p, u.name, err)
			}
		}
	}
	return base, nil
}

// processID identifies a process by pid and start time, so that a reused pid
// is not mistaken for the original process. "" if the process is gone.
func processID(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// Fields after the parenthesised command name; starttime is field 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return fmt.Sprintf("%d %s", pid, f[19])
}

// sweepStale removes cluster dirs left behind by test binaries that died
// without stopping their cluster (their postmaster got SIGQUIT through
// Pdeathsig, but nothing removed the files). Best effort.
func sweepStale(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		owner, err := os.ReadFile(filepath.Join(dir, "owner"))
		if errors.Is(err, fs.ErrNotExist) {
			// Possibly still being created by another test binary; only
			// sweep it once it is clearly old.
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < time.Hour {
				continue
			}
		} else if err != nil {
			continue
		} else {
			pid, _, _ := strings.Cut(string(owner), " ")
			n, err := strconv.Atoi(pid)
			if err != nil || processID(n) == string(owner) {
				continue // owner still running
			}
		}
		// Leave it alone if its postmaster somehow still runs.
		if pm, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			line, _, _ := strings.Cut(string(pm), "\n")
			if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && processID(n) != "" {
				continue
			}
		}
		os.RemoveAll(dir)
	}
}
