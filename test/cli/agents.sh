#!/usr/bin/env bash
# test/cli/agents.sh — client compatibility: `openstack network agent …`
# and the DHCP agent scheduler through the real `openstack` CLI (noauth)
# against a built neutrino binary.
#
#   test/cli/agents.sh /path/to/neutrino
#
# Agents appear by reporting state; until agents talk to this server over
# the message bus, test/cli/agentstate (built here with go) sends those
# reports through the server's own code into the same SQLite database.

set -euo pipefail

me=agents.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v go >/dev/null 2>&1 || fail "go is not installed (needed to build test/cli/agentstate)"
(cd "$root" && go build -o "$tmp/agentstate" ./test/cli/agentstate) || fail "cannot build test/cli/agentstate"
db="sqlite:///$tmp/state/neutrino.sqlite"

report() { # report TYPE HOST BINARY AZ: one state report; prints the status
	"$tmp/agentstate" -connection "$db" -type "$1" -host "$2" -binary "$3" -az "$4" -start
}

# json_get FILE PYEXPR: evaluate PYEXPR on the JSON document d in FILE.
json_get() {
	python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
print(eval(sys.argv[2], {"d": d}))
PY
}
expect() { # expect GOT WANT WHAT
	[[ $1 == "$2" ]] || fail "$3: got $1, want $2 (output: $(tr -d '\n' <"$out"))"
}

start_server

st=$(report "DHCP agent" cli-host-1 neutron-dhcp-agent az1) || fail "report_state failed"
expect "$st" new "first report of the DHCP agent"
st=$(report "DHCP agent" cli-host-1 neutron-dhcp-agent az1) || fail "report_state failed"
expect "$st" alive "second report of the DHCP agent"
report "L3 agent" cli-host-1 neutron-l3-agent az1 >/dev/null || fail "report_state failed"
report "DHCP agent" cli-host-2 neutron-dhcp-agent az2 >/dev/null || fail "report_state failed"

osc network agent list -f json
expect "$(json_get "$out" 'len(d)')" 3 "agent list"
dhcp1=$(json_get "$out" '[r["ID"] for r in d if r["Host"] == "cli-host-1" and r["Agent Type"] == "DHCP agent"][0]')
dhcp2=$(json_get "$out" '[r["ID"] for r in d if r["Host"] == "cli-host-2"][0]')
expect "$(json_get "$out" '[(r["Alive"], r["State"], r["Binary"], r["Availability Zone"]) for r in d if r["ID"] == "'"$dhcp1"'"][0]')" \
	"(True, True, 'neutron-dhcp-agent', 'az1')" "agent list row"

osc network agent list --agent-type dhcp -f json
expect "$(json_get "$out" 'len(d)')" 2 "agent list --agent-type dhcp"
osc network agent list --host cli-host-2 -f json
expect "$(json_get "$out" '[r["ID"] for r in d]')" "['$dhcp2']" "agent list --host"

osc network agent show "$dhcp1" -f json
expect "$(json_get "$out" 'd["agent_type"], d["host"], d["admin_state_up"], d["alive"]')" \
	"('DHCP agent', 'cli-host-1', True, True)" "agent show"

osc network agent set --description "rack 4" --disable "$dhcp2"
osc network agent show "$dhcp2" -f json
expect "$(json_get "$out" 'd["description"], d["admin_state_up"]')" "('rack 4', False)" "agent after set"
osc network agent set --enable "$dhcp2"

osc availability zone list --network -f json
expect "$(json_get "$out" 'sorted((r["Zone Name"], r["Zone Status"]) for r in d)')" \
	"[('az1', 'available'), ('az1', 'available'), ('az2', 'available')]" "availability zone list --network"

osc network create cli-agents-net -f json
net=$(json_get "$out" 'd["id"]')
osc network agent add network --dhcp "$dhcp1" "$net"
osc network agent list --network "$net" -f json
expect "$(json_get "$out" '[r["ID"] for r in d]')" "['$dhcp1']" "agent list --network"
osc network list --agent "$dhcp1" -f json
expect "$(json_get "$out" '[r["ID"] for r in d]')" "['$net']" "network list --agent"
osc network show "$net" -f json
expect "$(json_get "$out" 'd["availability_zones"]')" "['az1']" "network availability_zones"
osc network agent remove network --dhcp "$dhcp1" "$net"
osc network agent list --network "$net" -f json
expect "$(json_get "$out" 'len(d)')" 0 "agent list --network after remove"

osc network agent delete "$dhcp2"
osc network agent list -f json
expect "$(json_get "$out" 'len(d)')" 2 "agent list after delete"

stop_server || fail "neutrino exited non-zero on SIGTERM"
echo "PASS: $me"
