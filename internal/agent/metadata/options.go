package metadata

import (
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The metadata agent's options (neutron/conf/agent/metadata/config.py),
// read from metadata_agent.ini's [DEFAULT] as Neutron does.
var (
	optNovaHost = config.Options.String(config.DefaultSection, "nova_metadata_host", "127.0.0.1",
		"IP address or DNS name of Nova metadata server.")
	optNovaPort = config.Options.Port(config.DefaultSection, "nova_metadata_port", 8775,
		"TCP Port used by Nova metadata server.")
	optNovaProtocol = config.Options.String(config.DefaultSection, "nova_metadata_protocol", "http",
		"Protocol to access nova metadata, http or https").Choices("http", "https")
	optNovaInsecure = config.Options.Bool(config.DefaultSection, "nova_metadata_insecure", false,
		"Allow to perform insecure SSL (https) requests to nova metadata")
	optSharedSecret = config.Options.String(config.DefaultSection, "metadata_proxy_shared_secret", "",
		"When proxying metadata requests, Neutron signs the Instance-ID header with a shared secret to prevent spoofing. You may select any string for a secret, but it must match here and in the configuration used by the Nova metadata server. NOTE: Nova uses the same config key, but in [neutron] section.").Secret()
	optCACert = config.Options.String(config.DefaultSection, "auth_ca_cert", "",
		"Certificate Authority public key (CA cert) file for ssl")
	optClientCert = config.Options.String(config.DefaultSection, "nova_client_cert", "",
		"Client certificate for nova metadata api server.")
	optClientKey = config.Options.String(config.DefaultSection, "nova_client_priv_key", "",
		"Private key of client certificate.")
)

// Options are the metadata agent's options.
type Options struct {
	// NovaHost, NovaPort and NovaProtocol locate Nova's metadata API.
	NovaHost     string
	NovaPort     int
	NovaProtocol string
	// Insecure skips verification of Nova's certificate; CACert,
	// ClientCert and ClientKey set up TLS towards it.
	Insecure                      bool
	CACert, ClientCert, ClientKey string
	// SharedSecret signs X-Instance-ID (metadata_proxy_shared_secret).
	SharedSecret string
	// CacheTTL is how long an instance's identity, looked up by its
	// address, is reused (Neutron's default cache: 5 seconds).
	CacheTTL time.Duration
}

// OptionsFrom reads the metadata agent's options of cfg.
func OptionsFrom(cfg *config.Config) Options {
	return Options{
		NovaHost: cfg.String(optNovaHost), NovaPort: cfg.Int(optNovaPort), NovaProtocol: cfg.String(optNovaProtocol),
		Insecure: cfg.Bool(optNovaInsecure), CACert: cfg.String(optCACert),
		ClientCert: cfg.String(optClientCert), ClientKey: cfg.String(optClientKey),
		SharedSecret: cfg.String(optSharedSecret), CacheTTL: 5 * time.Second,
	}
}
