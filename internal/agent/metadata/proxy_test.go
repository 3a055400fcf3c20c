package metadata

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestProxy drives the proxy with a real HTTP server standing in for
// Nova's metadata API.
func TestProxy(t *testing.T) {
	var status atomic.Int32
	var seen atomic.Pointer[http.Header]
	nova := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		seen.Store(&h)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "nova says "+r.URL.RequestURI())
	}))
	defer nova.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(nova.URL, "http://"))
	portN, _ := strconv.Atoi(port)

	var lookups atomic.Int32
	lookup := func(_ context.Context, src Source) (Instance, error) {
		lookups.Add(1)
		switch {
		case src.IP == "10.0.0.9":
			return Instance{}, errors.New("server down")
		case src.NetworkID == "net-1" && src.IP == "127.0.0.1":
			return Instance{ID: "vm-1", ProjectID: "p-1"}, nil
		case src.RouterID == "router-1" && src.IP == "127.0.0.1":
			return Instance{ID: "vm-r", ProjectID: "p-1"}, nil
		}
		return Instance{}, nil
	}
	p, err := NewProxy(Options{NovaHost: host, NovaPort: portN, NovaProtocol: "http", SharedSecret: "s",
		CacheTTL: time.Minute}, lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p.now = func() time.Time { return now }
	front := httptest.NewServer(p.Handler("net-1"))
	defer front.Close()
	other := httptest.NewServer(p.Handler("net-2"))
	defer other.Close()

	get := func(base, path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	status.Store(200)
	code, body := get(front.URL, "/latest/meta-data/?x=1", "X-Forwarded-For", "10.0.0.66", "X-Instance-ID", "forged")
	if code != 200 || body != "nova says /latest/meta-data/?x=1" {
		t.Fatalf("200: %d %q", code, body)
	}
	h := *seen.Load()
	// The identity is the proxy's alone, whatever the guest sent.
	if h.Get("X-Instance-ID") != "vm-1" || h.Get("X-Tenant-ID") != "p-1" || h.Get("X-Forwarded-For") != "127.0.0.1" ||
		h.Get("X-Instance-ID-Signature") != signVM1 {
		t.Fatalf("Nova saw %v", h)
	}

	// Nova's answers, relayed as Neutron relays them.
	for _, tc := range []struct{ nova, want int }{
		{403, 403}, {404, 404}, {400, 400}, {409, 409}, {500, 500}, {502, 502}, {503, 503}, {504, 504}, {401, 500},
	} {
		status.Store(int32(tc.nova))
		if code, _ := get(front.URL, "/latest/"); code != tc.want {
			t.Errorf("Nova %d: proxy answered %d, want %d", tc.nova, code, tc.want)
		}
	}
	// One lookup for all of the above: the identity is cached.
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d lookups, want 1 (cached)", n)
	}
	now = now.Add(2 * time.Minute)
	status.Store(200)
	get(front.URL, "/")
	if n := lookups.Load(); n != 2 {
		t.Errorf("%d lookups after the cache expired, want 2", n)
	}
	// The same address on another network is nobody there.
	if code, _ := get(other.URL, "/latest/"); code != 404 {
		t.Errorf("unknown instance: %d, want 404", code)
	}
	// In a router namespace the router names the instance.
	viaRouter := httptest.NewServer(p.RouterHandler("router-1"))
	defer viaRouter.Close()
	status.Store(200)
	if code, _ := get(viaRouter.URL, "/latest/"); code != 200 || (*seen.Load()).Get("X-Instance-ID") != "vm-r" {
		t.Errorf("through the router: %d, Nova saw instance %q", code, (*seen.Load()).Get("X-Instance-ID"))
	}
	// Nova unreachable: 503, as Neutron answers.
	nova.Close()
	now = now.Add(2 * time.Minute)
	if code, _ := get(front.URL, "/latest/"); code != 503 {
		t.Errorf("Nova down: %d, want 503", code)
	}
}

// signVM1 is the HMAC-SHA256 of "vm-1" with the secret "s", computed
// apart from the code under test:
//
//	printf 'vm-1' | openssl dgst -sha256 -hmac s
const signVM1 = "e90331061131ba6009be3eaa06bf06df20530e2a805b763c2f8fcba6bff6e8bb"

// TestProxyFollowsRedirects: Nova's redirect is followed by the proxy
// with the signed identity kept, as Neutron's requests call follows it;
// the instance sees the final answer.
func TestProxyFollowsRedirects(t *testing.T) {
	nova := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openstack" {
			http.Redirect(w, r, "/openstack/", http.StatusMovedPermanently)
			return
		}
		if r.Header.Get("X-Instance-ID-Signature") != signVM1 {
			http.Error(w, "no identity", http.StatusForbidden)
			return
		}
		io.WriteString(w, "latest\n")
	}))
	defer nova.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(nova.URL, "http://"))
	portN, _ := strconv.Atoi(port)
	p, err := NewProxy(Options{NovaHost: host, NovaPort: portN, NovaProtocol: "http", SharedSecret: "s", CacheTTL: time.Minute},
		func(context.Context, Source) (Instance, error) { return Instance{ID: "vm-1", ProjectID: "p"}, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p.Handler("net-1"))
	defer front.Close()
	resp, err := http.Get(front.URL + "/openstack")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "latest\n" {
		t.Fatalf("redirected request: %d %q", resp.StatusCode, b)
	}
}

func TestMACOfEUI64(t *testing.T) {
	if got := macOfEUI64(netip.MustParseAddr("fe80::f816:3eff:fe12:3456")); got != "fa:16:3e:12:34:56" {
		t.Fatalf("macOfEUI64 = %s", got)
	}
}

func TestSign(t *testing.T) {
	if got := Sign("s", "vm-1"); got != signVM1 {
		t.Fatalf("Sign = %s, want %s", got, signVM1)
	}
}
