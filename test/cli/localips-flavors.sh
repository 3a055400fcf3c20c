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
own=$(json_eval "$tmp/lip2.json" 'd["local_port_id"]')
oscj own port show "${own//\"/}"
expect "$tmp/own.json" 'd["device_owner"]' '"network:local_ip"' "the local IP's own port"

oscj lips local ip list
expect "$tmp/lips.json" 'sorted(l["Name"] for l in d)' '["lip1", "lip2"]' "local ip list"
osc local ip set --name renamed --description changed lip1
oscj shown local ip show "$lip"
expect "$tmp/shown.json" '[d["name"], d["description"]]' '["renamed", "changed"]' "local ip set"
refused "local ip create without port or network" "Either Port ID or Network ID must be specified" \
	local ip create --name nothing

oscj vm port create --network lip-net vm-port
vm=$(id_of "$tmp/vm.json")
oscj assoc local ip association create "$lip" vm-port
expect "$tmp/assoc.json" 'd["fixed_port_id"]' "\"$vm\"" "local ip association create"
expect "$tmp/assoc.json" 'd["local_ip_address"]' '"10.50.0.10"' "local ip association create"
oscj assocs local ip association list "$lip"
expect "$tmp/assocs.json" 'len(d)' '1' "local ip association list"
refused "local ip delete while associated" "is still associated with one or more ports" local ip delete "$lip"
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
refused "flavor of an unloaded service" "Invalid service type VPN" network flavor create --service-type VPN vpn
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
refused "flavor in use" "is used by some service instance" network flavor delete economy
osc router delete flavored

osc network flavor remove profile economy "$prof"
osc network flavor delete economy
osc network flavor profile delete "$prof" "$meta"
oscj plist network flavor profile list
expect "$tmp/plist.json" 'len(d)' '0' "network flavor profile delete"

stop_server || fail "neutrino all-in-one exited non-zero after SIGTERM"
echo "PASS: $me"
