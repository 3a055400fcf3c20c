package store

// A port listing reads each chunk's addresses by the range of its port
// ids (loadRelated): with an index holding the columns it reads, that is
// one index range scan, where ip_allocations_port_id cost a lookup of the
// table's row per address. The new index leads with port_id, so it
// serves every query the old one did.
func init() {
	registerMigration(migration{29, "ip_allocations read by port from their index alone", []string{
		`CREATE INDEX ip_allocations_port ON ip_allocations (port_id, subnet_id, ip_address)`,
		`DROP INDEX ip_allocations_port_id`,
	}})
}
