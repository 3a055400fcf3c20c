package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// errNoBody is readBody's answer to an empty body.
var errNoBody = fault.BadRequest("Resource body required")

// readBody reads and parses a JSON object body. Neutron answers 400 "Body
// contains invalid data" for anything that is not a JSON object.
func readBody(r *http.Request) (map[string]any, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		if isTooLarge(err) {
			return nil, tooLarge()
		}
		// The client's fault (a malformed chunk, a body cut short or
		// too slow): a 400, if anyone is still there to read it.
		return nil, fault.BadRequest("The request body could not be read: it was malformed, incomplete or too slow.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errNoBody
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil || dec.More() {
		return nil, fault.BadRequest("Body contains invalid data")
	}
	m, ok := body.(map[string]any)
	if !ok {
		return nil, fault.BadRequest("Body contains invalid data")
	}
	if err := checkJSONStrings(raw, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeCreate turns a POST body into objects ready for the plugin:
// {"network": {...}} or, for bulk, {"networks": [{...}, ...]}.
func (c *controller) decodeCreate(r *http.Request) (objs []*resource.Object, bulk bool, err error) {
	body, err := readBody(r)
	if err != nil {
		return nil, false, err
	}
	if items, ok := body[c.res.Collection]; ok {
		if !c.res.AllowBulk {
			return nil, true, fault.BadRequest("Bulk operation not supported")
		}
		list, ok := items.([]any)
		if !ok {
			return nil, true, fault.BadRequest("Body contains invalid data")
		}
		if len(list) == 0 {
			return nil, true, fault.BadRequest("Resources required")
		}
		for _, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, true, fault.BadRequest("Body contains invalid data")
			}
			// Each item may itself be wrapped: {"network": {...}}.
			if inner, ok := m[c.res.Name].(map[string]any); ok && len(m) == 1 {
				m = inner
			}
			o, err := c.prepareCreate(r, m)
			if err != nil {
				return nil, true, err
			}
			objs = append(objs, o)
		}
		return objs, true, nil
	}
	m, err := c.member(body)
	if err != nil {
		return nil, false, err
	}
	o, err := c.prepareCreate(r, m)
	if err != nil {
		return nil, false, err
	}
	return []*resource.Object{o}, false, nil
}

// member extracts {"<resource>": {...}} from a body.
func (c *controller) member(body map[string]any) (map[string]any, error) {
	v, ok := body[c.res.Name]
	if !ok || v == nil {
		return nil, fault.BadRequest("Unable to find '%s' in request body", c.res.Name)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fault.BadRequest("Object '%s' contains invalid data", c.res.Name)
	}
	return m, nil
}

// prepareCreate applies neutron-lib's request preparation to one item:
// owner, unknown attributes, allow_post, defaults, conversion and
// validation.
func (c *controller) prepareCreate(r *http.Request, m map[string]any) (*resource.Object, error) {
	caller := reqctx.CallerFrom(r.Context())
	if err := c.populateProject(m, caller, true); err != nil {
		return nil, err
	}
	if err := c.verifyKnown(m); err != nil {
		return nil, err
	}
	o := resource.New(c.res)
	for _, a := range c.res.Attrs() {
		v, given := m[a.Name]
		if !a.AllowPost {
			if given {
				return nil, fault.BadRequest("Attribute '%s' not allowed in POST", a.Name)
			}
			continue
		}
		if !given {
			if a.Required {
				return nil, fault.BadRequest("Failed to parse request. Required attribute '%s' not specified", a.Name)
			}
			if a.Default != resource.NotSpecified {
				o.SetAt(a.Index(), a.Default)
			}
			continue
		}
		cv, err := convert(a, v)
		if err != nil {
			return nil, err
		}
		o.SetAt(a.Index(), cv)
	}
	return o, nil
}

// decodeUpdate turns a PUT body into a patch holding only the given
// attributes.
func (c *controller) decodeUpdate(r *http.Request) (*resource.Object, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return c.patchFrom(r, body)
}

// patchFrom is decodeUpdate on a body already read.
func (c *controller) patchFrom(r *http.Request, body map[string]any) (*resource.Object, error) {
	m, err := c.member(body)
	if err != nil {
		return nil, err
	}
	if err := c.populateProject(m, reqctx.CallerFrom(r.Context()), false); err != nil {
		return nil, err
	}
	if err := c.verifyKnown(m); err != nil {
		return nil, err
	}
	patch := resource.New(c.res)
	for _, a := range c.res.Attrs() {
		v, given := m[a.Name]
		if !given {
			continue
		}
		if !a.AllowPut {
			return nil, fault.BadRequest("Cannot update read-only attribute %s", a.Name)
		}
		cv, err := convert(a, v)
		if err != nil {
			return nil, err
		}
		patch.SetAt(a.Index(), cv)
	}
	return patch, nil
}

func convert(a *resource.Attr, v any) (any, error) {
	cv, err := resource.ConvertValue(a, v)
	if err == nil {
		return cv, nil
	}
	var ce *resource.ConvertError
	if errors.As(err, &ce) {
		return nil, fault.InvalidInput(ce.Reason)
	}
	var ve *resource.ValidationError
	if errors.As(err, &ve) {
		return nil, fault.BadRequest("%s", ve.Error())
	}
	return nil, err
}

// populateProject makes tenant_id and project_id agree, fills them from
// the caller on create, and refuses another project's id from a caller
// who may not act for other projects.
func (c *controller) populateProject(m map[string]any, caller *reqctx.Caller, create bool) error {
	if c.res.Attr("project_id") == nil {
		return nil
	}
	t, hasT := m["tenant_id"]
	p, hasP := m["project_id"]
	switch {
	case hasT && !hasP:
		m["project_id"], p, hasP = t, t, true
	case hasP && !hasT:
		m["tenant_id"], t, hasT = p, p, true
	}
	if hasT && hasP && t != p {
		return fault.BadRequest("'project_id' and 'tenant_id' do not match")
	}
	if hasP && p != caller.ProjectID && !caller.IsAdmin {
		return fault.BadRequest("Specifying 'project_id' other than the authenticated project in request is not allowed for the current user.")
	}
	if create && !hasP {
		if caller.ProjectID == "" {
			return fault.BadRequest("Running without keystone AuthN requires that project_id is specified")
		}
		m["project_id"], m["tenant_id"] = caller.ProjectID, caller.ProjectID
	}
	return nil
}

// verifyKnown refuses attributes the resource does not declare (or that
// belong to a disabled extension).
func (c *controller) verifyKnown(m map[string]any) error {
	var extra []string
	for k := range m {
		if c.res.Attr(k) == nil {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return fault.BadRequest("Unrecognized attribute(s) '%s'", strings.Join(extra, ", "))
}

// ifMatch parses "If-Match: revision_number=N" (quoted or not). Other
// etags are ignored, as in Neutron.
func (c *controller) ifMatch(r *http.Request) (int, error) {
	h := r.Header.Values("If-Match")
	rev := plugin.NoRevision
	for _, line := range h {
		for _, tag := range strings.Split(line, ",") {
			tag = strings.Trim(strings.TrimSpace(tag), `"`)
			n, ok := strings.CutPrefix(tag, "revision_number=")
			if !ok {
				continue
			}
			if rev != plugin.NoRevision {
				return 0, fault.NeutronBadRequest("if-match", "Multiple revision_number etags are not supported.")
			}
			if !c.s.extensionEnabled("revision-if-match") {
				return 0, fault.NeutronBadRequest("if-match", "This server does not support constraining operations based on revision numbers")
			}
			v, err := strconv.Atoi(n)
			if err != nil {
				return 0, fault.NeutronBadRequest("if-match", "Revision number etag must be in the format of revision_number=<int>")
			}
			rev = v
		}
	}
	return rev, nil
}
