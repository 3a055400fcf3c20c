package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// panicky is a handler whose List panics and whose Get reports the caller
// it saw.
type panicky struct {
	plugin.Handler
	res *resource.Resource
}

func (p panicky) List(context.Context, *resource.Query) ([]*resource.Object, error) {
	panic("boom")
}

func (p panicky) Get(ctx context.Context, id string) (*resource.Object, error) {
	o := resource.New(p.res)
	o.Set("id", id)
	o.Set("name", reqctx.CallerFrom(ctx).ProjectID)
	o.Set("project_id", reqctx.CallerFrom(ctx).ProjectID)
	return o, nil
}

func testServer(t *testing.T, mutate func(*Options)) *httptest.Server {
	t.Helper()
	reg := resource.NewRegistry()
	net := apidef.Build()[apidef.Networks].Restrict(func(string) bool { return true })
	reg.Register(net)
	opts := Options{
		Resources:  reg,
		Handlers:   map[string]plugin.Handler{"networks": panicky{res: net}},
		Auth:       NoAuth(func(c *reqctx.Caller) bool { return c.HasRole("admin") }),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Extensions: []*apidef.Extension{apidef.LookupExtension("pagination")},
	}
	if mutate != nil {
		mutate(&opts)
	}
	ts := httptest.NewServer(New(opts))
	t.Cleanup(ts.Close)
	return ts
}

func TestPanicBecomes500AndServerSurvives(t *testing.T) {
	ts := testServer(t, nil)
	for i := 0; i < 2; i++ {
		resp, err := http.Get(ts.URL + "/v2.0/networks")
		if err != nil {
			t.Fatal(err)
		}
		var body neutronError
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 500 || body.NeutronError.Type != "HTTPInternalServerError" ||
			!strings.Contains(body.NeutronError.Message, "internal server error") {
			t.Fatalf("status %d body %+v", resp.StatusCode, body)
		}
		if strings.Contains(body.NeutronError.Message, "boom") {
			t.Errorf("500 leaks the panic: %q", body.NeutronError.Message)
		}
		if resp.Header.Get("X-Openstack-Request-Id") == "" {
			t.Error("500 has no request id")
		}
	}
	// Still serving.
	resp, err := http.Get(ts.URL + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("server died after panic: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestNoAuthContext(t *testing.T) {
	ts := testServer(t, nil)
	get := func(headers map[string]string) string {
		req, _ := http.NewRequest("GET", ts.URL+"/v2.0/networks/x?fields=name", nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		name, _ := body["network"]["name"].(string)
		return name
	}
	if got := get(nil); got != "fake_project_id" {
		t.Errorf("no headers: project %q, want fake_project_id", got)
	}
	if got := get(map[string]string{"X-Project-Id": "p1", "X-Roles": "member"}); got != "p1" {
		t.Errorf("X-Project-Id: project %q", got)
	}
	if got := get(map[string]string{"X-Tenant-Id": "p2"}); got != "p2" {
		t.Errorf("X-Tenant-Id: project %q", got)
	}
}

func TestCORS(t *testing.T) {
	ts := testServer(t, func(o *Options) {
		o.CORS = CORS{AllowedOrigin: []string{"https://dash.example"}, AllowMethods: []string{"GET", "POST"},
			AllowHeaders: []string{"X-Auth-Token"}, ExposeHeaders: []string{"X-OpenStack-Request-ID"}, MaxAge: 60}
	})
	req, _ := http.NewRequest("OPTIONS", ts.URL+"/v2.0/networks", nil)
	req.Header.Set("Origin", "https://dash.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://dash.example" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET, POST" || resp.Header.Get("Access-Control-Max-Age") != "60" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// A foreign origin gets no CORS headers.
	req, _ = http.NewRequest("GET", ts.URL+"/", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed: %v", resp.Header)
	}
}

func TestProxyHeaders(t *testing.T) {
	for _, tc := range []struct {
		enabled bool
		headers map[string]string
		want    string
	}{
		{false, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, "http://127.0.0.1"},
		{true, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, "https://api.example/v2.0/"},
		{true, map[string]string{"Forwarded": `proto=https;host="neutron.example:443"`}, "https://neutron.example:443/v2.0/"},
	} {
		ts := testServer(t, func(o *Options) { o.ProxyHeaders = tc.enabled })
		req, _ := http.NewRequest("GET", ts.URL+"/", nil)
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(raw), tc.want) {
			t.Errorf("enabled=%v headers=%v: %s does not contain %s", tc.enabled, tc.headers, raw, tc.want)
		}
	}
}
