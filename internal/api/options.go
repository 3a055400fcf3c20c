package api

import (
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The API's options: Neutron's [DEFAULT] API and WSGI server options and
// the oslo.middleware filters it runs behind ([oslo_middleware], [cors]).
var (
	optPaginationMaxLimit = config.Options.Int(config.DefaultSection, "pagination_max_limit", -1,
		"The maximum number of items returned in a single response; -1 means no limit.").Min(-1)
	optClientSocketTimeout = config.Options.Int(config.DefaultSection, "client_socket_timeout", 900,
		"Timeout for client connections' socket operations. If an incoming connection is idle for this number of seconds it will be closed. A value of '0' means wait forever.").Min(0)
	optWSGIKeepAlive = config.Options.Bool(config.DefaultSection, "wsgi_keep_alive", true,
		"Determines if connections are allowed to be held open by clients after a request is fulfilled. A value of False will ensure that the socket connection will be explicitly closed once a response has been sent to the client.")
	optMaxHeaderLine = config.Options.Int(config.DefaultSection, "max_header_line", 16384,
		"Maximum line size of message headers to be accepted. max_header_line may need to be increased when using large tokens (typically those generated when keystone is configured to use PKI tokens with big service catalogs).").Min(1)
	optMaxBodySize = config.Options.Int("oslo_middleware", "max_request_body_size", 114688,
		"The maximum body size for each request, in bytes.").Min(0).
		DeprecatedName(config.DefaultSection, "osapi_max_request_body_size").
		DeprecatedName(config.DefaultSection, "max_request_body_size")
	optProxyHeaders = config.Options.Bool("oslo_middleware", "enable_proxy_headers_parsing", false,
		"Whether the application is behind a proxy or not. This determines if the middleware should parse the headers or not.")

	optCORSOrigin = config.Options.List("cors", "allowed_origin", nil,
		"Indicate whether this resource may be shared with the domain received in the request's origin header.")
	optCORSCredentials = config.Options.Bool("cors", "allow_credentials", true,
		"Indicate that the actual request can include user credentials.")
	optCORSExpose = config.Options.List("cors", "expose_headers",
		[]string{"X-Auth-Token", "X-Subject-Token", "X-Service-Token", "X-OpenStack-Request-ID", "OpenStack-Volume-microversion"},
		"Indicate which headers are safe to expose to the API.")
	optCORSMaxAge = config.Options.Int("cors", "max_age", 3600,
		"Maximum cache age of CORS preflight requests.")
	optCORSMethods = config.Options.List("cors", "allow_methods", []string{"GET", "PUT", "POST", "DELETE", "PATCH"},
		"Indicate which methods can be used during the actual request.")
	optCORSHeaders = config.Options.List("cors", "allow_headers",
		[]string{"X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog", "X-User-Id", "X-Tenant-Id", "X-OpenStack-Request-ID"},
		"Indicate which header field names may be used during the actual request.")
)

// OptionsFrom reads the API's options of cfg into Options; the caller adds
// what is composed rather than configured (resources, handlers, auth …).
func OptionsFrom(cfg *config.Config) Options {
	return Options{
		PaginationMaxLimit: cfg.Int(optPaginationMaxLimit),
		MaxBodySize:        int64(cfg.Int(optMaxBodySize)),
		ProxyHeaders:       cfg.Bool(optProxyHeaders),
		CORS: CORS{
			AllowedOrigin:    cfg.List(optCORSOrigin),
			AllowCredentials: cfg.Bool(optCORSCredentials),
			ExposeHeaders:    cfg.List(optCORSExpose),
			MaxAge:           cfg.Int(optCORSMaxAge),
			AllowMethods:     cfg.List(optCORSMethods),
			AllowHeaders:     cfg.List(optCORSHeaders),
		},
	}
}

// HTTPOptionsFrom reads the HTTP server's options from cfg.
func HTTPOptionsFrom(cfg *config.Config, logger *slog.Logger) HTTPOptions {
	return HTTPOptions{
		ClientSocketTimeout: time.Duration(cfg.Int(optClientSocketTimeout)) * time.Second,
		KeepAlive:           cfg.Bool(optWSGIKeepAlive),
		MaxHeaderLine:       cfg.Int(optMaxHeaderLine),
		Logger:              logger,
	}
}
