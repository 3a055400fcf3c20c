package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

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
	// policyName names the resource in policy rules: its member name, or
	// for a sub-resource the parent's and its own joined
	// ("floatingip_port_forwarding"), as Neutron names them.
	policyName string
	// parent serves the parent collection of a sub-resource; nil for
	// top-level resources.
	parent *controller
	// getActions are the get_<resource>:<attr> rules of enforced, in
	// its order, named once rather than per row of a listing.
	getActionsOnce sync.Once
	getActions     []string
	// fullView shows every visible attribute (no fields=), built once.
	fullViewOnce sync.Once
	fullView     *view
}

func newController(s *Server, r *resource.Resource, h plugin.Handler) *controller {
	c := &controller{s: s, res: r, h: h, policyName: r.Name}
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
// not see an object gets. A handler whose 404 names the request's parent
// (QosRuleNotFound names the policy) builds it from the context.
func (c *controller) notFound(ctx context.Context, id string) error {
	if nf, ok := c.h.(interface {
		NotFoundIn(ctx context.Context, id string) error
	}); ok {
		return nf.NotFoundIn(ctx, id)
	}
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

// policyTargets builds the policy target of each object: the attributes
// rules look at, plus what the handler adds about parents.
func (c *controller) policyTargets(ctx context.Context, objs []*resource.Object, full bool) ([]map[string]any, error) {
	var extras []map[string]any
	if pt, ok := c.h.(plugin.PolicyTargeter); ok && len(objs) > 0 {
		var err error
		if extras, err = pt.PolicyTargets(ctx, objs); err != nil {
			return nil, err
		}
	}
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		var t map[string]any
		if full {
			t = o.Map()
		} else {
			n := len(c.policyTargetAttrs) + 4
			if extras != nil {
				n += len(extras[i])
			}
			t = make(map[string]any, n)
			for _, a := range c.policyTargetAttrs {
				t[a.Name] = o.At(a.Index())
			}
		}
		if p, ok := t["project_id"]; ok {
			t["tenant_id"] = p
		}
		if pt := parentTarget(ctx); pt != nil {
			t["ext_parent:project_id"] = pt["project_id"]
			t["ext_parent:tenant_id"] = pt["project_id"]
		}
		if extras != nil {
			for k, v := range extras[i] {
				t[k] = v
			}
		}
		out[i] = t
	}
	return out, nil
}

// visible reports whether the caller may see the object with this target
// (the get_<resource> rule).
// visibleAsShown asks get_<resource> about the object as a reply would
// show it, without its hidden attributes: Neutron checks a refused
// update so, and answers 404 rather than 403 when that fails (an address
// group shared with the caller: its shared flag is not shown).
func (c *controller) visibleAsShown(ctx context.Context, o *resource.Object) bool {
	targets, err := c.policyTargets(ctx, []*resource.Object{o}, true)
	if err != nil {
		return true
	}
	t := targets[0]
	for _, a := range c.res.Attrs() {
		if !a.Visible {
			delete(t, a.Name)
		}
	}
	return c.visible(ctx, t)
}

func (c *controller) visible(ctx context.Context, target map[string]any) bool {
	ok, _ := c.check(ctx, "get_"+c.policyName, target)
	return ok
}

// decide answers action when the caller's credentials alone decide it
// (see Decider); known is false otherwise. With no Authorizer everything
// is allowed.
func (c *controller) decide(ctx context.Context, action string) (allowed, defined, known bool) {
	if c.s.opts.Authorizer == nil {
		return true, true, true
	}
	d, ok := c.s.opts.Authorizer.(Decider)
	if !ok {
		return false, false, false
	}
	return d.Decide(ctx, action)
}

// decideVisible answers get_<resource> for every object when the
// caller's credentials alone decide it.
func (c *controller) decideVisible(ctx context.Context) (visible, known bool) {
	visible, _, known = c.decide(ctx, "get_"+c.policyName)
	return visible, known
}

// decideHidden is hiddenByPolicy for every object when the caller's
// credentials alone decide each get_<resource>:<attr> rule; known is
// false when any depends on the object.
func (c *controller) decideHidden(ctx context.Context) (hidden []bool, known bool) {
	c.nameGetActions()
	if bd, ok := c.s.opts.Authorizer.(BatchDecider); ok {
		var buf [64]bool
		n := len(c.enforced)
		if 2*n > len(buf) {
			buf2 := make([]bool, 2*n)
			return c.hiddenFrom(ctx, bd, buf2[:n], buf2[n:])
		}
		return c.hiddenFrom(ctx, bd, buf[:n], buf[n:2*n])
	}
	for i, a := range c.enforced {
		allowed, defined, known := c.decide(ctx, c.getActions[i])
		if !known {
			return nil, false
		}
		if defined && !allowed {
			if hidden == nil {
				hidden = make([]bool, len(c.res.Attrs()))
			}
			hidden[a.Index()] = true
		}
	}
	return hidden, true
}

// hiddenFrom is decideHidden through one DecideAll.
func (c *controller) hiddenFrom(ctx context.Context, bd BatchDecider, allowed, defined []bool) (hidden []bool, known bool) {
	if !bd.DecideAll(ctx, c.getActions, allowed, defined) {
		return nil, false
	}
	for i, a := range c.enforced {
		if defined[i] && !allowed[i] {
			if hidden == nil {
				hidden = make([]bool, len(c.res.Attrs()))
			}
			hidden[a.Index()] = true
		}
	}
	return hidden, true
}

func (c *controller) nameGetActions() {
	c.getActionsOnce.Do(func() {
		for _, a := range c.enforced {
			c.getActions = append(c.getActions, "get_"+c.policyName+":"+a.Name)
		}
	})
}

// hiddenByPolicy marks attributes whose get_<resource>:<attr> rule denies
// the caller; nil when nothing is hidden. undefined caches rules found not
// to exist, so a list asks about each only once.
func (c *controller) hiddenByPolicy(ctx context.Context, target map[string]any, undefined map[string]bool) []bool {
	c.nameGetActions()
	var hidden []bool
	for i, a := range c.enforced {
		action := c.getActions[i]
		if undefined[action] {
			continue
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

// getVisible fetches one object and its policy target, answering the
// resource's 404 when the caller may not see it.
func (c *controller) getVisible(ctx context.Context, id string) (*resource.Object, map[string]any, error) {
	o, err := c.h.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !c.ownChild(ctx, o) {
		return nil, nil, c.notFound(ctx, id)
	}
	if ok, err := c.inScope(ctx, o); err != nil {
		return nil, nil, err
	} else if !ok {
		return nil, nil, c.notFound(ctx, id)
	}
	targets, err := c.policyTargets(ctx, []*resource.Object{o}, true)
	if err != nil {
		return nil, nil, err
	}
	if !c.visible(ctx, targets[0]) {
		return nil, nil, c.notFound(ctx, id)
	}
	return o, targets[0], nil
}

func (c *controller) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lq, err := c.parseList(r)
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	caller := reqctx.CallerFrom(ctx)
	if c.parent != nil {
		// The parent was found visible; its children answer to policy
		// row by row.
		lq.query.Filters = append(lq.query.Filters, resource.Filter{
			Attr: c.res.Attr(c.res.ParentKey), Values: []any{plugin.ParentID(ctx)}})
	} else if !caller.IsAdmin && c.res.Attr("project_id") != nil {
		// Resources without an owner (flavors) answer to policy alone.
		if sc, ok := c.h.(plugin.Scoper); ok {
			lq.query.Scope = sc.Scope(caller.ProjectID)
		} else {
			lq.query.Scope = &resource.Scope{ProjectID: caller.ProjectID, SharedBy: c.sharedBy}
		}
	}
	lw := &listWriter{c: c, w: w, r: r, lq: lq, view: newView(c.res, lq.fields), undefined: map[string]bool{}}
	q := lq.query
	if q.Limit > 0 && q.Limit <= listChunk || nullableSort(q.Sorts) {
		// One query answers. (Chunks continue after the last row's
		// sort values, which cannot work past a NULL: such rare sorts
		// are read at once.)
		objs, err := c.h.List(ctx, &q)
		if err == nil {
			err = lw.encode(objs)
		}
		if err != nil {
			c.s.writeError(ctx, w, err)
			return
		}
		lw.finish()
		return
	}
	if q.PageReverse {
		c.listReversed(ctx, lw, q)
		return
	}
	c.listChunked(ctx, lw, q)
}

// nullableSort reports whether any sort key may be NULL.
func nullableSort(sorts []resource.SortKey) bool {
	for _, s := range sorts {
		if s.Attr.Nullable {
			return true
		}
	}
	return false
}

// listChunk is how many rows a large listing reads per query. A listing
// of 10,000 ports is read, encoded and written 500 at a time, so a client
// reading its reply slowly holds one chunk in the server's memory rather
// than the whole reply and its objects; no database connection is held
// while it reads.
const listChunk = 500

// quietChunk is how many rows each chunk after a streamed listing's first
// reads while no more listings are streamed than the process has CPUs
// (see laterChunk).
const quietChunk = 1000

// streaming counts the listings being streamed.
var streaming atomic.Int32

// laterChunk is the size of a streamed listing's next chunk: quietChunk
// while few listings are streamed, listChunk otherwise. Each chunk costs
// its queries again (four for ports, each a round trip on PostgreSQL)
// and its per-chunk work: one listing alone in the server (a single
// client's 10,000 ports) spends 5–9% less CPU in chunks of 1,000. But
// the chunks being written and read ahead are what concurrent listings
// hold in memory: 16 listings of 5,000 in chunks of 1,000 held 25–45 MB
// more.
func laterChunk() int {
	if streaming.Load() <= int32(cap(readAhead)) {
		return quietChunk
	}
	return listChunk
}

// listChunked lists q a chunk at a time, writing each chunk before
// reading the next. A listing that fits in one chunk is written as one
// reply with its length; a longer one is streamed. The chunks continue
// from the store's Cursor (the last row's sort values), so rows deleted
// meanwhile do not break the listing, and ordering by id last makes the
// order total; a handler whose List does not go through the store's
// paging (computed resources) reports no cursor and answers at once.
func (c *controller) listChunked(ctx context.Context, lw *listWriter, q resource.Query) {
	limit := q.Limit
	unsorted := len(q.Sorts) == 0
	if !unsorted && !sortsBy(q.Sorts, "id") {
		q.Sorts = append(slices.Clone(q.Sorts), resource.SortKey{Attr: c.res.Attr("id")})
	}
	cur := &resource.Cursor{IDOrderIfLong: unsorted}
	q.Cursor = cur
	q.Limit = listChunk
	objs, err := c.h.List(ctx, &q)
	if err != nil {
		c.s.writeError(ctx, lw.w, err)
		return
	}
	more := cur.Rows == q.Limit
	if more && unsorted {
		// An unsorted list is shown in the engine's order when it fits
		// in a chunk, as before; a longer one is read in id order, as
		// the store does at once when it finds more rows than a chunk.
		q.Sorts = []resource.SortKey{{Attr: c.res.Attr("id")}}
		if !cur.ByID {
			if objs, err = c.h.List(ctx, &q); err != nil {
				c.s.writeError(ctx, lw.w, err)
				return
			}
			more = cur.Rows == q.Limit
		}
	}
	if !more {
		if err := lw.encode(objs); err != nil {
			c.s.writeError(ctx, lw.w, err)
			return
		}
		lw.finish()
		return
	}
	c.stream(ctx, lw, &q, objs, limit)
}

// stream writes objs, the first chunk read by q, and the chunks after it
// until the list or the limit (0 for none) ends. While a CPU is free
// (see readAhead) each chunk after the first is read while the one
// before it is encoded and written, so the reply waits on the slower of
// the two rather than on their sum; at most two chunks are held.
func (c *controller) stream(ctx context.Context, lw *listWriter, q *resource.Query, objs []*resource.Object, limit int) {
	lw.stream = true
	streaming.Add(1)
	defer streaming.Add(-1)
	rows := 0
	for {
		cur := q.Cursor
		rows += cur.Rows
		var next chan chunk
		var nq resource.Query
		ahead := false
		if cur.Rows == q.Limit && (limit == 0 || rows < limit) {
			nq = *q
			nq.Cursor = &resource.Cursor{IDOrderIfLong: cur.IDOrderIfLong, IDs: cur.IDs}
			nq.Marker, nq.After = "", cur.Last
			nq.Limit = laterChunk()
			if limit > 0 {
				nq.Limit = min(nq.Limit, limit-rows)
			}
			// Buffered: a reply abandoned midway leaves a read ahead
			// to end on its own (its context is then cancelled).
			next = make(chan chunk, 1)
			select {
			case readAhead <- struct{}{}:
				ahead = true
				go func() {
					defer func() { <-readAhead }()
					c.readChunk(ctx, &nq, next)
				}()
			default:
				// Every CPU has a listing's read already: reading
				// ahead would only hold one more chunk in memory, so
				// the next chunk is read once this one is written.
			}
		}
		if err := lw.encode(objs); err != nil {
			lw.abort(ctx, err)
		}
		if err := lw.flush(); err != nil {
			lw.abort(ctx, err)
		}
		if next == nil {
			break
		}
		objs = nil
		if !ahead {
			c.readChunk(ctx, &nq, next)
		}
		ch := <-next
		if ch.err != nil {
			lw.abort(ctx, ch.err)
		}
		q, objs = &nq, ch.objs
	}
	lw.finish()
}

// readChunk reads one chunk of a streamed listing into next.
func (c *controller) readChunk(ctx context.Context, q *resource.Query, next chan<- chunk) {
	objs, err := c.h.List(ctx, q)
	next <- chunk{objs, err}
}

// readAhead bounds the chunks read ahead at once, by all listings, to
// the CPUs the process may use: under many concurrent listings the CPUs
// are busy anyway, and each chunk read ahead is memory held.
var readAhead = make(chan struct{}, runtime.GOMAXPROCS(0))

// chunk is one read of a streamed listing.
type chunk struct {
	objs []*resource.Object
	err  error
}

// listReversed serves a reversed page (page_reverse) longer than a chunk:
// the rows before the marker, shown in forward order. It reads backwards
// a chunk at a time to find where the page begins, keeping only that
// first object, then streams forward from there as any long list; the
// page's rows are read twice so that neither pass holds them all.
func (c *controller) listReversed(ctx context.Context, lw *listWriter, q resource.Query) {
	limit := q.Limit
	cur := &resource.Cursor{}
	q.Cursor = cur
	q.Limit = listChunk
	var first *resource.Object
	rows := 0
	for {
		objs, err := c.h.List(ctx, &q)
		if err != nil {
			c.s.writeError(ctx, lw.w, err)
			return
		}
		if rows == 0 && (cur.Rows < q.Limit || cur.Rows >= limit) {
			// The whole page in one read.
			if err := lw.encode(objs); err != nil {
				c.s.writeError(ctx, lw.w, err)
				return
			}
			lw.finish()
			return
		}
		rows += cur.Rows
		if len(objs) > 0 {
			// Read backwards and handed back in forward order: the
			// chunk's first object is the earliest read so far.
			first = objs[0]
		}
		if cur.Rows < q.Limit || rows >= limit {
			break
		}
		q.Marker, q.After = "", cur.Last
		q.Limit = min(listChunk, limit-rows)
	}
	// cur.Last holds the sort values of the page's first row, id last.
	start := cur.Last
	var head []*resource.Object
	if id, _ := start[len(start)-1].(string); first != nil && first.ID() == id {
		head = []*resource.Object{first}
	}
	q.PageReverse, q.Marker, q.After = false, "", start
	q.Limit = min(listChunk, rows-1)
	objs, err := c.h.List(ctx, &q)
	if err != nil {
		c.s.writeError(ctx, lw.w, err)
		return
	}
	c.stream(ctx, lw, &q, append(head, objs...), rows-1)
}

// listWriter encodes a list reply as its objects arrive.
type listWriter struct {
	c         *controller
	w         http.ResponseWriter
	r         *http.Request
	lq        *listQuery
	view      *view
	undefined map[string]bool
	// decided is set once the caller's credentials were asked whether
	// they alone decide what it sees; if so (targetFree), every object
	// is visible or none (visible) and hides the same attributes
	// (hidden), and no per-object policy targets are built.
	decided, targetFree, visible bool
	hidden                       []bool
	// buf holds what is encoded and not yet written.
	buf []byte
	// stream is set when the reply is written in chunks, without a
	// length; started once its status is written.
	stream, started bool
	// shown counts the objects written; fetched, first and last are what
	// the handler returned, for the page links.
	shown, fetched int
	first, last    string
}

// encode adds the objects the caller may see to the reply.
func (lw *listWriter) encode(objs []*resource.Object) error {
	ctx := lw.r.Context()
	if !lw.decided {
		lw.decided = true
		var visKnown, hiddenKnown bool
		lw.visible, visKnown = lw.c.decideVisible(ctx)
		lw.hidden, hiddenKnown = lw.c.decideHidden(ctx)
		lw.targetFree = visKnown && (hiddenKnown || !lw.visible)
	}
	var targets []map[string]any
	if !lw.targetFree {
		var err error
		if targets, err = lw.c.policyTargets(ctx, objs, false); err != nil {
			return err
		}
	}
	if lw.buf == nil {
		lw.buf = make([]byte, 0, 64+len(objs)*512)
		lw.buf = append(lw.buf, `{"`...)
		lw.buf = append(lw.buf, lw.c.res.Collection...)
		lw.buf = append(lw.buf, `":[`...)
	}
	for i, o := range objs {
		hidden := lw.hidden
		if lw.targetFree {
			if !lw.visible {
				break
			}
		} else {
			if !lw.c.visible(ctx, targets[i]) {
				continue
			}
			hidden = lw.c.hiddenByPolicy(ctx, targets[i], lw.undefined)
		}
		if lw.shown > 0 {
			lw.buf = append(lw.buf, ',')
		}
		lw.shown++
		lw.buf = lw.view.appendObject(lw.buf, o, hidden)
	}
	if len(objs) > 0 {
		if lw.fetched == 0 {
			lw.first = objs[0].ID()
		}
		lw.last = objs[len(objs)-1].ID()
		lw.fetched += len(objs)
	}
	return nil
}

// flush writes what is encoded, starting the streamed reply if need be.
func (lw *listWriter) flush() error {
	if lw.buf == nil {
		return nil
	}
	if !lw.started {
		lw.started = true
		lw.w.Header().Set("Content-Type", "application/json")
		lw.w.WriteHeader(http.StatusOK)
	}
	_, err := lw.w.Write(lw.buf)
	lw.buf = lw.buf[:0]
	return err
}

// finish closes the reply: the list, its page links, and the object.
func (lw *listWriter) finish() {
	if lw.buf == nil {
		lw.buf = []byte(`{"` + lw.c.res.Collection + `":[`)
	}
	b := append(lw.buf, ']')
	if lq := lw.lq; lq.query.Limit > 0 {
		b = append(b, `,"`...)
		b = append(b, lw.c.res.Collection...)
		b = append(b, `_links":`...)
		b = appendValue(b, lw.c.pageLinks(lw.r, lq, lw.fetched, lw.first, lw.last))
	}
	b = append(b, '}')
	if !lw.stream {
		writeBody(lw.w, http.StatusOK, b)
		return
	}
	lw.buf = b
	if err := lw.flush(); err != nil {
		lw.abort(lw.r.Context(), err)
	}
}

// abort ends a streamed reply that cannot be completed (the client is too
// slow or gone, or a later chunk failed) by dropping the connection, so
// the client sees a truncated reply, never a short list that looks whole.
func (lw *listWriter) abort(ctx context.Context, err error) {
	lw.c.s.log.InfoContext(ctx, "list reply abandoned midway", "collection", lw.c.res.Collection, "error", err)
	panic(http.ErrAbortHandler)
}

func (c *controller) show(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	var fields []string
	if r.URL.RawQuery != "" {
		var err error
		if fields, err = fieldsParam(r); err != nil {
			c.s.writeError(ctx, w, err)
			return
		}
	}
	sh, err := c.getShown(ctx, id)
	if s, ok := c.h.(plugin.Shower); ok && err == nil {
		sh.o, fields, err = s.Show(ctx, id, fields)
		sh.target = nil
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	if sh.decided {
		c.writeHidden(w, http.StatusOK, sh.o, sh.hidden, fields)
		return
	}
	c.writeOne(ctx, w, http.StatusOK, sh.o, sh.target, fields)
}

// shown is what a show found: the object and, when the caller's
// credentials alone decide what it may see (decided), the attributes
// policy hides from it; otherwise its policy target, or nil to build one.
type shown struct {
	o       *resource.Object
	target  map[string]any
	hidden  []bool
	decided bool
}

// getShown is getVisible for a show: when the caller's credentials alone
// decide what it may see, it builds no policy target, which for a port
// would cost a query about its network, and asks policy about each
// attribute once.
func (c *controller) getShown(ctx context.Context, id string) (shown, error) {
	visible, known := c.decideVisible(ctx)
	var hidden []bool
	if known {
		hidden, known = c.decideHidden(ctx)
	}
	if !known {
		return c.getShownByTarget(ctx, id)
	}
	o, err := c.h.Get(ctx, id)
	if err != nil {
		return shown{}, err
	}
	if !c.ownChild(ctx, o) || !visible {
		return shown{}, c.notFound(ctx, id)
	}
	if ok, err := c.inScope(ctx, o); err != nil {
		return shown{}, err
	} else if !ok {
		return shown{}, c.notFound(ctx, id)
	}
	return shown{o: o, hidden: hidden, decided: true}, nil
}

// getShownByTarget is getVisible for a show whose policy answer depends
// on the object: it asks policy first about the object's own attributes,
// and looks up what the handler adds to its target (for a port, its
// network's owner and sharing: a query) only when a rule reads that.
func (c *controller) getShownByTarget(ctx context.Context, id string) (shown, error) {
	pc, ok := c.s.opts.Authorizer.(PartialChecker)
	kp, ok2 := c.h.(plugin.PolicyTargetKeyer)
	if !ok || !ok2 {
		o, target, err := c.getVisible(ctx, id)
		return shown{o: o, target: target}, err
	}
	o, err := c.h.Get(ctx, id)
	if err != nil {
		return shown{}, err
	}
	if !c.ownChild(ctx, o) {
		return shown{}, c.notFound(ctx, id)
	}
	if ok, err := c.inScope(ctx, o); err != nil {
		return shown{}, err
	} else if !ok {
		return shown{}, c.notFound(ctx, id)
	}
	keys := kp.PolicyTargetKeys()
	unknown := func(k string) bool { return slices.Contains(keys, k) }
	t := c.ownTarget(ctx, o)
	visible, _, known := pc.CheckKnown(ctx, "get_"+c.policyName, t, unknown)
	var hidden []bool
	c.nameGetActions()
	for i, a := range c.enforced {
		if !known {
			break
		}
		allowed, defined, k := pc.CheckKnown(ctx, c.getActions[i], t, unknown)
		known = k
		if defined && !allowed {
			if hidden == nil {
				hidden = make([]bool, len(c.res.Attrs()))
			}
			hidden[a.Index()] = true
		}
	}
	if known {
		if !visible {
			return shown{}, c.notFound(ctx, id)
		}
		return shown{o: o, hidden: hidden, decided: true}, nil
	}
	targets, err := c.policyTargets(ctx, []*resource.Object{o}, true)
	if err != nil {
		return shown{}, err
	}
	if !c.visible(ctx, targets[0]) {
		return shown{}, c.notFound(ctx, id)
	}
	return shown{o: o, target: targets[0]}, nil
}

// ownTarget is o's policy target without what the handler adds (see
// policyTargets).
func (c *controller) ownTarget(ctx context.Context, o *resource.Object) map[string]any {
	t := o.Map()
	if p, ok := t["project_id"]; ok {
		t["tenant_id"] = p
	}
	if pt := parentTarget(ctx); pt != nil {
		t["ext_parent:project_id"] = pt["project_id"]
		t["ext_parent:tenant_id"] = pt["project_id"]
	}
	return t
}

// inScope reports whether a caller that is not an admin finds o at all
// (Options.ScopeShows): its own, or admitted by the handler's scope, asked
// of the store with o's id.
func (c *controller) inScope(ctx context.Context, o *resource.Object) (bool, error) {
	if !c.s.opts.ScopeShows || c.parent != nil || c.res.Attr("project_id") == nil {
		return true, nil
	}
	sc, ok := c.h.(plugin.Scoper)
	caller := reqctx.CallerFrom(ctx)
	if !ok || caller.IsAdmin || o.String("project_id") == caller.ProjectID {
		return true, nil
	}
	found, err := c.h.List(ctx, &resource.Query{Scope: sc.Scope(caller.ProjectID), Limit: 1,
		Filters: []resource.Filter{{Attr: c.res.Attr("id"), Values: []any{o.ID()}}}})
	if err != nil {
		return false, fmt.Errorf("scope of %s %s: %w", c.res.Name, o.ID(), err)
	}
	return len(found) > 0, nil
}

// writeOne writes {"<resource>": {...}}; target is o's policy target, or
// nil to build it (unless the caller's credentials alone decide what it
// may see).
func (c *controller) writeOne(ctx context.Context, w http.ResponseWriter, status int, o *resource.Object, target map[string]any, fields []string) {
	var hidden []bool
	if target != nil {
		hidden = c.hiddenByPolicy(ctx, target, map[string]bool{})
	} else if h, known := c.decideHidden(ctx); known {
		hidden = h
	} else {
		targets, err := c.policyTargets(ctx, []*resource.Object{o}, true)
		if err != nil {
			c.s.writeError(ctx, w, err)
			return
		}
		hidden = c.hiddenByPolicy(ctx, targets[0], map[string]bool{})
	}
	c.writeHidden(w, status, o, hidden, fields)
}

// writeHidden writes {"<resource>": {...}} without the attributes hidden
// marks.
func (c *controller) writeHidden(w http.ResponseWriter, status int, o *resource.Object, hidden []bool, fields []string) {
	bp := replyBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"`...)
	b = append(b, c.res.Name...)
	b = append(b, `":`...)
	b = c.view(fields).appendObject(b, o, hidden)
	b = append(b, '}')
	writeBody(w, status, b)
	if cap(b) <= maxPooledReply {
		*bp = b
		replyBuffers.Put(bp)
	}
}

// replyBuffers hold the bodies of one object's replies between requests;
// net/http copies a body into its own buffer as it is written.
var replyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledReply bounds a pooled reply buffer, so that one huge object
// does not stay allocated.
const maxPooledReply = 64 << 10

// view returns the view of fields; the view without fields= (every
// visible attribute) is built once.
func (c *controller) view(fields []string) *view {
	if len(fields) > 0 {
		return newView(c.res, fields)
	}
	c.fullViewOnce.Do(func() { c.fullView = newView(c.res, nil) })
	return c.fullView
}

func (c *controller) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	objs, bulk, err := c.decodeCreate(r)
	if err == nil && c.parent != nil {
		for _, o := range objs {
			o.Set(c.res.ParentKey, plugin.ParentID(ctx))
		}
	}
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
		c.writeOne(ctx, w, http.StatusCreated, objs[0], nil, nil)
		return
	}
	targets, err := c.policyTargets(ctx, objs, true)
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	v := c.view(nil)
	undefined := map[string]bool{}
	b := append([]byte(`{"`), c.res.Collection...)
	b = append(b, `":[`...)
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = v.appendObject(b, o, c.hiddenByPolicy(ctx, targets[i], undefined))
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
	old, _, err := c.getVisible(ctx, id)
	if err == nil {
		err = c.authorizeWrite(ctx, "update", []*resource.Object{patch}, old)
		if f, ok := err.(*fault.Error); ok && f.Status == http.StatusForbidden && !c.visibleAsShown(ctx, old) {
			err = c.notFound(ctx, id)
		}
	}
	var o *resource.Object
	if err == nil {
		o, err = c.h.Update(ctx, id, patch, rev)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	c.writeOne(ctx, w, http.StatusOK, o, nil, nil)
}

func (c *controller) delete(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	rev, err := c.ifMatch(r)
	if err == nil && r.ContentLength > 0 {
		err = fault.BadRequest("Request body is not supported in DELETE.")
	}
	var target map[string]any
	if err == nil {
		_, target, err = c.getVisible(ctx, id)
	}
	if err == nil {
		if ok, _ := c.check(ctx, "delete_"+c.policyName, target); !ok {
			err = fault.Forbidden("rule:delete_" + c.policyName)
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

// action runs a member action (PUT /<collection>/{id}/<action>): the
// object must be visible, and policy names the action alone, as Neutron's
// do ("add_prefixes").
func (c *controller) action(w http.ResponseWriter, r *http.Request, id, name string) {
	ctx := r.Context()
	act, ok := c.h.(plugin.Actioner)
	if !ok {
		writeFault(w, fault.HTTPNotFound())
		return
	}
	var body map[string]any
	var err error
	switch {
	case r.Method == http.MethodGet: // GET actions (get_subports) take no body
	case c.parent != nil && r.ContentLength <= 0:
		// A sub-resource's action (a port binding's activate) needs no
		// body, as Neutron's member actions need none.
	default:
		body, err = readBody(r)
	}
	var target map[string]any
	if err == nil {
		_, target, err = c.getVisible(ctx, id)
	}
	if err == nil {
		if ok, _ := c.check(ctx, name, target); !ok {
			err = fault.Forbidden("rule:" + name)
		}
	}
	var out any
	if err == nil {
		out, err = act.Action(ctx, id, name, body)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
		return
	}
	// An action that answers with the changed object (an address group's
	// add_addresses) gets it shown as a show would.
	if o, ok := out.(*resource.Object); ok {
		c.writeOne(ctx, w, http.StatusOK, o, nil, nil)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// authorizeWrite checks <op>_<resource> and the per-attribute rules of
// every attribute the request sets, as Neutron's policy engine does: on
// create, attributes given with a non-default value; on update, every
// attribute in the body. The target of an update is the stored object
// with the changes applied.
func (c *controller) authorizeWrite(ctx context.Context, op string, objs []*resource.Object, old *resource.Object) error {
	action := op + "_" + c.policyName
	merged := objs
	if old != nil {
		merged = make([]*resource.Object, len(objs))
		for i, o := range objs {
			merged[i] = old.Clone()
			merged[i].Merge(o)
		}
	}
	targets, err := c.policyTargets(ctx, merged, true)
	if err != nil {
		return err
	}
	for i, o := range objs {
		tm := targets[i]
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
			// A list of objects also answers to a rule per key its
			// objects use ("create_port:fixed_ips:ip_address"), as
			// neutron.policy's _build_list_of_subattrs_rule adds.
			for _, key := range listKeys(o.At(a.Index())) {
				subAction := attrAction + ":" + key
				if ok, defined := c.check(ctx, subAction, tm); defined && !ok {
					denied = append(denied, "rule:"+subAction)
				}
			}
		}
		if len(denied) > 0 {
			return fault.Forbidden(policyExpr(denied))
		}
	}
	return nil
}

// listKeys returns the keys used by the objects of a list value, or the
// keys of an object value, sorted; nil for any other value.
func listKeys(v any) []string {
	// A dict with declared keys (external_gateway_info) answers to a rule
	// per key too ("create_router:external_gateway_info:enable_snat").
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	items, ok := v.([]any)
	if !ok {
		return nil
	}
	var keys []string
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			for k := range m {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// policyExpr renders the failed rule the way oslo.policy names it in the
// message: one rule alone, several as a parenthesised conjunction.
func policyExpr(denied []string) string {
	if len(denied) == 1 {
		return denied[0]
	}
	return "(" + strings.Join(denied, " and ") + ")"
}

func equalValue(a, b any) bool { return reflect.DeepEqual(a, b) }
