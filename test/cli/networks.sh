#!/usr/bin/env bash
# test/cli/networks.sh — client compatibility: the real `openstack` CLI
# (python3-openstackclient, noauth) against a built neutrino binary.
#
#   test/cli/networks.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` on a free loopback port with its state in a
# temporary directory, drives networks through their whole life with the CLI,
# then restarts the server and checks that the data survived. Needs python3
# (for JSON assertions; python3-openstackclient depends on it anyway). Without
# the openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=networks.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

osc_must_fail() { # osc_must_fail ARGS...: the command must fail
	if openstack --os-auth-type none --os-endpoint "$endpoint" "$@" >"$out" 2>&1; then
		echo "--- output:" >&2
		cat "$out" >&2
		fail "openstack $* succeeded, but must fail"
	fi
}

# field FILE KEY: the JSON encoding of FILE's object member KEY ("<missing>"
# if absent), e.g. "name" → "\"net\"", shared → true.
field() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
if not isinstance(d, dict):
    sys.exit("not a JSON object: %r" % (d,))
print(json.dumps(d[sys.argv[2]]) if sys.argv[2] in d else "<missing>")
EOF
}
# expect_field FILE KEY JSON: FILE's member KEY must encode as JSON.
expect_field() {
	local got
	got=$(field "$1" "$2") || fail "$1 is not a JSON object: $(cat "$1")"
	[[ $got == "$3" ]] || fail "$4: $2 is $got, want $3 (in $(tr -d '\n' <"$1"))"
}
# list_row FILE ID: the JSON object of the row whose "ID" is ID in a
# `-f json` listing, or nothing; fails if the ID is listed more than once.
list_row() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    rows = json.load(f)
match = [r for r in rows if r.get("ID") == sys.argv[2]]
if len(match) > 1:
    sys.exit("ID %s listed %d times" % (sys.argv[2], len(match)))
if match:
    print(json.dumps(match[0]))
EOF
}
# expect_table_row NAME VALUE: a `-f table` show output in $out must have the
# row | NAME | VALUE |.
expect_table_row() {
	grep -Eq "^\| $1 +\| $2 +\|$" "$out" || fail "$3: no row '$1 | $2' in the table:
$(cat "$out")"
}

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint"
start_server

# --- create ---------------------------------------------------------------------
osc network create --description "made by the openstack CLI" --share --disable cli-net -f json
cp "$out" "$tmp/create.json"
id=$(field "$tmp/create.json" id) || fail "network create did not print JSON: $(cat "$out")"
id=${id//\"/}
[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "network create: id $id is not a UUID"
expect_field "$tmp/create.json" name '"cli-net"' "network create"
expect_field "$tmp/create.json" description '"made by the openstack CLI"' "network create"
expect_field "$tmp/create.json" shared true "network create"
expect_field "$tmp/create.json" admin_state_up false "network create"

# --- list -----------------------------------------------------------------------
osc network list -f json
row=$(list_row "$out" "$id") || fail "network list: $(cat "$out")"
[[ -n $row ]] || fail "network list does not list $id: $(cat "$out")"
echo "$row" >"$tmp/row.json"
expect_field "$tmp/row.json" Name '"cli-net"' "network list"
expect_field "$tmp/row.json" Subnets '[]' "network list"

osc network list --name cli-net -f json
[[ -n $(list_row "$out" "$id") ]] || fail "network list --name cli-net does not list $id: $(cat "$out")"
osc network list --name no-such-net -f json
[[ -z $(list_row "$out" "$id") ]] || fail "network list --name no-such-net lists $id: $(cat "$out")"

# --- show -------------------------------------------------------------------------
osc network show cli-net -f json
cp "$out" "$tmp/show.json"
expect_field "$tmp/show.json" id "\"$id\"" "network show"
expect_field "$tmp/show.json" name '"cli-net"' "network show"
expect_field "$tmp/show.json" description '"made by the openstack CLI"' "network show"
expect_field "$tmp/show.json" shared true "network show"
expect_field "$tmp/show.json" admin_state_up false "network show"
expect_field "$tmp/show.json" status '"ACTIVE"' "network show"
expect_field "$tmp/show.json" mtu 1450 "network show" # VXLAN on a 1500 underlay
expect_field "$tmp/show.json" router:external false "network show"
expect_field "$tmp/show.json" port_security_enabled true "network show"
expect_field "$tmp/show.json" subnets '[]' "network show"
expect_field "$tmp/show.json" project_id '"fake_project_id"' "network show"
rev1=$(field "$tmp/show.json" revision_number)
[[ $rev1 =~ ^[0-9]+$ ]] || fail "network show: revision_number is $rev1"
created_at=$(field "$tmp/show.json" created_at)
[[ $created_at =~ ^\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"$ ]] || fail "network show: created_at is $created_at"

# The human-readable forms the CLI derives from those fields.
osc network show "$id" -f table -c admin_state_up -c router:external -c shared
expect_table_row admin_state_up DOWN "network show (table)"
expect_table_row router:external Internal "network show (table)"
expect_table_row shared True "network show (table)"

# --- set ----------------------------------------------------------------------------
osc network set --name renamed --enable cli-net
[[ ! -s $out ]] || fail "network set printed: $(cat "$out")"
osc network show "$id" -f json
cp "$out" "$tmp/show2.json"
expect_field "$tmp/show2.json" name '"renamed"' "network show after set"
expect_field "$tmp/show2.json" admin_state_up true "network show after set"
expect_field "$tmp/show2.json" description '"made by the openstack CLI"' "network show after set"
expect_field "$tmp/show2.json" shared true "network show after set"
expect_field "$tmp/show2.json" created_at "$created_at" "network show after set"
rev2=$(field "$tmp/show2.json" revision_number)
if ! [[ $rev2 =~ ^[0-9]+$ ]] || ((rev2 <= rev1)); then
	fail "network show after set: revision_number $rev2, not above $rev1"
fi
osc network show renamed -f table -c admin_state_up
expect_table_row admin_state_up UP "network show after set (table)"
osc_must_fail network show cli-net

# --- list --long ------------------------------------------------------------------------
osc network list --long -f json
row=$(list_row "$out" "$id") || fail "network list --long: $(cat "$out")"
[[ -n $row ]] || fail "network list --long does not list $id: $(cat "$out")"
echo "$row" >"$tmp/row.json"
expect_field "$tmp/row.json" Name '"renamed"' "network list --long"
expect_field "$tmp/row.json" Status '"ACTIVE"' "network list --long"
expect_field "$tmp/row.json" Project '"fake_project_id"' "network list --long"
expect_field "$tmp/row.json" State true "network list --long"
expect_field "$tmp/row.json" Shared true "network list --long"
expect_field "$tmp/row.json" "Router Type" false "network list --long"
osc network list --long
grep -Eq "^\| $id \| renamed +\| ACTIVE +\| fake_project_id +\| UP +\| True +\|.*\| Internal +\|" "$out" ||
	fail "network list --long (table) has no row 'renamed ACTIVE fake_project_id UP True … Internal':
$(cat "$out")"

# --- delete ---------------------------------------------------------------------------------
osc network delete renamed
osc_must_fail network show "$id"
grep -q "No Network found for $id" "$out" || fail "network show after delete: unexpected error: $(cat "$out")"
osc_must_fail network show renamed
osc_must_fail network delete "$id"
osc network list -f json
[[ -z $(list_row "$out" "$id") ]] || fail "network list still lists deleted network $id: $(cat "$out")"

# --- restart: the data survives -----------------------------------------------------------------
osc network create --description "survives a restart" keep-me -f json
cp "$out" "$tmp/keep.json"
keep=$(field "$tmp/keep.json" id)
keep=${keep//\"/}
rc=0
stop_server || rc=$?
((rc == 0)) || fail "neutrino exited with status $rc on SIGTERM, want 0"
if grep -q 'level=ERROR' "$log"; then
	fail "neutrino logged errors before the restart"
fi
[[ -f $tmp/state/neutrino.sqlite ]] || fail "no database at $tmp/state/neutrino.sqlite: $(ls -la "$tmp/state" 2>&1)"
start_server
osc network show "$keep" -f json
cp "$out" "$tmp/kept.json"
for key in id name description created_at updated_at revision_number mtu shared admin_state_up; do
	want=$(field "$tmp/keep.json" "$key")
	expect_field "$tmp/kept.json" "$key" "$want" "network show after restart"
done
osc network list -f json
[[ -n $(list_row "$out" "$keep") ]] || fail "network list after restart does not list $keep: $(cat "$out")"
[[ -z $(list_row "$out" "$id") ]] || fail "network list after restart lists the deleted network $id"
osc network delete keep-me
rc=0
stop_server || rc=$?
((rc == 0)) || fail "neutrino exited with status $rc on SIGTERM after the restart, want 0"
if grep -q 'level=ERROR' "$log"; then
	fail "neutrino logged errors"
fi

echo "PASS: $me"
