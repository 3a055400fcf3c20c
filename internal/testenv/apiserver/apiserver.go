// Package apiserver starts a real Neutrino API server in-process for
// tests: configuration, database, plugins and the HTTP API, behind an
// httptest server, stopped when the test ends.
package apiserver

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/server"
)

// Start runs a server with noauth on the given database connection, with
// any further option overrides ("section.name" → value), and returns its
// base URL and the server.
func Start(t testing.TB, connection string, overrides map[string]string) (string, *server.Server) {
	t.Helper()
	opts := map[string]string{
		"DEFAULT.auth_strategy": "noauth",
		"database.connection":   connection,
		// Every service plugin this build has; a test may narrow them.
		"DEFAULT.service_plugins": "router,segments,port_forwarding,local_ip,metering,conntrack_helper,ndp_proxy,trunk,qos,flavors,network_segment_range",
		// The trunk plugin loads only with a trunk-capable mechanism
		// driver, as Neutron's does.
		"ml2.mechanism_drivers": "linuxbridge",
		"ml2.extension_drivers": "port_security,qos",
	}
	for k, v := range overrides {
		opts[k] = v
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg, err := config.Options.LoadWithDefaults(opts, nil, nil, logger)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	srv, err := server.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	// The server's own HTTP server, timeouts and refusals included.
	ts := httptest.NewUnstartedServer(srv.API)
	hs := srv.HTTPServer()
	ts.Config = hs.Server
	ts.Listener = hs.Listener(ts.Listener)
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts.URL, srv
}
