package ipam

import (
	"crypto/rand"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultBaseMAC is Neutron's default [DEFAULT] base_mac.
const DefaultBaseMAC = "fa:16:3e:00:00:00"

// ValidateBaseMAC checks a base_mac option as Neutron does at start-up
// (validators.MAC_PATTERN): six colon-separated pairs of hex digits whose
// first octet is even (unicast). The error reads as Neutron's: "Base MAC:
// '<base>' is not a valid input".
func ValidateBaseMAC(base string) error {
	if _, ok := parseBaseMAC(base); !ok {
		return fmt.Errorf("Base MAC: '%s' is not a valid input", base)
	}
	return nil
}

// parseBaseMAC splits a valid base MAC into its octet strings.
func parseBaseMAC(base string) ([]string, bool) {
	parts := strings.Split(base, ":")
	if len(parts) != 6 {
		return nil, false
	}
	for _, p := range parts {
		if len(p) != 2 {
			return nil, false
		}
		if _, err := strconv.ParseUint(p, 16, 8); err != nil {
			return nil, false
		}
	}
	if !strings.ContainsRune("02468aceACE", rune(parts[0][1])) {
		return nil, false
	}
	return parts, true
}

// RandomMAC returns a random MAC address with Neutron's base_mac semantics
// (neutron_lib.utils.net.random_mac_generator): the first three octets are
// base's, the fourth is base's too unless it is 00, and the rest are
// random. rnd fills a buffer with random bytes; nil means crypto/rand.
// Neutron retries on a MAC already used on the network; so must the
// caller.
func RandomMAC(base string, rnd func([]byte)) (net.HardwareAddr, error) {
	parts, ok := parseBaseMAC(base)
	if !ok {
		return nil, ValidateBaseMAC(base)
	}
	if rnd == nil {
		rnd = func(b []byte) { _, _ = rand.Read(b) }
	}
	mac := make(net.HardwareAddr, 6)
	fixed := 3
	if parts[3] != "00" {
		fixed = 4
	}
	for i := 0; i < fixed; i++ {
		v, _ := strconv.ParseUint(parts[i], 16, 8)
		mac[i] = byte(v)
	}
	rnd(mac[fixed:])
	return mac, nil
}
