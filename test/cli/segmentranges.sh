#!/usr/bin/env bash
# test/cli/segmentranges.sh — client compatibility for network segment
# ranges (the network_segment_range service plugin) with the real
# `openstack` CLI (noauth) against a built neutrino binary.
#
#   test/cli/segmentranges.sh /path/to/neutrino
#
# Lists the default ranges all-in-one makes from its ML2 configuration,
# creates a shared and a project range, shows, renames and widens one,
# checks that a project network takes its VNI from its project's range and
# that a range in use cannot be deleted, then deletes. Without the
# openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=segmentranges.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

cat >>"$conf" <<EOF

[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200

[ml2_type_vxlan]
vni_ranges = 1:1000
EOF

start_server

osc network segment range list -f json
python3 - "$out" <<'EOF' || fail "network segment range list: default ranges: $(cat "$out")"
import json, sys
rows = json.load(open(sys.argv[1]))
got = sorted((r["Network Type"], r["Physical Network"] or "", r["Minimum ID"], r["Maximum ID"], r["Default"], r["Shared"]) for r in rows)
assert got == [("vlan", "physnet1", 100, 200, True, True), ("vxlan", "", 1, 1000, True, True)], got
EOF

osc network segment range create -f json --shared --network-type vlan --physical-network physnet1 --minimum 300 --maximum 310 shared-vlan
cp "$out" "$tmp/shared.json"
expect "$tmp/shared.json" 'd["shared"]' true "range create --shared"
expect "$tmp/shared.json" 'd["default"]' false "range create --shared"
shared=$(id_of "$tmp/shared.json")

# api METHOD PATH JSON: a request to the API itself, the reply on stdout.
# The CLI takes the project of --private ranges and of --project networks
# from Keystone, which a noauth run has not: those two are made here.
api() {
	python3 - "$endpoint" "$1" "$2" "$3" <<'EOF'
import json, sys, urllib.request
endpoint, method, path, body = sys.argv[1:]
req = urllib.request.Request(endpoint + path, data=body.encode(), headers={"Content-Type": "application/json"}, method=method)
with urllib.request.urlopen(req, timeout=10) as r:
    print(json.dumps(list(json.load(r).values())[0]))
EOF
}
api POST /v2.0/network_segment_ranges '{"network_segment_range": {"name": "mine", "shared": false,
	"project_id": "cli-project", "network_type": "vxlan", "minimum": 2000, "maximum": 2001}}' >"$tmp/mine.json" ||
	fail "create a project range"
expect "$tmp/mine.json" 'd["project_id"]' '"cli-project"' "project range"
expect "$tmp/mine.json" 'd["shared"]' false "project range"
mine=$(id_of "$tmp/mine.json")

osc network segment range set --name wider --minimum 1990 --maximum 2005 "$mine"
osc network segment range show -f json "$mine"
expect "$out" 'd["name"]' '"wider"' "range set --name"
expect "$out" 'd["minimum"]' 1990 "range set --minimum"
expect "$out" 'd["maximum"]' 2005 "range set --maximum"

# A network of that project takes a VNI of its range.
api POST /v2.0/networks '{"network": {"name": "projnet", "project_id": "cli-project"}}' >"$tmp/net.json" ||
	fail "create cli-project's network"
osc network show -f json projnet
vni=$(json_eval "$out" 'd["provider:segmentation_id"]')
((vni >= 1990 && vni <= 2005)) || fail "cli-project's network has VNI $vni, want one of 1990..2005"

refused "a range in use" "is referenced by one or more project networks" network segment range delete "$mine"

osc network delete projnet
osc network segment range delete "$mine" "$shared"
osc network segment range list -f value -c ID
! grep -q -e "$mine" -e "$shared" "$out" || fail "deleted ranges still listed: $(cat "$out")"

echo "PASS: $me"
