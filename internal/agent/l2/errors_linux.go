package l2

import "golang.org/x/sys/unix"

// errNoVLANKernel is what RTNETLINK returns for an unknown link kind
// ("Unknown device type" from iproute2).
var errNoVLANKernel = unix.EOPNOTSUPP
