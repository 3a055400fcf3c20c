# bench/lib.bash: what bench/pgscale/run.sh and bench/reads/run.sh share.
# Source it after setting repo (the repository root) and NAME (the
# script's name for its temporary directory). It makes $tmp, keeps $pids
# (processes killed on exit), and removes both on exit.

tmp=$(mktemp -d "/tmp/neutrino-$NAME-XXXXXX")
chmod 755 "$tmp"
pids=()
pgbin=""
bench_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "$pgbin" ] && [ -f "$tmp/data/postmaster.pid" ] &&
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap bench_cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# build_tools N builds bench/loadgen into $tmp/loadgen and, when N (the
# number of binaries the script was given) is 0, this checkout's
# neutrino into $tmp/neutrino-tree.
build_tools() {
	(cd "$repo" && go build -o "$tmp/loadgen" ./bench/loadgen)
	if [ "$1" -eq 0 ]; then
		(cd "$repo" && go build -o "$tmp/neutrino-tree" ./cmd/neutrino)
	fi
}

# start_cluster starts a throwaway PostgreSQL cluster in $tmp
# (synchronous_commit off, the all-in-one default's durability; see
# bench/README.md) and sets pgbin, pgport and psql (a psql command line
# for it as postgres).
start_cluster() {
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	pgport=$(freeport)
	install -d -o postgres -m 700 "$tmp/data" "$tmp/sock"
	runuser -u postgres -- "$pgbin/initdb" -D "$tmp/data" -U postgres -A trust --no-sync >/dev/null
	runuser -u postgres -- "$pgbin/postgres" -D "$tmp/data" -p "$pgport" -c listen_addresses=127.0.0.1 \
		-c unix_socket_directories="$tmp/sock" -c synchronous_commit=off -c max_connections=300 \
		>"$tmp/postgres.log" 2>&1 &
	pids+=($!)
	psql=(psql -h 127.0.0.1 -p "$pgport" -U postgres -X -q -v ON_ERROR_STOP=1)
	for _ in $(seq 100); do "${psql[@]}" -c 'select 1' postgres >/dev/null 2>&1 && break; sleep 0.1; done
}
