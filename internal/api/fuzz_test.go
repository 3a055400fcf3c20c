package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// recorder is a handler that keeps what the API handed it, so the fuzz
// target can check that nothing unchecked gets past the API.
type recorder struct {
	res     *resource.Resource
	queries []*resource.Query
	objs    []*resource.Object
	ids     []string
}

func (h *recorder) List(_ context.Context, q *resource.Query) ([]*resource.Object, error) {
	h.queries = append(h.queries, q)
	return nil, nil
}

func (h *recorder) Get(_ context.Context, id string) (*resource.Object, error) {
	h.ids = append(h.ids, id)
	o := resource.New(h.res)
	o.Set("id", id)
	o.Set("project_id", "p")
	o.Set("tenant_id", "p")
	o.Set("tags", []string{})
	return o, nil
}

func (h *recorder) Create(_ context.Context, objs []*resource.Object) ([]*resource.Object, error) {
	h.objs = append(h.objs, objs...)
	return objs, nil
}

func (h *recorder) Update(ctx context.Context, id string, patch *resource.Object, _ int) (*resource.Object, error) {
	h.ids = append(h.ids, id)
	h.objs = append(h.objs, patch)
	return h.Get(ctx, id)
}

func (h *recorder) Delete(_ context.Context, id string, _ int) error {
	h.ids = append(h.ids, id)
	return nil
}

// FuzzRequest sends arbitrary requests (method, path, query string, body)
// through the whole API in process, against a handler that records what
// reaches it: the API must answer every request with a NeutronError or a
// JSON reply, never a 5xx (other than 501), and hand the handler only
// strings a store can keep and list queries within their bounds.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct {
		method      byte
		path, query string
		body        string
	}{
		{0, "/v2.0/networks", "name=%00", ""},
		{0, "/v2.0/networks", "name=%ff%fe", ""},
		{0, "/v2.0/networks", "name=%zz", ""},
		{0, "/v2.0/networks", "name=a;b&shared=true", ""},
		{0, "/v2.0/networks/\x00", "", ""},
		{0, "/v2.0/quotas/\x00", "", ""},
		{0, "/v2.0/ports", "device_id=%00", ""},
		{0, "/v2.0/networks", strings.Repeat("sort_key=name&sort_dir=asc&", 40), ""},
		{0, "/v2.0/networks", "tags=" + strings.Repeat("t,", 60), ""},
		{0, "/v2.0/networks", "tags-any=a,b&not-tags=c&not-tags-any=d,d", ""},
		{0, "/v2.0/networks", "limit=2&marker=x&page_reverse=True&fields=id", ""},
		{1, "/v2.0/networks", "", `{"network": {"name": "a\u0000b"}}`},
		{1, "/v2.0/networks", "", "{\"network\": {\"name\": \"\xff\"}}"},
		{1, "/v2.0/networks", "", `{"networks": [{"name": "x"}, {"description": "\u0000"}]}`},
		{1, "/v2.0/networks", "", `{"network": {"name": "ok", "tags": ["a"]}}`},
		{2, "/v2.0/networks/n1", "", `{"network": {"description": "d"}}`},
		{2, "/v2.0/networks/n1/tags", "", `{"tags": ["x\u0000"]}`},
		{2, "/v2.0/networks/n1/tags/a\x00b", "", ""},
		{3, "/v2.0/networks/n1", "", ""},
		{1, "/v2.0/quotas/x", "", `{"quota": {}}`},
	} {
		f.Add(seed.method, seed.path, seed.query, []byte(seed.body))
	}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	f.Fuzz(func(t *testing.T, method byte, path, query string, body []byte) {
		rec := &recorder{}
		reg := resource.NewRegistry()
		net := apidef.Build()[apidef.Networks].Restrict(func(string) bool { return true })
		reg.Register(net)
		rec.res = net
		var exts []*apidef.Extension
		for _, alias := range []string{"standard-attr-tag", "filter-validation", "pagination", "sorting", "empty-string-filtering"} {
			exts = append(exts, apidef.LookupExtension(alias))
		}
		s := New(Options{
			Resources:  reg,
			Handlers:   map[string]plugin.Handler{apidef.Networks: rec},
			Extensions: exts,
			Auth:       NoAuth(func(c *reqctx.Caller) bool { return c.HasRole("admin") }),
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := &http.Request{
			Method: methods[int(method)%len(methods)],
			URL:    &url.URL{Path: path, RawQuery: query},
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(bytes.NewReader(body)),
			Host:   "neutrino",
		}
		r = r.WithContext(context.Background())
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)

		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s?%s: %d %s", r.Method, path, query, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var ne neutronError
			if err := json.Unmarshal(w.Body.Bytes(), &ne); err != nil || ne.NeutronError.Type == "" {
				t.Fatalf("%d reply is not a NeutronError: %q", w.Code, w.Body)
			}
		}
		storable := func(what, s string) {
			if reason := badString(s); reason != "" {
				t.Fatalf("%s %q reached the handler: %s", what, s, reason)
			}
		}
		for _, id := range rec.ids {
			storable("id", id)
		}
		for _, q := range rec.queries {
			if len(q.Sorts) > maxSortKeys+1 {
				t.Fatalf("%d sort keys reached the handler", len(q.Sorts))
			}
			values := 0
			for _, fl := range q.Filters {
				values += len(fl.Values)
				for _, v := range fl.Values {
					if s, ok := v.(string); ok {
						storable("filter value", s)
					}
				}
			}
			for _, sf := range q.SubFilters {
				values += len(sf.Values)
				for _, v := range sf.Values {
					storable("sub-filter value", v)
				}
			}
			if values > maxFilterValues {
				t.Fatalf("%d filter values reached the handler", values)
			}
			for _, tags := range [][]string{q.Tags.All, q.Tags.Any, q.Tags.NotAll, q.Tags.NotAny} {
				if len(tags) > maxFilterTags {
					t.Fatalf("%d tags in one filter reached the handler", len(tags))
				}
				for _, tag := range tags {
					storable("tag", tag)
				}
			}
			storable("marker", q.Marker)
		}
		for _, o := range rec.objs {
			var walk func(v any)
			walk = func(v any) {
				switch t := v.(type) {
				case string:
					storable("attribute value", t)
				case []string:
					for _, s := range t {
						storable("attribute value", s)
					}
				case []any:
					for _, it := range t {
						walk(it)
					}
				case map[string]any:
					for k, it := range t {
						storable("attribute name", k)
						walk(it)
					}
				}
			}
			walk(o.Map())
		}
	})
}
