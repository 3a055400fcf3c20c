package cthelper_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/dataplane/cthelper"
	"github.com/neutrino-net/neutrino/internal/dataplane/nat"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// answered reports whether a TFTP read request from ns to server comes
// back answered.
func answered(t *testing.T, ns netns.Handle, server string) bool {
	t.Helper()
	ok, err := nsrig.TFTPAnswered(ns, server)
	nsrig.Must(t, err)
	return ok
}

// TestTFTPThroughSNAT: behind a router's SNAT, a TFTP client hears the
// server's answer (sent from another port) only once the router has the
// tftp helper on UDP 69; the table is written once, and Apply of no
// helpers removes it.
func TestTFTPThroughSNAT(t *testing.T) {
	nsrig.RequireDataplane(t)
	rns, in, out := nsrig.New(t).Router("c", netip.MustParsePrefix("10.62.0.0/24"))
	if _, err := nat.Apply(rns, nat.Ruleset{GatewayDevice: "qg-c", GatewayIP: netip.MustParseAddr("203.0.113.1"), SNAT: true}); err != nil {
		t.Fatal(err)
	}
	nsrig.ServeTFTP(t, out)

	if answered(t, in, "203.0.113.2:69") {
		t.Fatal("the answer came back without the tftp helper: the test proves nothing")
	}
	hs := []cthelper.Helper{{Protocol: "udp", Port: 69, Name: "tftp"}, {Protocol: "tcp", Port: 21, Name: "ftp"}}
	for i, want := range []bool{true, false} {
		if wrote, err := cthelper.Apply(rns, hs); err != nil || wrote != want {
			t.Fatalf("Apply #%d: wrote %v, %v", i+1, wrote, err)
		}
	}
	if !answered(t, in, "203.0.113.2:69") {
		t.Fatal("no answer with the tftp helper on UDP 69")
	}
	if cur, err := cthelper.Current(rns); err != nil || !bytes.Equal(cur, cthelper.Fingerprint(hs)) {
		t.Errorf("Current = %x, %v", cur, err)
	}
	if wrote, err := cthelper.Apply(rns, nil); err != nil || !wrote {
		t.Fatalf("Apply of no helpers: %v, %v", wrote, err)
	}
	if cur, err := cthelper.Current(rns); err != nil || cur != nil {
		t.Errorf("after removing the helpers: %x, %v", cur, err)
	}
	if answered(t, in, "203.0.113.2:69") {
		t.Error("an answer came back after the helper went")
	}
	if err := cthelper.Validate([]cthelper.Helper{{Protocol: "gre", Port: 1, Name: "pptp"}}); err == nil {
		t.Error("a helper on GRE validated")
	}
}
