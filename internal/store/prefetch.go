package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// createFacts are what Prefetch read: small facts the steps of one create
// ask the store for one after another before they write anything. Each is
// given once: a caller that reads a fact again (after taking a lock that
// guards it, as a default security group's creator does) reads the
// database.
type createFacts struct {
	project   string
	quotas    map[string]int // nil once given
	defaultSG string
	haveSG    bool
	agentType string         // "" when no heartbeat was read, or once given
	heartbeat sql.NullString // the newest heartbeat of agentType's agents up
	// network is the network's row when Prefetch was given its resource
	// (PrefetchedNetwork takes it).
	network *resource.Object
}

// PrefetchArgs names what Prefetch reads.
type PrefetchArgs struct {
	// Project is the creating project: its quota limits and default
	// security group are read.
	Project string
	// AgentType, when set: the newest heartbeat of its agents that are up.
	AgentType string
	// NetworkID, when set: the network's DHCP agent bindings and, with
	// Networks (the networks resource), the network's row as Get reads it.
	NetworkID string
	Networks  *resource.Resource
}

// networkBindings are the DHCP agent bindings of one network as Prefetch
// read them.
type networkBindings struct {
	network  string
	bindings []Binding
}

// keptBy reports whether the statement q, about to run, leaves the
// bindings as read: it names neither their table nor a table whose rows'
// deletes cascade into it (networks, agents).
func (nb *networkBindings) keptBy(q string) bool {
	return !mentions(q, "networkdhcpagentbindings") && !mentions(q, "networks") && !mentions(q, "agents")
}

// mentions reports whether the statement q names table as a whole word.
func mentions(q, table string) bool {
	for i := 0; ; {
		j := strings.Index(q[i:], table)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(table)
		if (j == 0 || !identChar(q[j-1])) && (end == len(q) || !identChar(q[end])) {
			return true
		}
		i = end
	}
}

func identChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Prefetch reads, in one statement, what the steps of a create ask the
// store for separately before their first write: the project's quota
// limits (QuotaLimits), its default security group (DefaultSecurityGroup),
// with an agent type the newest heartbeat of the agents of that type that
// are up (LatestHeartbeat), and with a network its DHCP agent bindings
// (Bindings of DHCPBindings for the network) and its row
// (PrefetchedNetwork). Those calls, with the same arguments, answer once
// each from what it read, until the transaction writes (any statement but
// the quota lock, which touches none of it) or takes a named or row lock
// (LockName, LockNames, LockRow: a reader that locks before it reads again
// wants what the lock's holders committed); the bindings until a
// statement names their table, networks or agents (whose deletes cascade
// into it), or a lock. A port
// create on PostgreSQL sent them as five round trips, on SQLite as five
// statements in the writer. Under READ COMMITTED reading them at the
// start of the transaction rather than a few statements later changes
// nothing a caller may rely on: their readers lock none of them. A
// network that does not exist reads nothing (the create fails on it).
// Outside a write transaction Prefetch does nothing.
func (tx *Tx) Prefetch(ctx context.Context, a PrefetchArgs) error {
	if tx.tx == nil {
		return nil
	}
	project, network, agentType := a.Project, a.NetworkID, a.AgentType
	q := "SELECT (SELECT " + tx.s.dialect.aggregate("resource || ':' || CAST(hard_limit AS TEXT)") +
		" FROM quotas WHERE project_id = ?), (SELECT security_group_id FROM default_security_group WHERE project_id = ?)"
	args := []any{project, project}
	if agentType != "" {
		q += ", (SELECT MAX(heartbeat_timestamp) FROM agents WHERE agent_type = ? AND admin_state_up = ?)"
		args = append(args, agentType, true)
	}
	if network != "" {
		q += ", (SELECT " + tx.s.dialect.aggregate("dhcp_agent_id || ':' || CAST(binding_index AS TEXT)") +
			" FROM networkdhcpagentbindings WHERE network_id = ?)"
		args = append(args, network)
	}
	var nt *table
	var nsc *selectCache
	if network != "" && a.Networks != nil {
		// The network's row as Get reads it, its columns first: q's
		// values follow them.
		var err error
		if nt, err = tx.s.table(a.Networks); err != nil {
			return err
		}
		nsc = tx.s.selects(nt)
		q = "SELECT n.*, " + strings.TrimPrefix(q, "SELECT ") + " FROM (" + nsc.sel + " WHERE t.id = ?) n"
		args = append(args, network)
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read what a create in %s needs: %w", project, err)
	}
	defer rows.Close()
	var raw, dest []any
	if nt != nil {
		raw, dest = scanDest(nt, nsc.rels, nt.res.Standard)
	}
	var quotas, sg, hb, bindings sql.NullString
	dest = append(dest, &quotas, &sg)
	if agentType != "" {
		dest = append(dest, &hb)
	}
	if network != "" {
		dest = append(dest, &bindings)
	}
	if !rows.Next() {
		return rows.Err()
	}
	f := &createFacts{project: project, quotas: map[string]int{}, agentType: agentType}
	if nt != nil {
		// scanObject scans every destination and decodes the network's.
		if f.network, err = scanObject(nt, nsc.rels, nt.res.Standard, rows, raw, dest); err != nil {
			return err
		}
	} else if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("read what a create in %s needs: %w", project, err)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	f.defaultSG, f.haveSG, f.heartbeat = sg.String, true, hb
	if quotas.Valid && quotas.String != "" {
		for _, kv := range strings.Split(quotas.String, ",") {
			k, v, ok := strings.Cut(kv, ":")
			n, err := strconv.Atoi(v)
			if !ok || err != nil {
				return fmt.Errorf("read quotas of %s: unexpected %q", project, kv)
			}
			f.quotas[k] = n
		}
	}
	tx.facts = f
	if network == "" {
		return nil
	}
	nb := &networkBindings{network: network}
	if bindings.Valid && bindings.String != "" {
		for _, kv := range strings.Split(bindings.String, ",") {
			agent, index, ok := strings.Cut(kv, ":")
			n, err := strconv.Atoi(index)
			if !ok || err != nil {
				return fmt.Errorf("read DHCP agents of network %s: unexpected %q", network, kv)
			}
			nb.bindings = append(nb.bindings, Binding{ResourceID: network, AgentID: agent, Index: n})
		}
		// In Bindings' order: by index.
		slices.SortFunc(nb.bindings, func(a, b Binding) int { return a.Index - b.Index })
	}
	tx.dhcpFacts = nb
	return nil
}

// forgetFacts drops what Prefetch read: a lock was taken (see Prefetch).
func (tx *Tx) forgetFacts() { tx.facts, tx.dhcpFacts = nil, nil }

// PrefetchedNetwork returns the network's row that Prefetch read in this
// transaction, once, and false when it read none or the transaction has
// written since (then Get reads it).
func (tx *Tx) PrefetchedNetwork(id string) (*resource.Object, bool) {
	f := tx.facts
	if f == nil || f.network == nil || f.network.ID() != id {
		return nil, false
	}
	o := f.network
	f.network = nil
	return o, true
}
