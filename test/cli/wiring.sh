#!/usr/bin/env bash
# test/cli/wiring.sh — the all-in-one promise through the real `openstack`
# CLI: `network create` + `subnet create` + `port create --host` make the
# in-process agent wire a real bridge, VXLAN device and DHCP namespace
# with dnsmasq, and the port goes ACTIVE once its tap appears; deleting
# them unwires everything.
#
#   test/cli/wiring.sh /path/to/neutrino
#
# Needs root. The agent builds its data plane in a namespace this script
# creates ([agent] network_namespace), never in the machine's own.

set -euo pipefail

me=wiring.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

if [[ $(id -u) != 0 ]]; then
	in_ci && fail "needs root to create network namespaces"
	echo "SKIP: $me: needs root to create network namespaces"
	exit 0
fi
for prog in ip dnsmasq; do
	command -v "$prog" >/dev/null 2>&1 || fail "$prog is not installed (Debian packages iproute2, dnsmasq-base)"
done

ns=neutrino-cli-wiring-$$
net=""
wiring_cleanup() {
	stop_server || true
	# The agent leaves dnsmasq serving when it stops (leases survive
	# restarts); a failed run may have left the network behind.
	if [[ -n $net ]] && grep -q "^qdhcp-$net" <<<"$(ip netns list)"; then
		ip netns pids "qdhcp-$net" | xargs -r kill 2>/dev/null || true
		ip netns delete "qdhcp-$net" || true
	fi
	ip netns delete "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap wiring_cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

host=cli-wiring-$$
cat >"$conf" <<EOF
[DEFAULT]
state_path = $tmp/state
bind_port = $port
host = $host

[agent]
in_process = true
network_namespace = $ns
EOF

# dnsmasq drops to an unprivileged user and re-reads its files as that
# user: under mktemp -d's private directory (mode 0700) the agent refuses
# to start, naming the directory, instead of answering "no address
# available" after the first change.
rc=0
timeout 20 "$bin" all-in-one --config-file "$conf" >"$tmp/refused.log" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "all-in-one started (status $rc) with state_path under a mode-0700 $tmp"
grep -qF "chmod o+x $tmp" "$tmp/refused.log" || fail "refusal does not name $tmp: $(cat "$tmp/refused.log")"
chmod 711 "$tmp"
start_server

# wait_for WHAT CMD...: retry CMD for up to 20 s.
wait_for() {
	local what=$1 deadline=$((SECONDS + 20))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out waiting for $what"
		sleep 0.2
	done
}

osc network create wiring -f value -c id
net=$(tr -d '\n' <"$out")
osc subnet create --network wiring --subnet-range 10.67.0.0/24 wiring-v4
osc port create --network wiring --host "$host" --device-owner compute:nova wiring-port -f value -c id
portid=$(tr -d '\n' <"$out")
bridge=brq${net:0:11}
tap=tap${portid:0:11}

has_dnsmasq() { # has_dnsmasq NS: a dnsmasq runs in NS
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == dnsmasq ]] && return 0
	done
	return 1
}
wait_for "dnsmasq in qdhcp-$net" has_dnsmasq "qdhcp-$net"
wait_for "$bridge in $ns" ip -n "$ns" link show "$bridge"
ip link show "$bridge" >/dev/null 2>&1 && fail "$bridge was built in the machine's own namespace"

# os-vif's part: the VM's tap appears on the host.
ip -n "$ns" link add "$tap" type veth peer name vm0
ip -n "$ns" link set vm0 up
ip -n "$ns" link set "$tap" up
port_active() {
	openstack --os-auth-type none --os-endpoint "$endpoint" port show "$portid" -f value -c status | grep -qx ACTIVE
}
wait_for "port $portid ACTIVE" port_active
ip -n "$ns" -o link show "$tap" | grep -q "master $bridge" || fail "$tap is not in $bridge: $(ip -n "$ns" -o link show "$tap")"
# Not `ip … | grep -q`: grep leaves early, ip dies of SIGPIPE, and
# pipefail turns a match into a failure.
grep -q 'vxlan id' <<<"$(ip -n "$ns" -o -d link show)" || fail "no VXLAN device in $ns"
osc port show "$portid" -f value -c binding_vif_type
[[ $(tr -d '\n' <"$out") == bridge ]] || fail "binding:vif_type $(cat "$out"), want bridge"

osc port delete "$portid"
osc network delete wiring
gone() { ! grep -q "^qdhcp-$net" <<<"$(ip netns list)" && ! ip -n "$ns" link show "$bridge"; }
wait_for "qdhcp-$net and $bridge gone" gone
net=""

stop_server || fail "neutrino all-in-one did not stop cleanly"
echo "PASS: $me"
