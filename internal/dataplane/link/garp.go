package link

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// ARPSender sends ARP requests from one device of a namespace on one
// packet socket. Opening one is cheap; closing it is not: the kernel
// waits for an RCU grace period (synchronize_net) as it releases a
// packet socket, 10–20 ms on a busy host. A router announcing fifty new
// floating IPs with a socket each took 0.75 s to send the last one, so
// whatever announces many addresses sends them all on one sender.
type ARPSender struct {
	fd   int
	to   unix.SockaddrLinklayer
	hw   net.HardwareAddr
	name string
}

// OpenARP opens a sender on the device dev of namespace ns.
func OpenARP(ns netns.Handle, dev string) (*ARPSender, error) {
	s := &ARPSender{fd: -1, name: dev}
	err := netns.Do(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return fmt.Errorf("ARP on %s: %w", dev, err)
		}
		if len(ifi.HardwareAddr) != 6 {
			return fmt.Errorf("ARP on %s: no Ethernet address", dev)
		}
		// Protocol 0: the socket only sends (it hooks no receive path,
		// so it is not handed every ARP frame of the namespace).
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("ARP on %s: socket: %w", dev, err)
		}
		s.fd, s.hw = fd, ifi.HardwareAddr
		s.to = unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6}
		copy(s.to.Addr[:], broadcast)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

var broadcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Gratuitous announces that the device holds the IPv4 address ip, as
// `arping -U` does for Neutron's L3 agent when it adds a floating IP or
// gateway address: neighbours replace a stale or unresolved entry for ip
// at once instead of waiting for it to expire or for their next request.
// It sends one unsolicited ARP request, broadcast.
func (s *ARPSender) Gratuitous(ip netip.Addr) error {
	if !ip.Is4() {
		return nil
	}
	return s.send(ip, ip)
}

// Request asks, from the device holding the IPv4 address sender, who
// has target. The kernel has no part in it: the answer only updates a
// neighbour entry for target that exists already, which is what it is
// for — an entry left INCOMPLETE by a request that went out before the
// device's wire was connected (a router's gateway device before the L2
// part put its tap on the bridge) resolves at once instead of at the
// kernel's next solicitation a second later.
func (s *ARPSender) Request(sender, target netip.Addr) error {
	if !sender.Is4() || !target.Is4() {
		return nil
	}
	return s.send(sender, target)
}

func (s *ARPSender) send(sender, target netip.Addr) error {
	sa, ta := sender.As4(), target.As4()
	frame := make([]byte, 0, 42)
	frame = append(frame, broadcast...)
	frame = append(frame, s.hw...)
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_ARP)
	frame = binary.BigEndian.AppendUint16(frame, 1)             // hardware: Ethernet
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_IP) // protocol: IPv4
	frame = append(frame, 6, 4)
	frame = binary.BigEndian.AppendUint16(frame, 1) // request
	frame = append(frame, s.hw...)
	frame = append(frame, sa[:]...)
	frame = append(frame, 0, 0, 0, 0, 0, 0)
	frame = append(frame, ta[:]...)
	if err := unix.Sendto(s.fd, frame, 0, &s.to); err != nil {
		return fmt.Errorf("ARP on %s: send: %w", s.name, err)
	}
	return nil
}

// Close releases the socket; it blocks for the kernel's grace period
// (see ARPSender), so callers on a latency path close in the background.
func (s *ARPSender) Close() error { return unix.Close(s.fd) }

// GratuitousARP sends count gratuitous ARPs for ip from the device dev
// of namespace ns (see ARPSender.Gratuitous) on a sender of its own.
func GratuitousARP(ns netns.Handle, dev string, ip netip.Addr, count int) error {
	if !ip.Is4() {
		return nil
	}
	return sendOnce(ns, dev, func(s *ARPSender) error {
		for range max(count, 1) {
			if err := s.Gratuitous(ip); err != nil {
				return err
			}
		}
		return nil
	})
}

// ARPRequest asks, from the device dev of namespace ns holding the IPv4
// address sender, who has target (see ARPSender.Request), on a sender of
// its own.
func ARPRequest(ns netns.Handle, dev string, sender, target netip.Addr) error {
	if !sender.Is4() || !target.Is4() {
		return nil
	}
	return sendOnce(ns, dev, func(s *ARPSender) error { return s.Request(sender, target) })
}

func sendOnce(ns netns.Handle, dev string, fn func(*ARPSender) error) error {
	s, err := OpenARP(ns, dev)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
