#!/usr/bin/env bash
# test/cli/localips-flavors.sh — client compatibility: the real `openstack`
# CLI (python3-openstackclient, noauth) against a built neutrino binary, for
# local IPs and their associations (service plugin local_ip) and network
# flavors, flavor profiles and router flavors (service plugin flavors).
#
#   test/cli/localips-flavors.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` on a free loopback port with its state in a
# temporary directory and drives each resource through its life with the
# CLI, asserting on its `-f json` output with python3. Without the
# openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=localips-flavors.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# oscj NAME ARGS...: osc ARGS... -f json, with the output kept in $tmp/NAME.json.
oscj() {
	local name=$1
	shift
	osc "$@" -f json
	cp "$out" "$tmp/$name.json"
}
# jq_py FILE EXPR: the JSON encoding of the python expression EXPR with d
# bound to FILE's decoded JSON; object keys come out sorted.
jq_py() {
	python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
print(json.dumps(eval(sys.argv[2], {"d": d}), sort_keys=True))
PY
}
# expect FILE EXPR JSON WHAT: jq_py FILE EXPR must print JSON.
expect() {
	local got
	got=$(jq_py "$1" "$2") || fail "$4: cannot evaluate $2 on $(tr -d '\n' <"$1")"
	[[ $got == "$3" ]] || fail "$4: $2 is $got, want $3 (in $(tr -d '\n\t ' <"$1"))"
}
# id_of FILE: the "id" member of FILE, unquoted.
id_of() {
	local id
	id=$(jq_py "$1" 'd["id"]') || fail "not a JSON object with an id: $(cat "$1")"
	echo "${id//\"/}"
}
# osc_fails WHAT MESSAGE ARGS...: the command must fail, printing MESSAGE.
osc_fails() {
	local what=$1 msg=$2
	shift 2
	if openstack --os-auth-type none --os-endpoint "$endpoint" "$@" >"$out" 2>&1; then
		fail "$what: openstack $* succeeded, but must fail"
	fi
	grep -qF -- "$msg" "$out" || fail "$what: no '$msg' in: $(cat "$out")"
}

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint"
start_server

# --- local IPs --------------------------------------------------------------
oscj net network create lip-net
oscj sub subnet create --network lip-net --subnet-range 10.50.0.0/24 lip-sub
oscj port port create --network lip-net --fixed-ip ip-address=10.50.0.10 lip-port
port=$(id_of "$tmp/port.json")

oscj lip local ip create --name lip1 --description "from a port" --local-port lip-port
lip=$(id_of "$tmp/lip.json")
expect "$tmp/lip.json" 'd["local_ip_address"]' '"10.50.0.10"' "local ip create --local-port"
expect "$tmp/lip.json" 'd["ip_mode"]' '"translate"' "local ip create"
expect "$tmp/lip.json" 'd["local_port_id"]' "\"$port\"" "local ip create --local-port"

oscj lip2 local ip create --name lip2 --network lip-net --local-ip-address 10.50.0.77 --ip-mode passthrough
lip2=$(id_of "$tmp/lip2.json")
expect "$tmp/lip2.json" 'd["local_ip_address"]' '"10.50.0.77"' "local ip create --network"
expect "$tmp/lip2.json" 'd["ip_mode"]' '"passthrough"' "local ip create --ip-mode"
own=$(jq_py "$tmp/lip2.json" 'd["local_port_id"]')
oscj own port show "${own//\"/}"
expect "$tmp/own.json" 'd["device_owner"]' '"network:local_ip"' "the local IP's own port"

oscj lips local ip list
expect "$tmp/lips.json" 'sorted(l["Name"] for l in d)' '["lip1", "lip2"]' "local ip list"
osc local ip set --name renamed --description changed lip1
oscj shown local ip show "$lip"
expect "$tmp/shown.json" '[d["name"], d["description"]]' '["renamed", "changed"]' "local ip set"
osc_fails "local ip create without port or network" "Either Port ID or Network ID must be specified" \
	local ip create --name nothing

oscj vm port create --network lip-net vm-port
vm=$(id_of "$tmp/vm.json")
oscj assoc local ip association create "$lip" vm-port
expect "$tmp/assoc.json" 'd["fixed_port_id"]' "\"$vm\"" "local ip association create"
expect "$tmp/assoc.json" 'd["local_ip_address"]' '"10.50.0.10"' "local ip association create"
oscj assocs local ip association list "$lip"
expect "$tmp/assocs.json" 'len(d)' '1' "local ip association list"
osc_fails "local ip delete while associated" "is still associated with one or more ports" local ip delete "$lip"
# The CLI sends the fixed port as given: an id, as Neutron needs.
osc local ip association delete "$lip" "$vm"
oscj assocs local ip association list "$lip"
expect "$tmp/assocs.json" 'len(d)' '0' "local ip association delete"
osc local ip delete "$lip" "$lip2"
oscj lips local ip list
expect "$tmp/lips.json" 'len(d)' '0' "local ip delete"

# --- flavors and flavor profiles ----------------------------------------------
oscj prof network flavor profile create --description "single node" \
	--driver neutron.services.l3_router.service_providers.single_node.SingleNodeDriver
prof=$(id_of "$tmp/prof.json")
expect "$tmp/prof.json" 'd["enabled"]' 'true' "network flavor profile create"
oscj meta network flavor profile create --metainfo '{"data": "value"}' --disable
meta=$(id_of "$tmp/meta.json")
expect "$tmp/meta.json" '[d["meta_info"], d["enabled"]]' '["{\"data\": \"value\"}", false]' "network flavor profile create --metainfo"

oscj flavor network flavor create --service-type L3_ROUTER_NAT --description "economy" economy
flavor=$(id_of "$tmp/flavor.json")
expect "$tmp/flavor.json" '[d["service_type"], d["enabled"]]' '["L3_ROUTER_NAT", true]' "network flavor create"
osc_fails "flavor of an unloaded service" "Invalid service type VPN" network flavor create --service-type VPN vpn
osc network flavor add profile economy "$prof"
oscj fshown network flavor show economy
expect "$tmp/fshown.json" 'd["service_profile_ids"]' "[\"$prof\"]" "network flavor add profile"
osc network flavor set --description "economy class" economy
oscj flist network flavor list
expect "$tmp/flist.json" '[f["Name"] for f in d]' '["economy"]' "network flavor list"

oscj router router create --extra-property type=str,name=flavor_id,value="$flavor" flavored
router=$(id_of "$tmp/router.json")
oscj rshown router show flavored
expect "$tmp/rshown.json" 'd["flavor_id"]' "\"$flavor\"" "router create with a flavor"
osc_fails "flavor in use" "is used by some service instance" network flavor delete economy
osc router delete flavored

osc network flavor remove profile economy "$prof"
osc network flavor delete economy
osc network flavor profile delete "$prof" "$meta"
oscj plist network flavor profile list
expect "$tmp/plist.json" 'len(d)' '0' "network flavor profile delete"

stop_server || fail "neutrino all-in-one exited non-zero after SIGTERM"
echo "PASS: $me"
