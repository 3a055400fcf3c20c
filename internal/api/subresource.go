package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Sub-resources live under one object of a parent collection
// (/v2.0/floatingips/{id}/port_forwardings[/{pf_id}]), as neutron-lib's
// SUB_RESOURCE_ATTRIBUTE_MAP declares them. The generic controller serves
// them like any collection once the request is scoped to the parent: the
// parent must be visible to the caller (else the parent's 404), its id
// reaches the handler through plugin.ParentID and is set on new objects,
// only the parent's own children are listed or found, and policy targets
// carry the parent's owner as "ext_parent:project_id".

type parentTargetKey struct{}

// parentTarget returns the policy target of the parent a sub-resource
// request is under, or nil.
func parentTarget(ctx context.Context) map[string]any {
	t, _ := ctx.Value(parentTargetKey{}).(map[string]any)
	return t
}

// addSubControllers builds the controllers of sub-resources whose parent
// collection is served.
func (s *Server) addSubControllers() {
	for _, r := range s.opts.Resources.All() {
		h := s.opts.Handlers[r.Collection]
		if h == nil || r.Parent == "" {
			continue
		}
		pr := s.opts.Resources.Lookup(r.Parent)
		if pr == nil || s.controllers[pr.URLPath()] == nil || r.ParentKey == "" || r.Attr(r.ParentKey) == nil {
			continue
		}
		c := newController(s, r, h)
		c.parent = s.controllers[pr.URLPath()]
		c.policyName = pr.Name + "_" + r.Name
		s.subControllers[pr.URLPath()+"/"+r.URLPath()] = c
	}
}

// ownChild reports whether o belongs to the parent the request is under;
// outside a sub-resource request every object does.
func (c *controller) ownChild(ctx context.Context, o *resource.Object) bool {
	if c.parent == nil {
		return true
	}
	pid := plugin.ParentID(ctx)
	return pid != "" && o.String(c.res.ParentKey) == pid
}

// subResource serves a request under parent object parentID; rest is the
// path after the sub-resource's segment.
func (s *Server) subResource(w http.ResponseWriter, r *http.Request, c *controller, parentID string, rest []string) {
	ctx := r.Context()
	_, target, err := c.parent.getVisible(ctx, parentID)
	if err != nil {
		if len(rest) == 0 && r.Method == http.MethodPost && c.createRefusedWhateverParent(ctx, err) {
			err = fault.Forbidden("rule:create_" + c.policyName)
		}
		s.writeError(ctx, w, err)
		return
	}
	ctx = plugin.WithParent(ctx, parentID)
	ctx = context.WithValue(ctx, parentTargetKey{}, target)
	r = r.WithContext(ctx)
	if c.res.ReadOnly && r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	switch len(rest) {
	case 0:
		c.serveCollection(w, r)
	case 1:
		c.serveMember(w, r, rest[0])
	case 2:
		// A member action (PUT /ports/{id}/bindings/{host}/activate).
		if !slices.Contains(c.res.Actions, rest[1]) {
			writeFault(w, fault.HTTPNotFound())
			return
		}
		if r.Method != http.MethodPut {
			methodNotAllowed(w, "PUT")
			return
		}
		c.action(w, r, rest[0], rest[1])
	default:
		writeFault(w, fault.HTTPNotFound())
	}
}

// createRefusedWhateverParent reports whether a create under a parent the
// caller cannot see (err, the parent's 404) is refused by policy even if
// the caller owned the parent. Neutron's policy hook checks create_<rule>
// before the plugin looks the parent up, and reaches for the parent only
// when the rule names it (ext_parent:project_id): a rule that refuses the
// caller whatever the parent (the QoS rules are the admin's) answers 403,
// one that depends on the parent answers the parent's 404.
func (c *controller) createRefusedWhateverParent(ctx context.Context, err error) bool {
	if f, ok := err.(*fault.Error); !ok || f.Status != http.StatusNotFound {
		return false
	}
	project := reqctx.CallerFrom(ctx).ProjectID
	target := map[string]any{
		"project_id": project, "tenant_id": project,
		"ext_parent:project_id": project, "ext_parent:tenant_id": project,
	}
	ok, _ := c.check(ctx, "create_"+c.policyName, target)
	return !ok
}
