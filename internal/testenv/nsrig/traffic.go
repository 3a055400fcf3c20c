package nsrig

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/dataplane/netns"
)

// ServeTCP listens on addr ("ip:port" or ":port") inside ns until the
// test ends and hands every connection to handle, each in a goroutine of
// its own; the connection is closed when handle returns.
func ServeTCP(tb testing.TB, ns netns.Handle, addr string, handle func(net.Conn)) {
	tb.Helper()
	var l net.Listener
	Must(tb, netns.Do(ns, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	}))
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// TOS sends UDP datagrams from namespace from to ip:port, received in
// namespace to, and returns the TOS byte the first one to arrive carries:
// what a DSCP marking (TOS >> 2) did to it on the way.
func TOS(from, to netns.Handle, ip string, port int) (byte, error) {
	var rc *net.UDPConn
	err := netns.Do(to, func() error {
		l, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			return err
		}
		rc = l
		raw, err := l.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1) }); err != nil {
			return err
		}
		return serr
	})
	if err != nil {
		return 0, fmt.Errorf("listen on UDP %d: %w", port, err)
	}
	defer rc.Close()
	var sc net.Conn
	if err := netns.Do(from, func() (err error) {
		sc, err = net.Dial("udp4", net.JoinHostPort(ip, strconv.Itoa(port)))
		return err
	}); err != nil {
		return 0, err
	}
	defer sc.Close()
	for range 10 {
		if _, err := sc.Write([]byte("tos?")); err != nil {
			return 0, err
		}
		_ = rc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf, oob := make([]byte, 16), make([]byte, 64)
		_, oobn, _, _, err := rc.ReadMsgUDP(buf, oob)
		if err != nil {
			continue
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TOS && len(m.Data) > 0 {
				return m.Data[0], nil
			}
		}
		return 0, errors.New("no TOS among the datagram's control messages")
	}
	return 0, fmt.Errorf("no datagram to %s arrived", net.JoinHostPort(ip, strconv.Itoa(port)))
}

// ServeTFTP answers every TFTP read request on UDP 69 in ns until the
// test ends, as TFTP servers answer: from a new port of their own, not
// from 69, which a router's SNAT lets back only with the tftp conntrack
// helper.
func ServeTFTP(tb testing.TB, ns netns.Handle) {
	tb.Helper()
	var l *net.UDPConn
	Must(tb, netns.Do(ns, func() (err error) {
		l, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 69})
		return err
	}))
	tb.Cleanup(func() { l.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := l.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_ = netns.Do(ns, func() error {
				c, err := net.ListenUDP("udp4", nil)
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.WriteToUDP([]byte("\x00\x03\x00\x01data"), from)
				return err
			})
		}
	}()
}

// TFTPAnswered sends a TFTP read request from ns to server ("ip:port")
// and reports whether a data packet came back within 1.5 s; the error is
// for a request that could not be sent, never for a missing answer.
func TFTPAnswered(ns netns.Handle, server string) (bool, error) {
	var conn *net.UDPConn
	if err := netns.Do(ns, func() (err error) {
		conn, err = net.ListenUDP("udp4", nil)
		return err
	}); err != nil {
		return false, err
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		return false, err
	}
	if _, err := conn.WriteToUDP([]byte("\x00\x01file\x00octet\x00"), dst); err != nil {
		return false, fmt.Errorf("send a read request to %s: %w", server, err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(1500 * time.Millisecond)); err != nil {
		return false, err
	}
	buf := make([]byte, 64)
	n, _, err := conn.ReadFromUDP(buf)
	return err == nil && bytes.HasPrefix(buf[:n], []byte("\x00\x03")), nil
}
