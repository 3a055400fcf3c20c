#!/usr/bin/env bash
# test/cli/ml2.sh — client compatibility for ML2: provider networks, the
# segments API and network MTUs with the real `openstack` CLI (noauth)
# against a built neutrino binary.
#
#   test/cli/ml2.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` with VLAN ranges on physnet1 and a flat
# physical network, creates provider networks with the CLI, lists their
# segments and checks what `network show` reports. Without the openstack
# CLI the script skips, or fails when CI=true.

set -euo pipefail

me=ml2.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

cat >>"$conf" <<EOF

[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200

[ml2_type_flat]
flat_networks = extnet

[ml2_type_vxlan]
vni_ranges = 1:1000
EOF

start_server

osc network create --provider-network-type vlan --provider-physical-network physnet1 --provider-segment 101 -f json net
cp "$out" "$tmp/vlan.json"
id=$(id_of "$tmp/vlan.json")
osc network show -f json "$id"
cp "$out" "$tmp/show.json"
expect "$tmp/show.json" 'd["provider:network_type"]' '"vlan"' "network show"
expect "$tmp/show.json" 'd["provider:physical_network"]' '"physnet1"' "network show"
expect "$tmp/show.json" 'd["provider:segmentation_id"]' 101 "network show"
expect "$tmp/show.json" 'd["mtu"]' 1500 "network show"

# The same VLAN again is refused.
refused "a second network on VLAN 101" "VLAN 101 on physical network physnet1 is in use" \
	network create --provider-network-type vlan --provider-physical-network physnet1 --provider-segment 101 dup

osc network create --provider-network-type flat --provider-physical-network extnet -f json ext
cp "$out" "$tmp/flat.json"
expect "$tmp/flat.json" 'd["provider:network_type"]' '"flat"' "flat network create"
expect "$tmp/flat.json" 'd["provider:segmentation_id"]' null "flat network create"

osc network create -f json project-net
cp "$out" "$tmp/vx.json"
expect "$tmp/vx.json" 'd["provider:network_type"]' '"vxlan"' "project network"
# A free VNI of all-in-one's 1:1000, drawn at random as Neutron draws it.
vni=$(json_eval "$tmp/vx.json" 'd["provider:segmentation_id"]') || fail "project network: $(cat "$tmp/vx.json")"
[[ $vni =~ ^[0-9]+$ ]] && ((vni >= 1 && vni <= 1000)) || fail "project network: provider:segmentation_id is $vni, want a VNI in 1..1000"
expect "$tmp/vx.json" 'd["mtu"]' 1450 "project network"

osc network segment list -f json --network "$id"
python3 - "$out" <<'EOF' || fail "network segment list: $(cat "$out")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1, rows
r = rows[0]
assert r["Network Type"] == "vlan" and r["Segment"] == 101, r
EOF
seg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["ID"])' "$out")
osc network segment set --name rack1 "$seg"
osc network segment show -f json "$seg"
expect "$out" 'd["name"]' '"rack1"' "network segment show"
expect "$out" 'd["physical_network"]' '"physnet1"' "network segment show"

osc network delete "$id"
osc network create --provider-network-type vlan --provider-physical-network physnet1 --provider-segment 101 -f json again
echo "PASS: $me"
