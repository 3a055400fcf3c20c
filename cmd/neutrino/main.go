// Command neutrino is OpenStack Neutron's networking service in one
// binary: the API server, the all-in-one mode, and database tooling.
//
//	neutrino server --config-file /etc/neutron/neutron.conf
//	neutrino all-in-one [--config-file F]
//	neutrino agent --config-file F
//	neutrino db upgrade --config-file F
//	neutrino config generate-sample
//	neutrino policy generate-sample
//	neutrino version
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/neutrino-net/neutrino/internal/agent"
	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/policy"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/server"
	"github.com/neutrino-net/neutrino/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `usage: neutrino <command> [options]

commands:
  server       run the Neutron API server (--config-file F, --config-dir D)
  all-in-one   run everything in one process on embedded defaults
  agent        run the agent of this host (--config-file F; needs [DEFAULT] transport_url)
  db upgrade   apply database schema migrations (--config-file F)
  db version   print the database schema version (--config-file F)
  config generate-sample   print a sample configuration file
  policy generate-sample   print the default policy rules as an editable YAML file
  version      print the version

neutrino COMMAND --help (or neutrino help COMMAND) describes a command.
`

// commandUsage is each command's --help.
var commandUsage = map[string]string{
	"server": `usage: neutrino server [--config-file F]... [--config-dir D]...

Run the Neutron API server (and its side of the message bus) with the
configuration Neutron reads: later files override earlier ones, and a
directory's *.conf files are read in name order after the files.
`,
	"all-in-one": `usage: neutrino all-in-one [--config-file F]... [--config-dir D]...

Run the API server, the message bus and (as root) this host's agent in
one process, on embedded defaults: SQLite under the state directory,
noauth, 127.0.0.1:9696, and every service plugin. The files override any
default with Neutron's option names.
`,
	"agent": `usage: neutrino agent [--config-file F]... [--config-dir D]...

Run this host's agent (Linux bridge, DHCP, L3 and metadata parts; [agent]
parts chooses), reporting to the server over [DEFAULT] transport_url.
`,
	"db": `usage: neutrino db upgrade|version [--config-file F]... [--config-dir D]...

upgrade  apply the database schema migrations ([database] connection)
version  print the database's schema version
`,
	"config": `usage: neutrino config generate-sample

Print every option, with its section, default and help, as a sample file.
`,
	"policy": `usage: neutrino policy generate-sample

Print Neutron's default policy rules as an editable YAML file.
`,
	"version": `usage: neutrino version

Print the version.
`,
}

// wantsHelp reports whether args ask for help (-h or --help anywhere).
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

func main() {
	err := run(os.Args[1:])
	stderrLines.Flush()
	if err != nil {
		fmt.Fprintln(os.Stderr, "neutrino:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	if text, ok := commandUsage[cmd]; ok && wantsHelp(args) {
		fmt.Print(text)
		return nil
	}
	switch cmd {
	case "version", "--version":
		fmt.Println("neutrino", version)
		return nil
	case "server":
		return serve(args, false)
	case "all-in-one":
		return serve(args, true)
	case "agent":
		return runAgent(args)
	case "db":
		return db(args)
	case "config":
		if len(args) == 1 && args[0] == "generate-sample" {
			return config.Options.WriteSample(os.Stdout)
		}
		return errors.New("usage: neutrino config generate-sample")
	case "policy":
		if len(args) == 1 && args[0] == "generate-sample" {
			return policy.WriteSample(os.Stdout)
		}
		return errors.New("usage: neutrino policy generate-sample")
	case "help", "-h", "--help":
		// "help COMMAND" is COMMAND's usage.
		if len(args) == 1 && commandUsage[args[0]] != "" {
			fmt.Print(commandUsage[args[0]])
			return nil
		}
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// allInOneDefaults are the zero-setup defaults: loopback, noauth, and a
// SQLite file under a state directory that survives restarts.
func allInOneDefaults() map[string]string {
	state := "/var/lib/neutrino"
	if os.Geteuid() != 0 {
		if dir, err := os.UserConfigDir(); err == nil {
			state = filepath.Join(filepath.Dir(dir), ".local", "share", "neutrino")
		}
		if xdg := os.Getenv("XDG_DATA_HOME"); xdg != "" {
			state = filepath.Join(xdg, "neutrino")
		}
	}
	return map[string]string{
		"DEFAULT.bind_host":     "127.0.0.1",
		"DEFAULT.auth_strategy": "noauth",
		"DEFAULT.state_path":    state,
		"database.connection":   "sqlite:///$state_path/neutrino.sqlite",
		// Routers, floating IPs and their port forwardings, segments and
		// their ranges, local IPs, metering, conntrack helpers, trunks, QoS
		// and flavors, as a devstack-like single box serves them.
		"DEFAULT.service_plugins": "router,segments,port_forwarding,local_ip,metering,conntrack_helper,ndp_proxy,trunk,qos,flavors,network_segment_range",
		"ml2.extension_drivers":   "port_security,qos",
		// Project networks are VXLAN, bound by the Linux bridge agent,
		// as a devstack-like single box has them (Neutron's own default
		// of 'local' networks connects nothing between hosts).
		"ml2.project_network_types": "vxlan",
		"ml2_type_vxlan.vni_ranges": "1:1000",
		"ml2.mechanism_drivers":     "linuxbridge,l2population",
		// The all-in-one agent connects in-process; a listener would only
		// invite clashes with a nats-server already on 4222.
		"nats.embedded_port": "0",
		// The in-process agent (L2, DHCP and L3) wires this box's VXLAN
		// networks; it needs root (serve skips it otherwise).
		"agent.in_process":    "true",
		"vxlan.local_ip":      "127.0.0.1",
		"vxlan.l2_population": "true",
		// The L2 part enforces ports' QoS rules.
		"agent.extensions": "qos",
	}
}

// stderrLines is standard error for the log, shared by every logger the
// process makes.
var stderrLines = newLineWriter(os.Stderr)

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(reqctx.LogHandler{Handler: slog.NewTextHandler(stderrLines, &slog.HandlerOptions{Level: level})})
}

func loadConfig(args []string, overrides map[string]string, logger *slog.Logger) (*config.Config, []string, error) {
	files, dirs, rest, err := config.ParseArgs(args)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Options.LoadWithDefaults(overrides, files, dirs, logger)
	if err != nil {
		return nil, nil, err
	}
	return cfg, rest, nil
}

// serve runs the API server and its RPC side; all-in-one adds the
// zero-setup defaults and the in-process agent.
func serve(args []string, allInOne bool) error {
	var overrides map[string]string
	if allInOne {
		overrides = allInOneDefaults()
	}
	logger := newLogger(false)
	cfg, rest, err := loadConfig(args, overrides, logger)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %q", rest)
	}
	if config.Debug(cfg) {
		logger = newLogger(true)
	}
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	withAgent := allInOne
	if allInOne && os.Geteuid() != 0 {
		logger.Info("not running the in-process agent: it configures bridges, namespaces and dnsmasq, which needs root")
		withAgent = false
	}
	if err := srv.StartRPC(ctx, withAgent); err != nil {
		return err
	}
	return srv.ListenAndServe(ctx)
}

// runAgent runs this host's agent: its parts, heartbeating to the server
// over the bus named by [DEFAULT] transport_url.
func runAgent(args []string) error {
	logger := newLogger(false)
	cfg, rest, err := loadConfig(args, nil, logger)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %q", rest)
	}
	if config.Debug(cfg) {
		logger = newLogger(true)
	}
	slog.SetDefault(logger)
	opts := agent.OptionsFrom(cfg, logger)
	busOpts, err := rpc.OptionsFrom(cfg, "neutrino-agent:"+opts.Host, logger)
	if err != nil {
		return err
	}
	if busOpts.TransportURL == "" {
		return errors.New("config: [DEFAULT] transport_url is not set: point the agent at the server's message bus (nats://server:4222)")
	}
	parts, err := agent.Build(agent.EnvFrom(cfg, logger), agent.PartsFrom(cfg))
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return errors.New("this build has no agent parts (L2, DHCP) to run")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bus, err := rpc.Open(ctx, busOpts)
	if err != nil {
		return err
	}
	defer bus.Close()
	logger.Info("agent starting", "host", opts.Host, "parts", len(parts), "report_interval", opts.ReportInterval)
	return agent.New(bus, opts, parts...).Run(ctx)
}

func db(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: neutrino db upgrade|version --config-file F")
	}
	sub, args := args[0], args[1:]
	logger := newLogger(false)
	cfg, rest, err := loadConfig(args, nil, logger)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %q", rest)
	}
	ctx := context.Background()
	dbCfg, err := store.ConfigFrom(cfg)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dbCfg.Connection)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "upgrade":
		n, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("applied %d migration(s); schema version %d\n", n, store.SchemaVersion())
		return nil
	case "version":
		v, err := st.Version(ctx)
		if err != nil {
			return err
		}
		fmt.Println(v)
		return nil
	}
	return fmt.Errorf("unknown db command %q (want upgrade or version)", sub)
}
