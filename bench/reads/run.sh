#!/bin/bash
# bench/reads/run.sh measures Neutrino's port reads on SQLite and on
# PostgreSQL against limits measured in the same run, and prints each
# figure with its limit:
#
#   show-port, 16 clients            ≥ 0.5 × a trivial Go server's shows/s
#   full list of 10,000 ports, 1     ≤ 10 × the time to serve its bytes from memory
#   16 concurrent lists of 5,000     p50 < 500 ms
#   server RSS during those lists    < 200 MB
#
#   bench/reads/run.sh [-d SECONDS] [-p] [-e ENGINES] [LABEL=BINARY ...]
#
# The trivial server is loadgen -floor; for the lists it answers with the
# very reply Neutrino gave (saved with curl, -floor-list), so both serve
# the same bytes. Each LABEL=BINARY is a neutrino binary (default: "tree="
# a build of this checkout), run on a fresh SQLite file and a fresh
# database of one throwaway PostgreSQL cluster. -e picks the engines
# (default "sqlite,postgresql"), -d the length of each measured run
# (default 5), -p profiles the server (pprof through [DEFAULT]
# metrics_bind) during the 16-client show and list runs and prints the
# top entries. Results go to standard output as JSON lines (loadgen's,
# with "label", "engine", "limit" and "ratio" added); the summary goes to
# standard error. Needs root for PostgreSQL (it runs as postgres), the
# postgresql package, jq, curl and python3.
set -euo pipefail

dur=5
profile=false
engines=sqlite,postgresql
while getopts d:pe: opt; do
	case $opt in
	d) dur=$OPTARG ;;
	p) profile=true ;;
	e) engines=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

repo=$(cd "$(dirname "$0")/../.." && pwd)
NAME=reads
# shellcheck source=../lib.bash
source "$repo/bench/lib.bash"
trap 'echo "reads: failed at line $LINENO; loadgen said:" >&2; tail -5 "$tmp/loadgen.log" >&2 || true' ERR
log() { echo "reads: $*" >&2; }

build_tools $#
[ $# -gt 0 ] || set -- "tree=$tmp/neutrino-tree"

if [[ $engines == *postgresql* ]]; then
	start_cluster
fi

# load ENDPOINT SCENARIO CLIENTS [loadgen flags…]: one measured run, its
# JSON line.
load() {
	local ep=$1 sc=$2 c=$3
	shift 3
	"$tmp/loadgen" -endpoint "$ep" -scenarios "$sc" -concurrency "$c" -duration "${dur}s" -cleanup=false "$@" 2>>"$tmp/loadgen.log" | tail -1
}

# floor [LIST_FILE]: starts the trivial server (answering listings with
# the file's bytes) and sets floorpid and floorep.
floor() {
	local fport
	fport=$(freeport)
	"$tmp/loadgen" -floor "127.0.0.1:$fport" ${1:+-floor-list "$1"} 2>/dev/null &
	floorpid=$!
	pids+=($floorpid)
	floorep=http://127.0.0.1:$fport
	for _ in $(seq 50); do curl -sf "$floorep/v2.0/ports/x" >/dev/null && break; sleep 0.1; done
}
stopfloor() { kill "$floorpid"; wait "$floorpid" 2>/dev/null || true; }

# peakrss PID SECONDS: the highest RSS (MB) of PID sampled every 0.1 s.
peakrss() {
	local pid=$1 end=$((SECONDS + $2)) peak=0 r
	while [ $SECONDS -lt "$end" ]; do
		r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ "${r:-0}" -gt "$peak" ] && peak=$r
		sleep 0.1
	done
	echo $((peak / 1024))
}

# profile PORT: records a CPU profile of the server during the next run
# (in the background; wait for $prf) when -p is given.
profile() {
	prf=""
	$profile || return 0
	curl -sf -o "$tmp/cpu.pprof" "http://127.0.0.1:$1/debug/pprof/profile?seconds=$((dur > 1 ? dur - 1 : 1))" &
	prf=$!
}
profiletop() {
	[ -n "$prf" ] || return 0
	wait "$prf" || true
	[ -s "$tmp/cpu.pprof" ] || return 0
	go tool pprof -top -nodecount=12 "$tmp/cpu.pprof" 2>/dev/null |
		grep -E '^ +[0-9.]+m?s +[0-9.]+%' | awk '{printf "%s%s %s", (NR>1?", ":""), $6, $2}' || true
	rm -f "$tmp/cpu.pprof"
}

# analyze gives PostgreSQL's planner the statistics of the tables just
# filled, as autovacuum does within a minute or so of a bulk load:
# without them it takes the new ports table for a few hundred rows and
# reads each 500-row chunk of a listing by a sequential scan and a sort
# of everything after it, so that the figures depended on whether
# autovacuum had come by yet (by half, between runs).
analyze() {
	[ "$engine" = postgresql ] || return 0
	"${psql[@]}" -c "ANALYZE" "n_$label"
}

summary=()
# report LINE LIMITNAME LIMIT RATIO TARGET [EXTRA_JSON]: prints the line
# with its limit and ratio, and adds it to the summary.
report() {
	local line=$1 ln=$2 l=$3 ratio=$4 target=$5 extra=${6:-"{}"}
	line=$(jq -c --arg lab "$label" --arg eng "$engine" --arg ln "$ln" --argjson l "$l" --argjson r "$ratio" \
		--arg t "$target" --argjson x "$extra" \
		'. + {"label": $lab, "engine": $eng, "limit": $ln, "limit_value": $l, "ratio": $r, "target": $t} + $x' <<<"$line")
	echo "$line"
	summary+=("$(jq -r '[.label, .engine, .scenario, .concurrency, .ops_per_s, .p50_ms, .errors, .limit, .limit_value, .ratio, .target] | @tsv' <<<"$line")")
}
ratio() { jq -n "$1 * 1000 | round / 1000"; }

for spec in "$@"; do
	label=${spec%%=*} bin=${spec#*=}
	for engine in ${engines//,/ }; do
		if [ "$engine" = sqlite ]; then
			conn="sqlite:///$tmp/$label.sqlite"
		else
			"${psql[@]}" -c "create database \"n_$label\"" postgres
			conn="postgresql://postgres@127.0.0.1:$pgport/n_$label?sslmode=disable"
		fi
		start_server "$label-$engine" "$bin" "$conn"
		log "$label on $engine: creating 5,000 ports"
		"$tmp/loadgen" -endpoint "$ep" -scenarios port-list-full -n 1 -concurrency 1 -prepopulate-ports 5000 -cleanup=false >/dev/null 2>>"$tmp/loadgen.log" ||
			log "$label on $engine: the listing after creating ports failed (see below if the run then fails)"
		analyze

		# show-port at 16 clients against the trivial server's.
		floor
		f=$(load "$floorep" port-show 16)
		stopfloor
		profile "$mport"
		line=$(load "$ep" port-show 16)
		prof=$(profiletop)
		fl=$(jq .ops_per_s <<<"$f")
		report "$line" http-floor-shows/s "$fl" "$(ratio "$(jq .ops_per_s <<<"$line") / $fl")" ">= 0.5" \
			"$(jq -n --arg p "$prof" 'if $p != "" then {"profile": $p} else {} end')"
		[ -n "$prof" ] && summary+=("	  profile: $prof")

		# 16 concurrent full lists of 5,000 ports: p50 and the server's RSS.
		curl -sf -o "$tmp/list5k.json" "$ep/v2.0/ports"
		floor "$tmp/list5k.json"
		peakrss "$floorpid" "$dur" >"$tmp/floorrss" &
		rp=$!
		f=$(load "$floorep" port-list-full 16)
		wait $rp
		stopfloor
		profile "$mport"
		peakrss "$spid" "$dur" >"$tmp/rss" &
		rp=$!
		line=$(load "$ep" port-list-full 16)
		wait $rp
		prof=$(profiletop)
		rss=$(cat "$tmp/rss") frss=$(cat "$tmp/floorrss")
		report "$line" p50-ms-limit 500 "$(ratio "$(jq .p50_ms <<<"$line") / 500")" "<= 1 (p50 < 500 ms)" \
			"$(jq -n --argjson r "$rss" --argjson f "$frss" --argjson fp "$(jq .p50_ms <<<"$f")" --arg p "$prof" \
				'{"rss_mb": $r, "floor_rss_mb": $f, "floor_p50_ms": $fp} + (if $p != "" then {"profile": $p} else {} end)')"
		summary+=("	  RSS ${rss} MB (limit 200 MB; the trivial server serving the same bytes: ${frss} MB, p50 $(jq .p50_ms <<<"$f") ms)")
		[ -n "$prof" ] && summary+=("	  profile: $prof")

		# A full list of 10,000 ports, one client, against serving its
		# bytes from memory.
		log "$label on $engine: creating 5,000 more ports"
		"$tmp/loadgen" -endpoint "$ep" -scenarios port-list-full -n 1 -concurrency 1 -prepopulate-ports 10000 -cleanup=false >/dev/null 2>>"$tmp/loadgen.log" ||
			log "$label on $engine: the listing after creating ports failed (see below if the run then fails)"
		analyze
		curl -sf -o "$tmp/list10k.json" "$ep/v2.0/ports"
		floor "$tmp/list10k.json"
		f=$(load "$floorep" port-list-full 1)
		stopfloor
		line=$(load "$ep" port-list-full 1)
		fp=$(jq .p50_ms <<<"$f")
		report "$line" memory-p50-ms "$fp" "$(ratio "$(jq .p50_ms <<<"$line") / $fp")" "<= 10"

		kill "$spid"
		wait "$spid" 2>/dev/null || true
	done
done
{
	printf 'label\tengine\tscenario\tclients\tops/s\tp50 ms\terrors\tlimit\tlimit value\tratio\ttarget\n'
	printf '%s\n' "${summary[@]}"
} >&2
