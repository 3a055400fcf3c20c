#!/bin/bash
# bench/netread/run.sh measures the server CPU time of a network show and
# of a full network list in a cloud where the rest of the networks carry
# what those reads decorate: 1,000 shared networks (a wildcard RBAC policy
# each), each with a subnet from a pool in an address scope, then
# loadgen's networks up to 2,000.
#
#   bench/netread/run.sh [-d SECONDS] [-c CLIENTS] [LABEL=BINARY ...]
#
# Each LABEL=BINARY is a neutrino binary (default: "tree=" a build of
# this checkout) run on a fresh SQLite file as the noauth admin. For each
# scenario (network-show, network-list-full) it prints one line: the
# label, the scenario, operations, operations/s, p50 and the server's
# CPU time (utime+stime from /proc) per operation. Needs curl, jq and
# python3.
set -euo pipefail

dur=3
clients=4
while getopts d:c: opt; do
	case $opt in
	d) dur=$OPTARG ;;
	c) clients=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

repo=$(cd "$(dirname "$0")/../.." && pwd)
NAME=netread
# shellcheck source=../lib.bash
source "$repo/bench/lib.bash"

build_tools $#
[ $# -gt 0 ] || set -- "tree=$tmp/neutrino-tree"
tck=$(getconf CLK_TCK)

for spec in "$@"; do
	label=${spec%%=*} bin=${spec#*=}
	start_server "$label" "$bin" "sqlite:///$tmp/$label.sqlite"
	post() { curl -sf -H 'Content-Type: application/json' -X POST "$ep$1" -d "$2"; }
	scope=$(post /v2.0/address-scopes '{"address_scope":{"name":"s","ip_version":4}}' | jq -r .address_scope.id)
	pool=$(post /v2.0/subnetpools "{\"subnetpool\":{\"name\":\"p\",\"prefixes\":[\"10.0.0.0/8\"],\"address_scope_id\":\"$scope\"}}" | jq -r .subnetpool.id)
	for b in $(seq 10); do
		nets=$(python3 -c "import json; print(json.dumps({'networks': [{'name': 's$b-%d' % i, 'shared': True} for i in range(100)]}))")
		ids=$(post /v2.0/networks "$nets" | jq -c '[.networks[].id]')
		post /v2.0/subnets "$(python3 -c "import json, sys; print(json.dumps({'subnets': [{'network_id': i, 'ip_version': 4, 'subnetpool_id': '$pool', 'prefixlen': 28} for i in json.loads(sys.argv[1])]}))" "$ids")" >/dev/null
	done
	for sc in network-show network-list-full; do
		c0=$(cputicks "$spid")
		line=$("$tmp/loadgen" -endpoint "$ep" -scenarios "$sc" -concurrency "$clients" -duration "${dur}s" -prepopulate 2000 -cleanup=false 2>>"$tmp/loadgen.log" | tail -1)
		c1=$(cputicks "$spid")
		ops=$(jq .ops <<<"$line")
		echo "$label $sc ops=$ops ops/s=$(jq .ops_per_s <<<"$line") p50_ms=$(jq .p50_ms <<<"$line") server_cpu_us/op=$(python3 -c "print(round(($c1 - $c0) / $tck / max($ops, 1) * 1e6))")"
	done
	kill "$spid"
	wait "$spid" 2>/dev/null || true
done
