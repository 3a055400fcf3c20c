# test/cli/lib.bash — what every CLI compatibility script shares: argument
# and prerequisite checks, a temporary state directory, starting and
# stopping `neutrino all-in-one` on a free loopback port, osc, the
# openstack CLI against it, and checks on what the CLI prints (json_eval,
# expect, id_of, oscj, save, refused). Source it after setting me=<script name>;
# it is not a test itself (test-all runs only executable *.sh files).
: "${me:?set me to the script name before sourcing lib.bash}"

# in_ci: CI is set to a true value, read as Go's tests read it
# (internal/testenv/ci: strconv.ParseBool), so that a missing dependency
# fails instead of skipping.
in_ci() {
	case ${CI:-} in
	1 | t | T | true | TRUE | True) return 0 ;;
	esac
	return 1
}

fail() {
	echo "FAIL: $me: $*" >&2
	if [[ -n ${log:-} && -s $log ]]; then
		echo "--- last lines of the neutrino log ($log):" >&2
		tail -n 20 "$log" >&2
	fi
	exit 1
}

(($# == 1)) || { echo "usage: $0 /path/to/neutrino" >&2; exit 2; }
bin=$1
[[ -x $bin ]] || fail "$bin is not an executable file"
[[ $bin == /* ]] || bin=$PWD/$bin

if ! command -v openstack >/dev/null 2>&1; then
	if in_ci; then
		fail "the openstack CLI is not installed (Debian package python3-openstackclient)"
	fi
	echo "SKIP: $me: the openstack CLI is not installed (Debian package python3-openstackclient)"
	exit 0
fi
command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"

# Nothing from the caller's environment may point the CLI at another cloud.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^OS_' || true)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/neutrino-cli-${me%.sh}.XXXXXX")
log=$tmp/neutrino.log
pid=""

stop_server() { # stop_server: SIGTERM, wait; returns the server's exit status
	local rc=0 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$me: neutrino (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	pid=""
	return "$rc"
}
cleanup() {
	stop_server || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
endpoint=http://127.0.0.1:$port
conf=$tmp/neutron.conf
cat >"$conf" <<EOF
[DEFAULT]
state_path = $tmp/state
bind_port = $port

# The API is under test here, not the data plane: an in-process agent
# would wire bridges, namespaces and dnsmasq into this machine's root
# network namespace (test/e2e does the data plane, in namespaces of its own).
[agent]
in_process = false
EOF

start_server() {
	"$bin" all-in-one --config-file "$conf" >>"$log" 2>&1 &
	pid=$!
	local deadline=$((SECONDS + 20))
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			local rc=0
			wait "$pid" || rc=$?
			pid=""
			fail "neutrino all-in-one exited (status $rc) before answering GET $endpoint/"
		fi
		if python3 - "$endpoint/" <<'EOF' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
			return 0
		fi
		sleep 0.2
	done
	fail "neutrino all-in-one did not answer GET $endpoint/ within 20 s"
}

out=$tmp/out
osc() { # osc ARGS...: the openstack CLI against our server; output in $out
	if ! openstack --os-auth-type none --os-endpoint "$endpoint" "$@" >"$out" 2>&1; then
		echo "--- openstack $* failed:" >&2
		cat "$out" >&2
		fail "openstack $* exited non-zero"
	fi
}

# json_eval FILE EXPR: the JSON encoding, object keys sorted, of the Python
# expression EXPR evaluated with d bound to FILE's decoded JSON and the
# ipaddress module at hand, e.g. 'd["cidr"]' or 'sorted(r["ID"] for r in d)'.
# A script whose commands print warnings ahead of their JSON (osc keeps the
# CLI's stderr with its stdout) sets json_after_warnings=1: the document then
# starts at the first line that opens an object or a list.
json_eval() {
	python3 - "$1" "$2" "${json_after_warnings:-}" <<'PY'
import ipaddress, json, re, sys
with open(sys.argv[1]) as f:
    text = f.read()
if sys.argv[3]:
    m = re.search(r"^[\[{]", text, re.M)
    d, _ = json.JSONDecoder().raw_decode(text[m.start():] if m else text)
else:
    d = json.loads(text)
print(json.dumps(eval(sys.argv[2], {"d": d, "ipaddress": ipaddress}), sort_keys=True))
PY
}
# expect FILE EXPR JSON WHAT: json_eval FILE EXPR must print JSON.
expect() {
	local got
	got=$(json_eval "$1" "$2") || fail "$4: cannot evaluate $2 on $(tr -d '\n' <"$1")"
	[[ $got == "$3" ]] || fail "$4: $2 is $got, want $3 (in $(tr -d '\n\t ' <"$1"))"
}
# id_of [FILE]: the "id" member of FILE ($out if none), unquoted; a UUID.
id_of() {
	local file=${1:-$out} id
	id=$(json_eval "$file" 'd["id"]') || fail "not a JSON object with an id: $(cat "$file")"
	id=${id//\"/}
	[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "id $id is not a UUID"
	echo "$id"
}
# oscj NAME ARGS...: osc ARGS... -f json, with the output kept in $tmp/NAME.json.
oscj() {
	local name=$1
	shift
	osc "$@" -f json
	cp "$out" "$tmp/$name.json"
}
# save NAME: keep $out as $tmp/NAME.json and print its id.
save() {
	cp "$out" "$tmp/$1.json"
	id_of "$tmp/$1.json"
}
# refused WHAT PATTERN ARGS...: openstack ARGS... must fail, saying PATTERN
# (a grep basic regular expression: \| separates alternatives).
refused() {
	local what=$1 pattern=$2
	shift 2
	if openstack --os-auth-type none --os-endpoint "$endpoint" "$@" >"$out" 2>&1; then
		fail "$what: openstack $* succeeded, but must fail: $(cat "$out")"
	fi
	grep -q -- "$pattern" "$out" || fail "$what: openstack $* failed without saying '$pattern': $(cat "$out")"
}
