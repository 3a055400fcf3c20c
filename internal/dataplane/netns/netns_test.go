package netns

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	vns "github.com/vishvananda/netns"

	"github.com/neutrino-net/neutrino/internal/testenv/ci"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err == nil {
			return
		}
	}
	ci.Require(t, "netns tests need root and iproute2's ip")
}

// TestCreateVisibleOutside: a namespace made here is one `ip netns` sees
// and can enter from another process; Create is idempotent; Do and Start
// run inside it; Delete removes it.
func TestCreateVisibleOutside(t *testing.T) {
	requireRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	name := "ntns-" + hex.EncodeToString(b)
	t.Cleanup(func() { Delete(name) })

	h, err := Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h2, err := Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Equal(h2) {
		t.Fatal("second Create made a different namespace")
	}
	h2.Close()

	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), name) {
		t.Fatalf("ip netns list: %v %s", err, out)
	}
	out, err = exec.Command("ip", "-n", name, "-o", "link", "show", "lo").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "state UNKNOWN") && !strings.Contains(string(out), ",UP") {
		t.Fatalf("lo in %s from outside: %v %s", name, err, out)
	}

	// Do runs on a thread inside, and the caller's namespace is unchanged.
	before, _ := vns.Get()
	defer before.Close()
	var inside vns.NsHandle
	if err := Do(h, func() error { inside, err = vns.Get(); return err }); err != nil {
		t.Fatal(err)
	}
	if !inside.Equal(h) {
		t.Fatal("Do did not run inside the namespace")
	}
	inside.Close()
	after, _ := vns.Get()
	defer after.Close()
	if !after.Equal(before) {
		t.Fatal("the calling thread changed namespace")
	}

	cmd := exec.Command("sleep", "5")
	if err := Start(h, cmd); err != nil {
		t.Fatal(err)
	}
	pids, err := PIDs(name)
	if err != nil || len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("PIDs = %v, %v; want [%d]", pids, err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()

	names, err := List("ntns-")
	if err != nil || !contains(names, name) {
		t.Fatalf("List = %v, %v", names, err)
	}
	if err := Delete(name); err != nil {
		t.Fatal(err)
	}
	if Exists(name) {
		t.Fatal("namespace still there after Delete")
	}
	if err := Delete(name); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
