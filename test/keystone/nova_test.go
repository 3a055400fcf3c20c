package keystone_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"

	"github.com/neutrino-net/neutrino/internal/nova"
)

// novaEndpoint stands in for one of Nova's endpoints: it records the
// tokens external events arrive with.
type novaEndpoint struct {
	*httptest.Server
	mu     sync.Mutex
	tokens []string
}

func newNovaEndpoint(t *testing.T) *novaEndpoint {
	n := &novaEndpoint{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v2.1/os-server-external-events" {
			http.Error(w, "not found", 404)
			return
		}
		var body struct {
			Events []nova.Event `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		n.mu.Lock()
		n.tokens = append(n.tokens, r.Header.Get("X-Auth-Token"))
		n.mu.Unlock()
		out := make([]nova.Result, len(body.Events))
		for i, e := range body.Events {
			out[i] = nova.Result{Event: e, Code: 200}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"events": out})
	}))
	t.Cleanup(n.Close)
	return n
}

func (n *novaEndpoint) seen() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.tokens...)
}

// TestNovaNotifierFindsNovaInCatalog: the Nova notifier authenticates as
// the neutron service user (auth_type = password) and posts to the
// compute endpoint of Keystone's catalog that [nova] region_name and
// endpoint_type name, with a token Keystone accepts.
func TestNovaNotifierFindsNovaInCatalog(t *testing.T) {
	url := identityURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: url, Username: "admin", Password: envOr("NEUTRINO_KEYSTONE_ADMIN_PASSWORD", "ADMIN"),
		DomainID: "default", Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainID: "default"},
	})
	if err != nil {
		t.Fatalf("admin token: %v", err)
	}
	identity, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	// A region of this test's own, so that other compute endpoints in the
	// catalog (or a concurrent run) cannot be picked.
	region := "neutrino-nova-" + uuid.NewString()[:8]
	if _, err := regions.Create(ctx, identity, regions.CreateOpts{ID: region}).Extract(); err != nil {
		t.Fatalf("create region: %v", err)
	}
	t.Cleanup(func() { regions.Delete(context.Background(), identity, region) })
	svc, err := services.Create(ctx, identity, services.CreateOpts{Type: "compute", Name: "nova-" + region}).Extract()
	if err != nil {
		t.Fatalf("create compute service: %v", err)
	}
	t.Cleanup(func() { services.Delete(context.Background(), identity, svc.ID) })
	public, internal := newNovaEndpoint(t), newNovaEndpoint(t)
	for _, ep := range []struct {
		iface gophercloud.Availability
		url   string
	}{{gophercloud.AvailabilityPublic, public.URL + "/v2.1"}, {gophercloud.AvailabilityInternal, internal.URL + "/v2.1"}} {
		e, err := endpoints.Create(ctx, identity, endpoints.CreateOpts{Availability: ep.iface, Region: region,
			URL: ep.url, ServiceID: svc.ID}).Extract()
		if err != nil {
			t.Fatalf("create %s endpoint: %v", ep.iface, err)
		}
		t.Cleanup(func() { endpoints.Delete(context.Background(), identity, e.ID) })
	}

	events := []nova.Event{{Name: nova.VIFPlugged, ServerUUID: uuid.NewString(), Tag: uuid.NewString(), Status: "completed"}}
	for _, tc := range []struct {
		endpointType string
		want, other  *novaEndpoint
	}{{"internal", internal, public}, {"public", public, internal}} {
		t.Run(tc.endpointType, func(t *testing.T) {
			before := len(tc.other.seen())
			c, err := nova.NewClient(nova.ClientOptions{AuthType: "password", AuthURL: url,
				Username: "neutron", Password: "neutron", ProjectName: "service",
				UserDomainName: "Default", ProjectDomainName: "Default",
				RegionName: region, EndpointType: tc.endpointType})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Send(ctx, events)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if len(res) != 1 || res[0].Code != 200 || res[0].Event != events[0] {
				t.Fatalf("Nova answered %+v", res)
			}
			toks := tc.want.seen()
			if len(toks) == 0 {
				t.Fatalf("the %s endpoint got nothing", tc.endpointType)
			}
			if len(tc.other.seen()) != before {
				t.Fatalf("events went to the other endpoint")
			}
			// The token is the neutron user's, and Keystone vouches for it.
			validate := projectToken(t, "admin", envOr("NEUTRINO_KEYSTONE_ADMIN_PASSWORD", "ADMIN"), "admin")
			req, _ := http.NewRequestWithContext(ctx, "GET", url+"/auth/tokens", nil)
			req.Header.Set("X-Auth-Token", validate.token)
			req.Header.Set("X-Subject-Token", toks[len(toks)-1])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var tok struct {
				Token struct {
					User struct {
						Name string `json:"name"`
					} `json:"user"`
				} `json:"token"`
			}
			json.NewDecoder(resp.Body).Decode(&tok)
			resp.Body.Close()
			if resp.StatusCode != 200 || tok.Token.User.Name != "neutron" {
				t.Fatalf("token Nova received: %d, user %q; want a valid token of neutron", resp.StatusCode, tok.Token.User.Name)
			}
		})
	}
}
