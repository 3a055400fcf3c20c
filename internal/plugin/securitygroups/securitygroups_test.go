package securitygroups_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/plugin/core"
	"github.com/neutrino-net/neutrino/internal/plugin/securitygroups"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/store"
	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// recorder is an Outbox that keeps what it is given, only once the
// transaction commits.
type recorder struct {
	mu  sync.Mutex
	got []rpcapi.Notification
}

func (r *recorder) Record(_ context.Context, tx *store.Tx, ns ...rpcapi.Notification) error {
	tx.AfterCommit(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, ns...)
	})
	return nil
}

// take returns and forgets the recorded notifications as "method:groups".
func (r *recorder) take(t *testing.T) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.got {
		if n.Topic != rpcapi.TopicSecurityGroup || !n.Fanout {
			t.Errorf("notification %+v not a fanout on %s", n, rpcapi.TopicSecurityGroup)
		}
		if n.Method == rpcapi.MethodSecurityGroupsProviderUpdated {
			var args rpcapi.SecurityGroupsProviderUpdated
			if err := json.Unmarshal(n.Args, &args); err != nil || n.Version != "1.1" {
				t.Fatalf("%s %s: %v", n.Method, n.Args, err)
			}
			out = append(out, n.Method+":"+join(sorted(args.DevicesToUpdate...)))
			continue
		}
		var args rpcapi.SecurityGroupsUpdated
		if err := json.Unmarshal(n.Args, &args); err != nil {
			t.Fatal(err)
		}
		out = append(out, n.Method+":"+join(args.SecurityGroups))
	}
	r.got = nil
	return out
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// rig is a core plugin and a security group plugin on a SQLite file.
type rig struct {
	t        *testing.T
	ctx      context.Context
	defs     map[string]*resource.Resource
	handlers map[string]plugin.Handler
	sg       *securitygroups.Plugin
	out      *recorder
}

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// engines runs f on a SQLite file and on a throwaway PostgreSQL database.
func engines(t *testing.T, f func(t *testing.T, r *rig)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, newRig(t, "sqlite:///"+filepath.Join(t.TempDir(), "sg.sqlite")))
	})
	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		f(t, newRig(t, pgtest.NewDatabase(t)))
	})
}

func newRig(t *testing.T, connection string) *rig {
	ctx := context.Background()
	st, err := store.Open(ctx, connection)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Every declared extension, as far as the schema goes.
	defs := map[string]*resource.Resource{}
	for coll, r := range apidef.Build() {
		defs[coll] = r
	}
	cp := core.New(st, defs, core.Options{BaseMAC: "fa:16:3e:00:00:00", AllowOverlappingIPs: true,
		MaxDNSNameservers: 5, MaxSubnetHostRoutes: 20})
	out := &recorder{}
	sg := securitygroups.New(st, defs, securitygroups.Options{Outbox: out})
	cp.SetPortSecurityGroups(sg)
	handlers := cp.Handlers()
	for k, v := range sg.Handlers() {
		handlers[k] = v
	}
	ctx = reqctx.WithCaller(ctx, &reqctx.Caller{ProjectID: "p1", IsAdmin: true, Roles: []string{"admin"}})
	return &rig{t: t, ctx: ctx, defs: defs, handlers: handlers, sg: sg, out: out}
}

// create creates one object with the given attributes and the defaults
// the API would fill in.
func (r *rig) create(coll string, attrs map[string]any) *resource.Object {
	r.t.Helper()
	def := r.defs[coll]
	o := resource.New(def)
	for _, a := range def.Attrs() {
		if v, ok := attrs[a.Name]; ok {
			o.Set(a.Name, v)
		} else if a.AllowPost && !a.Required && a.Default != resource.NotSpecified && a.Default != nil {
			o.Set(a.Name, a.Default)
		}
	}
	if !o.Has("project_id") {
		o.Set("project_id", "p1")
	}
	objs, err := r.handlers[coll].Create(r.ctx, []*resource.Object{o})
	if err != nil {
		r.t.Fatalf("create %s %v: %v", coll, attrs, err)
	}
	return objs[0]
}

func (r *rig) update(coll, id string, attrs map[string]any) *resource.Object {
	r.t.Helper()
	patch := resource.New(r.defs[coll])
	for k, v := range attrs {
		patch.Set(k, v)
	}
	o, err := r.handlers[coll].Update(r.ctx, id, patch, plugin.NoRevision)
	if err != nil {
		r.t.Fatalf("update %s %s: %v", coll, id, err)
	}
	return o
}

func TestNotifications(t *testing.T) { engines(t, testNotifications) }

func testNotifications(t *testing.T, r *rig) {
	net := r.create(apidef.Networks, map[string]any{"name": "n"})
	r.create(apidef.Subnets, map[string]any{"network_id": net.ID(), "ip_version": 4, "cidr": "10.0.0.0/24"})
	g := r.create(apidef.SecurityGroups, map[string]any{"name": "web"})
	if got := r.out.take(t); len(got) != 0 {
		t.Errorf("creating a group notified %v", got)
	}
	rule := r.create(apidef.SecurityGroupRules, map[string]any{"security_group_id": g.ID(), "direction": "ingress",
		"protocol": "tcp", "port_range_min": 22, "port_range_max": 22})
	if got, want := r.out.take(t), []string{"security_groups_rule_updated:" + g.ID()}; !slices.Equal(got, want) {
		t.Errorf("rule create notified %v, want %v", got, want)
	}
	port := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "security_groups": []string{g.ID()}})
	if got, want := r.out.take(t), []string{"security_groups_member_updated:" + g.ID()}; !slices.Equal(got, want) {
		t.Errorf("port create notified %v, want %v", got, want)
	}
	r.update(apidef.Ports, port.ID(), map[string]any{"name": "renamed"})
	if got := r.out.take(t); len(got) != 0 {
		t.Errorf("renaming a port notified %v", got)
	}
	r.update(apidef.Ports, port.ID(), map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.99"}}})
	if got, want := r.out.take(t), []string{"security_groups_member_updated:" + g.ID()}; !slices.Equal(got, want) {
		t.Errorf("address change notified %v, want %v", got, want)
	}
	def, err := r.sg.EnsureDefault(r.ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	r.update(apidef.Ports, port.ID(), map[string]any{"security_groups": []string{def}})
	want := []string{"security_groups_member_updated:" + join(sorted(def, g.ID()))}
	if got := r.out.take(t); !slices.Equal(got, want) {
		t.Errorf("group change notified %v, want %v", got, want)
	}
	if err := r.handlers[apidef.SecurityGroupRules].Delete(r.ctx, rule.ID(), plugin.NoRevision); err != nil {
		t.Fatal(err)
	}
	if got, want := r.out.take(t), []string{"security_groups_rule_updated:" + g.ID()}; !slices.Equal(got, want) {
		t.Errorf("rule delete notified %v, want %v", got, want)
	}
	if err := r.handlers[apidef.Ports].Delete(r.ctx, port.ID(), plugin.NoRevision); err != nil {
		t.Fatal(err)
	}
	if got, want := r.out.take(t), []string{"security_groups_member_updated:" + def}; !slices.Equal(got, want) {
		t.Errorf("port delete notified %v, want %v", got, want)
	}
	// A refused write records nothing.
	bad := resource.New(r.defs[apidef.SecurityGroupRules])
	for k, v := range map[string]any{"security_group_id": g.ID(), "direction": "egress", "ethertype": "IPv4",
		"project_id": "p1", "protocol": nil, "port_range_min": nil, "port_range_max": nil, "remote_ip_prefix": nil,
		"remote_group_id": nil} {
		bad.Set(k, v)
	}
	if _, err := r.handlers[apidef.SecurityGroupRules].Create(r.ctx, []*resource.Object{bad}); err == nil {
		t.Fatal("duplicate egress rule created")
	}
	if got := r.out.take(t); len(got) != 0 {
		t.Errorf("refused rule notified %v", got)
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestProviderNotifications(t *testing.T) { engines(t, testProviderNotifications) }

// testProviderNotifications: a DHCP port with an IPv6 address changes
// the provider rules of its network's ports (security_groups_provider_
// updated naming them all); one with IPv4 only does not.
func testProviderNotifications(t *testing.T, r *rig) {
	net := r.create(apidef.Networks, map[string]any{"name": "n"})
	r.create(apidef.Subnets, map[string]any{"network_id": net.ID(), "ip_version": 4, "cidr": "10.0.0.0/24"})
	vm := r.create(apidef.Ports, map[string]any{"network_id": net.ID()})
	r.out.take(t)
	dhcp4 := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "device_owner": "network:dhcp"})
	if got := r.out.take(t); len(got) != 0 {
		t.Errorf("an IPv4 DHCP port notified %v", got)
	}
	r.create(apidef.Subnets, map[string]any{"network_id": net.ID(), "ip_version": 6, "cidr": "2001:db8::/64"})
	r.out.take(t)
	dhcp6 := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "device_owner": "network:dhcp"})
	want := []string{"security_groups_provider_updated:" + join(sorted(vm.ID(), dhcp4.ID(), dhcp6.ID()))}
	if got := r.out.take(t); !slices.Equal(got, want) {
		t.Errorf("an IPv6 DHCP port notified %v, want %v", got, want)
	}
	if err := r.handlers[apidef.Ports].Delete(r.ctx, dhcp6.ID(), plugin.NoRevision); err != nil {
		t.Fatal(err)
	}
	if got := r.out.take(t); len(got) != 1 || !strings.HasPrefix(got[0], "security_groups_provider_updated:") {
		t.Errorf("deleting the IPv6 DHCP port notified %v", got)
	}
}

func TestSecurityGroupInfoForDevices(t *testing.T) { engines(t, testSecurityGroupInfoForDevices) }

func testSecurityGroupInfoForDevices(t *testing.T, r *rig) {
	net := r.create(apidef.Networks, map[string]any{"name": "n"})
	r.create(apidef.Subnets, map[string]any{"network_id": net.ID(), "ip_version": 4, "cidr": "10.0.0.0/24"})
	r.create(apidef.Subnets, map[string]any{"network_id": net.ID(), "ip_version": 6, "cidr": "2001:db8::/64"})
	web := r.create(apidef.SecurityGroups, map[string]any{"name": "web"})
	db := r.create(apidef.SecurityGroups, map[string]any{"name": "db", "stateful": false})
	empty := r.create(apidef.SecurityGroups, map[string]any{"name": "empty"})
	ruleDef := r.defs[apidef.SecurityGroupRules]
	emptyRules, err := r.handlers[apidef.SecurityGroupRules].List(r.ctx, &resource.Query{Filters: []resource.Filter{
		{Attr: ruleDef.Attr("security_group_id"), Values: []any{empty.ID()}}}})
	if err != nil || len(emptyRules) != 2 {
		t.Fatalf("rules of a new group: %v %v", emptyRules, err)
	}
	for _, rule := range emptyRules {
		if err := r.handlers[apidef.SecurityGroupRules].Delete(r.ctx, rule.ID(), plugin.NoRevision); err != nil {
			t.Fatal(err)
		}
	}
	r.create(apidef.SecurityGroupRules, map[string]any{"security_group_id": web.ID(), "direction": "ingress",
		"protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "192.0.2.7/24"})
	r.create(apidef.SecurityGroupRules, map[string]any{"security_group_id": web.ID(), "direction": "ingress",
		"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_group_id": db.ID()})
	p1 := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "security_groups": []string{web.ID()},
		"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.10"}}})
	p2 := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "security_groups": []string{db.ID()},
		"fixed_ips":             []any{map[string]any{"ip_address": "10.0.0.20"}, map[string]any{"ip_address": "2001:db8::20"}},
		"allowed_address_pairs": []any{map[string]any{"ip_address": "10.0.0.128/25", "mac_address": "fa:16:3e:00:00:99"}}})
	p3 := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "security_groups": []string{empty.ID()}})
	dhcp := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "device_owner": "network:dhcp"})

	// Agents ask by tap device name (Neutron's Linux bridge agent), by
	// port id, or by a prefix of one; the reply is keyed by port id and
	// echoes the name asked for.
	tap1 := "tap" + p1.ID()[:11]
	info, err := r.sg.SecurityGroupInfoForDevices(r.ctx, []string{tap1, p2.ID(), p3.ID()[:13], "tap" + dhcp.ID()[:11], "no-such-port"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Devices[dhcp.ID()]; ok || len(info.Devices) != 3 {
		t.Errorf("devices %v: want p1, p2, p3 and not the DHCP port", keys(info.Devices))
	}
	for id, want := range map[string]string{p1.ID(): tap1, p2.ID(): p2.ID(), p3.ID(): p3.ID()[:13]} {
		if d := info.Devices[id]; d == nil || d.Device != want || d.ID != id {
			t.Errorf("device of port %s: %+v, want device %q", id, d, want)
		}
	}
	// The device is the whole port dict, fixed_ips reduced to addresses.
	var wire map[string]map[string]any
	raw, err := json.Marshal(info.Devices)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	d1wire := wire[p1.ID()]
	if d1wire["device"] != tap1 || d1wire["network_id"] != net.ID() || d1wire["tenant_id"] == nil ||
		fmt.Sprint(d1wire["fixed_ips"]) != "[10.0.0.10]" || d1wire["revision_number"] == nil {
		t.Errorf("device p1 on the wire: %v", d1wire)
	}
	d1 := info.Devices[p1.ID()]
	if d1 == nil || !slices.Equal(d1.FixedIPs, []string{"10.0.0.10"}) || !slices.Equal(d1.SecurityGroups, []string{web.ID()}) ||
		!slices.Equal(d1.SecurityGroupSourceGroups, []string{db.ID()}) || !d1.PortSecurityEnabled {
		t.Errorf("device p1 %+v", d1)
	}
	if len(info.SecurityGroups[empty.ID()]) != 0 {
		t.Errorf("empty group rules %+v", info.SecurityGroups[empty.ID()])
	}
	if _, ok := info.SecurityGroups[empty.ID()]; !ok {
		t.Errorf("group without rules missing from security_groups")
	}
	var prefixRule, remoteRule *rpcapi.SecurityGroupRule
	for i, rule := range info.SecurityGroups[web.ID()] {
		if rule.Stateful == nil || !*rule.Stateful {
			t.Errorf("web rule %+v not stateful", rule)
		}
		switch {
		case rule.SourceIPPrefix != "":
			prefixRule = &info.SecurityGroups[web.ID()][i]
		case rule.RemoteGroupID != "":
			remoteRule = &info.SecurityGroups[web.ID()][i]
		}
	}
	if prefixRule == nil || prefixRule.SourceIPPrefix != "192.0.2.0/24" || *prefixRule.PortRangeMin != 80 {
		t.Errorf("prefix rule %+v: want source_ip_prefix 192.0.2.0/24", prefixRule)
	}
	if remoteRule == nil || remoteRule.Ethertype != "IPv4" {
		t.Errorf("remote group rule %+v", remoteRule)
	}
	for _, rule := range info.SecurityGroups[db.ID()] {
		if rule.Stateful == nil || *rule.Stateful {
			t.Errorf("db rule %+v not stateless", rule)
		}
	}
	// Only the ethertypes the rules ask about, with fixed IPs and address
	// pairs of db's ports.
	members := info.SGMemberIPs[db.ID()]
	if _, ok := members["IPv6"]; ok || len(info.SGMemberIPs) != 1 {
		t.Errorf("sg_member_ips %+v: want db's IPv4 only", info.SGMemberIPs)
	}
	want := []rpcapi.MemberIP{{IP: "10.0.0.20"}, {IP: "10.0.0.128/25", MAC: "fa:16:3e:00:00:99"}}
	if !slices.Equal(members["IPv4"], want) {
		t.Errorf("db members %+v, want %+v", members["IPv4"], want)
	}
	raw, err = json.Marshal(info.SGMemberIPs)
	if err != nil {
		t.Fatal(err)
	}
	if got := `{"` + db.ID() + `":{"IPv4":[["10.0.0.20",null],["10.0.0.128/25","fa:16:3e:00:00:99"]]}}`; string(raw) != got {
		t.Errorf("sg_member_ips JSON %s, want %s", raw, got)
	}
	// Provider rules: DHCP replies to each address, router advertisements
	// for a port with an IPv6 address.
	d2 := info.Devices[p2.ID()]
	var dests []string
	ra := false
	for _, rule := range d2.SecurityGroupRules {
		if rule.DestIPPrefix != "" {
			dests = append(dests, rule.DestIPPrefix)
		}
		if rule.Protocol == "ipv6-icmp" && rule.SourcePortRangeMin != nil && *rule.SourcePortRangeMin == 134 {
			ra = true
		}
	}
	slices.Sort(dests)
	if wantDests := []string{"10.0.0.20/32", "2001:db8::20/128", "255.255.255.255/32", "fe80::/64"}; !slices.Equal(dests, wantDests) || !ra {
		t.Errorf("provider rules of p2: dests %v ra %v", dests, ra)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestAddressGroupInfo(t *testing.T) { engines(t, testAddressGroupInfo) }

// testAddressGroupInfo: a rule naming an address group sends the group's
// CIDRs under its id in sg_member_ips, for the rule's ethertype only,
// and names the group on the device; changing the group's addresses
// tells the firewalls of the groups whose rules name it.
func testAddressGroupInfo(t *testing.T, r *rig) {
	net := r.create(apidef.Networks, map[string]any{"name": "n"})
	r.create(apidef.Subnets, map[string]any{"network_id": net.ID(), "ip_version": 4, "cidr": "10.0.0.0/24"})
	ag := r.create(apidef.AddressGroups, map[string]any{"name": "ag",
		"addresses": []any{"192.0.2.7/24", "198.51.100.1/32", "2001:db8::5/64"}})
	web := r.create(apidef.SecurityGroups, map[string]any{"name": "web"})
	r.create(apidef.SecurityGroupRules, map[string]any{"security_group_id": web.ID(), "direction": "ingress",
		"ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_address_group_id": ag.ID()})
	p := r.create(apidef.Ports, map[string]any{"network_id": net.ID(), "security_groups": []string{web.ID()}})
	r.out.take(t)

	info, err := r.sg.SecurityGroupInfoForDevices(r.ctx, []string{p.ID()})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(info.SGMemberIPs[ag.ID()])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"IPv4":[["192.0.2.0/24",null],["198.51.100.1/32",null]]}`; string(raw) != want {
		t.Errorf("sg_member_ips of the address group: %s, want %s", raw, want)
	}
	if got := info.Devices[p.ID()].SecurityGroupRemoteAddressGroups; len(got) != 1 || got[0] != ag.ID() {
		t.Errorf("security_group_remote_address_groups %v", got)
	}
	found := false
	for _, rule := range info.SecurityGroups[web.ID()] {
		found = found || rule.RemoteAddressGroupID == ag.ID()
	}
	if !found {
		t.Errorf("rules of web lack the address group: %+v", info.SecurityGroups[web.ID()])
	}

	h := r.handlers[apidef.AddressGroups].(plugin.Actioner)
	if _, err := h.Action(r.ctx, ag.ID(), "add_addresses", map[string]any{"addresses": []any{"203.0.113.9"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := join(r.out.take(t)), "security_groups_rule_updated:"+web.ID(); !strings.Contains(got, want) {
		t.Errorf("notifications %q, want %q", got, want)
	}
	info, err = r.sg.SecurityGroupInfoForDevices(r.ctx, []string{p.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.SGMemberIPs[ag.ID()]["IPv4"]; len(got) != 3 || got[2].IP != "203.0.113.9/32" {
		t.Errorf("addresses after add_addresses: %v", got)
	}
}
