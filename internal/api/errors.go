package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/neutrino-net/neutrino/internal/fault"
)

// neutronError is the body of every error reply.
type neutronError struct {
	NeutronError errorBody `json:"NeutronError"`
}

type errorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

// writeError renders err as a NeutronError. Anything that is not a
// *fault.Error is an internal error: logged with the request id, shown to
// the client only as Neutron's generic 500.
func (s *Server) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	f, ok := fault.As(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
			// The client went away; nobody reads the reply. The
			// engine's own error (PostgreSQL's "canceling statement due
			// to user request") says so too.
			s.log.InfoContext(ctx, "request abandoned by the client", "error", err)
			return
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			// The request outlived client_socket_timeout: its reply
			// could not be written any more.
			s.log.WarnContext(ctx, "request took longer than client_socket_timeout; its statements were cancelled", "error", err)
			return
		}
		s.log.ErrorContext(ctx, "request failed", "error", err)
		f = fault.Internal()
	} else if f.Status >= 500 && f.Status != http.StatusNotImplemented {
		// 501 is Neutron's answer to a method a resource does not
		// offer (POST on a quota): the client's mistake, not ours.
		s.log.ErrorContext(ctx, "request failed", "type", f.Type, "error", f.Message)
	} else {
		s.log.InfoContext(ctx, "client error", "status", f.Status, "type", f.Type, "message", f.Message)
	}
	writeFault(w, f)
}

func writeFault(w http.ResponseWriter, f *fault.Error) {
	body, _ := json.Marshal(neutronError{errorBody{Type: f.Type, Message: f.Message, Detail: f.Detail}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(len(body)))
	w.WriteHeader(f.Status)
	w.Write(body)
}
