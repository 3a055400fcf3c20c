// Package readermatrix checks that a project's reader changes nothing:
// for every resource the API definitions (internal/apidef) make writable
// and the server serves, it makes an object in the reader's project and
// tries each writable attribute, each member action and the tags as the
// reader. Each attempt must be refused — 403 where the reader sees the
// object, 404 where it does not — and leave the object exactly as it was.
// test/api runs it with noauth identity headers, test/keystone with real
// Keystone tokens.
package readermatrix

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Caller is who a request acts as.
type Caller int

// The matrix's callers: the member and the reader share one project.
const (
	Admin Caller = iota
	Member
	Reader
)

// Reply is an API response.
type Reply struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// Client sends API requests (paths from /v2.0/ on, bodies as JSON).
type Client interface {
	Do(t testing.TB, as Caller, method, path string, body any) Reply
	// Project is the member's and the reader's project id.
	Project() string
}

// Maker makes the objects the matrix tries to change.
type Maker struct {
	T testing.TB
	C Client
	n int
}

// Post creates an object and returns it; anything but 201 fails the test.
func (m *Maker) Post(as Caller, path, key string, attrs map[string]any) map[string]any {
	m.T.Helper()
	r := m.C.Do(m.T, as, "POST", path, map[string]any{key: attrs})
	if r.Status != 201 {
		m.T.Fatalf("POST %s: %d %s", path, r.Status, r.Raw)
	}
	obj, _ := r.Body[key].(map[string]any)
	return obj
}

// ID creates an object and returns its id.
func (m *Maker) ID(as Caller, path, key string, attrs map[string]any) string {
	m.T.Helper()
	id, _ := m.Post(as, path, key, attrs)["id"].(string)
	return id
}

// cidr returns a /24 of prefix ("10" or "172.24") no earlier call returned.
func (m *Maker) cidr(prefix string) string {
	m.n++
	if prefix == "10" {
		return fmt.Sprintf("10.%d.%d.0/24", 180+m.n/250, m.n%250)
	}
	return fmt.Sprintf("%s.%d.0/24", prefix, 100+m.n)
}

// Subnet makes a network of the member's with a subnet and returns both
// ids and the subnet's CIDR.
func (m *Maker) Subnet() (netID, subnetID, cidr string) {
	m.T.Helper()
	netID = m.ID(Member, "/v2.0/networks", "network", map[string]any{})
	cidr = m.cidr("10")
	subnetID = m.ID(Member, "/v2.0/subnets", "subnet", map[string]any{"network_id": netID, "ip_version": 4, "cidr": cidr})
	return netID, subnetID, cidr
}

// FloatingIP makes what a floating IP needs (an external network, a
// router of the member's with its gateway there and an interface on the
// member's subnet, a VM port) and a floating IP; it returns the floating
// IP's id and the VM port's id.
func (m *Maker) FloatingIP() (fipID, vmPort string) {
	m.T.Helper()
	ext := m.ID(Admin, "/v2.0/networks", "network", map[string]any{"name": "public", "router:external": true})
	m.ID(Admin, "/v2.0/subnets", "subnet", map[string]any{"network_id": ext, "ip_version": 4, "cidr": m.cidr("172.24")})
	netID, subnetID, _ := m.Subnet()
	router := m.ID(Member, "/v2.0/routers", "router", map[string]any{"external_gateway_info": map[string]any{"network_id": ext}})
	if r := m.C.Do(m.T, Member, "PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": subnetID}); r.Status != 200 {
		m.T.Fatalf("add_router_interface: %d %s", r.Status, r.Raw)
	}
	vmPort = m.ID(Member, "/v2.0/ports", "port", map[string]any{"network_id": netID, "device_id": "vm-1", "device_owner": "compute:nova"})
	return m.ID(Member, "/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": ext}), vmPort
}

// QoSPolicy makes a QoS policy of the member's project (members may not
// create policies: the admin makes it) and returns its id.
func (m *Maker) QoSPolicy() string {
	m.T.Helper()
	return m.ID(Admin, "/v2.0/qos/policies", "policy", map[string]any{"name": "r-qos", "project_id": m.C.Project()})
}

// qosRule is the fixture of a rule type under a policy of the member's
// project, reached under the policy or, with alias, by its alias path.
func qosRule(kind, alias string, attrs map[string]any) Fixture {
	return func(m *Maker) string {
		policy := "/v2.0/qos/policies/" + m.QoSPolicy() + "/" + kind + "_rules"
		id := m.ID(Admin, policy, kind+"_rule", attrs)
		if alias != "" {
			return "/v2.0/qos/" + alias + "/" + id
		}
		return policy + "/" + id
	}
}

// Fixture makes one object in the member's project and returns its path
// ("/v2.0/networks/<id>").
type Fixture func(m *Maker) string

// Fixtures make an object of every resource a project may change.
var Fixtures = map[string]Fixture{
	"networks": func(m *Maker) string {
		return "/v2.0/networks/" + m.ID(Member, "/v2.0/networks", "network", map[string]any{"name": "r-net"})
	},
	"subnets": func(m *Maker) string {
		_, sub, _ := m.Subnet()
		return "/v2.0/subnets/" + sub
	},
	"ports": func(m *Maker) string {
		n, _, _ := m.Subnet()
		return "/v2.0/ports/" + m.ID(Member, "/v2.0/ports", "port", map[string]any{"network_id": n, "name": "r-port"})
	},
	"subnetpools": func(m *Maker) string {
		return "/v2.0/subnetpools/" + m.ID(Member, "/v2.0/subnetpools", "subnetpool", map[string]any{
			"name": "r-pool", "prefixes": []string{"10.250.0.0/16"}, "default_prefixlen": 24})
	},
	"address_scopes": func(m *Maker) string {
		return "/v2.0/address-scopes/" + m.ID(Member, "/v2.0/address-scopes", "address_scope", map[string]any{
			"name": "r-scope", "ip_version": 4})
	},
	"rbac_policies": func(m *Maker) string {
		n := m.ID(Member, "/v2.0/networks", "network", map[string]any{})
		return "/v2.0/rbac-policies/" + m.ID(Member, "/v2.0/rbac-policies", "rbac_policy", map[string]any{
			"object_type": "network", "object_id": n, "action": "access_as_shared",
			"target_tenant": "0c0ffee0000040008000000000000009"})
	},
	"address_groups": func(m *Maker) string {
		return "/v2.0/address-groups/" + m.ID(Member, "/v2.0/address-groups", "address_group", map[string]any{
			"name": "r-ag", "addresses": []string{"10.252.0.0/24"}})
	},
	"security_groups": func(m *Maker) string {
		return "/v2.0/security-groups/" + m.ID(Member, "/v2.0/security-groups", "security_group", map[string]any{"name": "r-sg"})
	},
	"security_group_rules": func(m *Maker) string {
		sg := m.ID(Member, "/v2.0/security-groups", "security_group", map[string]any{"name": "r-sg-rules"})
		return "/v2.0/security-group-rules/" + m.ID(Member, "/v2.0/security-group-rules", "security_group_rule", map[string]any{
			"security_group_id": sg, "direction": "ingress", "ethertype": "IPv4",
			"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "description": "ssh"})
	},
	"routers": func(m *Maker) string {
		return "/v2.0/routers/" + m.ID(Member, "/v2.0/routers", "router", map[string]any{"name": "r-router"})
	},
	"floatingips": func(m *Maker) string {
		fip, _ := m.FloatingIP()
		return "/v2.0/floatingips/" + fip
	},
	"port_forwardings": func(m *Maker) string {
		fip, vm := m.FloatingIP()
		path := "/v2.0/floatingips/" + fip + "/port_forwardings"
		return path + "/" + m.ID(Member, path, "port_forwarding", map[string]any{"protocol": "tcp", "external_port": 2222,
			"internal_port": 22, "internal_port_id": vm})
	},
	"conntrack_helpers": func(m *Maker) string {
		router := m.ID(Member, "/v2.0/routers", "router", map[string]any{"name": "r-cth-router"})
		path := "/v2.0/routers/" + router + "/conntrack_helpers"
		return path + "/" + m.ID(Member, path, "conntrack_helper", map[string]any{"protocol": "udp", "port": 69, "helper": "tftp"})
	},
	"trunks": func(m *Maker) string {
		n, _, _ := m.Subnet()
		parent := m.ID(Member, "/v2.0/ports", "port", map[string]any{"network_id": n, "name": "r-trunk-parent"})
		return "/v2.0/trunks/" + m.ID(Member, "/v2.0/trunks", "trunk", map[string]any{"port_id": parent, "name": "r-trunk"})
	},
	"local_ips": func(m *Maker) string {
		n, _, _ := m.Subnet()
		return "/v2.0/local_ips/" + m.ID(Member, "/v2.0/local_ips", "local_ip", map[string]any{"network_id": n, "name": "r-lip"})
	},
	// A proxy for a port of the project's, on its router whose gateway is
	// on an external network in the pool's IPv6 address scope.
	"ndp_proxies": func(m *Maker) string {
		scope := m.ID(Member, "/v2.0/address-scopes", "address_scope", map[string]any{"name": "r-as6", "ip_version": 6})
		pool := m.ID(Member, "/v2.0/subnetpools", "subnetpool", map[string]any{"name": "r-sp6", "address_scope_id": scope,
			"prefixes": []string{"2001:db8:7700::/48"}, "default_prefixlen": 64})
		ext := m.ID(Admin, "/v2.0/networks", "network", map[string]any{"name": "r-ext6", "router:external": true})
		m.ID(Admin, "/v2.0/subnets", "subnet", map[string]any{"network_id": ext, "ip_version": 6, "subnetpool_id": pool})
		router := m.ID(Member, "/v2.0/routers", "router", map[string]any{"name": "r-ndp", "enable_ndp_proxy": true,
			"external_gateway_info": map[string]any{"network_id": ext}})
		n := m.ID(Member, "/v2.0/networks", "network", map[string]any{"name": "r-int6"})
		sub := m.ID(Member, "/v2.0/subnets", "subnet", map[string]any{"network_id": n, "ip_version": 6, "subnetpool_id": pool})
		if r := m.C.Do(m.T, Member, "PUT", "/v2.0/routers/"+router+"/add_router_interface", map[string]any{"subnet_id": sub}); r.Status != 200 {
			m.T.Fatalf("add_router_interface: %d %s", r.Status, r.Raw)
		}
		port := m.ID(Member, "/v2.0/ports", "port", map[string]any{"network_id": n})
		return "/v2.0/ndp_proxies/" + m.ID(Member, "/v2.0/ndp_proxies", "ndp_proxy", map[string]any{"router_id": router, "port_id": port, "name": "r-ndp"})
	},
	// Flavors and service profiles belong to no project: admins make
	// them; a reader sees flavors, not profiles.
	"flavors": func(m *Maker) string {
		return "/v2.0/flavors/" + m.ID(Admin, "/v2.0/flavors", "flavor", map[string]any{"service_type": "FLAVORS", "name": "r-flavor"})
	},
	"service_profiles": func(m *Maker) string {
		return "/v2.0/service_profiles/" + m.ID(Admin, "/v2.0/service_profiles", "service_profile", map[string]any{"metainfo": "{}"})
	},
	// A port's active binding (on a host without agents: bound or not,
	// the binding exists); only admins and services may read it.
	"bindings": func(m *Maker) string {
		n, _, _ := m.Subnet()
		port := m.ID(Admin, "/v2.0/ports", "port", map[string]any{"network_id": n, "project_id": m.C.Project(),
			"device_owner": "compute:nova", "device_id": "vm-r", "binding:host_id": "r-host"})
		return "/v2.0/ports/" + port + "/bindings/r-host"
	},
	"policies": func(m *Maker) string {
		return "/v2.0/qos/policies/" + m.QoSPolicy()
	},
	"bandwidth_limit_rules":           qosRule("bandwidth_limit", "", map[string]any{"max_kbps": 1000}),
	"dscp_marking_rules":              qosRule("dscp_marking", "", map[string]any{"dscp_mark": 10}),
	"minimum_bandwidth_rules":         qosRule("minimum_bandwidth", "", map[string]any{"min_kbps": 1000}),
	"packet_rate_limit_rules":         qosRule("packet_rate_limit", "", map[string]any{"max_kpps": 1000}),
	"minimum_packet_rate_rules":       qosRule("minimum_packet_rate", "", map[string]any{"min_kpps": 1000}),
	"alias_bandwidth_limit_rules":     qosRule("bandwidth_limit", "alias-bandwidth-limit-rules", map[string]any{"max_kbps": 1000}),
	"alias_dscp_marking_rules":        qosRule("dscp_marking", "alias-dscp-marking-rules", map[string]any{"dscp_mark": 10}),
	"alias_minimum_bandwidth_rules":   qosRule("minimum_bandwidth", "alias-minimum-bandwidth-rules", map[string]any{"min_kbps": 1000}),
	"alias_minimum_packet_rate_rules": qosRule("minimum_packet_rate", "alias-minimum-packet-rate-rules", map[string]any{"min_kpps": 1000}),
	// A range of the reader's project (ranges are an admin's to make).
	"network_segment_ranges": func(m *Maker) string {
		return "/v2.0/network_segment_ranges/" + m.ID(Admin, "/v2.0/network_segment_ranges", "network_segment_range", map[string]any{
			"name": "r-range", "shared": false, "project_id": m.C.Project(), "network_type": "vxlan", "minimum": 5000, "maximum": 5010})
	},
	"segments": func(m *Maker) string {
		n := m.ID(Admin, "/v2.0/networks", "network", map[string]any{"project_id": m.C.Project()})
		r := m.C.Do(m.T, Admin, "GET", "/v2.0/segments?network_id="+n, nil)
		segs, _ := r.Body["segments"].([]any)
		if r.Status != 200 || len(segs) != 1 {
			m.T.Fatalf("segments of a new network: %d %s", r.Status, r.Raw)
		}
		return "/v2.0/segments/" + segs[0].(map[string]any)["id"].(string)
	},
}

// values are values for writable attributes an admin's GET does not show
// (collection.attribute).
var values = map[string]any{
	// A single-segment network shows provider:* rather than segments.
	"networks.segments": []any{map[string]any{"provider:network_type": "vxlan"}},
	// is_default is shown on external networks only.
	"networks.is_default": true,
}

// actionBodies are plausible bodies of the member actions, so that a
// refusal is the policy's and not the body's.
func actionBodies(m *Maker) map[string]any {
	_, sub, cidr := m.Subnet()
	nexthop := strings.TrimSuffix(cidr, "0/24") + "9"
	routes := map[string]any{"router": map[string]any{"routes": []any{map[string]any{"destination": "192.0.2.0/24", "nexthop": nexthop}}}}
	return map[string]any{
		"add_router_interface":    map[string]any{"subnet_id": sub},
		"remove_router_interface": map[string]any{"subnet_id": sub},
		"add_extraroutes":         routes,
		"remove_extraroutes":      routes,
		"add_prefixes":            map[string]any{"prefixes": []string{"10.251.0.0/16"}},
		"add_addresses":           map[string]any{"addresses": []string{"10.253.0.0/24"}},
		"remove_addresses":        map[string]any{"addresses": []string{"10.252.0.0/24"}},
		"remove_prefixes":         map[string]any{"prefixes": []string{"10.250.0.0/16"}},
		"add_subports": map[string]any{"sub_ports": []any{map[string]any{"port_id": m.ID(Member, "/v2.0/ports", "port",
			map[string]any{"network_id": m.ID(Member, "/v2.0/networks", "network", map[string]any{})}),
			"segmentation_type": "vlan", "segmentation_id": 7}}},
		"remove_subports":         map[string]any{"sub_ports": []any{map[string]any{"port_id": "0c0ffee0-0000-4000-8000-000000000009"}}},
		"activate":                nil,
		"onboard_network_subnets": map[string]any{"network_id": m.ID(Member, "/v2.0/networks", "network", map[string]any{})},
	}
}

// Options adapt the matrix to a rig.
type Options struct {
	// Fixtures add or replace fixtures (test/api makes agents by calling
	// report_state in process).
	Fixtures map[string]Fixture
	// Unavailable names writable resources the rig cannot make, with the
	// reason; any other writable resource without a fixture fails.
	Unavailable map[string]string
	// MinRefusals is how many refusals the run must at least try, so that
	// an enumeration that found little fails.
	MinRefusals int
}

// Run runs the matrix.
func Run(t *testing.T, c Client, opts Options) {
	t.Helper()
	m := &Maker{T: t, C: c}
	enabled := map[string]bool{}
	r := c.Do(t, Admin, "GET", "/v2.0/extensions", nil)
	exts, _ := r.Body["extensions"].([]any)
	if r.Status != 200 || len(exts) == 0 {
		t.Fatalf("GET /v2.0/extensions: %d %s", r.Status, r.Raw)
	}
	for _, x := range exts {
		enabled[x.(map[string]any)["alias"].(string)] = true
	}
	defs := apidef.Build()
	var collections []string
	for coll, def := range defs {
		if !def.ReadOnly && (def.Extension == "" || enabled[def.Extension]) {
			collections = append(collections, coll)
		}
	}
	sort.Strings(collections)
	bodies := actionBodies(m)
	tried := 0
	var covered []string
	for _, coll := range collections {
		def := defs[coll]
		var attrs []*resource.Attr
		for _, a := range def.Attrs() {
			if a.AllowPut && (a.Extension == "" || enabled[a.Extension]) {
				attrs = append(attrs, a)
			}
		}
		if len(attrs) == 0 && len(def.Actions) == 0 {
			continue
		}
		fixture := opts.Fixtures[coll]
		if fixture == nil {
			fixture = Fixtures[coll]
		}
		if why := opts.Unavailable[coll]; fixture == nil && why != "" {
			t.Logf("%s: not tried: %s", coll, why)
			continue
		}
		if fixture == nil {
			t.Errorf("%s has writable attributes or actions but no fixture", coll)
			continue
		}
		covered = append(covered, coll)
		member := fixture(m)
		get := func(as Caller) Reply { return c.Do(t, as, "GET", member, nil) }
		before, _ := get(Admin).Body[def.Name].(map[string]any)
		if before == nil {
			t.Fatalf("%s: the admin cannot read %s", coll, member)
		}
		visible := get(Reader).Status == 200
		refused := func(what string, rep Reply) {
			t.Helper()
			tried++
			want := 404
			if visible {
				want = 403
			}
			if rep.Status != want {
				t.Errorf("%s %s as a reader: %d, want %d: %s", coll, what, rep.Status, want, rep.Raw)
			}
			if after, _ := get(Admin).Body[def.Name].(map[string]any); !reflect.DeepEqual(after, before) {
				t.Errorf("%s %s as a reader changed it:\nbefore %v\nafter  %v", coll, what, before, after)
			}
		}
		for _, a := range attrs {
			v, ok := before[a.Name]
			switch b, isBool := v.(bool); {
			case isBool:
				v = !b
			case a.Name == "name" || a.Name == "description":
				v = "changed by a reader"
			case !ok && values[coll+"."+a.Name] != nil:
				v = values[coll+"."+a.Name]
			case !ok:
				t.Errorf("%s: writable attribute %s is not shown to an admin; give the matrix a value for it", coll, a.Name)
				continue
			}
			refused("update "+a.Name, c.Do(t, Reader, "PUT", member, map[string]any{def.Name: map[string]any{a.Name: v}}))
		}
		for _, action := range def.Actions {
			body, ok := bodies[action]
			if !ok {
				t.Errorf("%s: action %s has no body in actionBodies", coll, action)
				continue
			}
			refused(action, c.Do(t, Reader, "PUT", member+"/"+action, body))
		}
		// Tags, where the resource has them (an admin can list them).
		if def.Standard && c.Do(t, Admin, "GET", member+"/tags", nil).Status == 200 {
			refused("tags", c.Do(t, Reader, "PUT", member+"/tags", map[string]any{"tags": []string{"reader"}}))
			refused("tag", c.Do(t, Reader, "PUT", member+"/tags/reader", nil))
		}
	}
	// Quotas are not an apidef resource.
	tried++
	if rep := c.Do(t, Reader, "PUT", "/v2.0/quotas/"+c.Project(), map[string]any{"quota": map[string]any{"network": 1}}); rep.Status != 403 {
		t.Errorf("quota update as a reader: %d, want 403: %s", rep.Status, rep.Raw)
	}
	if tried < opts.MinRefusals {
		t.Errorf("only %d refusals tried, want at least %d: the enumeration found too little", tried, opts.MinRefusals)
	}
	for coll := range opts.Fixtures {
		if !slices.Contains(covered, coll) {
			t.Errorf("fixture for %s, which the server does not serve writable", coll)
		}
	}
	t.Logf("%d refusals over %s", tried, strings.Join(covered, ", "))
}
