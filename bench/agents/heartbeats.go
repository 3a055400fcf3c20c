package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/store"
)

// heartbeats stands in for the agents plugin's report_state (another
// part of Neutrino owns the agents table): it decodes Neutron's
// report_state arguments and upserts the agent's row in a benchmark
// table, one write transaction per report as the real one takes.
type heartbeats struct{ st *store.Store }

func (h *heartbeats) init(ctx context.Context) error {
	return h.st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_agent_heartbeats (
			agent_type VARCHAR(255) NOT NULL,
			host VARCHAR(255) NOT NULL,
			configurations TEXT NOT NULL,
			heartbeat_at VARCHAR(32) NOT NULL,
			started_at VARCHAR(32) NOT NULL,
			PRIMARY KEY (agent_type, host))`)
		return err
	})
}

// ReportState implements rpcserver.Agents.
func (h *heartbeats) ReportState(ctx context.Context, args json.RawMessage) (any, error) {
	var a struct {
		AgentState struct {
			AgentState struct {
				AgentType      string          `json:"agent_type"`
				Host           string          `json:"host"`
				Configurations json.RawMessage `json:"configurations"`
				StartFlag      bool            `json:"start_flag"`
			} `json:"agent_state"`
		} `json:"agent_state"`
		Time string `json:"time"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, rpc.Remote("InvalidInput", "report_state: %v", err)
	}
	s := a.AgentState.AgentState
	now := time.Now().UTC().Format(time.RFC3339Nano)
	status := "alive"
	err := h.st.Write(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `UPDATE bench_agent_heartbeats SET configurations = ?, heartbeat_at = ? WHERE agent_type = ? AND host = ?`,
			string(s.Configurations), now, s.AgentType, s.Host)
		if err != nil || n > 0 {
			return err
		}
		status = "new"
		_, err = tx.Exec(ctx, `INSERT INTO bench_agent_heartbeats (agent_type, host, configurations, heartbeat_at, started_at)
			VALUES (?, ?, ?, ?, ?)`, s.AgentType, s.Host, string(s.Configurations), now, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report_state of %s on %s: %w", s.AgentType, s.Host, err)
	}
	return status, nil
}

func (h *heartbeats) rows(ctx context.Context) (int, error) {
	var n int
	err := h.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.Count(ctx, "bench_agent_heartbeats", "1", 1)
		return err
	})
	return n, err
}
