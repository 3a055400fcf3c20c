#!/bin/bash
# bench/writes/run.sh measures SQLite port creates: the rate at 1 and 16
# clients and the server's CPU time per create (utime + stime from
# /proc/PID/stat over the run, divided by the creates), which a shared
# machine's load disturbs less than the rate.
#
#   bench/writes/run.sh [-d SECONDS] [-r ROUNDS] [-p] [LABEL=BINARY ...]
#
# Each LABEL=BINARY is a neutrino binary (default: "tree=" a build of this
# checkout). The binaries take turns, ROUNDS times (default 2), each turn
# a fresh server on a fresh SQLite file (noauth, no quotas, embedded
# NATS) running loadgen's port-create for SECONDS (default 4) at 1 and
# then 16 clients, so that the old and the new binary meet the same
# minutes of the machine's load. -p records a CPU profile of the server
# during each 16-client run (pprof through [DEFAULT] metrics_bind) and
# prints its top entries, cumulative and flat. Results go to standard
# output as JSON lines (loadgen's, with "label", "round" and
# "cpu_ms_per_op" added); the summary goes to standard error. Needs jq,
# curl and python3; not root.
set -euo pipefail

dur=4
rounds=2
profile=false
while getopts d:r:p opt; do
	case $opt in
	d) dur=$OPTARG ;;
	r) rounds=$OPTARG ;;
	p) profile=true ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

repo=$(cd "$(dirname "$0")/../.." && pwd)
NAME=writes
# shellcheck source=../lib.bash
source "$repo/bench/lib.bash"
log() { echo "writes: $*" >&2; }

build_tools $#
[ $# -gt 0 ] || set -- "tree=$tmp/neutrino-tree"
hz=$(getconf CLK_TCK)

summary=()
n=0
for round in $(seq "$rounds"); do
	for spec in "$@"; do
		label=${spec%%=*} bin=${spec#*=}
		n=$((n + 1))
		start_server "$n" "$bin" "sqlite:///$tmp/$n.sqlite"
		for c in 1 16; do
			prf=""
			if $profile && [ "$c" = 16 ]; then
				curl -sf -o "$tmp/cpu.pprof" "http://127.0.0.1:$mport/debug/pprof/profile?seconds=$((dur > 1 ? dur - 1 : 1))" &
				prf=$!
			fi
			t0=$(cputicks "$spid")
			line=$("$tmp/loadgen" -endpoint "$ep" -scenarios port-create -concurrency "$c" -duration "${dur}s" -cleanup=false 2>>"$tmp/loadgen.log" | tail -1)
			t1=$(cputicks "$spid")
			ops=$(jq '.ops - .errors' <<<"$line")
			cpu=$(jq -n "if $ops > 0 then ($t1 - $t0) * 1000 / $hz / $ops * 1000 | round / 1000 else null end")
			line=$(jq -c --arg lab "$label" --argjson r "$round" --argjson cpu "$cpu" \
				'. + {"label": $lab, "round": $r, "cpu_ms_per_op": $cpu}' <<<"$line")
			echo "$line"
			summary+=("$(jq -r '[.label, .round, .concurrency, .ops_per_s, .p50_ms, .errors, .cpu_ms_per_op] | @tsv' <<<"$line")")
			if [ -n "$prf" ]; then
				wait "$prf" || true
				if [ -s "$tmp/cpu.pprof" ]; then
					# top FIELD [FLAGS…]: the top entries, each with the given percentage column.
					top() {
						local field=$1
						shift
						go tool pprof -top -nodecount=14 "$@" "$tmp/cpu.pprof" 2>/dev/null |
							grep -E '^ +[0-9.]+(m?s)? +[0-9.]+%' | awk -v c="$field" '{printf "%s%s %s", (NR>1?", ":""), $6, $c}' || true
					}
					summary+=("	  cum: $(top 5 -cum -show 'internal/(plugin|store|rpc)/')" "	  flat: $(top 2)")
					rm -f "$tmp/cpu.pprof"
				fi
			fi
		done
		kill "$spid"
		wait "$spid" 2>/dev/null || true
	done
done

{
	echo "label	round	clients	creates/s	p50 ms	errors	CPU ms per create (target at 16 clients: 2,000/s)"
	printf '%s\n' "${summary[@]}"
} >&2
