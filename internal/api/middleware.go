package api

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/reqctx"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// CORS configures oslo.middleware's CORS filter ([cors] section).
type CORS struct {
	AllowedOrigin    []string
	AllowCredentials bool
	ExposeHeaders    []string
	MaxAge           int
	AllowMethods     []string
	AllowHeaders     []string
}

// requestID gives every request an id ("req-<uuid>"), puts it in the
// context for logs, and returns it in X-Openstack-Request-Id.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req-" + uuid.NewString()
		w.Header().Set("X-Openstack-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(reqctx.WithRequestID(r.Context(), id)))
	})
}

// statusWriter records the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// accessLog logs one line per request, and recovers from panics: a panic
// becomes Neutron's 500 and the server keeps serving.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					// A reply given up midway (a streamed list whose
					// client is too slow or gone): net/http drops the
					// connection.
					s.logRequest(r, sw, start, time.Now(), true)
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeFault(sw, fault.Internal())
				}
			}
			end := time.Now()
			s.observe(r, sw.status, end.Sub(start))
			s.logRequest(r, sw, start, end, false)
		}()
		next.ServeHTTP(sw, r)
	})
}

// logRequest writes a request's access log line. It builds the record
// itself: slog's Logger methods capture the caller's stack for every
// line, and box each value, which together cost more than the rest of
// the line.
func (s *Server) logRequest(r *http.Request, sw *statusWriter, start, end time.Time, aborted bool) {
	ctx := r.Context()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", sw.status), slog.Int("bytes", sw.bytes))
	if aborted {
		rec.AddAttrs(slog.Bool("aborted", true))
	}
	rec.AddAttrs(slog.Float64("duration_ms", float64(end.Sub(start).Microseconds())/1000))
	_ = h.Handle(ctx, rec)
}

// bodyLimit refuses bodies over max bytes with 413, as oslo.middleware's
// sizelimit filter does.
func bodyLimit(max int64) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if max > 0 {
				if r.ContentLength > max {
					writeFault(w, tooLarge())
					return
				}
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func tooLarge() *fault.Error {
	return fault.New(http.StatusRequestEntityTooLarge, "HTTPRequestEntityTooLarge",
		"Request is too large.")
}

// isTooLarge reports whether a body read failed on the size limit.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// proxyHeaders applies X-Forwarded-Proto/Host and Forwarded, as
// oslo.middleware's HTTPProxyToWSGI does when
// [oslo_middleware] enable_proxy_headers_parsing is set, so links point at
// the proxy.
func proxyHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fwd := r.Header.Get("Forwarded"); fwd != "" {
			first, _, _ := strings.Cut(fwd, ",")
			for _, part := range strings.Split(first, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
				if !ok {
					continue
				}
				v = strings.Trim(v, `"`)
				switch strings.ToLower(k) {
				case "proto":
					r.Header.Set("X-Forwarded-Proto", v)
				case "host":
					r.Header.Set("X-Forwarded-Host", v)
				}
			}
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			r.Host, _, _ = strings.Cut(h, ",")
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers preflight requests and decorates replies for allowed
// origins, as oslo.middleware's CORS filter does. With no allowed origin
// configured it does nothing.
func cors(c CORS) Middleware {
	allowed := map[string]bool{}
	for _, o := range c.AllowedOrigin {
		allowed[o] = true
	}
	return func(next http.Handler) http.Handler {
		if len(allowed) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || !(allowed[origin] || allowed["*"]) {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if c.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ", "))
				if len(c.AllowHeaders) > 0 {
					h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ", "))
				}
				if c.MaxAge > 0 {
					h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
				}
				w.WriteHeader(http.StatusOK)
				return
			}
			if len(c.ExposeHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ", "))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// NoAuth builds the request context without Keystone, as Neutron's noauth
// strategy does: with no headers the caller is an admin in project
// "fake_project_id"; X-Project-Id, X-User-Id and X-Roles (also the older
// X-Tenant-Id) describe another caller, so tests can act as any project.
func NoAuth(isAdmin func(*reqctx.Caller) bool) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := checkIdentity(r, "X-User-Id", "X-Project-Id", "X-Tenant-Id", "X-Roles"); err != nil {
				writeFault(w, err)
				return
			}
			c := &reqctx.Caller{
				UserID:    r.Header.Get("X-User-Id"),
				ProjectID: firstNonEmpty(r.Header.Get("X-Project-Id"), r.Header.Get("X-Tenant-Id")),
			}
			for _, role := range strings.Split(r.Header.Get("X-Roles"), ",") {
				if role = strings.ToLower(strings.TrimSpace(role)); role != "" {
					c.Roles = append(c.Roles, role)
				}
			}
			if c.ProjectID == "" && len(c.Roles) == 0 {
				c.ProjectID = "fake_project_id"
				c.Roles = []string{"admin"}
			}
			c.Roles = withImpliedRoles(c.Roles)
			if c.UserID == "" {
				c.UserID = "fake_user_id"
			}
			c.IsAdmin = isAdmin(c)
			next.ServeHTTP(w, r.WithContext(reqctx.WithCaller(r.Context(), c)))
		})
	}
}

// impliedRoles are Keystone's default role implications (keystone-manage
// bootstrap): admin implies member, member implies reader. A Keystone token
// lists the implied roles expanded; noauth headers get the same expansion
// so that X-Roles: member can read what it creates.
var impliedRoles = map[string]string{"admin": "member", "member": "reader"}

// withImpliedRoles returns roles followed by the roles they imply, each
// once, in order of first appearance.
func withImpliedRoles(roles []string) []string {
	out := make([]string, 0, len(roles)+2)
	// A caller holds a few roles, for which a scan beats a set; a set
	// keeps a long list linear.
	var seen map[string]bool
	if len(roles) > 8 {
		seen = make(map[string]bool, len(roles)+2)
	}
	add := func(r string) {
		for r != "" && !(seen == nil && slices.Contains(out, r) || seen[r]) {
			if seen != nil {
				seen[r] = true
			}
			out = append(out, r)
			r = impliedRoles[r]
		}
	}
	for _, r := range roles {
		add(r)
	}
	return out
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
