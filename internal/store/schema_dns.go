package store

// DNS attributes (the dns-integration, dns-domain-ports and
// subnet-dns-publish-fixed-ip extensions): columns of the resources they
// describe, empty by default, so a deployment without them pays nothing.
func init() {
	registerMigration(migration{14, "dns: ports' dns_name and dns_domain, networks' dns_domain, subnets' dns_publish_fixed_ip", []string{
		`ALTER TABLE ports ADD COLUMN dns_name VARCHAR(255) NOT NULL DEFAULT ''`,
		`ALTER TABLE ports ADD COLUMN dns_domain VARCHAR(255) NOT NULL DEFAULT ''`,
		`ALTER TABLE networks ADD COLUMN dns_domain VARCHAR(255) NOT NULL DEFAULT ''`,
		`ALTER TABLE subnets ADD COLUMN dns_publish_fixed_ip BOOLEAN NOT NULL DEFAULT FALSE`,
	}})
}
