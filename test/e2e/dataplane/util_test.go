package dataplane_test

import (
	"net"
	"strconv"
)

func netIP(s string) net.IP { return net.ParseIP(s) }

func itoa(i int) string { return strconv.Itoa(i) }
