package link

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// GratuitousARP announces that the device dev of namespace ns holds the
// IPv4 address ip, as `arping -U` does for Neutron's L3 agent when it adds
// a floating IP or gateway address: neighbours replace a stale entry for
// ip at once instead of waiting for it to expire. It sends count
// unsolicited ARP requests, broadcast.
func GratuitousARP(ns netns.Handle, dev string, ip netip.Addr, count int) error {
	if !ip.Is4() {
		return nil
	}
	return sendARPRequest(ns, dev, ip, ip, max(count, 1))
}

// ARPRequest asks, from the device dev of namespace ns holding the IPv4
// address sender, who has target. The kernel has no part in it: the
// answer only updates a neighbour entry for target that exists already,
// which is what it is for — an entry left INCOMPLETE by a request that
// went out before the device's wire was connected (a router's gateway
// device before the L2 part put its tap on the bridge) resolves at once
// instead of at the kernel's next solicitation a second later.
func ARPRequest(ns netns.Handle, dev string, sender, target netip.Addr) error {
	if !sender.Is4() || !target.Is4() {
		return nil
	}
	return sendARPRequest(ns, dev, sender, target, 1)
}

// sendARPRequest broadcasts count ARP requests for target from dev
// with sender as the sender address.
func sendARPRequest(ns netns.Handle, dev string, sender, target netip.Addr, count int) error {
	return netns.Do(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return fmt.Errorf("ARP on %s: %w", dev, err)
		}
		if len(ifi.HardwareAddr) != 6 {
			return fmt.Errorf("ARP on %s: no Ethernet address", dev)
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("ARP on %s: socket: %w", dev, err)
		}
		defer unix.Close(fd)
		bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		addr := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6}
		copy(addr.Addr[:], bcast)
		s, t := sender.As4(), target.As4()
		frame := make([]byte, 0, 42)
		frame = append(frame, bcast...)
		frame = append(frame, ifi.HardwareAddr...)
		frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_ARP)
		frame = binary.BigEndian.AppendUint16(frame, 1)             // hardware: Ethernet
		frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_IP) // protocol: IPv4
		frame = append(frame, 6, 4)
		frame = binary.BigEndian.AppendUint16(frame, 1) // request
		frame = append(frame, ifi.HardwareAddr...)
		frame = append(frame, s[:]...)
		frame = append(frame, 0, 0, 0, 0, 0, 0)
		frame = append(frame, t[:]...)
		for range count {
			if err := unix.Sendto(fd, frame, 0, addr); err != nil {
				return fmt.Errorf("ARP on %s: send: %w", dev, err)
			}
		}
		return nil
	})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
