# bench/lib.bash: what the bench/*/run.sh scripts share.
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

# cputicks PID: the process's utime + stime, in clock ticks (getconf CLK_TCK).
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_server NAME BIN CONNECTION [MORE]: writes $tmp/NAME.conf for a
# noauth server without quotas, on free ports (the API's in $port, the
# metrics' in $mport, embedded NATS), its [database] connection =
# CONNECTION and MORE (further sections) appended; starts BIN server on it
# (log: $tmp/NAME.log) and waits until it answers. Sets spid and ep.
start_server() {
	local name=$1 bin=$2 conn=$3 more=${4:-}
	port=$(freeport) mport=$(freeport)
	cat >"$tmp/$name.conf" <<-CONF
	[DEFAULT]
	auth_strategy = noauth
	bind_host = 127.0.0.1
	bind_port = $port
	metrics_bind = 127.0.0.1:$mport
	[database]
	connection = $conn
	[nats]
	embedded_host = 127.0.0.1
	embedded_port = $(freeport)
	[quotas]
	quota_network = -1
	quota_subnet = -1
	quota_port = -1
	$more
	CONF
	"$bin" server --config-file "$tmp/$name.conf" >"$tmp/$name.log" 2>&1 &
	spid=$!
	pids+=($spid)
	ep=http://127.0.0.1:$port
	for _ in $(seq 600); do
		curl -sf "$ep/" >/dev/null && return 0
		kill -0 "$spid" 2>/dev/null || { echo "bench: $name: the server exited" >&2; tail -5 "$tmp/$name.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "bench: $name: the server did not answer within 60 s" >&2
	exit 1
}
