#!/usr/bin/env bash
# test/cli/tags.sh — client compatibility for tags: the real `openstack` CLI
# (noauth) sets, lists, filters and removes tags on networks, subnets and
# ports as it does against Neutron (it uses PUT /v2.0/{collection}/{id}/tags
# and the tags/any-tags/not-tags/not-any-tags list filters).
#
#   test/cli/tags.sh /path/to/neutrino

set -euo pipefail

me=tags.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# tags_of FILE: the sorted tags of the object in FILE (openstack -f json),
# comma-separated.
tags_of() {
	python3 - "$1" <<'EOF'
import json, sys
obj = json.load(open(sys.argv[1]))
tags = obj.get("tags", obj.get("Tags"))
if isinstance(tags, str):  # older clients render the list as a string
    tags = [t.strip(" '") for t in tags.strip("[]").split(",") if t.strip()]
print(",".join(sorted(tags)))
EOF
}

# names_in FILE: the sorted Name column of a list (openstack -f json).
names_in() {
	python3 -c 'import json, sys; print(",".join(sorted(r["Name"] for r in json.load(open(sys.argv[1])))))' "$1"
}

expect() { # expect WHAT GOT WANT
	[[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"
}

start_server

osc network create --tag red --tag blue tagged-net -f json
cp "$out" "$tmp/net.json"
expect "network create --tag" "$(tags_of "$tmp/net.json")" "blue,red"
osc network create --no-tag plain-net -f json

osc network set --tag green tagged-net
osc network show tagged-net -f json
expect "network set --tag" "$(tags_of "$out")" "blue,green,red"
osc network unset --tag red tagged-net
osc network show tagged-net -f json
expect "network unset --tag" "$(tags_of "$out")" "blue,green"

osc network list --tags blue -f json
expect "network list --tags blue" "$(names_in "$out")" "tagged-net"
osc network list --any-tags red,green -f json
expect "network list --any-tags red,green" "$(names_in "$out")" "tagged-net"
osc network list --not-tags blue -f json
expect "network list --not-tags blue" "$(names_in "$out")" "plain-net"
osc network list --not-any-tags green,zz -f json
expect "network list --not-any-tags green,zz" "$(names_in "$out")" "plain-net"

osc subnet create --network tagged-net --subnet-range 10.31.0.0/24 --tag s1 tagged-subnet -f json
cp "$out" "$tmp/subnet.json"
expect "subnet create --tag" "$(tags_of "$tmp/subnet.json")" "s1"
osc subnet list --tags s1 -f json
expect "subnet list --tags s1" "$(names_in "$out")" "tagged-subnet"

osc port create --network tagged-net --tag p1 --tag p2 tagged-port -f json
cp "$out" "$tmp/port.json"
expect "port create --tag" "$(tags_of "$tmp/port.json")" "p1,p2"
osc port set --no-tag --tag p3 tagged-port
osc port show tagged-port -f json
expect "port set --no-tag --tag p3" "$(tags_of "$out")" "p3"
osc port list --tags p3 -f json
expect "port list --tags p3" "$(names_in "$out")" "tagged-port"

osc network unset --all-tag tagged-net
osc network show tagged-net -f json
expect "network unset --all-tag" "$(tags_of "$out")" ""

osc port delete tagged-port
osc subnet delete tagged-subnet
osc network delete tagged-net plain-net
rc=0
stop_server || rc=$?
((rc == 0)) || fail "neutrino exited with status $rc on SIGTERM, want 0"
if grep -q 'level=ERROR' "$log"; then
	fail "neutrino logged errors"
fi
echo "PASS: $me"
