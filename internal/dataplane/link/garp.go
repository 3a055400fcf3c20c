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
	return netns.Do(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return fmt.Errorf("gratuitous ARP on %s: %w", dev, err)
		}
		if len(ifi.HardwareAddr) != 6 {
			return fmt.Errorf("gratuitous ARP on %s: no Ethernet address", dev)
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("gratuitous ARP on %s: socket: %w", dev, err)
		}
		defer unix.Close(fd)
		bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		addr := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6}
		copy(addr.Addr[:], bcast)
		a := ip.As4()
		frame := make([]byte, 0, 42)
		frame = append(frame, bcast...)
		frame = append(frame, ifi.HardwareAddr...)
		frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_ARP)
		frame = binary.BigEndian.AppendUint16(frame, 1)             // hardware: Ethernet
		frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_IP) // protocol: IPv4
		frame = append(frame, 6, 4)
		frame = binary.BigEndian.AppendUint16(frame, 1) // request
		frame = append(frame, ifi.HardwareAddr...)
		frame = append(frame, a[:]...)
		frame = append(frame, 0, 0, 0, 0, 0, 0)
		frame = append(frame, a[:]...)
		for range max(count, 1) {
			if err := unix.Sendto(fd, frame, 0, addr); err != nil {
				return fmt.Errorf("gratuitous ARP on %s: send: %w", dev, err)
			}
		}
		return nil
	})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
