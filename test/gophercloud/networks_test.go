// Package gophercloud_test checks that gophercloud v2, the Go client most
// OpenStack tooling (Terraform's OpenStack provider among it) is built on,
// works against a real Neutrino server running in process on SQLite.
package gophercloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/mtu"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/neutrino-net/neutrino/internal/testenv/apiserver"
)

// recorder is an http.RoundTripper that remembers every request it sends,
// so tests can check what gophercloud actually put on the wire.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, query string
	header              http.Header
	status              int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	rec := recorded{method: req.Method, path: req.URL.Path, query: req.URL.RawQuery, header: req.Header.Clone()}
	if resp != nil {
		rec.status = resp.StatusCode
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return resp, err
}

// since returns the requests recorded after the first n.
func (r *recorder) since(n int) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs[n:])
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// newClient starts a Neutrino server (noauth, in-memory SQLite) and returns
// a gophercloud network v2 client for it, built the way gophercloud builds
// one from a service catalog (openstack.NewNetworkV2), with an endpoint
// locator standing in for Keystone.
func newClient(t *testing.T) (*gophercloud.ServiceClient, *recorder) {
	t.Helper()
	url, _ := apiserver.Start(t, "sqlite://", nil)

	rec := &recorder{}
	provider := &gophercloud.ProviderClient{
		HTTPClient: http.Client{Transport: rec, Timeout: 30 * time.Second},
		EndpointLocator: func(eo gophercloud.EndpointOpts) (string, error) {
			if eo.Type != "network" {
				return "", fmt.Errorf("no endpoint for service type %q", eo.Type)
			}
			return url + "/", nil
		},
	}
	client, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("network client: %v", err)
	}
	if want := url + "/v2.0/"; client.ResourceBase != want {
		t.Fatalf("resource base %q, want %q", client.ResourceBase, want)
	}
	return client, rec
}

// fullNetwork is a network with the extension attributes Neutrino's ML2
// plugin adds, extracted the way gophercloud documents it.
type fullNetwork struct {
	networks.Network
	external.NetworkExternalExt
	mtu.NetworkMTUExt
	portsecurity.PortSecurityExt
}

func ptr[T any](v T) *T { return &v }

// statusOf is the HTTP status gophercloud reports for a failed request, or
// 0 if the error carries none.
func statusOf(err error) int {
	var sc interface{ GetStatusCode() int }
	if errors.As(err, &sc) {
		return sc.GetStatusCode()
	}
	return 0
}

func TestNetworkLifecycle(t *testing.T) {
	ctx := t.Context()
	client, rec := newClient(t)

	// Create.
	created, err := networks.Create(ctx, client, networks.CreateOpts{
		Name:         "gc-net",
		Description:  "made by gophercloud",
		Shared:       ptr(true),
		AdminStateUp: ptr(false),
	}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" {
		t.Fatal("create: network has no id")
	}
	if created.Name != "gc-net" || created.Description != "made by gophercloud" {
		t.Errorf("create: name %q description %q", created.Name, created.Description)
	}
	if !created.Shared {
		t.Error("create: shared is false, want true")
	}
	if created.AdminStateUp {
		t.Error("create: admin_state_up is true, want false")
	}
	if created.Status == "" {
		t.Error("create: status is empty")
	}
	if created.Subnets == nil || len(created.Subnets) != 0 {
		t.Errorf("create: subnets %#v, want an empty list", created.Subnets)
	}
	if created.ProjectID == "" || created.TenantID != created.ProjectID {
		t.Errorf("create: project_id %q tenant_id %q", created.ProjectID, created.TenantID)
	}
	if created.CreatedAt.IsZero() || created.UpdatedAt.IsZero() {
		t.Errorf("create: timestamps not parsed: created_at %v updated_at %v", created.CreatedAt, created.UpdatedAt)
	}
	if created.RevisionNumber < 0 {
		t.Errorf("create: revision_number %d", created.RevisionNumber)
	}

	// Get, with the extension attributes.
	var got fullNetwork
	if err := networks.Get(ctx, client, created.ID).ExtractInto(&got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != created.ID || got.Name != "gc-net" || got.Description != "made by gophercloud" ||
		!got.Shared || got.AdminStateUp {
		t.Errorf("get: %+v", got.Network)
	}
	if got.External {
		t.Error("get: router:external is true, want false")
	}
	if got.MTU != 1500 {
		t.Errorf("get: mtu %d, want 1500", got.MTU)
	}
	if !got.PortSecurityEnabled {
		t.Error("get: port_security_enabled is false, want true")
	}
	if !got.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("get: created_at %v, create said %v", got.CreatedAt, created.CreatedAt)
	}

	// Update name and description.
	updated, err := networks.Update(ctx, client, created.ID, networks.UpdateOpts{
		Name:        ptr("gc-renamed"),
		Description: ptr("changed"),
	}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Name != "gc-renamed" || updated.Description != "changed" {
		t.Errorf("update: name %q description %q", updated.Name, updated.Description)
	}
	if !updated.Shared || updated.AdminStateUp {
		t.Errorf("update changed attributes it was not given: shared %v admin_state_up %v", updated.Shared, updated.AdminStateUp)
	}
	if updated.RevisionNumber <= created.RevisionNumber {
		t.Errorf("update: revision_number %d, not above %d", updated.RevisionNumber, created.RevisionNumber)
	}

	// Update with the current revision number: If-Match succeeds.
	n := rec.count()
	current := updated.RevisionNumber
	matched, err := networks.Update(ctx, client, created.ID, networks.UpdateOpts{
		Description:    ptr("guarded"),
		RevisionNumber: ptr(current),
	}).Extract()
	if err != nil {
		t.Fatalf("update with current revision %d: %v", current, err)
	}
	if matched.Description != "guarded" || matched.RevisionNumber <= current {
		t.Errorf("update with current revision: description %q revision %d", matched.Description, matched.RevisionNumber)
	}
	sent := rec.since(n)
	if len(sent) != 1 || sent[0].method != "PUT" {
		t.Fatalf("update with current revision sent %+v", sent)
	}
	if h, want := sent[0].header.Get("If-Match"), fmt.Sprintf("revision_number=%d", current); h != want {
		t.Errorf("gophercloud sent If-Match %q, want %q", h, want)
	}

	// Update with a stale revision number: 412, nothing changes.
	err = networks.Update(ctx, client, created.ID, networks.UpdateOpts{
		Description:    ptr("must not be written"),
		RevisionNumber: ptr(current),
	}).Err
	if err == nil {
		t.Fatal("update with stale revision succeeded, want 412")
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusPreconditionFailed) {
		t.Errorf("update with stale revision: status %d, want 412: %v", statusOf(err), err)
	}
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) {
		t.Errorf("stale update error is %T, want gophercloud.ErrUnexpectedResponseCode", err)
	} else if !strings.Contains(string(unexpected.Body), "NeutronError") {
		t.Errorf("412 body is not a NeutronError: %s", unexpected.Body)
	}
	after, err := networks.Get(ctx, client, created.ID).Extract()
	if err != nil {
		t.Fatalf("get after stale update: %v", err)
	}
	if after.Description != "guarded" || after.RevisionNumber != matched.RevisionNumber {
		t.Errorf("stale update changed the network: description %q revision %d", after.Description, after.RevisionNumber)
	}

	// Delete, then the network is gone.
	if err := networks.Delete(ctx, client, created.ID).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = networks.Get(ctx, client, created.ID).Extract()
	if err == nil {
		t.Fatal("get after delete succeeded, want 404")
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("get after delete: status %d, want 404: %v", statusOf(err), err)
	}
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusNotFound {
		t.Errorf("get after delete: error %T %v, want ErrUnexpectedResponseCode 404", err, err)
	}
	err = networks.Delete(ctx, client, created.ID).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("second delete: status %d, want 404: %v", statusOf(err), err)
	}
}

func TestNetworkListFilters(t *testing.T) {
	ctx := t.Context()
	client, _ := newClient(t)

	ids := map[string]string{}
	for _, c := range []struct {
		name   string
		shared bool
	}{{"alpha", true}, {"beta", false}, {"gamma", true}, {"beta", true}} {
		n, err := networks.Create(ctx, client, networks.CreateOpts{Name: c.name, Shared: ptr(c.shared)}).Extract()
		if err != nil {
			t.Fatalf("create %s: %v", c.name, err)
		}
		ids[n.ID] = fmt.Sprintf("%s/%v", c.name, c.shared)
	}

	list := func(opts networks.ListOptsBuilder) []string {
		t.Helper()
		pages, err := networks.List(client, opts).AllPages(ctx)
		if err != nil {
			t.Fatalf("list %+v: %v", opts, err)
		}
		all, err := networks.ExtractNetworks(pages)
		if err != nil {
			t.Fatalf("extract list %+v: %v", opts, err)
		}
		var out []string
		for _, n := range all {
			desc, ok := ids[n.ID]
			if !ok {
				t.Errorf("list %+v: unknown network %s", opts, n.ID)
				continue
			}
			if want := fmt.Sprintf("%s/%v", n.Name, n.Shared); desc != want {
				t.Errorf("list %+v: network %s is %s, created as %s", opts, n.ID, want, desc)
			}
			out = append(out, desc)
		}
		slices.Sort(out)
		return out
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}

	check("no filter", list(networks.ListOpts{}), "alpha/true", "beta/false", "beta/true", "gamma/true")
	check("name=alpha", list(networks.ListOpts{Name: "alpha"}), "alpha/true")
	check("name=beta", list(networks.ListOpts{Name: "beta"}), "beta/false", "beta/true")
	check("name=nothing", list(networks.ListOpts{Name: "nothing"}))
	check("shared=true", list(networks.ListOpts{Shared: ptr(true)}), "alpha/true", "beta/true", "gamma/true")
	check("shared=false", list(networks.ListOpts{Shared: ptr(false)}), "beta/false")
	check("name=beta shared=true", list(networks.ListOpts{Name: "beta", Shared: ptr(true)}), "beta/true")
	check("sorted desc by name", list(networks.ListOpts{SortKey: "name", SortDir: "desc", Name: "gamma"}), "gamma/true")
	check("router:external=false", list(external.ListOptsExt{ListOptsBuilder: networks.ListOpts{Name: "alpha"}, External: ptr(false)}), "alpha/true")
	check("router:external=true", list(external.ListOptsExt{ListOptsBuilder: networks.ListOpts{}, External: ptr(true)}))
	check("mtu=1500", list(mtu.ListOptsExt{ListOptsBuilder: networks.ListOpts{Name: "gamma"}, MTU: 1500}), "gamma/true")

	// Sort order as the server returns it, not re-sorted.
	pages, err := networks.List(client, networks.ListOpts{SortKey: "name", SortDir: "desc"}).AllPages(ctx)
	if err != nil {
		t.Fatalf("sorted list: %v", err)
	}
	all, err := networks.ExtractNetworks(pages)
	if err != nil {
		t.Fatalf("extract sorted list: %v", err)
	}
	var names []string
	for _, n := range all {
		names = append(names, n.Name)
	}
	if want := []string{"gamma", "beta", "beta", "alpha"}; !slices.Equal(names, want) {
		t.Errorf("sort_key=name sort_dir=desc: %v, want %v", names, want)
	}

	// Extension attributes extracted from a list.
	var full []fullNetwork
	if err := networks.ExtractNetworksInto(pages, &full); err != nil {
		t.Fatalf("extract list with extensions: %v", err)
	}
	if len(full) != 4 {
		t.Fatalf("list with extensions: %d networks, want 4", len(full))
	}
	for _, n := range full {
		if n.MTU != 1500 || n.External || !n.PortSecurityEnabled || n.ID == "" {
			t.Errorf("list with extensions: %s: mtu %d router:external %v port_security_enabled %v",
				n.ID, n.MTU, n.External, n.PortSecurityEnabled)
		}
	}
}

func TestNetworkPagination(t *testing.T) {
	ctx := t.Context()
	client, rec := newClient(t)

	want := map[string]bool{}
	for i := range 25 {
		n, err := networks.Create(ctx, client, networks.CreateOpts{Name: fmt.Sprintf("page-net-%02d", i)}).Extract()
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want[n.ID] = true
	}

	start := rec.count()
	seen := map[string]int{}
	var sizes []int
	err := networks.List(client, networks.ListOpts{Limit: 10}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		items, err := networks.ExtractNetworks(page)
		if err != nil {
			return false, err
		}
		sizes = append(sizes, len(items))
		for _, n := range items {
			seen[n.ID]++
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("EachPage: %v", err)
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes %v, want [10 10 5]", sizes)
	}
	if len(seen) != 25 {
		t.Errorf("saw %d distinct networks, want 25", len(seen))
	}
	for id, times := range seen {
		if !want[id] {
			t.Errorf("network %s listed but not created", id)
		}
		if times != 1 {
			t.Errorf("network %s listed %d times", id, times)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("network %s never listed", id)
		}
	}

	// What went over the wire: the first request is the caller's, the
	// others follow the server's networks_links "next" hrefs with a marker.
	checkPagedRequests(t, rec.since(start), "/v2.0/networks", 10, 3)

	// Paging in the other direction with a sort key still covers every
	// network exactly once, in order.
	var names []string
	err = networks.List(client, networks.ListOpts{Limit: 7, SortKey: "name", SortDir: "desc"}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		items, err := networks.ExtractNetworks(page)
		if err != nil {
			return false, err
		}
		for _, n := range items {
			names = append(names, n.Name)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("EachPage sorted: %v", err)
	}
	if len(names) != 25 {
		t.Fatalf("sorted paging saw %d networks, want 25", len(names))
	}
	for i, name := range names {
		if wantName := fmt.Sprintf("page-net-%02d", 24-i); name != wantName {
			t.Errorf("sorted paging position %d: %s, want %s", i, name, wantName)
		}
	}

	// AllPages gathers the same 25.
	pages, err := networks.List(client, networks.ListOpts{Limit: 10}).AllPages(ctx)
	if err != nil {
		t.Fatalf("AllPages: %v", err)
	}
	all, err := networks.ExtractNetworks(pages)
	if err != nil {
		t.Fatalf("extract AllPages: %v", err)
	}
	if len(all) != 25 {
		t.Errorf("AllPages: %d networks, want 25", len(all))
	}
}

// checkPagedRequests checks the requests of one paged walk of a listing:
// pages GETs of path, each with limit=<limit>, and a marker on all but the
// first, which follow the server's "next" links.
func checkPagedRequests(t *testing.T, reqs []recorded, path string, limit, pages int) {
	t.Helper()
	if len(reqs) != pages {
		t.Errorf("%d list requests, want %d: %+v", len(reqs), pages, reqs)
	}
	for i, r := range reqs {
		if r.method != "GET" || r.path != path || r.status != http.StatusOK {
			t.Errorf("list request %d: %s %s → %d, want GET %s → 200", i, r.method, r.path, r.status, path)
		}
		if want := fmt.Sprintf("limit=%d", limit); !slices.Contains(strings.Split(r.query, "&"), want) {
			t.Errorf("list request %d: query %q lacks %s", i, r.query, want)
		}
		if (i > 0) != strings.Contains(r.query, "marker=") {
			t.Errorf("list request %d: query %q (marker expected only after the first page)", i, r.query)
		}
	}
}

func TestExtensions(t *testing.T) {
	ctx := t.Context()
	client, _ := newClient(t)

	pages, err := extensions.List(client).AllPages(ctx)
	if err != nil {
		t.Fatalf("list extensions: %v", err)
	}
	exts, err := extensions.ExtractExtensions(pages)
	if err != nil {
		t.Fatalf("extract extensions: %v", err)
	}
	aliases := map[string]extensions.Extension{}
	for _, x := range exts {
		aliases[x.Alias] = x
	}
	for _, alias := range []string{"net-mtu", "external-net", "port-security", "pagination", "sorting", "revision-if-match", "standard-attr-revisions"} {
		x, ok := aliases[alias]
		if !ok {
			t.Errorf("extension %s not listed (have %d extensions)", alias, len(exts))
			continue
		}
		if x.Name == "" || x.Description == "" || x.Updated == "" {
			t.Errorf("extension %s: name %q description %q updated %q", alias, x.Name, x.Description, x.Updated)
		}
	}
	if x := aliases["net-mtu"]; x.Name != "Network MTU" {
		t.Errorf("net-mtu name %q, want %q", x.Name, "Network MTU")
	}

	one, err := extensions.Get(ctx, client, "net-mtu").Extract()
	if err != nil {
		t.Fatalf("get extension net-mtu: %v", err)
	}
	if one == nil || one.Alias != "net-mtu" || one.Name != "Network MTU" {
		t.Errorf("get extension net-mtu: %+v", one)
	}
	_, err = extensions.Get(ctx, client, "no-such-extension").Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("get unknown extension: status %d, want 404: %v", statusOf(err), err)
	}
}
