#!/usr/bin/env bash
# test/cli/dns.sh — client compatibility for DNS integration (ML2's dns and
# dns_domain_ports extension drivers, [DEFAULT] dns_domain) with the real
# `openstack` CLI (noauth) against a built neutrino binary.
#
#   test/cli/dns.sh /path/to/neutrino
#
# Sets a network's DNS domain, creates and renames a port by --dns-name
# with its own --dns-domain and reads its dns_assignment, refuses bad names,
# and creates a floating IP with --dns-name/--dns-domain (shown empty, as
# Neutron shows them without an external DNS service). Without the
# openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=dns.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# The domain goes into [DEFAULT], which lib.bash opened first.
sed -i 's/^\[DEFAULT\]$/[DEFAULT]\ndns_domain = cli.example./' "$conf"
cat >>"$conf" <<EOF

[ml2]
extension_drivers = port_security,dns_domain_ports
EOF

start_server

osc extension list -f value -c Alias
for a in dns-integration dns-domain-ports; do
	grep -qx "$a" "$out" || fail "extension $a not listed"
done

osc network create -f json --dns-domain net.example. dnsnet
expect "$out" 'd["dns_domain"]' '"net.example."' "network create --dns-domain"
osc network set --dns-domain Other.Example. dnsnet
osc network show -f json dnsnet
expect "$out" 'd["dns_domain"]' '"other.example."' "network set --dns-domain"
refused "a relative network DNS domain" "is not a FQDN" network set --dns-domain relative.example dnsnet

osc subnet create -f json --network dnsnet --subnet-range 10.70.0.0/24 dnssub
osc port create -f json --network dnsnet --dns-name web --dns-domain port.example. web
cp "$out" "$tmp/port.json"
expect "$tmp/port.json" 'd["dns_name"]' '"web"' "port create --dns-name"
expect "$tmp/port.json" 'd["dns_domain"]' '"port.example."' "port create --dns-domain"
python3 - "$tmp/port.json" <<'EOF' || fail "port create: dns_assignment: $(cat "$tmp/port.json")"
import json, sys
p = json.load(open(sys.argv[1]))
ip = p["fixed_ips"][0]["ip_address"]
assert p["dns_assignment"] == [{"hostname": "web", "ip_address": ip, "fqdn": "web.cli.example."}], p["dns_assignment"]
EOF

osc port set --dns-name db web
osc port show -f json web
expect "$out" 'd["dns_name"]' '"db"' "port set --dns-name"
grep -q '"fqdn": "db.cli.example."' "$out" || fail "port set --dns-name: dns_assignment: $(cat "$out")"
osc port set --dns-name "" web
osc port show -f json web
expect "$out" 'd["dns_name"]' '""' "port set to an empty dns_name"
grep -q '"hostname": "host-10-70-0-' "$out" || fail "port set to an empty dns_name: dns_assignment: $(cat "$out")"

refused "a DNS name with an underscore" "must be 1-63 characters long" port create --network dnsnet --dns-name bad_name bad
refused "a port FQDN outside dns_domain" "must be equal to the dns_domain option" port create --network dnsnet --dns-name vm.elsewhere.org. bad

osc network create -f json --external public
osc subnet create -f json --network public --subnet-range 198.51.100.0/24 public-sub
osc floating ip create -f json --dns-name pub --dns-domain cli.example. public
expect "$out" 'd["dns_name"]' '""' "floating ip create --dns-name (no external DNS service)"
expect "$out" 'd["dns_domain"]' '""' "floating ip create --dns-domain (no external DNS service)"
refused "a floating IP FQDN with a DNS domain" "It should be a relative domain name" floating ip create --dns-name pub.cli.example. --dns-domain cli.example. public

echo "PASS: $me"
