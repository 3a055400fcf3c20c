#!/usr/bin/env bash
# test/cli/rbac.sh — client compatibility: address groups and RBAC
# policies on every object type, with the real `openstack` CLI
# (python3-openstackclient, noauth) against a built neutrino binary.
#
#   test/cli/rbac.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` on a free loopback port with its state in a
# temporary directory. Needs python3 for the JSON assertions. Without the
# openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=rbac.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint"
start_server

# Policies for one project need Keystone to look the project up (the CLI
# asks it; test/cli/keystone.sh covers that): here they target every
# project, which the noauth admin may do.
# --- address groups ----------------------------------------------------------------
osc address group create --description "admins" --address 10.10.10.3 --address 192.168.0.10/24 ag1 -f json
ag=$(save ag)
expect "$tmp/ag.json" 'd["name"]' '"ag1"' "address group create"
expect "$tmp/ag.json" 'sorted(d["addresses"])' '["10.10.10.3/32", "192.168.0.0/24"]' "address group create: addresses normalized"
osc address group set --address 2001:db8::f00/64 --name ag-renamed "$ag"
osc address group show "$ag" -f json
cp "$out" "$tmp/ag2.json"
expect "$tmp/ag2.json" 'd["name"]' '"ag-renamed"' "address group set --name"
expect "$tmp/ag2.json" 'sorted(d["addresses"])' '["10.10.10.3/32", "192.168.0.0/24", "2001:db8::/64"]' "address group set --address"
osc address group unset --address 10.10.10.3/32 "$ag"
osc address group show "$ag" -f json
cp "$out" "$tmp/ag3.json"
expect "$tmp/ag3.json" 'sorted(d["addresses"])' '["192.168.0.0/24", "2001:db8::/64"]' "address group unset --address"
refused "address group unset of an absent address" "not found in the address group" address group unset --address 10.200.200.200 "$ag"
osc address group list -f json
cp "$out" "$tmp/aglist.json"
expect "$tmp/aglist.json" '[g["ID"] for g in d]' "[\"$ag\"]" "address group list"

# A rule naming the group as its remote; the group is in use while it does.
osc security group create web -f json
web=$(save web)
osc security group rule create --ingress --protocol tcp --dst-port 22 --remote-address-group "$ag" "$web" -f json
rule=$(save rule)
expect "$tmp/rule.json" 'd["remote_address_group_id"]' "\"$ag\"" "security group rule create --remote-address-group"
refused "address group delete while a rule uses it" "in use" address group delete "$ag"
osc security group rule delete "$rule"

# --- RBAC policies on every object type ---------------------------------------------
osc network rbac create --type address_group --action access_as_shared --target-all-projects "$ag" -f json
p_ag=$(save p_ag)
expect "$tmp/p_ag.json" '[d["object_type"], d["target_project_id"]]' '["address_group", "*"]' "network rbac create --type address_group"

osc address scope create --ip-version 4 scope1 -f json
scope=$(save scope)
osc subnet pool create --pool-prefix 10.90.0.0/16 --address-scope "$scope" pool1 -f json
pool=$(save pool)
# A pool in a scope is shared only with projects that see the scope.
refused "sharing a pool wider than its scope" "target project doesn't have access to associated address scope" \
	network rbac create --type subnetpool --action access_as_shared --target-all-projects "$pool"
osc network rbac create --type address_scope --action access_as_shared --target-all-projects "$scope" -f json
p_scope=$(save p_scope)
expect "$tmp/p_scope.json" 'd["object_type"]' '"address_scope"' "network rbac create --type address_scope"
osc network rbac create --type subnetpool --action access_as_shared --target-all-projects "$pool" -f json
p_pool=$(save p_pool)
expect "$tmp/p_pool.json" 'd["object_type"]' '"subnetpool"' "network rbac create --type subnetpool"
osc subnet pool show "$pool" -f json
cp "$out" "$tmp/pool2.json"
expect "$tmp/pool2.json" 'd["shared"]' 'true' "subnet pool shared by its wildcard policy"

osc network rbac create --type security_group --action access_as_shared --target-all-projects "$web" -f json
p_sg=$(save p_sg)
expect "$tmp/p_sg.json" '[d["object_type"], d["target_project_id"]]' '["security_group", "*"]' "network rbac create --type security_group"
osc network rbac show "$p_sg" -f json
cp "$out" "$tmp/p_sg2.json"
expect "$tmp/p_sg2.json" '[d["object_id"], d["action"]]' "[\"$web\", \"access_as_shared\"]" "network rbac show"

osc network rbac list --long -f json
cp "$out" "$tmp/rbaclist.json"
expect "$tmp/rbaclist.json" 'sorted(r["Object Type"] for r in d)' '["address_group", "address_scope", "security_group", "subnetpool"]' "network rbac list"

# An access_as_external policy makes a network external; the last one
# going makes it internal again.
osc network create ext1 -f json
ext=$(save ext)
osc network rbac create --type network --action access_as_external --target-all-projects "$ext" -f json
p_ext=$(save p_ext)
osc network show "$ext" -f json
cp "$out" "$tmp/ext2.json"
expect "$tmp/ext2.json" 'd["router:external"]' 'true' "network external for one project"
osc network rbac delete "$p_ext"
osc network show "$ext" -f json
cp "$out" "$tmp/ext3.json"
expect "$tmp/ext3.json" 'd["router:external"]' 'false' "network internal once its last external policy is gone"

for p in "$p_ag" "$p_pool" "$p_sg"; do
	osc network rbac delete "$p"
done
# As in Neutron, a scope's wildcard policy is in use while any project's
# pool (its owner's too) is in the scope.
refused "scope policy delete while a pool is in the scope" "cannot be removed because other objects depend on it" network rbac delete "$p_scope"
osc subnet pool delete "$pool"
osc network rbac delete "$p_scope"
osc address group delete "$ag"
refused "address group delete" "No AddressGroup found" address group show "$ag"

stop_server || fail "neutrino all-in-one did not stop cleanly"
echo "$me: OK"
