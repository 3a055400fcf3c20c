package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeCreator accepts POST /v2.0/networks, single or (if bulk is set) bulk,
// and records the size of every request.
type fakeCreator struct {
	bulk bool

	mu      sync.Mutex
	batches []int // networks per request
	nextID  int
}

func (f *fakeCreator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2.0/networks" {
		http.NotFound(w, r)
		return
	}
	var in struct {
		Network  *networkAttrs  `json:"network"`
		Networks []networkAttrs `json:"networks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	newNet := func(a networkAttrs) network {
		f.nextID++
		return network{ID: fmt.Sprintf("id-%d", f.nextID), Name: a.Name}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case in.Network != nil:
		f.batches = append(f.batches, 1)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]network{"network": newNet(*in.Network)})
	case in.Networks != nil && f.bulk:
		f.batches = append(f.batches, len(in.Networks))
		var out []network
		for _, a := range in.Networks {
			out = append(out, newNet(a))
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string][]network{"networks": out})
	default:
		http.Error(w, `{"NeutronError":{"message":"Bulk operation not supported"}}`, http.StatusBadRequest)
	}
}

func TestCreateNetworksBulkAndFallback(t *testing.T) {
	tests := []struct {
		name         string
		bulk         bool
		count        int
		wantRequests int
		wantMax      int
	}{
		{"bulk in batches of 100", true, 250, 3, 100},
		{"bulk single batch", true, 40, 1, 40},
		{"fallback to singles", false, 30, 30, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeCreator{bulk: tt.bulk}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c, err := newClient(srv.URL, srv.Client(), "", "")
			if err != nil {
				t.Fatal(err)
			}
			b := newBench(config{}, c, newReporter(io.Discard), log.New(io.Discard, "", 0))
			nets, err := b.createNetworks(context.Background(), "pop", tt.count)
			if err != nil {
				t.Fatalf("createNetworks: %v", err)
			}
			if len(nets) != tt.count || len(b.tracker.list("networks")) != tt.count {
				t.Errorf("created %d, tracked %d, want %d", len(nets), len(b.tracker.list("networks")), tt.count)
			}
			for _, n := range nets {
				if !strings.HasPrefix(n.Name, b.names.prefix+"pop-") {
					t.Fatalf("name %q lacks prefix %q", n.Name, b.names.prefix)
				}
			}
			if len(fake.batches) != tt.wantRequests || fake.batches[0] != tt.wantMax {
				t.Errorf("requests %v, want %d requests, the first of %d", fake.batches, tt.wantRequests, tt.wantMax)
			}
		})
	}
}
