// Command agentstate registers agents for the CLI compatibility scripts:
// it sends one report_state per agent through the server's own agents
// plugin, against the database a running neutrino uses, as an agent's
// report over the message bus would arrive.
//
//	agentstate -connection sqlite:///state/neutrino.sqlite -type "DHCP agent" -host h1 [-az nova] [-start]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/server"
)

func main() {
	conn := flag.String("connection", "", "the [database] connection of the server")
	agentType := flag.String("type", rpcapi.AgentTypeDHCP, "agent_type")
	host := flag.String("host", "", "host")
	binary := flag.String("binary", "neutron-dhcp-agent", "binary")
	az := flag.String("az", "", "availability_zone")
	start := flag.Bool("start", false, "set start_flag")
	flag.Parse()
	if err := run(*conn, rpcapi.AgentState{AgentType: *agentType, Binary: *binary, Host: *host, Topic: "N/A",
		AvailabilityZone: *az, StartFlag: *start, Configurations: map[string]any{"networks": 0}}); err != nil {
		fmt.Fprintln(os.Stderr, "agentstate:", err)
		os.Exit(1)
	}
}

func run(conn string, st rpcapi.AgentState) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := config.Options.LoadWithDefaults(map[string]string{
		"DEFAULT.auth_strategy": "noauth", "database.connection": conn}, nil, nil, logger)
	if err != nil {
		return err
	}
	srv, err := server.New(context.Background(), cfg, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	status, err := srv.Agents.ReportState(context.Background(), st)
	if err != nil {
		return err
	}
	fmt.Println(status)
	return nil
}
