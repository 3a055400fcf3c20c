#!/usr/bin/env bash
# test/cli/trunks.sh — client compatibility for trunks and the port
# binding extensions with the real `openstack` CLI (noauth) against a
# built neutrino binary.
#
#   test/cli/trunks.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` (whose service plugins include trunk) with
# ML2's extension drivers for NUMA affinity policies, device profiles,
# uplink status propagation and data plane status; drives `network trunk
# create/set --subport/unset --subport/show/list/delete`, `network subport
# list`, and `port create/set/unset` with the drivers' options, and checks
# what the CLI reports and refuses. Without the openstack CLI the script
# skips, or fails when CI=true.

set -euo pipefail

me=trunks.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

cat >>"$conf" <<EOF

[ml2]
extension_drivers = port_security,port_numa_affinity_policy,port_device_profile,uplink_status_propagation,data_plane_status
EOF

start_server

osc network create -f json trunknet
osc port create -f json --network trunknet parent
parent=$(id_of)
osc port create -f json --network trunknet child1
child1=$(id_of)
osc port create -f json --network trunknet child2
child2=$(id_of)

# A trunk with one sub-port, then a second added and the first removed.
osc network trunk create -f json --parent-port parent --subport "port=child1,segmentation-type=vlan,segmentation-id=100" trunk1
cp "$out" "$tmp/trunk.json"
expect "$tmp/trunk.json" 'd["status"]' '"DOWN"' "network trunk create"
expect "$tmp/trunk.json" 'd["port_id"]' "\"$parent\"" "network trunk create"
expect "$tmp/trunk.json" '[[s["port_id"], s["segmentation_type"], s["segmentation_id"]] for s in d["sub_ports"]]' \
	"[[\"$child1\", \"vlan\", 100]]" "network trunk create"
osc network trunk set --subport "port=child2,segmentation-type=vlan,segmentation-id=200" trunk1
osc network subport list -f json --trunk trunk1
expect "$out" 'sorted(s["Segmentation ID"] for s in d)' '[100, 200]' "network subport list"
osc network trunk unset --subport child1 trunk1
osc network trunk show -f json trunk1
expect "$out" '[s["port_id"] for s in d["sub_ports"]]' "[\"$child2\"]" "network trunk show after unset"
osc network trunk list -f json
expect "$out" '[t["Name"] for t in d]' '["trunk1"]' "network trunk list"
osc port show -f json parent
expect "$out" '[s["segmentation_id"] for s in d["trunk_details"]["sub_ports"]]' '[200]' "port show of the parent"

# Neutron's refusals reach the user.
refused "duplicate segmentation" "already in use on trunk" \
	network trunk set --subport "port=child1,segmentation-type=vlan,segmentation-id=200" trunk1
refused "parent deleted" "is currently a parent port for trunk" port delete parent
refused "sub-port deleted" "is currently a subport for trunk" port delete child2
osc network trunk set --disable trunk1
refused "disabled trunk" "is currently disabled" network trunk delete trunk1
osc network trunk set --enable --name trunk-renamed trunk1
osc network trunk delete trunk-renamed
refused "trunk deleted" "trunk-renamed" network trunk show trunk-renamed
osc port delete child2

# The port binding extensions' attributes.
osc port create -f json --network trunknet --numa-policy-preferred --device-profile gpu-profile \
	--disable-uplink-status-propagation attrs
cp "$out" "$tmp/attrs.json"
expect "$tmp/attrs.json" 'd["numa_affinity_policy"]' '"preferred"' "port create --numa-policy-preferred"
expect "$tmp/attrs.json" 'd["device_profile"]' '"gpu-profile"' "port create --device-profile"
expect "$tmp/attrs.json" 'd["propagate_uplink_status"]' 'false' "port create --disable-uplink-status-propagation"
osc port set --numa-policy-legacy --data-plane-status DOWN attrs
osc port show -f json attrs
expect "$out" 'd["numa_affinity_policy"]' '"legacy"' "port set --numa-policy-legacy"
expect "$out" 'd["data_plane_status"]' '"DOWN"' "port set --data-plane-status"
osc port unset --numa-policy --data-plane-status attrs
osc port show -f json attrs
expect "$out" 'd["numa_affinity_policy"]' 'null' "port unset --numa-policy"
expect "$out" 'd["data_plane_status"]' 'null' "port unset --data-plane-status"
refused "bad data plane status" "invalid choice\|valid_values" port set --data-plane-status SIDEWAYS attrs

osc extension list -f json --network
for alias in trunk trunk-details binding-extended port-numa-affinity-policy port-device-profile uplink-status-propagation \
	data-plane-status port-mac-address-regenerate port-mac-override port-security-groups-filtering; do
	grep -q "\"$alias\"" "$out" || fail "extension $alias not listed"
done

stop_server || fail "neutrino all-in-one did not stop cleanly"
echo "PASS: $me"
