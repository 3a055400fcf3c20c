package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Quotas is the quota engine as the quotas API sees it.
type Quotas interface {
	Resources() []string
	Defaults() map[string]int
	Limits(ctx context.Context, project string) (map[string]int, error)
	Usage(ctx context.Context, project string) (map[string]int, error)
	Projects(ctx context.Context) ([]string, error)
	// SetLimits sets limits; with check, one below the project's usage
	// is refused.
	SetLimits(ctx context.Context, project string, limits map[string]int, check bool) error
	Reset(ctx context.Context, project string) error
}

// maxQuota is the largest limit Neutron accepts (its database integer).
const maxQuota = 2147483647

// quotas serves Neutron's quotas extension: /v2.0/quotas,
// /v2.0/quotas/{project_id}[/default|/details], /v2.0/quotas/project.
func (s *Server) quotas(w http.ResponseWriter, r *http.Request, parts []string) {
	ctx := r.Context()
	caller := reqctx.CallerFrom(ctx)
	q := s.opts.Quotas
	// Reading one's own quota needs no policy, as in Neutron.
	mayRead := func(project string) error {
		if project == caller.ProjectID {
			return nil
		}
		return s.enforce(ctx, "get_quota", map[string]any{"project_id": project, "tenant_id": project})
	}
	var err error
	switch {
	case len(parts) == 0 && r.Method == http.MethodGet:
		if err = s.enforce(ctx, "get_quota", map[string]any{"project_id": caller.ProjectID, "tenant_id": caller.ProjectID}); err != nil {
			break
		}
		var projects []string
		if projects, err = q.Projects(ctx); err != nil {
			break
		}
		out := []map[string]any{}
		for _, p := range projects {
			var limits map[string]int
			if limits, err = q.Limits(ctx, p); err != nil {
				break
			}
			m := map[string]any{"project_id": p, "tenant_id": p}
			for k, v := range limits {
				m[k] = v
			}
			out = append(out, m)
		}
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"quotas": out})
			return
		}
	case len(parts) == 0:
		methodNotAllowed(w, "GET")
		return
	case len(parts) == 1 && (parts[0] == "tenant" || parts[0] == "project") && r.Method == http.MethodGet:
		if caller.ProjectID == "" {
			err = fault.BadRequest("Tenant-id was missing from quota request.")
			break
		}
		key := parts[0]
		writeJSON(w, http.StatusOK, map[string]any{key: map[string]string{key + "_id": caller.ProjectID}})
		return
	case len(parts) == 1:
		project := parts[0]
		switch r.Method {
		case http.MethodGet:
			if err = mayRead(project); err != nil {
				break
			}
			var limits map[string]int
			if limits, err = q.Limits(ctx, project); err == nil {
				writeJSON(w, http.StatusOK, map[string]any{"quota": limits})
				return
			}
		case http.MethodPut:
			if err = s.enforce(ctx, "update_quota", map[string]any{"project_id": project, "tenant_id": project}); err != nil {
				break
			}
			var limits map[string]int
			var check bool
			if limits, check, err = decodeQuota(r, q.Resources()); err != nil {
				break
			}
			check = check && s.extensionEnabled("quota-check-limit")
			if err = q.SetLimits(ctx, project, limits, check); err != nil {
				break
			}
			if limits, err = q.Limits(ctx, project); err == nil {
				writeJSON(w, http.StatusOK, map[string]any{"quota": limits})
				return
			}
		case http.MethodDelete:
			if err = s.enforce(ctx, "delete_quota", map[string]any{"project_id": project, "tenant_id": project}); err != nil {
				break
			}
			if err = q.Reset(ctx, project); err == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case http.MethodPost:
			err = fault.New(http.StatusNotImplemented, "HTTPNotImplemented", "POST requests are not supported on this resource.")
		default:
			methodNotAllowed(w, "GET, PUT, DELETE")
			return
		}
	case len(parts) == 2 && r.Method == http.MethodGet && parts[1] == "default":
		if err = mayRead(parts[0]); err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"quota": q.Defaults()})
			return
		}
	case len(parts) == 2 && r.Method == http.MethodGet && parts[1] == "details" && s.extensionEnabled("quota_details"):
		if err = mayRead(parts[0]); err != nil {
			break
		}
		var limits, used map[string]int
		if limits, err = q.Limits(ctx, parts[0]); err != nil {
			break
		}
		if used, err = q.Usage(ctx, parts[0]); err != nil {
			break
		}
		out := map[string]any{}
		for _, name := range q.Resources() {
			out[name] = map[string]int{"limit": limits[name], "used": used[name], "reserved": 0}
		}
		writeJSON(w, http.StatusOK, map[string]any{"quota": out})
		return
	default:
		err = fault.HTTPNotFound()
	}
	s.writeError(ctx, w, err)
}

// enforce checks a policy rule for the caller; denial is a 403.
func (s *Server) enforce(ctx context.Context, action string, target map[string]any) error {
	if s.opts.Authorizer == nil {
		return nil
	}
	if ok, _ := s.opts.Authorizer.Check(ctx, action, target); !ok {
		return fault.Forbidden("rule:" + action)
	}
	return nil
}

// decodeQuota reads {"quota": {"network": 10, …, "check_limit": true}}
// with Neutron's validation: known resources only, integers from -1 up.
// Neutron takes check_limit and force out of the body without converting
// them: check_limit counts when Python would call it true, and force
// (once meant to skip a check Neutron no longer makes by default) is
// ignored.
func decodeQuota(r *http.Request, resources []string) (map[string]int, bool, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, false, err
	}
	m, ok := body["quota"].(map[string]any)
	if !ok {
		return nil, false, fault.BadRequest("Unable to find 'quota' in request body")
	}
	check := pythonTrue(m["check_limit"])
	delete(m, "check_limit")
	delete(m, "force")
	known := map[string]bool{}
	for _, name := range resources {
		known[name] = true
	}
	var extra []string
	limits := map[string]int{}
	for k, v := range m {
		if !known[k] {
			extra = append(extra, k)
			continue
		}
		n, err := resource.ToInt(v)
		if err != nil {
			return nil, false, fault.InvalidInput(err.Error())
		}
		if n.(int) < -1 || n.(int) > maxQuota {
			return nil, false, fault.BadRequest("Invalid input for %s. Reason: '%d' is not in range -1 through %d.", k, n, maxQuota)
		}
		limits[k] = n.(int)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, false, fault.BadRequest("Unrecognized attribute(s) '%s'", strings.Join(extra, ", "))
	}
	return limits, check, nil
}

// pythonTrue reports whether Python would take a decoded JSON value as
// true: not null, false, zero or empty.
func pythonTrue(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case json.Number:
		f, err := t.Float64()
		return err != nil || f != 0
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}
