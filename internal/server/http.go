package server

import (
	"github.com/neutrino-net/neutrino/internal/api"
)

// HTTPServer builds the HTTP server that serves the API, with the
// [DEFAULT] client_socket_timeout, wsgi_keep_alive and max_header_line
// options.
func (s *Server) HTTPServer() *api.HTTPServer {
	return api.NewHTTPServer(s.API, api.HTTPOptionsFrom(s.cfg, s.log))
}
