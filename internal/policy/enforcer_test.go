package policy

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileOverride(t *testing.T) {
	netops := Credentials{UserID: "u-netops", ProjectID: "p5", Roles: []string{"netops"}}
	for _, file := range []string{"testdata/override.yaml", "testdata/override.json"} {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			e := mustNew(t, Options{PolicyFile: file, EnforceNewDefaults: true, EnforceScope: true})
			runPersonas(t, e, []personaCase{
				// get_network is now admin-only.
				{"get_network", netP1, readerP1, false},
				{"get_network", sharedNetP3, memberP2, false},
				{"get_network", netP1, adminCreds, true},
				// netops may create shared networks.
				{"create_network:shared", newInP1, netops, true},
				{"create_network:shared", newInP1, memberP1, false},
				// An empty check string allows everyone.
				{"create_network", newInP1, noRoleP1, true},
				// New rules reference defaults.
				{"netops_or_owner", newInP1, readerP1, true},
				{"netops_or_owner", newInP1, memberP2, false},
				{"netops_or_owner", newInP1, netops, true},
				// Rules not in the file keep their defaults.
				{"update_network", netP1, memberP1, true},
				{"update_network", netP1, readerP1, false},
			})
			for _, c := range []struct {
				roles []string
				want  bool
			}{
				{[]string{"a", "b"}, true},
				{[]string{"c"}, true},
				{[]string{"a"}, false},
				{nil, false},
			} {
				if got := e.Enforce("legacy_list", nil, Credentials{Roles: c.roles}); got != c.want {
					t.Errorf("legacy_list with roles %v = %v, want %v", c.roles, got, c.want)
				}
			}
			if _, defined := e.Check("netops_or_owner", nil, netops); !defined {
				t.Error("a rule added by the file is reported as undefined")
			}
		})
	}
}

func TestPolicyFileLookup(t *testing.T) {
	// A relative path is found in the configuration directories.
	e := mustNew(t, Options{PolicyFile: "override.yaml", ConfigDirs: []string{"testdata/dirs", "testdata"}, EnforceNewDefaults: true})
	if e.Enforce("get_network", netP1, readerP1) {
		t.Error("override.yaml was not found through ConfigDirs")
	}
	// A missing file leaves the defaults in force.
	e = mustNew(t, Options{PolicyFile: "no-such-policy.yaml", ConfigDirs: []string{"testdata"}, EnforceNewDefaults: true})
	if !e.Enforce("get_network", netP1, readerP1) {
		t.Error("missing policy file changed the defaults")
	}
	// A missing policy directory is skipped.
	e = mustNew(t, Options{PolicyDirs: []string{"testdata/no-such-dir"}, EnforceNewDefaults: true})
	if !e.Enforce("get_network", netP1, readerP1) {
		t.Error("missing policy directory changed the defaults")
	}
}

func TestPolicyDirsOrder(t *testing.T) {
	e := mustNew(t, Options{
		PolicyFile:         "base.yaml",
		PolicyDirs:         []string{"dirs/one", "dirs/two"},
		ConfigDirs:         []string{"testdata"},
		EnforceNewDefaults: true,
	})
	role := func(r string) Credentials { return Credentials{UserID: "u-" + r, ProjectID: "p9", Roles: []string{r}} }
	cases := []struct {
		action string
		role   string
		want   bool
	}{
		// base.yaml says "!", dirs/one/10-first.yaml "role:first",
		// dirs/one/20-second.json "role:second": the last one wins. The
		// README.txt and the hidden file are ignored.
		{"get_network", "second", true},
		{"get_network", "first", false},
		// dirs/two comes after dirs/one although 00-third.yml sorts first.
		{"create_network", "third", true},
		{"create_network", "first", false},
		// Rules only in the policy file survive.
		{"update_network", "from_file", true},
	}
	for _, c := range cases {
		if got := e.Enforce(c.action, netP1, role(c.role)); got != c.want {
			t.Errorf("%s by role %s = %v, want %v", c.action, c.role, got, c.want)
		}
	}
}

// fakeClock is a settable time source for the reload throttle.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// rewrite replaces a file's content and moves its mtime forward explicitly,
// so the change is visible even on file systems with coarse timestamps.
func rewrite(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	mtime := time.Now().Add(-time.Hour)
	rewrite(t, path, `"get_network": "!"`+"\n", mtime)

	rec := &recorder{}
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	e, err := New(Options{PolicyFile: path, EnforceNewDefaults: true, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	e.now = clock.Now
	e.lastCheck.Store(clock.Now().UnixNano())

	get := func() bool { return e.Enforce("get_network", netP1, readerP1) }
	if get() {
		t.Fatal("initial file not applied")
	}

	// A rewrite is not noticed within the check interval...
	mtime = mtime.Add(10 * time.Second)
	rewrite(t, path, `"get_network": "@"`+"\n", mtime)
	clock.Advance(500 * time.Millisecond)
	if get() {
		t.Fatal("file re-read within the check interval")
	}
	// ...but is once the interval has passed.
	clock.Advance(time.Second)
	if !get() {
		t.Fatal("rewritten file not picked up")
	}

	// A broken rewrite keeps the rules in force and is logged once.
	mtime = mtime.Add(10 * time.Second)
	rewrite(t, path, `"get_network": "role:reader and"`+"\n", mtime)
	for range 3 {
		clock.Advance(2 * time.Second)
		if !get() {
			t.Fatal("broken file replaced the rules in force")
		}
	}
	if n := rec.count("policy reload failed"); n != 1 {
		t.Errorf("reload failure logged %d times, want 1", n)
	}
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), "get_network") {
		t.Errorf("Reload of a broken file = %v, want an error naming get_network", err)
	}

	// Fixing the file is picked up again.
	mtime = mtime.Add(10 * time.Second)
	rewrite(t, path, `"get_network": "role:nobody"`+"\n", mtime)
	clock.Advance(2 * time.Second)
	if get() {
		t.Fatal("fixed file not picked up")
	}

	// Removing the file restores the defaults; recreating it applies it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if !get() {
		t.Fatal("defaults not restored after the file was removed")
	}
	mtime = mtime.Add(10 * time.Second)
	rewrite(t, path, `"get_network": "!"`+"\n", mtime)
	clock.Advance(2 * time.Second)
	if get() {
		t.Fatal("recreated file not picked up")
	}
}

func TestHotReloadPolicyDir(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	e := mustNew(t, Options{PolicyDirs: []string{dir}, EnforceNewDefaults: true})
	e.now = clock.Now
	e.lastCheck.Store(clock.Now().UnixNano())
	if !e.Enforce("get_network", netP1, readerP1) {
		t.Fatal("empty policy dir changed the defaults")
	}
	writeFile(t, dir, "50-lockdown.json", `{"get_network": "!"}`)
	clock.Advance(2 * time.Second)
	if e.Enforce("get_network", netP1, readerP1) {
		t.Fatal("file added to a policy dir not picked up")
	}
}

// TestConcurrentEnforceAndReload exercises the enforcer from many goroutines
// while the policy is reloaded; run with -race.
func TestConcurrentEnforceAndReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "policy.yaml", `"get_network": "@"`+"\n")
	e := mustNew(t, Options{PolicyFile: path, EnforceNewDefaults: true})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				e.Enforce("get_network", netP1, readerP1)
				e.Check("create_network:shared", newInP1, memberP1)
				e.IsAdmin(adminCreds)
			}
		})
	}
	for i := range 20 {
		content := `"get_network": "@"`
		if i%2 == 1 {
			content = `"get_network": "!"`
		}
		rewrite(t, path, content+"\n", time.Now().Add(time.Duration(i)*time.Second))
		if err := e.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
