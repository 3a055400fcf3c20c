package api

import (
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// HTTPOptionsFrom reads the HTTP server's options from cfg.
func HTTPOptionsFrom(cfg *config.Config, logger *slog.Logger) HTTPOptions {
	_ = cfg
	return HTTPOptions{
		ClientSocketTimeout: 900 * time.Second,
		KeepAlive:           true,
		MaxHeaderLine:       16384,
		Logger:              logger,
	}
}
