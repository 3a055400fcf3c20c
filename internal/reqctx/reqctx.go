// Package reqctx carries who is calling, and the request id, through a
// context.Context: the API's auth middleware puts them there; plugins,
// policy and logging read them. The message bus carries the request id
// from an RPC's caller to its handler (package rpc), so one id follows an
// agent's pass into the server's log.
package reqctx

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// Caller is the identity behind a request, as Neutron's request context
// holds it.
type Caller struct {
	UserID    string
	ProjectID string
	DomainID  string
	// Roles are lower-cased role names.
	Roles []string
	// SystemScope is "all" for a system-scoped token, else "".
	SystemScope string
	// IsAdmin is the context_is_admin policy verdict.
	IsAdmin bool
}

// HasRole reports whether the caller holds role (already lower-case).
func (c *Caller) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type callerKey struct{}
type requestIDKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx. Code outside a request (start-up,
// agents' RPC handlers) gets an admin caller, as Neutron's admin context.
func CallerFrom(ctx context.Context) *Caller {
	if c, ok := ctx.Value(callerKey{}).(*Caller); ok {
		return c
	}
	return &Caller{IsAdmin: true, Roles: []string{"admin"}}
}

// WithRequestID returns ctx carrying the request id ("req-<uuid>").
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// NewRequestID returns a new request id, "req-<uuid>", as oslo.context
// generates them.
func NewRequestID() string { return "req-" + uuid.NewString() }

// WithNewRequestID returns ctx carrying a new request id: the start of a
// unit of work that is not a request (an agent's pass).
func WithNewRequestID(ctx context.Context) context.Context {
	return WithRequestID(ctx, NewRequestID())
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler wraps an slog.Handler so that every record logged with a
// request's context carries its request_id.
type LogHandler struct{ slog.Handler }

// Handle adds request_id from ctx, then defers to the wrapped handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around derived handlers.
func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around derived handlers.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
