package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// controller serves one collection generically from its resource
// definition.
type controller struct {
	s   *Server
	res *resource.Resource
	h   plugin.Handler
	// sharedBy are the boolean attributes that make an object visible
	// beyond its project (shared, router:external); lists push them into
	// the query so a project's list is one indexed query.
	sharedBy []*resource.Attr
	// policyTargetAttrs are put into every per-row policy target.
	policyTargetAttrs []*resource.Attr
	// enforced are attributes with per-attribute policy rules.
	enforced []*resource.Attr
}

func newController(s *Server, r *resource.Resource, h plugin.Handler) *controller {
	c := &controller{s: s, res: r, h: h}
	for _, name := range []string{"shared", "router:external"} {
		if a := r.Attr(name); a != nil && a.Storage == resource.Column {
			c.sharedBy = append(c.sharedBy, a)
		}
	}
	for _, a := range r.Attrs() {
		if a.RequiredByPolicy || a.Name == "project_id" || a.Name == "id" {
			c.policyTargetAttrs = append(c.policyTargetAttrs, a)
		}
		if a.EnforcePolicy {
			c.enforced = append(c.enforced, a)
		}
	}
	return c
}

// notFound is the resource's own 404, which is also what a caller who may
// not see an object gets.
func (c *controller) notFound(id string) error {
	if nf, ok := c.h.(interface{ NotFound(id string) error }); ok {
		return nf.NotFound(id)
	}
	return fault.HTTPNotFound()
}

// check asks policy about one action; with no Authorizer everything is
// allowed.
func (c *controller) check(ctx context.Context, action string, target map[string]any) (allowed, defined bool) {
	if c.s.opts.Authorizer == nil {
		return true, true
	}
	return c.s.opts.Authorizer.Check(ctx, action, target)
}

// policyTarget is the subset of o policy rules look at.
func (c *controller) policyTarget(o *resource.Object) map[string]any {
	t := make(map[string]any, len(c.policyTargetAttrs)+1)
	for _, a := range c.policyTargetAttrs {
		t[a.Name] = o.At(a.Index())
	}
	if p, ok := t["project_id"]; ok {
		t["tenant_id"] = p
	}
	return t
}

// visible reports whether the caller may see o (the get_<resource> rule).
func (c *controller) visible(ctx context.Context, o *resource.Object) bool {
	ok, _ := c.check(ctx, "get_"+c.res.Name, c.policyTarget(o))
	return ok
}

// hiddenByPolicy marks attributes whose get_<resource>:<attr> rule denies
// the caller; nil when nothing is hidden. undefined caches rules found not
// to exist, so a list asks about each only once.
func (c *controller) hiddenByPolicy(ctx context.Context, o *resource.Object, undefined map[string]bool) []bool {
	var hidden []bool
	var target map[string]any
	for _, a := range c.enforced {
		action := "get_" + c.res.Name + ":" + a.Name
		if undefined[action] {
			continue
		}
		if target == nil {
			target = c.policyTarget(o)
		}
		allowed, defined := c.check(ctx, action, target)
		if !defined {
			undefined[action] = true
			continue
		}
		if !allowed {
			if hidden == nil {
				hidden = make([]bool, len(c.res.Attrs()))
			}
			hidden[a.Index()] = true
		}
	}
	return hidden
}

func (c *controller) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lq, err := c.parseList(r)
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	caller := reqctx.CallerFrom(ctx)
	if !caller.IsAdmin {
		lq.query.Scope = &resource.Scope{ProjectID: caller.ProjectID, SharedBy: c.sharedBy}
	}
	objs, err := c.h.List(ctx, &lq.query)
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	v := newView(c.res, lq.fields)
	undefined := map[string]bool{}
	b := make([]byte, 0, 64+len(objs)*512)
	b = append(b, `{"`...)
	b = append(b, c.res.Collection...)
	b = append(b, `":[`...)
	shown := objs[:0]
	for _, o := range objs {
		if !c.visible(ctx, o) {
			continue
		}
		if len(shown) > 0 {
			b = append(b, ',')
		}
		shown = append(shown, o)
		b = v.appendObject(b, o, c.hiddenByPolicy(ctx, o, undefined))
	}
	b = append(b, ']')
	if lq.query.Limit > 0 {
		b = append(b, `,"`...)
		b = append(b, c.res.Collection...)
		b = append(b, `_links":`...)
		b = appendValue(b, c.pageLinks(r, lq, objs))
	}
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}

func (c *controller) show(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	o, err := c.h.Get(ctx, id)
	if err == nil && !c.visible(ctx, o) {
		err = c.notFound(id)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	c.writeOne(ctx, w, http.StatusOK, o, r.URL.Query()["fields"])
}

func (c *controller) writeOne(ctx context.Context, w http.ResponseWriter, status int, o *resource.Object, fields []string) {
	v := newView(c.res, fields)
	b := append([]byte(`{"`), c.res.Name...)
	b = append(b, `":`...)
	b = v.appendObject(b, o, c.hiddenByPolicy(ctx, o, map[string]bool{}))
	b = append(b, '}')
	writeBody(w, status, b)
}

func (c *controller) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	objs, bulk, err := c.decodeCreate(r)
	if err == nil {
		err = c.authorizeWrite(ctx, "create", objs, nil)
	}
	if err == nil {
		objs, err = c.h.Create(ctx, objs)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	if !bulk {
		c.writeOne(ctx, w, http.StatusCreated, objs[0], nil)
		return
	}
	v := newView(c.res, nil)
	undefined := map[string]bool{}
	b := append([]byte(`{"`), c.res.Collection...)
	b = append(b, `":[`...)
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = v.appendObject(b, o, c.hiddenByPolicy(ctx, o, undefined))
	}
	b = append(b, "]}"...)
	writeBody(w, http.StatusCreated, b)
}

func (c *controller) update(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	rev, err := c.ifMatch(r)
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	patch, err := c.decodeUpdate(r)
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	old, err := c.h.Get(ctx, id)
	if err == nil && !c.visible(ctx, old) {
		err = c.notFound(id)
	}
	if err == nil {
		err = c.authorizeWrite(ctx, "update", []*resource.Object{patch}, old)
	}
	var o *resource.Object
	if err == nil {
		o, err = c.h.Update(ctx, id, patch, rev)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	c.writeOne(ctx, w, http.StatusOK, o, nil)
}

func (c *controller) delete(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	rev, err := c.ifMatch(r)
	if err == nil && r.ContentLength > 0 {
		err = fault.BadRequest("Request body is not supported in DELETE.")
	}
	var old *resource.Object
	if err == nil {
		old, err = c.h.Get(ctx, id)
	}
	if err == nil && !c.visible(ctx, old) {
		err = c.notFound(id)
	}
	if err == nil {
		if ok, _ := c.check(ctx, "delete_"+c.res.Name, old.Map()); !ok {
			err = fault.Forbidden("rule:delete_" + c.res.Name)
		}
	}
	if err == nil {
		err = c.h.Delete(ctx, id, rev)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorizeWrite checks <op>_<resource> and the per-attribute rules of
// every attribute the request sets, as Neutron's policy engine does: on
// create, attributes given with a non-default value; on update, every
// attribute in the body. The target of an update is the stored object
// with the changes applied.
func (c *controller) authorizeWrite(ctx context.Context, op string, objs []*resource.Object, old *resource.Object) error {
	action := op + "_" + c.res.Name
	for _, o := range objs {
		target := o
		if old != nil {
			target = old.Clone()
			target.Merge(o)
		}
		tm := target.Map()
		if p, ok := tm["project_id"]; ok {
			tm["tenant_id"] = p
		}
		var denied []string
		if ok, _ := c.check(ctx, action, tm); !ok {
			denied = append(denied, "rule:"+action)
		}
		for _, a := range c.enforced {
			if !o.HasAt(a.Index()) {
				continue
			}
			if op == "create" && a.Default != nil && equalValue(o.At(a.Index()), a.Default) {
				continue
			}
			attrAction := action + ":" + a.Name
			if ok, defined := c.check(ctx, attrAction, tm); defined && !ok {
				denied = append(denied, "rule:"+attrAction)
			}
		}
		if len(denied) > 0 {
			return fault.Forbidden(policyExpr(denied))
		}
	}
	return nil
}

// policyExpr renders the failed rule the way oslo.policy names it in the
// message: one rule alone, several as a parenthesised conjunction.
func policyExpr(denied []string) string {
	if len(denied) == 1 {
		return denied[0]
	}
	return "(" + strings.Join(denied, " and ") + ")"
}

func equalValue(a, b any) bool {
	switch av := a.(type) {
	case []string:
		bv, ok := b.([]string)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if av[i] != bv[i] {
				return false
			}
		}
		return true
	case map[string]any, []any:
		return false
	}
	return a == b
}
