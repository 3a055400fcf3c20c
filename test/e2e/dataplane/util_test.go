package dataplane_test

import (
	"net"
	"strconv"
	"syscall"
)

func netIP(s string) net.IP { return net.ParseIP(s) }

func itoa(i int) string { return strconv.Itoa(i) }

func killPID(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
