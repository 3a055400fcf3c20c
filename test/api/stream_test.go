package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestLargeListsStream lists more networks than the server reads per
// query: the reply is streamed (no Content-Length), and holds every
// network once, in the order asked for, with pages and links as for any
// list.
func TestLargeListsStream(t *testing.T) {
	unlimited := map[string]string{"quotas.quota_network": "-1"}
	enginesWith(t, unlimited, func(t *testing.T, e *env) {
		const n = 1234
		e.populate(n)
		list := func(path string) ([]map[string]any, *http.Response, map[string]any) {
			t.Helper()
			resp, err := http.Get(e.url + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %v", path, resp.StatusCode, body)
			}
			var out []map[string]any
			for _, it := range body["networks"].([]any) {
				out = append(out, it.(map[string]any))
			}
			return out, resp, body
		}
		names := func(items []map[string]any) []string {
			out := make([]string, len(items))
			for i, it := range items {
				out[i] = it["name"].(string)
			}
			return out
		}

		all, resp, _ := list("/v2.0/networks")
		if resp.ContentLength != -1 {
			t.Errorf("a list of %d networks has Content-Length %d; want it streamed", n, resp.ContentLength)
		}
		got := names(all)
		slices.Sort(got)
		want := make([]string, n)
		for i := range want {
			want[i] = fmt.Sprintf("bench-%d", i)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("streamed list holds %d networks, not each of the %d once", len(got), n)
		}

		sorted, _, _ := list("/v2.0/networks?sort_key=name&sort_dir=desc&fields=name&fields=id")
		if got := names(sorted); !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) || len(got) != n {
			t.Errorf("sorted by name desc: %d networks, sorted %v", len(got), slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }))
		}
		if len(sorted[0]) != 2 {
			t.Errorf("fields=name&fields=id shows %v", sorted[0])
		}

		page, _, body := list("/v2.0/networks?limit=700&sort_key=name&sort_dir=asc")
		if len(page) != 700 {
			t.Fatalf("limit=700 gave %d networks", len(page))
		}
		links := body["networks_links"].([]any)
		var next string
		for _, l := range links {
			if l := l.(map[string]any); l["rel"] == "next" {
				next = l["href"].(string)
			}
		}
		u, err := url.Parse(next)
		if err != nil || u.Query().Get("marker") != page[699]["id"] {
			t.Fatalf("next link %q does not continue after the page's last network %v", next, page[699]["id"])
		}
		rest, _, _ := list(u.RequestURI())
		if len(rest) != n-700 {
			t.Errorf("the next page holds %d networks, want %d", len(rest), n-700)
		}
		if got := append(names(page), names(rest)...); !slices.IsSorted(got) || len(got) != n {
			t.Errorf("the two pages are not the whole sorted list")
		}

		// Reversed pages longer than a read: the networks before the
		// marker, in forward order.
		byName, _, _ := list("/v2.0/networks?sort_key=name&sort_dir=asc&fields=id&fields=name")
		for _, c := range []struct{ marker, from, to int }{{1000, 300, 1000}, {600, 0, 600}, {1233, 533, 1233}} {
			back, resp, _ := list(fmt.Sprintf("/v2.0/networks?sort_key=name&sort_dir=asc&limit=700&page_reverse=True&marker=%s",
				byName[c.marker]["id"]))
			if !slices.Equal(names(back), names(byName[c.from:c.to])) {
				t.Errorf("reversed page before #%d: %d networks, want #%d–#%d", c.marker, len(back), c.from, c.to-1)
			}
			if resp.ContentLength != -1 {
				t.Errorf("a reversed page of %d networks has Content-Length %d", len(back), resp.ContentLength)
			}
		}

		// A list that fits in one read still goes out with its length.
		_, resp, _ = list("/v2.0/networks?limit=10")
		if resp.ContentLength <= 0 {
			t.Errorf("a page of 10 has Content-Length %d", resp.ContentLength)
		}
		// Filters apply to every chunk.
		few, _, _ := list("/v2.0/networks?name=bench-7&name=bench-1233")
		if got := names(few); len(got) != 2 {
			t.Errorf("name filters gave %v", got)
		}
	})
}

// TestLongPortListsStream lists more ports than the server reads per
// query, as an admin and as a member: each listed port is the port its
// caller's show gives (addresses, groups, and no binding:* for the
// member), every port is listed once, and the member sees its own only.
func TestLongPortListsStream(t *testing.T) {
	enginesWith(t, map[string]string{"quotas.quota_port": "-1"}, func(t *testing.T, e *env) {
		mine := map[string]bool{}
		create := func(as *caller, cidr string, n int) {
			net := e.createNetwork(as, map[string]any{"name": "n"})["id"].(string)
			e.portSubnet(as, net, map[string]any{"cidr": cidr})
			for done := 0; done < n; {
				batch := min(250, n-done)
				items := make([]any, batch)
				for i := range items {
					items[i] = map[string]any{"network_id": net, "name": fmt.Sprintf("p-%d", done+i)}
				}
				for _, p := range e.do(as, "POST", "/v2.0/ports", map[string]any{"ports": items}).expect(t, 201).body["ports"].([]any) {
					if as == member1 {
						mine[p.(map[string]any)["id"].(string)] = true
					}
				}
				done += batch
			}
		}
		create(member1, "10.1.0.0/20", 620)
		create(admin, "10.2.0.0/20", 560)
		for _, c := range []struct {
			name string
			as   *caller
		}{{"admin", admin}, {"member", member1}} {
			r := e.do(c.as, "GET", "/v2.0/ports", nil).expect(t, 200)
			if cl := r.header.Get("Content-Length"); cl != "" {
				t.Errorf("%s: a long port list has Content-Length %s; want it streamed", c.name, cl)
			}
			seen := map[string]bool{}
			for _, it := range r.body["ports"].([]any) {
				p := it.(map[string]any)
				id := p["id"].(string)
				if seen[id] {
					t.Fatalf("%s: port %s listed twice", c.name, id)
				}
				seen[id] = true
				if c.as == member1 && !mine[id] {
					t.Errorf("member lists port %s of another project", id)
				}
				if _, ok := p["binding:host_id"]; ok == (c.as == member1) {
					t.Errorf("%s: binding:host_id shown %v", c.name, ok)
				}
				if len(seen)%97 != 1 {
					continue
				}
				show := e.do(c.as, "GET", "/v2.0/ports/"+id, nil).expect(t, 200).obj(t, "port")
				if !reflect.DeepEqual(p, show) {
					t.Errorf("%s: listed port %v\nis not its show %v", c.name, p, show)
				}
			}
			if c.as == member1 && len(seen) != len(mine) {
				t.Errorf("member lists %d ports, want its %d", len(seen), len(mine))
			}
			if c.as == admin && len(seen) < 1180 {
				t.Errorf("admin lists %d ports, want at least 1180", len(seen))
			}
		}
	})
}
