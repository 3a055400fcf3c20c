package nftns_test

import (
	"testing"

	"github.com/google/nftables"

	"github.com/neutrino-net/neutrino/internal/dataplane/nftns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// TestRecreate: a table known absent is created; if it appeared
// meanwhile the batch fails rather than writing into it; a table known
// present is replaced, its old content gone.
func TestRecreate(t *testing.T) {
	nsrig.RequireDataplane(t)
	ns := nsrig.New(t).NS("recreate")
	tb := &nftables.Table{Family: nftables.TableFamilyINet, Name: "neutrino-test"}
	open := func() *nftables.Conn {
		c, err := nftns.Open(ns)
		nsrig.Must(t, err)
		return c
	}
	chains := func() []string {
		t.Helper()
		cs, err := open().ListChainsOfTableFamily(tb.Family)
		nsrig.Must(t, err)
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		return names
	}
	c := open()
	if ok, err := nftns.Exists(c, tb); ok || err != nil {
		t.Fatalf("Exists on a fresh namespace: %v, %v", ok, err)
	}
	nftns.Recreate(c, tb, false)
	c.AddChain(&nftables.Chain{Table: tb, Name: "one"})
	nsrig.Must(t, c.Flush())
	if ok, err := nftns.Exists(c, tb); !ok || err != nil {
		t.Fatalf("Exists after creating: %v, %v", ok, err)
	}
	// Believed absent, but there: the batch fails and changes nothing.
	nftns.Recreate(c, tb, false)
	c.AddChain(&nftables.Chain{Table: tb, Name: "two"})
	if err := c.Flush(); err == nil {
		t.Error("creating a table that exists succeeded")
	}
	if got := chains(); len(got) != 1 || got[0] != "one" {
		t.Errorf("after the failed batch: chains %v, want [one]", got)
	}
	nftns.Recreate(c, tb, true)
	c.AddChain(&nftables.Chain{Table: tb, Name: "two"})
	nsrig.Must(t, c.Flush())
	if got := chains(); len(got) != 1 || got[0] != "two" {
		t.Errorf("after replacing: chains %v, want [two]", got)
	}
}
