package rpc

import (
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The message bus: [DEFAULT] transport_url and oslo.messaging's RPC
// options, and [nats] for what a NATS connection needs beyond them. The
// server and `neutrino agent` read the same options.
var (
	optTransportURL = config.Options.String(config.DefaultSection, "transport_url", "",
		"The network address and optional user credentials for connecting to the messaging backend, in URL format: nats://[user:pass@]host:port[,[user:pass@]host2:port2][/virtual_host]. Empty: the server embeds a NATS server (see [nats] embedded_host and embedded_port) and agents must be given its address.").Secret()
	optRPCResponseTimeout = config.Options.Int(config.DefaultSection, "rpc_response_timeout", 60,
		"Seconds to wait for a response from a call.").Min(1)
	optExecutorThreadPoolSize = config.Options.Int(config.DefaultSection, "executor_thread_pool_size", 64,
		"Size of executor thread pool when executor is threading or eventlet: here, how many calls of one topic the server (or an agent) handles at once.").Min(1)

	optNATSEmbeddedHost = config.Options.String("nats", "embedded_host", "127.0.0.1",
		"Address the embedded NATS server listens on for agents when [DEFAULT] transport_url is empty. Listening beyond loopback exposes the bus without authentication; use an external NATS cluster with TLS and credentials for multi-host deployments.")
	optNATSEmbeddedPort = config.Options.Int("nats", "embedded_port", 4222,
		"Port of the embedded NATS server; 0 accepts in-process connections only (all-in-one's in-process agent), -1 picks a free port.").Min(-1).Max(65535)
	optNATSTLSCAFile = config.Options.String("nats", "tls_ca_file", "",
		"PEM file of the certificate authorities that sign the external NATS servers' certificates (TLS with transport_url).")
	optNATSTLSCertFile = config.Options.String("nats", "tls_cert_file", "",
		"PEM client certificate presented to the external NATS servers (mutual TLS); needs tls_key_file.")
	optNATSTLSKeyFile = config.Options.String("nats", "tls_key_file", "",
		"PEM private key of tls_cert_file.")
	optNATSCredsFile = config.Options.String("nats", "creds_file", "",
		"NATS credentials file (user JWT and NKey seed) for the external NATS servers, instead of user:pass@ in transport_url.")
)

// OptionsFrom reads the bus options of cfg for a connection called name.
// It refuses a transport_url Neutrino cannot use without connecting, so
// a bad one stops a command before it touches anything.
func OptionsFrom(cfg *config.Config, name string, logger *slog.Logger) (Options, error) {
	o := Options{
		TransportURL: cfg.String(optTransportURL),
		EmbeddedHost: cfg.String(optNATSEmbeddedHost),
		EmbeddedPort: cfg.Int(optNATSEmbeddedPort),
		TLSCAFile:    cfg.String(optNATSTLSCAFile),
		TLSCertFile:  cfg.String(optNATSTLSCertFile),
		TLSKeyFile:   cfg.String(optNATSTLSKeyFile),
		CredsFile:    cfg.String(optNATSCredsFile),
		Timeout:      time.Duration(cfg.Int(optRPCResponseTimeout)) * time.Second,
		Workers:      cfg.Int(optExecutorThreadPoolSize),
		Name:         name,
		Logger:       logger,
	}
	if o.TransportURL != "" {
		if _, _, err := ParseTransportURL(o.TransportURL); err != nil {
			return o, cfg.Invalid(optTransportURL, err)
		}
	}
	return o, nil
}
