#!/usr/bin/env bash
# test/cli/metering.sh — client compatibility for metering labels and
# rules and routers' conntrack helpers with the real `openstack` CLI
# (noauth) against a built neutrino binary.
#
#   test/cli/metering.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` (whose service plugins include metering and
# conntrack_helper); drives `network meter create/show/list/delete`,
# `network meter rule create/show/list/delete` (remote, source and
# destination prefixes, excluded, both directions) and `network l3
# conntrack helper create/set/show/list/delete`, and checks what the CLI
# reports and refuses. Without the openstack CLI the script skips, or
# fails when CI=true.

set -euo pipefail

me=metering.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# The remote prefix's deprecation warning comes ahead of the CLI's JSON.
json_after_warnings=1

start_server

# Labels.
osc network meter create -f json --description "web traffic" web
expect "$out" '[d["name"], d["description"], d["shared"]]' '["web", "web traffic", false]' "network meter create"
web=$(id_of)
osc network meter create -f json --share everyone
expect "$out" 'd["shared"]' 'true' "network meter create --share"
osc network meter show -f json web
expect "$out" 'd["id"]' "\"$web\"" "network meter show"
osc network meter list -f json
expect "$out" 'sorted(m["Name"] for m in d)' '["everyone", "web"]' "network meter list"

# Rules: the deprecated remote prefix, and source/destination prefixes.
osc network meter rule create -f json --egress --remote-ip-prefix 10.0.0.0/24 web
grep -q "The use of 'remote_ip_prefix' in metering label rules is deprecated" "$out" ||
	fail "network meter rule create --remote-ip-prefix: no deprecation warning"
expect "$out" '[d["direction"], d["remote_ip_prefix"], d["is_excluded"], d["metering_label_id"]]' \
	"[\"egress\", \"10.0.0.0/24\", false, \"$web\"]" "network meter rule create --remote-ip-prefix"
remote=$(id_of)
osc network meter rule create -f json --ingress --exclude --source-ip-prefix 192.0.2.0/24 --destination-ip-prefix 10.0.0.0/24 web
expect "$out" '[d["direction"], d["is_excluded"], d["source_ip_prefix"], d["destination_ip_prefix"], d["remote_ip_prefix"]]' \
	'["ingress", true, "192.0.2.0/24", "10.0.0.0/24", null]' "network meter rule create --source/--destination"
sd=$(id_of)
osc network meter rule show -f json "$remote"
expect "$out" 'd["remote_ip_prefix"]' '"10.0.0.0/24"' "network meter rule show"
osc network meter rule list -f json
expect "$out" 'len(d)' '2' "network meter rule list"

# Neutron's refusals reach the user.
refused "an overlapping remote prefix" "overlaps another" \
	network meter rule create --egress --remote-ip-prefix 10.0.0.128/25 web
refused "remote with source" "Cannot use 'remote-ip-prefix' in conjunction" \
	network meter rule create --egress --remote-ip-prefix 10.9.0.0/24 --source-ip-prefix 10.8.0.0/24 web
refused "no prefix" "You must define at least one of the following parameters" \
	network meter rule create --egress web
refused "a label that does not exist" "No MeteringLabel found for nosuchlabel" \
	network meter rule create --egress --remote-ip-prefix 10.7.0.0/24 nosuchlabel

osc network meter rule delete "$remote" "$sd"
osc network meter rule list -f json
expect "$out" 'len(d)' '0' "network meter rule list after delete"
osc network meter delete web everyone
osc network meter list -f json
expect "$out" 'len(d)' '0' "network meter list after delete"
refused "a deleted label" "No MeteringLabel found for web" network meter show web

# Conntrack helpers of a router.
osc router create -f json helped
router=$(id_of)
osc network l3 conntrack helper create -f json --helper tftp --protocol udp --port 69 "$router"
expect "$out" '[d["helper"], d["protocol"], d["port"]]' '["tftp", "udp", 69]' "network l3 conntrack helper create"
cth=$(id_of)
osc network l3 conntrack helper set --port 6969 "$router" "$cth"
osc network l3 conntrack helper show -f json "$router" "$cth"
expect "$out" 'd["port"]' '6969' "network l3 conntrack helper show after set"
osc network l3 conntrack helper list -f json "$router"
expect "$out" '[[h["Helper"], h["Protocol"], h["Port"]] for h in d]' '[["tftp", "udp", 6969]]' "network l3 conntrack helper list"
refused "a helper not allowed" "Conntrack Helper http is not allowed" \
	network l3 conntrack helper create --helper http --protocol tcp --port 80 "$router"
osc network l3 conntrack helper delete "$router" "$cth"
osc network l3 conntrack helper list -f json "$router"
expect "$out" 'len(d)' '0' "network l3 conntrack helper list after delete"

stop_server || fail "neutrino all-in-one did not stop cleanly"
echo "ok: $me"
