package agents_test

import "github.com/neutrino-net/neutrino/internal/testenv/nsrig"

// The namespace rig is shared with the other end-to-end tests.
type (
	Rig   = nsrig.Rig
	VM    = nsrig.VM
	Lease = nsrig.Lease
)

var (
	RequireDataplane = nsrig.RequireDataplane
	RandHex          = nsrig.RandHex
	UUID             = nsrig.UUID
	New              = nsrig.New
	KillIn           = nsrig.KillIn
	Must             = nsrig.Must
	Addr             = nsrig.Addr
	Run              = nsrig.Run
	Ping             = nsrig.Ping
	PingFirst        = nsrig.PingFirst
	WaitFor          = nsrig.WaitFor
)

const UDHCPCHook = nsrig.UDHCPCHook
