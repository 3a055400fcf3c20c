package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AgentTimeFormat is how agent timestamps are stored and shown: Neutron
// shows an agent's created_at, started_at and heartbeat_timestamp as
// "%Y-%m-%d %H:%M:%S" in UTC.
const AgentTimeFormat = "2006-01-02 15:04:05"

// AgentRow is one row of the agents table, for the scheduling and
// heartbeat paths that do not go through the API's objects.
type AgentRow struct {
	ID, Type, Binary, Topic, Host string
	AvailabilityZone              string
	AdminStateUp                  bool
	CreatedAt, StartedAt          time.Time
	Heartbeat                     time.Time
	// Configurations and ResourceVersions are JSON text.
	Configurations   string
	ResourceVersions string
	Load             int
	ResourcesSynced  *bool
}

const agentCols = "id, agent_type, agent_binary, topic, host, availability_zone, admin_state_up, created_at, started_at, heartbeat_timestamp, configurations, load"

func scanAgents(rows *sql.Rows) ([]AgentRow, error) {
	defer rows.Close()
	var out []AgentRow
	for rows.Next() {
		var a AgentRow
		var az sql.NullString
		var admin any
		var created, started, hb string
		if err := rows.Scan(&a.ID, &a.Type, &a.Binary, &a.Topic, &a.Host, &az, &admin, &created, &started, &hb, &a.Configurations, &a.Load); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		a.AvailabilityZone = az.String
		switch v := admin.(type) {
		case bool:
			a.AdminStateUp = v
		case int64:
			a.AdminStateUp = v != 0
		}
		a.CreatedAt, _ = time.Parse(AgentTimeFormat, created)
		a.StartedAt, _ = time.Parse(AgentTimeFormat, started)
		a.Heartbeat, _ = time.Parse(AgentTimeFormat, hb)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AgentByTypeHost returns the agent of agentType on host, or ErrNotFound.
// With forUpdate the row stays locked until the transaction ends.
func (tx *Tx) AgentByTypeHost(ctx context.Context, agentType, host string, forUpdate bool) (AgentRow, error) {
	q := "SELECT " + agentCols + " FROM agents WHERE agent_type = ? AND host = ?"
	if forUpdate {
		q += tx.s.dialect.forUpdate()
	}
	rows, err := tx.query(ctx, q, agentType, host)
	if err != nil {
		return AgentRow{}, fmt.Errorf("read agent %s on %s: %w", agentType, host, err)
	}
	as, err := scanAgents(rows)
	if err != nil {
		return AgentRow{}, err
	}
	if len(as) == 0 {
		return AgentRow{}, ErrNotFound
	}
	return as[0], nil
}

// AgentByID returns one agent, or ErrNotFound.
func (tx *Tx) AgentByID(ctx context.Context, id string) (AgentRow, error) {
	rows, err := tx.query(ctx, "SELECT "+agentCols+" FROM agents WHERE id = ?", id)
	if err != nil {
		return AgentRow{}, fmt.Errorf("read agent %s: %w", id, err)
	}
	as, err := scanAgents(rows)
	if err != nil {
		return AgentRow{}, err
	}
	if len(as) == 0 {
		return AgentRow{}, ErrNotFound
	}
	return as[0], nil
}

// Agents returns the agents of agentType (every type when empty) on host
// (every host when empty), ordered by id.
func (tx *Tx) Agents(ctx context.Context, agentType, host string) ([]AgentRow, error) {
	var conds []string
	var args []any
	if agentType != "" {
		conds, args = append(conds, "agent_type = ?"), append(args, agentType)
	}
	if host != "" {
		conds, args = append(conds, "host = ?"), append(args, host)
	}
	q := "SELECT " + agentCols + " FROM agents"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := tx.query(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return scanAgents(rows)
}

// LatestHeartbeat returns the newest heartbeat of the agents of
// agentType that are administratively up, and false when there are none:
// whether any of them is alive, in one row however many there are.
func (tx *Tx) LatestHeartbeat(ctx context.Context, agentType string) (time.Time, bool, error) {
	if f := tx.facts; f != nil && agentType != "" && f.agentType == agentType {
		f.agentType = ""
		return parseHeartbeat(f.heartbeat)
	}
	rows, err := tx.query(ctx, "SELECT MAX(heartbeat_timestamp) FROM agents WHERE agent_type = ? AND admin_state_up = ?", agentType, true)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("latest %s heartbeat: %w", agentType, err)
	}
	defer rows.Close()
	var hb sql.NullString
	if rows.Next() {
		if err := rows.Scan(&hb); err != nil {
			return time.Time{}, false, fmt.Errorf("latest %s heartbeat: %w", agentType, err)
		}
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, false, err
	}
	return parseHeartbeat(hb)
}

// parseHeartbeat reads MAX(heartbeat_timestamp): false when NULL (no agent).
func parseHeartbeat(hb sql.NullString) (time.Time, bool, error) {
	if !hb.Valid {
		return time.Time{}, false, nil
	}
	t, _ := time.Parse(AgentTimeFormat, hb.String)
	return t, true, nil
}

// InsertAgent registers a new agent; a second agent of the same type on
// the same host is ErrDuplicate.
func (tx *Tx) InsertAgent(ctx context.Context, a AgentRow) error {
	_, err := tx.exec(ctx, `INSERT INTO agents (id, agent_type, agent_binary, topic, host, availability_zone,
		admin_state_up, created_at, started_at, heartbeat_timestamp, configurations, resource_versions, load, resources_synced)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Type, a.Binary, a.Topic, a.Host, nullString(a.AvailabilityZone), a.AdminStateUp,
		a.CreatedAt.UTC().Format(AgentTimeFormat), a.StartedAt.UTC().Format(AgentTimeFormat),
		a.Heartbeat.UTC().Format(AgentTimeFormat), a.Configurations, nullString(a.ResourceVersions), a.Load, a.ResourcesSynced)
	if err != nil {
		return fmt.Errorf("insert agent %s on %s: %w", a.Type, a.Host, err)
	}
	return nil
}

// UpdateAgentReport writes a heartbeat onto the agent with a.ID: what the
// agent reports (binary, topic, zone, configurations, load, resource
// versions when given) and the heartbeat; started_at too when started.
func (tx *Tx) UpdateAgentReport(ctx context.Context, a AgentRow, started bool) error {
	sets := "agent_binary = ?, topic = ?, configurations = ?, load = ?, heartbeat_timestamp = ?"
	args := []any{a.Binary, a.Topic, a.Configurations, a.Load, a.Heartbeat.UTC().Format(AgentTimeFormat)}
	if a.AvailabilityZone != "" {
		sets, args = sets+", availability_zone = ?", append(args, a.AvailabilityZone)
	}
	if a.ResourceVersions != "" {
		sets, args = sets+", resource_versions = ?", append(args, a.ResourceVersions)
	}
	if a.ResourcesSynced != nil {
		sets, args = sets+", resources_synced = ?", append(args, *a.ResourcesSynced)
	}
	if started {
		sets, args = sets+", started_at = ?", append(args, a.Heartbeat.UTC().Format(AgentTimeFormat))
	}
	if _, err := tx.exec(ctx, "UPDATE agents SET "+sets+" WHERE id = ?", append(args, a.ID)...); err != nil {
		return fmt.Errorf("update agent %s: %w", a.ID, err)
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// BindingKind names one of the agent scheduling tables.
type BindingKind int

// The scheduling tables: networks on DHCP agents, routers on L3 agents.
const (
	DHCPBindings BindingKind = iota
	L3Bindings
)

func (k BindingKind) table() (name, resCol, agentCol string) {
	if k == L3Bindings {
		return "routerl3agentbindings", "router_id", "l3_agent_id"
	}
	return "networkdhcpagentbindings", "network_id", "dhcp_agent_id"
}

// Binding is one resource (network or router) hosted by one agent.
type Binding struct {
	ResourceID, AgentID string
	Index               int
}

// Bindings returns the bindings of kind for resourceID and/or agentID
// (either may be empty for any), ordered by resource and index.
func (tx *Tx) Bindings(ctx context.Context, kind BindingKind, resourceID, agentID string) ([]Binding, error) {
	if f := tx.dhcpFacts; f != nil && kind == DHCPBindings && agentID == "" && resourceID == f.network {
		tx.dhcpFacts = nil
		return f.bindings, nil
	}
	table, _, _ := kind.table()
	key := "bindings/" + table + "/" + resourceID + "/" + agentID
	if v, ok := tx.readMemo[key]; ok {
		return slices.Clone(v.([]Binding)), nil
	}
	out, err := tx.bindings(ctx, kind, resourceID, agentID)
	if err == nil && tx.tx != nil {
		if tx.readMemo == nil {
			tx.readMemo = map[string]any{}
		}
		tx.readMemo[key] = slices.Clone(out)
	}
	return out, err
}

func (tx *Tx) bindings(ctx context.Context, kind BindingKind, resourceID, agentID string) ([]Binding, error) {
	table, resCol, agentCol := kind.table()
	var conds []string
	var args []any
	if resourceID != "" {
		conds, args = append(conds, resCol+" = ?"), append(args, resourceID)
	}
	if agentID != "" {
		conds, args = append(conds, agentCol+" = ?"), append(args, agentID)
	}
	q := "SELECT " + resCol + ", " + agentCol + ", binding_index FROM " + table
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := tx.query(ctx, q+" ORDER BY "+resCol+", binding_index", args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var out []Binding
	for rows.Next() {
		var b Binding
		if err := rows.Scan(&b.ResourceID, &b.AgentID, &b.Index); err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// AddBinding binds resourceID to agentID at index. The unique index per
// resource is what keeps concurrent schedulers from binding more agents
// than allowed: the loser gets ErrDuplicate.
func (tx *Tx) AddBinding(ctx context.Context, kind BindingKind, resourceID, agentID string, index int) error {
	table, resCol, agentCol := kind.table()
	_, err := tx.exec(ctx, "INSERT INTO "+table+" ("+resCol+", "+agentCol+", binding_index) VALUES (?, ?, ?)",
		resourceID, agentID, index)
	if err != nil {
		return fmt.Errorf("bind %s to agent %s: %w", resourceID, agentID, err)
	}
	return nil
}

// RemoveBinding unbinds resourceID from agentID (every agent when empty),
// reporting whether a binding existed.
func (tx *Tx) RemoveBinding(ctx context.Context, kind BindingKind, resourceID, agentID string) (bool, error) {
	table, resCol, agentCol := kind.table()
	q, args := "DELETE FROM "+table+" WHERE "+resCol+" = ?", []any{resourceID}
	if agentID != "" {
		q, args = q+" AND "+agentCol+" = ?", append(args, agentID)
	}
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("unbind %s from agent %s: %w", resourceID, agentID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// BindingCounts returns how many resources of kind each agent hosts;
// agents hosting none are absent.
func (tx *Tx) BindingCounts(ctx context.Context, kind BindingKind) (map[string]int, error) {
	table, _, agentCol := kind.table()
	rows, err := tx.query(ctx, "SELECT "+agentCol+", COUNT(*) FROM "+table+" GROUP BY "+agentCol)
	if err != nil {
		return nil, fmt.Errorf("count %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// DHCPEnabledNetworks returns the ids of networks with at least one
// DHCP-enabled subnet, with their availability_zone_hints (JSON text):
// the networks DHCP agents should serve.
func (tx *Tx) DHCPEnabledNetworks(ctx context.Context, networkID string) (map[string]string, error) {
	q := `SELECT n.id, n.availability_zone_hints FROM networks n WHERE EXISTS
		(SELECT 1 FROM subnets s WHERE s.network_id = n.id AND s.enable_dhcp = ?)`
	args := []any{true}
	if networkID != "" {
		q, args = q+" AND n.id = ?", append(args, networkID)
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read DHCP-enabled networks: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, hints string
		if err := rows.Scan(&id, &hints); err != nil {
			return nil, err
		}
		out[id] = hints
	}
	return out, rows.Err()
}
