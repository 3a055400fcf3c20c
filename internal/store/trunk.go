package store

import (
	"context"
	"fmt"
)

// SubPort is one sub-port of a trunk: a port carried on the trunk's
// parent port, tagged with a segmentation (type and id).
type SubPort struct {
	PortID           string
	TrunkID          string
	SegmentationType string
	SegmentationID   int
}

func (tx *Tx) scanSubPorts(ctx context.Context, q string, args ...any) ([]SubPort, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read sub-ports: %w", err)
	}
	defer rows.Close()
	var out []SubPort
	for rows.Next() {
		var s SubPort
		var id int64
		if err := rows.Scan(&s.PortID, &s.TrunkID, &s.SegmentationType, &id); err != nil {
			return nil, fmt.Errorf("read sub-ports: %w", err)
		}
		s.SegmentationID = int(id)
		out = append(out, s)
	}
	return out, rows.Err()
}

const subPortColumns = "SELECT port_id, trunk_id, segmentation_type, segmentation_id FROM subports"

// TrunkSubPorts returns the sub-ports of the given trunks, keyed by trunk
// id, each trunk's in port id order (the order Neutron's primary key
// reads them in).
func (tx *Tx) TrunkSubPorts(ctx context.Context, trunkIDs []string) (map[string][]SubPort, error) {
	out := make(map[string][]SubPort, len(trunkIDs))
	for i := 0; i < len(trunkIDs); i += maxInList {
		chunk := trunkIDs[i:min(i+maxInList, len(trunkIDs))]
		subs, err := tx.scanSubPorts(ctx, subPortColumns+" WHERE trunk_id IN ("+placeholders(len(chunk))+") ORDER BY port_id", anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			out[s.TrunkID] = append(out[s.TrunkID], s)
		}
	}
	return out, nil
}

// SubPortOf returns the sub-port row of port, if the port is a sub-port.
func (tx *Tx) SubPortOf(ctx context.Context, portID string) (SubPort, bool, error) {
	subs, err := tx.scanSubPorts(ctx, subPortColumns+" WHERE port_id = ?", portID)
	if err != nil || len(subs) == 0 {
		return SubPort{}, false, err
	}
	return subs[0], true, nil
}

// SubPortWithSegmentation returns the sub-port of trunk using the given
// segmentation, if any.
func (tx *Tx) SubPortWithSegmentation(ctx context.Context, trunkID, segType string, segID int) (SubPort, bool, error) {
	subs, err := tx.scanSubPorts(ctx, subPortColumns+" WHERE trunk_id = ? AND segmentation_type = ? AND segmentation_id = ?",
		trunkID, segType, segID)
	if err != nil || len(subs) == 0 {
		return SubPort{}, false, err
	}
	return subs[0], true, nil
}

// AddSubPort stores a sub-port; ErrDuplicate when the port or the
// segmentation is taken.
func (tx *Tx) AddSubPort(ctx context.Context, s SubPort) error {
	if _, err := tx.exec(ctx, "INSERT INTO subports (port_id, trunk_id, segmentation_type, segmentation_id) VALUES (?, ?, ?, ?)",
		s.PortID, s.TrunkID, s.SegmentationType, s.SegmentationID); err != nil {
		return fmt.Errorf("add sub-port %s to trunk %s: %w", s.PortID, s.TrunkID, err)
	}
	return nil
}

// RemoveSubPort removes port from trunk's sub-ports.
func (tx *Tx) RemoveSubPort(ctx context.Context, trunkID, portID string) error {
	if _, err := tx.exec(ctx, "DELETE FROM subports WHERE trunk_id = ? AND port_id = ?", trunkID, portID); err != nil {
		return fmt.Errorf("remove sub-port %s of trunk %s: %w", portID, trunkID, err)
	}
	return nil
}

// RemoveTrunkSubPorts removes every sub-port of trunk.
func (tx *Tx) RemoveTrunkSubPorts(ctx context.Context, trunkID string) error {
	if _, err := tx.exec(ctx, "DELETE FROM subports WHERE trunk_id = ?", trunkID); err != nil {
		return fmt.Errorf("remove sub-ports of trunk %s: %w", trunkID, err)
	}
	return nil
}

// TrunkOfPort returns the id of the trunk whose parent port is portID, or
// "" when the port is no trunk's parent.
func (tx *Tx) TrunkOfPort(ctx context.Context, portID string) (string, error) {
	rows, err := tx.query(ctx, "SELECT id FROM trunks WHERE port_id = ?", portID)
	if err != nil {
		return "", fmt.Errorf("read trunk of port %s: %w", portID, err)
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

// TrunksOfPorts returns the trunk ids whose parent ports are among
// portIDs, keyed by parent port id.
func (tx *Tx) TrunksOfPorts(ctx context.Context, portIDs []string) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i < len(portIDs); i += maxInList {
		chunk := portIDs[i:min(i+maxInList, len(portIDs))]
		rows, err := tx.query(ctx, "SELECT port_id, id FROM trunks WHERE port_id IN ("+placeholders(len(chunk))+")", anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("read trunks of ports: %w", err)
		}
		for rows.Next() {
			var port, id string
			if err := rows.Scan(&port, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[port] = id
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
