#!/bin/bash
# bench/pgscale/run.sh measures Neutrino's writes and shows on PostgreSQL
# against the limits of the same machine, in one run: pgbench's
# single-INSERT commit rate on the same cluster, and a trivial Go HTTP
# server (loadgen -floor) for show-port. Every figure is printed with its
# ratio to the limit, since the machine is shared and noisy.
#
#   bench/pgscale/run.sh [-d SECONDS] [-p] [LABEL=BINARY ...]
#
# Each LABEL=BINARY is a neutrino binary run in turn on a fresh database
# of one throwaway cluster (default: "tree=" a build of this checkout).
# -d is the length of each measured run (default 5); -p records a CPU
# profile of the server during each 16-client run (Go's pprof through
# [DEFAULT] metrics_bind, or perf for a binary without it) and prints its
# top entries (flat). While the 16-client write runs go, the
# backends' wait events (pg_stat_activity) are sampled every 0.1 s and the
# commonest are printed. Results go to standard output as JSON lines
# (loadgen's, with "label", "limit" and "ratio" added); the summary and
# progress go to standard error. Runs as root (PostgreSQL as postgres).
set -euo pipefail

dur=5
profile=false
while getopts d:p opt; do
	case $opt in
	d) dur=$OPTARG ;;
	p) profile=true ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

repo=$(cd "$(dirname "$0")/../.." && pwd)
NAME=pgscale
# shellcheck source=../lib.bash
source "$repo/bench/lib.bash"
log() { echo "pgscale: $*" >&2; }

build_tools $#
[ $# -gt 0 ] || set -- "tree=$tmp/neutrino-tree"

# The cluster: synchronous_commit off, the all-in-one default's durability
# (see bench/README.md); pgbench runs on the same settings.
start_cluster

# The write limit: one-row INSERT transactions per second.
"${psql[@]}" -c 'create database pgb' postgres
"${psql[@]}" -c 'create table ins (id bigserial primary key, v text not null, at timestamptz not null default now())' pgb
echo "insert into ins (v) values ('x');" >"$tmp/insert.sql"
declare -A pgtps
for c in 1 16; do
	out=$(pgbench -h 127.0.0.1 -p "$pgport" -U postgres -n -M prepared -f "$tmp/insert.sql" -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -T "$dur" pgb 2>&1)
	pgtps[$c]=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
	echo "{\"scenario\":\"pgbench-insert\",\"concurrency\":$c,\"ops_per_s\":${pgtps[$c]},\"status\":\"ok\"}"
	log "pgbench single INSERT, $c clients: ${pgtps[$c]} tps"
done

# The HTTP limit: a trivial Go server answering every GET with one port.
fport=$(freeport)
"$tmp/loadgen" -floor "127.0.0.1:$fport" 2>/dev/null &
pids+=($!)
sleep 0.5
declare -A floor
while read -r line; do
	echo "$line"
	floor[$(jq -r .concurrency <<<"$line")]=$(jq -r .ops_per_s <<<"$line")
done < <("$tmp/loadgen" -endpoint "http://127.0.0.1:$fport" -scenarios port-show -concurrency 1,16 -duration "${dur}s" -cleanup=false 2>/dev/null)
log "trivial HTTP server, show: 1 client ${floor[1]}/s, 16 clients ${floor[16]}/s"

# sample DB SECONDS: the commonest wait events of the database's active
# backends ("CPU" when a backend waits on nothing).
sample() {
	local db=$1 end=$((SECONDS + $2))
	while [ $SECONDS -lt "$end" ]; do
		"${psql[@]}" -Atc "select coalesce(wait_event_type || ':' || wait_event, 'CPU') from pg_stat_activity
			where datname = '$db' and state = 'active' and pid <> pg_backend_pid()" postgres 2>/dev/null || true
		sleep 0.1
	done | sort | uniq -c | sort -rn | head -6 | awk '{printf "%s%s %s", (NR>1?", ":""), $2, $1}' || true
}

# VXLAN project networks with a range wide enough for every create.
vxlan='[ml2]
type_drivers = local,flat,vlan,vxlan
project_network_types = vxlan
mechanism_drivers = linuxbridge,l2population
[ml2_type_vxlan]
vni_ranges = 1:16000000'

summary=()
for spec in "$@"; do
	label=${spec%%=*} bin=${spec#*=}
	db="n_$label"
	"${psql[@]}" -c "create database \"$db\"" postgres
	start_server "$label" "$bin" "postgresql://postgres@127.0.0.1:$pgport/$db?sslmode=disable" "$vxlan"
	for sc in network-create port-create port-show; do
		for c in 1 16; do
			limit=${pgtps[$c]} limitname=pgbench-insert
			[ $sc = port-show ] && limit=${floor[$c]} limitname=http-floor
			waits="" prof=""
			if [ $c = 16 ] && [ $sc != port-show ]; then
				sample "$db" "$dur" >"$tmp/waits" &
				spl=$!
			fi
			if [ $c = 16 ] && $profile; then
				# Go's profiler where the binary serves it (metrics_bind),
				# perf's samples of the process otherwise.
				if curl -sf "http://127.0.0.1:$mport/debug/pprof/" >/dev/null; then
					curl -sf -o "$tmp/cpu.pprof" "http://127.0.0.1:$mport/debug/pprof/profile?seconds=$((dur > 1 ? dur - 1 : 1))" &
				else
					perf record -q --all-user -F 499 -g -p "$spid" -o "$tmp/perf.data" -- sleep "$dur" >/dev/null 2>&1 &
				fi
				prf=$!
			fi
			line=$("$tmp/loadgen" -endpoint "http://127.0.0.1:$port" -scenarios $sc -concurrency $c -duration "${dur}s" -cleanup=false 2>>"$tmp/loadgen.log" | tail -1)
			if [ $c = 16 ] && [ $sc != port-show ]; then
				wait $spl || true
				waits=$(cat "$tmp/waits")
			fi
			if [ $c = 16 ] && $profile; then
				wait $prf || true
				if [ -s "$tmp/cpu.pprof" ]; then
					prof=$(go tool pprof -top -nodecount=10 "$tmp/cpu.pprof" 2>/dev/null |
						grep -E '^ +[0-9.]+m?s +[0-9.]+%' | awk '{printf "%s%s %s", (NR>1?", ":""), $6, $2}' || true)
					rm -f "$tmp/cpu.pprof"
				else
					prof=$(perf report -i "$tmp/perf.data" --stdio --no-children --sort sym 2>/dev/null |
						grep -E '^ +[0-9.]+%' | head -10 | awk '{printf "%s%s %s", (NR>1?", ":""), $NF, $1}' || true)
				fi
			fi
			line=$(jq -c --arg lab "$label" --arg ln "$limitname" --argjson l "$limit" --arg w "$waits" --arg p "$prof" \
				'. + {"label": $lab, "limit": $ln, "limit_ops_per_s": $l, "ratio": ((.ops_per_s // 0) / $l * 1000 | round / 1000)}
				 + (if $w != "" then {"pg_waits": $w} else {} end) + (if $p != "" then {"profile": $p} else {} end)' <<<"$line")
			echo "$line"
			summary+=("$(jq -r '[.label, .scenario, .concurrency, .ops_per_s, .p50_ms, .errors, .limit, .ratio] | @tsv' <<<"$line")")
			[ -n "$waits" ] && summary+=("	  waits: $waits")
			[ -n "$prof" ] && summary+=("	  profile: $prof")
		done
	done
	kill "$spid"
	wait "$spid" 2>/dev/null || true
done
{
	printf 'label\tscenario\tclients\tops/s\tp50 ms\terrors\tlimit\tratio\n'
	printf '%s\n' "${summary[@]}"
} >&2
