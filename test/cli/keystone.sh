#!/usr/bin/env bash
# test/cli/keystone.sh — client compatibility with Keystone: the real
# `openstack` CLI (python3-openstackclient) with password credentials
# against a built neutrino binary with auth_strategy = keystone.
#
#   test/cli/keystone.sh /path/to/neutrino
#
# Starts Keystone with scripts/keystone/setup (as root; idempotent), starts
# `neutrino all-in-one` with Keystone authentication on a free loopback port
# with its state in a temporary directory (test/cli/lib.bash), and registers neutrino in Keystone's catalog under a
# region of its own (neutrino-cli-<pid>), with an identity endpoint there
# too, so that the CLI finds the network API the way it does in a real
# cloud without touching the catalog's other regions. Then, as the test
# users of scripts/keystone/setup (neutrino-member-1, neutrino-reader-1,
# neutrino-member-2, admin), it drives networks, subnets, ports, quotas and
# network RBAC policies, asserting on `-f json` output with python3.
# Everything it registered in Keystone is removed on exit.
#
# python3-openstackclient 6.0 (Debian 12) builds a compute client for
# `quota show` and `quota set` whatever the services in the catalog, and
# `quota show` asks Nova for its quotas: the script serves a stub compute
# endpoint (in its region only) that answers /os-quota-sets with an empty
# set, so that the network quotas are what the output shows.
#
# Without the openstack CLI, or without root and no Keystone with the test
# accounts at $NEUTRINO_KEYSTONE_HOST:$NEUTRINO_KEYSTONE_PORT, the script
# skips, or fails when CI=true.
#
# Environment: NEUTRINO_KEYSTONE_HOST [127.0.0.1], NEUTRINO_KEYSTONE_PORT
# [5000], NEUTRINO_KEYSTONE_ADMIN_PASSWORD [ADMIN], NEUTRINO_KEYSTONE_REGION
# [RegionOne] and the rest of scripts/keystone/setup's variables.

set -euo pipefail

me=keystone.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
# lib.bash has checked the arguments and the CLI, made $tmp, and written
# $conf for `neutrino all-in-one` on a free port; this script adds Keystone.

skip() {
	if in_ci; then
		fail "$* (CI=true)"
	fi
	echo "SKIP: $me: $*"
	exit 0
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ks_host=${NEUTRINO_KEYSTONE_HOST:-127.0.0.1}
ks_port=${NEUTRINO_KEYSTONE_PORT:-5000}
ks_region=${NEUTRINO_KEYSTONE_REGION:-RegionOne}
admin_password=${NEUTRINO_KEYSTONE_ADMIN_PASSWORD:-ADMIN}
region=neutrino-cli-$$
err=$tmp/err
stub_pid=""
catalog_ready=""    # set once the region exists: cleanup removes it
created_services=() # services this script created in Keystone

# as WHO CMD...: run CMD with the password credentials of WHO in $region.
as() {
	local who=$1
	shift
	case $who in
	admin) env OS_USERNAME=admin OS_PASSWORD="$admin_password" OS_PROJECT_NAME=admin "$@" ;;
	member-1 | reader-1 | member-2 | reader-2)
		env OS_USERNAME="neutrino-$who" OS_PASSWORD="neutrino-$who" OS_PROJECT_NAME="neutrino-test-${who##*-}" "$@"
		;;
	*) fail "as: unknown user $who" ;;
	esac
}
# ks ARGS...: the openstack CLI as admin in Keystone's own region, for the
# catalog.
ks() { as admin env OS_REGION_NAME="$ks_region" openstack "$@"; }

# osc WHO ARGS...: `openstack ARGS` as WHO; output in $out; fails the script
# if the command fails.
osc() {
	local who=$1
	shift
	if ! as "$who" openstack "$@" >"$out" 2>"$err"; then
		fail "openstack $* (as $who) failed: $(cat "$err" "$out")"
	fi
}
# osc_must_fail WHO PATTERN ARGS...: `openstack ARGS` as WHO must fail with
# an error matching PATTERN (grep -E).
osc_must_fail() {
	local who=$1 pattern=$2
	shift 2
	if as "$who" openstack "$@" >"$out" 2>"$err"; then
		fail "openstack $* (as $who) succeeded, want a failure: $(cat "$out")"
	fi
	grep -Eq "$pattern" "$err" || fail "openstack $* (as $who): error does not match '$pattern': $(cat "$err")"
}
# check DESCRIPTION EXPR: the Python expression EXPR holds, with d the JSON
# in $out and env the environment.
check() {
	python3 - "$out" "$2" <<'EOF' || fail "$1: $(cat "$out")"
import json, os, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
env = os.environ
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}
# field KEY: the value of KEY in the JSON object in $out.
field() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$out" "$1" ||
		fail "no $1 in $(cat "$out")"
}

# cleanup replaces lib.bash's (its trap calls it by name).
cleanup() {
	local id svc
	stop_server || true
	if [[ -n $stub_pid ]]; then
		kill -TERM "$stub_pid" 2>/dev/null || true
		wait "$stub_pid" 2>/dev/null || true
	fi
	if [[ -n $catalog_ready ]]; then
		for id in $(ks endpoint list --region "$region" -f value -c ID 2>/dev/null); do
			ks endpoint delete "$id" >/dev/null 2>&1 || echo "$me: could not delete endpoint $id" >&2
		done
		ks region delete "$region" >/dev/null 2>&1 || echo "$me: could not delete region $region" >&2
	fi
	for svc in "${created_services[@]}"; do
		# Only if nobody else has put endpoints on it meanwhile.
		if [[ -z $(ks endpoint list --service "$svc" -f value -c ID 2>/dev/null) ]]; then
			ks service delete "$svc" >/dev/null 2>&1 || echo "$me: could not delete service $svc" >&2
		fi
	done
	rm -rf "$tmp"
}

# --- Keystone ---------------------------------------------------------------------
export OS_IDENTITY_API_VERSION=3 OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_INTERFACE=public
if ((EUID == 0)); then
	if ! ks_url=$("$root/scripts/keystone/setup" 2>"$tmp/keystone-setup.log" | tail -n 1); then
		fail "scripts/keystone/setup failed: $(tail -n 30 "$tmp/keystone-setup.log")"
	fi
else
	ks_url=http://$ks_host:$ks_port/v3
	if ! OS_AUTH_URL=$ks_url as member-1 openstack token issue -f value -c id >/dev/null 2>&1; then
		skip "not root: cannot start Keystone with scripts/keystone/setup (and none with the test accounts answers at $ks_url)"
	fi
fi
[[ $ks_url == http*://*/v3 ]] || fail "scripts/keystone/setup printed '$ks_url', not an identity URL"
export OS_AUTH_URL=$ks_url

# --- neutrino -----------------------------------------------------------------------
# lib.bash's `all-in-one`, with Keystone authentication instead of its
# noauth default.
cat >>"$conf" <<EOF

[DEFAULT]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = ${ks_url%/v3}
auth_url = $ks_url
auth_type = password
username = neutron
password = neutron
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = $ks_region
EOF
start_server
# Keystone auth is on: no token, no API.
code=$(python3 - "$endpoint/v2.0/networks" <<'EOF'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=10)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
EOF
)
[[ $code == 401 ]] || fail "GET /v2.0/networks without a token: $code, want 401"

# --- the stub compute endpoint (see the header) --------------------------------------------
python3 - "$tmp/stub.port" >"$tmp/stub.log" 2>&1 <<'EOF' &
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def answer(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if "os-quota-sets" in parts and parts.index("os-quota-sets") + 1 < len(parts):
            body = {"quota_set": {"id": parts[parts.index("os-quota-sets") + 1]}}
            self.send_response(200)
        else:
            body = {"itemNotFound": {"code": 404, "message": "stub compute endpoint of test/cli/keystone.sh"}}
            self.send_response(404)
        raw = json.dumps(body).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_PUT = answer

    def log_message(self, fmt, *args):
        sys.stderr.write("stub: " + fmt % args + "\n")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
EOF
stub_pid=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $tmp/stub.port ]] && break
	sleep 0.1
done
[[ -s $tmp/stub.port ]] || fail "the stub compute endpoint did not start: $(cat "$tmp/stub.log")"
stub_url=http://127.0.0.1:$(<"$tmp/stub.port")/v2.1

# --- the catalog: region $region with network, identity and compute --------------------------
ensure_service() { # ensure_service TYPE NAME
	if ! ks service show "$1" -f value -c id >/dev/null 2>&1; then
		ks service create --name "$2" "$1" -f value -c id >"$out" 2>"$err" || fail "service create $1: $(cat "$err")"
		created_services+=("$(<"$out")")
	fi
}
ks region create --description "test/cli/keystone.sh (pid $$)" "$region" >/dev/null 2>"$err" ||
	fail "region create $region: $(cat "$err")"
catalog_ready=1
ensure_service network neutron
ensure_service compute nova
ks endpoint create --region "$region" network public "$endpoint" >/dev/null 2>"$err" || fail "endpoint create network: $(cat "$err")"
ks endpoint create --region "$region" identity public "$ks_url" >/dev/null 2>"$err" || fail "endpoint create identity: $(cat "$err")"
ks endpoint create --region "$region" compute public "$stub_url" >/dev/null 2>"$err" || fail "endpoint create compute: $(cat "$err")"
export OS_REGION_NAME=$region

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint, Keystone $ks_url, region $region"

# --- who is who -------------------------------------------------------------------------------
osc member-1 token issue -f json
P1=$(field project_id)
osc member-2 token issue -f json
P2=$(field project_id)
export P1 P2
[[ $P1 != "$P2" ]] || fail "neutrino-test-1 and neutrino-test-2 have the same id $P1"
osc admin project show neutrino-test-2 -f json
check "admin: project show neutrino-test-2" 'd["id"] == env["P2"]'

# --- networks -----------------------------------------------------------------------------------
osc member-1 network create --description "made with a Keystone token" cli-ks-net -f json
check "network create" 'd["name"] == "cli-ks-net" and d["project_id"] == env["P1"] and d["shared"] is False and d["status"] == "ACTIVE" and d["description"] == "made with a Keystone token"'
NET=$(field id)
export NET
osc member-1 network list -f json
check "network list" 'any(n["ID"] == env["NET"] and n["Name"] == "cli-ks-net" for n in d)'
osc member-1 network show cli-ks-net -f json
check "network show" 'd["id"] == env["NET"] and d["project_id"] == env["P1"] and d["router:external"] is False'
osc reader-1 network show "$NET" -f json
check "network show (reader)" 'd["id"] == env["NET"]'
osc_must_fail reader-1 'HttpException: 403.*rule:create_network is disallowed by policy' network create cli-ks-reader-net
# Project 2 does not see project 1's network.
osc member-2 network list -f json
check "network list (project 2)" 'not any(n["ID"] == env["NET"] for n in d)'
osc_must_fail member-2 "No Network found for $NET" network show "$NET"
osc_must_fail member-2 "No Network found for $NET" network delete "$NET"

# --- subnets ------------------------------------------------------------------------------------
osc member-1 subnet create --network cli-ks-net --subnet-range 10.77.0.0/24 cli-ks-subnet -f json
check "subnet create" 'd["name"] == "cli-ks-subnet" and d["cidr"] == "10.77.0.0/24" and d["gateway_ip"] == "10.77.0.1" and d["network_id"] == env["NET"] and d["project_id"] == env["P1"] and d["ip_version"] == 4 and d["allocation_pools"] == [{"start": "10.77.0.2", "end": "10.77.0.254"}]'
SUBNET=$(field id)
export SUBNET
osc member-1 subnet list -f json
check "subnet list" 'any(s["ID"] == env["SUBNET"] and s["Network"] == env["NET"] and s["Subnet"] == "10.77.0.0/24" for s in d)'
osc member-1 subnet list --network "$NET" -f json
check "subnet list --network" '[s["ID"] for s in d] == [env["SUBNET"]]'
osc member-2 subnet list -f json
check "subnet list (project 2)" 'not any(s["ID"] == env["SUBNET"] for s in d)'

# --- ports --------------------------------------------------------------------------------------
osc member-1 port create --network cli-ks-net cli-ks-port -f json
check "port create" 'd["name"] == "cli-ks-port" and d["network_id"] == env["NET"] and d["project_id"] == env["P1"] and len(d["fixed_ips"]) == 1 and d["fixed_ips"][0]["subnet_id"] == env["SUBNET"] and d["fixed_ips"][0]["ip_address"].startswith("10.77.0.")'
PORT=$(field id)
export PORT
osc member-1 port list -f json
check "port list" 'any(p["ID"] == env["PORT"] and p["Name"] == "cli-ks-port" and p["Status"] == "DOWN" for p in d)'
osc member-1 port list --network "$NET" -f json
check "port list --network" '[p["ID"] for p in d] == [env["PORT"]]'
osc member-2 port list -f json
check "port list (project 2)" 'not any(p["ID"] == env["PORT"] for p in d)'

# --- quotas -------------------------------------------------------------------------------------
osc member-1 quota show -f json
check "quota show (own project)" 'd["project"] == env["P1"] and d["project_name"] == "neutrino-test-1" and d["networks"] == 100 and d["subnets"] == 100 and d["ports"] == 500 and d["rbac_policies"] == 10'
osc_must_fail member-1 'HttpException: 403.*rule:update_quota is disallowed by policy' quota set --networks 50 "$P1"
osc admin quota set --networks 5 "$P1"
osc admin quota show "$P1" -f json
check "quota show (admin, after quota set --networks 5)" 'd["project"] == env["P1"] and d["networks"] == 5 and d["subnets"] == 100'
osc member-1 quota show -f json
check "quota show (own project, after quota set)" 'd["networks"] == 5'
osc member-2 quota show -f json
check "quota show (project 2)" 'd["project"] == env["P2"] and d["networks"] == 100'

# --- network RBAC ----------------------------------------------------------------------------------
osc member-1 network rbac create --target-project "$P2" --action access_as_shared --type network cli-ks-net -f json
check "network rbac create" 'd["object_id"] == env["NET"] and d["object_type"] == "network" and d["action"] == "access_as_shared" and d["target_project_id"] == env["P2"] and d["project_id"] == env["P1"]'
RBAC=$(field id)
export RBAC
osc member-1 network rbac list -f json
check "network rbac list" 'any(r["ID"] == env["RBAC"] and r["Object Type"] == "network" and r["Object ID"] == env["NET"] for r in d)'
osc member-1 network rbac show "$RBAC" -f json
check "network rbac show" 'd["id"] == env["RBAC"] and d["target_project_id"] == env["P2"] and d["object_id"] == env["NET"]'
# Project 2 now sees the network, shared with it, and can use it.
osc member-2 network show "$NET" -f json
check "network show (project 2, after rbac create)" 'd["id"] == env["NET"] and d["shared"] is True and d["project_id"] == env["P1"]'
osc member-2 network list -f json
check "network list (project 2, after rbac create)" 'any(n["ID"] == env["NET"] for n in d)'
osc member-2 port create --network "$NET" cli-ks-guest-port -f json
check "port create (project 2, on the shared network)" 'd["project_id"] == env["P2"] and d["network_id"] == env["NET"]'
GUEST_PORT=$(field id)
# ... but not the policy itself.
osc_must_fail member-2 "No RBACPolicy found for $RBAC" network rbac show "$RBAC"
osc_must_fail member-1 'ConflictException: 409.*RBAC policy on object' network rbac delete "$RBAC"
osc member-2 port delete "$GUEST_PORT"
osc member-1 network rbac delete "$RBAC"
osc member-1 network rbac list -f json
check "network rbac list (after delete)" 'not any(r["ID"] == env["RBAC"] for r in d)'
osc_must_fail member-2 "No Network found for $NET" network show "$NET"

# --- clean up: delete everything -------------------------------------------------------------------
osc member-1 port delete cli-ks-port
osc member-1 port list -f json
check "port list (after delete)" 'not any(p["ID"] == env["PORT"] for p in d)'
osc member-1 subnet delete cli-ks-subnet
osc member-1 network delete cli-ks-net
osc member-1 network list -f json
check "network list (after delete)" 'not any(n["ID"] == env["NET"] for n in d)'
osc_must_fail member-1 "No Network found for $NET" network show "$NET"

rc=0
stop_server || rc=$?
((rc == 0)) || fail "neutrino exited with status $rc on SIGTERM, want 0"
if grep -q 'level=ERROR' "$log"; then
	fail "neutrino logged errors: $(grep 'level=ERROR' "$log" | head -n 5)"
fi
echo "PASS: $me"
