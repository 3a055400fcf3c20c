#!/usr/bin/env bash
# test/cli/l3.sh — client compatibility: the real `openstack` CLI
# (python3-openstackclient, noauth) against a built neutrino binary, for the
# L3 resources: routers (gateway, interfaces, extra routes), floating IPs and
# floating IP port forwardings.
#
#   test/cli/l3.sh /path/to/neutrino
#
# Starts `neutrino all-in-one` on a free loopback port with its state in a
# temporary directory and drives a router and floating IPs through their life
# with the CLI, asserting on its `-f json` output with python3. Without the
# openstack CLI the script skips, or fails when CI=true.

set -euo pipefail

me=l3.sh
# shellcheck source=test/cli/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

echo "$me: $(openstack --version 2>&1) against $bin on $endpoint"
start_server

# --- networks -----------------------------------------------------------------
oscj public network create --external public
public=$(id_of "$tmp/public.json")
oscj public_sub subnet create --network public --subnet-range 172.24.4.0/24 public-sub
oscj private network create private
private=$(id_of "$tmp/private.json")
oscj private_sub subnet create --network private --subnet-range 10.0.0.0/24 private-sub
private_sub=$(id_of "$tmp/private_sub.json")

# --- router, gateway, interface ------------------------------------------------
oscj router router create --description "made by the openstack CLI" r1
router=$(id_of "$tmp/router.json")
expect "$tmp/router.json" 'd["status"]' '"ACTIVE"' "router create"
expect "$tmp/router.json" 'd["external_gateway_info"]' 'null' "router create"

oscj rlist router list
expect "$tmp/rlist.json" '[r["Name"] for r in d if r["ID"] == "'"$router"'"]' '["r1"]' "router list"
osc router set --external-gateway public r1
oscj shown router show r1
expect "$tmp/shown.json" 'd["external_gateway_info"]["network_id"]' "\"$public\"" "router set --external-gateway"
expect "$tmp/shown.json" 'd["external_gateway_info"]["enable_snat"]' 'true' "router set --external-gateway"
expect "$tmp/shown.json" 'd["external_gateway_info"]["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")' 'true' \
	"router set --external-gateway"

osc router add subnet r1 private-sub
oscj rports port list --router r1 --long
expect "$tmp/rports.json" 'sorted(p["Device Owner"] for p in d)' '["network:router_gateway", "network:router_interface"]' \
	"router add subnet"
expect "$tmp/rports.json" '[p["Fixed IP Addresses"] for p in d if p["Device Owner"] == "network:router_interface"][0][0]["ip_address"]' \
	'"10.0.0.1"' "router add subnet"
refused "router add subnet twice" "Router already has a port on subnet $private_sub" router add subnet r1 private-sub

# --- extra routes ---------------------------------------------------------------
osc router set --route destination=192.168.10.0/24,gateway=10.0.0.10 r1
oscj shown router show r1
expect "$tmp/shown.json" 'd["routes"]' '[{"destination": "192.168.10.0/24", "nexthop": "10.0.0.10"}]' "router set --route"
osc router add route --route destination=192.168.20.0/24,gateway=10.0.0.20 r1
oscj shown router show r1
expect "$tmp/shown.json" 'sorted(r["destination"] for r in d["routes"])' '["192.168.10.0/24", "192.168.20.0/24"]' "router add route"
osc router remove route --route destination=192.168.10.0/24,gateway=10.0.0.10 r1
oscj shown router show r1
expect "$tmp/shown.json" 'd["routes"]' '[{"destination": "192.168.20.0/24", "nexthop": "10.0.0.20"}]' "router remove route"
refused "unconnected nexthop" "the nexthop is not connected with router" \
	router set --route destination=192.168.30.0/24,gateway=10.9.9.9 r1
refused "interface used by a route" "required by one or more routes" router remove subnet r1 private-sub
osc router set --no-route r1

# --- floating IPs ---------------------------------------------------------------
oscj vm port create --network private --device-owner compute:nova vm-port
vm=$(id_of "$tmp/vm.json")
vm_ip=$(json_eval "$tmp/vm.json" 'd["fixed_ips"][0]["ip_address"]')
oscj fip floating ip create --description "cli fip" public
fip=$(id_of "$tmp/fip.json")
expect "$tmp/fip.json" 'd["status"]' '"DOWN"' "floating ip create"
expect "$tmp/fip.json" 'd["port_id"]' 'null' "floating ip create"
expect "$tmp/fip.json" 'd["floating_network_id"]' "\"$public\"" "floating ip create"

osc floating ip set --port vm-port "$fip"
oscj fshown floating ip show "$fip"
expect "$tmp/fshown.json" 'd["port_id"]' "\"$vm\"" "floating ip set --port"
expect "$tmp/fshown.json" 'd["router_id"]' "\"$router\"" "floating ip set --port"
expect "$tmp/fshown.json" 'd["fixed_ip_address"]' "$vm_ip" "floating ip set --port"
expect "$tmp/fshown.json" '"device_owner='"'"'compute:nova'"'"'" in str(d["port_details"])' 'true' "floating ip set --port"
oscj flist floating ip list --port vm-port
expect "$tmp/flist.json" '[f["ID"] for f in d]' "[\"$fip\"]" "floating ip list --port"
refused "interface used by a floating IP" "required by one or more floating IPs" router remove subnet r1 private-sub

osc floating ip unset --port "$fip"
oscj fshown floating ip show "$fip"
expect "$tmp/fshown.json" '[d["port_id"], d["router_id"], d["fixed_ip_address"]]' '[null, null, null]' "floating ip unset --port"

# --- port forwardings -----------------------------------------------------------
oscj pf floating ip port forwarding create --internal-ip-address "${vm_ip//\"/}" --port "$vm" \
	--internal-protocol-port 22 --external-protocol-port 2222 --protocol tcp --description ssh "$fip"
pf=$(id_of "$tmp/pf.json")
expect "$tmp/pf.json" '[d["internal_port"], d["external_port"], d["protocol"]]' '[22, 2222, "tcp"]' \
	"floating ip port forwarding create"
oscj pflist floating ip port forwarding list "$fip"
expect "$tmp/pflist.json" '[p["ID"] for p in d]' "[\"$pf\"]" "floating ip port forwarding list"
refused "associate a forwarding floating IP" "in use by Port Forwarding resources" floating ip set --port vm-port "$fip"
osc floating ip port forwarding set --external-protocol-port 2223 "$fip" "$pf"
oscj pf floating ip port forwarding show "$fip" "$pf"
expect "$tmp/pf.json" 'd["external_port"]' '2223' "floating ip port forwarding set"
osc floating ip port forwarding delete "$fip" "$pf"

# --- teardown -------------------------------------------------------------------
osc floating ip delete "$fip"
osc router remove subnet r1 private-sub
osc router unset --external-gateway r1
oscj rports port list --router r1
expect "$tmp/rports.json" 'len(d)' '0' "router teardown"
osc router delete r1
refused "router delete" "No Router found for $router" router show "$router"
osc port delete vm-port
osc subnet delete private-sub public-sub
osc network delete "$private" "$public"

echo "PASS: $me"
