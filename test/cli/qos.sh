#!/usr/bin/env bash
# test/cli/qos.sh — client compatibility for QoS with the real `openstack`
# CLI (noauth) against a built neutrino binary.
#
#   test/cli/qos.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` (service plugin qos, [ml2] extension_drivers
# = port_security,qos, the linuxbridge mechanism driver); drives `network
# qos policy create/set/show/list/delete`, `network qos rule
# create/set/show/list/delete` for every rule type, `network qos rule type
# list/show`, `network create/set --qos-policy`, `port create/set/unset
# --qos-policy` and `floating ip create --qos-policy`, and checks what the
# CLI reports and refuses. Without the openstack CLI the script skips, or
# fails when CI=true.

set -euo pipefail

me=qos.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# A VLAN physical network, where Placement can guarantee bandwidth.
cat >>"$conf" <<EOF

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200
EOF

start_server

# Rule types: what the linuxbridge driver enforces.
osc network qos rule type list -f json
expect "$out" 'sorted(r["Type"] for r in d)' '["bandwidth_limit", "dscp_marking"]' "rule type list"
osc network qos rule type show -f json bandwidth_limit
expect "$out" '[x["name"] for x in d["drivers"]]' '["linuxbridge"]' "rule type show"

# Policies.
osc network qos policy create -f json --description "eight megabits" gold
gold=$(id_of)
expect "$out" '[d["name"], d["description"], d["shared"], d["is_default"]]' '["gold", "eight megabits", false, false]' "policy create"
osc network qos policy set --share --default --name gold8 "$gold"
osc network qos policy show -f json "$gold"
expect "$out" '[d["name"], d["shared"], d["is_default"]]' '["gold8", true, true]' "policy set"
osc network qos policy create -f json --no-default silver
silver=$(id_of)
refused "a second default policy" "QoSPolicyDefaultAlreadyExists\|default QoS policy exists" \
	network qos policy set --default "$silver"
osc network qos policy list -f json
expect "$out" 'sorted(p["Name"] for p in d)' '["gold8", "silver"]' "policy list"

# Rules of every type.
osc network qos rule create -f json --type bandwidth-limit --max-kbps 8000 --max-burst-kbits 800 --egress gold8
bw=$(id_of)
expect "$out" '[d["max_kbps"], d["max_burst_kbps"], d["direction"]]' '[8000, 800, "egress"]' "bandwidth limit rule"
osc network qos rule create -f json --type bandwidth-limit --max-kbps 4000 --ingress gold8
refused "a second egress limit" "QoSRulesConflict\|conflicts with rule" \
	network qos rule create --type bandwidth-limit --max-kbps 1 --egress gold8
osc network qos rule create -f json --type dscp-marking --dscp-mark 26 gold8
dscp=$(id_of)
refused "an invalid DSCP mark" "dscp_mark\|valid" network qos rule create --type dscp-marking --dscp-mark 9 silver
osc network qos rule create -f json --type minimum-bandwidth --min-kbps 1000 --egress silver
osc network qos rule create -f json --type minimum-packet-rate --min-kpps 100 --any silver
osc network qos rule set --max-kbps 9000 gold8 "$bw"
osc network qos rule show -f json gold8 "$bw"
expect "$out" 'd["max_kbps"]' '9000' "rule set"
osc network qos rule set --dscp-mark 34 gold8 "$dscp"
osc network qos rule list -f json gold8
expect "$out" 'len(d)' '3' "rule list"
osc network qos policy show -f json gold8
expect "$out" 'sorted(r["type"] for r in d["rules"])' '["bandwidth_limit", "bandwidth_limit", "dscp_marking"]' "policy rules"

# Networks and ports. The project's new network gets the default policy.
osc network create -f json qosnet
expect "$out" 'd["qos_policy_id"]' "\"$gold\"" "network with the default policy"
osc network set --no-qos-policy qosnet
osc network show -f json qosnet
expect "$out" 'd["qos_policy_id"]' 'null' "network set --no-qos-policy"
osc network set --qos-policy gold8 qosnet
# silver's minimums: an unbound port's minimum bandwidth is a request to
# Placement, which knows no tunnel's bandwidth, so on the VXLAN network
# Neutron refuses the port; on a VLAN network it takes it.
refused "a port whose policy has minimum rules" "QosRuleNotSupported\|is not supported by port" \
	port create --network qosnet --qos-policy silver p0
osc port create -f json --network qosnet p1
p1=$(id_of)
refused "giving a port a policy with minimum rules" "QosRuleNotSupported\|is not supported by port" \
	port set --qos-policy silver "$p1"
osc network create -f json --provider-network-type vlan --provider-physical-network physnet1 qosvlan
osc port create -f json --network qosvlan --qos-policy silver p2
p2=$(id_of)
expect "$out" 'd["qos_policy_id"]' "\"$silver\"" "port create --qos-policy on a VLAN network"
osc port delete "$p2"
osc network delete qosvlan
osc port set --qos-policy gold8 "$p1"
osc port show -f json "$p1"
expect "$out" 'd["qos_policy_id"]' "\"$gold\"" "port set --qos-policy"
osc port unset --qos-policy "$p1"
osc port show -f json "$p1"
expect "$out" '[d["qos_policy_id"], d["qos_network_policy_id"]]' "[null, \"$gold\"]" "port unset --qos-policy"
refused "deleting a policy in use" "QosPolicyInUse\|in use\|is used by" network qos policy delete gold8

# Floating IPs.
osc network create -f json --external ext
osc subnet create -f json --network ext --subnet-range 172.24.60.0/24 extsub
osc floating ip create -f json --qos-policy silver ext
fip=$(id_of)
expect "$out" 'd["qos_policy_id"]' "\"$silver\"" "floating ip create --qos-policy"
osc floating ip unset --qos-policy "$fip"
osc floating ip delete "$fip"
# The project's external network took the default policy too.
osc network show -f json ext
expect "$out" 'd["qos_policy_id"]' "\"$gold\"" "external network with the default policy"
osc subnet delete extsub
osc network delete ext

# Clean up: rules, then policies once nothing uses them.
osc network qos rule delete gold8 "$dscp"
refused "a deleted rule" "QosRuleNotFound\|could not be found\|not found" network qos rule show gold8 "$dscp"
osc port delete "$p1"
osc network delete qosnet
osc network qos policy delete gold8 silver
osc network qos policy list -f json
expect "$out" 'len(d)' '0' "policies after delete"

echo "PASS: $me"
