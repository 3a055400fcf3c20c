package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
)

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

// route dispatches a request by path.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "":
		s.only(w, r, s.versions, http.MethodGet)
		return
	case "/healthcheck":
		s.only(w, r, s.healthcheck, http.MethodGet, http.MethodHead)
		return
	case "/v2.0":
		s.only(w, r, s.resourceIndex, http.MethodGet)
		return
	case "/metrics":
		// Prometheus' scrape, unauthenticated as the health check: the
		// series hold counts and timings, no project's data.
		s.only(w, r, metricsHandler.ServeHTTP, http.MethodGet)
		return
	}
	rest, ok := strings.CutPrefix(path, "/v2.0/")
	if !ok {
		writeFault(w, fault.HTTPNotFound())
		return
	}
	// Neutron accepts a ".json" suffix on any path.
	rest = strings.TrimSuffix(rest, ".json")
	parts := s.splitPath(rest)
	if parts[0] == "extensions" {
		switch len(parts) {
		case 1:
			s.only(w, r, s.listExtensions, http.MethodGet)
		case 2:
			s.only(w, r, func(w http.ResponseWriter, r *http.Request) { s.showExtension(w, r, parts[1]) }, http.MethodGet)
		default:
			writeFault(w, fault.HTTPNotFound())
		}
		return
	}
	if parts[0] == "quotas" && s.opts.Quotas != nil && s.extensionEnabled("quotas") {
		s.quotas(w, r, parts[1:])
		return
	}
	if s.agentScheduling(w, r, parts) {
		return
	}
	if len(parts) >= 3 {
		if sc := s.subControllers[parts[0]+"/"+parts[2]]; sc != nil {
			s.subResource(w, r, sc, parts[1], parts[3:])
			return
		}
	}
	c := s.controllers[parts[0]]
	if c == nil {
		writeFault(w, fault.HTTPNotFound())
		return
	}
	if c.res.ReadOnly && r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	if len(parts) >= 3 && len(parts) <= 4 && parts[2] == "tags" && c.taggable() {
		var tag *string
		if len(parts) == 4 {
			tag = &parts[3]
		}
		c.tags(w, r, parts[1], tag)
		return
	}
	switch len(parts) {
	case 1:
		c.serveCollection(w, r)
	case 2:
		c.serveMember(w, r, parts[1])
	case 3:
		if slices.Contains(c.res.GetActions, parts[2]) {
			if r.Method != http.MethodGet {
				methodNotAllowed(w, "GET")
				return
			}
			c.action(w, r, parts[1], parts[2])
			return
		}
		if !slices.Contains(c.res.Actions, parts[2]) {
			writeFault(w, fault.HTTPNotFound())
			return
		}
		if r.Method != http.MethodPut {
			methodNotAllowed(w, "PUT")
			return
		}
		c.action(w, r, parts[1], parts[2])
	default:
		writeFault(w, fault.HTTPNotFound())
	}
}

// splitPath splits a path below /v2.0/ into segments, keeping a
// collection served under a prefix (metering/metering-labels, as an
// extension's path_prefix puts it) as one segment.
func (s *Server) splitPath(rest string) []string {
	parts := strings.Split(rest, "/")
	if len(parts) >= 2 && s.controllers[parts[0]] == nil && s.controllers[parts[0]+"/"+parts[1]] != nil {
		parts = append([]string{parts[0] + "/" + parts[1]}, parts[2:]...)
	}
	return parts
}

func (s *Server) only(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, methods ...string) {
	for _, m := range methods {
		if r.Method == m {
			h(w, r)
			return
		}
	}
	methodNotAllowed(w, strings.Join(methods, ", "))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeFault(w, fault.New(http.StatusMethodNotAllowed, "HTTPMethodNotAllowed",
		"The server could not comply with the request since it is either malformed or otherwise incorrect."))
}

// baseURL is the scheme and host clients reached us by, honouring proxy
// headers when their parsing is enabled.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if s.opts.ProxyHeaders {
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			scheme, _, _ = strings.Cut(p, ",")
		}
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeFault(w, fault.Internal())
		return
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	// Assigned rather than Set: the names are canonical already, and
	// the value slice is shared (net/http only reads it).
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

var jsonContentType = []string{"application/json"}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	type version struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Links  []link `json:"links"`
	}
	writeJSON(w, http.StatusOK, map[string][]version{"versions": {{
		ID: "v2.0", Status: "CURRENT",
		Links: []link{{Href: s.baseURL(r) + "/v2.0/", Rel: "self"}},
	}}})
}

func (s *Server) resourceIndex(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		Name       string `json:"name"`
		Collection string `json:"collection"`
		Links      []link `json:"links"`
	}
	base := s.baseURL(r) + "/v2.0/"
	out := []entry{}
	for _, res := range s.opts.Resources.All() {
		if s.controllers[res.URLPath()] == nil || res.Parent != "" {
			continue
		}
		out = append(out, entry{Name: res.Name, Collection: res.URLPath(),
			Links: []link{{Href: base + res.URLPath(), Rel: "self"}}})
	}
	writeJSON(w, http.StatusOK, map[string][]entry{"resources": out})
}

type extensionView struct {
	Alias       string `json:"alias"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Updated     string `json:"updated"`
	Links       []link `json:"links"`
}

func (s *Server) listExtensions(w http.ResponseWriter, r *http.Request) {
	out := make([]extensionView, 0, len(s.opts.Extensions))
	for _, e := range s.opts.Extensions {
		out = append(out, extensionView{e.Alias, e.Name, e.Description, e.Updated, []link{}})
	}
	writeJSON(w, http.StatusOK, map[string][]extensionView{"extensions": out})
}

func (s *Server) showExtension(w http.ResponseWriter, r *http.Request, alias string) {
	for _, e := range s.opts.Extensions {
		if e.Alias == alias {
			writeJSON(w, http.StatusOK, map[string]extensionView{"extension": {e.Alias, e.Name, e.Description, e.Updated, []link{}}})
			return
		}
	}
	writeFault(w, fault.New(http.StatusNotFound, "HTTPNotFound", "Extension with alias %s does not exist", alias))
}

// healthcheck answers as oslo.middleware's healthcheck: 200 "OK", or 503
// with the reason when the database does not answer.
func (s *Server) healthcheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	status, body := http.StatusOK, "OK"
	if s.opts.Healthy != nil {
		if err := s.opts.Healthy(r.Context()); err != nil {
			s.log.WarnContext(r.Context(), "health check failed", "error", err)
			status, body = http.StatusServiceUnavailable, "DATABASE UNAVAILABLE"
		}
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(body))
	}
}

// serveCollection serves GET (list) and POST (create) on a collection,
// and answers PUT and DELETE on it as Neutron does.
func (c *controller) serveCollection(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		c.list(w, r)
	case http.MethodPost:
		c.create(w, r)
	case http.MethodPut, http.MethodDelete:
		c.writeCollection(w, r)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// writeCollection answers PUT or DELETE on a whole collection. Neutron
// fetches the object a PUT or DELETE names before anything else (for its
// policy check), with no id when the path names the collection, so the
// caller gets the resource's 404 for the id None ("Network None could not
// be found."); a PUT body naming the resource is validated first, as its
// body hook runs before. Resources addressed by project rather than by id
// (auto-allocated-topology) would build a topology on that fetch; they
// keep the 405.
func (c *controller) writeCollection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if c.res.Collection == apidef.AutoAllocatedTopologies {
		methodNotAllowed(w, "GET, POST")
		return
	}
	if r.Method == http.MethodPut {
		body, err := readBody(r)
		if err == errNoBody {
			err = nil
		}
		if err == nil && body[c.res.Name] != nil {
			_, err = c.patchFrom(r, body)
		}
		if err != nil {
			c.s.writeError(ctx, w, err)
			return
		}
	}
	_, err := c.h.Get(ctx, "None")
	if err == nil {
		err = c.notFound(ctx, "None")
	}
	c.s.writeError(ctx, w, err)
}

// serveMember serves GET (show), PUT (update) and DELETE on one object.
func (c *controller) serveMember(w http.ResponseWriter, r *http.Request, id string) {
	switch r.Method {
	case http.MethodGet:
		c.show(w, r, id)
	case http.MethodPut:
		c.update(w, r, id)
	case http.MethodDelete:
		c.delete(w, r, id)
	default:
		methodNotAllowed(w, "GET, PUT, DELETE")
	}
}
