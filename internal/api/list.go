package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// listQuery is a parsed list request.
type listQuery struct {
	query  resource.Query
	fields []string
}

// Query parameters that are not attribute filters.
var reservedParams = map[string]bool{
	"fields": true, "sort_key": true, "sort_dir": true, "limit": true,
	"marker": true, "page_reverse": true,
}

var tagParams = map[string]bool{"tags": true, "tags-any": true, "not-tags": true, "not-tags-any": true}

// Limits on what one list request may ask for, so that its cost is
// bounded whatever its query string: Neutron has none, but its eventlet
// server cut request lines at 8 KiB, which bounded them in effect, and
// beyond these numbers SQLite refuses the statement outright (ORDER BY
// terms, expression depth).
const (
	// maxSortKeys bounds sort_key; a resource has fewer sortable
	// attributes, and a key given twice orders nothing more.
	maxSortKeys = 32
	// maxFields bounds fields=.
	maxFields = 256
	// maxFilterValues bounds the values of all attribute filters of one
	// request together.
	maxFilterValues = 1000
	// maxFilterTags bounds each tag filter: a resource has at most
	// maxTagCount tags, so "tags" or "not-tags" with more can never
	// match, or always does.
	maxFilterTags = maxTagCount
)

// tooMany is the 400 for a list request over one of the limits above.
func tooMany(what string, n, max int) error {
	return fault.BadRequest("Too many %s: %d given, at most %d are allowed", what, n, max)
}

// fieldsParam returns the fields= of a request, refusing too many.
func fieldsParam(r *http.Request) ([]string, error) {
	fields := nonEmpty(r.URL.Query()["fields"])
	if len(fields) > maxFields {
		return nil, tooMany("fields", len(fields), maxFields)
	}
	return fields, nil
}

// parseList reads fields, filters, sorting and pagination from the query
// string, with Neutron's validation and messages.
func (c *controller) parseList(r *http.Request) (*listQuery, error) {
	params := r.URL.Query()
	fields, err := fieldsParam(r)
	if err != nil {
		return nil, err
	}
	lq := &listQuery{fields: fields}

	if err := c.parseFilters(params, &lq.query); err != nil {
		return nil, err
	}
	if err := c.parseSorts(params, &lq.query); err != nil {
		return nil, err
	}
	limit, err := c.parseLimit(params.Get("limit"))
	if err != nil {
		return nil, err
	}
	lq.query.Limit = limit
	if limit > 0 {
		lq.query.Marker = params.Get("marker")
		lq.query.PageReverse = strings.EqualFold(params.Get("page_reverse"), "true")
		// Pages must be stable, so the order always ends with the id.
		if !sortsBy(lq.query.Sorts, "id") {
			lq.query.Sorts = append(lq.query.Sorts, resource.SortKey{Attr: c.res.Attr("id")})
		}
	}
	return lq, nil
}

func (c *controller) parseFilters(params url.Values, q *resource.Query) error {
	emptyOK := c.s.extensionEnabled("empty-string-filtering")
	tagsOK := c.s.extensionEnabled("standard-attr-tag") && c.res.Standard
	var invalid []string
	values := 0
	for key, raw := range params {
		if reservedParams[key] {
			continue
		}
		if tagParams[key] && tagsOK {
			tags := splitTags(raw)
			if len(tags) > maxFilterTags {
				return tooMany("tags in "+key, len(tags), maxFilterTags)
			}
			switch key {
			case "tags":
				q.Tags.All = tags
			case "tags-any":
				q.Tags.Any = tags
			case "not-tags":
				q.Tags.NotAll = tags
			case "not-tags-any":
				q.Tags.NotAny = tags
			}
			continue
		}
		a := c.res.Attr(key)
		if a == nil || !a.Filter {
			invalid = append(invalid, key)
			continue
		}
		if values += len(raw); values > maxFilterValues {
			return tooMany("filter values", values, maxFilterValues)
		}
		if len(a.SubFilters) > 0 {
			subs, err := parseSubFilters(a, raw)
			if err != nil {
				return err
			}
			q.SubFilters = append(q.SubFilters, subs...)
			continue
		}
		if a.Name == "tenant_id" {
			// tenant_id is project_id by another name.
			if p := c.res.Attr("project_id"); p != nil {
				a = p
			}
		}
		f := resource.Filter{Attr: a}
		for _, v := range raw {
			if v == "" && !emptyOK {
				continue
			}
			cv, err := resource.ConvertFilter(a, v)
			if err != nil {
				var ce *resource.ConvertError
				if errors.As(err, &ce) {
					return fault.InvalidInput(ce.Reason)
				}
				return fault.BadRequest("%s", err.Error())
			}
			f.Values = append(f.Values, cv)
		}
		if len(f.Values) > 0 {
			q.Filters = append(q.Filters, f)
		}
	}
	if len(invalid) > 0 && c.s.extensionEnabled("filter-validation") {
		sort.Strings(invalid)
		return fault.BadRequest("%s is invalid attribute for filtering", pyList(invalid))
	}
	return nil
}

// parseSubFilters reads "key=value" filters on a list-of-objects attribute
// (fixed_ips=ip_address=10.0.0.5), grouping values by key; keys the
// attribute does not know are ignored, as Neutron does.
func parseSubFilters(a *resource.Attr, raw []string) ([]resource.SubFilter, error) {
	byKey := map[string]*resource.SubFilter{}
	var order []string
	for _, v := range raw {
		key, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fault.InvalidInput(fmt.Sprintf("'%s' is not of the form <key>=[value]", v))
		}
		if !slices.Contains(a.SubFilters, key) {
			// Neutron reads the keys it knows and ignores the rest.
			continue
		}
		sf := byKey[key]
		if sf == nil {
			field, substr := strings.CutSuffix(key, "_substr")
			sf = &resource.SubFilter{Attr: a, Key: field, Substring: substr}
			byKey[key] = sf
			order = append(order, key)
		}
		sf.Values = append(sf.Values, val)
	}
	out := make([]resource.SubFilter, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}

func (c *controller) parseSorts(params url.Values, q *resource.Query) error {
	keys := nonEmpty(params["sort_key"])
	dirs := nonEmpty(params["sort_dir"])
	if len(keys) > maxSortKeys {
		return tooMany("sort keys", len(keys), maxSortKeys)
	}
	if len(keys) != len(dirs) {
		return fault.BadRequest("The number of sort_keys and sort_dirs must be same")
	}
	var absent, badDirs []string
	for i, k := range keys {
		a := c.res.Attr(k)
		if a != nil && a.Name == "tenant_id" {
			a = c.res.Attr("project_id")
		}
		if a == nil || !a.Sort || a.Storage != resource.Column {
			absent = append(absent, k)
			continue
		}
		if dirs[i] != "asc" && dirs[i] != "desc" {
			badDirs = append(badDirs, dirs[i])
			continue
		}
		q.Sorts = append(q.Sorts, resource.SortKey{Attr: a, Desc: dirs[i] == "desc"})
	}
	if len(absent) > 0 {
		return fault.BadRequest("%s is invalid attribute for sort_keys", pyList(absent))
	}
	if len(badDirs) > 0 {
		return fault.BadRequest("%s is invalid value for sort_dirs, valid value is 'asc' and 'desc'", pyList(badDirs))
	}
	return nil
}

// parseLimit applies limit= and pagination_max_limit as Neutron does: 0
// or absent means no limit, unless the operator capped it.
func (c *controller) parseLimit(raw string) (int, error) {
	limit := 0
	if raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return 0, fault.NeutronBadRequest("limit", fmt.Sprintf("Limit must be an integer 0 or greater and not '%s'", raw))
		}
		limit = n
	}
	if max := c.s.opts.PaginationMaxLimit; max > 0 {
		if limit == 0 || limit > max {
			limit = max
		}
	}
	return limit, nil
}

// pageLinks builds <collection>_links: "next" unless this is the last
// page going forward, "previous" unless it is the first going backward.
// n is how many objects the page held, first and last their ids.
func (c *controller) pageLinks(r *http.Request, lq *listQuery, n int, first, last string) []link {
	limit, reverse := lq.query.Limit, lq.query.PageReverse
	base := c.s.baseURL(r) + r.URL.Path
	links := []link{}
	if !(n < limit && !reverse) {
		p := r.URL.Query()
		p.Del("marker")
		p.Del("page_reverse")
		if n > 0 {
			p.Set("marker", last)
		}
		links = append(links, link{Href: base + "?" + p.Encode(), Rel: "next"})
	}
	if !(n < limit && reverse) {
		p := r.URL.Query()
		p.Del("marker")
		if n > 0 {
			p.Set("marker", first)
		}
		p.Set("page_reverse", "True")
		links = append(links, link{Href: base + "?" + p.Encode(), Rel: "previous"})
	}
	return links
}

func sortsBy(sorts []resource.SortKey, name string) bool {
	for _, s := range sorts {
		if s.Attr.Name == name {
			return true
		}
	}
	return false
}

// splitTags reads tag filters: each value is a comma-separated list. A
// tag given twice counts once.
func splitTags(raw []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range raw {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

func nonEmpty(vals []string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// pyList formats names as Python prints a list of strings, because
// Neutron's messages interpolate lists that way.
func pyList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "'" + s + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
