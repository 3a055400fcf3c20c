package firewall_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/neutrino-net/neutrino/internal/dataplane/firewall"
	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// dump lists the firewall's tables in ns as the kernel holds them:
// chains with their rules' expressions, sets with their elements.
func dump(t *testing.T, ns netns.Handle) string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	nsrig.Must(t, err)
	var b strings.Builder
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyBridge, nftables.TableFamilyINet} {
		tbl := &nftables.Table{Family: fam, Name: firewall.TableName}
		chains, err := c.ListChainsOfTableFamily(fam)
		nsrig.Must(t, err)
		slices.SortFunc(chains, func(x, y *nftables.Chain) int { return strings.Compare(x.Name, y.Name) })
		for _, ch := range chains {
			fmt.Fprintf(&b, "chain %d %s\n", fam, ch.Name)
			rules, err := c.GetRules(tbl, ch)
			nsrig.Must(t, err)
			for _, r := range rules {
				for _, e := range r.Exprs {
					if l, ok := e.(*expr.Lookup); ok {
						l.SetID = 0
					}
					fmt.Fprintf(&b, " %T%+v", e, e)
				}
				b.WriteString("\n")
			}
		}
		sets, err := c.GetSets(tbl)
		nsrig.Must(t, err)
		slices.SortFunc(sets, func(x, y *nftables.Set) int { return strings.Compare(x.Name, y.Name) })
		for _, s := range sets {
			es, err := c.GetSetElements(s)
			nsrig.Must(t, err)
			var lines []string
			for _, e := range es {
				v := ""
				if e.VerdictData != nil {
					v = e.VerdictData.Chain
				}
				lines = append(lines, fmt.Sprintf("%x %v %s", e.Key, e.IntervalEnd, v))
			}
			slices.Sort(lines)
			fmt.Fprintf(&b, "set %d %s %s\n", fam, s.Name, strings.Join(lines, ","))
		}
	}
	return b.String()
}

// TestDeltaEqualsReplace applies a sequence of hosts (rules added and
// removed, ports coming and going, members changing, port security
// toggled) pass by pass to one namespace and, each from scratch, to
// another: after every step the kernels hold the same tables.
func TestDeltaEqualsReplace(t *testing.T) {
	nsrig.RequireDataplane(t)
	rig := nsrig.New(t)
	nsA, nsB := rig.NS("fwdelta"), rig.NS("fwfull")
	hostA := rig.Host(nsA)
	fwA, err := firewall.New(nsA, hostA.Netlink(), nil)
	nsrig.Must(t, err)
	base := bigHost(30, 5, 6)
	steps := []func(h *firewall.Host){
		func(h *firewall.Host) {},
		func(h *firewall.Host) { // a rule added to one group
			h.Rules["sg-001"] = append(slices.Clone(h.Rules["sg-001"]), firewall.Rule{Direction: "ingress",
				Ethertype: "IPv4", Protocol: "udp", PortRangeMin: ptr(53), PortRangeMax: ptr(53)})
		},
		func(h *firewall.Host) { // a rule removed, a member joins
			h.Rules["sg-002"] = h.Rules["sg-002"][1:]
			h.Members["sg-003"] = append(slices.Clone(h.Members["sg-003"]), netip.MustParsePrefix("10.99.0.0/24"))
		},
		func(h *firewall.Host) { // ports go, a port's security is turned off
			h.Ports = slices.Clone(h.Ports[3:])
			h.Ports[0].PortSecurity = false
		},
		func(h *firewall.Host) { // a new port, a new group, a member leaves
			p := h.Ports[1]
			p.Device, p.ID, p.SecurityGroups = "tapnew-0001", "new", []string{"sg-new"}
			h.Ports = append(slices.Clone(h.Ports), p)
			h.Rules["sg-new"] = []firewall.Rule{{Direction: "ingress", Ethertype: "IPv6", RemoteGroupID: "sg-004"}}
			h.Members["sg-004"] = h.Members["sg-004"][1:]
		},
		func(h *firewall.Host) {}, // back to where it started
	}
	h := base
	for i, step := range steps {
		next := &firewall.Host{Ports: slices.Clone(h.Ports), Rules: map[string][]firewall.Rule{}, Members: map[string][]netip.Prefix{}}
		for k, v := range h.Rules {
			next.Rules[k] = v
		}
		for k, v := range h.Members {
			next.Members[k] = v
		}
		if i == len(steps)-1 {
			next = base
		}
		step(next)
		h = next
		stA, err := fwA.Apply(context.Background(), h)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i > 0 && stA.Replaced {
			t.Errorf("step %d replaced the tables", i)
		}
		fwB, err := firewall.New(nsB, nil, nil)
		nsrig.Must(t, err)
		_, err = fwB.Apply(context.Background(), h)
		nsrig.Must(t, err)
		if a, b := dump(t, nsA), dump(t, nsB); a != b {
			t.Fatalf("step %d: the deltas left\n%s\nwhere a full pass writes\n%s", i, a, diffLines(a, b))
		}
	}
}

// diffLines shows the lines of b missing from a and those of a missing
// from b.
func diffLines(a, b string) string {
	var out bytes.Buffer
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	for _, l := range bs {
		if !slices.Contains(as, l) {
			fmt.Fprintf(&out, "+ %s\n", l)
		}
	}
	for _, l := range as {
		if !slices.Contains(bs, l) {
			fmt.Fprintf(&out, "- %s\n", l)
		}
	}
	return out.String()
}

// TestFirstPassOverWhateverIsThere: a fresh firewall's first pass writes
// the same tables whatever the namespace held: none (they are only
// created), both, one of the two, or tables with a stray chain and set
// (they are replaced); and a second fresh firewall's pass with another
// host replaces them in turn. The tables are compared with those a pass
// writes into a namespace of its own.
func TestFirstPassOverWhateverIsThere(t *testing.T) {
	nsrig.RequireDataplane(t)
	rig := nsrig.New(t)
	first, second := bigHost(6, 2, 5), bigHost(4, 3, 6)
	want := func(name string, h *firewall.Host) string {
		ns := rig.NS(name)
		fw, err := firewall.New(ns, nil, nil)
		nsrig.Must(t, err)
		_, err = fw.Apply(context.Background(), h)
		nsrig.Must(t, err)
		return dump(t, ns)
	}
	wantFirst, wantSecond := want("fwref1", first), want("fwref2", second)
	bridge := &nftables.Table{Family: nftables.TableFamilyBridge, Name: firewall.TableName}
	inet := &nftables.Table{Family: nftables.TableFamilyINet, Name: firewall.TableName}
	for _, tc := range []struct {
		name   string
		tables []*nftables.Table
		stray  bool
	}{
		{name: "none"},
		{name: "both", tables: []*nftables.Table{bridge, inet}},
		{name: "bridge", tables: []*nftables.Table{bridge}},
		{name: "inet", tables: []*nftables.Table{inet}},
		{name: "stray", tables: []*nftables.Table{bridge, inet}, stray: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := rig.NS("fw1" + tc.name)
			if len(tc.tables) > 0 {
				c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
				nsrig.Must(t, err)
				for _, tb := range tc.tables {
					c.AddTable(tb)
					if tc.stray {
						c.AddChain(&nftables.Chain{Table: tb, Name: "stray"})
						nsrig.Must(t, c.AddSet(&nftables.Set{Table: tb, Name: "stray", KeyType: nftables.TypeIPAddr}, nil))
					}
				}
				nsrig.Must(t, c.Flush())
			}
			for i, pass := range []struct {
				h    *firewall.Host
				want string
			}{{first, wantFirst}, {second, wantSecond}} {
				fw, err := firewall.New(ns, nil, nil)
				nsrig.Must(t, err)
				st, err := fw.Apply(context.Background(), pass.h)
				if err != nil || !st.Replaced {
					t.Fatalf("pass %d: %+v, %v", i, st, err)
				}
				if got := dump(t, ns); got != pass.want {
					t.Fatalf("pass %d left\n%s", i, diffLines(got, pass.want))
				}
			}
		})
	}
}
