#!/usr/bin/env bash
# test/cli/securitygroups.sh — client compatibility: security groups, their
# rules and the security groups of ports with the real `openstack` CLI
# (python3-openstackclient, noauth) against a built neutrino binary.
#
#   test/cli/securitygroups.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` on a free loopback port with its state in a
# temporary directory. Needs python3 for the JSON assertions. Without the
# openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=securitygroups.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint"
start_server

# --- groups -----------------------------------------------------------------------
osc security group create --description "web servers" web -f json
web=$(save web)
expect "$tmp/web.json" 'd["name"]' '"web"' "security group create"
expect "$tmp/web.json" 'd["stateful"]' 'true' "security group create"
expect "$tmp/web.json" 'sorted((r["direction"], r["ethertype"]) for r in d["rules"])' \
	'[["egress", "IPv4"], ["egress", "IPv6"]]' "security group create: default rules"
osc security group create --stateless raw -f json
expect "$out" 'd["stateful"]' 'false' "security group create --stateless"

osc security group list -f json
cp "$out" "$tmp/list.json"
expect "$tmp/list.json" 'sorted(r["Name"] for r in d)' '["default", "raw", "web"]' "security group list"
osc security group show default -f json
default=$(save default)
expect "$tmp/default.json" 'len(d["rules"])' '4' "default group"
expect "$tmp/default.json" 'sorted(r["direction"] + ("/self" if r.get("remote_group_id") == d["id"] else "") for r in d["rules"])' \
	'["egress", "egress", "ingress/self", "ingress/self"]' "default group rules"
refused "renaming the default group" "Updating default security group not allowed" security group set --name renamed default
refused "a second default group" "Default security group already exists" security group create default

osc security group set --name web2 --description "front end" "$web"
osc security group show "$web" -f json
expect "$out" 'd["name"]' '"web2"' "security group set"
expect "$out" 'd["description"]' '"front end"' "security group set"

# --- rules ------------------------------------------------------------------------
osc security group rule create --protocol tcp --dst-port 80:90 web2 -f json
tcp=$(save tcp)
expect "$tmp/tcp.json" '[d["protocol"], d["port_range_min"], d["port_range_max"], d["direction"]]' '["tcp", 80, 90, "ingress"]' "tcp rule"
refused "a duplicate rule" "Security group rule already exists. Rule id is $tcp" security group rule create --protocol tcp --dst-port 80:90 web2
osc security group rule create --protocol icmp --icmp-type 8 --icmp-code 0 web2 -f json
expect "$out" '[d["protocol"], d["port_range_min"], d["port_range_max"]]' '["icmp", 8, 0]' "icmp rule"
osc security group rule create --remote-group default --protocol tcp --dst-port 22 web2 -f json
expect "$out" '[d["remote_group_id"], d["remote_ip_prefix"]]' "[\"$default\", null]" "remote group rule"
osc security group rule create --remote-ip 10.0.0.5/24 --protocol udp --dst-port 53 --egress web2 -f json
remote=$(save remote)
expect "$tmp/remote.json" '[d["remote_ip_prefix"], d["direction"], d["port_range_min"]]' '["10.0.0.5/24", "egress", 53]' "remote ip rule"
osc security group rule create --ethertype IPv6 --protocol ipv6-icmp web2 -f json
expect "$out" '[d["protocol"], d["ether_type"]]' '["ipv6-icmp", "IPv6"]' "IPv6 ICMP rule"
refused "ports for GRE" "Ports cannot be specified for protocol 47" \
	security group rule create --protocol gre --dst-port 1:2 web2
refused "an IPv6 rule with an IPv4 prefix" "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8" \
	security group rule create --ethertype IPv6 --remote-ip 10.0.0.0/8 web2

osc security group rule list web2 -f json
expect "$out" 'len(d)' '7' "security group rule list"
osc security group rule show "$remote" -f json
expect "$out" 'd["security_group_id"]' "\"$web\"" "security group rule show"
osc security group rule delete "$remote"
osc security group rule list web2 -f json
expect "$out" 'len(d)' '6' "security group rule list after delete"
refused "security group rule delete" "$remote" security group rule show "$remote"

# --- ports ------------------------------------------------------------------------
osc network create sg-net -f json
osc subnet create --network sg-net --subnet-range 10.20.0.0/24 sg-subnet -f json
osc port create --network sg-net plain -f json
expect "$out" 'd["security_group_ids"]' "[\"$default\"]" "port create: the default group"
osc port create --network sg-net --security-group web2 web-port -f json
webport=$(save webport)
expect "$tmp/webport.json" 'd["security_group_ids"]' "[\"$web\"]" "port create --security-group"
osc port create --network sg-net --no-security-group bare -f json
expect "$out" 'd["security_group_ids"]' '[]' "port create --no-security-group"
osc port create --network sg-net --disable-port-security --no-security-group open -f json
expect "$out" '[d["port_security_enabled"], d["security_group_ids"]]' '[false, []]' "port create --disable-port-security"
refused "security groups without port security" "Port security must be enabled" \
	port create --network sg-net --disable-port-security --security-group web2 refused
refused "stateful and stateless groups on one port" "Cannot apply both stateful and stateless security groups" \
	port create --network sg-net --security-group web2 --security-group raw mixed

osc port set --security-group default "$webport"
osc port show "$webport" -f json
expect "$out" 'sorted(d["security_group_ids"])' "$(python3 -c "import json,sys; print(json.dumps(sorted(sys.argv[1:])))" "$web" "$default")" "port set --security-group"
refused "security group delete while a port uses it" "Security Group $web in use" security group delete "$web"
osc port set --no-security-group "$webport"
osc port show "$webport" -f json
expect "$out" 'd["security_group_ids"]' '[]' "port set --no-security-group"
osc security group delete "$web"
refused "security group delete" "$web" security group show "$web"

echo "$me: PASS"
