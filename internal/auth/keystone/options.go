package keystone

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// [keystone_authtoken]: the keystonemiddleware auth_token options
// Neutrino reads when [DEFAULT] auth_strategy = keystone. The section's
// other options (memcached_servers, interface, …) are listed in
// config's table of options without effect.
var (
	optWWWAuthenticateURI = config.Options.String("keystone_authtoken", "www_authenticate_uri", "",
		"Complete \"public\" Identity API endpoint. This endpoint should not be an \"admin\" endpoint, as it should be accessible by all end users. Unauthenticated clients are redirected to this endpoint to authenticate.").
		DeprecatedName("keystone_authtoken", "auth_uri")
	optAuthType = config.Options.String("keystone_authtoken", "auth_type", "",
		"Authentication type to load. Neutrino supports password: the service user's username and password.")
	optAuthURL = config.Options.String("keystone_authtoken", "auth_url", "",
		"Authentication URL: the Identity API endpoint the service authenticates with and validates tokens at.")
	optUsername = config.Options.String("keystone_authtoken", "username", "",
		"The service user's name.")
	optPassword = config.Options.String("keystone_authtoken", "password", "",
		"The service user's password.").Secret()
	optProjectName = config.Options.String("keystone_authtoken", "project_name", "",
		"Project name to scope the service token to.")
	optUserDomainName = config.Options.String("keystone_authtoken", "user_domain_name", "",
		"The service user's domain name.")
	optUserDomainID = config.Options.String("keystone_authtoken", "user_domain_id", "",
		"The service user's domain ID.")
	optProjectDomainName = config.Options.String("keystone_authtoken", "project_domain_name", "",
		"Domain name of the project the service token is scoped to.")
	optProjectDomainID = config.Options.String("keystone_authtoken", "project_domain_id", "",
		"Domain ID of the project the service token is scoped to.")
	optRegionName = config.Options.String("keystone_authtoken", "region_name", "",
		"The region in which the identity server can be found.")
	optServiceTokenRoles = config.Options.List("keystone_authtoken", "service_token_roles", []string{"service"},
		"A choice of roles that must be present in a service token. Service tokens are allowed to request that an expired token can be used and so this check should tightly control that only actual services should be sending this token. Roles here are applied as an ANY check so any role in this list must be present.")
	optServiceTokenRolesRequired = config.Options.Bool("keystone_authtoken", "service_token_roles_required", false,
		"For backwards compatibility reasons we must let valid service tokens pass that don't pass the service_token_roles check as valid. Setting this true will become the default in a future release and should be enabled if possible.")
	optTokenCacheTime = config.Options.Int("keystone_authtoken", "token_cache_time", 300,
		"In order to prevent excessive effort spent validating tokens, the middleware caches previously-seen tokens for a configurable duration (in seconds). Set to -1 to disable caching completely. Neutrino caches in memory, and never beyond a token's expiry.").Min(-1)
	optHTTPConnectTimeout = config.Options.Int("keystone_authtoken", "http_connect_timeout", 0,
		"Request timeout value for communicating with Identity API server, in seconds; 0 means 10 seconds.").Min(0)
	optHTTPRequestMaxRetries = config.Options.Int("keystone_authtoken", "http_request_max_retries", 3,
		"How many times are we trying to reconnect when communicating with Identity API Server.").Min(0)
	optCAFile = config.Options.String("keystone_authtoken", "cafile", "",
		"A PEM encoded Certificate Authority to use when verifying HTTPs connections. Defaults to system CAs.")
	optInsecure = config.Options.Bool("keystone_authtoken", "insecure", false,
		"Do not verify HTTPS connections.")
)

// ErrNoAuthType is FromConfig's error when [keystone_authtoken] auth_type
// is not set; the caller names the option that asked for Keystone.
var ErrNoAuthType = errors.New("keystone needs [keystone_authtoken] auth_type = password, " +
	"with auth_url, username, password, project_name, user_domain_name and project_domain_name")

// FromConfig builds token validation from [keystone_authtoken], as
// keystonemiddleware's auth_token filter is configured in front of
// Neutron. It does not contact Keystone.
func FromConfig(cfg *config.Config, logger *slog.Logger) (*Validator, error) {
	switch t := cfg.String(optAuthType); t {
	case "password", "v3password":
	case "":
		return nil, ErrNoAuthType
	default:
		return nil, cfg.Invalid(optAuthType, fmt.Errorf("%q is not supported (Neutrino supports password)", t))
	}
	// keystonemiddleware: -1 disables the cache; Options: any negative
	// TTL does (0 there means the default).
	cacheTTL := time.Duration(cfg.Int(optTokenCacheTime)) * time.Second
	if cacheTTL <= 0 {
		cacheTTL = -1
	}
	retries := cfg.Int(optHTTPRequestMaxRetries)
	if retries == 0 {
		retries = -1 // Options: 0 means the default, negative none
	}
	v, err := New(Options{
		WWWAuthenticateURI:        cfg.String(optWWWAuthenticateURI),
		AuthURL:                   cfg.String(optAuthURL),
		Username:                  cfg.String(optUsername),
		Password:                  cfg.String(optPassword),
		ProjectName:               cfg.String(optProjectName),
		UserDomainName:            cfg.String(optUserDomainName),
		UserDomainID:              cfg.String(optUserDomainID),
		ProjectDomainName:         cfg.String(optProjectDomainName),
		ProjectDomainID:           cfg.String(optProjectDomainID),
		RegionName:                cfg.String(optRegionName),
		ServiceTokenRoles:         cfg.List(optServiceTokenRoles),
		ServiceTokenRolesRequired: cfg.Bool(optServiceTokenRolesRequired),
		CacheTTL:                  cacheTTL,
		Timeout:                   time.Duration(cfg.Int(optHTTPConnectTimeout)) * time.Second,
		MaxRetries:                retries,
		CAFile:                    cfg.String(optCAFile),
		Insecure:                  cfg.Bool(optInsecure),
		Logger:                    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("config: [keystone_authtoken]: %w", err)
	}
	return v, nil
}
