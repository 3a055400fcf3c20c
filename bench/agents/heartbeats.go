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
type heartbeats struct {
	st *store.Store
	// mode is "tx" (one write transaction per report, as Neutron does),
	// "batch" (reports arriving together share one transaction: group
	// commit) or "none" (no database: the bus and dispatch alone).
	mode  string
	queue chan *beat
}

// beat is one report waiting for its batch's transaction.
type beat struct {
	agentType, host, conf string
	status                string
	done                  chan error
}

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
	b := &beat{agentType: s.AgentType, host: s.Host, conf: string(s.Configurations), done: make(chan error, 1)}
	var err error
	switch h.mode {
	case "none":
		return "alive", nil
	case "batch":
		h.queue <- b
		err = <-b.done
	default:
		err = h.st.Write(ctx, func(tx *store.Tx) error { return h.upsert(ctx, tx, b) })
	}
	if err != nil {
		return nil, fmt.Errorf("report_state of %s on %s: %w", s.AgentType, s.Host, err)
	}
	return b.status, nil
}

func (h *heartbeats) upsert(ctx context.Context, tx *store.Tx, b *beat) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	b.status = "alive"
	n, err := tx.Exec(ctx, `UPDATE bench_agent_heartbeats SET configurations = ?, heartbeat_at = ? WHERE agent_type = ? AND host = ?`,
		b.conf, now, b.agentType, b.host)
	if err != nil || n > 0 {
		return err
	}
	b.status = "new"
	_, err = tx.Exec(ctx, `INSERT INTO bench_agent_heartbeats (agent_type, host, configurations, heartbeat_at, started_at)
		VALUES (?, ?, ?, ?, ?)`, b.agentType, b.host, b.conf, now, now)
	return err
}

// batcher writes the queued reports, each batch in one transaction.
func (h *heartbeats) batcher(ctx context.Context) {
	for {
		var batch []*beat
		select {
		case <-ctx.Done():
			return
		case b := <-h.queue:
			batch = append(batch, b)
		}
	more:
		for len(batch) < 500 {
			select {
			case b := <-h.queue:
				batch = append(batch, b)
			default:
				break more
			}
		}
		err := h.st.Write(ctx, func(tx *store.Tx) error {
			for _, b := range batch {
				if err := h.upsert(ctx, tx, b); err != nil {
					return err
				}
			}
			return nil
		})
		for _, b := range batch {
			b.done <- err
		}
	}
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
