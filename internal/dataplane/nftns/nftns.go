// Package nftns opens nftables connections in a network namespace and
// removes a namespace's tables. Each owner of a table (nat, cthelper,
// meter, qos, firewall) keeps its own connection; this is the part they
// all do the same way.
package nftns

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

// Open returns a connection to the nftables of namespace ns; a closed
// handle (netns.None()) means the caller's own namespace.
func Open(ns netns.NsHandle, opts ...nftables.ConnOption) (*nftables.Conn, error) {
	if ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// RemoveTables deletes the given tables of namespace ns in one
// transaction; a table that does not exist is not an error (it is added
// first, which is a no-op for an existing one).
func RemoveTables(ns netns.NsHandle, tables ...*nftables.Table) error {
	c, err := Open(ns)
	if err != nil {
		return err
	}
	for _, t := range tables {
		c.AddTable(t)
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table %s: %w", tables[0].Name, err)
	}
	return nil
}
