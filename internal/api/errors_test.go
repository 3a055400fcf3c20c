package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
)

// TestErrorLogLevels logs only the server's own failures at ERROR: a 501
// (POST on a quota, as Neutron answers) and an abandoned request are not.
func TestErrorLogLevels(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name  string
		ctx   context.Context
		err   error
		error bool
	}{
		{"501", context.Background(), fault.New(501, "HTTPNotImplemented", "POST requests are not supported on this resource."), false},
		{"400", context.Background(), fault.BadRequest("bad"), false},
		{"client gone", cancelled, errors.New("ERROR: canceling statement due to user request (SQLSTATE 57014)"), false},
		{"503", context.Background(), fault.ServiceUnavailable("X", "down"), true},
		{"internal", context.Background(), errors.New("boom"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
			s.writeError(c.ctx, httptest.NewRecorder(), c.err)
			if got := strings.Contains(logs.String(), "level=ERROR"); got != c.error {
				t.Errorf("logged at ERROR: %v, want %v: %s", got, c.error, logs.String())
			}
		})
	}
}
