package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeNetworks serves GET <prefix>/v2.0/networks over total networks,
// paginated the way Neutron does it: with ?limit=N, a page that is full gets
// a rel=next link carrying the last id as marker.
type fakeNetworks struct {
	prefix     string // path prefix the API is mounted under
	total      int
	nextHref   func(prefix string, next url.Values) string // builds the next link; nil means relative to the page
	failMarker string                                      // a marker that is answered with 500
	requests   atomic.Int32
}

// id returns the id of network i.
func fakeID(i int) string { return fmt.Sprintf("net-%05d", i) }

func (f *fakeNetworks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.Method != http.MethodGet || r.URL.Path != f.prefix+"/v2.0/networks" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	marker := q.Get("marker")
	if marker != "" && marker == f.failMarker {
		http.Error(w, `{"NeutronError":{"type":"Boom","message":"boom"}}`, http.StatusInternalServerError)
		return
	}
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(marker, "net-"))
		if err != nil {
			http.Error(w, "bad marker", http.StatusBadRequest)
			return
		}
		start = n + 1
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	end := f.total
	if limit > 0 {
		end = min(start+limit, f.total)
	}
	items := []map[string]string{}
	for i := start; i < end; i++ {
		items = append(items, map[string]string{"id": fakeID(i), "name": "n" + strconv.Itoa(i)})
	}
	doc := map[string]any{"networks": items}
	if limit > 0 && len(items) == limit {
		next := url.Values{"limit": {strconv.Itoa(limit)}, "marker": {fakeID(end - 1)}}
		href := "networks?" + next.Encode()
		if f.nextHref != nil {
			href = f.nextHref(f.prefix, next)
		}
		doc["networks_links"] = []link{
			{Rel: "previous", Href: "http://ignored.invalid/v2.0/networks?page_reverse=True"},
			{Rel: "next", Href: href},
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func TestWalk(t *testing.T) {
	foreignHost := func(prefix string, next url.Values) string {
		return "http://neutron.internal.invalid:9696" + prefix + "/v2.0/networks?" + next.Encode()
	}
	tests := []struct {
		name      string
		fake      *fakeNetworks
		query     url.Values
		wantItems int
		wantPages int
		wantErr   string
		failed    int // requests answered with an error, beyond the pages read
	}{
		{name: "no limit is one page", fake: &fakeNetworks{total: 250}, wantItems: 250, wantPages: 1},
		{name: "empty collection", fake: &fakeNetworks{total: 0}, query: url.Values{"limit": {"100"}}, wantItems: 0, wantPages: 1},
		{name: "partial last page", fake: &fakeNetworks{total: 250}, query: url.Values{"limit": {"100"}}, wantItems: 250, wantPages: 3},
		{name: "exact multiple ends on empty page", fake: &fakeNetworks{total: 200}, query: url.Values{"limit": {"100"}}, wantItems: 200, wantPages: 3},
		{name: "absolute links to another host are re-anchored", fake: &fakeNetworks{total: 30, nextHref: foreignHost}, query: url.Values{"limit": {"7"}}, wantItems: 30, wantPages: 5},
		{name: "endpoint with path prefix", fake: &fakeNetworks{prefix: "/networking", total: 30, nextHref: foreignHost}, query: url.Values{"limit": {"10"}}, wantItems: 30, wantPages: 4},
		{name: "root-relative links", fake: &fakeNetworks{total: 12, nextHref: func(prefix string, next url.Values) string {
			return prefix + "/v2.0/networks?" + next.Encode()
		}}, query: url.Values{"limit": {"5"}}, wantItems: 12, wantPages: 3},
		{name: "link loop is detected", fake: &fakeNetworks{total: 30, nextHref: func(prefix string, _ url.Values) string {
			return prefix + "/v2.0/networks?limit=10"
		}}, query: url.Values{"limit": {"10"}}, wantItems: 10, wantPages: 1, wantErr: "loops back"},
		{name: "server error mid-walk", fake: &fakeNetworks{total: 30, failMarker: fakeID(9)}, query: url.Values{"limit": {"10"}}, wantItems: 10, wantPages: 1, wantErr: "page 2: GET", failed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.fake)
			defer srv.Close()
			c, err := newClient(srv.URL+tt.fake.prefix, srv.Client(), "", "")
			if err != nil {
				t.Fatal(err)
			}
			visited := 0
			st, err := c.walk(context.Background(), "networks", tt.query, func(json.RawMessage) error {
				visited++
				return nil
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("walk: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("walk error = %v, want one containing %q", err, tt.wantErr)
			}
			if st.items != tt.wantItems || st.pages != tt.wantPages || visited != tt.wantItems {
				t.Errorf("items=%d pages=%d visited=%d, want items=%d pages=%d", st.items, st.pages, visited, tt.wantItems, tt.wantPages)
			}
			if st.pages > 0 && st.bytes == 0 {
				t.Error("bytes = 0 after reading pages")
			}
			if int(tt.fake.requests.Load()) != st.pages+tt.failed {
				t.Errorf("server saw %d requests for %d pages", tt.fake.requests.Load(), st.pages)
			}
		})
	}
}

func TestWalkEmptyPageWithNext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"networks":[],"networks_links":[{"rel":"next","href":"/v2.0/networks?marker=x"}]}`)
	}))
	defer srv.Close()
	c, err := newClient(srv.URL, srv.Client(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.walk(context.Background(), "networks", nil, nil); err == nil || !strings.Contains(err.Error(), "empty page") {
		t.Fatalf("walk error = %v, want an empty-page error", err)
	}
}

func TestDecodePage(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantItems int
		wantNext  string
		wantErr   bool
	}{
		{"no links", `{"networks":[{"id":"a"},{"id":"b"}]}`, 2, "", false},
		{"next among links", `{"networks":[{"id":"a"}],"networks_links":[{"rel":"previous","href":"p"},{"rel":"next","href":"n"}]}`, 1, "n", false},
		{"only previous", `{"networks":[],"networks_links":[{"rel":"previous","href":"p"}]}`, 0, "", false},
		{"missing collection", `{"ports":[]}`, 0, "", true},
		{"collection not a list", `{"networks":{"id":"a"}}`, 0, "", true},
		{"bad links", `{"networks":[],"networks_links":{"rel":"next"}}`, 0, "", true},
		{"not json", `<html>`, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, next, err := decodePage([]byte(tt.body), "networks")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(items) != tt.wantItems || next != tt.wantNext {
				t.Errorf("items=%d next=%q, want %d %q", len(items), next, tt.wantItems, tt.wantNext)
			}
		})
	}
}

func TestClientHeadersAndErrors(t *testing.T) {
	tests := []struct {
		name, token, project   string
		wantToken, wantProject string
	}{
		{name: "noauth without project"},
		{name: "noauth with project", project: "p1", wantProject: "p1"},
		{name: "token wins over project", token: "t1", project: "p1", wantToken: "t1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotToken, gotProject string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotToken, gotProject = r.Header.Get("X-Auth-Token"), r.Header.Get("X-Project-Id")
				http.Error(w, `{"NeutronError":"nope"}`, http.StatusConflict)
			}))
			defer srv.Close()
			c, err := newClient(srv.URL+"/v2.0/", newHTTPClient(4, time.Second), tt.token, tt.project)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.do(context.Background(), http.MethodGet, "/v2.0/networks", nil)
			if statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "nope") {
				t.Errorf("err = %v, want a 409 carrying the body", err)
			}
			if gotToken != tt.wantToken || gotProject != tt.wantProject {
				t.Errorf("X-Auth-Token=%q X-Project-Id=%q, want %q %q", gotToken, gotProject, tt.wantToken, tt.wantProject)
			}
		})
	}
}
