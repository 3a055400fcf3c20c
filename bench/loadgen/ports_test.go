package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeAddressing serves just enough of networks, subnets and ports for the
// port setup: unpaged GET lists, POST of networks and subnets (refusing
// overlapping CIDRs, including those of hidden, unlisted subnets), and POST
// of ports, single or (if bulk is set) bulk.
type fakeAddressing struct {
	bulk bool

	mu      sync.Mutex
	nextID  int
	subnets []string // CIDRs, listed
	hidden  []string // CIDRs that are not listed but still refuse overlaps
	ports   int
	batches []int // ports per POST /v2.0/ports
}

func (f *fakeAddressing) id() string {
	f.nextID++
	return fmt.Sprintf("id-%d", f.nextID)
}

func (f *fakeAddressing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /v2.0/subnets":
		items := []map[string]string{}
		for _, c := range f.subnets {
			items = append(items, map[string]string{"id": f.id(), "cidr": c})
		}
		reply(http.StatusOK, map[string]any{"subnets": items})
	case "GET /v2.0/ports":
		items := []map[string]string{}
		for i := range f.ports {
			items = append(items, map[string]string{"id": fmt.Sprint("port-", i)})
		}
		reply(http.StatusOK, map[string]any{"ports": items})
	case "POST /v2.0/networks":
		var in struct {
			Networks []networkAttrs `json:"networks"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		var out []network
		for _, a := range in.Networks {
			out = append(out, network{ID: f.id(), Name: a.Name})
		}
		reply(http.StatusCreated, map[string]any{"networks": out})
	case "POST /v2.0/subnets":
		var in struct {
			Subnet subnetAttrs `json:"subnet"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		p := netip.MustParsePrefix(in.Subnet.CIDR)
		for _, c := range append(slices.Clone(f.subnets), f.hidden...) {
			if netip.MustParsePrefix(c).Overlaps(p) {
				reply(http.StatusBadRequest, map[string]any{"NeutronError": map[string]string{
					"type": "InvalidInput", "message": "Invalid input for operation: Requested subnet with cidr: " +
						in.Subnet.CIDR + " for network: x overlaps with another subnet."}})
				return
			}
		}
		f.subnets = append(f.subnets, in.Subnet.CIDR)
		reply(http.StatusCreated, map[string]any{"subnet": map[string]string{"id": f.id()}})
	case "POST /v2.0/ports":
		var in struct {
			Port  *portAttrs  `json:"port"`
			Ports []portAttrs `json:"ports"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		switch {
		case in.Port != nil:
			f.batches = append(f.batches, 1)
			f.ports++
			reply(http.StatusCreated, map[string]any{"port": map[string]string{"id": f.id()}})
		case in.Ports != nil && f.bulk:
			f.batches = append(f.batches, len(in.Ports))
			var out []map[string]string
			for range in.Ports {
				f.ports++
				out = append(out, map[string]string{"id": f.id()})
			}
			reply(http.StatusCreated, map[string]any{"ports": out})
		default:
			reply(http.StatusBadRequest, map[string]any{"NeutronError": map[string]string{"message": "Bulk operation not supported"}})
		}
	default:
		http.NotFound(w, r)
	}
}

func newFakeBench(t *testing.T, h http.Handler, cfg config) *bench {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := newClient(srv.URL, srv.Client(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return newBench(cfg, c, newReporter(io.Discard), log.New(io.Discard, "", 0))
}

func TestPrepopulatePorts(t *testing.T) {
	tests := []struct {
		name         string
		bulk         bool
		have, target int
		wantBatches  []int
	}{
		{"bulk in batches of 500", true, 0, 1200, []int{500, 200, 500}},
		{"tops up what exists", true, 700, 1000, []int{300}},
		{"fallback to singles", false, 0, 20, slices.Repeat([]int{1}, 20)},
		{"enough already", true, 50, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeAddressing{bulk: tt.bulk, ports: tt.have}
			b := newFakeBench(t, fake, config{})
			if err := b.prepopulatePorts(context.Background(), tt.target); err != nil {
				t.Fatalf("prepopulatePorts: %v", err)
			}
			// The first request is the bulk probe; the others go out
			// concurrently, in any order.
			got := slices.Clone(fake.batches)
			if len(got) > 1 {
				slices.Sort(got[1:])
			}
			if !slices.Equal(got, tt.wantBatches) {
				t.Errorf("POST /v2.0/ports batches %v, want %v (in any order after the first)", fake.batches, tt.wantBatches)
			}
			if want := max(tt.have, tt.target); fake.ports != want {
				t.Errorf("%d ports exist, want %d", fake.ports, want)
			}
			if got, want := len(b.tracker.list("ports")), max(tt.target-tt.have, 0); got != want {
				t.Errorf("tracked %d ports, want %d", got, want)
			}
		})
	}
}

func TestPortNetworkAvoidsTakenCIDRs(t *testing.T) {
	fake := &fakeAddressing{
		bulk:    true,
		subnets: []string{"10.5.0.0/24", "10.6.128.0/17"}, // listed: skipped without asking
		hidden:  []string{"10.7.0.0/16"},                  // not listed: refused, then skipped
	}
	b := newFakeBench(t, fake, config{})
	b.portOctet = 5
	if err := b.ensurePortNetwork(context.Background()); err != nil {
		t.Fatalf("ensurePortNetwork: %v", err)
	}
	if want := netip.MustParsePrefix("10.8.0.0/16"); b.portCIDR != want {
		t.Errorf("port subnet %s, want %s", b.portCIDR, want)
	}
	if got := fake.subnets[len(fake.subnets)-1]; got != "10.8.0.0/16" {
		t.Errorf("created subnet %s", got)
	}
	if len(b.tracker.list("subnets")) != 1 || len(b.tracker.list("networks")) != 1 {
		t.Errorf("tracked subnets %v networks %v", b.tracker.list("subnets"), b.tracker.list("networks"))
	}
}

func TestNextSubnetCIDRSkipsTaken(t *testing.T) {
	b := newBench(config{}, nil, newReporter(io.Discard), log.New(io.Discard, "", 0))
	b.taken = []netip.Prefix{netip.MustParsePrefix("10.128.0.0/23"), netip.MustParsePrefix("10.128.3.128/25")}
	b.takenLoaded = true
	var got []string
	for range 3 {
		c, err := b.nextSubnetCIDR()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if want := []string{"10.128.2.0/24", "10.128.4.0/24", "10.128.5.0/24"}; !slices.Equal(got, want) {
		t.Errorf("CIDRs %v, want %v", got, want)
	}

	b.subnetSeq.Store(128*256 - 1)
	if c, err := b.nextSubnetCIDR(); err != nil || c != "10.255.255.0/24" {
		t.Errorf("last CIDR: %q, %v", c, err)
	}
	if _, err := b.nextSubnetCIDR(); err == nil || !strings.Contains(err.Error(), "ran out") {
		t.Errorf("after the last CIDR: %v, want an error", err)
	}
}
