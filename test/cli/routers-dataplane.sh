#!/usr/bin/env bash
# test/cli/routers-dataplane.sh — routers on the data plane through the
# real `openstack` CLI: all-in-one's in-process agent (L2, DHCP, L3) builds
# a router created with `router create`, `router set --external-gateway`
# and `router add subnet`, and a floating IP created and attached with
# `floating ip create` / `floating ip set --port`: a "VM" reaches an
# "outside" host through SNAT (seen as the router's gateway address), the
# outside reaches the VM at its floating IP, and deleting everything
# leaves no router namespace.
#
#   test/cli/routers-dataplane.sh /path/to/neutrino
#
# Needs root. The agent builds its data plane in a namespace this script
# creates ([agent] network_namespace), never in the machine's own; the VM
# and the outside host are namespaces too, and traffic only flows between
# them.

set -euo pipefail

me=routers-dataplane.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

if [[ $(id -u) != 0 ]]; then
	in_ci && fail "needs root to create network namespaces"
	echo "SKIP: $me: needs root to create network namespaces"
	exit 0
fi
for prog in ip dnsmasq busybox python3; do
	command -v "$prog" >/dev/null 2>&1 || fail "$prog is not installed (Debian packages iproute2, dnsmasq-base, busybox)"
done

ns=ncli-rt-$$
outside=ncli-rt-out-$$
vm=ncli-rt-vm-$$
router=""
net=""
rt_cleanup() {
	stop_server || true
	local n
	for n in ${router:+qrouter-$router} ${net:+qdhcp-$net} "$vm" "$outside" "$ns"; do
		if ip netns list | grep -q "^$n\b"; then
			ip netns pids "$n" | xargs -r kill 2>/dev/null || true
			ip netns delete "$n" || true
		fi
	done
	rm -rf "$tmp"
}
trap rt_cleanup EXIT
for n in "$ns" "$outside" "$vm"; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
# The external network's wire: ext0 in the agent's namespace, eth0 of
# the outside host at the other end.
ip -n "$ns" link add ext0 type veth peer name eth0 netns "$outside"
ip -n "$ns" link set ext0 up
ip -n "$outside" addr add 203.0.113.1/24 dev eth0
ip -n "$outside" link set eth0 up

host=cli-rt-$$
cat >"$conf" <<EOF
[DEFAULT]
state_path = $tmp/state
bind_port = $port
host = $host

[linux_bridge]
physical_interface_mappings = public:ext0

[agent]
in_process = true
network_namespace = $ns
EOF
# dnsmasq drops to an unprivileged user that must reach its files.
chmod 711 "$tmp"
start_server

# wait_for WHAT CMD...: retry CMD for up to 30 s.
wait_for() {
	local what=$1 deadline=$((SECONDS + 30))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out waiting for $what"
		sleep 0.2
	done
}
value() { tr -d '\n' <"$out"; }

osc network create public --external --provider-network-type flat --provider-physical-network public -f value -c id
osc subnet create --network public --subnet-range 203.0.113.0/24 --gateway 203.0.113.1 --no-dhcp public-v4
osc network create inside -f value -c id
net=$(value)
osc subnet create --network inside --subnet-range 10.68.0.0/24 inside-v4 -f value -c id
osc router create r1 -f value -c id
router=$(value)
osc router set --external-gateway public r1
osc router add subnet r1 inside-v4
osc router show r1 -f json -c external_gateway_info
gw=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["external_gateway_info"]["external_fixed_ips"][0]["ip_address"])' "$out")

osc port create --network inside --host "$host" --device-owner compute:nova vm-port -f json
read -r portid mac ip < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["id"], p["mac_address"], p["fixed_ips"][0]["ip_address"])' "$out")
# os-vif's part: the VM's tap on the host, its eth0 in the VM.
ip -n "$ns" link add "tap${portid:0:11}" type veth peer name eth0 netns "$vm"
ip -n "$vm" link set eth0 address "$mac"
ip -n "$vm" link set eth0 up
ip -n "$ns" link set "tap${portid:0:11}" up
ip -n "$vm" addr add "$ip/24" dev eth0
ip -n "$vm" route add default via 10.68.0.1

wait_for "router namespace qrouter-$router" ip netns exec "qrouter-$router" true
ip -n "$ns" link show >/dev/null
ip link show "tap${portid:0:11}" >/dev/null 2>&1 && fail "the VM's tap was built in the machine's own namespace"

wait_for "the VM reaching the outside through the router" ip netns exec "$vm" busybox ping -c 1 -W 1 203.0.113.1
# The outside has no route to 10.68.0.0/24: a reply proves SNAT, and the
# outside's neighbour table holds the gateway address, not the VM's.
ip -n "$outside" neigh show | grep -q "$gw" || fail "the outside never heard from the gateway address $gw"

osc floating ip create public -f value -c floating_ip_address
fip=$(value)
osc floating ip set --port vm-port "$fip"
wait_for "the outside reaching the VM at its floating IP $fip" ip netns exec "$outside" busybox ping -c 1 -W 1 "$fip"
osc floating ip show "$fip" -f value -c status
wait_for "floating IP ACTIVE" sh -c "openstack --os-auth-type none --os-endpoint $endpoint floating ip show $fip -f value -c status | grep -qx ACTIVE"

osc floating ip unset --port "$fip"
wait_for "the floating IP unreachable once detached" sh -c "! ip netns exec $outside busybox ping -c 1 -W 1 $fip"
osc floating ip delete "$fip"
osc port delete vm-port
osc router remove subnet r1 inside-v4
osc router delete r1
wait_for "qrouter-$router gone" sh -c "! ip netns list | grep -q '^qrouter-$router'"
router=""

stop_server || fail "neutrino all-in-one did not stop cleanly"
echo "PASS: $me"
