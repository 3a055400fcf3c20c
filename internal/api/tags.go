package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/plugin"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// maxTagCount is Neutron's limit on one resource's tags.
const maxTagCount = 50

// taggable reports whether the resource serves /tags: standard resources,
// with the standard-attr-tag extension enabled.
func (c *controller) taggable() bool {
	return c.s.extensionEnabled("standard-attr-tag") && c.res.Standard && c.res.Attr("tags") != nil
}

// tags serves the tag sub-resource of one object:
//
//	GET    /v2.0/{collection}/{id}/tags         200 {"tags": [...]}
//	PUT    /v2.0/{collection}/{id}/tags         200, replaces all
//	POST   /v2.0/{collection}/{id}/tags         200, adds the given tags
//	DELETE /v2.0/{collection}/{id}/tags         204, removes all
//	GET    /v2.0/{collection}/{id}/tags/{tag}   204 if present, else 404
//	PUT    /v2.0/{collection}/{id}/tags/{tag}   201, adds one
//	DELETE /v2.0/{collection}/{id}/tags/{tag}   204, or 404
//
// with Neutron's status codes (its tagging controller's action_status).
// Changes go through the handler's Update, so they bump the object's
// revision_number and updated_at like any other change.
func (c *controller) tags(w http.ResponseWriter, r *http.Request, id string, tag *string) {
	ctx := r.Context()
	var err error
	if tag == nil {
		switch r.Method {
		case http.MethodGet:
			err = c.listTags(ctx, w, id)
		case http.MethodPut, http.MethodPost:
			err = c.writeTags(ctx, w, r, id)
		case http.MethodDelete:
			err = c.changeTags(ctx, id, "delete", nil, func([]string) ([]string, error) { return []string{}, nil })
			if err == nil {
				w.WriteHeader(http.StatusNoContent)
			}
		default:
			methodNotAllowed(w, "GET, POST, PUT, DELETE")
			return
		}
	} else {
		err = c.oneTag(ctx, w, r, id, *tag)
	}
	if err != nil {
		c.s.writeError(ctx, w, err)
	}
}

func (c *controller) listTags(ctx context.Context, w http.ResponseWriter, id string) error {
	o, err := c.tagTarget(ctx, id, "get", nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tagsOf(o)})
	return nil
}

// writeTags replaces (PUT) or extends (POST) the object's tags with the
// body's {"tags": [...]} and answers with the body's list, as Neutron does.
func (c *controller) writeTags(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	raw, ok := body["tags"]
	if !ok {
		return fault.InvalidInput("Invalid tags body")
	}
	given, err := validateTags(raw)
	if err != nil {
		return err
	}
	action := "update"
	if r.Method == http.MethodPost {
		action = "create"
	}
	err = c.changeTags(ctx, id, action, given, func(have []string) ([]string, error) {
		next := given
		if action == "create" {
			next = union(have, given)
		}
		if len(next) > maxTagCount {
			return nil, fault.NeutronBadRequest(c.res.Collection,
				fmt.Sprintf("The number of tags exceed the per-resource limit of %d", maxTagCount))
		}
		return next, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": given})
	return nil
}

func (c *controller) oneTag(ctx context.Context, w http.ResponseWriter, r *http.Request, id, tag string) error {
	if msg := tagError(tag); msg != "" {
		return fault.InvalidInput(msg)
	}
	switch r.Method {
	case http.MethodGet:
		o, err := c.tagTarget(ctx, id, "get", nil)
		if err != nil {
			return err
		}
		if !slices.Contains(tagsOf(o), tag) {
			return tagNotFound(tag)
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		err := c.changeTags(ctx, id, "update", []string{tag}, func(have []string) ([]string, error) {
			next := union(have, []string{tag})
			if len(next) > maxTagCount {
				return nil, fault.NeutronBadRequest(c.res.Collection,
					fmt.Sprintf("The number of tags exceed the per-resource limit of %d", maxTagCount))
			}
			return next, nil
		})
		if err != nil {
			return err
		}
		writeBody(w, http.StatusCreated, []byte("null"))
	case http.MethodDelete:
		err := c.changeTags(ctx, id, "delete", nil, func(have []string) ([]string, error) {
			if !slices.Contains(have, tag) {
				return nil, tagNotFound(tag)
			}
			return slices.DeleteFunc(slices.Clone(have), func(t string) bool { return t == tag }), nil
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, PUT, DELETE")
	}
	return nil
}

// tagTarget fetches the object the caller may see and checks
// <action>_<resource>:tags on it; an object the caller cannot see is the
// TagResourceNotFound, a visible one the rule denies a 403.
func (c *controller) tagTarget(ctx context.Context, id, action string, tags []string) (*resource.Object, error) {
	o, target, err := c.getVisible(ctx, id)
	if f, ok := fault.As(err); ok && f.Status == http.StatusNotFound {
		// Neutron's tag plugin looks the object up itself and names it
		// by its collection.
		return nil, fault.NotFound("TagResourceNotFound",
			fmt.Sprintf("Resource %s %s could not be found.", c.res.Collection, id))
	}
	if err != nil {
		return nil, err
	}
	if tags != nil {
		target = maps.Clone(target)
		target["tags"] = tags
	}
	rule := action + "_" + c.res.Name + ":tags"
	if ok, _ := c.check(ctx, rule, target); !ok {
		return nil, fault.Forbidden(rule)
	}
	return o, nil
}

// changeTags applies next to the object's current tags and stores the
// result unless nothing changed.
func (c *controller) changeTags(ctx context.Context, id, action string, given []string, next func(have []string) ([]string, error)) error {
	o, err := c.tagTarget(ctx, id, action, given)
	if err != nil {
		return err
	}
	have := tagsOf(o)
	want, err := next(have)
	if err != nil {
		return err
	}
	if sameSet(have, want) {
		return nil
	}
	patch := resource.New(c.res)
	patch.Set("tags", want)
	_, err = c.h.Update(ctx, id, patch, plugin.NoRevision)
	return err
}

func tagsOf(o *resource.Object) []string {
	tags, _ := o.Get("tags").([]string)
	if tags == nil {
		return []string{}
	}
	return tags
}

func tagNotFound(tag string) error {
	return fault.NotFound("TagNotFound", fmt.Sprintf("Tag %s could not be found.", tag))
}

// validateTags checks a {"tags": …} value as neutron-lib's
// validate_list_of_unique_strings does, with Neutron's messages.
func validateTags(v any) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fault.InvalidInput(fmt.Sprintf("'%s' is not a list", resource.PyStr(v)))
	}
	seen := map[any]bool{}
	var dups []string
	for _, it := range items {
		if seen[it] {
			dups = append(dups, resource.PyStr(it))
		}
		seen[it] = true
	}
	if dups != nil {
		return nil, fault.InvalidInput(fmt.Sprintf("Duplicate items in the list: '%s'", strings.Join(dups, ", ")))
	}
	tags := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fault.InvalidInput(fmt.Sprintf("'%s' is not a valid string", resource.PyStr(it)))
		}
		if msg := tagError(s); msg != "" {
			return nil, fault.InvalidInput(msg)
		}
		tags = append(tags, s)
	}
	return tags, nil
}

func tagError(tag string) string {
	if len([]rune(tag)) > apidef.MaxTagLen {
		return fmt.Sprintf("'%s' exceeds maximum length of %d", tag, apidef.MaxTagLen)
	}
	return ""
}

func union(have, add []string) []string {
	out := slices.Clone(have)
	for _, t := range add {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range b {
		if !slices.Contains(a, t) {
			return false
		}
	}
	return true
}
