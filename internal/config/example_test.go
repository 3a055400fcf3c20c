package config_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/neutrino-net/neutrino/internal/config"
)

func Example() {
	reg := config.NewRegistry()
	statePath := reg.String("DEFAULT", "state_path", "/var/lib/neutron", "Where to store Neutron state files.")
	port := reg.Port("DEFAULT", "bind_port", 9696, "The port to bind to.")
	conn := reg.String("database", "connection", "sqlite:///$state_path/neutron.db", "The SQLAlchemy connection string.").Secret()
	maxBody := reg.Int("oslo_middleware", "max_request_body_size", 114688, "The maximum body size for each request, in bytes.").
		DeprecatedName("DEFAULT", "max_request_body_size")

	files, dirs, rest, err := config.ParseArgs([]string{"--config-file", "testdata/example.conf", "--verbose"})
	if err != nil {
		fmt.Println(err)
		return
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the time so that the output is reproducible.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	conf, err := reg.Load(files, dirs, logger)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rest:", rest)
	fmt.Println("state_path:", conf.String(statePath), "from", conf.Source(statePath))
	fmt.Println("bind_port:", conf.Int(port), "set:", conf.IsSet(port))
	fmt.Println("connection:", conf.String(conn))
	fmt.Println("max_request_body_size:", conf.Int(maxBody))
	// Output:
	// level=WARN msg="deprecated config option name; use the new name" file=testdata/example.conf line=4 section=DEFAULT option=max_request_body_size new_section=oslo_middleware new_option=max_request_body_size
	// level=WARN msg="unknown config option ignored" file=testdata/example.conf line=5 section=DEFAULT option=use_syslog
	// rest: [--verbose]
	// state_path: /srv/neutron from testdata/example.conf:3
	// bind_port: 9696 set: false
	// connection: sqlite:////srv/neutron/neutron.db
	// max_request_body_size: 1000
}
