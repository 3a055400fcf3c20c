// Package nftns opens nftables connections in a network namespace,
// reads the fingerprint a table's owner left in it, replaces a table
// whose fingerprint changed and removes a namespace's tables. Each owner of a table (nat, cthelper, ndpfilter,
// meter, qos, firewall) keeps its own connection; this is the part they
// all do the same way.
package nftns

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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

// Fingerprint returns the user data of the first rule of chain in table t:
// the owners keep a digest of the ruleset they wrote there, so a pass can
// tell an unchanged table without reading it back whole. A missing table
// or chain, or an empty chain, gives nil.
func Fingerprint(c *nftables.Conn, t *nftables.Table, chain string) ([]byte, error) {
	rules, err := c.GetRules(t, &nftables.Chain{Name: chain, Table: t})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, fmt.Errorf("nftables: read table %s: %w", t.Name, err)
	}
	if len(rules) == 0 {
		return nil, nil
	}
	return rules[0].UserData, nil
}

// Exists reports whether the table t exists.
func Exists(c *nftables.Conn, t *nftables.Table) (bool, error) {
	if _, err := c.ListTableOfFamily(t.Name, t.Family); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("nftables: read table %s: %w", t.Name, err)
	}
	return true, nil
}

// Recreate begins, in c's batch, writing the table t anew: an existing
// one is added (a no-op), deleted and added again, so that the batch
// replaces it and it is never absent; an absent one is only created
// (failing the batch if it appeared meanwhile). The difference matters:
// a transaction that deletes waits for an RCU grace period in the kernel
// (10–20 ms on a busy host), one that only adds takes well under a
// millisecond — the price of every router's or port's first table.
func Recreate(c *nftables.Conn, t *nftables.Table, exists bool) {
	if !exists {
		c.CreateTable(t)
		return
	}
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
}

// Replace makes namespace ns's table t hold what build adds, in one
// transaction, unless the first rule of chain already carries fp (then it
// writes nothing); a nil fp removes the table instead. build must add
// chain with a first rule whose UserData is fp. The table is written
// anew in one batch (Recreate), so it is replaced, never absent. Replace
// reports whether it wrote.
func Replace(ns netns.NsHandle, t *nftables.Table, chain string, fp []byte, build func(c *nftables.Conn, t *nftables.Table) error) (bool, error) {
	c, err := Open(ns)
	if err != nil {
		return false, err
	}
	cur, err := Fingerprint(c, t, chain)
	if err != nil {
		return false, err
	}
	if fp == nil {
		if cur == nil {
			return false, nil
		}
		return true, RemoveTables(ns, t)
	}
	if bytes.Equal(cur, fp) {
		return false, nil
	}
	exists := cur != nil
	if !exists {
		if exists, err = Exists(c, t); err != nil {
			return false, err
		}
	}
	Recreate(c, t, exists)
	if err := build(c, t); err != nil {
		return false, err
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables: write %s: %w", t.Name, err)
	}
	return true, nil
}
