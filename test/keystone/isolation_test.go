package keystone_test

// The isolation matrix of test/api, with real Keystone tokens: a built
// neutrino binary runs `server` with [DEFAULT] auth_strategy = keystone in
// front of the Keystone that scripts/keystone/setup starts, and every call
// carries a project-scoped token issued by that Keystone for one of its
// test users:
//
//	member-1  neutrino-member-1 in neutrino-test-1 (the owner)
//	reader-1  neutrino-reader-1 in neutrino-test-1
//	member-2  neutrino-member-2 in neutrino-test-2 (another project)
//	reader-2  neutrino-reader-2 in neutrino-test-2
//	admin     admin in admin
//
// Expectations are Neutron's with its default policies (new defaults,
// scope enforcement): what a project cannot see is 404, whatever the
// verb; what it sees but may not change is 403; quotas and network IP
// availability, which have no owner-based visibility, are 403 and 404
// as their controllers answer.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/testenv/readermatrix"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// --- the neutrino binary ------------------------------------------------------

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
)

// neutrinoBinary builds ./cmd/neutrino once per test run.
func neutrinoBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			binErr = err
			return
		}
		if binDir, binErr = os.MkdirTemp("", "neutrino-keystone-bin."); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "neutrino")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/neutrino")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/neutrino: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// neutrinoServer is a running `neutrino server` with Keystone auth.
type neutrinoServer struct {
	url string
	log string
}

// startNeutrino runs `neutrino server` against the test Keystone, with its
// SQLite database in a temporary directory, until the test ends.
func startNeutrino(t *testing.T) *neutrinoServer {
	t.Helper()
	identity := identityURL(t) // skips or fails first if there is no Keystone
	bin := neutrinoBinary(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "neutron.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `[DEFAULT]
bind_host = 127.0.0.1
bind_port = %d
auth_strategy = keystone
service_plugins = router,segments,port_forwarding

[database]
connection = sqlite:///%s

# No agents here: the bus stays in-process, so several servers (and
# other tests) never compete for NATS's port 4222.
[nats]
embedded_port = 0

[keystone_authtoken]
www_authenticate_uri = %s
auth_url = %s
auth_type = password
username = neutron
password = neutron
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = %s
`, port, filepath.Join(dir, "n.db"), strings.TrimSuffix(identity, "/v3"), identity,
		envOr("NEUTRINO_KEYSTONE_REGION", "RegionOne")), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &neutrinoServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), log: filepath.Join(dir, "neutrino.log")}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server", "--config-file", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			s.dumpLog(t)
			t.Fatalf("neutrino server exited: %v", err)
		default:
		}
		if resp, err := http.Get(s.url + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			s.dumpLog(t)
			t.Fatalf("neutrino server did not answer %s within 30 s", s.url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *neutrinoServer) dumpLog(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile(s.log); err == nil {
		t.Logf("neutrino log (%s):\n%s", s.log, tail(string(b), 6000))
	}
}

// --- callers and requests -----------------------------------------------------------

// user is a Keystone user with a project-scoped token.
type user struct {
	name    string
	token   string
	project string // project id
}

type users struct {
	admin, member1, reader1, member2, reader2 *user
}

func login(t *testing.T) *users {
	t.Helper()
	get := func(name, password, project string) *user {
		is := projectToken(t, name, password, project)
		return &user{name: name, token: is.token, project: is.projectID}
	}
	u := &users{
		admin:   get("admin", envOr("NEUTRINO_KEYSTONE_ADMIN_PASSWORD", "ADMIN"), "admin"),
		member1: get("neutrino-member-1", "neutrino-member-1", "neutrino-test-1"),
		reader1: get("neutrino-reader-1", "neutrino-reader-1", "neutrino-test-1"),
		member2: get("neutrino-member-2", "neutrino-member-2", "neutrino-test-2"),
		reader2: get("neutrino-reader-2", "neutrino-reader-2", "neutrino-test-2"),
	}
	if u.member1.project == u.member2.project || u.member1.project != u.reader1.project ||
		u.member2.project != u.reader2.project {
		t.Fatalf("unexpected test projects: %+v %+v %+v %+v", u.member1, u.reader1, u.member2, u.reader2)
	}
	return u
}

// answer is one API response.
type answer struct {
	method, path string
	who          string
	status       int
	raw          []byte
	body         map[string]any
}

func (s *neutrinoServer) call(t *testing.T, u *user, method, path string, body any) *answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", u.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", method, path, u.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := &answer{method: method, path: path, who: u.name, status: resp.StatusCode, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Errorf("%s %s as %s: %d with a body that is no JSON object: %s", method, path, u.name, a.status, raw)
		}
	}
	return a
}

func (a *answer) String() string {
	return fmt.Sprintf("%s %s as %s: %d %s", a.method, a.path, a.who, a.status, tail(string(a.raw), 600))
}

// want checks the status; for errors, also Neutron's fault type (when
// fault is not empty).
func (a *answer) want(t *testing.T, status int, fault string) *answer {
	t.Helper()
	if a.status != status {
		t.Errorf("%v; want %d %s", a, status, fault)
		return a
	}
	if fault != "" {
		e, _ := a.body["NeutronError"].(map[string]any)
		if e == nil || e["type"] != fault {
			t.Errorf("%v; want a NeutronError of type %s", a, fault)
		}
	}
	return a
}

// must is want for the calls a test cannot go on without.
func (a *answer) must(t *testing.T, status int) *answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("%v; want %d", a, status)
	}
	return a
}

func (a *answer) obj(t *testing.T, key string) map[string]any {
	t.Helper()
	o, ok := a.body[key].(map[string]any)
	if !ok {
		t.Fatalf("%v: no %q object", a, key)
	}
	return o
}

func (a *answer) ids(t *testing.T, collection string) []string {
	t.Helper()
	items, ok := a.body[collection].([]any)
	if !ok {
		t.Fatalf("%v: no %q list", a, collection)
	}
	var ids []string
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			id, _ := m["id"].(string)
			if id == "" {
				// network-ip-availabilities are keyed by their network.
				id, _ = m["network_id"].(string)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// listed reports whether GET /v2.0/<path> as u lists id.
func (s *neutrinoServer) listed(t *testing.T, u *user, path, collection, id string) bool {
	t.Helper()
	return slices.Contains(s.call(t, u, "GET", "/v2.0/"+path, nil).must(t, 200).ids(t, collection), id)
}

func (s *neutrinoServer) network(t *testing.T, u *user, attrs map[string]any) string {
	t.Helper()
	return s.call(t, u, "POST", "/v2.0/networks", map[string]any{"network": attrs}).must(t, 201).
		obj(t, "network")["id"].(string)
}

// Projects that exist nowhere: RBAC targets that nobody calls as.
const (
	farProject1 = "0c0ffee0000040008000000000000001"
	farProject2 = "0c0ffee0000040008000000000000002"
	farProject3 = "0c0ffee0000040008000000000000003"
)

// --- the matrix -------------------------------------------------------------------

// TestKeystoneIsolationMatrix: for every resource and verb, another
// project cannot see, change or delete a project's objects (404); a reader
// reads but cannot create, update or delete (403); the admin does all.
func TestKeystoneIsolationMatrix(t *testing.T) {
	s := startNeutrino(t)
	u := login(t)
	p1 := u.member1.project

	netID := s.network(t, u.member1, map[string]any{"name": "iso-parent"})

	type row struct {
		path, key, collection string
		notFound              string // Neutron's fault type for an invisible object
		// create is the body of the i-th object (distinct CIDRs, targets...).
		create func(i int) map[string]any
		update map[string]any
	}
	rows := []row{
		{"networks", "network", "networks", "NetworkNotFound",
			func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("net-%d", i)} },
			map[string]any{"name": "renamed", "admin_state_up": false}},
		{"subnets", "subnet", "subnets", "SubnetNotFound",
			func(i int) map[string]any {
				return map[string]any{"network_id": netID, "ip_version": 4, "cidr": fmt.Sprintf("10.9.%d.0/24", i)}
			},
			map[string]any{"name": "renamed", "enable_dhcp": false}},
		{"ports", "port", "ports", "PortNotFound",
			func(i int) map[string]any {
				return map[string]any{"network_id": netID, "name": fmt.Sprintf("port-%d", i)}
			},
			map[string]any{"name": "renamed"}},
		{"subnetpools", "subnetpool", "subnetpools", "SubnetPoolNotFound",
			func(i int) map[string]any {
				return map[string]any{"name": fmt.Sprintf("pool-%d", i), "prefixes": []string{fmt.Sprintf("10.%d.0.0/16", 200+i)}}
			},
			map[string]any{"name": "renamed"}},
		{"address-scopes", "address_scope", "address_scopes", "AddressScopeNotFound",
			func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("scope-%d", i), "ip_version": 4} },
			map[string]any{"name": "renamed"}},
		{"rbac-policies", "rbac_policy", "rbac_policies", "RbacPolicyNotFound",
			func(i int) map[string]any {
				return map[string]any{"object_type": "network", "object_id": netID, "action": "access_as_shared",
					"target_tenant": []string{farProject1, farProject2}[i]}
			},
			map[string]any{"target_tenant": farProject3}},
	}
	for _, r := range rows {
		t.Run(r.path, func(t *testing.T) {
			coll := "/v2.0/" + r.path
			obj := s.call(t, u.member1, "POST", coll, map[string]any{r.key: r.create(0)}).must(t, 201).obj(t, r.key)
			if obj["project_id"] != p1 || obj["tenant_id"] != p1 {
				t.Errorf("created %s: project_id %v, tenant_id %v; want the token's project %s",
					r.key, obj["project_id"], obj["tenant_id"], p1)
			}
			id := obj["id"].(string)
			member := coll + "/" + id
			update := map[string]any{r.key: r.update}

			// The owner's project sees it, member and reader alike.
			for _, who := range []*user{u.member1, u.reader1} {
				s.call(t, who, "GET", member, nil).want(t, 200, "")
				if !s.listed(t, who, r.path, r.collection, id) {
					t.Errorf("%s does not list %s %s", who.name, r.key, id)
				}
			}

			// Another project: not found, whatever the verb and role.
			for _, who := range []*user{u.member2, u.reader2} {
				s.call(t, who, "GET", member, nil).want(t, 404, r.notFound)
				s.call(t, who, "PUT", member, update).want(t, 404, r.notFound)
				s.call(t, who, "DELETE", member, nil).want(t, 404, r.notFound)
				if s.listed(t, who, r.path, r.collection, id) {
					t.Errorf("%s lists %s %s of another project", who.name, r.key, id)
				}
				if got := s.call(t, who, "GET", coll+"?id="+id, nil).must(t, 200).ids(t, r.collection); len(got) != 0 {
					t.Errorf("%s finds %s %s of another project with ?id=: %v", who.name, r.key, id, got)
				}
			}

			// The owner's reader: no create, update or delete.
			s.call(t, u.reader1, "POST", coll, map[string]any{r.key: r.create(1)}).want(t, 403, "PolicyNotAuthorized")
			s.call(t, u.reader1, "PUT", member, update).want(t, 403, "PolicyNotAuthorized")
			s.call(t, u.reader1, "DELETE", member, nil).want(t, 403, "PolicyNotAuthorized")
			s.call(t, u.member1, "GET", member, nil).must(t, 200)

			// The admin: everything, including creating for project 1.
			s.call(t, u.admin, "GET", member, nil).want(t, 200, "")
			if !s.listed(t, u.admin, r.path, r.collection, id) {
				t.Errorf("admin does not list %s %s", r.key, id)
			}
			up := s.call(t, u.admin, "PUT", member, update).want(t, 200, "")
			if up.status == 200 {
				got := up.obj(t, r.key)
				for k, v := range r.update {
					if fmt.Sprint(got[k]) != fmt.Sprint(v) {
						t.Errorf("admin PUT %s: %s = %v, want %v", member, k, got[k], v)
					}
				}
			}
			s.call(t, u.admin, "DELETE", member, nil).want(t, 204, "")
			s.call(t, u.member1, "GET", member, nil).want(t, 404, r.notFound)

			body := r.create(1)
			body["project_id"] = p1
			made := s.call(t, u.admin, "POST", coll, map[string]any{r.key: body}).must(t, 201).obj(t, r.key)
			if made["project_id"] != p1 {
				t.Errorf("admin created %s for %s: project_id %v", r.key, p1, made["project_id"])
			}
			madeURL := coll + "/" + made["id"].(string)
			s.call(t, u.member1, "GET", madeURL, nil).want(t, 200, "")
			s.call(t, u.member2, "GET", madeURL, nil).want(t, 404, r.notFound)
			// And the owner deletes what the admin made for it.
			s.call(t, u.member1, "DELETE", madeURL, nil).want(t, 204, "")
		})
	}

	// Another project cannot hang things on project 1's private network.
	t.Run("children-of-private-network", func(t *testing.T) {
		// Current Neutron (pecan, without the old ownership hook): a port
		// fails create_port's rule:shared field check, which loads the
		// network as the port's project (404); a subnet fails
		// create_subnet's network-owner rule (403).
		for _, c := range []struct {
			path, key string
			body      map[string]any
			status    int
			fault     string
		}{
			{"ports", "port", map[string]any{"network_id": netID}, 404, "NetworkNotFound"},
			{"subnets", "subnet", map[string]any{"network_id": netID, "ip_version": 4, "cidr": "10.19.0.0/24"}, 403, "PolicyNotAuthorized"},
		} {
			s.call(t, u.member2, "POST", "/v2.0/"+c.path, map[string]any{c.key: c.body}).want(t, c.status, c.fault)
		}
	})

	// Quotas have no owner-based visibility: Neutron's quota controller
	// answers 403 (get_quota, update_quota and delete_quota are admin
	// rules) except for a project reading its own quota.
	t.Run("quotas", func(t *testing.T) {
		own := "/v2.0/quotas/" + p1
		update := map[string]any{"quota": map[string]any{"network": 7}}
		for _, who := range []*user{u.member1, u.reader1} {
			s.call(t, who, "GET", own, nil).want(t, 200, "")
			s.call(t, who, "GET", own+"/details", nil).want(t, 200, "")
			s.call(t, who, "GET", own+"/default", nil).want(t, 200, "")
			s.call(t, who, "PUT", own, update).want(t, 403, "PolicyNotAuthorized")
			s.call(t, who, "DELETE", own, nil).want(t, 403, "PolicyNotAuthorized")
			s.call(t, who, "GET", "/v2.0/quotas", nil).want(t, 403, "PolicyNotAuthorized")
		}
		for _, who := range []*user{u.member2, u.reader2} {
			s.call(t, who, "GET", own, nil).want(t, 403, "PolicyNotAuthorized")
			s.call(t, who, "GET", own+"/details", nil).want(t, 403, "PolicyNotAuthorized")
			s.call(t, who, "GET", own+"/default", nil).want(t, 403, "PolicyNotAuthorized")
			s.call(t, who, "PUT", own, update).want(t, 403, "PolicyNotAuthorized")
			s.call(t, who, "DELETE", own, nil).want(t, 403, "PolicyNotAuthorized")
		}
		got := s.call(t, u.admin, "PUT", own, update).must(t, 200).obj(t, "quota")
		if got["network"] != float64(7) {
			t.Errorf("admin PUT %s: network = %v, want 7", own, got["network"])
		}
		if q := s.call(t, u.member1, "GET", own, nil).must(t, 200).obj(t, "quota"); q["network"] != float64(7) {
			t.Errorf("project 1 sees network quota %v after the admin set 7", q["network"])
		}
		if q := s.call(t, u.member2, "GET", "/v2.0/quotas/"+u.member2.project, nil).must(t, 200).obj(t, "quota"); q["network"] != float64(100) {
			t.Errorf("project 2 sees network quota %v; project 1's change leaked", q["network"])
		}
		list := s.call(t, u.admin, "GET", "/v2.0/quotas", nil).must(t, 200)
		found := false
		for _, it := range list.body["quotas"].([]any) {
			if m, _ := it.(map[string]any); m["project_id"] == p1 {
				found = true
			}
		}
		if !found {
			t.Errorf("admin's quota list lacks project 1: %v", list)
		}
		s.call(t, u.admin, "GET", own, nil).want(t, 200, "")
		s.call(t, u.admin, "DELETE", own, nil).want(t, 204, "")
		if q := s.call(t, u.member1, "GET", own, nil).must(t, 200).obj(t, "quota"); q["network"] != float64(100) {
			t.Errorf("network quota %v after the admin reset it, want the default 100", q["network"])
		}
	})

	// Network IP availability is an admin API: Neutron answers 404 to
	// anyone else, the owner included (show turns PolicyNotAuthorized into
	// 404), and lists nothing to them.
	t.Run("network-ip-availabilities", func(t *testing.T) {
		sub := s.call(t, u.member1, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
			"network_id": netID, "ip_version": 4, "cidr": "10.29.0.0/24"}}).must(t, 201).obj(t, "subnet")
		path := "/v2.0/network-ip-availabilities/" + netID
		for _, who := range []*user{u.member1, u.reader1, u.member2, u.reader2} {
			s.call(t, who, "GET", path, nil).want(t, 404, "")
			if s.listed(t, who, "network-ip-availabilities", "network_ip_availabilities", netID) {
				t.Errorf("%s lists the IP availability of network %s", who.name, netID)
			}
		}
		got := s.call(t, u.admin, "GET", path, nil).must(t, 200).obj(t, "network_ip_availability")
		if got["network_id"] != netID || got["project_id"] != p1 || got["total_ips"] != float64(253) {
			t.Errorf("admin: %v", got)
		}
		s.call(t, u.member1, "DELETE", "/v2.0/subnets/"+sub["id"].(string), nil).must(t, 204)
		// A network without subnets is reported too, with nothing
		// available (Neutron outer-joins networks with their subnets).
		got = s.call(t, u.admin, "GET", path, nil).want(t, 200, "").body
		if a, _ := got["network_ip_availability"].(map[string]any); a != nil &&
			(a["total_ips"] != float64(0) || a["used_ips"] != float64(0) || fmt.Sprint(a["subnet_ip_availability"]) != "[]") {
			t.Errorf("admin, network without subnets: %v", a)
		}
		if !s.listed(t, u.admin, "network-ip-availabilities", "network_ip_availabilities", netID) {
			t.Errorf("admin's list lacks network %s, which has no subnets", netID)
		}
	})
}

// --- sharing ------------------------------------------------------------------------

// TestKeystoneNetworkVisibility: which networks each caller sees, changes
// and hangs ports and subnets on, for a private network, a shared one, an
// external one and one shared with project 2 by an RBAC policy.
//
// Neutron's rules, for the record: create_port is "admin or service, or
// member of the network's project, or rule:shared" (so a reader may
// create a port on a network shared with it, but delete_port needs a
// member); create_subnet needs the admin or a member of the network's
// project. Current Neutron has no ownership check before policy (its
// OwnershipValidationHook was removed): a port on a private network the
// caller cannot see is 404 (create_port's rule:shared loads the network as
// the caller), anything else refused is 403.
func TestKeystoneNetworkVisibility(t *testing.T) {
	s := startNeutrino(t)
	u := login(t)

	type expect struct {
		get    int // GET of the network (and whether it is listed)
		write  int // PUT and DELETE of the network; 0: not tried
		port   int // POST a port on it
		subnet int // POST a subnet on it
		shared any // "shared" as this caller sees it
	}
	cases := []struct {
		name  string
		owner *user                     // the network's owner
		setup func(t *testing.T) string // returns the network id
		who   map[*user]expect
	}{
		{"private", u.member1, func(t *testing.T) string {
			return s.network(t, u.member1, map[string]any{"name": "private"})
		}, map[*user]expect{
			u.member1: {200, 0, 201, 201, false},
			u.reader1: {200, 403, 403, 403, false},
			u.member2: {404, 404, 404, 403, nil},
			u.reader2: {404, 404, 404, 403, nil},
			u.admin:   {200, 0, 201, 201, false},
		}},
		{"shared-by-admin", u.admin, func(t *testing.T) string {
			return s.network(t, u.admin, map[string]any{"name": "shared", "shared": true})
		}, map[*user]expect{
			u.member1: {200, 403, 201, 403, true},
			u.reader1: {200, 403, 201, 403, true},
			u.member2: {200, 403, 201, 403, true},
			u.reader2: {200, 403, 201, 403, true},
			u.admin:   {200, 0, 201, 201, true},
		}},
		{"external", u.admin, func(t *testing.T) string {
			return s.network(t, u.admin, map[string]any{"name": "public", "router:external": true})
		}, map[*user]expect{
			u.member1: {200, 403, 403, 403, false},
			u.reader1: {200, 403, 403, 403, false},
			u.member2: {200, 403, 403, 403, false},
			u.reader2: {200, 403, 403, 403, false},
			u.admin:   {200, 0, 201, 201, false},
		}},
		{"rbac-shared-with-project-2", u.member1, func(t *testing.T) string {
			id := s.network(t, u.member1, map[string]any{"name": "rbac"})
			s.call(t, u.member1, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
				"object_type": "network", "object_id": id, "action": "access_as_shared",
				"target_tenant": u.member2.project,
			}}).must(t, 201)
			return id
		}, map[*user]expect{
			u.member1: {200, 0, 201, 201, false},
			u.reader1: {200, 403, 403, 403, false},
			u.member2: {200, 403, 201, 403, true},
			u.reader2: {200, 403, 201, 403, true},
			u.admin:   {200, 0, 201, 201, false},
		}},
	}
	order := []*user{u.member1, u.reader1, u.member2, u.reader2, u.admin}
	isReader := func(who *user) bool { return who == u.reader1 || who == u.reader2 }
	cidr := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.setup(t)
			path := "/v2.0/networks/" + id
			for _, who := range order {
				e := c.who[who]
				got := s.call(t, who, "GET", path, nil).want(t, e.get, map[bool]string{true: "NetworkNotFound"}[e.get == 404])
				if got.status == 200 && got.obj(t, "network")["shared"] != e.shared {
					t.Errorf("%s sees shared=%v, want %v", who.name, got.obj(t, "network")["shared"], e.shared)
				}
				if listed := s.listed(t, who, "networks", "networks", id); listed != (e.get == 200) {
					t.Errorf("%s lists the network: %v, want %v", who.name, listed, e.get == 200)
				}
				if e.write != 0 {
					fault := map[int]string{403: "PolicyNotAuthorized", 404: "NetworkNotFound"}[e.write]
					s.call(t, who, "PUT", path, map[string]any{"network": map[string]any{"name": "taken"}}).want(t, e.write, fault)
					s.call(t, who, "DELETE", path, nil).want(t, e.write, fault)
				}

				p := s.call(t, who, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": id}}).want(t, e.port, "")
				if p.status == 201 {
					port := p.obj(t, "port")
					portPath := "/v2.0/ports/" + port["id"].(string)
					if port["project_id"] != who.project || port["network_id"] != id {
						t.Errorf("%s's port: project_id %v, network_id %v", who.name, port["project_id"], port["network_id"])
					}
					// The port is its project's and the network owner's to
					// see: the network's other users do not see it.
					for _, other := range order {
						if other.project != who.project && other.project != c.owner.project && other != u.admin {
							s.call(t, other, "GET", portPath, nil).want(t, 404, "PortNotFound")
						}
					}
					if isReader(who) {
						// delete_port needs a member of the port's project.
						s.call(t, who, "DELETE", portPath, nil).want(t, 403, "PolicyNotAuthorized")
						s.call(t, u.admin, "DELETE", portPath, nil).want(t, 204, "")
					} else {
						s.call(t, who, "DELETE", portPath, nil).want(t, 204, "")
					}
				}

				cidr++
				sub := s.call(t, who, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
					"network_id": id, "ip_version": 4, "cidr": fmt.Sprintf("10.%d.%d.0/24", 100+cidr/200, cidr%200),
				}}).want(t, e.subnet, "")
				if sub.status == 201 {
					s.call(t, who, "DELETE", "/v2.0/subnets/"+sub.obj(t, "subnet")["id"].(string), nil).want(t, 204, "")
				}
			}
			// Nothing above changed the network.
			if n := s.call(t, u.admin, "GET", path, nil).must(t, 200).obj(t, "network"); n["name"] == "taken" {
				t.Errorf("a refused PUT renamed the network: %v", n)
			}
		})
	}

	// Withdrawing the RBAC policy hides the network again, once project 2
	// no longer uses it.
	t.Run("rbac-withdrawn", func(t *testing.T) {
		id := s.network(t, u.member1, map[string]any{"name": "rbac-withdrawn"})
		pol := s.call(t, u.member1, "POST", "/v2.0/rbac-policies", map[string]any{"rbac_policy": map[string]any{
			"object_type": "network", "object_id": id, "action": "access_as_shared", "target_tenant": u.member2.project,
		}}).must(t, 201).obj(t, "rbac_policy")
		if pol["target_tenant"] != u.member2.project || pol["project_id"] != u.member1.project {
			t.Errorf("policy %v", pol)
		}
		polPath := "/v2.0/rbac-policies/" + pol["id"].(string)
		// The target project does not see the policy itself.
		s.call(t, u.member2, "GET", polPath, nil).want(t, 404, "RbacPolicyNotFound")
		port := s.call(t, u.member2, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": id}}).
			must(t, 201).obj(t, "port")
		s.call(t, u.member1, "DELETE", polPath, nil).want(t, 409, "RbacPolicyInUse")
		s.call(t, u.member2, "DELETE", "/v2.0/ports/"+port["id"].(string), nil).want(t, 204, "")
		s.call(t, u.member1, "DELETE", polPath, nil).want(t, 204, "")
		s.call(t, u.member2, "GET", "/v2.0/networks/"+id, nil).want(t, 404, "NetworkNotFound")
		if s.listed(t, u.member2, "networks", "networks", id) {
			t.Error("project 2 still lists the network after the policy was deleted")
		}
	})
}

// keystoneReaders is the reader matrix's client with real Keystone
// tokens: member-1, reader-1 (role reader alone) and the admin.
type keystoneReaders struct {
	s *neutrinoServer
	u *users
}

func (k keystoneReaders) Do(t testing.TB, as readermatrix.Caller, method, path string, body any) readermatrix.Reply {
	who := map[readermatrix.Caller]*user{readermatrix.Admin: k.u.admin, readermatrix.Member: k.u.member1,
		readermatrix.Reader: k.u.reader1}[as]
	a := k.s.call(t.(*testing.T), who, method, path, body)
	return readermatrix.Reply{Status: a.status, Body: a.body, Raw: a.raw}
}

func (k keystoneReaders) Project() string { return k.u.member1.project }

// TestKeystoneReaderChangesNothing: with a real Keystone token carrying
// the reader role, a project's reader cannot change any attribute of any
// resource the API definitions make writable, nor run its actions, nor
// change its tags or its project's quota (internal/testenv/readermatrix).
func TestKeystoneReaderChangesNothing(t *testing.T) {
	s := startNeutrino(t)
	readermatrix.Run(t, keystoneReaders{s: s, u: login(t)}, readermatrix.Options{
		Unavailable: map[string]string{"agents": "no agent reports to this server (its bus is in-process only)"},
		MinRefusals: 85,
	})
}
