#!/usr/bin/env bash
# test/cli/addressing.sh — client compatibility: the real `openstack` CLI
# (python3-openstackclient, noauth) against a built neutrino binary, for the
# addressing resources: address scopes, subnet pools, subnets, ports and
# network IP availability.
#
#   test/cli/addressing.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` on a free loopback port with its state in a
# temporary directory and drives the resources through their life with the
# CLI, asserting on its `-f json` output with python3. Error cases the CLI
# surfaces (a duplicate IP address and the like) must make it exit non-zero
# with Neutron's message on standard error; those checks are collected and
# reported together at the end, so one wrong message does not hide the
# others. Without the openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=addressing.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
err=$tmp/err

# ids FILE: the sorted "ID" column of a `-f json` listing, as a JSON list.
ids() { json_eval "$1" 'sorted(r["ID"] for r in d)'; }
# json_list ID...: the IDs as a sorted JSON list, to compare with ids.
json_list() {
	python3 -c 'import json, sys; print(json.dumps(sorted(sys.argv[1:])))' "$@"
}

# api METHOD PATH [BODY]: a raw API request, for what the CLI cannot do.
# The response body goes to $out; the HTTP status is printed.
api() {
	python3 - "$endpoint" "$out" "$@" <<'EOF'
import sys, urllib.error, urllib.request
endpoint, out, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request(endpoint + path, data=body, method=method,
                             headers={"Content-Type": "application/json", "Accept": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        status, data = r.status, r.read()
except urllib.error.HTTPError as e:
    status, data = e.code, e.read()
with open(out, "wb") as f:
    f.write(data)
print(status)
EOF
}

# The error checks do not stop the script; they are reported at the end.
problems=()
problem() {
	echo "PROBLEM: $me: $*" >&2
	problems+=("$*")
}
# expect_cli_error MESSAGE ARGS...: openstack ARGS... must exit non-zero with
# MESSAGE (a fixed string) on standard error.
expect_cli_error() {
	local msg=$1
	shift
	if openstack --os-auth-type none --os-endpoint "$endpoint" "$@" >"$out" 2>"$err"; then
		problem "openstack $* succeeded, want an error with '$msg' (stdout: $(tr -d '\n' <"$out" | head -c 600))"
		return 0
	fi
	grep -qF -- "$msg" "$err" || problem "openstack $* failed without '$msg' on stderr; stderr: $(cat "$err")"
	return 0
}

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint"
start_server

# --- address scopes ---------------------------------------------------------------------
oscj scope address scope create --ip-version 4 cli-scope
scope=$(id_of "$tmp/scope.json")
expect "$tmp/scope.json" 'd["name"]' '"cli-scope"' "address scope create"
expect "$tmp/scope.json" 'd["ip_version"]' 4 "address scope create"
expect "$tmp/scope.json" 'd["shared"]' false "address scope create"
expect "$tmp/scope.json" 'd["project_id"]' '"fake_project_id"' "address scope create"
oscj scope6 address scope create --ip-version 6 --share cli-scope6
scope6=$(id_of "$tmp/scope6.json")
expect "$tmp/scope6.json" '[d["ip_version"], d["shared"]]' '[6, true]' "address scope create --ip-version 6 --share"

oscj scopes address scope list
expect "$tmp/scopes.json" "[[r[k] for k in ('Name', 'IP Version', 'Shared', 'Project')] for r in d if r['ID'] == '$scope']" \
	'[["cli-scope", 4, false, "fake_project_id"]]' "address scope list"
expect "$tmp/scopes.json" "len(d)" 2 "address scope list"

osc address scope set --name cli-scope-renamed --share cli-scope
[[ ! -s $out ]] || fail "address scope set printed: $(cat "$out")"
oscj scope address scope show cli-scope-renamed
expect "$tmp/scope.json" '[d["id"], d["name"], d["shared"], d["ip_version"]]' "[\"$scope\", \"cli-scope-renamed\", true, 4]" "address scope show after set"

osc address scope delete cli-scope6
oscj scopes address scope list
expect "$tmp/scopes.json" '[r["ID"] for r in d]' "[\"$scope\"]" "address scope list after delete"
expect_cli_error "No AddressScope found for $scope6" address scope show "$scope6"

# --- subnet pools -----------------------------------------------------------------------
oscj pool subnet pool create --pool-prefix 10.10.0.0/16 --pool-prefix 10.40.0.0/16 --default-prefix-length 24 \
	--address-scope cli-scope-renamed --share --default --description "made by the CLI" cli-pool
pool=$(id_of "$tmp/pool.json")
expect "$tmp/pool.json" 'd["name"]' '"cli-pool"' "subnet pool create"
expect "$tmp/pool.json" 'sorted(d["prefixes"])' '["10.10.0.0/16", "10.40.0.0/16"]' "subnet pool create"
expect "$tmp/pool.json" 'd["default_prefixlen"]' 24 "subnet pool create"
expect "$tmp/pool.json" '[d["min_prefixlen"], d["max_prefixlen"]]' '[8, 32]' "subnet pool create"
expect "$tmp/pool.json" 'd["address_scope_id"]' "\"$scope\"" "subnet pool create"
expect "$tmp/pool.json" '[d["shared"], d["is_default"], d["ip_version"]]' '[true, true, 4]' "subnet pool create"
expect "$tmp/pool.json" 'd["description"]' '"made by the CLI"' "subnet pool create"

# Adjacent prefixes are merged, as Neutron compacts them with netaddr.
oscj pool2 subnet pool create --pool-prefix 10.200.0.0/24 --pool-prefix 10.200.1.0/24 cli-pool-2
pool2=$(id_of "$tmp/pool2.json")
expect "$tmp/pool2.json" 'd["prefixes"]' '["10.200.0.0/23"]' "subnet pool create with adjacent prefixes"
expect "$tmp/pool2.json" '[d["default_prefixlen"], d["shared"], d["is_default"], d["address_scope_id"]]' \
	'[8, false, false, null]' "subnet pool create without options"

oscj pools subnet pool list
expect "$tmp/pools.json" "[sorted(r['Prefixes']) if isinstance(r['Prefixes'], list) else r['Prefixes'] for r in d if r['ID'] == '$pool']" \
	'[["10.10.0.0/16", "10.40.0.0/16"]]' "subnet pool list"
expect "$tmp/pools.json" "sorted([r['ID'], r['Name']] for r in d)" "$(python3 -c 'import json, sys; print(json.dumps(sorted([[sys.argv[1], "cli-pool"], [sys.argv[2], "cli-pool-2"]])))' "$pool" "$pool2")" "subnet pool list"

# set --pool-prefix adds a prefix (the CLI PUTs the union).
osc subnet pool set --pool-prefix 10.20.0.0/16 cli-pool
oscj pool subnet pool show cli-pool
expect "$tmp/pool.json" 'sorted(d["prefixes"])' '["10.10.0.0/16", "10.20.0.0/16", "10.40.0.0/16"]' "subnet pool set --pool-prefix"
osc subnet pool set --default-prefix-length 25 --no-default cli-pool
oscj pool subnet pool show "$pool"
expect "$tmp/pool.json" '[d["default_prefixlen"], d["is_default"]]' '[25, false]' "subnet pool set --default-prefix-length --no-default"
osc subnet pool set --default-prefix-length 24 --default cli-pool

# Removing a prefix: openstackclient dropped `subnet pool unset --pool-prefix`
# (Neutron never let a PUT shrink a pool), so when this CLI lacks it the
# remove_prefixes action is called directly.
if openstack subnet pool unset --help 2>/dev/null | grep -q -- --pool-prefix; then
	osc subnet pool unset --pool-prefix 10.40.0.0/16 cli-pool
else
	echo "$me: this openstack CLI has no 'subnet pool unset --pool-prefix'; calling PUT /v2.0/subnetpools/$pool/remove_prefixes"
	status=$(api PUT "/v2.0/subnetpools/$pool/remove_prefixes" '{"prefixes": ["10.40.0.0/16"]}')
	[[ $status == 200 ]] || fail "remove_prefixes: status $status: $(cat "$out")"
	cp "$out" "$tmp/removed.json"
	expect "$tmp/removed.json" 'sorted(d["prefixes"])' '["10.10.0.0/16", "10.20.0.0/16"]' "remove_prefixes response"
fi
oscj pool subnet pool show cli-pool
expect "$tmp/pool.json" 'sorted(d["prefixes"])' '["10.10.0.0/16", "10.20.0.0/16"]' "subnet pool show after removing 10.40.0.0/16"
expect "$tmp/pool.json" '[d["default_prefixlen"], d["is_default"]]' '[24, true]' "subnet pool show after set --default"

# --- networks for the subnets -------------------------------------------------------------
oscj neta network create cli-net-a
neta=$(id_of "$tmp/neta.json")
oscj netb network create cli-net-b
netb=$(id_of "$tmp/netb.json")

# --- subnet create --------------------------------------------------------------------------
oscj suba subnet create --network cli-net-a --subnet-range 192.168.50.0/24 --gateway 192.168.50.254 \
	--allocation-pool start=192.168.50.10,end=192.168.50.100 --allocation-pool start=192.168.50.200,end=192.168.50.210 \
	--dns-nameserver 8.8.8.8 --dns-nameserver 8.8.4.4 \
	--host-route destination=10.99.0.0/16,gateway=192.168.50.1 --no-dhcp --description "explicit" cli-sub-a
suba=$(id_of "$tmp/suba.json")
expect "$tmp/suba.json" '[d["name"], d["network_id"], d["ip_version"], d["cidr"]]' \
	"[\"cli-sub-a\", \"$neta\", 4, \"192.168.50.0/24\"]" "subnet create"
expect "$tmp/suba.json" 'd["gateway_ip"]' '"192.168.50.254"' "subnet create"
expect "$tmp/suba.json" 'sorted((p["start"], p["end"]) for p in d["allocation_pools"])' \
	'[["192.168.50.10", "192.168.50.100"], ["192.168.50.200", "192.168.50.210"]]' "subnet create"
expect "$tmp/suba.json" 'd["dns_nameservers"]' '["8.8.8.8", "8.8.4.4"]' "subnet create (order kept)"
expect "$tmp/suba.json" 'd["host_routes"]' '[{"destination": "10.99.0.0/16", "nexthop": "192.168.50.1"}]' "subnet create"
expect "$tmp/suba.json" '[d["enable_dhcp"], d["subnetpool_id"], d["description"], d["project_id"]]' \
	'[false, null, "explicit", "fake_project_id"]' "subnet create"
expect "$tmp/suba.json" '[d["ipv6_ra_mode"], d["ipv6_address_mode"]]' '[null, null]' "subnet create"

# Defaults: the gateway is the first address, the pool the rest, DHCP on.
oscj suba2 subnet create --network "$neta" --subnet-range 192.168.51.0/24 cli-sub-a2
suba2=$(id_of "$tmp/suba2.json")
expect "$tmp/suba2.json" '[d["gateway_ip"], d["allocation_pools"], d["enable_dhcp"], d["dns_nameservers"], d["host_routes"]]' \
	'["192.168.51.1", [{"end": "192.168.51.254", "start": "192.168.51.2"}], true, [], []]' "subnet create with defaults"

# From the pool: the requested prefix length, then the pool's default.
oscj subb subnet create --network cli-net-b --subnet-pool cli-pool --prefix-length 26 cli-sub-b
subb=$(id_of "$tmp/subb.json")
expect "$tmp/subb.json" '[d["subnetpool_id"], d["network_id"], d["ip_version"]]' "[\"$pool\", \"$netb\", 4]" "subnet create from a pool"
expect "$tmp/subb.json" 'ipaddress.ip_network(d["cidr"]).prefixlen' 26 "subnet create --prefix-length 26"
expect "$tmp/subb.json" 'any(ipaddress.ip_network(d["cidr"]).subnet_of(ipaddress.ip_network(p)) for p in ("10.10.0.0/16", "10.20.0.0/16"))' \
	true "subnet create from a pool: cidr inside the pool"
expect "$tmp/subb.json" 'd["gateway_ip"] == str(ipaddress.ip_network(d["cidr"])[1])' true "subnet create from a pool: gateway"
oscj subb2 subnet create --network cli-net-b --subnet-pool "$pool" cli-sub-b2
subb2=$(id_of "$tmp/subb2.json")
expect "$tmp/subb2.json" 'ipaddress.ip_network(d["cidr"]).prefixlen' 24 "subnet create from a pool with its default prefix length"
subb_cidr=$(json_eval "$tmp/subb.json" 'd["cidr"]')
expect "$tmp/subb2.json" "ipaddress.ip_network(d['cidr']).overlaps(ipaddress.ip_network($subb_cidr))" false \
	"subnet create from a pool: cidr apart from $subb_cidr"

# --- subnet set / unset ---------------------------------------------------------------------
osc subnet set --name cli-sub-a-renamed --dns-nameserver 1.1.1.1 \
	--host-route destination=10.98.0.0/16,gateway=192.168.50.2 \
	--allocation-pool start=192.168.50.150,end=192.168.50.160 cli-sub-a
[[ ! -s $out ]] || fail "subnet set printed: $(cat "$out")"
oscj suba subnet show "$suba"
expect "$tmp/suba.json" 'd["name"]' '"cli-sub-a-renamed"' "subnet set --name"
expect "$tmp/suba.json" 'sorted(d["dns_nameservers"])' '["1.1.1.1", "8.8.4.4", "8.8.8.8"]' "subnet set --dns-nameserver"
expect "$tmp/suba.json" 'sorted((r["destination"], r["nexthop"]) for r in d["host_routes"])' \
	'[["10.98.0.0/16", "192.168.50.2"], ["10.99.0.0/16", "192.168.50.1"]]' "subnet set --host-route"
expect "$tmp/suba.json" 'sorted((p["start"], p["end"]) for p in d["allocation_pools"])' \
	'[["192.168.50.10", "192.168.50.100"], ["192.168.50.150", "192.168.50.160"], ["192.168.50.200", "192.168.50.210"]]' \
	"subnet set --allocation-pool"
rev1=$(json_eval "$tmp/suba.json" 'd["revision_number"]')

osc subnet unset --dns-nameserver 8.8.8.8 --host-route destination=10.99.0.0/16,gateway=192.168.50.1 \
	--allocation-pool start=192.168.50.200,end=192.168.50.210 --allocation-pool start=192.168.50.150,end=192.168.50.160 \
	cli-sub-a-renamed
oscj suba subnet show cli-sub-a-renamed
expect "$tmp/suba.json" 'sorted(d["dns_nameservers"])' '["1.1.1.1", "8.8.4.4"]' "subnet unset --dns-nameserver"
expect "$tmp/suba.json" 'd["host_routes"]' '[{"destination": "10.98.0.0/16", "nexthop": "192.168.50.2"}]' "subnet unset --host-route"
expect "$tmp/suba.json" 'd["allocation_pools"]' '[{"end": "192.168.50.100", "start": "192.168.50.10"}]' "subnet unset --allocation-pool"
expect "$tmp/suba.json" "d['revision_number'] > $rev1" true "subnet unset: revision_number"

osc subnet unset --gateway cli-sub-a-renamed
oscj suba subnet show cli-sub-a-renamed
expect "$tmp/suba.json" 'd["gateway_ip"]' null "subnet unset --gateway"
osc subnet set --gateway 192.168.50.1 --dhcp cli-sub-a-renamed
oscj suba subnet show cli-sub-a-renamed
expect "$tmp/suba.json" '[d["gateway_ip"], d["enable_dhcp"]]' '["192.168.50.1", true]' "subnet set --gateway --dhcp"

# --- subnet list / show, network show --------------------------------------------------------
oscj subnets subnet list --network cli-net-a
expect "$tmp/subnets.json" 'sorted(r["ID"] for r in d)' "$(json_list "$suba" "$suba2")" "subnet list --network cli-net-a"
expect "$tmp/subnets.json" "[[r['Name'], r['Network'], r['Subnet']] for r in d if r['ID'] == '$suba']" \
	"[[\"cli-sub-a-renamed\", \"$neta\", \"192.168.50.0/24\"]]" "subnet list --network cli-net-a"
oscj subnets subnet list --network "$netb"
expect "$tmp/subnets.json" 'sorted(r["ID"] for r in d)' "$(json_list "$subb" "$subb2")" "subnet list --network cli-net-b"
oscj subnets subnet list --ip-version 4
expect "$tmp/subnets.json" 'sorted(r["ID"] for r in d)' "$(json_list "$suba" "$suba2" "$subb" "$subb2")" "subnet list --ip-version 4"
oscj subnets subnet list --ip-version 6
expect "$tmp/subnets.json" 'd' '[]' "subnet list --ip-version 6"
oscj subnets subnet list --subnet-pool cli-pool
expect "$tmp/subnets.json" 'sorted(r["ID"] for r in d)' "$(json_list "$subb" "$subb2")" "subnet list --subnet-pool"
oscj subnets subnet list --name cli-sub-a2
expect "$tmp/subnets.json" '[r["ID"] for r in d]' "[\"$suba2\"]" "subnet list --name"

oscj subb subnet show cli-sub-b
expect "$tmp/subb.json" '[d["id"], d["cidr"], d["subnetpool_id"]]' "[\"$subb\", $subb_cidr, \"$pool\"]" "subnet show"

oscj neta network show cli-net-a
expect "$tmp/neta.json" 'sorted(d["subnets"])' "$(json_list "$suba" "$suba2")" "network show (subnets)"
oscj nets network list
expect "$tmp/nets.json" "[sorted(r['Subnets']) for r in d if r['ID'] == '$netb']" "[$(json_list "$subb" "$subb2")]" "network list (subnets)"

# --- ports ------------------------------------------------------------------------------------
oscj p1 port create --network cli-net-a --fixed-ip subnet=cli-sub-a-renamed,ip-address=192.168.50.20 \
	--mac-address fa:16:3e:aa:bb:cc --device-owner compute:nova --allowed-address ip-address=10.50.0.5 cli-port-1
p1=$(id_of "$tmp/p1.json")
expect "$tmp/p1.json" '[d["name"], d["network_id"], d["mac_address"], d["device_owner"]]' \
	"[\"cli-port-1\", \"$neta\", \"fa:16:3e:aa:bb:cc\", \"compute:nova\"]" "port create"
expect "$tmp/p1.json" 'd["fixed_ips"]' "[{\"ip_address\": \"192.168.50.20\", \"subnet_id\": \"$suba\"}]" "port create --fixed-ip"
expect "$tmp/p1.json" 'd["allowed_address_pairs"]' '[{"ip_address": "10.50.0.5", "mac_address": "fa:16:3e:aa:bb:cc"}]' \
	"port create --allowed-address"
expect "$tmp/p1.json" '[d["admin_state_up"], d["status"], d["project_id"], d["port_security_enabled"]]' \
	'[true, "DOWN", "fake_project_id", true]' "port create"

# Without --fixed-ip: one IPv4 address, from one of the network's subnets.
oscj p2 port create --network cli-net-a cli-port-2
p2=$(id_of "$tmp/p2.json")
expect "$tmp/p2.json" 'len(d["fixed_ips"])' 1 "port create without --fixed-ip"
expect "$tmp/p2.json" "d['fixed_ips'][0]['subnet_id'] in ('$suba', '$suba2')" true "port create without --fixed-ip: subnet"
expect "$tmp/p2.json" 'd["fixed_ips"][0]["ip_address"] not in ("192.168.50.20", "192.168.50.1", "192.168.51.1")' true \
	"port create without --fixed-ip: a free, non-gateway address"
expect "$tmp/p2.json" 'd["mac_address"].startswith("fa:16:3e:") and d["mac_address"] != "fa:16:3e:aa:bb:cc"' true \
	"port create without --mac-address"

# With only an address: the subnet is found from it.
subb_ip=$(python3 -c "import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1])[10])" "${subb_cidr//\"/}")
oscj p3 port create --network cli-net-b --fixed-ip ip-address="$subb_ip" --device-owner network:dhcp cli-port-3
p3=$(id_of "$tmp/p3.json")
expect "$tmp/p3.json" 'd["fixed_ips"]' "[{\"ip_address\": \"$subb_ip\", \"subnet_id\": \"$subb\"}]" "port create --fixed-ip ip-address= only"

oscj ports port list --network cli-net-a
expect "$tmp/ports.json" 'sorted(r["ID"] for r in d)' "$(json_list "$p1" "$p2")" "port list --network cli-net-a"
expect "$tmp/ports.json" "[[r['Name'], r['MAC Address'], r['Fixed IP Addresses'], r['Status']] for r in d if r['ID'] == '$p1']" \
	"[[\"cli-port-1\", \"fa:16:3e:aa:bb:cc\", [{\"ip_address\": \"192.168.50.20\", \"subnet_id\": \"$suba\"}], \"DOWN\"]]" \
	"port list --network cli-net-a"
oscj ports port list --fixed-ip ip-address=192.168.50.20
expect "$tmp/ports.json" '[r["ID"] for r in d]' "[\"$p1\"]" "port list --fixed-ip ip-address=192.168.50.20"
oscj ports port list --fixed-ip subnet=cli-sub-b
expect "$tmp/ports.json" '[r["ID"] for r in d]' "[\"$p3\"]" "port list --fixed-ip subnet=cli-sub-b"
oscj ports port list --device-owner compute:nova
expect "$tmp/ports.json" '[r["ID"] for r in d]' "[\"$p1\"]" "port list --device-owner compute:nova"
oscj ports port list --device-owner network:dhcp --network cli-net-b
expect "$tmp/ports.json" '[r["ID"] for r in d]' "[\"$p3\"]" "port list --device-owner network:dhcp --network cli-net-b"
oscj ports port list --mac-address fa:16:3e:aa:bb:cc
expect "$tmp/ports.json" '[r["ID"] for r in d]' "[\"$p1\"]" "port list --mac-address"
oscj ports port list --fixed-ip ip-substring=192.168.50.2
expect "$tmp/ports.json" "'$p1' in [r['ID'] for r in d] and '$p3' not in [r['ID'] for r in d]" true "port list --fixed-ip ip-substring="

# port set adds an address, port unset removes one.
osc port set --fixed-ip subnet=cli-sub-a-renamed,ip-address=192.168.50.30 cli-port-1
[[ ! -s $out ]] || fail "port set printed: $(cat "$out")"
oscj p1 port show cli-port-1
expect "$tmp/p1.json" 'sorted(f["ip_address"] for f in d["fixed_ips"])' '["192.168.50.20", "192.168.50.30"]' "port set --fixed-ip"
osc port unset --fixed-ip subnet=cli-sub-a-renamed,ip-address=192.168.50.20 cli-port-1
oscj p1 port show "$p1"
expect "$tmp/p1.json" 'd["fixed_ips"]' "[{\"ip_address\": \"192.168.50.30\", \"subnet_id\": \"$suba\"}]" "port unset --fixed-ip"
expect "$tmp/p1.json" '[d["mac_address"], d["device_owner"], d["allowed_address_pairs"]]' \
	'["fa:16:3e:aa:bb:cc", "compute:nova", [{"ip_address": "10.50.0.5", "mac_address": "fa:16:3e:aa:bb:cc"}]]' \
	"port show after set/unset"
oscj ports port list --fixed-ip ip-address=192.168.50.20
expect "$tmp/ports.json" 'd' '[]' "port list --fixed-ip ip-address=192.168.50.20 after unset"
oscj ports port list --fixed-ip ip-address=192.168.50.30
expect "$tmp/ports.json" '[r["ID"] for r in d]' "[\"$p1\"]" "port list --fixed-ip ip-address=192.168.50.30"
# The released address can be taken again.
oscj p4 port create --network cli-net-a --fixed-ip subnet="$suba",ip-address=192.168.50.20 cli-port-4
p4=$(id_of "$tmp/p4.json")
expect "$tmp/p4.json" '[f["ip_address"] for f in d["fixed_ips"]]' '["192.168.50.20"]' "port create with a released address"
osc port delete cli-port-4
expect_cli_error "No Port found for $p4" port show "$p4"

# --- network IP availability --------------------------------------------------------------------
# total: the size of the allocation pools (a whole subnet less its network,
# gateway and broadcast addresses); used: the allocated addresses.
subb_total=$(python3 -c "import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1]).num_addresses - 3)" "${subb_cidr//\"/}")
oscj avail ip availability list
expect "$tmp/avail.json" "sorted([r['Network Name'], r['Total IPs'], r['Used IPs']] for r in d if r['Network ID'] in ('$neta', '$netb'))" \
	"[[\"cli-net-a\", $((91 + 253)), 2], [\"cli-net-b\", $((subb_total + 253)), 1]]" "ip availability list"
oscj avail ip availability list --ip-version 4
expect "$tmp/avail.json" "sorted(r['Network ID'] for r in d)" "$(json_list "$neta" "$netb")" "ip availability list --ip-version 4"
oscj avail ip availability show cli-net-a
expect "$tmp/avail.json" '[d["network_id"], d["network_name"], d["total_ips"], d["used_ips"]]' \
	"[\"$neta\", \"cli-net-a\", 344, 2]" "ip availability show"
if [[ $(json_eval "$tmp/p2.json" 'd["fixed_ips"][0]["subnet_id"]') == "\"$suba\"" ]]; then
	used_a=2 used_a2=0
else
	used_a=1 used_a2=1
fi
expect "$tmp/avail.json" 'sorted([s["subnet_id"], s["subnet_name"], s["cidr"], s["ip_version"], s["total_ips"], s["used_ips"]] for s in d["subnet_ip_availability"])' \
	"$(python3 -c 'import json, sys; a = sys.argv; print(json.dumps(sorted([[a[1], "cli-sub-a-renamed", "192.168.50.0/24", 4, 91, int(a[3])], [a[2], "cli-sub-a2", "192.168.51.0/24", 4, 253, int(a[4])]])))' \
		"$suba" "$suba2" "$used_a" "$used_a2")" "ip availability show (subnets)"

# --- errors the CLI surfaces ----------------------------------------------------------------------
expect_cli_error "IP address 192.168.50.30 already allocated in subnet $suba" \
	port create --network cli-net-a --fixed-ip subnet=cli-sub-a-renamed,ip-address=192.168.50.30 cli-dup-ip
expect_cli_error "IP address 10.0.0.5 is not a valid IP for the specified subnet." \
	port create --network cli-net-a --fixed-ip subnet=cli-sub-a-renamed,ip-address=10.0.0.5 cli-bad-ip
expect_cli_error "Unable to complete operation for network $neta. The mac address fa:16:3e:aa:bb:cc is in use." \
	port create --network cli-net-a --mac-address fa:16:3e:aa:bb:cc cli-dup-mac
expect_cli_error "Requested subnet with cidr: 192.168.50.128/25 for network: $neta overlaps with another subnet." \
	subnet create --network cli-net-a --subnet-range 192.168.50.128/25 cli-overlap
expect_cli_error "Gateway ip 192.168.60.15 conflicts with allocation pool 192.168.60.10-192.168.60.20." \
	subnet create --network cli-net-a --subnet-range 192.168.60.0/24 --gateway 192.168.60.15 \
	--allocation-pool start=192.168.60.10,end=192.168.60.20 cli-gw-in-pool
expect_cli_error "Unable to allocate subnet with prefix length 4, minimum allowed prefix is 8." \
	subnet create --network cli-net-b --subnet-pool cli-pool --prefix-length 4 cli-too-big
expect_cli_error "Subnets hosted on the same network must be allocated from the same subnet pool." \
	subnet create --network cli-net-a --subnet-pool cli-pool cli-wrong-pool
expect_cli_error "Unable to complete operation on subnet $suba: One or more ports have an IP allocation from this subnet." \
	subnet delete cli-sub-a-renamed
# (Neutron since 2023.1 goes on with ", id for these ports is: …".)
expect_cli_error "Unable to complete operation on network $neta. There are one or more ports still in use on the network" \
	network delete cli-net-a
expect_cli_error "Unable to complete operation on address scope $scope. There are one or more subnet pools in use on the address scope." \
	address scope delete cli-scope-renamed
# Neutron answers 400 SubnetPoolDeleteError here.
expect_cli_error "Unable to delete subnet pool: Subnet pool has existing allocations." \
	subnet pool delete cli-pool
status=$(api PUT "/v2.0/subnetpools/$pool" '{"subnetpool": {"prefixes": ["10.10.0.0/16"]}}')
if [[ $status != 400 ]] || ! grep -qF "Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes." "$out"; then
	problem "PUT /v2.0/subnetpools/$pool shrinking prefixes: status $status, want 400 IllegalSubnetPoolPrefixUpdate: $(cat "$out")"
fi
# Pools of one address scope may not overlap: Neutron answers 409
# AddressScopePrefixConflict.
expect_cli_error "Failed to associate address scope: subnetpools within an address scope must have unique prefixes." \
	subnet pool create --pool-prefix 10.10.128.0/17 --address-scope cli-scope-renamed cli-pool-overlap

# --- delete ----------------------------------------------------------------------------------------
osc port delete cli-port-1 cli-port-2 "$p3"
oscj ports port list
expect "$tmp/ports.json" 'd' '[]' "port list after delete"
expect_cli_error "No Port found for $p1" port show "$p1"
oscj avail ip availability show cli-net-a
expect "$tmp/avail.json" 'd["used_ips"]' 0 "ip availability show after the ports are deleted"
osc subnet delete cli-sub-a-renamed cli-sub-a2 cli-sub-b cli-sub-b2
oscj subnets subnet list
expect "$tmp/subnets.json" 'd' '[]' "subnet list after delete"
oscj neta network show cli-net-a
expect "$tmp/neta.json" 'd["subnets"]' '[]' "network show after subnet delete"
osc network delete cli-net-a cli-net-b
# A pool the overlap check above failed to refuse is in the way of the scope.
openstack --os-auth-type none --os-endpoint "$endpoint" subnet pool delete cli-pool-overlap >/dev/null 2>&1 || true
osc subnet pool delete cli-pool cli-pool-2
oscj pools subnet pool list
expect "$tmp/pools.json" 'd' '[]' "subnet pool list after delete"
osc address scope delete "$scope"
oscj scopes address scope list
expect "$tmp/scopes.json" 'd' '[]' "address scope list after delete"

rc=0
stop_server || rc=$?
((rc == 0)) || fail "neutrino exited with status $rc on SIGTERM, want 0"
if grep -q 'level=ERROR' "$log"; then
	fail "neutrino logged errors: $(grep 'level=ERROR' "$log" | head -n 5)"
fi

if ((${#problems[@]} > 0)); then
	echo "FAIL: $me: ${#problems[@]} error case(s) differ from Neutron:" >&2
	for p in "${problems[@]}"; do
		echo "  - $p" >&2
	done
	exit 1
fi
echo "PASS: $me"
