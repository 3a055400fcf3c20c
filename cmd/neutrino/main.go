// Command neutrino is OpenStack Neutron's networking service in one
// binary: the API server, the all-in-one mode, and database tooling.
//
//	neutrino server --config-file /etc/neutron/neutron.conf
//	neutrino all-in-one [--config-file F]
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

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/policy"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/server"
	"github.com/neutrino-net/neutrino/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `usage: neutrino <command> [options]

commands:
  server       run the Neutron API server (--config-file F, --config-dir D)
  all-in-one   run everything in one process on embedded defaults
  db upgrade   apply database schema migrations (--config-file F)
  db version   print the database schema version (--config-file F)
  config generate-sample   print a sample configuration file
  policy generate-sample   print the default policy rules as an editable YAML file
  version      print the version
`

func main() {
	if err := run(os.Args[1:]); err != nil {
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
	switch cmd {
	case "version", "--version":
		fmt.Println("neutrino", version)
		return nil
	case "server":
		return serve(args, nil)
	case "all-in-one":
		return serve(args, allInOneDefaults())
	case "db":
		return db(args)
	case "config":
		if len(args) == 1 && args[0] == "generate-sample" {
			return server.Options.WriteSample(os.Stdout)
		}
		return errors.New("usage: neutrino config generate-sample")
	case "policy":
		if len(args) == 1 && args[0] == "generate-sample" {
			return policy.WriteSample(os.Stdout)
		}
		return errors.New("usage: neutrino policy generate-sample")
	case "help", "-h", "--help":
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
		// Project networks are VXLAN, bound by the Linux bridge agent,
		// as a devstack-like single box has them (Neutron's own default
		// of 'local' networks connects nothing between hosts).
		"ml2.project_network_types": "vxlan",
		"ml2_type_vxlan.vni_ranges": "1:1000",
		"ml2.mechanism_drivers":     "linuxbridge,l2population",
	}
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(reqctx.LogHandler{Handler: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})
}

func loadConfig(args []string, overrides map[string]string, logger *slog.Logger) (*config.Config, []string, error) {
	files, dirs, rest, err := config.ParseArgs(args)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := server.Options.LoadWithDefaults(overrides, files, dirs, logger)
	if err != nil {
		return nil, nil, err
	}
	return cfg, rest, nil
}

func serve(args []string, overrides map[string]string) error {
	logger := newLogger(false)
	cfg, rest, err := loadConfig(args, overrides, logger)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %q", rest)
	}
	if server.Debug(cfg) {
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
	return srv.ListenAndServe(ctx)
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
	conn := server.Connection(cfg)
	if conn == "" {
		return errors.New("config: [database] connection is not set")
	}
	st, err := store.Open(ctx, conn)
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
