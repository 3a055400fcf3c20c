package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/neutrino-net/neutrino/internal/fault"
)

// Strings are checked once, here at the edge, so that nothing past the
// API has to wonder about them: a NUL byte or invalid UTF-8 in a path
// segment, a query parameter or a JSON string is refused with a 400 that
// names where it was. PostgreSQL refuses both in text columns (SQLSTATE
// 22021), SQLite would store them, and encoding/json would silently turn
// invalid UTF-8 into U+FFFD; none of that may depend on the engine.

// badString says why s cannot be accepted, or "" when it can.
func badString(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return "it contains a NUL character"
	}
	if !utf8.ValidString(s) {
		return "it is not valid UTF-8"
	}
	return ""
}

// invalidInput is the 400 for a refused string, in the words neutron-lib
// uses for attribute validation ("Invalid input for name. Reason: …").
func invalidInput(field, reason string) *fault.Error {
	return fault.BadRequest("Invalid input for %s. Reason: %s.", field, reason)
}

// checkStrings refuses requests whose path or query holds a string no
// resource can take, and rewrites the query so that r.URL.Query() reads
// exactly what was checked.
func (s *Server) checkStrings(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkPath(r.URL.Path); err != nil {
			s.writeError(r.Context(), w, err)
			return
		}
		if r.URL.RawQuery != "" {
			vals, err := parseQuery(r.URL.RawQuery)
			if err != nil {
				s.writeError(r.Context(), w, err)
				return
			}
			if strings.IndexByte(r.URL.RawQuery, ';') >= 0 {
				// net/url drops pairs holding ';' (an old separator);
				// WebOb, and so Neutron, keeps it as a character.
				r.URL.RawQuery = vals.Encode()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkPath refuses a decoded path with a NUL or invalid UTF-8 in any
// segment; the segment is named by what Neutron's routes put there.
func checkPath(path string) error {
	if badString(path) == "" {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, seg := range segs {
		if reason := badString(seg); reason != "" {
			return invalidInput(pathField(segs, i), reason)
		}
	}
	return nil
}

// pathField names segment i of a /v2.0/… path: the collection, an id, a
// sub-resource or a tag.
func pathField(segs []string, i int) string {
	if i == 0 || segs[0] != "v2.0" {
		return "URL path"
	}
	switch {
	case i >= 4 && len(segs) > 3 && segs[3] == "tags":
		return "tag"
	case i == 1 || i == 3:
		return "resource"
	case i == 2 && segs[1] == "quotas":
		return "project_id"
	}
	return "id"
}

// parseQuery reads a query string as WebOb does (pairs split on '&' only,
// '+' is a space), but strictly: a bad percent-escape, a NUL or invalid
// UTF-8 in a name or a value is a 400 naming the parameter.
func parseQuery(raw string) (url.Values, error) {
	vals := url.Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rk, rv, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(rk)
		if err != nil {
			return nil, fault.BadRequest("Invalid query string: the parameter name %s is not correctly percent-encoded.", strconv.Quote(rk))
		}
		if reason := badString(k); reason != "" {
			return nil, invalidInput("a query parameter name", reason)
		}
		v, err := url.QueryUnescape(rv)
		if err != nil {
			return nil, invalidInput(k, "it is not correctly percent-encoded")
		}
		if reason := badString(v); reason != "" {
			return nil, invalidInput(k, reason)
		}
		vals[k] = append(vals[k], v)
	}
	return vals, nil
}

// checkJSONStrings refuses a request body that holds invalid UTF-8 or a
// NUL anywhere in a string (names as well as values), naming the
// attribute it belongs to. raw is the body as received; body is it
// decoded, where escapes such as \u0000 have become characters.
func checkJSONStrings(raw []byte, body any) error {
	if !utf8.Valid(raw) {
		return invalidInput(invalidUTF8Field(raw), "it is not valid UTF-8")
	}
	var walk func(path []string, v any) error
	walk = func(path []string, v any) error {
		switch t := v.(type) {
		case string:
			if strings.IndexByte(t, 0) >= 0 {
				return invalidInput(bodyField(path), "it contains a NUL character")
			}
		case []any:
			for _, it := range t {
				if err := walk(path, it); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, it := range t {
				if strings.IndexByte(k, 0) >= 0 {
					return invalidInput(bodyField(path), "an attribute name contains a NUL character")
				}
				if err := walk(append(path, k), it); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(nil, body)
}

// bodyField names the attribute at path: the one under the resource's
// wrapper ({"network": {"name": …}} → "name"), or the body itself.
func bodyField(path []string) string {
	switch len(path) {
	case 0:
		return "request body"
	case 1:
		return path[0]
	}
	return path[1]
}

// invalidUTF8Field finds the attribute whose string holds the first
// invalid UTF-8 of raw by walking its tokens; decoding has already
// replaced the bad bytes, so the raw span of each token is what is
// checked.
func invalidUTF8Field(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	// Each open object or array on the way down, and the attribute
	// names seen in objects.
	type frame struct {
		object bool
		key    string
		// wantKey is true when the next string of an object is a name.
		wantKey bool
	}
	var stack []frame
	path := func(frames []frame) []string {
		var p []string
		for _, f := range frames {
			if f.object && f.key != "" {
				p = append(p, f.key)
			}
		}
		return p
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "request body"
		}
		end := dec.InputOffset()
		if !utf8.Valid(raw[start:end]) {
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				// The bad string is a name: name its object.
				return bodyField(path(stack[:n-1]))
			}
			return bodyField(path(stack))
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				if top != nil && top.object {
					top.wantKey = true
				}
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				if top != nil && top.object {
					top.wantKey = true
				}
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.wantKey {
				top.key, top.wantKey = t, false
				continue
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// checkIdentity refuses identity headers (noauth's X-Project-Id and the
// like) that could not be stored.
func checkIdentity(r *http.Request, names ...string) *fault.Error {
	for _, name := range names {
		if reason := badString(r.Header.Get(name)); reason != "" {
			return fault.BadRequest("Invalid %s header: %s.", name, reason)
		}
	}
	return nil
}
