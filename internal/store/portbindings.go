package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// InactiveBinding is a port's binding on a host other than its active
// one (binding-extended: made for a live migration's destination).
type InactiveBinding struct {
	PortID, Host, VNICType, VIFType string
	Profile, VIFDetails             map[string]any
}

// InactiveBindings returns a port's inactive bindings, by host.
func (tx *Tx) InactiveBindings(ctx context.Context, portID string) ([]InactiveBinding, error) {
	rows, err := tx.query(ctx, "SELECT host, vnic_type, profile, vif_type, vif_details FROM ml2_inactive_port_bindings WHERE port_id = ? ORDER BY host", portID)
	if err != nil {
		return nil, fmt.Errorf("read inactive bindings of port %s: %w", portID, err)
	}
	defer rows.Close()
	var out []InactiveBinding
	for rows.Next() {
		b := InactiveBinding{PortID: portID}
		var profile, details string
		if err := rows.Scan(&b.Host, &b.VNICType, &profile, &b.VIFType, &details); err != nil {
			return nil, fmt.Errorf("read inactive bindings of port %s: %w", portID, err)
		}
		if err := json.Unmarshal([]byte(profile), &b.Profile); err != nil || b.Profile == nil {
			b.Profile = map[string]any{}
		}
		if err := json.Unmarshal([]byte(details), &b.VIFDetails); err != nil || b.VIFDetails == nil {
			b.VIFDetails = map[string]any{}
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// PutInactiveBinding stores (adds or replaces) an inactive binding.
func (tx *Tx) PutInactiveBinding(ctx context.Context, b InactiveBinding) error {
	if err := tx.DeleteInactiveBinding(ctx, b.PortID, b.Host); err != nil {
		return err
	}
	profile, err := json.Marshal(b.Profile)
	if err != nil {
		return fmt.Errorf("encode binding profile: %w", err)
	}
	details, err := json.Marshal(b.VIFDetails)
	if err != nil {
		return fmt.Errorf("encode binding vif_details: %w", err)
	}
	if _, err := tx.exec(ctx, "INSERT INTO ml2_inactive_port_bindings (port_id, host, vnic_type, profile, vif_type, vif_details) VALUES (?, ?, ?, ?, ?, ?)",
		b.PortID, b.Host, b.VNICType, string(profile), b.VIFType, string(details)); err != nil {
		return fmt.Errorf("store binding of port %s on %s: %w", b.PortID, b.Host, err)
	}
	return nil
}

// DeleteInactiveBinding removes a port's inactive binding on host, if any.
func (tx *Tx) DeleteInactiveBinding(ctx context.Context, portID, host string) error {
	if _, err := tx.exec(ctx, "DELETE FROM ml2_inactive_port_bindings WHERE port_id = ? AND host = ?", portID, host); err != nil {
		return fmt.Errorf("delete binding of port %s on %s: %w", portID, host, err)
	}
	return nil
}
