package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// DefaultSecurityGroup returns the id of a project's default security
// group, or "" when it has none yet.
func (tx *Tx) DefaultSecurityGroup(ctx context.Context, project string) (string, error) {
	if f := tx.facts; f != nil && f.project == project && f.haveSG {
		f.haveSG = false
		return f.defaultSG, nil
	}
	rows, err := tx.query(ctx, "SELECT security_group_id FROM default_security_group WHERE project_id = ?", project)
	if err != nil {
		return "", fmt.Errorf("read default security group of %s: %w", project, err)
	}
	defer rows.Close()
	var id string
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
	}
	return id, rows.Err()
}

// SetDefaultSecurityGroup records a project's default security group;
// ErrDuplicate when the project already has one.
func (tx *Tx) SetDefaultSecurityGroup(ctx context.Context, project, groupID string) error {
	if _, err := tx.exec(ctx, "INSERT INTO default_security_group (project_id, security_group_id) VALUES (?, ?)",
		project, groupID); err != nil {
		return fmt.Errorf("record default security group of %s: %w", project, err)
	}
	return nil
}

// SetPortSecurityGroups replaces the security groups a port is in.
func (tx *Tx) SetPortSecurityGroups(ctx context.Context, portID string, groupIDs []string) error {
	if _, err := tx.exec(ctx, "DELETE FROM securitygroupportbindings WHERE port_id = ?", portID); err != nil {
		return fmt.Errorf("unbind security groups of port %s: %w", portID, err)
	}
	return tx.AddPortSecurityGroups(ctx, portID, groupIDs)
}

// AddPortSecurityGroups binds a port that has none of them to groups, in
// one statement.
func (tx *Tx) AddPortSecurityGroups(ctx context.Context, portID string, groupIDs []string) error {
	if len(groupIDs) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(groupIDs))
	for _, id := range groupIDs {
		args = append(args, portID, id)
	}
	q := "INSERT INTO securitygroupportbindings (port_id, security_group_id) VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?), ", len(groupIDs)), ", ")
	// Nothing reads the bindings back before the next statement, which
	// sees them: on PostgreSQL they go with it (see execLater).
	return tx.execLater(ctx, fmt.Sprintf("bind port %s to security groups %v", portID, groupIDs), q, args...)
}

// SecurityGroupPortCount counts the ports in a security group.
func (tx *Tx) SecurityGroupPortCount(ctx context.Context, groupID string) (int, error) {
	return tx.Count(ctx, "securitygroupportbindings", "security_group_id", groupID)
}

// MemberAddress is an address a port of a security group may send from:
// a fixed IP (MAC empty) or an allowed address pair.
type MemberAddress struct {
	IP, MAC string
}

// SecurityGroupMembers returns, for each of the given groups, the fixed
// IPs and allowed address pairs of the ports in it, in two queries
// whatever the number of groups and ports.
func (tx *Tx) SecurityGroupMembers(ctx context.Context, groupIDs []string) (map[string][]MemberAddress, error) {
	out := map[string][]MemberAddress{}
	if len(groupIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(groupIDs))
	for i, id := range groupIDs {
		args[i] = id
	}
	in := "(" + placeholders(len(groupIDs)) + ")"
	rows, err := tx.query(ctx, `SELECT b.security_group_id, a.ip_address FROM securitygroupportbindings b
		JOIN ip_allocations a ON a.port_id = b.port_id
		WHERE b.security_group_id IN `+in+` ORDER BY b.security_group_id, a.ip_key`, args...)
	if err != nil {
		return nil, fmt.Errorf("read security group member addresses: %w", err)
	}
	for rows.Next() {
		var sg, ip string
		if err := rows.Scan(&sg, &ip); err != nil {
			rows.Close()
			return nil, err
		}
		out[sg] = append(out[sg], MemberAddress{IP: ip})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	rows, err = tx.query(ctx, `SELECT b.security_group_id, p.allowed_address_pairs FROM securitygroupportbindings b
		JOIN ports p ON p.id = b.port_id
		WHERE b.security_group_id IN `+in+` AND p.allowed_address_pairs <> '[]'`, args...)
	if err != nil {
		return nil, fmt.Errorf("read security group member address pairs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sg string
		var raw sql.NullString
		if err := rows.Scan(&sg, &raw); err != nil {
			return nil, err
		}
		var pairs []struct {
			IP  string `json:"ip_address"`
			MAC string `json:"mac_address"`
		}
		if err := json.NewDecoder(strings.NewReader(raw.String)).Decode(&pairs); err != nil {
			return nil, fmt.Errorf("decode address pairs: %w", err)
		}
		for _, p := range pairs {
			out[sg] = append(out[sg], MemberAddress{IP: p.IP, MAC: p.MAC})
		}
	}
	return out, rows.Err()
}

// SecurityGroupPortProjects returns the projects owning ports in a
// security group.
func (tx *Tx) SecurityGroupPortProjects(ctx context.Context, groupID string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT DISTINCT p.project_id FROM securitygroupportbindings b
		JOIN ports p ON p.id = b.port_id WHERE b.security_group_id = ? ORDER BY p.project_id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("read projects using security group %s: %w", groupID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
