package dnsmasq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// Lease is an IPv4 entry of dnsmasq's lease file.
type Lease struct {
	IP, MAC, ClientID string
}

// ReadLeases returns the IPv4 leases dnsmasq holds in its lease file
// ("expiry mac ip hostname client-id" lines; IPv6 entries and the duid
// line are skipped).
func ReadLeases(path string) ([]Lease, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	defer f.Close()
	var out []Lease
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 5 || strings.Contains(fields[2], ":") {
			continue
		}
		l := Lease{IP: fields[2], MAC: fields[1]}
		if fields[4] != "*" {
			l.ClientID = fields[4]
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// StaleLeases returns the leases whose (IP, MAC) pair no port of n holds
// any more: dnsmasq would otherwise refuse the address to the next port
// that gets it, since it is still leased to the old MAC.
func StaleLeases(n *Network, leases []Lease) []Lease {
	current := map[[2]string]bool{}
	for _, p := range n.Ports {
		mac := strings.ToLower(p.MAC)
		for _, ip := range p.FixedIPs {
			current[[2]string{ip.IPAddress, mac}] = true
		}
	}
	var stale []Lease
	for _, l := range leases {
		if !current[[2]string{l.IP, strings.ToLower(l.MAC)}] {
			stale = append(stale, l)
		}
	}
	return stale
}

// Release asks dnsmasq to drop a lease, by running dnsmasq-utils'
// dhcp_release inside the network's namespace (it sends a DHCPRELEASE on
// the DHCP interface), as Neutron does.
func Release(ctx context.Context, binary string, ns netns.Handle, iface string, l Lease) error {
	args := []string{iface, l.IP, l.MAC}
	if l.ClientID != "" {
		args = append(args, l.ClientID)
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := netns.Start(ns, cmd); err != nil {
		return fmt.Errorf("dhcp_release %s %s: %w", l.IP, l.MAC, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dhcp_release %s %s: %w: %s", l.IP, l.MAC, err, strings.TrimSpace(out.String()))
	}
	return nil
}
