package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/outbox"
)

// StartRPC connects the server to the message bus — an embedded NATS
// server unless [DEFAULT] transport_url names a cluster — and starts the
// outbox publisher, the sender of Nova's events (when Nova is
// notified) and the dispatcher of the agents' calls; with
// inProcessAgent and [agent] in_process, it also runs an agent in this
// process (all-in-one). Close stops them all: the publisher first (after
// a last drain), then the consumers, the bus, and the embedded server.
func (s *Server) StartRPC(ctx context.Context, inProcessAgent bool) error {
	if s.stopRPC != nil {
		return errors.New("RPC already started")
	}
	host := config.Host(s.cfg)
	bus, err := rpc.Open(ctx, s.busOpts)
	if err != nil {
		return err
	}
	if err := s.RPC.Serve(bus); err != nil {
		bus.Close()
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	pub := outbox.NewPublisher(s.Store, bus, s.Outbox, outbox.Options{Logger: s.log})
	wg.Go(func() { pub.Run(runCtx) })
	if s.Nova != nil {
		// Nova's events go out from their own table, so a Nova that is
		// down never holds up the agents' notifications.
		wg.Go(func() { s.Nova.Run(runCtx) })
	}

	var agentBus *rpc.Bus
	if inProcessAgent && agent.InProcess(s.cfg) {
		a, b, err := s.inProcessAgent(ctx, bus, host)
		if err != nil {
			cancel()
			wg.Wait()
			bus.Close()
			return err
		}
		agentBus = b
		wg.Go(func() {
			if err := a.Run(runCtx); err != nil {
				s.log.Error("in-process agent stopped", "error", err)
			}
		})
	}
	s.Bus = bus
	s.stopRPC = func() {
		cancel()
		wg.Wait()
		// Publish what the last requests committed before going away.
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := pub.Drain(dctx); err != nil {
			s.log.Warn("notifications left for the next start", "error", err)
		}
		dcancel()
		if agentBus != nil {
			agentBus.Close()
		}
		bus.Close()
	}
	where := bus.ClientURL()
	switch {
	case s.busOpts.TransportURL != "":
		where = "external cluster"
	case where == "":
		where = "in-process only"
	}
	s.log.Info("message bus ready", "bus", where)
	return nil
}

// inProcessAgent builds all-in-one's agent: every registered part, on a
// connection of its own to the same bus.
func (s *Server) inProcessAgent(ctx context.Context, bus *rpc.Bus, host string) (*agent.Agent, *rpc.Bus, error) {
	parts, err := agent.Build(agent.EnvFrom(s.cfg, s.log), agent.PartsFrom(s.cfg))
	if err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return nil, nil, errors.New("config: [agent] in_process = true, but this build has no agent parts")
	}
	var ab *rpc.Bus
	if bus.Embedded() != nil {
		ab, err = bus.InProcess("neutrino-agent:"+host, s.log)
	} else {
		o := s.busOpts
		o.Name = "neutrino-agent:" + host
		ab, err = rpc.Open(ctx, o)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("in-process agent: %w", err)
	}
	return agent.New(ab, agent.OptionsFrom(s.cfg, s.log), parts...), ab, nil
}
